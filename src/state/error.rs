//! Why the local state cannot be used (exit 6), and what to do.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::accounts::{Account, likely_engine_user};

/// Why the local state cannot be used (exit 6).
#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
    #[error("cannot {action} {}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("lock {} not obtained within {}s", path.display(), timeout.as_secs())]
    LockTimeout { path: PathBuf, timeout: Duration },
    /// A path of the state directory that belongs to another user than
    /// the one running esia-glpi: never used. Either the runner is wrong
    /// (the owner is the engine's user: run as it) or the directory is
    /// (made by root or a person: chown it) — the hint tells which.
    #[error(
        "refusing {}: it belongs to {owner}, not to {runner}, who runs esia-glpi",
        path.display()
    )]
    NotOwner {
        path: PathBuf,
        owner: Account,
        runner: Account,
    },
    /// A path of the state directory another local user could have planted
    /// or could change: never used.
    #[error("refusing {}: {reason}", path.display())]
    Unsafe { path: PathBuf, reason: String },
    /// The state database (`[state] backend = "postgres"`) could not be
    /// used. `kept_locally`: the event of this run is kept in the local
    /// state directory meanwhile.
    #[error("state database: cannot {action}: {reason}{}", kept_note(kept_locally.as_ref()))]
    Database {
        action: &'static str,
        /// The client's message (never holds the password).
        reason: String,
        kept_locally: Option<KeptLocally>,
    },
    /// The database's schema is newer than this program knows (a newer
    /// release migrated it). `kept_locally`: as for [`StateError::Database`].
    #[error(
        "the state database's schema is version {found}; this esia-glpi knows up to {known}{}",
        kept_note(kept_locally.as_ref())
    )]
    SchemaTooNew {
        found: i32,
        known: i32,
        kept_locally: Option<KeptLocally>,
    },
}

/// What waits in the local state directory while the state database cannot
/// be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeptLocally {
    /// This run's event, in this outbox entry.
    Event(PathBuf),
    /// Events of earlier runs, in this outbox.
    Outbox(PathBuf),
}

fn kept_note(kept: Option<&KeptLocally>) -> String {
    kept.map(|k| {
        let (what, path) = match k {
            KeptLocally::Event(path) => ("the event is kept locally at", path),
            KeptLocally::Outbox(path) => (
                "events kept while it could not be reached wait locally in",
                path,
            ),
        };
        format!(
            "; {what} {} and will be moved to the database by the next run or `esia-glpi \
             flush` that reaches it",
            path.display()
        )
    })
    .unwrap_or_default()
}

impl StateError {
    /// The state database could not be reached, but this run's event is
    /// kept in the local state directory: the run reports it kept.
    pub(crate) fn event_kept_locally(&self) -> bool {
        matches!(
            self,
            StateError::Database {
                kept_locally: Some(KeptLocally::Event(_)),
                ..
            } | StateError::SchemaTooNew {
                kept_locally: Some(KeptLocally::Event(_)),
                ..
            }
        )
    }

    /// The same error, saying what waits locally (an error of the state
    /// database only: every other is returned as it is).
    pub(crate) fn kept_locally(self, kept: &KeptLocally) -> StateError {
        match self {
            StateError::Database { action, reason, .. } => StateError::Database {
                action,
                reason,
                kept_locally: Some(kept.clone()),
            },
            StateError::SchemaTooNew { found, known, .. } => StateError::SchemaTooNew {
                found,
                known,
                kept_locally: Some(kept.clone()),
            },
            other => other,
        }
    }

    pub(crate) fn hint(&self) -> String {
        match self {
            StateError::Io {
                path,
                action,
                source,
            } if source.kind() == std::io::ErrorKind::PermissionDenied
                && action.starts_with("create the") =>
            {
                let (user, note) = engine_user(&Account::running());
                format!(
                    "as root, create it for the user the monitoring engine runs as: `install -d \
                     -m 0700 -o {user} {}`{note}; or set state_dir (or --state-dir) to a \
                     directory that user may write in",
                    path.display()
                )
            }
            StateError::Io { .. } => "check that the state directory (state_dir, or \
                 --state-dir) exists and belongs to the user the monitoring engine runs as"
                .into(),
            StateError::LockTimeout { .. } => "another run for the same node and service is \
                 still working; raise lock_timeout in the configuration if GLPI is slow"
                .into(),
            StateError::Database { .. } => "check that the database server runs and that the \
                 [state] url, password_file and TLS settings are right: `esia-glpi check` \
                 probes it; events kept meanwhile are delivered once it is back"
                .into(),
            StateError::SchemaTooNew { .. } => "a newer esia-glpi migrated the database: \
                 install that version on this monitoring server too; the events kept \
                 meanwhile are delivered by its first run or `esia-glpi flush`"
                .into(),
            StateError::NotOwner {
                path,
                owner,
                runner,
            } => not_owner_hint(root_of(path), owner, runner),
            StateError::Unsafe { path, .. } => format!(
                "the state directory and everything in it must belong to the user the \
                 monitoring engine runs as and be writable by it alone: as root, check what is \
                 there, remove what that user did not create, then `chown -R USER {0}` and \
                 `chmod -R go-rwx {0}` (USER: the engine's user)",
                root_of(path).display()
            ),
        }
    }
}

