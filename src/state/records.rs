//! Record files: one JSON document per key, with a schema version; a corrupt
//! file is moved aside (never deleted) and reported.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::atomic::write_atomic;
use super::error::StateError;
use super::paths::{move_aside, read_private};
use super::store::RecordLoad;
use crate::core::{Key, Record};

/// Current schema of a record file. Older versions get a migration here.
pub(super) const SCHEMA: u32 = 1;

/// A record as written on disk: its schema version, then its fields.
#[derive(Serialize, Deserialize)]
struct OnDisk {
    schema: u32,
    #[serde(flatten)]
    record: Record,
}

/// Loads the record of `key`; a record of another key (a hash collision of a
/// shortened file name) counts as missing.
pub(super) fn load(path: &Path, key: &Key) -> Result<RecordLoad, StateError> {
    match load_any(path)? {
        RecordLoad::Found(r) if r.key != *key => Ok(RecordLoad::Missing),
        other => Ok(other),
    }
}

pub(super) fn load_any(path: &Path) -> Result<RecordLoad, StateError> {
    let Some(bytes) = read_private(path)? else {
        return Ok(RecordLoad::Missing);
    };
    let decoded = serde_json::from_slice::<OnDisk>(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|r| {
            if r.schema == SCHEMA {
                Ok(r.record)
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
            Ok(RecordLoad::Corrupt {
                kept_as: moved_to.display().to_string(),
                reason,
            })
        }
    }
}

pub(super) fn save(path: &Path, record: &Record) -> Result<(), StateError> {
    let on_disk = OnDisk {
        schema: SCHEMA,
        record: record.clone(),
    };
    let mut bytes = serde_json::to_vec_pretty(&on_disk).map_err(|e| StateError::Io {
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
    use std::fs;

    use super::*;

    fn record() -> Record {
        Record {
            glpi: Some(crate::core::GlpiId::new("https://glpi.example.org")),
            ..Record::sample(&Key::new("web01", "HTTP"), 42)
        }
    }

    #[test]
    fn round_trip_keeps_the_file_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        save(&path, &record()).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(
                "{\n  \"schema\": 1,\n  \"node\": \"web01\",\n  \"service\": \"HTTP\",\n  \
                 \"glpi\": \"https://glpi.example.org\",\n  \"ticket_id\": 42,"
            ),
            "{text}"
        );
        match load(&path, &record().key).unwrap() {
            RecordLoad::Found(r) => assert_eq!(r, record()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn corrupt_file_is_moved_aside_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        fs::write(&path, b"{\"schema\":1, trunc").unwrap();
        let RecordLoad::Corrupt { kept_as, .. } = load(&path, &record().key).unwrap() else {
            panic!("not corrupt")
        };
        assert!(!path.exists());
        assert_eq!(fs::read(&kept_as).unwrap(), b"{\"schema\":1, trunc");
        assert!(kept_as.contains("r.json.corrupt-"));
    }

    #[test]
    fn record_of_another_key_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        save(&path, &record()).unwrap();
        let other = Key::new("web02", "HTTP");
        assert!(matches!(load(&path, &other).unwrap(), RecordLoad::Missing));
    }
}
