//! The cache of looked-up GLPI ids (requester, assets, GLPI's version) in
//! `cache/` under the state directory: an entry older than its time to live
//! is a miss, and so is an unreadable one (it holds derived ids, looked up
//! again and rewritten). Also the private files the GLPI client keeps there
//! (the OAuth2 tokens, 0600 like every state file) and the lock under which
//! one run renews them. Always local, whatever the backend of the records.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use super::atomic::write_atomic;
use super::error::StateError;
use super::lock::KeyLock;
use super::paths::{encode_component, read_private};

/// The `cache/` directory of a state directory.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub(super) fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    /// The file of entry `name` of `kind` (`requester`, `assets`, …).
    fn path(&self, kind: &str, name: &str) -> PathBuf {
        self.dir
            .join(format!("{kind}-{}.json", encode_component(name)))
    }

    /// Reads an entry written by [`Cache::put`]; `None` when missing,
    /// unreadable or older than `ttl`.
    pub(crate) fn get<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        name: &str,
        ttl: Duration,
    ) -> Option<T> {
        let path = self.path(kind, name);
        let meta = fs::metadata(&path).ok()?;
        let age = meta.modified().ok()?.elapsed().unwrap_or(Duration::MAX);
        if age > ttl {
            return None;
        }
        let bytes = match read_private(&path) {
            Ok(bytes) => bytes?,
            Err(e) => {
                tracing::warn!("{e}: looked up again");
                return None;
            }
        };
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores an entry; failures are logged, never fatal (a cache miss is
    /// only a few more requests).
    pub(crate) fn put<T: serde::Serialize>(&self, kind: &str, name: &str, value: &T) {
        let path = self.path(kind, name);
        let result = serde_json::to_vec(value)
            .map_err(std::io::Error::other)
            .and_then(|bytes| write_atomic(&path, &bytes));
        if let Err(e) = result {
            tracing::warn!("could not write the cache {}: {e}", path.display());
        }
    }

    /// The bytes of private file `name`; `None` when missing or unsafe
    /// (logged).
    pub(crate) fn read_file(&self, name: &str) -> Option<Vec<u8>> {
        match read_private(&self.dir.join(name)) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!("{e}: not used");
                None
            }
        }
    }

    /// Writes private file `name` atomically (0600).
    pub(crate) fn write_file(&self, name: &str, bytes: &[u8]) -> Result<(), StateError> {
        let path = self.dir.join(name);
        write_atomic(&path, bytes).map_err(|source| StateError::Io {
            path,
            action: "write",
            source,
        })
    }

    /// Removes private file `name` (missing is fine).
    pub(crate) fn remove_file(&self, name: &str) {
        let path = self.dir.join(name);
        if let Err(e) = fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("could not remove {}: {e}", path.display());
        }
    }

    /// Lock `name` of the cache, if no other run holds it.
    pub(crate) fn try_lock(&self, name: &str) -> Result<Option<KeyLock>, StateError> {
        KeyLock::try_acquire(&self.dir.join(format!("{name}.lock")))
    }
}
