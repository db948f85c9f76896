//! `notify`: one state change. Resolve the event → the engine delivers it →
//! print what became of it → the notification mail, when asked for.
//!
//! Exit status (README "Exit status"): the ticket action's status wins. When
//! the ticket action failed (4, 5, 6) the mail still goes — it is the fallback
//! channel and says the ticket is pending — and a mail failure is only logged.
//! When the ticket action succeeded and the mail failed, the run exits 7: the
//! ticket is done, the mail is not retried.

use std::time::Instant;

use super::globals::{Globals, finishing, monitor_env};
use crate::cli::NotifyArgs;
use crate::config::{self, Config, ConfigError};
use crate::core::{Event, Failure, GlpiId, MonitorEnv, Outcome};
use crate::engine::{Clock, Engine};
use crate::error::Error;
use crate::output::{self, NotifyReport};
use crate::state;
use crate::text::{self, MailTicket};

pub(crate) async fn run(globals: &Globals, args: &NotifyArgs) -> Result<(), Error> {
    let started = Instant::now();
    let config = match globals.load_glpi_config() {
        Ok(config) => config,
        Err(Error::Config(e)) => return keep_unconfigured(globals, args, e),
        Err(e) => return Err(e),
    };
    let env = monitor_env();
    let clock = Clock::system();
    let resolved = Event::resolve(&args.given(), &env, config.default_priority, clock.now())?;
    for w in &resolved.warnings {
        tracing::warn!("{w}");
    }
    let event = Event {
        started: globals.started.clone(),
        ..resolved.event
    };
    let (outcome, result) = deliver(globals, &config, &event, &clock, started).await;
    if args.send_mail || !args.mails.is_empty() {
        return mail(&config, args, &env, &event, &clock, outcome, result);
    }
    result
}

/// The configuration cannot be read or is invalid (`error`, exit 3): the
/// event is kept all the same (SPEC "A configuration mistake loses
/// nothing"), in the outbox of the state directory — `--state-dir`, else
/// the one the file names if it can be read as TOML, else the default if it
/// exists —
/// bound to this configuration file: the first run or `flush` that reads
/// the file once fixed delivers it (with its `default_priority` when no
/// `-L` was given), never another configuration's. Prints `spooled`.
fn keep_unconfigured(
    globals: &Globals,
    args: &NotifyArgs,
    error: ConfigError,
) -> Result<(), Error> {
    let kept = match kept_unconfigured(globals, args) {
        Ok((event, path)) => {
            let outcome = Outcome::Kept {
                ticket: None,
                failure: Failure::Config,
                reason: text::error_line(&error),
            };
            let report = NotifyReport::new(&event, &outcome, |_| String::new());
            if let Err(printed) = output::notify(globals.json, &report) {
                tracing::error!("{}", text::error_line(&Error::Output(printed)));
            }
            format!(
                "the event is kept ({}): once {} is fixed, the next run or `esia-glpi flush` \
                 reading it delivers it",
                path.display(),
                globals.config_path.display()
            )
        }
        Err(why) => why,
    };
    Err(Error::Unconfigured { error, kept })
}

/// [`keep_unconfigured`]'s keeping: the event and where it is kept, or why
/// it could not be.
fn kept_unconfigured(
    globals: &Globals,
    args: &NotifyArgs,
) -> Result<(Event, std::path::PathBuf), String> {
    let env = monitor_env();
    let clock = Clock::system();
    let resolved = Event::resolve(&args.given(), &env, 3, clock.now()).map_err(|usage| {
        format!(
            "the event could not be kept either: {}",
            text::error_line(&usage)
        )
    })?;
    let event = Event {
        started: globals.started.clone(),
        default_priority: args.priority.is_none(),
        ..resolved.event
    };
    // The default directory is the package's: it is used only when it is
    // there (a missing one says nothing was set up here).
    let root = globals
        .state_dir
        .clone()
        .or_else(|| config::state_dir_of(&globals.config_path))
        .or_else(|| Some(config::DEFAULT_STATE_DIR.into()))
        .filter(|dir| {
            dir.as_path() != std::path::Path::new(config::DEFAULT_STATE_DIR) || dir.is_dir()
        })
        .ok_or("the event is not kept: no state directory is known (give --state-dir)")?;
    let binding = GlpiId::of_config(None, &globals.config_place());
    let path = state::keep_unconfigured(&root, &event, &binding).map_err(|e| {
        format!(
            "the event could not be kept either: {}",
            text::error_line(&e)
        )
    })?;
    Ok((event, path))
}

