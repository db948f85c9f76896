//! `state list | show | forget`: the local records and kept events, read and
//! edited by hand. `forget` sets a key's record, kept events and creation
//! intent aside in `dropped/`, never deletes them. (`state rebuild`, which
//! talks to GLPI, is `rebuild.rs`.)

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::globals::Globals;
use crate::core::{Event, Failure, Key, Record};
use crate::error::Error;
use crate::output;
use crate::state::{FileStore, Kept, RecordLoad, Store};
use crate::{config, engine};

/// Used when `--state-dir` is given without a readable configuration.
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// A kept event, as `state` shows it.
#[derive(Serialize)]
struct KeptLine {
    event: Event,
    attempts: u32,
    last_error: Option<String>,
    /// The class of the last failure (`refused`, `unavailable`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<Failure>,
}

#[derive(Serialize)]
struct KeyState {
    #[serde(flatten)]
    key: Key,
    record: Option<Record>,
    /// Events kept for delivery, oldest first.
    spool: Vec<KeptLine>,
}

#[derive(Serialize)]
struct Forgot {
    #[serde(flatten)]
    key: Key,
    kept_as: Vec<String>,
}

fn key_text(key: &Key) -> String {
    output::sanitize(&key.to_string())
}

fn describe(r: &Record) -> String {
    format!(
        "ticket {} {} priority {}{} since {}",
        r.ticket_id,
        r.state,
        r.priority,
        if r.acked { " acknowledged" } else { "" },
        r.opened_at
    )
}

fn line(k: &KeyState) -> String {
    let mut text = key_text(&k.key);
    match &k.record {
        Some(r) => {
            let _ = write!(text, " {}", describe(r));
        }
        None => text.push_str(" no open ticket"),
    }
    if !k.spool.is_empty() {
        let _ = write!(text, "; {} event(s) kept", k.spool.len());
    }
    text
}

fn show_text(location: &str, state: &KeyState) -> String {
    let key = &state.key;
    let mut text = match &state.record {
        Some(r) => format!(
            "{} {}\nrecord: {location}\noutput: {}",
            key_text(key),
            describe(r),
            output::sanitize(&r.output)
        ),
        None => format!("no record for {}", key_text(key)),
    };
    for e in &state.spool {
        let _ = write!(
            text,
            "\nkept: {} {} at {} ({} attempt(s)){}",
            e.event.state,
            output::sanitize(&e.event.output),
            e.event.time,
            e.attempts,
            e.last_error
                .as_deref()
                .map(|err| format!("; last error: {}", output::sanitize(err)))
                .unwrap_or_default()
        );
    }
    text
}

async fn load(store: &FileStore, key: Key) -> Result<KeyState, Error> {
    let record = match store.load_record(&key).await? {
        RecordLoad::Found(r) => Some(r),
        RecordLoad::Missing | RecordLoad::Corrupt { .. } => None,
    };
    let spool = store
        .kept(&key)
        .await?
        .into_iter()
        .map(|k: Kept| KeptLine {
            event: k.event,
            attempts: k.attempts,
            last_error: k.last_error,
            failure: k.failure,
        })
        .collect();
    Ok(KeyState { key, record, spool })
}

/// Opens the state directory of `--state-dir` (no configuration needed),
/// else the configuration's; runs `f` on it with the lock timeout to use.
fn with_store<F>(globals: &Globals, f: F) -> Result<(), Error>
where
    F: AsyncFnOnce(&FileStore, Duration) -> Result<(), Error>,
{
    // `--state-dir` works without a configuration; when there is one, its
    // `lock_timeout` still applies.
    let (root, lock_timeout) = match &globals.state_dir {
        Some(dir) => {
            let lock_timeout = config::load(&globals.config_path)
                .map_or(DEFAULT_LOCK_TIMEOUT, |loaded| loaded.config.lock_timeout);
            (dir.clone(), lock_timeout)
        }
        None => {
            let config = globals.load_config()?;
            (config.state_dir.clone(), config.lock_timeout)
        }
    };
    let store = FileStore::open(&root)?;
    engine::runtime()?.block_on(f(&store, lock_timeout))
}

/// `state list`: every key with an open ticket or kept events.
pub(crate) fn list(globals: &Globals) -> Result<(), Error> {
    with_store(globals, async |store, _| {
        let (records, corrupt) = store.records().await?;
        for path in &corrupt {
            tracing::error!("a corrupt record was moved aside to {path}");
        }
        let mut keys: Vec<Key> = records.into_iter().map(|r| r.key).collect();
        for k in store.keys_with_kept_events().await? {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys.sort();
        let mut states = Vec::with_capacity(keys.len());
        for key in keys {
            states.push(load(store, key).await?);
        }
        let text = if states.is_empty() {
            "no open ticket recorded and no event kept".to_string()
        } else {
            states.iter().map(line).collect::<Vec<_>>().join("\n")
        };
        output::emit(globals.json, &states, &text)?;
        Ok(())
    })
}

/// `state show NODE [SERVICE]`: the record and the kept events of one key.
pub(crate) fn show(globals: &Globals, key: Key) -> Result<(), Error> {
    with_store(globals, async |store, _| {
        let state = load(store, key).await?;
        let text = show_text(&store.record_location(&state.key), &state);
        output::emit(globals.json, &state, &text)?;
        Ok(())
    })
}

/// `state forget NODE [SERVICE]`: set the key's files aside in `dropped/`.
pub(crate) fn forget(globals: &Globals, key: Key) -> Result<(), Error> {
    with_store(globals, async |store, lock_timeout| {
        let _hold = store.hold(&key, lock_timeout).await?;
        let moved = store.forget(&key).await?;
        let text = if moved.is_empty() {
            format!("no record and no kept event for {}", key_text(&key))
        } else {
            format!("forgot {}; kept as {}", key_text(&key), moved.join(", "))
        };
        output::emit(
            globals.json,
            &Forgot {
                key,
                kept_as: moved,
            },
            &text,
        )?;
        Ok(())
    })
}
