//! The spool of one key: the events GLPI has not confirmed yet, in the
//! order they arrived (SPEC "Durability") — a write-ahead journal
//! (`journal.rs`) per key.
//!
//! Every event is written here *before* its run waits for anything
//! (write-ahead), and leaves only once GLPI confirmed it: a crash, a kill -9,
//! a timeout or a refusal at any instant leaves the event here, to be
//! delivered by the run holding the key, the next `notify` of the key or
//! `flush`, before any newer event of the key.
//!
//! Order does not depend on the wall clock: each entry takes the next number
//! of the key's sequence, `<seq>.json` (20 digits). The sequence never goes
//! back: `last` keeps the highest number used and the engine id of the last
//! delivered event (for the engine's own order). A delivered entry leaves a
//! receipt `<seq>.done` with its outcome, for the run that kept it and still
//! waits (none for the delivering run's own event); receipts are dropped
//! after an hour. A run waiting for the key holds a lock on `<seq>.wait`, so
//! that waiters are served first come, first served. Before the follow-up of
//! an entry is sent to GLPI, `<seq>.flight` marks it (see [`started`]).
//! Entries of older versions (`<time>-<pid>-<n>.json`) come first, in their
//! own order.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::atomic::{self, create_new, write_advisory, write_atomic};
use super::error::StateError;
use super::journal::{self, Journal, encode, remove};
use super::paths::{io_err, nofollow, open_lock_file, read_private};
use super::store::{Kept, KeptId};
use crate::core::{Event, Failure, GlpiId, Outcome};

/// Schema of a spool entry: 1 (older versions: no sequence, no GLPI), 2.
const SCHEMA: u32 = 2;

/// The extension of the mark of an entry whose follow-up may have reached
/// GLPI ([`started`]).
const FLIGHT: &str = "flight";

/// How long a receipt waits for the run that kept its event.
const RECEIPT_TTL: Duration = Duration::from_hours(1);

/// One kept event as written on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    schema: u32,
    /// A copy of its place (its file's name is the place); 0 until a
    /// failed attempt rewrites the entry.
    #[serde(default, skip_serializing_if = "is_zero")]
    seq: u64,
    /// The GLPI the event is meant for (absent in older entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    glpi: Option<GlpiId>,
    event: Event,
    /// Delivery attempts that failed so far.
    attempts: u32,
    /// The last failure, for `state show`.
    last_error: Option<String>,
    /// The class of the last failure (refused, unavailable, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<Failure>,
    /// The id of the outbox entry it was moved from (`outbox.rs`): moving
    /// it again (a run that died before removing that entry) is a no-op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uid: Option<String>,
}

impl Entry {
    fn of(kept: &Kept) -> Entry {
        Entry {
            schema: SCHEMA,
            seq: kept.seq,
            glpi: kept.glpi.clone(),
            event: kept.event.clone(),
            attempts: kept.attempts,
            last_error: kept.last_error.clone(),
            failure: kept.failure,
            uid: None,
        }
    }

    fn kept(self, path: &Path) -> Kept {
        Kept {
            id: KeptId::new(path.display().to_string()),
            seq: self.seq,
            glpi: self.glpi,
            event: self.event,
            attempts: self.attempts,
            last_error: self.last_error,
            failure: self.failure,
            in_flight: false,
        }
    }
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The receipt of a delivered entry.
#[derive(Debug, Serialize, Deserialize)]
struct Receipt {
    outcome: Outcome,
}

/// The key's high-water mark: the highest sequence number used, and the
/// engine id of the last delivered event that had one.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub(super) struct Last {
    pub(super) seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) engine_id: Option<u64>,
}

/// The sequence number of a current file's name (`<20 digits>.<ext>`).
fn seq_of(path: &Path) -> Option<u64> {
    let stem = path.file_stem()?.to_str()?;
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stem.parse().ok())
        .flatten()
}

/// The place of an entry in the journal: its sequence, or 0 for an older
/// version's name (those come first, in name order).
#[expect(
    clippy::unnecessary_wraps,
    reason = "the journal's place_of: every spool entry has a place"
)]
fn place_of(path: &Path) -> Option<u64> {
    Some(seq_of(path).unwrap_or(0))
}

/// `dir/<seq>.<ext>`, or beside an older entry's file for its receipt.
fn sibling(kept: &Kept, ext: &str) -> PathBuf {
    Path::new(kept.id.as_str()).with_extension(ext)
}

