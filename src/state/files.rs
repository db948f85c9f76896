//! The files backend of [`Store`]: the state directory.
//!
//! Layout under `state_dir` (0700, files 0600):
//! `records/<key>.json`, `locks/<key>.lock`, `spool/<key>/<seq>.json`,
//! `intents/<key>.json`, `cache/…`, `dropped/…`.
//! `<key>` is the node and the service percent-encoded and joined by `~`, so
//! file names are reversible, portable and never collide; very long keys are
//! shortened with a hash, and every file carries the exact key.
//!
//! A key is held by a lock on its `locks/<key>.lock` ([`FileHeld`]); a run
//! waiting for its key by a lock on its entry's `.wait` file
//! (`spool::InLine`).

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::atomic::{self, write_atomic};
use super::cache::Cache;
use super::error::StateError;
use super::journal::remove;
use super::lock::KeyLock;
use super::paths::{file_stem, io_err, private_dir, read_private};
use super::store::{Held, Intent, Kept, KeptId, Look, Pending, Place, Queue, RecordLoad, Store};
use super::{known, outbox, records, spool};
use crate::core::{Coverage, Event, Failure, GlpiId, Key, Outcome, Record, Trace};

/// An opened state directory.
#[derive(Debug, Clone)]
pub(crate) struct FileStore {
    root: PathBuf,
}

