//! File names of the state directory: a key as a reversible, portable
//! file-name stem; corrupt files set aside; lock files opened; the error of
//! an I/O on a path.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::accounts::Account;
use super::error::StateError;
use crate::core::Key;

/// The error of an I/O `action` on `path`.
pub(super) fn io_err(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> StateError {
    let path = path.to_path_buf();
    move |source| StateError::Io {
        path,
        action,
        source,
    }
}

/// `O_NOFOLLOW`, for `OpenOptions::custom_flags`: a symbolic link planted
/// in the state directory is never followed.
pub(super) fn nofollow() -> i32 {
    i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or(0)
}

/// Opens (creating it, mode 0600, never truncating it) the lock file
/// `path`, never through a symbolic link. Taking the lock is the caller's.
pub(super) fn open_lock_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(nofollow())
        .open(path)
}

/// The user this process runs as.
fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn unsafe_path(path: &Path, reason: impl Into<String>) -> StateError {
    StateError::Unsafe {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Checks what `meta` (not following links) says of `path`: a directory or
/// a regular file (`dir`), owned by this user, writable by no one else.
pub(super) fn check_owned(path: &Path, meta: &fs::Metadata, dir: bool) -> Result<(), StateError> {
    use std::os::unix::fs::MetadataExt as _;
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(unsafe_path(
            path,
            "it is a symbolic link, which esia-glpi never follows in its state directory",
        ));
    }
    if dir && !kind.is_dir() {
        return Err(unsafe_path(path, "it is not a directory"));
    }
    if !dir && !kind.is_file() {
        return Err(unsafe_path(path, "it is not a regular file"));
    }
    if meta.uid() != euid() {
        return Err(StateError::NotOwner {
            path: path.to_path_buf(),
            owner: Account::of(meta.uid()),
            runner: Account::of(euid()),
        });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(unsafe_path(
            path,
            format!(
                "other users may write to it (mode {:04o})",
                meta.mode() & 0o7777
            ),
        ));
    }
    Ok(())
}

/// Creates the directory `path` (mode 0700, whatever the umask) unless it
/// exists, then checks that it is a real directory (not a link), owned by
/// this user and writable by no one else.
pub(super) fn private_dir(path: &Path) -> Result<(), StateError> {
    use std::os::unix::fs::DirBuilderExt as _;
    match fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(StateError::Io {
                path: path.to_path_buf(),
                action: "create the directory",
                source,
            });
        }
    }
    let meta = fs::symlink_metadata(path).map_err(io_err(path, "inspect"))?;
    check_owned(path, &meta, true)
}

/// Checks the directory `path` if it exists (`Ok(false)` when it does not).
pub(super) fn existing_private_dir(path: &Path) -> Result<bool, StateError> {
    match fs::symlink_metadata(path) {
        Ok(meta) => check_owned(path, &meta, true).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StateError::Io {
            path: path.to_path_buf(),
            action: "inspect",
            source,
        }),
    }
}

/// Checks an opened file of the state directory (a lock): this user's,
/// writable by no one else.
pub(super) fn check_file(path: &Path, file: &fs::File) -> Result<(), StateError> {
    let meta = file.metadata().map_err(io_err(path, "inspect"))?;
    check_owned(path, &meta, false)
}

/// Reads a file of the state directory, never through a symbolic link, and
/// only if it is a regular file of this user that no one else may write.
/// `Ok(None)` when it does not exist.
pub(super) fn read_private(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(nofollow())
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(_) if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) => {
            return Err(unsafe_path(
                path,
                "it is a symbolic link, which esia-glpi never follows in its state directory",
            ));
        }
        Err(source) => {
            return Err(StateError::Io {
                path: path.to_path_buf(),
                action: "read",
                source,
            });
        }
    };
    let meta = file.metadata().map_err(io_err(path, "inspect"))?;
    check_owned(path, &meta, false)?;
    let mut bytes = Vec::new();
    (&file)
        .read_to_end(&mut bytes)
        .map_err(io_err(path, "read"))?;
    Ok(Some(bytes))
}

/// Percent-encodes everything but `[A-Za-z0-9._-]`.
pub(crate) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The file-name stem of a key; at most 200 bytes.
pub(super) fn file_stem(key: &Key) -> String {
    let stem = format!(
        "{}~{}",
        encode_component(&key.node),
        encode_component(&key.service)
    );
    if stem.len() <= 200 {
        return stem;
    }
    // FNV-1a 64: stable across versions and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stem.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let cut = (0..=160)
        .rev()
        .find(|i| stem.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}~h{hash:016x}", &stem[..cut])
}

/// Moves a corrupt file aside as `<name>.corrupt-<unix time>`, never deleting it.
pub(super) fn move_aside(path: &Path) -> Result<PathBuf, StateError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".corrupt-{}", jiff::Timestamp::now().as_second()));
    let to = path.with_file_name(name);
    fs::rename(path, &to).map_err(io_err(path, "move aside the corrupt file"))?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(node: &str, service: &str) -> Key {
        Key::new(node, service)
    }

    #[test]
    fn file_names_are_distinct_and_safe() {
        let names = [
            file_stem(&key("web01", "HTTP")),
            file_stem(&key("web01", "")),
            file_stem(&key("web01~", "HTTP")),
            file_stem(&key("web01", "~HTTP")),
            file_stem(&key("../etc", "passwd")),
            file_stem(&key("é", "a/b c")),
        ];
        for (i, a) in names.iter().enumerate() {
            assert!(!a.contains('/'), "{a}");
            for b in &names[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(file_stem(&key("web01", "HTTP")), "web01~HTTP");
        assert_eq!(file_stem(&key("../etc", "passwd")), "..%2Fetc~passwd");
        let long = file_stem(&key(&"é".repeat(300), "x"));
        assert!(long.len() <= 200);
        assert_ne!(long, file_stem(&key(&"é".repeat(301), "x")));
    }
}
