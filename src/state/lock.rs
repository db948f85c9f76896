//! Per-key locks of the files backend: one sentinel file per key, locked with
//! std `File::try_lock` (the engine polls when it must wait). The lock is
//! never taken on the data file itself, whose inode a rename replaces.

use std::fs::{File, TryLockError};
use std::path::Path;

use super::error::StateError;
use super::paths::{check_file, io_err, open_lock_file};

/// Held for the whole read → decide → GLPI → record sequence of one key;
/// released on drop (closing the file releases the lock).
#[derive(Debug)]
pub(crate) struct KeyLock {
    _file: File,
}

impl KeyLock {
    fn open(path: &Path) -> Result<File, StateError> {
        let file = open_lock_file(path).map_err(io_err(path, "open the lock file"))?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.lock");
        let first = KeyLock::try_acquire(&path).unwrap().expect("free");
        assert!(KeyLock::try_acquire(&path).unwrap().is_none(), "held");
        drop(first);
        assert!(KeyLock::try_acquire(&path).unwrap().is_some(), "released");
    }
}
