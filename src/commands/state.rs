//! `state list | show | forget`: the local records and kept events, read and
//! edited by hand. `forget` moves a key's record and spool to `dropped/`,
//! never deletes them.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::Globals;
use crate::cli::StateCommand;
use crate::error::Error;
use crate::event::Key;
use crate::output;
use crate::state::{RecordLoad, SpoolEntry, StateDir, TicketRecord};

/// Used when `--state-dir` is given without a readable configuration.
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Serialize)]
struct KeyState {
    node: String,
    service: String,
    record: Option<TicketRecord>,
    /// Events kept for delivery, oldest first.
    spool: Vec<SpoolEntry>,
}

#[derive(Serialize)]
struct Forgot {
    node: String,
    service: String,
    kept_as: Vec<String>,
}

fn key_text(key: &Key) -> String {
    output::sanitize(&key.to_string())
}

fn describe(r: &TicketRecord) -> String {
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
    let key = Key {
        node: k.node.clone(),
        service: k.service.clone(),
    };
    let mut text = key_text(&key);
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

fn show_text(dir: &StateDir, key: &Key, state: &KeyState) -> String {
    let mut text = match &state.record {
        Some(r) => format!(
            "{} {}\nrecord: {}\noutput: {}",
            key_text(key),
            describe(r),
            dir.record_path(key).display(),
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

pub(crate) fn run(globals: &Globals, cmd: &StateCommand) -> Result<(), Error> {
    if let StateCommand::Rebuild = cmd {
        // The only state command that talks to GLPI.
        return super::rebuild::run(globals);
    }
    // `--state-dir` alone is enough to inspect a state directory.
    let (root, lock_timeout) = match &globals.state_dir {
        Some(dir) => (dir.clone(), DEFAULT_LOCK_TIMEOUT),
        None => {
            let config = globals.load_config()?;
            (config.state_dir.clone(), config.lock_timeout)
        }
    };
    let dir = StateDir::open(&root)?;
    let load = |key: Key| -> Result<KeyState, Error> {
        let record = match dir.load_record(&key)? {
            RecordLoad::Found(r) => Some(r),
            RecordLoad::Missing | RecordLoad::Corrupt { .. } => None,
        };
        let spool = dir.spool_list(&key)?.into_iter().map(|s| s.entry).collect();
        Ok(KeyState {
            node: key.node,
            service: key.service,
            record,
            spool,
        })
    };
    match cmd {
        StateCommand::List => {
            let (records, corrupt) = dir.list()?;
            for path in &corrupt {
                tracing::error!("a corrupt record was moved aside to {}", path.display());
            }
            let mut keys: Vec<Key> = records.iter().map(TicketRecord::key).collect();
            for k in dir.spooled_keys()? {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            keys.sort();
            let states = keys.into_iter().map(load).collect::<Result<Vec<_>, _>>()?;
            let text = if states.is_empty() {
                "no open ticket recorded and no event kept".to_string()
            } else {
                states.iter().map(line).collect::<Vec<_>>().join("\n")
            };
            output::text(globals.json, &states, &text);
        }
        StateCommand::Show(k) => {
            let key = Key {
                node: k.node.clone(),
                service: k.service.clone(),
            };
            let state = load(key.clone())?;
            let text = show_text(&dir, &key, &state);
            output::text(globals.json, &state, &text);
        }
        // Handled above: the only state command that talks to GLPI.
        StateCommand::Rebuild => {}
        StateCommand::Forget(k) => {
            let key = Key {
                node: k.node.clone(),
                service: k.service.clone(),
            };
            let _lock = dir.lock(&key, lock_timeout)?;
            let moved = dir.forget(&key)?;
            let text = if moved.is_empty() {
                format!("no record and no kept event for {}", key_text(&key))
            } else {
                let paths: Vec<String> = moved.iter().map(|p| p.display().to_string()).collect();
                format!("forgot {}; kept as {}", key_text(&key), paths.join(", "))
            };
            output::text(
                globals.json,
                &Forgot {
                    node: key.node,
                    service: key.service,
                    kept_as: moved.iter().map(|p| p.display().to_string()).collect(),
                },
                &text,
            );
        }
    }
    Ok(())
}
