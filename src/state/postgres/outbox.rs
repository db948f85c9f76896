//! The local outbox of the PostgreSQL backend: every event is written here
//! first (durably, like the files backend's spool), then inserted into the
//! database under its unique id, then removed from here. While the
//! database cannot be reached the event stays here; the next run or
//! `flush` that reaches the database moves every entry there, oldest first
//! (the insertion is idempotent: an entry already moved is never inserted
//! twice).
//!
//! `outbox/<n>.json` (20 digits, in arrival order), numbered under the
//! lock `outbox/numbering.lock`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::Event;
use crate::state::StateError;
use crate::state::atomic::{self, create_new};
use crate::state::paths::{existing_private_dir, io_err, move_aside, private_dir, read_private};
use crate::state::spool::numbering_lock;

/// Schema of an outbox entry.
const SCHEMA: u32 = 1;

/// One event waiting to be moved into the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Entry {
    schema: u32,
    /// Its id in the database (random, 128 bits).
    pub(super) uid: String,
    /// The GLPI it is meant for.
    pub(super) glpi: String,
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

fn number_of(path: &Path) -> Option<u64> {
    let stem = path.file_stem()?.to_str()?;
    (stem.len() == 20 && path.extension().is_some_and(|e| e == "json"))
        .then(|| stem.parse().ok())
        .flatten()
}

/// The entries' files, oldest first.
fn files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StateError> {
    if !existing_private_dir(dir)? {
        return Ok(Vec::new());
    }
    let mut out: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .map_err(io_err(dir, "read"))?
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            number_of(&path).map(|n| (n, path))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Writes `event` durably as the newest entry of the outbox `dir`.
pub(super) fn push(dir: &Path, event: &Event, glpi: &str) -> Result<(PathBuf, Entry), StateError> {
    private_dir(dir)?;
    let entry = Entry {
        schema: SCHEMA,
        uid: new_uid()?,
        glpi: glpi.to_owned(),
        event: event.clone(),
    };
    let bytes = serde_json::to_vec_pretty(&entry).map_err(|e| StateError::Io {
        path: dir.to_path_buf(),
        action: "encode an event for",
        source: io::Error::other(e),
    })?;
    let _numbering = numbering_lock(&dir.join("numbering.lock"))?;
    let mut n = files(dir)?.last().map_or(0, |(n, _)| *n) + 1;
    loop {
        let path = dir.join(format!("{n:020}.json"));
        if create_new(&path, &bytes).map_err(io_err(&path, "write"))? {
            atomic::sync_dir(dir).map_err(io_err(dir, "sync"))?;
            return Ok((path, entry));
        }
        n += 1;
    }
}

/// The outbox's entries, oldest first. A corrupt one is moved aside
/// (`<name>.corrupt-<time>`, never deleted) and reported.
pub(super) fn list(dir: &Path) -> Result<Vec<(PathBuf, Entry)>, StateError> {
    let mut out = Vec::new();
    for (_, path) in files(dir)? {
        let Some(bytes) = read_private(&path)? else {
            continue; // moved by another run meanwhile
        };
        match serde_json::from_slice::<Entry>(&bytes) {
            Ok(entry) if entry.schema == SCHEMA => out.push((path, entry)),
            Ok(_) | Err(_) => {
                let to = move_aside(&path)?;
                tracing::error!(
                    "the kept event {} cannot be read; kept as {} — it is not delivered",
                    path.display(),
                    to.display()
                );
            }
        }
    }
    Ok(out)
}

/// True when the outbox holds entries.
pub(super) fn is_empty(dir: &Path) -> bool {
    files(dir).map_or(true, |f| f.is_empty())
}

/// Removes a moved entry (durably); a missing one is fine.
pub(super) fn remove(path: &Path) -> Result<(), StateError> {
    crate::state::spool::remove(path)
}

#[cfg(test)]
mod tests {
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
            uids.push(push(&outbox, &event, "g").unwrap().1.uid);
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
}
