//! `check`, the state directory (used by both backends: with PostgreSQL it
//! keeps the cache and the events the database could not take): looked at
//! as the user running `check` would meet it in a run — it exists or can be
//! created, it and everything in it belong to that user, nobody else may
//! write in it, no link — through the state layer's own checks, so that
//! `check` and `notify` say the same thing. Nothing is created or written.
//!
//! Run as root, `check` says what root's runs would meet; the monitoring
//! engine runs as its own user, so what differs for that user is said too.

use std::path::Path;

use super::report::Report;
use crate::core::Failure;
use crate::state::{Account, Inspection, StateError, engine_user, inspect};

const STEP: &str = "state directory";

pub(super) fn check_state_dir(r: &mut Report, root: &Path) {
    let runner = Account::running();
    let shown = root.display();
    match inspect(root) {
        Ok(Inspection::Ready {
            owner,
            mode,
            entries,
        }) => {
            let contents = match entries {
                0 => "empty".to_owned(),
                n => format!("its {n} entries are that user's too, none a link"),
            };
            r.ok(
                STEP,
                format!(
                    "{shown} belongs to {}, who runs this, mode {mode:04o}, no other user may \
                     write in it; {contents}",
                    owner.shown_name()
                ),
            );
            if mode & 0o077 != 0 {
                r.warn(
                    STEP,
                    format!(
                        "{shown} is mode {mode:04o}: other users may list the nodes and services \
                         it holds; `chmod 0700 {shown}` (runs create it 0700)"
                    ),
                );
            }
            if runner.is_root() {
                let (user, note) = engine_user(&runner);
                r.warn(
                    STEP,
                    format!(
                        "check runs as root, and {shown} belongs to root: right only if the \
                         monitoring engine runs as root too; its runs as {user}{note} would be \
                         refused it: then `chown -R {user} {shown}`, and check as that user, \
                         `sudo -u {user} esia-glpi check`"
                    ),
                );
            }
        }
        Ok(Inspection::Creatable { .. }) if runner.is_root() => {
            let (user, note) = engine_user(&runner);
            r.warn(
                STEP,
                format!(
                    "{shown} does not exist yet: a run as root would create it as root's, and \
                     the monitoring engine's runs as {user}{note} would then be refused it; \
                     create it for that user, `install -d -m 0700 -o {user} {shown}`, and check \
                     as that user, `sudo -u {user} esia-glpi check`"
                ),
            );
        }
        Ok(Inspection::Creatable { parent }) => r.ok(
            STEP,
            format!(
                "{shown} does not exist yet: the first run creates it (mode 0700) in {}, where \
                 {} may write",
                parent.display(),
                runner.shown_name()
            ),
        ),
        Err(e) => r.fail(STEP, Failure::Local, refusal(&e)),
    }
}

/// The error a run would stop on, and its fix.
fn refusal(e: &StateError) -> String {
    format!("{}: {}", crate::text::error_line(e), e.hint())
}
