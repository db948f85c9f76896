//! The files backend of [`Store`]: the state directory.
//!
//! Layout under `state_dir` (0700, files 0600):
//! `records/<key>.json`, `locks/<key>.lock`, `spool/<key>/<time>-….json`,
//! `intents/<key>.json`, `cache/…`, `dropped/…`.
//! `<key>` is the node and the service percent-encoded and joined by `~`, so
//! file names are reversible, portable and never collide; very long keys are
//! shortened with a hash, and every file carries the exact key.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::atomic::{self, write_atomic};
use super::cache::Cache;
use super::error::StateError;
use super::lock::KeyLock;
use super::paths::{file_stem, io_err, private_dir, read_private};
use super::store::{Intent, Kept, Look, Pending, RecordLoad, Store};
use super::{records, spool};
use crate::core::{Event, Failure, Key, Outcome, Record};

/// An opened state directory.
#[derive(Debug, Clone)]
pub(crate) struct FileStore {
    root: PathBuf,
}

const SUBDIRS: [&str; 6] = ["records", "locks", "cache", "dropped", "spool", "intents"];

impl FileStore {
    /// Opens (creating with mode 0700 when missing) the state directory;
    /// refuses one that another user owns or may write to (SPEC "Local
    /// safety"), and any such directory inside it.
    pub(crate) fn open(root: &Path) -> Result<FileStore, StateError> {
        if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(parent)
                .map_err(io_err(parent, "create the parent of the state directory"))?;
        }
        private_dir(root)?;
        for sub in SUBDIRS {
            private_dir(&root.join(sub))?;
        }
        Ok(FileStore {
            root: root.to_path_buf(),
        })
    }

    /// The cache of looked-up ids, in this directory.
    pub(crate) fn cache(&self) -> Cache {
        Cache::new(self.root.join("cache"))
    }

    fn path(&self, sub: &str, key: &Key, ext: &str) -> PathBuf {
        self.root.join(sub).join(format!("{}{ext}", file_stem(key)))
    }

    fn record_path(&self, key: &Key) -> PathBuf {
        self.path("records", key, ".json")
    }

    fn intent_path(&self, key: &Key) -> PathBuf {
        self.path("intents", key, ".json")
    }

    fn spool_dir(&self, key: &Key) -> PathBuf {
        self.root.join("spool").join(file_stem(key))
    }
}

impl Store for FileStore {
    type Hold = KeyLock;
    type InLine = spool::InLine;

    async fn hold(&self, key: &Key, timeout: Duration) -> Result<KeyLock, StateError> {
        KeyLock::acquire(&self.path("locks", key, ".lock"), &key.to_string(), timeout).await
    }

    async fn enter_line(&self, kept: &Kept) -> Result<spool::InLine, StateError> {
        spool::enter_line(kept)
    }

    async fn look(&self, mine: &Kept) -> Result<Look<KeyLock>, StateError> {
        if let Some(outcome) = spool::take_receipt(mine)? {
            return Ok(Look::Delivered(outcome));
        }
        let key = &mine.event.key;
        if spool::first_in_line(&self.spool_dir(key), mine)?
            && let Some(hold) = KeyLock::try_acquire(&self.path("locks", key, ".lock"))?
        {
            return Ok(Look::Held(hold));
        }
        Ok(Look::Wait)
    }

    async fn load_record(&self, key: &Key) -> Result<RecordLoad, StateError> {
        records::load(&self.record_path(key), key)
    }

    async fn save_record(&self, record: &Record) -> Result<(), StateError> {
        records::save(&self.record_path(&record.key), record)
    }

    async fn remove_record(&self, key: &Key) -> Result<(), StateError> {
        spool::remove(&self.record_path(key))
    }

