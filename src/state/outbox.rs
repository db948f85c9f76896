//! The local outbox of a state directory — a write-ahead journal
//! (`journal.rs`) of events not yet in the store. The PostgreSQL backend
//! writes every event here first (durably, like the files backend's
//! spool), then inserts it into the database under its unique id, then
//! removes it from here; while the database cannot be reached the event
//! stays here, and the next run or `flush` that reaches the database moves
//! every entry there, oldest first (the insertion is idempotent: an entry
//! already moved is never inserted twice). A run that met an invalid
//! configuration keeps its event here too (`keep_unconfigured`), bound to
//! that configuration: whichever backend the fixed configuration names
//! moves it into its store (the files backend into its spool, as
//! idempotently).
//!
//! `outbox/<n>-<uid>.json` (`n`: 20 digits, in arrival order, numbered
//! under the lock `outbox/numbering.lock`; older versions wrote
//! `<n>.json`). The id in the name makes every path unique: a run that
//! moved an entry and removes its file never removes another entry that
//! took the same number meanwhile.
//!
//! The run that wrote an entry holds a lock on its file (`flock`) until it
//! moved it itself: other runs move only entries nobody holds (of runs that
//! ended without reaching the database), each under that lock
//! ([`journal::claim`]), so that two runs never move one entry at once.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::{Event, GlpiId};
use crate::state::StateError;
use crate::state::journal::{self, Journal, encode};

pub(super) use crate::state::journal::{claim, remove};

/// Schema of an outbox entry.
const SCHEMA: u32 = 1;

/// One event waiting to be moved into the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Entry {
    schema: u32,
    /// Its id in the database (random, 128 bits).
    pub(super) uid: String,
    /// The GLPI it is meant for.
    pub(super) glpi: GlpiId,
    pub(super) event: Event,
}

/// A fresh random id for an event.
pub(super) fn new_uid() -> Result<String, StateError> {
    // The kernel's generator (getrandom(2)): cheap, unlike initialising a
    // crypto library in a process that lives a few milliseconds.
    let mut bytes = [0u8; 16];
    let mut filled = 0;
    while filled < bytes.len() {
        filled +=
            rustix::rand::getrandom(&mut bytes[filled..], rustix::rand::GetRandomFlags::empty())
                .map_err(|e| StateError::Io {
                    path: PathBuf::from("getrandom"),
                    action: "draw an event id from",
                    source: io::Error::from(e),
                })?;
    }
    Ok(hex(&bytes))
}

