//! Local user accounts, for the messages about who owns the state
//! directory and who runs esia-glpi: names rather than ids (`nagios (user
//! id 105)`), and whether an owner looks like the monitoring engine's user,
//! in which case the fix is to run as it, not to chown its directory.
//!
//! Names come from `/etc/passwd`, where the system accounts monitoring
//! engines run as live (an account known only to NSS, e.g. LDAP, is shown
//! by its id). Only the error and `check` paths read it.

use std::fmt;

/// Where account names are read.
const PASSWD: &str = "/etc/passwd";

/// The highest id of a system account (Debian's `SYS_UID_MAX`): engines
/// run as system accounts; people have ids from 1000 on.
const SYS_UID_MAX: u32 = 999;

/// The accounts monitoring engines run as, by name (for a system where one
/// was created with an ordinary id), and, in this order, those the package
/// chooses from (`esia`, `nagios`, `icinga`, `esia-glpi`).
const ENGINE_NAMES: [&str; 8] = [
    "esia",
    "nagios",
    "icinga",
    "esia-glpi",
    "naemon",
    "icinga2",
    "centreon-engine",
    "shinken",
];
/// How many of [`ENGINE_NAMES`] the package chooses from.
const PACKAGE_CHOICES: usize = 4;

/// A user account: its id, and its name when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    pub(crate) uid: u32,
    pub(crate) name: Option<String>,
}

impl Account {
    /// The account of `uid`.
    pub(crate) fn of(uid: u32) -> Account {
        let passwd = std::fs::read_to_string(PASSWD).unwrap_or_default();
        Account {
            uid,
            name: name_in(&passwd, uid),
        }
    }

    /// The account this process runs as (effective id).
    pub(crate) fn running() -> Account {
        Account::of(rustix::process::geteuid().as_raw())
    }

    pub(crate) fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// Its name, else `user id N` (for a sentence).
    pub(crate) fn shown_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("user id {}", self.uid))
    }

    /// Whether a monitoring engine may run as it: a named system account
    /// other than root and nobody, or an account named like an engine's.
    /// Root and people (and accounts without a name) are not: a state
    /// directory of theirs was made by hand, and is what to fix.
    pub(crate) fn may_be_engine_user(&self) -> bool {
        let Some(name) = &self.name else {
            return false;
        };
        if self.is_root() || name == "nobody" {
            return false;
        }
        self.uid <= SYS_UID_MAX || ENGINE_NAMES.contains(&name.as_str())
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} (user id {})", self.uid),
            None => write!(f, "user id {}", self.uid),
        }
    }
}

/// The name of the monitoring engine's user on this system, as the package
/// chooses it (the first of `esia`, `nagios`, `icinga`, `esia-glpi` that
/// exists), for advice when nothing better is known.
pub(crate) fn likely_engine_user() -> Option<String> {
    let passwd = std::fs::read_to_string(PASSWD).unwrap_or_default();
    first_existing(&passwd, &ENGINE_NAMES[..PACKAGE_CHOICES])
}

/// The name of `uid` in the text of a passwd file.
fn name_in(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == uid && !name.is_empty() && !name.starts_with(['#', '+', '-']))
            .then(|| name.to_owned())
    })
}

/// The first of `names` that a passwd file holds.
fn first_existing(passwd: &str, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|n| passwd.lines().any(|l| l.split(':').next() == Some(**n)))
        .map(|n| (*n).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        # a comment:x:5:5\n\
        nagios:x:105:110::/var/lib/nagios:/usr/sbin/nologin\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
        alice:x:1000:1000:Alice:/home/alice:/bin/bash\n\
        icinga:x:1001:1001::/var/lib/icinga:/bin/false\n";

    fn account(uid: u32) -> Account {
        Account {
            uid,
            name: name_in(PASSWD, uid),
        }
    }

    #[test]
    fn names_come_from_passwd() {
        assert_eq!(account(105).name.as_deref(), Some("nagios"));
        assert_eq!(account(0).to_string(), "root (user id 0)");
        assert_eq!(account(105).to_string(), "nagios (user id 105)");
        assert_eq!(account(4242).to_string(), "user id 4242");
        assert_eq!(account(4242).shown_name(), "user id 4242");
        assert_eq!(account(5).name, None, "a comment is no account");
    }

    /// Who may be the engine's user: its directory is right, the runner is
    /// wrong. Root, nobody, people and nameless ids are not.
    #[test]
    fn engine_users_are_named_system_accounts() {
        assert!(account(105).may_be_engine_user());
        assert!(account(1).may_be_engine_user());
        // An engine account created with an ordinary id.
        assert!(account(1001).may_be_engine_user());
        assert!(!account(0).may_be_engine_user());
        assert!(!account(65534).may_be_engine_user());
        assert!(!account(1000).may_be_engine_user());
        assert!(!account(4242).may_be_engine_user());
        assert!(!account(300).may_be_engine_user(), "no name");
    }

    #[test]
    fn the_package_s_choice_of_engine_user() {
        assert_eq!(
            first_existing(PASSWD, &ENGINE_NAMES[..PACKAGE_CHOICES]).as_deref(),
            Some("nagios")
        );
        assert_eq!(first_existing("root:x:0:0::/:/bin/sh\n", &["esia"]), None);
    }
}