    async fn records(&self) -> Result<(Vec<Record>, Vec<String>), StateError> {
        let dir = self.root.join("records");
        let entries = fs::read_dir(&dir).map_err(io_err(&dir, "read"))?;
        let mut found = Vec::new();
        let mut corrupt = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match records::load_any(&path)? {
                RecordLoad::Found(r) => found.push(r),
                RecordLoad::Corrupt { kept_as, .. } => corrupt.push(kept_as),
                RecordLoad::Missing => {}
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok((found, corrupt))
    }

    fn record_location(&self, key: &Key) -> String {
        self.record_path(key).display().to_string()
    }

    async fn keep(&self, event: &Event, glpi: &str) -> Result<Kept, StateError> {
        let numbering = self.path("locks", &event.key, ".seq");
        spool::push(&self.spool_dir(&event.key), &numbering, event, glpi)
    }

    async fn kept(&self, key: &Key) -> Result<Vec<Kept>, StateError> {
        let list = spool::list(&self.spool_dir(key))?;
        // A shortened file name may be shared by two keys: keep ours only.
        Ok(list.into_iter().filter(|k| k.event.key == *key).collect())
    }

    async fn delivered(
        &self,
        kept: &Kept,
        outcome: &Outcome,
        engine_id: Option<u64>,
    ) -> Result<(), StateError> {
        spool::delivered(&self.spool_dir(&kept.event.key), kept, outcome, engine_id)
    }

    async fn take_receipt(&self, kept: &Kept) -> Result<Option<Outcome>, StateError> {
        spool::take_receipt(kept)
    }

    async fn last_engine_id(&self, key: &Key) -> Result<Option<u64>, StateError> {
        Ok(spool::last(&self.spool_dir(key))?.engine_id)
    }

    async fn failed(
        &self,
        kept: &mut Kept,
        failure: Failure,
        error: String,
    ) -> Result<(), StateError> {
        kept.count_failure(failure, error);
        spool::save(kept)
    }

    async fn started(&self, kept: &mut Kept) -> Result<(), StateError> {
        spool::started(kept)?;
        kept.in_flight = true;
        Ok(())
    }

    async fn keys_with_kept_events(&self) -> Result<Vec<Key>, StateError> {
        let dir = self.root.join("spool");
        let entries = fs::read_dir(&dir).map_err(io_err(&dir, "read"))?;
        let mut keys = Vec::new();
        for entry in entries.flatten() {
            for k in spool::list(&entry.path())? {
                if !keys.contains(&k.event.key) {
                    keys.push(k.event.key);
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    async fn write_intent(&self, intent: &Intent) -> Result<(), StateError> {
        let path = self.intent_path(&intent.key);
        let bytes = serde_json::to_vec_pretty(intent).map_err(|e| StateError::Io {
            path: path.clone(),
            action: "encode",
            source: io::Error::other(e),
        })?;
        write_atomic(&path, &bytes).map_err(io_err(&path, "write"))
    }

    async fn read_intent(&self, key: &Key) -> Result<Option<Pending>, StateError> {
        let Some(bytes) = read_private(&self.intent_path(key))? else {
            return Ok(None);
        };
        Ok(Some(
            match serde_json::from_slice::<Intent>(&bytes)
                .ok()
                .filter(|i| i.key == *key)
            {
                Some(intent) => Pending::Intent(intent),
                None => Pending::Unreadable,
            },
        ))
    }

    async fn clear_intent(&self, key: &Key) -> Result<(), StateError> {
        spool::remove(&self.intent_path(key))
    }

    async fn forget(&self, key: &Key) -> Result<Vec<String>, StateError> {
        self.move_aside(key, "dropped", true)
    }
}

impl FileStore {
    /// Moves the record (unless `with_record` is false), kept events and
    /// intent of `key` into the subdirectory `sub` (`dropped`, `imported`),
    /// never deleting them; returns where they went.
    pub(crate) fn move_aside(
        &self,
        key: &Key,
        sub: &str,
        with_record: bool,
    ) -> Result<Vec<String>, StateError> {
        let stamp = jiff::Timestamp::now().as_second();
        let stem = file_stem(key);
        let dropped = self.root.join(sub);
        private_dir(&dropped)?;
        let mut moved = Vec::new();
        let mut items = Vec::new();
        if with_record {
            items.push((
                self.record_path(key),
                dropped.join(format!("{stem}.json.{stamp}")),
            ));
        }
        items.push((
            self.spool_dir(key),
            dropped.join(format!("{stem}.spool.{stamp}")),
        ));
        items.push((
            self.intent_path(key),
            dropped.join(format!("{stem}.intent.{stamp}")),
        ));
        for (from, to) in items {
            // A spool with no kept event (only receipts and the key's
            // high-water mark) holds nothing to forget.
            let nothing_kept = from.is_dir()
                && fs::read_dir(&from).is_ok_and(|entries| {
                    !entries
                        .flatten()
                        .any(|e| e.path().extension().is_some_and(|x| x == "json"))
                });
            if !from.exists() || nothing_kept {
                continue;
            }
            fs::rename(&from, &to).map_err(io_err(&from, "move aside"))?;
            if let Some(parent) = from.parent() {
                atomic::sync_dir(parent).map_err(io_err(&from, "sync the directory of"))?;
            }
            moved.push(to.display().to_string());
        }
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn directories_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        FileStore::open(&root).unwrap();
        let mode = fs::metadata(root.join("records"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
    }
}