/// Lower-case hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The number of an entry's file: `<n>.json` or `<n>-<uid>.json`.
fn number_of(path: &Path) -> Option<u64> {
    if path.extension().is_none_or(|e| e != "json") {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    let digits = stem.get(..20)?;
    let rest = &stem[20..];
    let uid_ok = rest.is_empty()
        || rest
            .strip_prefix('-')
            .is_some_and(|uid| !uid.is_empty() && uid.bytes().all(|b| b.is_ascii_hexdigit()));
    (uid_ok && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The outbox of `dir`, numbered under the lock `numbering`.
fn outbox<'a>(dir: &'a Path, numbering: &'a Path) -> Journal<'a> {
    Journal {
        dir,
        numbering,
        number_of,
        place_of: number_of,
    }
}

/// An entry this run wrote: its file stays locked until the run moved it
/// into the database (or ended).
pub(super) struct Mine {
    pub(super) path: PathBuf,
    pub(super) entry: Entry,
    _lock: File,
}

/// Writes `event` durably as the newest entry of the outbox `dir`, locked
/// by this run (see the module's documentation).
pub(super) fn push(dir: &Path, event: &Event, glpi: &GlpiId) -> Result<Mine, StateError> {
    let entry = Entry {
        schema: SCHEMA,
        uid: new_uid()?,
        glpi: glpi.clone(),
        event: event.clone(),
    };
    let bytes = encode(dir, &entry)?;
    let numbering = dir.join("numbering.lock");
    let appended = outbox(dir, &numbering).append(
        &bytes,
        0,
        |n| format!("{n:020}-{}.json", entry.uid),
        true,
    )?;
    let lock = appended.lock.ok_or_else(|| StateError::Io {
        path: appended.path.clone(),
        action: "lock",
        source: io::Error::other("the entry was written unlocked"),
    })?;
    Ok(Mine {
        path: appended.path,
        entry,
        _lock: lock,
    })
}

/// The outbox's entries, oldest first. A corrupt one is moved aside
/// (`<name>.corrupt-<time>`, never deleted) and reported.
pub(super) fn list(dir: &Path) -> Result<Vec<(PathBuf, Entry)>, StateError> {
    let mut out = Vec::new();
    for (_, path) in outbox(dir, dir).entries(|_| {})? {
        // `None`: moved by another run meanwhile, or set aside.
        let read = journal::read::<Entry>(&path, "the kept event", |e| {
            if e.schema == SCHEMA {
                Ok(())
            } else {
                Err(format!("unsupported schema {}", e.schema))
            }
        })?;
        if let Some(entry) = read {
            out.push((path, entry));
        }
    }
    Ok(out)
}

/// True when the outbox holds entries.
pub(super) fn is_empty(dir: &Path) -> bool {
    outbox(dir, dir)
        .entries(|_| {})
        .map_or(true, |f| f.is_empty())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::core::State;

    #[test]
    fn entries_come_back_in_arrival_order_with_distinct_ids() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        let mut uids = Vec::new();
        for n in 0..3 {
            let event = Event {
                output: format!("e{n}"),
                ..Event::sample("n", "s", State::Critical)
            };
            uids.push(push(&outbox, &event, &GlpiId::new("g")).unwrap().entry.uid);
        }
        let listed = list(&outbox).unwrap();
        let outputs: Vec<&str> = listed
            .iter()
            .map(|(_, e)| e.event.output.as_str())
            .collect();
        assert_eq!(outputs, ["e0", "e1", "e2"]);
        assert_eq!(
            listed
                .iter()
                .map(|(_, e)| e.uid.clone())
                .collect::<Vec<_>>(),
            uids
        );
        assert_ne!(uids[0], uids[1]);
        assert_eq!(uids[0].len(), 32);
        remove(&listed[0].0).unwrap();
        assert!(!is_empty(&outbox));
        fs::write(outbox.join("00000000000000000009.json"), b"{").unwrap();
        assert_eq!(list(&outbox).unwrap().len(), 2, "corrupt entry set aside");
    }

    #[test]
    fn a_path_is_never_reused_by_a_later_entry() {
        // A run that listed an entry, moved it and removes its path late
        // (another run removed it meanwhile) must not remove a newer entry
        // that took the same number: the exit 6 "the event moved from the
        // outbox is not in the database", and an event lost had its run died.
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        let event = Event::sample("n", "s", State::Critical);
        let first = push(&outbox, &event, &GlpiId::new("g")).unwrap();
        let stale = first.path.clone();
        remove(&first.path).unwrap();
        drop(first);
        let second = push(&outbox, &event, &GlpiId::new("g")).unwrap();
        assert_eq!(number_of(&second.path), Some(1), "the number is reused");
        assert_ne!(second.path, stale, "but never the path");
        remove(&stale).unwrap();
        assert_eq!(list(&outbox).unwrap().len(), 1, "the newer entry stays");
    }

    #[test]
    fn an_entry_is_claimed_only_once_its_run_let_it_go() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        let mine = push(
            &outbox,
            &Event::sample("n", "s", State::Ok),
            &GlpiId::new("g"),
        )
        .unwrap();
        assert!(claim(&mine.path).unwrap().is_none(), "its run moves it");
        let path = mine.path.clone();
        drop(mine); // the run ended without reaching the database
        let claimed = claim(&path).unwrap().expect("a leftover is claimed");
        assert!(claim(&path).unwrap().is_none(), "by one run at a time");
        drop(claimed);
        remove(&path).unwrap();
        assert!(claim(&path).unwrap().is_none(), "gone");
    }

    #[test]
    fn entry_names_old_and_new() {
        let uid = "0123456789abcdef0123456789abcdef";
        for (name, n) in [
            ("00000000000000000007.json", Some(7)),
            (
                &format!("00000000000000000012-{uid}.json") as &str,
                Some(12),
            ),
            ("00000000000000000012-.json", None),
            ("00000000000000000012-zz.json", None),
            ("0000000000000000012.json", None),
            ("00000000000000000012.tmp", None),
            ("numbering.lock", None),
        ] {
            assert_eq!(number_of(Path::new(name)), n, "{name}");
        }
    }
}
