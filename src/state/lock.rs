//! Per-key locks of the files backend: one sentinel file per key, locked with
//! std `File::try_lock` and polled until a deadline (std has no timed lock;
//! the pause between polls is an async sleep of 20 ms). The lock is never
//! taken on the data file itself, whose inode a rename replaces.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::StateError;
use super::paths::{check_file, io_err, nofollow};

/// Held for the whole read → decide → GLPI → record sequence of one key;
/// released on drop (closing the file releases the lock).
#[derive(Debug)]
pub(crate) struct KeyLock {
    _file: File,
}

impl KeyLock {
    fn open(path: &Path) -> Result<File, StateError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(nofollow())
            .open(path)
            .map_err(io_err(path, "open the lock file"))?;
        check_file(path, &file)?;
        Ok(file)
    }

    /// Takes the lock if it is free, without waiting.
    pub(super) fn try_acquire(path: &Path) -> Result<Option<KeyLock>, StateError> {
        let file = Self::open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(KeyLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(StateError::Io {
                path: path.to_path_buf(),
                action: "lock",
                source,
            }),
        }
    }

    /// Takes the lock, polling until `timeout`.
    pub(super) async fn acquire(
        path: &Path,
        what: &str,
        timeout: Duration,
    ) -> Result<KeyLock, StateError> {
        let deadline = Instant::now() + timeout;
        let mut announced = false;
        loop {
            if let Some(lock) = Self::try_acquire(path)? {
                return Ok(lock);
            }
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
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The pause between two tries of a busy lock.
pub(crate) const POLL: Duration = Duration::from_millis(20);

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