/// What to do about a state directory `root` of `owner` met by `runner`.
/// When the owner may be the monitoring engine's user, the directory is
/// right and the runner wrong: run as the owner, and never chown (the
/// engine's own runs would then be refused). Otherwise (root, a person, a
/// vanished account, nobody made it) the directory goes to the engine's
/// user: the runner when it may be that user, else the package's choice.
fn not_owner_hint(root: &std::path::Path, owner: &Account, runner: &Account) -> String {
    let root = root.display();
    if let Some(name) = owner.name.as_deref().filter(|_| owner.may_be_engine_user()) {
        let mut hint = format!(
            "{root} is right, the user is not: run this as {name}, the monitoring engine's user, \
             who owns it: `sudo -u {name} esia-glpi …` (e.g. `sudo -u {name} esia-glpi check`); \
             do not chown it, or the engine's own runs would be refused"
        );
        if let Some(me) = runner
            .name
            .as_deref()
            .filter(|_| runner.may_be_engine_user())
        {
            let _ = write!(
                hint,
                "; only if the engine now runs as {me}: `chown -R {me} {root}`"
            );
        }
        return hint;
    }
    let (user, note) = engine_user(runner);
    let mut hint = format!(
        "{root} belongs to {}, which no monitoring engine runs as: as root, check what is there, \
         then `chown -R {user} {root}`{note} and `chmod -R go-rwx {root}`",
        owner.shown_name()
    );
    if runner.name.as_deref() != Some(user.as_str()) {
        let _ = write!(
            hint,
            ", and run esia-glpi as {user}: `sudo -u {user} esia-glpi check`"
        );
    }
    hint
}

/// The user to give the state directory to, and a note when it is a
/// guess: `runner` when a monitoring engine may run as it, else the one
/// the package would choose, else `USER`.
pub(crate) fn engine_user(runner: &Account) -> (String, String) {
    match runner
        .name
        .as_deref()
        .filter(|_| runner.may_be_engine_user())
    {
        Some(me) => (me.to_owned(), String::new()),
        None => match likely_engine_user() {
            Some(guess) => (
                guess.clone(),
                " (the package's choice on this system; if the engine runs as another user, \
                 that one)"
                    .to_owned(),
            ),
            None => (
                "USER".to_owned(),
                " (USER: the user the monitoring engine runs as)".to_owned(),
            ),
        },
    }
}

/// The state directory a path belongs to, for the hint: the path itself
/// when it is not inside a known subdirectory.
fn root_of(path: &std::path::Path) -> &std::path::Path {
    path.ancestors()
        .find(|p| {
            p.file_name().is_some_and(|n| {
                [
                    "records", "locks", "cache", "dropped", "spool", "intents", "outbox",
                ]
                .iter()
                .any(|s| n == *s)
            })
        })
        .and_then(std::path::Path::parent)
        .unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(uid: u32, name: &str) -> Account {
        Account {
            uid,
            name: Some(name.to_owned()),
        }
    }

    /// The engine's user owns it: run as that user, never chown (unless
    /// the runner may be the engine's new user). Root or a person owns it:
    /// chown it.
    #[test]
    fn who_to_run_as_or_chown_to() {
        let root = std::path::Path::new("/var/lib/esia-glpi");
        let nagios = account(105, "nagios");
        let hint = not_owner_hint(root, &nagios, &account(0, "root"));
        assert!(hint.contains("run this as nagios"), "{hint}");
        assert!(hint.contains("`sudo -u nagios esia-glpi check`"), "{hint}");
        assert!(!hint.contains("`chown"), "{hint}");

        let hint = not_owner_hint(root, &nagios, &account(110, "naemon"));
        assert!(hint.contains("run this as nagios"), "{hint}");
        assert!(
            hint.ends_with(
                "only if the engine now runs as naemon: `chown -R naemon /var/lib/esia-glpi`"
            ),
            "{hint}"
        );

        let hint = not_owner_hint(root, &account(0, "root"), &nagios);
        assert!(
            hint.contains("then `chown -R nagios /var/lib/esia-glpi` and `chmod -R go-rwx"),
            "{hint}"
        );
        assert!(!hint.contains("sudo"), "nagios runs it already: {hint}");

        let hint = not_owner_hint(root, &account(1000, "alice"), &nagios);
        assert!(
            hint.contains("belongs to alice, which no monitoring engine runs as"),
            "{hint}"
        );
        assert!(hint.contains("`chown -R nagios "), "{hint}");
    }
}
