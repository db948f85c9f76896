//! File names of the state directory: a key as a reversible, portable
//! file-name stem; corrupt files set aside; the error of an I/O on a path.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

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
