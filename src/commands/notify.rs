//! `notify`: one state change, end to end.
//!
//! Lock the key → write the event to the key's spool (write-ahead) → deliver
//! the key's spool oldest first (older kept events, then this one) → report.
//! The lock is held across read → decide → GLPI → record, so runs of one key
//! are serialised; the event leaves the spool only once GLPI confirmed it.

use std::time::{Duration, Instant};

use super::deliver::{Deliverer, KeyReport, action_name};
use super::{Globals, glpi_settings};
use crate::cli::NotifyArgs;
use crate::config::Config;
use crate::error::Error;
use crate::event::{Event, MonitorEnv, State};
use crate::glpi::Client;
use crate::lifecycle::{Outcome, Remote, Skip, Step};
use crate::output::{self, NotifyReport};
use crate::state::{StateDir, StateError};

pub(crate) fn run(globals: &Globals, args: &NotifyArgs) -> Result<(), Error> {
    let started = Instant::now();
    let config = globals.load_config()?;
    let event = Event::resolve(
        args,
        &MonitorEnv::capture(),
        config.default_priority,
        jiff::Timestamp::now(),
    )?;
    // The notification mail (--mail, SEND_TICKET_GLPI_MAIL) goes after the
    // ticket action, whatever its fate, once the key's lock is released.
    let mut shown = None;
    let result = deliver(globals, &config, &event, started, &mut shown);
    crate::mail::after_notify(&config, args, &event, shown.as_ref(), result)
}

/// Lock → spool → deliver → report; `shown` receives the report printed.
fn deliver(
    globals: &Globals,
    config: &Config,
    event: &Event,
    started: Instant,
    shown: &mut Option<NotifyReport>,
) -> Result<(), Error> {
    let dir = StateDir::open(globals.state_root(config))?;
    let _lock = match dir.lock(&event.key, config.lock_timeout) {
        Ok(lock) => lock,
        Err(e @ StateError::LockTimeout { .. }) => {
            // Keep the event: the run holding the lock, the next one or `flush`
            // delivers it.
            dir.spool_push(event)?;
            let error = Error::from(e);
            *shown = Some(show(globals, spooled(config, event, None, &error)));
            return Err(error);
        }
        Err(e) => return Err(e.into()),
    };
    dir.spool_push(event)?;

    let client = Client::new(glpi_settings(config))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let budget = config.run_timeout;
    let deadline = started + budget;
    let mut deliverer = Deliverer::new(config, &dir, &client);
    let result = runtime.block_on(async {
        let result = tokio::time::timeout(
            deadline.saturating_duration_since(Instant::now()),
            deliverer.deliver_key(&event.key, || {
                deadline.saturating_duration_since(Instant::now())
            }),
        )
        .await
        .unwrap_or(Err(Error::RunTimeout(budget.as_secs())));
        let _ = tokio::time::timeout(Duration::from_secs(5), deliverer.close()).await;
        result
    });
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            // The event is in the spool (written ahead): say so.
            *shown = Some(show(globals, spooled(config, event, None, &error)));
            log_run(event, "spooled", None, &client, started, None);
            return Err(error);
        }
    };
    finish(globals, config, event, report, &client, started, shown)
}

/// Prints a report and hands it back (for the mail).
fn show(globals: &Globals, report: NotifyReport) -> NotifyReport {
    output::notify(globals.json, &report);
    report
}

/// Reports the fate of this run's event: delivered, or kept behind a failure.
fn finish(
    globals: &Globals,
    config: &Config,
    event: &Event,
    report: KeyReport,
    client: &Client,
    started: Instant,
    shown: &mut Option<NotifyReport>,
) -> Result<(), Error> {
    let mine = report.delivered.iter().find(|d| d.event == *event);
    if report.delivered.len() > usize::from(mine.is_some()) {
        tracing::info!(
            "{}: delivered {} older kept event(s) first",
            event.key,
            report.delivered.len() - usize::from(mine.is_some())
        );
    }
    if let Some(d) = mine {
        let action = action_name(d.plan.outcome);
        let reason = match d.plan.outcome {
            Outcome::Ignored(skip) => Some(skip_reason(skip, event.state)),
            _ => None,
        };
        let replaces = d.plan.steps.iter().find_map(|s| match s {
            Step::Create {
                previous: Some((id, _)),
            } => Some(*id),
            _ => None,
        });
        log_run(event, action, d.ticket, client, started, Some(report.left));
        *shown = Some(show(
            globals,
            NotifyReport {
                action,
                ticket_id: d.ticket,
                url: d.ticket.map(|id| config.ticket_url(id)),
                node: event.key.node.clone(),
                service: event.key.service.clone(),
                state: event.state.json_name(),
                reason,
                replaces,
            },
        ));
        return Ok(());
    }
    let error = report
        .failure
        .unwrap_or(Error::RunTimeout(config.run_timeout.as_secs()));
    log_run(
        event,
        "spooled",
        report.ticket,
        client,
        started,
        Some(report.left),
    );
    *shown = Some(show(globals, spooled(config, event, report.ticket, &error)));
    Err(error)
}

/// The report of an event kept for a later delivery.
fn spooled(config: &Config, event: &Event, ticket: Option<u64>, error: &Error) -> NotifyReport {
    NotifyReport {
        action: "spooled",
        ticket_id: ticket,
        url: ticket.map(|id| config.ticket_url(id)),
        node: event.key.node.clone(),
        service: event.key.service.clone(),
        state: event.state.json_name(),
        reason: Some(format!(
            "kept for the next run or `esia-glpi flush`: {}",
            output::sanitize(&error.to_string())
        )),
        replaces: None,
    }
}

/// One structured line per run (with -v, or in the journal).
fn log_run(
    event: &Event,
    action: &str,
    ticket: Option<u64>,
    client: &Client,
    started: Instant,
    left: Option<usize>,
) {
    tracing::info!(
        "run key={:?} event={} action={action} ticket={} requests={} ms={} spool={}",
        event.key.to_string(),
        event.state,
        ticket.map_or_else(|| "-".to_string(), |t| t.to_string()),
        client.requests_sent(),
        started.elapsed().as_millis(),
        left.map_or_else(|| "?".to_string(), |l| l.to_string()),
    );
}

pub(crate) fn skip_reason(skip: Skip, state: State) -> String {
    match skip {
        Skip::Renotification => format!("already recorded as {state}"),
        Skip::NoTicket => "no open ticket for this node and service".to_string(),
        Skip::ClosedInGlpi(id, remote) => {
            let how = match remote {
                Remote::Solved => "solved",
                Remote::Closed => "closed",
                Remote::Trashed => "put in the trash",
                Remote::Gone => "purged",
                Remote::Open => "open",
            };
            format!("ticket {id} was {how} in GLPI; nothing written into it")
        }
    }
}
