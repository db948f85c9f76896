//! The write-ahead journal: a directory of numbered entries, each written
//! durably under the next number before anyone waits for anything, never
//! replacing a file, read back in number order, and removed durably once
//! its work is done. An entry that cannot be read is set aside
//! (`<name>.corrupt-<time>`, never deleted) and reported.
//!
//! Two journals use it: each key's spool of kept events (`spool.rs`) and
//! the PostgreSQL backend's local outbox (`postgres/outbox.rs`). Each says
//! how its entries are named and numbered; numbers are handed out under a
//! lock file held only for the instant it takes to create one entry, so
//! two runs arriving together get distinct numbers.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::atomic;
use super::error::StateError;
use super::paths::{
    check_file, existing_private_dir, io_err, move_aside, nofollow, open_lock_file, private_dir,
    read_private,
};

/// One journal: its directory, how its files are numbered, and its
/// numbering lock.
pub(super) struct Journal<'a> {
    pub(super) dir: &'a Path,
    /// The lock under which numbers are handed out.
    pub(super) numbering: &'a Path,
    /// The number of a file of the journal (any extension: a receipt or a
    /// mark beside an entry counts as a number in use), `None` for others.
    pub(super) number_of: fn(&Path) -> Option<u64>,
    /// The place of an entry (a `*.json` file) in the journal's order,
    /// `None` for a file that is no entry.
    pub(super) place_of: fn(&Path) -> Option<u64>,
}

/// An entry just written.
#[derive(Debug)]
pub(super) struct Appended {
    pub(super) n: u64,
    pub(super) path: PathBuf,
    /// The entry's file, locked, when asked for ([`Journal::append`]).
    pub(super) lock: Option<File>,
}

impl Journal<'_> {
    /// Writes `bytes` durably as the next entry: number 1 + the highest of
    /// `floor` and the numbers in use, file name `name(n)`. With `hold`,
    /// the file is locked before it appears under its name and the lock is
    /// returned (no other run claims it, see [`claim`]).
    pub(super) fn append(
        &self,
        bytes: &[u8],
        floor: u64,
        name: impl Fn(u64) -> String,
        hold: bool,
    ) -> Result<Appended, StateError> {
        let dir = self.dir;
        private_dir(dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(io_err(dir, "write"))?;
        if hold {
            tmp.as_file()
                .lock()
                .map_err(io_err(dir, "lock an entry of"))?;
        }
        tmp.write_all(bytes).map_err(io_err(dir, "write"))?;
        tmp.as_file().sync_all().map_err(io_err(dir, "write"))?;
        let numbering = numbering_lock(self.numbering)?;
        let mut n = self.highest(floor)? + 1;
        let file = loop {
            let path = dir.join(name(n));
            match tmp.persist_noclobber(&path) {
                Ok(file) => break file,
                // Taken by a run that numbers without the lock (an older
                // version): the next one.
                Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                    tmp = e.file;
                    n += 1;
                }
                Err(e) => return Err(io_err(&path, "write")(e.error)),
            }
        };
        // Numbered: the next run may number its own while this one syncs.
        drop(numbering);
        atomic::sync_dir(dir).map_err(io_err(dir, "sync"))?;
        Ok(Appended {
            n,
            path: dir.join(name(n)),
            lock: hold.then_some(file),
        })
    }

    /// The highest of `floor` and the numbers of the journal's files.
    fn highest(&self, floor: u64) -> Result<u64, StateError> {
        let mut high = floor;
        match fs::read_dir(self.dir) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    high = high.max((self.number_of)(&entry.path()).unwrap_or(0));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(self.dir, "read")(e)),
        }
        Ok(high)
    }

    /// The entries (`*.json` files that have a place), in the journal's
    /// order, then name order; every other file is shown to `other` (for
    /// the journal's housekeeping).
    pub(super) fn entries(
        &self,
        mut other: impl FnMut(&Path),
    ) -> Result<Vec<(u64, PathBuf)>, StateError> {
        if !existing_private_dir(self.dir)? {
            return Ok(Vec::new());
        }
        let listing = match fs::read_dir(self.dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(self.dir, "read")(e)),
        };
        let mut out = Vec::new();
        for path in listing.flatten().map(|e| e.path()) {
            match (self.place_of)(&path).filter(|_| path.extension().is_some_and(|e| e == "json")) {
                Some(n) => out.push((n, path)),
                None => other(&path),
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Reads one entry: `accept` checks what was decoded (a schema it knows).
/// One that cannot be decoded or accepted is set aside and reported
/// (`what`: what it holds, for people) — `Ok(None)` then, as for an entry
/// gone meanwhile.
pub(super) fn read<T: DeserializeOwned>(
    path: &Path,
    what: &str,
    accept: impl FnOnce(&T) -> Result<(), String>,
) -> Result<Option<T>, StateError> {
    let Some(bytes) = read_private(path)? else {
        return Ok(None);
    };
    let reason = match serde_json::from_slice::<T>(&bytes) {
        Ok(value) => match accept(&value) {
            Ok(()) => return Ok(Some(value)),
            Err(reason) => reason,
        },
        Err(e) => e.to_string(),
    };
    let to = move_aside(path)?;
    tracing::error!(
        "{what} {} is corrupt ({reason}); kept as {} — it is not delivered",
        path.display(),
        to.display()
    );
    Ok(None)
}

/// Encodes an entry (pretty JSON, as every state file).
pub(super) fn encode(path: &Path, value: &impl Serialize) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec_pretty(value).map_err(|e| StateError::Io {
        path: path.to_path_buf(),
        action: "encode",
        source: io::Error::other(e),
    })
}

/// Removes a file (an entry, a receipt, a mark) durably; a missing one is
/// fine.
pub(super) fn remove(path: &Path) -> Result<(), StateError> {
    match fs::remove_file(path) {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                atomic::sync_dir(dir).map_err(io_err(path, "sync the directory of"))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StateError::Io {
            path: path.to_path_buf(),
            action: "remove",
            source,
        }),
    }
}

