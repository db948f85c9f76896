//! `state list | show | forget | migrate | import`: the records and kept
//! events, read and edited by hand, on either backend. `forget` sets a key's
//! record, kept events and creation intent aside (`dropped/`, or the
//! database's `dropped_*` tables), never deletes them. `migrate` and
//! `import` are for the PostgreSQL backend. (`state rebuild`, which talks to
//! GLPI, is `rebuild.rs`.)

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::globals::Globals;
use crate::config::{ConfigError, StateBackend};
use crate::core::{Event, Failure, Key, Record};
use crate::error::Error;
use crate::output;
use crate::state::{AnyStore, FileStore, Kept, Pending, PgStore, RecordLoad, Store};
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

async fn load(store: &impl Store, key: Key) -> Result<KeyState, Error> {
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

/// Opens the state the configuration names (the state directory of
/// `--state-dir` when there is no readable configuration); runs `f` on it
/// with the lock timeout to use.
fn with_store<F>(globals: &Globals, f: F) -> Result<(), Error>
where
    F: AsyncFnOnce(&AnyStore, Duration) -> Result<(), Error>,
{
    // `--state-dir` works without a configuration; when there is one, its
    // backend and `lock_timeout` still apply.
    let (store, lock_timeout) = match &globals.state_dir {
        Some(dir) => match config::load(&globals.config_path) {
            Ok(loaded) => (
                globals.open_store(&loaded.config)?,
                loaded.config.lock_timeout,
            ),
            Err(_) => (AnyStore::Files(FileStore::open(dir)?), DEFAULT_LOCK_TIMEOUT),
        },
        None => {
            let config = globals.load_config()?;
            (globals.open_store(&config)?, config.lock_timeout)
        }
    };
    finishing(&store, f(&store, lock_timeout))
}

/// Runs `work` on a fresh runtime, then lets `store` finish what it has in
/// flight.
fn finishing<S: Store, T>(
    store: &S,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    engine::runtime()?.block_on(async {
        let result = work.await;
        store.finish().await;
        result
    })
}

/// The PostgreSQL state of the configuration (`state migrate`, `state
/// import`); a configuration without one is an error (exit 3).
fn pg_store(globals: &Globals, command: &str) -> Result<(PgStore, Duration), Error> {
    let config = globals.load_config()?;
    let StateBackend::Postgres(pg) = &config.state else {
        return Err(ConfigError::InvalidValue {
            path: globals.config_path.clone(),
            key: "state.backend".into(),
            line: None,
            reason: format!(
                "`esia-glpi state {command}` works on the PostgreSQL backend: set backend = \
                 \"postgres\" and url in the [state] table"
            ),
        }
        .into());
    };
    let settings = super::globals::pg_settings(&config, pg);
    Ok((
        PgStore::open(globals.state_root(&config), settings)?,
        config.lock_timeout,
    ))
}

#[derive(Serialize)]
struct Migrated {
    database: String,
    schema_before: i32,
    schema: i32,
}

/// `state migrate`: creates or upgrades the database's schema.
pub(crate) fn migrate(globals: &Globals) -> Result<(), Error> {
    let (store, _) = pg_store(globals, "migrate")?;
    finishing(&store, async {
        let (before, after) = store.migrate().await?;
        let text = if before == after {
            format!("state database schema is at version {after}; nothing to migrate")
        } else if before == 0 {
            format!("state database schema created, version {after}")
        } else {
            format!("state database schema migrated from version {before} to {after}")
        };
        output::emit(
            globals.json,
            &Migrated {
                database: store.shown_url().to_owned(),
                schema_before: before,
                schema: after,
            },
            &text,
        )?;
        Ok(())
    })
}

/// What `state import` did for one key.
#[derive(Serialize)]
struct ImportLine {
    #[serde(flatten)]
    key: Key,
    /// `imported`, `in_database` (the database's record was kept; the local
    /// one stays in place) or `none`.
    record: &'static str,
    /// Kept events appended to the key's queue in the database.
    events: usize,
    intent: bool,
    /// Where the imported local files were moved.
    moved_to: Vec<String>,
}

/// `state import`: copies the state directory's records, kept events (in
/// order) and intents into the database, key by key, each under both
/// backends' locks; moves what was imported to `imported/`.
pub(crate) fn import(globals: &Globals) -> Result<(), Error> {
    let (store, lock_timeout) = pg_store(globals, "import")?;
    finishing(&store, async {
        let files = store.local();
        let (records, corrupt) = files.records().await?;
        for path in &corrupt {
            tracing::error!("a corrupt record was moved aside to {path}; not imported");
        }
        let mut keys: Vec<Key> = records.into_iter().map(|r| r.key).collect();
        for k in files.keys_with_kept_events().await? {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys.sort();
        let mut lines = Vec::with_capacity(keys.len());
        for key in keys {
            let _local = files.hold(&key, lock_timeout).await?;
            let _shared = store.hold(&key, lock_timeout).await?;
            lines.push(import_key(&store, files, key).await?);
        }
        let text = if lines.is_empty() {
            "nothing to import: no record and no kept event in the state directory".to_owned()
        } else {
            let mut text = format!("imported {} key(s) into the state database", lines.len());
            for l in &lines {
                let _ = write!(
                    text,
                    "\n  {}: record {}, {} kept event(s){}",
                    key_text(&l.key),
                    l.record.replace('_', " "),
                    l.events,
                    if l.intent { ", a creation intent" } else { "" }
                );
                if l.record == "in_database" {
                    text.push_str(
                        " (the database's record was kept; the local one is left in place)",
                    );
                }
            }
            text
        };
        output::emit(globals.json, &lines, &text)?;
        Ok(())
    })
}

async fn import_key(store: &PgStore, files: &FileStore, key: Key) -> Result<ImportLine, Error> {
    let record = match files.load_record(&key).await? {
        RecordLoad::Found(r) => {
            if store.insert_record_if_absent(&r).await? {
                "imported"
            } else {
                "in_database"
            }
        }
        RecordLoad::Missing | RecordLoad::Corrupt { .. } => "none",
    };
    let mut events = 0;
    for kept in files.kept(&key).await? {
        if store.import_kept(&kept).await? {
            events += 1;
        }
    }
    let intent = match files.read_intent(&key).await? {
        Some(Pending::Intent(i)) => store.insert_intent_if_absent(&i).await?,
        Some(Pending::Unreadable) | None => false,
    };
    let moved_to = files.move_aside(&key, "imported", record != "in_database")?;
    Ok(ImportLine {
        key,
        record,
        events,
        intent,
        moved_to,
    })
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
