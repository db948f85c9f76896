//! The record of the open ticket of one key: load and save, schema version,
//! corrupt files moved aside (never deleted) and reported.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{StateError, move_aside, write_atomic};
use crate::event::{Key, State};

/// Current schema of a record file. Older versions get a migration here.
pub(crate) const SCHEMA: u32 = 1;

/// What we remember about the open ticket of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TicketRecord {
    pub(crate) schema: u32,
    pub(crate) node: String,
    pub(crate) service: String,
    pub(crate) ticket_id: u64,
    /// The last problem state written into the ticket (WARNING, CRITICAL, UNKNOWN).
    pub(crate) state: State,
    pub(crate) output: String,
    pub(crate) priority: u8,
    pub(crate) acked: bool,
    pub(crate) opened_at: jiff::Timestamp,
    pub(crate) updated_at: jiff::Timestamp,
    /// Rebuilt from GLPI by `state rebuild`: the last state is not known, so
    /// no event counts as a re-notification until one is recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) rebuilt: bool,
}

impl TicketRecord {
    pub(crate) fn key(&self) -> Key {
        Key {
            node: self.node.clone(),
            service: self.service.clone(),
        }
    }
}

/// A ticket creation about to be sent (see `StateDir::write_intent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CreateIntent {
    pub(crate) node: String,
    pub(crate) service: String,
    /// The state, output and priority the ticket was created with.
    pub(crate) state: State,
    pub(crate) output: String,
    pub(crate) priority: u8,
    pub(crate) event_time: jiff::Timestamp,
}

impl CreateIntent {
    pub(crate) fn key(&self) -> Key {
        Key {
            node: self.node.clone(),
            service: self.service.clone(),
        }
    }
}

/// The outcome of reading a record file.
#[derive(Debug)]
pub(crate) enum RecordLoad {
    Missing,
    Found(TicketRecord),
    /// The file could not be decoded; it was moved to `moved_to`.
    Corrupt {
        moved_to: PathBuf,
        reason: String,
    },
}

/// Loads the record of `key`; a record of another key (a hash collision of a
/// shortened file name) counts as missing.
pub(crate) fn load(path: &Path, key: &Key) -> Result<RecordLoad, StateError> {
    match load_any(path)? {
        RecordLoad::Found(r) if r.key() != *key => Ok(RecordLoad::Missing),
        other => Ok(other),
    }
}

pub(crate) fn load_any(path: &Path) -> Result<RecordLoad, StateError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(RecordLoad::Missing),
        Err(source) => {
            return Err(StateError::Io {
                path: path.to_path_buf(),
                action: "read",
                source,
            });
        }
    };
    let decoded = serde_json::from_slice::<TicketRecord>(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|r| {
            if r.schema == SCHEMA {
                Ok(r)
            } else {
                Err(format!("unsupported schema version {}", r.schema))
            }
        });
    match decoded {
        Ok(r) => Ok(RecordLoad::Found(r)),
        Err(reason) => {
            let moved_to = move_aside(path)?;
            tracing::error!(
                "the state file {} is corrupt ({reason}); kept as {}",
                path.display(),
                moved_to.display()
            );
            Ok(RecordLoad::Corrupt { moved_to, reason })
        }
    }
}

pub(crate) fn save(path: &Path, record: &TicketRecord) -> Result<(), StateError> {
    let mut bytes = serde_json::to_vec_pretty(record).map_err(|e| StateError::Io {
        path: path.to_path_buf(),
        action: "encode",
        source: io::Error::other(e),
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes).map_err(|source| StateError::Io {
        path: path.to_path_buf(),
        action: "write",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TicketRecord {
        TicketRecord {
            schema: SCHEMA,
            node: "web01".into(),
            service: "HTTP".into(),
            ticket_id: 42,
            state: State::Critical,
            output: "down".into(),
            priority: 4,
            acked: false,
            opened_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            rebuilt: false,
        }
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        save(&path, &record()).unwrap();
        match load(&path, &record().key()).unwrap() {
            RecordLoad::Found(r) => assert_eq!(r, record()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn corrupt_file_is_moved_aside_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        fs::write(&path, b"{\"schema\":1, trunc").unwrap();
        let RecordLoad::Corrupt { moved_to, .. } = load(&path, &record().key()).unwrap() else {
            panic!("not corrupt")
        };
        assert!(!path.exists());
        assert_eq!(fs::read(&moved_to).unwrap(), b"{\"schema\":1, trunc");
        assert!(moved_to.to_string_lossy().contains("r.json.corrupt-"));
    }

    #[test]
    fn record_of_another_key_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        save(&path, &record()).unwrap();
        let other = Key {
            node: "web02".into(),
            service: "HTTP".into(),
        };
        assert!(matches!(load(&path, &other).unwrap(), RecordLoad::Missing));
    }
}
