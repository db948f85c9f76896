//! `reconcile`: make GLPI mirror the engine's current state. Reads the
//! source of the `[reconcile]` table (or `--status-file`) once
//! (`monitor`), refuses stale news (exit 8, nothing changed), then lets the
//! engine solve and open what is out of step, and prints one line per key
//! it acted upon or left for a reason worth saying, then a summary
//! (`--json`: one object). Without a source it says it is not configured
//! and exits 0: the timer is harmless on a site that does not use it.
//!
//! Exit status: 0, or 8 for the source, 3 for the configuration, and for
//! changes that failed the worst of their classes (6 > 5 > 4), like `flush`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::globals::{Globals, finishing};
use crate::cli::ReconcileArgs;
use crate::config::{Config, ReconcileConfig, ReconcileSource};
use crate::core::Key;
use crate::core::reconcile::Why;
use crate::engine::{Action, EngineError, KeyLine, Reconciled};
use crate::error::{Error, ExitStatus};
use crate::monitor::{self, Icinga2Settings, Limits, Snapshot, Source};
use crate::output;

#[derive(Debug, Serialize)]
struct Report {
    configured: bool,
    source: String,
    /// The moment the engine's state describes (RFC 3339).
    taken: String,
    /// When the engine last started, when it says (RFC 3339).
    engine_started: Option<String>,
    objects: usize,
    open_tickets: usize,
    dry_run: bool,
    solved: usize,
    opened: usize,
    left: usize,
    failed: usize,
    keys: Vec<Line>,
    /// Requests sent to GLPI, and to the engine's source.
    requests: u32,
    source_requests: u32,
    ms: u128,
}

#[derive(Debug, Serialize)]
struct Line {
    #[serde(flatten)]
    key: Key,
    action: &'static str,
    ticket: Option<u64>,
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// For people: what was done and why.
    #[serde(skip)]
    text: String,
}

