//! The state directory: one record per (node, service) key, per-key locks and
//! the lookup cache.
//!
//! Layout under `state_dir` (0700, files 0600):
//! `records/<key>.json`, `locks/<key>.lock`, `spool/<key>/<time>-….json`,
//! `intents/<key>.json`, `cache/…`, `dropped/…`.
//! `<key>` is the node and the service percent-encoded and joined by `~`, so
//! file names are reversible, portable and never collide; very long keys are
//! shortened with a hash, and the record itself carries the exact key.
//! Never talks to GLPI and knows nothing of the lifecycle.

mod atomic;
mod lock;
mod records;
mod spool;

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use atomic::write_atomic;
pub(crate) use lock::KeyLock;
pub(crate) use records::{CreateIntent, RecordLoad, SCHEMA, TicketRecord};
pub(crate) use spool::{SpoolEntry, Spooled};

#[cfg(test)]
pub(crate) fn records_schema() -> u32 {
    records::SCHEMA
}

use crate::event::Key;

/// Why the local state cannot be used (exit 6).
#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
    #[error("cannot {action} {}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("lock {} not obtained within {}s", path.display(), timeout.as_secs())]
    LockTimeout { path: PathBuf, timeout: Duration },
}

impl StateError {
    pub(crate) fn hint(&self) -> String {
        match self {
            StateError::Io { .. } => "check that the state directory (state_dir, or \
                 --state-dir) exists and belongs to the user the monitoring engine runs as"
                .into(),
            StateError::LockTimeout { .. } => "another run for the same node and service is \
                 still working; raise lock_timeout in the configuration if GLPI is slow"
                .into(),
        }
    }
}

/// A creation intent found on disk.
#[derive(Debug)]
pub(crate) struct PendingCreate {
    pub(crate) intent: Option<CreateIntent>,
}

/// An opened state directory.
#[derive(Debug, Clone)]
pub(crate) struct StateDir {
    root: PathBuf,
}

const SUBDIRS: [&str; 6] = ["records", "locks", "cache", "dropped", "spool", "intents"];

