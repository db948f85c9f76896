//! `flush`: deliver the events kept in the spool, every key, oldest first,
//! within `run_timeout` for the whole run. Exits with the worst status of the
//! keys it handled (the highest code: 6 > 5 > 4), then 9 when events kept
//! for another GLPI are left, 0 when the spool is empty afterwards. Keys not
//! reached in time stay for the next flush.

use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;

use super::globals::{Globals, finishing};
use crate::core::Key;
use crate::engine::EngineError;
use crate::error::{Error, ExitStatus};
use crate::output;

#[derive(Debug, Serialize)]
struct KeyLine {
    #[serde(flatten)]
    key: Key,
    delivered: usize,
    kept: usize,
    /// Kept for another GLPI: `state adopt` hands them to this one.
    #[serde(skip_serializing_if = "is_zero")]
    foreign: usize,
    /// Kept by another configuration before any GLPI answered it: that
    /// configuration's runs deliver them.
    #[serde(skip_serializing_if = "is_zero")]
    other_config: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Serialize)]
struct FlushReport {
    delivered: usize,
    kept: usize,
    /// Kept for another GLPI (exit 9 while any is left).
    foreign: usize,
    /// Kept by another configuration.
    other_config: usize,
    keys: Vec<KeyLine>,
}

pub(crate) async fn run(globals: &Globals) -> Result<(), Error> {
    let started = Instant::now();
    let config = globals.load_glpi_config()?;
    let store = globals.open_store(&config)?;
    let engine = globals.engine(&config, &store, started);
    // Boxed: the delivery's state machine is large.
    let flushed = finishing(&store, async { Ok(Box::pin(engine.flush()).await?) }).await?;
    let mut report = FlushReport {
        delivered: 0,
        kept: 0,
        foreign: 0,
        other_config: 0,
        keys: Vec::new(),
    };
    if flushed.is_empty() {
        engine.flushed();
        output::emit(globals.json, &report, "nothing to flush")?;
        return Ok(());
    }
    let mut worst: Option<EngineError> = None;
    for key in flushed {
        let error = key
            .failure
            .as_ref()
            .map(|e| output::sanitize(&e.to_string()));
        if let Some(e) = key.failure {
            let status = |e: &EngineError| ExitStatus::from(e.failure());
            if worst.as_ref().is_none_or(|w| status(&e) > status(w)) {
                worst = Some(e);
            }
        }
        report.keys.push(KeyLine {
            key: key.key,
            delivered: key.delivered,
            kept: key.kept,
            foreign: key.foreign,
            other_config: key.other_config,
            error,
        });
    }
    report.delivered = report.keys.iter().map(|k| k.delivered).sum();
    report.kept = report.keys.iter().map(|k| k.kept).sum();
    report.foreign = report.keys.iter().map(|k| k.foreign).sum();
    report.other_config = report.keys.iter().map(|k| k.other_config).sum();
    // Every event this configuration could deliver was: the flush works
    // (`health` reads when it last did).
    if worst.is_none() && report.kept == 0 {
        engine.flushed();
    }
    output::emit(globals.json, &report, &summary(&report))?;
    match worst {
        Some(e) => Err(e.into()),
        None if report.kept > 0 => {
            Err(EngineError::RunTimeout(config.run_timeout.as_secs()).into())
        }
        None if report.foreign > 0 => Err(Error::ForeignKept {
            events: report.foreign,
            keys: report.keys.iter().filter(|k| k.foreign > 0).count(),
        }),
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
    if report.foreign > 0 {
        let _ = write!(
            text,
            "; {} kept for another GLPI (`esia-glpi state adopt` hands them to this one)",
            report.foreign
        );
    }
    if report.other_config > 0 {
        let _ = write!(
            text,
            "; {} kept by another configuration (its own runs deliver them)",
            report.other_config
        );
    }
    for k in report.keys.iter().filter(|k| k.foreign > 0) {
        let _ = write!(
            text,
            "\n  {} kept {} for another GLPI",
            output::sanitize(&k.key.to_string()),
            k.foreign
        );
    }
    for k in report.keys.iter().filter(|k| k.other_config > 0) {
        let _ = write!(
            text,
            "\n  {} kept {} by another configuration",
            output::sanitize(&k.key.to_string()),
            k.other_config
        );
    }
    for k in report
        .keys
        .iter()
        .filter(|k| k.error.is_some() || k.kept > 0)
    {
        let _ = write!(
            text,
            "\n  {} kept {}: {}",
            output::sanitize(&k.key.to_string()),
            k.kept,
            k.error
                .as_deref()
                .unwrap_or("not reached before run_timeout")
        );
    }
    text
}