pub(super) fn last(dir: &Path) -> Result<Last, StateError> {
    Ok(read_private(&dir.join("last"))?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default())
}

/// The spool of `dir`, numbered under the lock `numbering`.
fn spool<'a>(dir: &'a Path, numbering: &'a Path) -> Journal<'a> {
    Journal {
        dir,
        numbering,
        number_of: seq_of,
        place_of,
    }
}

/// Writes `event` durably into the key's spool directory `dir`, as the next
/// of the key's sequence. Never waits for another run.
/// `numbering` is the key's numbering lock file (beside its other locks).
pub(super) fn push(
    dir: &Path,
    numbering: &Path,
    event: &Event,
    glpi: &GlpiId,
) -> Result<Kept, StateError> {
    push_moved(dir, numbering, event, glpi, None)
}

/// [`push`] of an event moved from the outbox entry `uid`.
pub(super) fn push_moved(
    dir: &Path,
    numbering: &Path,
    event: &Event,
    glpi: &GlpiId,
    uid: Option<&str>,
) -> Result<Kept, StateError> {
    let mut kept = Kept {
        id: KeptId::new(String::new()),
        seq: 0,
        glpi: Some(glpi.clone()),
        event: event.clone(),
        attempts: 0,
        last_error: None,
        failure: None,
        in_flight: false,
    };
    // Written before it is numbered: its place is its file's name (the
    // `seq` of the content, 0 here, is only a copy rewritten on failure).
    let entry = Entry {
        uid: uid.map(str::to_owned),
        ..Entry::of(&kept)
    };
    let bytes = encode(dir, &entry)?;
    // The sequence never goes back, even once every file is gone.
    let floor = last(dir)?.seq;
    let appended =
        spool(dir, numbering).append(&bytes, floor, |seq| format!("{seq:020}.json"), false)?;
    kept.seq = appended.n;
    kept.id = KeptId::new(appended.path.display().to_string());
    Ok(kept)
}

/// Rewrites an entry (after a failed attempt, or bound to another GLPI by
/// `state adopt`), keeping the id of the outbox entry it came from.
pub(super) fn save(kept: &Kept) -> Result<(), StateError> {
    let path = Path::new(kept.id.as_str());
    let uid = read_private(path)
        .ok()
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<Entry>(&bytes).ok())
        .and_then(|e| e.uid);
    let entry = Entry {
        uid,
        ..Entry::of(kept)
    };
    write_atomic(path, &encode(path, &entry)?).map_err(io_err(path, "write"))
}