impl StateDir {
    /// Opens (creating with mode 0700 when missing) the state directory.
    pub(crate) fn open(root: &Path) -> Result<StateDir, StateError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true).mode(0o700);
        for sub in SUBDIRS {
            let dir = root.join(sub);
            builder.create(&dir).map_err(|source| StateError::Io {
                path: dir.clone(),
                action: "create the state directory",
                source,
            })?;
        }
        Ok(StateDir {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, sub: &str, key: &Key, ext: &str) -> PathBuf {
        self.root.join(sub).join(format!("{}{ext}", file_stem(key)))
    }

    pub(crate) fn record_path(&self, key: &Key) -> PathBuf {
        self.path("records", key, ".json")
    }

    /// Serialises every run of `key` (SPEC: same key serialised, others in parallel).
    pub(crate) fn lock(&self, key: &Key, timeout: Duration) -> Result<KeyLock, StateError> {
        KeyLock::acquire(&self.path("locks", key, ".lock"), &key.to_string(), timeout)
    }

    pub(crate) fn load_record(&self, key: &Key) -> Result<RecordLoad, StateError> {
        records::load(&self.record_path(key), key)
    }

    pub(crate) fn save_record(&self, record: &TicketRecord) -> Result<(), StateError> {
        records::save(&self.record_path(&record.key()), record)
    }

    /// Removes the record of a key whose ticket is solved (GLPI keeps the history).
    pub(crate) fn remove_record(&self, key: &Key) -> Result<(), StateError> {
        let path = self.record_path(key);
        match fs::remove_file(&path) {
            Ok(()) => atomic::sync_dir(path.parent().unwrap_or(&self.root)).map_err(|source| {
                StateError::Io {
                    path: path.clone(),
                    action: "sync the directory of",
                    source,
                }
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Io {
                path,
                action: "remove",
                source,
            }),
        }
    }

    /// Moves the record and the spool of `key` to `dropped/` (never deletes
    /// them). Returns where they went; empty when there was nothing to forget.
    pub(crate) fn forget(&self, key: &Key) -> Result<Vec<PathBuf>, StateError> {
        let stamp = jiff::Timestamp::now().as_second();
        let stem = file_stem(key);
        let dropped = self.root.join("dropped");
        let mut moved = Vec::new();
        for (from, to) in [
            (
                self.record_path(key),
                dropped.join(format!("{stem}.json.{stamp}")),
            ),
            (
                self.spool_dir(key),
                dropped.join(format!("{stem}.spool.{stamp}")),
            ),
            (
                self.intent_path(key),
                dropped.join(format!("{stem}.intent.{stamp}")),
            ),
        ] {
            let empty_dir = from.is_dir()
                && fs::read_dir(&from).is_ok_and(|mut entries| entries.next().is_none());
            if !from.exists() || empty_dir {
                continue;
            }
            fs::rename(&from, &to).map_err(|source| StateError::Io {
                path: from.clone(),
                action: "move to dropped/",
                source,
            })?;
            if let Some(parent) = from.parent() {
                atomic::sync_dir(parent).map_err(|source| StateError::Io {
                    path: from.clone(),
                    action: "sync the directory of",
                    source,
                })?;
            }
            moved.push(to);
        }
        Ok(moved)
    }

    fn spool_dir(&self, key: &Key) -> PathBuf {
        self.root.join("spool").join(file_stem(key))
    }

    /// Keeps `event` durably until GLPI confirmed it.
    pub(crate) fn spool_push(&self, event: &crate::event::Event) -> Result<Spooled, StateError> {
        spool::push(&self.spool_dir(&event.key), event)
    }

    /// The kept events of `key`, oldest first (corrupt entries moved aside).
    pub(crate) fn spool_list(&self, key: &Key) -> Result<Vec<Spooled>, StateError> {
        let list = spool::list(&self.spool_dir(key))?;
        // A shortened file name may be shared by two keys: keep ours only.
        Ok(list
            .into_iter()
            .filter(|s| s.entry.event.key == *key)
            .collect())
    }

    /// Every key with kept events, sorted.
    pub(crate) fn spooled_keys(&self) -> Result<Vec<Key>, StateError> {
        let dir = self.root.join("spool");
        let entries = fs::read_dir(&dir).map_err(|source| StateError::Io {
            path: dir.clone(),
            action: "read",
            source,
        })?;
        let mut keys = Vec::new();
        for entry in entries.flatten() {
            for s in spool::list(&entry.path())? {
                if !keys.contains(&s.entry.event.key) {
                    keys.push(s.entry.event.key);
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn intent_path(&self, key: &Key) -> PathBuf {
        self.path("intents", key, ".json")
    }

    /// Written just before a ticket creation is sent: if its answer is lost
    /// (crash, timeout), the next run looks for the ticket by its marker
    /// instead of creating a second one.
    pub(crate) fn write_intent(&self, intent: &CreateIntent) -> Result<(), StateError> {
        let path = self.intent_path(&intent.key());
        let bytes = serde_json::to_vec_pretty(intent).map_err(|e| StateError::Io {
            path: path.clone(),
            action: "encode",
            source: io::Error::other(e),
        })?;
        write_atomic(&path, &bytes).map_err(|source| StateError::Io {
            path,
            action: "write",
            source,
        })
    }

    /// The pending creation of `key`, if a previous run did not finish it.
    /// An unreadable intent still counts (`intent: None`): better one search
    /// too many than a second ticket.
    pub(crate) fn read_intent(&self, key: &Key) -> Option<PendingCreate> {
        let path = self.intent_path(key);
        let bytes = fs::read(&path).ok()?;
        Some(PendingCreate {
            intent: serde_json::from_slice(&bytes)
                .ok()
                .filter(|i: &CreateIntent| i.key() == *key),
        })
    }

    pub(crate) fn clear_intent(&self, key: &Key) -> Result<(), StateError> {
        spool::remove(&self.intent_path(key))
    }

    /// Every record, sorted by key; corrupt files are moved aside and reported.
    pub(crate) fn list(&self) -> Result<(Vec<TicketRecord>, Vec<PathBuf>), StateError> {
        let dir = self.root.join("records");
        let entries = fs::read_dir(&dir).map_err(|source| StateError::Io {
            path: dir.clone(),
            action: "read",
            source,
        })?;
        let mut found = Vec::new();
        let mut corrupt = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match records::load_any(&path)? {
                RecordLoad::Found(r) => found.push(r),
                RecordLoad::Corrupt { moved_to, .. } => corrupt.push(moved_to),
                RecordLoad::Missing => {}
            }
        }
        found.sort_by_key(TicketRecord::key);
        Ok((found, corrupt))
    }

    /// Reads a cache entry written by [`StateDir::cache_put`]; `None` when
    /// missing, unreadable or older than `ttl`.
    pub(crate) fn cache_get<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        ttl: Duration,
    ) -> Option<T> {
        let path = self.root.join("cache").join(name);
        let meta = fs::metadata(&path).ok()?;
        let age = meta.modified().ok()?.elapsed().unwrap_or(Duration::MAX);
        if age > ttl {
            return None;
        }
        serde_json::from_slice(&fs::read(&path).ok()?).ok()
    }

    /// Stores a cache entry; failures are logged, never fatal (a cache miss is
    /// only a few more requests).
    pub(crate) fn cache_put<T: serde::Serialize>(&self, name: &str, value: &T) {
        let path = self.root.join("cache").join(name);
        let result = serde_json::to_vec(value)
            .map_err(io::Error::other)
            .and_then(|bytes| write_atomic(&path, &bytes));
        if let Err(e) = result {
            tracing::warn!("could not write the cache {}: {e}", path.display());
        }
    }
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
pub(crate) fn file_stem(key: &Key) -> String {
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
pub(crate) fn move_aside(path: &Path) -> Result<PathBuf, StateError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".corrupt-{}", jiff::Timestamp::now().as_second()));
    let to = path.with_file_name(name);
    fs::rename(path, &to).map_err(|source| StateError::Io {
        path: path.to_path_buf(),
        action: "move aside the corrupt file",
        source,
    })?;
    Ok(to)
}

/// Mode bits of a file, for tests.
#[cfg(test)]
pub(crate) fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(node: &str, service: &str) -> Key {
        Key {
            node: node.into(),
            service: service.into(),
        }
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

    #[test]
    fn directories_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        StateDir::open(&root).unwrap();
        assert_eq!(mode_of(&root.join("records")), Some(0o700));
    }
}