const SUBDIRS: [&str; 7] = [
    "records", "locks", "cache", "dropped", "spool", "intents", "known",
];

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

    /// Moves the events of the outbox (kept by runs that met an invalid
    /// configuration, `keep_unconfigured`) into their keys' spools, oldest
    /// first, each under its entry's lock; an entry whose event its key's
    /// spool already holds (a run died before removing it) is only removed.
    pub(super) fn drain_outbox(&self) -> Result<usize, StateError> {
        let dir = self.root.join("outbox");
        if fs::symlink_metadata(&dir).is_err() {
            return Ok(0);
        }
        let mut moved = 0;
        for (path, entry) in outbox::list(&dir)? {
            let Some(_claim) = outbox::claim(&path)? else {
                continue;
            };
            let paths = self.paths(&entry.event.key);
            if !spool::holds_moved(&paths.spool, &entry.uid)? {
                spool::push_moved(
                    &paths.spool,
                    &paths.numbering,
                    &entry.event,
                    &entry.glpi,
                    Some(&entry.uid),
                )?;
                moved += 1;
            }
            outbox::remove(&path)?;
        }
        if moved > 0 {
            tracing::info!("{moved} kept event(s) moved in from the outbox");
        }
        Ok(moved)
    }

    /// The cache of looked-up ids, in this directory.
    pub(crate) fn cache(&self) -> Cache {
        Cache::new(self.root.join("cache"))
    }

    fn paths(&self, key: &Key) -> KeyPaths {
        let stem = file_stem(key);
        KeyPaths {
            record: self.root.join("records").join(format!("{stem}.json")),
            trace: self.root.join("known").join(format!("{stem}.json")),
            intent: self.root.join("intents").join(format!("{stem}.json")),
            lock: self.root.join("locks").join(format!("{stem}.lock")),
            numbering: self.root.join("locks").join(format!("{stem}.seq")),
            spool: self.root.join("spool").join(stem),
        }
    }

    fn held(&self, key: &Key, lock: KeyLock, own: Option<KeptId>) -> FileHeld {
        FileHeld {
            store: self.clone(),
            key: key.clone(),
            paths: self.paths(key),
            own,
            _lock: lock,
        }
    }

    /// Moves the record (unless `with_record` is false), kept events and
    /// intent of `key` into the subdirectory `sub` (`dropped`, `imported`),
    /// never deleting them; returns where they went. The caller holds the
    /// key.
    pub(super) fn move_aside(
        &self,
        key: &Key,
        sub: &str,
        with_record: bool,
    ) -> Result<Vec<String>, StateError> {
        let stamp = jiff::Timestamp::now().as_second();
        let stem = file_stem(key);
        let paths = self.paths(key);
        let dropped = self.root.join(sub);
        private_dir(&dropped)?;
        let mut moved = Vec::new();
        let mut items = Vec::new();
        if with_record {
            items.push((paths.record, dropped.join(format!("{stem}.json.{stamp}"))));
        }
        items.push((paths.spool, dropped.join(format!("{stem}.spool.{stamp}"))));
        items.push((paths.intent, dropped.join(format!("{stem}.intent.{stamp}"))));
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

/// The files of one key.
#[derive(Debug)]
struct KeyPaths {
    record: PathBuf,
    /// Its trace (`known.rs`).
    trace: PathBuf,
    intent: PathBuf,
    lock: PathBuf,
    /// The lock under which the key's sequence numbers are handed out.
    numbering: PathBuf,
    spool: PathBuf,
}

/// A key held: the lock on its `locks/<key>.lock`, released on drop.
#[derive(Debug)]
pub(crate) struct FileHeld {
    store: FileStore,
    key: Key,
    paths: KeyPaths,
    /// The event of the run that holds the key, if it kept one: its
    /// delivery leaves no receipt (nobody else waits for it).
    own: Option<KeptId>,
    _lock: KeyLock,
}

/// The kept events of `key` in `spool` (a shortened file name may be shared
/// by two keys: ours only).
fn kept_of(spool: &Path, key: &Key) -> Result<Vec<Kept>, StateError> {
    Ok(spool::list(spool)?
        .into_iter()
        .filter(|k| k.event.key == *key)
        .collect())
}

impl Store for FileStore {
    type Held = FileHeld;
    type Line = spool::InLine;
    type Inventory = KeyLock;

    async fn keep(&self, event: &Event, glpi: &GlpiId) -> Result<Place<spool::InLine>, StateError> {
        // Events kept before this one, while the configuration was wrong,
        // take their places first.
        if let Err(e) = self.drain_outbox() {
            tracing::warn!("the outbox cannot be moved into the spool: {e}");
        }
        let paths = self.paths(&event.key);
        let kept = spool::push(&paths.spool, &paths.numbering, event, glpi)?;
        // Kept: from here on nothing fails the run.
        let line = spool::enter_line(&kept);
        let ahead = match kept_of(&paths.spool, &event.key) {
            Ok(queue) => queue
                .into_iter()
                .filter(|k| k.seq < kept.seq)
                .map(|k| (k.id, k.attempts))
                .collect(),
            Err(e) => {
                tracing::warn!("{}: the events kept ahead cannot be read: {e}", event.key);
                Vec::new()
            }
        };
        Ok(Place { kept, ahead, line })
    }

    async fn look(&self, mine: &Kept, _line: &spool::InLine) -> Result<Look<FileHeld>, StateError> {
        if let Some(outcome) = spool::take_receipt(mine)? {
            return Ok(Look::Delivered(outcome));
        }
        let key = &mine.event.key;
        let paths = self.paths(key);
        if spool::first_in_line(&paths.spool, mine)?
            && let Some(lock) = KeyLock::try_acquire(&paths.lock)?
        {
            return Ok(Look::Held(self.held(key, lock, Some(mine.id.clone()))));
        }
        Ok(Look::Wait)
    }

    async fn receipt(
        &self,
        mine: &Kept,
        _line: &spool::InLine,
    ) -> Result<Option<Outcome>, StateError> {
        spool::take_receipt(mine)
    }

    async fn try_hold(&self, key: &Key) -> Result<Option<FileHeld>, StateError> {
        Ok(KeyLock::try_acquire(&self.paths(key).lock)?.map(|lock| self.held(key, lock, None)))
    }

    async fn try_hold_inventory(&self) -> Result<Option<KeyLock>, StateError> {
        KeyLock::try_acquire(&self.root.join("locks/inventory.lock"))
    }

    async fn write_inventory(
        &self,
        _hold: &KeyLock,
        glpi: &GlpiId,
        listed: &[(Key, u64)],
    ) -> Result<(), StateError> {
        known::write_inventory(&self.root, glpi, listed)
    }

    async fn peek(&self, key: &Key) -> Result<(RecordLoad, Vec<Kept>), StateError> {
        let paths = self.paths(key);
        Ok((
            records::load(&paths.record, key)?,
            kept_of(&paths.spool, key)?,
        ))
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

    async fn keys_with_kept_events(&self) -> Result<Vec<Key>, StateError> {
        self.drain_outbox()?;
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

    fn record_location(&self, key: &Key) -> String {
        self.paths(key).record.display().to_string()
    }
}

impl Held for FileHeld {
    fn key(&self) -> &Key {
        &self.key
    }

    async fn queue(&mut self) -> Result<Queue, StateError> {
        Ok(Queue {
            kept: kept_of(&self.paths.spool, &self.key)?,
            last_engine_id: spool::last(&self.paths.spool)?.engine_id,
        })
    }

    async fn load_record(&mut self) -> Result<RecordLoad, StateError> {
        records::load(&self.paths.record, &self.key)
    }

    async fn save_record(&mut self, record: &Record) -> Result<(), StateError> {
        if let Some(glpi) = &record.glpi {
            let open = Trace {
                glpi: glpi.clone(),
                ticket: record.ticket_id,
                open: true,
            };
            known::write_trace(&self.paths.trace, &self.key, &open)?;
        }
        records::save(&self.paths.record, record)
    }

    async fn close_record(&mut self, closed: &Trace) -> Result<(), StateError> {
        known::write_trace(&self.paths.trace, &self.key, closed)?;
        remove(&self.paths.record)
    }

    async fn remove_record(&mut self) -> Result<(), StateError> {
        remove(&self.paths.record)
    }

    async fn seen(
        &mut self,
        glpi: &GlpiId,
        ttl: Duration,
    ) -> Result<(Option<Trace>, Coverage), StateError> {
        Ok((
            known::trace(&self.paths.trace, &self.key)?,
            known::coverage(&self.store.root, &self.key, glpi, ttl)?,
        ))
    }

    async fn delivered(&mut self, kept: &Kept, outcome: &Outcome) -> Result<(), StateError> {
        let receipt = self.own.as_ref() != Some(&kept.id);
        spool::delivered(&self.paths.spool, kept, outcome, receipt)
    }

    async fn failed(
        &mut self,
        kept: &mut Kept,
        failure: Failure,
        error: String,
    ) -> Result<(), StateError> {
        kept.count_failure(failure, error);
        spool::save(kept)
    }

    async fn started(&mut self, kept: &mut Kept) -> Result<(), StateError> {
        spool::started(kept)?;
        kept.in_flight = true;
        Ok(())
    }

    async fn rebind(&mut self, kept: &mut Kept, glpi: &GlpiId) -> Result<(), StateError> {
        kept.glpi = Some(glpi.clone());
        spool::save(kept)
    }

    async fn write_intent(&mut self, intent: &Intent) -> Result<(), StateError> {
        let path = &self.paths.intent;
        let bytes = serde_json::to_vec_pretty(intent).map_err(|e| StateError::Io {
            path: path.clone(),
            action: "encode",
            source: io::Error::other(e),
        })?;
        write_atomic(path, &bytes).map_err(io_err(path, "write"))
    }

    async fn read_intent(&mut self) -> Result<Option<Pending>, StateError> {
        let Some(bytes) = read_private(&self.paths.intent)? else {
            return Ok(None);
        };
        Ok(Some(
            match serde_json::from_slice::<Intent>(&bytes)
                .ok()
                .filter(|i| i.key == self.key)
            {
                Some(intent) => Pending::Intent(intent),
                None => Pending::Unreadable,
            },
        ))
    }

    async fn clear_intent(&mut self) -> Result<(), StateError> {
        // Not synced: an intent a crash brings back costs the next run one
        // search, which finds the ticket the record names.
        match fs::remove_file(&self.paths.intent) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(io_err(&self.paths.intent, "remove")(e))
            }
            _ => Ok(()),
        }
    }

    async fn forget(&mut self) -> Result<Vec<String>, StateError> {
        self.set_aside("dropped", true)
    }
}

impl FileHeld {
    /// Moves the key's files into `sub` (see [`FileStore::move_aside`]).
    pub(super) fn set_aside(
        &self,
        sub: &str,
        with_record: bool,
    ) -> Result<Vec<String>, StateError> {
        self.store.move_aside(&self.key, sub, with_record)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn the_outbox_moves_into_the_spool_once() {
        use crate::core::{Event, GlpiId, State};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        let binding = GlpiId::of_config(None, "mon1:/etc/esia/glpi.conf");
        let event = Event::sample("n", "s", State::Critical);
        let entry = super::super::keep_unconfigured(&root, &event, &binding).unwrap();
        let store = FileStore::open(&root).unwrap();
        // A run died after moving it, before removing the entry: a copy of
        // the entry is moved again.
        let copy = entry.with_extension("copy");
        fs::copy(&entry, &copy).unwrap();
        assert_eq!(store.drain_outbox().unwrap(), 1);
        fs::rename(&copy, &entry).unwrap();
        assert_eq!(store.drain_outbox().unwrap(), 0, "already in the spool");
        assert_eq!(
            store.keys_with_kept_events().await.unwrap(),
            std::slice::from_ref(&event.key)
        );
        let (_, kept) = store.peek(&event.key).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].glpi.as_ref(), Some(&binding));
        assert!(!entry.exists());
    }

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
