//! Atomic writes: temp file in the same directory, rename. Durable ones add
//! an fsync of the file and of the directory (SPEC "Durability": a crash
//! leaves the old file or the new one); advisory files (receipts, the
//! high-water mark) skip the fsyncs; a new file can be created without ever
//! replacing one (`create_new`).

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// How a temporary file becomes `path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// fsync the file, rename over `path`, fsync the directory.
    Durable,
    /// Rename over `path`, no fsync: the file is only advisory.
    Advisory,
    /// fsync the file, then create `path` only if it does not exist yet
    /// (the directory is not synced: the caller syncs once).
    New,
}

/// Writes `bytes` to `path` atomically and durably, with mode 0600.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write(path, bytes, Mode::Durable).map(|_| ())
}

/// Writes `bytes` to `path` atomically, mode 0600, without fsync.
pub(crate) fn write_advisory(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write(path, bytes, Mode::Advisory).map(|_| ())
}

/// Creates `path` holding `bytes` (fsynced, mode 0600) unless it exists:
/// `Ok(false)` then, and nothing is written.
pub(crate) fn create_new(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    write(path, bytes, Mode::New)
}

fn write(path: &Path, bytes: &[u8], mode: Mode) -> io::Result<bool> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("path has no parent directory"))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    if mode != Mode::Advisory {
        tmp.as_file().sync_all()?;
    }
    match mode {
        Mode::Durable => {
            tmp.persist(path).map_err(|e| e.error)?;
            sync_dir(dir)?;
        }
        Mode::Advisory => {
            tmp.persist(path).map_err(|e| e.error)?;
        }
        Mode::New => match tmp.persist_noclobber(path) {
            Ok(_) => {}
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(e.error),
        },
    }
    Ok(true)
}

/// Makes a rename or creation in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // no temp file left behind
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn create_new_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.json");
        assert!(create_new(&path, b"first").unwrap());
        assert!(!create_new(&path, b"second").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
