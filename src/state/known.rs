//! What the state directory knows of GLPI's open tickets beside the records
//! (`core::knowledge`): each key's trace, `known/<key>.json`, and the
//! inventory, `inventory.json`.
//!
//! A state directory restored from a backup or copied is not trusted: the
//! inventory records which `known/` it was taken with, and both the
//! inventory and `known/stamp.json` (rewritten with every trace) record when
//! they were written, which must agree with the change time (ctime) the
//! kernel gives them — a file restored, copied or moved into place gets a
//! new one. An inventory that fails either check, is older than
//! `inventory_ttl` or is of another GLPI covers nothing.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::StateError;
use super::journal::encode;
use super::paths::{io_err, read_private};
use crate::core::{Coverage, GlpiId, Key, Trace};

/// Schema of a trace and of the inventory.
const SCHEMA: u32 = 1;

/// How far a file's change time may be from the time written in it, in
/// nanoseconds: the two are taken a few microseconds apart by a run (the
/// file is not fsynced before its rename), a restore or a copy sets the
/// change time to when it happened.
const CTIME_SLACK: i128 = 2_000_000_000;

/// A key's trace as written on disk.
#[derive(Debug, Serialize, Deserialize)]
struct TraceFile {
    schema: u32,
    #[serde(flatten)]
    key: Key,
    #[serde(flatten)]
    trace: Trace,
}

/// When `known/stamp.json` was written (Unix nanoseconds).
#[derive(Debug, Serialize, Deserialize)]
struct Stamp {
    written_at: i128,
}

/// One open ticket of the inventory.
#[derive(Debug, Serialize, Deserialize)]
struct Listed {
    #[serde(flatten)]
    key: Key,
    ticket: u64,
}

/// Which `known/` directory the inventory was taken with: its inode and
/// its birth time (when the file system gives it), so that a `known/`
/// removed and made again — its traces lost — is told apart even when the
/// file system reuses the inode.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Dirs {
    known: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    known_born: Option<i128>,
}

impl Dirs {
    fn of(root: &Path) -> Result<Dirs, StateError> {
        let path = root.join("known");
        let meta = fs::symlink_metadata(&path).map_err(io_err(&path, "inspect"))?;
        Ok(Dirs {
            known: meta.ino(),
            known_born: meta
                .created()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX)),
        })
    }
}

/// `inventory.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Inventory {
    schema: u32,
    glpi: GlpiId,
    /// When it was taken (Unix seconds).
    taken_at: i64,
    /// When it was written (Unix nanoseconds).
    written_at: i128,
    dirs: Dirs,
    listed: Vec<Listed>,
}

fn now_ns() -> i128 {
    jiff::Timestamp::now().as_nanosecond()
}

/// The key's trace in `path`, if any. One that cannot be read is taken for
/// a trace of no GLPI (an empty identity), which makes the state ask GLPI.
pub(super) fn trace(path: &Path, key: &Key) -> Result<Option<Trace>, StateError> {
    let Some(bytes) = read_private(path)? else {
        return Ok(None);
    };
    Ok(Some(match serde_json::from_slice::<TraceFile>(&bytes) {
        Ok(t) if t.schema == SCHEMA && t.key == *key => t.trace,
        _ => Trace {
            glpi: GlpiId::new(""),
            ticket: 0,
            open: true,
        },
    }))
}

/// Writes the key's trace at `path`, unless it says that already, and the
/// stamp of `known/`. Neither is fsynced: the record written or removed
/// with the trace is (durably); a trace a crash loses or tears is one of no
/// GLPI (see [`trace`]), and a state with such a trace asks GLPI — only a
/// record file deleted by hand after that crash could then go unnoticed.
pub(super) fn write_trace(path: &Path, key: &Key, new: &Trace) -> Result<(), StateError> {
    if trace(path, key)?.as_ref() == Some(new) {
        return Ok(());
    }
    let file = TraceFile {
        schema: SCHEMA,
        key: key.clone(),
        trace: new.clone(),
    };
    let stamp = path.parent().unwrap_or(Path::new(".")).join("stamp.json");
    write_file(path, &encode(path, &file)?, false)?;
    let written_at = now_ns();
    write_file(&stamp, &encode(&stamp, &Stamp { written_at })?, false)
}

/// Writes `bytes` to `path` through a temporary file of its directory
/// (0600), fsynced when `durable`; the caller syncs the directory.
fn write_file(path: &Path, bytes: &[u8], durable: bool) -> Result<(), StateError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(io_err(dir, "write"))?;
    tmp.write_all(bytes).map_err(io_err(path, "write"))?;
    if durable {
        tmp.as_file().sync_all().map_err(io_err(path, "write"))?;
    }
    tmp.persist(path)
        .map(|_| ())
        .map_err(|e| io_err(path, "write")(e.error))
}

/// True when `path` was last changed within [`CTIME_SLACK`] of
/// `written_at`: written in place, not restored, copied or moved there.
fn in_place(path: &Path, written_at: i128) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| {
        let ctime = i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec());
        (ctime - written_at).abs() <= CTIME_SLACK
    })
}

/// How far the inventory in the state directory `root` covers `key` for
/// the GLPI `glpi`.
pub(super) fn coverage(
    root: &Path,
    key: &Key,
    glpi: &GlpiId,
    ttl: Duration,
) -> Result<Coverage, StateError> {
    let path = root.join("inventory.json");
    let Some(bytes) = read_private(&path)? else {
        return Ok(Coverage::Unknown);
    };
    let Ok(inventory) = serde_json::from_slice::<Inventory>(&bytes) else {
        tracing::warn!(
            "{} cannot be read: GLPI's open tickets are listed again",
            path.display()
        );
        return Ok(Coverage::Unknown);
    };
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let dirs = Dirs::of(root)?;
    let stamp = root.join("known/stamp.json");
    let stamp_in_place = match read_private(&stamp)? {
        None => true,
        Some(bytes) => {
            serde_json::from_slice::<Stamp>(&bytes).is_ok_and(|s| in_place(&stamp, s.written_at))
        }
    };
    let trusted = inventory.schema == SCHEMA
        && inventory.glpi == *glpi
        && jiff::Timestamp::now()
            .as_second()
            .saturating_sub(inventory.taken_at)
            < ttl
        && inventory.dirs == dirs
        && in_place(&path, inventory.written_at)
        && stamp_in_place;
    if !trusted {
        tracing::debug!(
            "the inventory of GLPI's open tickets in {} does not cover this run (another \
             GLPI, older than inventory_ttl, or a state restored or copied since)",
            path.display()
        );
        return Ok(Coverage::Unknown);
    }
    Ok(Coverage::Complete {
        listed: inventory
            .listed
            .iter()
            .find(|l| l.key == *key)
            .map(|l| l.ticket),
    })
}

/// Writes the inventory of `glpi` into the state directory `root`.
pub(super) fn write_inventory(
    root: &Path,
    glpi: &GlpiId,
    listed: &[(Key, u64)],
) -> Result<(), StateError> {
    let path = root.join("inventory.json");
    let inventory = Inventory {
        schema: SCHEMA,
        glpi: glpi.clone(),
        taken_at: jiff::Timestamp::now().as_second(),
        written_at: now_ns(),
        dirs: Dirs::of(root)?,
        listed: listed
            .iter()
            .map(|(key, ticket)| Listed {
                key: key.clone(),
                ticket: *ticket,
            })
            .collect(),
    };
    // Not fsynced: a torn inventory after a crash is one that cannot be
    // read, which is taken again.
    write_file(&path, &encode(&path, &inventory)?, false)
}