/// Takes the lock of a file of the journal, unless another run holds it or
/// it is gone (`None` then). Never follows a link.
pub(super) fn claim(path: &Path) -> Result<Option<File>, StateError> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(nofollow())
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path, "open")(e)),
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(io_err(path, "lock")(e)),
    }
}

/// The numbering lock of a journal (never held across anything but the
/// creation of one entry).
fn numbering_lock(path: &Path) -> Result<File, StateError> {
    let file = open_lock_file(path).map_err(io_err(path, "open the lock file"))?;
    check_file(path, &file)?;
    file.lock().map_err(io_err(path, "lock"))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(path: &Path) -> Option<u64> {
        path.file_stem()?.to_str()?.parse().ok()
    }

    /// A journal's directory and numbering lock, in `tmp`.
    fn paths(tmp: &Path) -> (PathBuf, PathBuf) {
        (tmp.join("j"), tmp.join("j.lock"))
    }

    /// The journal of `dir`, its entries named by their number.
    fn journal<'a>(dir: &'a Path, numbering: &'a Path) -> Journal<'a> {
        Journal {
            dir,
            numbering,
            number_of: numbered,
            place_of: numbered,
        }
    }

    #[test]
    fn entries_are_numbered_in_order_above_the_floor_and_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, lock) = paths(tmp.path());
        let j = journal(&dir, &lock);
        let a = j.append(b"{}", 0, |n| format!("{n}.json"), false).unwrap();
        let b = j.append(b"{}", 5, |n| format!("{n}.json"), false).unwrap();
        assert_eq!((a.n, b.n), (1, 6));
        // A mark beside an entry counts as a number in use.
        fs::write(dir.join("9.done"), b"").unwrap();
        let c = j.append(b"{}", 0, |n| format!("{n}.json"), false).unwrap();
        assert_eq!(c.n, 10);
        let listed: Vec<u64> = j.entries(|_| {}).unwrap().iter().map(|(n, _)| *n).collect();
        assert_eq!(listed, [1, 6, 10]);
        let mode = fs::metadata(&c.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_held_entry_is_claimed_only_once_let_go() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, lock) = paths(tmp.path());
        let j = journal(&dir, &lock);
        let mine = j.append(b"{}", 0, |n| format!("{n}.json"), true).unwrap();
        assert!(claim(&mine.path).unwrap().is_none(), "its run holds it");
        let path = mine.path.clone();
        drop(mine);
        let claimed = claim(&path).unwrap().expect("a leftover is claimed");
        assert!(claim(&path).unwrap().is_none(), "by one run at a time");
        drop(claimed);
        remove(&path).unwrap();
        remove(&path).unwrap();
        assert!(claim(&path).unwrap().is_none(), "gone");
    }

    #[test]
    fn an_unreadable_entry_is_set_aside_never_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("1.json");
        fs::write(&path, b"{").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let got: Option<serde_json::Value> = read(&path, "entry", |_| Ok(())).unwrap();
        assert!(got.is_none());
        let aside: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(aside.len(), 1);
        assert!(aside[0].starts_with("1.json.corrupt-"), "{aside:?}");
        // Refused by the caller's check: set aside too.
        fs::write(&path, b"{\"schema\": 9}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let got: Option<serde_json::Value> =
            read(&path, "entry", |_| Err("schema 9".into())).unwrap();
        assert!(got.is_none());
        assert!(!path.exists());
    }
}