/// Delivers the event and prints what became of it; the outcome is `None`
/// when the run failed before the event could be kept.
async fn deliver(
    globals: &Globals,
    config: &Config,
    event: &Event,
    clock: &Clock,
    started: Instant,
) -> (Option<Outcome>, Result<(), Error>) {
    let delivered = match globals.open_store(config) {
        Ok(store) => {
            let engine = Engine::new(
                config,
                &store,
                store.cache(),
                clock.clone(),
                started,
                &globals.config_place(),
            );
            // Boxed: the delivery's state machine is large.
            finishing(&store, async { Ok(Box::pin(engine.notify(event)).await?) }).await
        }
        Err(e) => Err(e.into()),
    };
    match delivered {
        Ok(delivery) => {
            let report = NotifyReport::new(event, &delivery.outcome, |id| config.ticket_url(id));
            let printed = output::notify(globals.json, &report);
            let result = match (delivery.failure, printed) {
                (Some(e), _) => Err(e.into()),
                (None, Err(e)) => Err(Error::Output(e)),
                (None, Ok(())) => Ok(()),
            };
            (Some(delivery.outcome), result)
        }
        // The state database could not be reached, but the event is kept
        // in the state directory: reported kept (`spooled`), exit 6.
        Err(e) if kept_locally(&e) => {
            let outcome = Outcome::Kept {
                ticket: None,
                failure: e.failure(),
                reason: text::error_line(&e),
            };
            let report = NotifyReport::new(event, &outcome, |id| config.ticket_url(id));
            if let Err(printed) = output::notify(globals.json, &report) {
                tracing::error!("{}", text::error_line(&Error::Output(printed)));
            }
            (Some(outcome), Err(e))
        }
        Err(e) => (None, Err(e)),
    }
}

/// True when `e` says this run's event is kept in the state directory.
fn kept_locally(e: &Error) -> bool {
    match e {
        Error::State(s) | Error::Engine(crate::engine::EngineError::State(s)) => {
            s.event_kept_locally()
        }
        _ => false,
    }
}

/// Sends the notification mail and folds a mail failure into the run's
/// result: the ticket's own error wins; a mail failure alone exits 7.
fn mail(
    config: &Config,
    args: &NotifyArgs,
    env: &MonitorEnv,
    event: &Event,
    clock: &Clock,
    outcome: Option<Outcome>,
    result: Result<(), Error>,
) -> Result<(), Error> {
    let outcome = match (outcome, &result) {
        (Some(outcome), _) => outcome,
        // The run failed before the event could be delivered or kept.
        (None, Err(e)) => Outcome::Kept {
            ticket: None,
            failure: e.failure(),
            reason: text::error_line(e),
        },
        (None, Ok(())) => return result,
    };
    let ticket = MailTicket {
        url: outcome.ticket().map(|id| config.ticket_url(id)),
        outcome,
    };
    let date = clock.date(event.time);
    let sent = crate::mail::recipients(&args.mails, env.get("CONTACTEMAIL")).and_then(|to| {
        crate::mail::send_notification(config, &to, event, &ticket, &date).map(|()| to)
    });
    match (sent, result) {
        (Ok(to), result) => {
            let list: Vec<String> = to.iter().map(ToString::to_string).collect();
            tracing::info!(
                "{}: notification mail sent to {}",
                event.key,
                list.join(", ")
            );
            result
        }
        (Err(e), Ok(())) => Err(Error::Mail(e)),
        (Err(e), Err(ticket_error)) => {
            tracing::error!("{}: {}", event.key, text::error_line(&e));
            Err(ticket_error)
        }
    }
}
