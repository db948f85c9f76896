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
        }
    }
}
