//! `state list | show | forget | migrate | import`: the records and kept
//! events, read and edited by hand, on either backend. `forget` sets a key's
//! record, kept events and creation intent aside (`dropped/`, or the
//! database's `dropped_*` tables), never deletes them. `migrate` and
//! `import` are for the PostgreSQL backend. (`state rebuild`, which talks to
//! GLPI, is `rebuild.rs`.)

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::globals::{Globals, finishing};
use crate::config::ConfigError;
use crate::core::{Event, Failure, Key, Record};
use crate::engine;
use crate::error::Error;
use crate::output;
use crate::state::{self, AnyStore, Backend, Held, Kept, RecordImport, RecordLoad, Store};

/// Used when `--state-dir` is given without any configuration.
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
    let (record, kept) = store.peek(&key).await?;
    let record = match record {
        RecordLoad::Found(r) => Some(r),
        RecordLoad::Missing | RecordLoad::Corrupt { .. } => None,
    };
    let spool = kept
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

/// Opens the state the configuration names, and runs `f` on it with the
/// lock timeout to use. `--state-dir` works without a configuration (the
/// state directory, files backend): only when none was named (`--config`,
/// `ESIA_GLPI_CONFIG`) and the default file does not exist. A configuration
/// that is there is honoured or refused (exit 3), never ignored: its
/// backend may be a database holding the keys the directory does not.
async fn with_store<F>(globals: &Globals, f: F) -> Result<(), Error>
where
    F: AsyncFnOnce(&AnyStore, Duration) -> Result<(), Error>,
{
    let (store, lock_timeout) = match &globals.state_dir {
        Some(dir) if !globals.has_config() => {
            (state::open(dir, Backend::Files)?, DEFAULT_LOCK_TIMEOUT)
        }
        _ => {
            let config = globals.load_config()?;
            (globals.open_store(&config)?, config.lock_timeout)
        }
    };
    finishing(&store, f(&store, lock_timeout)).await
}

/// The state of the configuration, for `state migrate` and `state import`,
/// which work on the PostgreSQL backend (else exit 3).
/// Returns the database, the state directory beside it (as a files store),
/// and the lock timeout.
fn database(globals: &Globals, command: &str) -> Result<(AnyStore, AnyStore, Duration), Error> {
    let config = globals.load_config()?;
    let store = globals.open_store(&config)?;
    let Some(files) = store.import_source() else {
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
    Ok((store, files, config.lock_timeout))
}

#[derive(Serialize)]
struct AdoptedLine {
    #[serde(flatten)]
    key: Key,
    events: usize,
}

#[derive(Serialize)]
struct AdoptedReport {
    /// The binding the events now carry: the GLPI this configuration
    /// reaches, or the configuration itself when GLPI did not answer.
    glpi: String,
    events: usize,
    keys: Vec<AdoptedLine>,
}

/// `state adopt [NODE [SERVICE]]`: hands the events kept for another GLPI,
/// or by another configuration, to this configuration's GLPI (the
/// configuration is needed: it names the GLPI).
pub(crate) async fn adopt(globals: &Globals, key: Option<Key>) -> Result<(), Error> {
    let config = globals.load_glpi_config()?;
    let store = globals.open_store(&config)?;
    let engine = globals.engine(&config, &store, std::time::Instant::now());
    let adopted = finishing(&store, async { Ok(engine.adopt(key.as_ref()).await?) }).await?;
    let report = AdoptedReport {
        glpi: adopted.glpi.to_string(),
        events: adopted.keys.iter().map(|(_, n)| n).sum(),
        keys: adopted
            .keys
            .into_iter()
            .map(|(key, events)| AdoptedLine { key, events })
            .collect(),
    };
    let mut text = format!(
        "{} event(s) of {} key(s) handed to {}",
        report.events,
        report.keys.len(),
        output::sanitize(&report.glpi)
    );
    for k in &report.keys {
        let _ = write!(text, "\n  {} {}", key_text(&k.key), k.events);
    }
    if report.events > 0 {
        text.push_str("\nrun `esia-glpi flush` to deliver them");
    }
    output::emit(globals.json, &report, &text)?;
    Ok(())
}

#[derive(Serialize)]
struct Migrated {
    database: String,
    schema_before: i32,
    schema: i32,
}

/// `state migrate`: creates or upgrades the database's schema.
pub(crate) async fn migrate(globals: &Globals) -> Result<(), Error> {
    let (store, _, _) = database(globals, "migrate")?;
    finishing(&store, async {
        let Some((before, after)) = store.migrate().await? else {
            return Ok(());
        };
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
                database: store.describe(),
                schema_before: before,
                schema: after,
            },
            &text,
        )?;
        Ok(())
    })
    .await
}

/// What `state import` did for one key.
#[derive(Serialize)]
struct ImportLine {
    #[serde(flatten)]
    key: Key,
    /// `imported`, `in_database` (the database's record was kept; the local
    /// one stays in place) or `none`.
    record: RecordImport,
    /// Kept events appended to the key's queue in the database.
    events: usize,
    intent: bool,
    /// Where the imported local files were moved.
    moved_to: Vec<String>,
}

/// `state import`: copies the state directory's records, kept events (in
/// order) and intents into the database, key by key, each held on both
/// sides; moves what was imported to `imported/`.
pub(crate) async fn import(globals: &Globals) -> Result<(), Error> {
    let (store, files, lock_timeout) = database(globals, "import")?;
    finishing(&store, async {
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
            let mut local = engine::hold(&files, &key, lock_timeout).await?;
            let mut shared = engine::hold(&store, &key, lock_timeout).await?;
            if let Some(done) = AnyStore::import_key(&mut local, &mut shared).await? {
                lines.push(ImportLine {
                    key,
                    record: done.record,
                    events: done.events,
                    intent: done.intent,
                    moved_to: done.moved_to,
                });
            }
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
                    match l.record {
                        RecordImport::Imported => "imported",
                        RecordImport::InDatabase => "in database",
                        RecordImport::None => "none",
                    },
                    l.events,
                    if l.intent { ", a creation intent" } else { "" }
                );
                if l.record == RecordImport::InDatabase {
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
    .await
}

/// `state list`: every key with an open ticket or kept events.
pub(crate) async fn list(globals: &Globals) -> Result<(), Error> {
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
    .await
}

/// `state show NODE [SERVICE]`: the record and the kept events of one key.
pub(crate) async fn show(globals: &Globals, key: Key) -> Result<(), Error> {
    with_store(globals, async |store, _| {
        let state = load(store, key).await?;
        let text = show_text(&store.record_location(&state.key), &state);
        output::emit(globals.json, &state, &text)?;
        Ok(())
    })
    .await
}

/// `state forget NODE [SERVICE]`: set the key's files aside in `dropped/`.
pub(crate) async fn forget(globals: &Globals, key: Key) -> Result<(), Error> {
    with_store(globals, async |store, lock_timeout| {
        let mut held = engine::hold(store, &key, lock_timeout).await?;
        let moved = held.forget().await?;
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
    .await
}
