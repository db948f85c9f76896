//! The spool: events GLPI has not confirmed yet, kept on disk in arrival
//! order per key (SPEC "Durability").
//!
//! Every event is written here *before* it is handled (write-ahead), and
//! leaves only once GLPI confirmed it: a crash, a kill -9, a timeout or a
//! refusal at any instant leaves the event in the spool, to be delivered by
//! the next `notify` of its key or by `flush`, before any newer event of the
//! key. Entry names sort in arrival order: the event's time in nanoseconds,
//! then the process id and a counter to keep names unique.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};

use super::atomic::{self, write_atomic};
use super::error::StateError;
use super::paths::{io_err, move_aside};
use super::store::Kept;
use crate::core::{Event, Failure};

/// Schema of a spool entry.
const SCHEMA: u32 = 1;

/// One kept event as written on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    schema: u32,
    event: Event,
    /// Delivery attempts that failed so far.
    attempts: u32,
    /// The last failure, for `state show`.
    last_error: Option<String>,
    /// The class of the last failure (refused, unavailable, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<Failure>,
}

impl Entry {
    fn of(kept: &Kept) -> Entry {
        Entry {
            schema: SCHEMA,
            event: kept.event.clone(),
            attempts: kept.attempts,
            last_error: kept.last_error.clone(),
            failure: kept.failure,
        }
    }

    fn kept(self, path: &Path) -> Kept {
        Kept {
            id: path.display().to_string(),
            event: self.event,
            attempts: self.attempts,
            last_error: self.last_error,
            failure: self.failure,
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Writes `event` durably into the key's spool directory `dir`.
pub(super) fn push(dir: &Path, event: &Event) -> Result<Kept, StateError> {
    fs::create_dir_all(dir).map_err(io_err(dir, "create the spool directory"))?;
    let nanos = event.time.as_nanosecond().max(0);
    let name = format!(
        "{nanos:020}-{:010}-{:04}.json",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed) % 10_000
    );
    let path = dir.join(name);
    let kept = Kept {
        id: path.display().to_string(),
        event: event.clone(),
        attempts: 0,
        last_error: None,
        failure: None,
    };
    save(&kept)?;
    Ok(kept)
}

/// Writes an entry (new, or after a failed attempt).
pub(super) fn save(kept: &Kept) -> Result<(), StateError> {
    let path = Path::new(&kept.id);
    let bytes = serde_json::to_vec_pretty(&Entry::of(kept)).map_err(|e| StateError::Io {
        path: path.to_path_buf(),
        action: "encode",
        source: io::Error::other(e),
    })?;
    write_atomic(path, &bytes).map_err(io_err(path, "write"))
}

/// Removes a delivered entry.
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

/// The entries of one key's spool, oldest first. A corrupt entry is moved
/// aside (`<name>.corrupt-<time>`, never deleted) and reported.
pub(super) fn list(dir: &Path) -> Result<Vec<Kept>, StateError> {
    let mut names: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StateError::Io {
                path: dir.to_path_buf(),
                action: "read",
                source,
            });
        }
    };
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for path in names {
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(StateError::Io {
                    path,
                    action: "read",
                    source,
                });
            }
        };
        match serde_json::from_slice::<Entry>(&bytes) {
            Ok(entry) if entry.schema == SCHEMA => out.push(entry.kept(&path)),
            Ok(entry) => {
                let to = move_aside(&path)?;
                tracing::error!(
                    "spooled event {} has an unsupported schema {}; kept as {}",
                    path.display(),
                    entry.schema,
                    to.display()
                );
            }
            Err(e) => {
                let to = move_aside(&path)?;
                tracing::error!(
                    "spooled event {} is corrupt ({e}); kept as {} — that event is not delivered",
                    path.display(),
                    to.display()
                );
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Key, State};

    fn event(nanos: i64) -> Event {
        Event {
            key: Key::new("n", "s"),
            group: String::new(),
            address: String::new(),
            state: State::Critical,
            output: format!("e{nanos}"),
            priority: 3,
            ack_author: String::new(),
            ack_comment: String::new(),
            vars: Vec::new(),
            time: jiff::Timestamp::from_nanosecond(i128::from(nanos)).unwrap(),
        }
    }

    #[test]
    fn entries_come_back_in_event_order() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("k");
        for n in [3_000, 1_000, 2_000] {
            push(&spool, &event(n)).unwrap();
        }
        let outputs: Vec<_> = list(&spool)
            .unwrap()
            .into_iter()
            .map(|k| k.event.output)
            .collect();
        assert_eq!(outputs, ["e1000", "e2000", "e3000"]);
    }

    #[test]
    fn removed_entries_are_gone_and_corrupt_ones_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("k");
        let a = push(&spool, &event(1)).unwrap();
        push(&spool, &event(2)).unwrap();
        remove(Path::new(&a.id)).unwrap();
        remove(Path::new(&a.id)).unwrap();
        fs::write(spool.join("00000000000000000000-0-0.json"), b"{").unwrap();
        let left = list(&spool).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].event.output, "e2");
        let aside = fs::read_dir(&spool)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
            .count();
        assert_eq!(aside, 1);
    }

    #[test]
    fn missing_spool_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list(&dir.path().join("none")).unwrap().is_empty());
    }
}
