//! `state list | show | forget`: the local records, read and edited by hand.
//! `forget` moves a record to `dropped/`, never deletes it.

use std::time::Duration;

use serde::Serialize;

use super::Globals;
use crate::cli::StateCommand;
use crate::error::Error;
use crate::event::Key;
use crate::output;
use crate::state::{RecordLoad, StateDir, TicketRecord};

/// Used when `--state-dir` is given without a readable configuration.
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Serialize)]
struct Forgot {
    node: String,
    service: String,
    kept_as: Option<String>,
}

fn describe(r: &TicketRecord) -> String {
    let key = r.key();
    format!(
        "{} ticket {} {} priority {}{} since {}",
        output::sanitize(&key.to_string()),
        r.ticket_id,
        r.state,
        r.priority,
        if r.acked { " acknowledged" } else { "" },
        r.opened_at
    )
}

pub(crate) fn run(globals: &Globals, cmd: &StateCommand) -> Result<(), Error> {
    // `--state-dir` alone is enough to inspect a state directory.
    let (root, lock_timeout) = match &globals.state_dir {
        Some(dir) => (dir.clone(), DEFAULT_LOCK_TIMEOUT),
        None => {
            let config = globals.load_config()?;
            (config.state_dir.clone(), config.lock_timeout)
        }
    };
    let dir = StateDir::open(&root)?;
    match cmd {
        StateCommand::List => {
            let (records, corrupt) = dir.list()?;
            for path in &corrupt {
                tracing::error!("a corrupt record was moved aside to {}", path.display());
            }
            let text = if records.is_empty() {
                "no open ticket recorded".to_string()
            } else {
                records.iter().map(describe).collect::<Vec<_>>().join("\n")
            };
            output::text(globals.json, &records, &text);
        }
        StateCommand::Show(k) => {
            let key = Key {
                node: k.node.clone(),
                service: k.service.clone(),
            };
            let record = match dir.load_record(&key)? {
                RecordLoad::Found(r) => Some(r),
                RecordLoad::Missing | RecordLoad::Corrupt { .. } => None,
            };
            let text = match &record {
                Some(r) => format!(
                    "{}\nrecord: {}\noutput: {}",
                    describe(r),
                    dir.record_path(&key).display(),
                    output::sanitize(&r.output)
                ),
                None => format!("no record for {}", output::sanitize(&key.to_string())),
            };
            output::text(globals.json, &record, &text);
        }
        StateCommand::Forget(k) => {
            let key = Key {
                node: k.node.clone(),
                service: k.service.clone(),
            };
            let _lock = dir.lock(&key, lock_timeout)?;
            let moved = dir.forget(&key)?;
            let text = match &moved {
                Some(p) => format!(
                    "forgot {}; the record is kept as {}",
                    output::sanitize(&key.to_string()),
                    p.display()
                ),
                None => format!("no record for {}", output::sanitize(&key.to_string())),
            };
            output::text(
                globals.json,
                &Forgot {
                    node: key.node,
                    service: key.service,
                    kept_as: moved.map(|p| p.display().to_string()),
                },
                &text,
            );
        }
    }
    Ok(())
}
