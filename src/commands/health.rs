//! `health`: a check the monitoring engine runs on the program itself, as a
//! monitoring plugin does — one line on standard output with performance
//! data, the exit status 0 OK, 1 WARNING, 2 CRITICAL or 3 UNKNOWN. What it
//! looks at, in the state only (never GLPI): the events kept for this
//! configuration's GLPI (how many, the oldest's age), those kept for
//! another GLPI or by another configuration, the keys whose delivery keeps
//! failing (CRITICAL when GLPI refused them: only a fix delivers them), and
//! the age of the last successful `flush` (the timer's).

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::globals::{Globals, finishing};
use crate::cli::HealthArgs;
use crate::engine::Health;
use crate::error::Error;
use crate::output;

/// The plugin states, in order of gravity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
enum Status {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

#[derive(Serialize)]
struct Report {
    status: Status,
    /// What is wrong, one phrase each, worst first.
    problems: Vec<String>,
    kept: usize,
    oldest_kept_secs: Option<u64>,
    foreign: usize,
    other_config: usize,
    failing_keys: usize,
    last_flush_secs: Option<u64>,
}

pub(crate) async fn run(globals: &Globals, args: HealthArgs) -> Result<(), Error> {
    let measured = measure(globals, args.attempts).await;
    let report = match measured {
        Ok(health) => judge(&health, args),
        Err(e) => Report {
            status: Status::Unknown,
            problems: vec![crate::text::error_line(&e)],
            kept: 0,
            oldest_kept_secs: None,
            foreign: 0,
            other_config: 0,
            failing_keys: 0,
            last_flush_secs: None,
        },
    };
    output::emit(globals.json, &report, &line(&report, args))?;
    match report.status {
        Status::Ok => Ok(()),
        status => Err(Error::Plugin { code: status as u8 }),
    }
}

async fn measure(globals: &Globals, attempts: u32) -> Result<Health, Error> {
    let config = globals.load_config()?;
    let store = globals.open_store(&config)?;
    let engine = globals.engine(&config, &store, std::time::Instant::now());
    finishing(&store, async { Ok(engine.health(attempts).await?) }).await
}

fn secs(d: Option<Duration>) -> Option<u64> {
    d.map(|d| d.as_secs())
}

/// The status and the problems of what was measured.
fn judge(h: &Health, args: HealthArgs) -> Report {
    let mut problems: Vec<(Status, String)> = Vec::new();
    let oldest = secs(h.oldest);
    if let Some(age) = oldest {
        let status = if age >= args.kept_critical {
            Status::Critical
        } else if age >= args.kept_warning {
            Status::Warning
        } else {
            Status::Ok
        };
        if status > Status::Ok {
            problems.push((
                status,
                format!(
                    "{} event(s) kept, the oldest for {age} s (is GLPI down? `esia-glpi state \
                     list`)",
                    h.kept
                ),
            ));
        }
    }
    let named = |refused: bool| {
        let keys: Vec<String> = h
            .failing
            .iter()
            .filter(|f| f.refused == refused)
            .map(|f| format!("{} ({}×)", f.key, f.attempts))
            .collect();
        let more = keys.len().saturating_sub(3);
        let mut text = keys.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        if more > 0 {
            let _ = write!(text, " and {more} more");
        }
        (keys.len(), text)
    };
    let (refused, which) = named(true);
    if refused > 0 {
        problems.push((
            Status::Critical,
            format!(
                "GLPI refused {refused} key(s): {which} (`esia-glpi state show NODE SERVICE` \
                 gives the error)"
            ),
        ));
    }
    let (failing, which) = named(false);
    if failing > 0 {
        problems.push((
            Status::Warning,
            format!("{failing} key(s) failing: {which}"),
        ));
    }
    if h.foreign > 0 {
        problems.push((
            Status::Warning,
            format!(
                "{} event(s) kept for another GLPI (`esia-glpi state adopt`)",
                h.foreign
            ),
        ));
    }
    let flush = secs(h.last_flush);
    match flush {
        None => problems.push((
            Status::Warning,
            "no flush has succeeded yet (is esia-glpi-flush.timer enabled?)".into(),
        )),
        Some(age) if age >= args.flush_critical => problems.push((
            Status::Critical,
            format!("the last successful flush was {age} s ago"),
        )),
        Some(age) if age >= args.flush_warning => problems.push((
            Status::Warning,
            format!("the last successful flush was {age} s ago"),
        )),
        Some(_) => {}
    }
    problems.sort_by_key(|(s, _)| std::cmp::Reverse(*s));
    Report {
        status: problems.first().map_or(Status::Ok, |(s, _)| *s),
        problems: problems.into_iter().map(|(_, p)| p).collect(),
        kept: h.kept,
        oldest_kept_secs: oldest,
        foreign: h.foreign,
        other_config: h.other_config,
        failing_keys: h.failing.len(),
        last_flush_secs: flush,
    }
}

/// `ESIA-GLPI <STATUS> - <what> | <performance data>`.
fn line(r: &Report, args: HealthArgs) -> String {
    let status = match r.status {
        Status::Ok => "OK",
        Status::Warning => "WARNING",
        Status::Critical => "CRITICAL",
        Status::Unknown => "UNKNOWN",
    };
    let what = if r.problems.is_empty() {
        format!(
            "{} event(s) kept; last flush {}",
            r.kept,
            r.last_flush_secs
                .map_or_else(|| "never".into(), |s| format!("{s} s ago"))
        )
    } else {
        r.problems.join("; ")
    };
    let mut text = format!("ESIA-GLPI {status} - {}", output::sanitize(&what));
    if r.status != Status::Unknown {
        let _ = write!(
            text,
            " | kept={} oldest={}s;{};{} foreign={} other_config={} failing={} \
             flush_age={}s;{};{}",
            r.kept,
            r.oldest_kept_secs.unwrap_or(0),
            args.kept_warning,
            args.kept_critical,
            r.foreign,
            r.other_config,
            r.failing_keys,
            r.last_flush_secs
                .map_or_else(|| "U".into(), |s| s.to_string()),
            args.flush_warning,
            args.flush_critical
        );
    }
    text
}