pub(crate) async fn run(globals: &Globals, args: &ReconcileArgs) -> Result<(), Error> {
    let started = Instant::now();
    // Not configured is said before the example values are refused: the
    // package starts the timer's unit at install, before anyone edited it.
    let config = globals.load_config()?;
    let settings = match (&args.status_file, &config.reconcile) {
        (Some(file), Some(table)) => ReconcileConfig {
            source: ReconcileSource::StatusFile(file.clone()),
            ..table.clone()
        },
        (Some(file), None) => {
            ReconcileConfig::with_source(ReconcileSource::StatusFile(file.clone()))
        }
        (None, Some(table)) => table.clone(),
        (None, None) => {
            let text = format!(
                "reconcile: not configured (no [reconcile] table in {}): nothing to do",
                globals.config_path.display()
            );
            output::emit(
                globals.json,
                &serde_json::json!({ "configured": false }),
                &text,
            )?;
            return Ok(());
        }
    };
    crate::config::require_real(&config, &globals.config_path)?;
    let source = source(&globals.config_path, &settings.source)?;
    let snapshot = monitor::read(&source, limits(&config)).await?;
    let now = jiff::Timestamp::now();
    monitor::fresh(&snapshot, now, settings.max_age)?;
    let store = globals.open_store(&config)?;
    let engine = globals.engine(&config, &store, started);
    let done = finishing(&store, async {
        Ok(Box::pin(engine.reconcile(&snapshot, &settings, args.dry_run)).await?)
    })
    .await?;
    let (report, worst) = report(&snapshot, done, args.dry_run, &config, started);
    output::emit(globals.json, &report, &summary(&report, &snapshot, now))?;
    match worst {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// How long reading the engine's state may take: GLPI's timeouts.
pub(super) fn limits(config: &Config) -> Limits {
    Limits {
        connect_timeout: config.connect_timeout,
        timeout: config.request_timeout,
    }
}

/// The engine's source as `monitor` reads it; the Icinga 2 password is
/// read now (its file's errors are the configuration's, exit 3).
pub(super) fn source(config_path: &Path, source: &ReconcileSource) -> Result<Source, Error> {
    Ok(match source {
        ReconcileSource::StatusFile(path) => Source::StatusFile(path.clone()),
        ReconcileSource::Livestatus(path) => Source::Livestatus(path.clone()),
        ReconcileSource::Icinga2(api) => Source::Icinga2(Icinga2Settings {
            url: api.url.clone(),
            user: api.user.clone(),
            password: api.password(config_path)?,
            ca_file: api.ca_file.clone(),
        }),
    })
}

/// The report, and the worst failure of the changes (sets the status).
fn report(
    snapshot: &Snapshot,
    done: Reconciled,
    dry_run: bool,
    config: &Config,
    started: Instant,
) -> (Report, Option<EngineError>) {
    let mut worst: Option<EngineError> = None;
    let mut keys = Vec::with_capacity(done.keys.len());
    for line in done.keys {
        keys.push(describe(&line, config));
        if let Action::Failed(e) = line.action {
            let status = |e: &EngineError| ExitStatus::from(e.failure());
            if worst.as_ref().is_none_or(|w| status(&e) > status(w)) {
                worst = Some(e);
            }
        }
    }
    let count = |action: &[&str]| keys.iter().filter(|k| action.contains(&k.action)).count();
    let report = Report {
        configured: true,
        source: snapshot.source.clone(),
        taken: snapshot.taken.to_string(),
        engine_started: snapshot.program_start.map(|t| t.to_string()),
        objects: snapshot.objects.len(),
        open_tickets: done.open_tickets,
        dry_run,
        solved: count(&["solved", "would_solve"]),
        opened: count(&["opened", "would_open"]),
        left: count(&["left"]),
        failed: count(&["failed"]),
        keys,
        requests: done.requests,
        source_requests: snapshot.reads,
        ms: started.elapsed().as_millis(),
    };
    (report, worst)
}

/// One key's line: what was done, for `--json` and for people.
fn describe(line: &KeyLine, config: &Config) -> Line {
    let who = output::sanitize(&format!(
        "{}{}{}",
        line.key.node,
        if line.key.service.is_empty() { "" } else { " " },
        line.key.service
    ));
    let state = line.state.map(|s| s.to_string());
    let since = line.since.map(|t| {
        t.to_zoned(jiff::tz::TimeZone::system())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    });
    let state_text = state.clone().unwrap_or_default();
    let since_text = since
        .as_deref()
        .map_or_else(String::new, |s| format!(" since {s}"));
    let mut error = None;
    let mut reason = None;
    let (action, text) = match &line.action {
        Action::Solved(id) => (
            "solved",
            format!(
                "solved ticket {id} ({who}): {state_text}{since_text}, the engine sent no recovery"
            ),
        ),
        Action::WouldSolve(id) => (
            "would_solve",
            format!(
                "would solve ticket {id} ({who}): {state_text}{since_text}, the engine sent no \
                 recovery"
            ),
        ),
        Action::Opened(id) => (
            "opened",
            format!("opened ticket {id} ({who}): {state_text}, no ticket was open"),
        ),
        Action::WouldOpen => (
            "would_open",
            format!(
                "would open a ticket ({who}): {state_text}, no ticket is open (priority {})",
                config.default_priority
            ),
        ),
        Action::Left(why) => {
            reason = Some(why.code());
            let ticket = line
                .ticket
                .map_or_else(String::new, |t| format!(" (ticket {t})"));
            ("left", format!("left {who}{ticket}: {}", because(*why)))
        }
        Action::Failed(e) => {
            let message = output::sanitize(&crate::text::error_line(e));
            error = Some(message.clone());
            ("failed", format!("failed {who}: {message}"))
        }
    };
    Line {
        key: line.key.clone(),
        action,
        ticket: line.ticket,
        state,
        since,
        reason,
        error,
        text,
    }
}

/// Why a key was left, for people.
fn because(why: Why) -> String {
    match why {
        Why::UnknownToEngine => "the engine does not know this object any more".into(),
        Why::NotChecked => "not checked since the engine started".into(),
        Why::Soft => "in a soft state: the engine has not decided yet".into(),
        Why::Recent => "its state is younger than margin: a notification may be on its way".into(),
        Why::Downtime => "in a downtime: its end settles it".into(),
        Why::HostDown => "its host is DOWN or UNREACHABLE: the host's ticket says it".into(),
        Why::ClosedInGlpi(id) => format!(
            "ticket {id} was solved or closed in GLPI by a person: the next problem notification \
             opens a new one"
        ),
        Why::CreateOff => "create_missing is off".into(),
        Why::NotSeen => {
            "never seen by esia-glpi, and not named by create_groups/create_names".into()
        }
        Why::Busy => {
            "a notification of it is being delivered or is kept: the next reconcile looks \
                      again"
                .into()
        }
        Why::Newer => "a notification changed it since the engine's state was read".into(),
    }
}

/// The human text: the source and GLPI, one line per key, the counts.
fn summary(report: &Report, snapshot: &Snapshot, now: jiff::Timestamp) -> String {
    let age = if snapshot.written {
        let secs = Duration::try_from(now.duration_since(snapshot.taken))
            .unwrap_or(Duration::ZERO)
            .as_secs();
        format!(" (written {secs} s ago)")
    } else {
        String::new()
    };
    let mut text = format!(
        "reconcile: {} objects from {}{age}, {} open tickets in GLPI{}",
        report.objects,
        output::sanitize(&report.source),
        report.open_tickets,
        if report.dry_run {
            " (dry run: nothing is changed)"
        } else {
            ""
        }
    );
    for line in &report.keys {
        let _ = write!(text, "\n{}", line.text);
    }
    let _ = write!(
        text,
        "\n→ {}solved {}, {}opened {}, left {}",
        if report.dry_run { "would have " } else { "" },
        report.solved,
        if report.dry_run { "would have " } else { "" },
        report.opened,
        report.left
    );
    if report.failed > 0 {
        let _ = write!(text, ", failed {}", report.failed);
    }
    text
}
