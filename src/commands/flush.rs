//! `flush`: deliver the events kept in the spool, every key, oldest first,
//! within `run_timeout` for the whole run. Exits with the worst status of the
//! keys it handled (the highest code: 6 > 5 > 4), 0 when the spool is empty
//! afterwards. Keys not reached in time stay for the next flush.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::deliver::Deliverer;
use super::{Globals, glpi_settings};
use crate::error::Error;
use crate::glpi::Client;
use crate::output;
use crate::state::StateDir;

#[derive(Debug, Serialize)]
struct KeyLine {
    node: String,
    service: String,
    delivered: usize,
    kept: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct FlushReport {
    delivered: usize,
    kept: usize,
    keys: Vec<KeyLine>,
}

pub(crate) fn run(globals: &Globals) -> Result<(), Error> {
    let started = Instant::now();
    let config = globals.load_config()?;
    let dir = StateDir::open(globals.state_root(&config))?;
    let keys = dir.spooled_keys()?;
    let mut report = FlushReport {
        delivered: 0,
        kept: 0,
        keys: Vec::new(),
    };
    if keys.is_empty() {
        output::text(globals.json, &report, "nothing to flush");
        return Ok(());
    }
    let client = Client::new(glpi_settings(&config))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let deadline = started + config.run_timeout;
    let left = || deadline.saturating_duration_since(Instant::now());
    let mut worst: Option<Error> = None;
    let mut deliverer = Deliverer::new(&config, &dir, &client);
    runtime.block_on(async {
        for key in &keys {
            let mut line = KeyLine {
                node: key.node.clone(),
                service: key.service.clone(),
                delivered: 0,
                kept: dir.spool_list(key).map_or(0, |l| l.len()),
                error: None,
            };
            let outcome = if left().is_zero() {
                Err(Error::RunTimeout(config.run_timeout.as_secs()))
            } else {
                match dir.lock(key, config.lock_timeout.min(left())) {
                    Err(e) => Err(e.into()),
                    Ok(_lock) => tokio::time::timeout(left(), deliverer.deliver_key(key, left))
                        .await
                        .unwrap_or(Err(Error::RunTimeout(config.run_timeout.as_secs()))),
                }
            };
            let failure = match outcome {
                Ok(r) => {
                    line.delivered = r.delivered.len();
                    line.kept = r.left;
                    r.failure
                }
                Err(e) => Some(e),
            };
            if let Some(e) = failure {
                line.error = Some(output::sanitize(&e.to_string()));
                if worst
                    .as_ref()
                    .is_none_or(|w| e.exit_status() as u8 > w.exit_status() as u8)
                {
                    worst = Some(e);
                }
            }
            report.delivered += line.delivered;
            report.kept += line.kept;
            report.keys.push(line);
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), deliverer.close()).await;
    });
    let text = summary(&report);
    output::text(globals.json, &report, &text);
    tracing::info!(
        "flush delivered={} kept={} keys={} requests={} ms={}",
        report.delivered,
        report.kept,
        report.keys.len(),
        client.requests_sent(),
        started.elapsed().as_millis()
    );
    match worst {
        Some(e) => Err(e),
        None if report.kept > 0 => Err(Error::RunTimeout(config.run_timeout.as_secs())),
        None => Ok(()),
    }
}

/// The human summary: one line, then one line per key left with events.
fn summary(report: &FlushReport) -> String {
    let mut text = format!(
        "flushed {} event(s) for {} key(s); {} still kept",
        report.delivered,
        report.keys.len(),
        report.kept
    );
    for k in report
        .keys
        .iter()
        .filter(|k| k.error.is_some() || k.kept > 0)
    {
        let key = if k.service.is_empty() {
            k.node.clone()
        } else {
            format!("{}/{}", k.node, k.service)
        };
        let _ = write!(
            text,
            "\n  {} kept {}: {}",
            output::sanitize(&key),
            k.kept,
            k.error
                .as_deref()
                .unwrap_or("not reached before run_timeout")
        );
    }
    text
}
