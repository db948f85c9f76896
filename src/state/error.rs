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
}

impl StateError {
    pub(crate) fn hint(&self) -> String {
        match self {
            StateError::Io { .. } => "check that the state directory (state_dir, or \
                 --state-dir) exists and belongs to the user the monitoring engine runs as"
                .into(),
            StateError::LockTimeout { .. } => "another run for the same node and service is \
                 still working; raise lock_timeout in the configuration if GLPI is slow"
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
                ["records", "locks", "cache", "dropped", "spool", "intents"]
                    .iter()
                    .any(|s| n == *s)
            })
        })
        .and_then(std::path::Path::parent)
        .unwrap_or(path)
}
