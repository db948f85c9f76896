//! Per-key locks of the files backend: one sentinel file per key, locked with
//! std `File::try_lock` and polled until a deadline (std has no timed lock;
//! the pause between polls is an async sleep). The lock is never taken on the
//! data file itself, whose inode a rename replaces.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::StateError;

/// Held for the whole read → decide → GLPI → record sequence of one key;
/// released on drop (closing the file releases the lock).
#[derive(Debug)]
pub(crate) struct KeyLock {
    _file: File,
}

impl KeyLock {
    pub(super) async fn acquire(
        path: &Path,
        what: &str,
        timeout: Duration,
    ) -> Result<KeyLock, StateError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|source| StateError::Io {
                path: path.to_path_buf(),
                action: "open the lock file",
                source,
            })?;
        let deadline = Instant::now() + timeout;
        let mut announced = false;
        let mut pause = Duration::from_millis(5);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(KeyLock { _file: file }),
                Err(TryLockError::WouldBlock) => {
                    if !announced {
                        tracing::info!("waiting for the lock on {what} ({})", path.display());
                        announced = true;
                    }
                    if Instant::now() >= deadline {
                        return Err(StateError::LockTimeout {
                            path: PathBuf::from(path),
                            timeout,
                        });
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(TryLockError::Error(source)) => {
                    return Err(StateError::Io {
                        path: path.to_path_buf(),
                        action: "lock",
                        source,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn second_holder_times_out_then_succeeds_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.lock");
        let first = KeyLock::acquire(&path, "k", Duration::from_secs(1))
            .await
            .unwrap();
        let err = KeyLock::acquire(&path, "k", Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(matches!(err, StateError::LockTimeout { .. }));
        drop(first);
        KeyLock::acquire(&path, "k", Duration::from_millis(50))
            .await
            .unwrap();
    }
}