/// True when the spool `dir` holds the event moved from the outbox entry
/// `uid`.
pub(super) fn holds_moved(dir: &Path, uid: &str) -> Result<bool, StateError> {
    let files = match fs::read_dir(dir) {
        Ok(files) => files,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err(dir, "read")(e)),
    };
    for file in files.flatten() {
        let path = file.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        if let Some(bytes) = read_private(&path)?
            && let Ok(entry) = serde_json::from_slice::<Entry>(&bytes)
            && entry.uid.as_deref() == Some(uid)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A follow-up for `kept` is about to be sent: `<seq>.flight` beside the
/// entry (empty, 0600, fsynced with its directory; never replaces a file),
/// removed with the entry.
pub(super) fn started(kept: &Kept) -> Result<(), StateError> {
    let path = sibling(kept, FLIGHT);
    // Already there: an earlier attempt marked it.
    create_new(&path, b"").map_err(io_err(&path, "write"))?;
    if let Some(dir) = path.parent() {
        atomic::sync_dir(dir).map_err(io_err(dir, "sync"))?;
    }
    Ok(())
}

/// True when `path` exists (never following a link: one there counts, the
/// cautious answer costing only a read of the ticket's follow-ups).
fn present(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// GLPI confirmed `kept`: leave its receipt for the run that kept it (when
/// `receipt`: that run is not the one delivering), move the high-water
/// mark, then remove the entry (durably).
pub(super) fn delivered(
    dir: &Path,
    kept: &Kept,
    outcome: &Outcome,
    receipt: bool,
) -> Result<(), StateError> {
    if receipt {
        let path = sibling(kept, "done");
        let bytes = encode(
            &path,
            &Receipt {
                outcome: outcome.clone(),
            },
        )?;
        write_advisory(&path, &bytes).map_err(io_err(&path, "write"))?;
    }
    let before = last(dir)?;
    let after = Last {
        seq: before.seq.max(kept.seq),
        engine_id: kept.event.order.as_ref().map(|o| o.id).or(before.engine_id),
    };
    let path = dir.join("last");
    write_advisory(&path, &encode(&path, &after)?).map_err(io_err(&path, "write"))?;
    remove(&sibling(kept, FLIGHT))?;
    remove(Path::new(kept.id.as_str()))
}

/// The outcome of `kept`, if another run delivered it; the receipt is used up.
pub(super) fn take_receipt(kept: &Kept) -> Result<Option<Outcome>, StateError> {
    let path = sibling(kept, "done");
    let Some(bytes) = read_private(&path)? else {
        return Ok(None);
    };
    let receipt = serde_json::from_slice::<Receipt>(&bytes).ok();
    remove(&path)?;
    Ok(receipt.map(|r| r.outcome))
}

/// The entries of one key's spool, oldest first. A corrupt entry is moved
/// aside (`<name>.corrupt-<time>`, never deleted) and reported; an entry
/// whose receipt exists was delivered (its run died before removing it);
/// receipts older than an hour and marks of entries gone are dropped.
pub(super) fn list(dir: &Path) -> Result<Vec<Kept>, StateError> {
    let entries =
        spool(dir, dir).entries(|path| match path.extension().and_then(|e| e.to_str()) {
            Some("done") => drop_old_receipt(path),
            // The mark of an entry delivered or set aside.
            Some(FLIGHT) if !path.with_extension("json").exists() => {
                let _ = fs::remove_file(path);
            }
            _ => {}
        })?;
    let mut out = Vec::with_capacity(entries.len());
    for (_, path) in entries {
        if path.with_extension("done").exists() {
            remove(&path)?;
            continue;
        }
        let entry = journal::read::<Entry>(&path, "spooled event", |e| {
            if (1..=SCHEMA).contains(&e.schema) {
                Ok(())
            } else {
                Err(format!("unsupported schema {}", e.schema))
            }
        })?;
        if let Some(entry) = entry {
            let mut kept = entry.kept(&path);
            kept.seq = seq_of(&path).unwrap_or(0);
            kept.in_flight = present(&path.with_extension(FLIGHT));
            out.push(kept);
        }
    }
    Ok(out)
}

fn drop_old_receipt(path: &Path) {
    let old = fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > RECEIPT_TTL);
    if old {
        let _ = fs::remove_file(path);
    }
}

/// The presence of a run waiting for its key: a lock on `<seq>.wait`, held
/// while the run lives; released (and the file removed) when dropped.
#[derive(Debug)]
pub(crate) struct InLine {
    path: PathBuf,
    /// `None` when the mark could not be made: the run still waits, but
    /// runs of later events do not see it in line.
    file: Option<File>,
}

impl Drop for InLine {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Says that the run of `kept` waits for the key. The event is kept
/// already: a mark that cannot be made is logged, never fatal.
pub(super) fn enter_line(kept: &Kept) -> InLine {
    let path = sibling(kept, "wait");
    let file = open_lock_file(&path).and_then(|file| file.lock().map(|()| file));
    match file {
        Ok(file) => InLine {
            path,
            file: Some(file),
        },
        Err(e) => {
            tracing::warn!(
                "cannot mark {} as waiting for its key ({e}): runs of later events may go first",
                path.display()
            );
            InLine { path, file: None }
        }
    }
}

/// True when no run that arrived before `kept` still waits for the key. A
/// `.wait` file nobody holds belongs to a run that died: it is removed.
pub(super) fn first_in_line(dir: &Path, kept: &Kept) -> Result<bool, StateError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(true),
        Err(source) => {
            return Err(StateError::Io {
                path: dir.to_path_buf(),
                action: "read",
                source,
            });
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "wait") {
            continue;
        }
        let Some(seq) = seq_of(&path) else { continue };
        if seq >= kept.seq {
            continue;
        }
        let Ok(file) = OpenOptions::new()
            .read(true)
            .custom_flags(nofollow())
            .open(&path)
        else {
            continue;
        };
        match file.try_lock() {
            Err(TryLockError::WouldBlock) => return Ok(false),
            Ok(()) => {
                let _ = fs::remove_file(&path);
            }
            Err(TryLockError::Error(_)) => {}
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::State;

    fn g() -> GlpiId {
        GlpiId::new("g")
    }

    fn event(n: u32) -> Event {
        Event {
            output: format!("e{n}"),
            // The wall clock plays no part in the order.
            time: jiff::Timestamp::from_second(i64::from(1000 - n)).unwrap(),
            ..Event::sample("n", "s", State::Critical)
        }
    }

    /// Keeps event `n` in `spool`, numbered under `seq.lock` beside it.
    fn pushed(spool: &Path, n: u32) -> Kept {
        push(spool, &spool.with_file_name("seq.lock"), &event(n), &g()).unwrap()
    }

    fn outputs(list: &[Kept]) -> Vec<String> {
        list.iter().map(|k| k.event.output.clone()).collect()
    }

    #[test]
    fn entries_come_back_in_arrival_order_whatever_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("k");
        for n in [3, 1, 2] {
            pushed(&spool, n);
        }
        assert_eq!(outputs(&list(&spool).unwrap()), ["e3", "e1", "e2"]);
    }

    #[test]
    fn delivered_entries_leave_a_receipt_and_the_sequence_never_goes_back() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("k");
        let a = pushed(&spool, 1);
        let b = pushed(&spool, 2);
        assert_eq!((a.seq, b.seq), (1, 2));
        let outcome = Outcome::Solved { ticket: 4 };
        let mut numbered = b.clone();
        numbered.event.order = Some(crate::core::event::EngineOrder {
            id: 9,
            previous: None,
            problem: None,
            after_soft: false,
        });
        delivered(&spool, &numbered, &outcome, true).unwrap();
        delivered(&spool, &a, &outcome, true).unwrap();
        assert!(list(&spool).unwrap().is_empty());
        assert_eq!(take_receipt(&b).unwrap(), Some(outcome));
        assert_eq!(take_receipt(&b).unwrap(), None, "used up");
        assert_eq!(last(&spool).unwrap().engine_id, Some(9));
        // Every file gone but the high-water mark: numbers go on.
        take_receipt(&a).unwrap();
        assert_eq!(pushed(&spool, 3).seq, 3);
    }

    #[test]
    fn corrupt_entries_are_kept_aside_and_older_entries_come_first() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("k");
        pushed(&spool, 2);
        fs::write(spool.join("00000000000000000009.json"), b"{").unwrap();
        // An entry of an older version: no sequence, a time-based name.
        let old = serde_json::json!({
            "schema": 1, "event": event(1), "attempts": 0, "last_error": null,
            "last_status": null
        });
        fs::write(
            spool.join("01796341509000000000-0000004711-0001.json"),
            old.to_string(),
        )
        .unwrap();
        assert_eq!(outputs(&list(&spool).unwrap()), ["e1", "e2"]);
        let aside = fs::read_dir(&spool)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
            .count();
        assert_eq!(aside, 1);
    }

    #[test]
    fn waiters_are_served_in_arrival_order_and_dead_ones_do_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("k");
        let a = pushed(&spool, 1);
        let b = pushed(&spool, 2);
        let a_waits = enter_line(&a);
        let _b_waits = enter_line(&b);
        assert!(first_in_line(&spool, &a).unwrap());
        assert!(!first_in_line(&spool, &b).unwrap());
        drop(a_waits);
        assert!(first_in_line(&spool, &b).unwrap());
        // A waiter that died left its file, unlocked.
        fs::write(sibling(&a, "wait"), b"").unwrap();
        assert!(first_in_line(&spool, &b).unwrap());
        assert!(!sibling(&a, "wait").exists());
    }

    #[test]
    fn a_followup_in_flight_is_marked_until_the_entry_leaves() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("k");
        let a = pushed(&spool, 1);
        let b = pushed(&spool, 2);
        assert!(!a.in_flight);
        started(&a).unwrap();
        started(&a).unwrap(); // a second attempt: still marked, no error
        let mark = sibling(&a, FLIGHT);
        let mode = fs::metadata(&mark).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let flags: Vec<bool> = list(&spool).unwrap().iter().map(|k| k.in_flight).collect();
        assert_eq!(flags, [true, false], "read back, for that entry only");
        delivered(&spool, &a, &Outcome::Solved { ticket: 4 }, true).unwrap();
        assert!(!mark.exists(), "removed with the entry");
        // A mark left by a run killed between the entry's removal and its
        // own is dropped by the next listing.
        started(&b).unwrap();
        fs::remove_file(b.id.as_str()).unwrap();
        assert!(list(&spool).unwrap().is_empty());
        assert!(!sibling(&b, FLIGHT).exists());
    }

    #[test]
    fn missing_spool_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list(&dir.path().join("none")).unwrap().is_empty());
    }
}
