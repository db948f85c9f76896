//! Why the local state cannot be used (exit 6), and what to do.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

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
