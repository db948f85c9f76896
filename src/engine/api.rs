//! The engine's entry points for `notify` and `flush`: hold the key, keep
//! the event, deliver the key's queue ([`Run`](super::deliver::Run)), and
//! say what became of each event.

use std::time::Instant;

use super::clock::Clock;
use super::context::{CLOSE_TIMEOUT, Context, glpi_settings, runtime};
use super::deliver::Run;
use super::error::EngineError;
use crate::config::Config;
use crate::core::{Event, Key, Outcome};
use crate::glpi::Client;
use crate::state::{Cache, StateError, Store};

/// The fate of one `notify`.
#[derive(Debug)]
pub(crate) struct Delivery {
    /// What became of this run's event.
    pub(crate) outcome: Outcome,
    /// Why it was kept, when it was: sets the exit status.
    pub(crate) failure: Option<EngineError>,
}

/// What `flush` did for one key.
#[derive(Debug)]
pub(crate) struct KeyFlush {
    pub(crate) key: Key,
    pub(crate) delivered: usize,
    /// Events still kept for the key.
    pub(crate) kept: usize,
    pub(crate) failure: Option<EngineError>,
}

/// The engine of one command: its context (configuration, state, clock)
/// and the runtime it runs on. The GLPI client is built by each operation,
/// once it knows GLPI is needed (after the event is kept).
pub(crate) struct Engine<'a, S> {
    pub(super) ctx: Context<'a, S>,
    pub(super) runtime: tokio::runtime::Runtime,
}

impl<'a, S: Store> Engine<'a, S> {
    pub(crate) fn new(
        config: &'a Config,
        store: &'a S,
        cache: Cache,
        clock: Clock,
        started: Instant,
    ) -> Result<Engine<'a, S>, EngineError> {
        Ok(Engine {
            ctx: Context {
                config,
                store,
                cache,
                clock,
                started,
            },
            runtime: runtime()?,
        })
    }

    /// Handles one state change: hold the key, keep the event (write-ahead),
    /// deliver the key's kept events oldest first (older ones, then this
    /// one), and say what became of this one.
    pub(crate) fn notify(&self, event: &Event) -> Result<Delivery, EngineError> {
        self.runtime.block_on(async {
            let key = &event.key;
            let hold = match self.ctx.store.hold(key, self.ctx.config.lock_timeout).await {
                Ok(hold) => hold,
                Err(e @ StateError::LockTimeout { .. }) => {
                    // Keep the event: the run holding the key, the next one
                    // or `flush` delivers it.
                    self.ctx.store.keep(event).await?;
                    return Ok(Self::kept(None, e.into()));
                }
                Err(e) => return Err(e.into()),
            };
            let mine = self.ctx.store.keep(event).await?;
            let glpi = Client::new(glpi_settings(self.ctx.config))?;
            let mut run = Run::new(&self.ctx, &glpi);
            let result = tokio::time::timeout(self.ctx.budget_left(), run.deliver_key(key))
                .await
                .unwrap_or_else(|_| Err(self.ctx.run_timeout()));
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, run.close()).await;
            drop(hold);
            let report = match result {
                Ok(report) => report,
                Err(error) => {
                    // The event is kept (written ahead): say so.
                    self.log_run(&glpi, event, "spooled", None, None);
                    return Ok(Self::kept(None, error));
                }
            };
            let older = report
                .delivered
                .iter()
                .filter(|(id, _)| *id != mine.id)
                .count();
            if older > 0 {
                tracing::info!("{key}: delivered {older} older kept event(s) first");
            }
            let outcome = report
                .delivered
                .into_iter()
                .find_map(|(id, outcome)| (id == mine.id).then_some(outcome));
            Ok(match outcome {
                Some(outcome) => {
                    let (action, ticket) = (outcome.action(), outcome.ticket());
                    self.log_run(&glpi, event, action, ticket, Some(report.left));
                    Delivery {
                        outcome,
                        failure: None,
                    }
                }
                None => {
                    let error = report.failure.unwrap_or_else(|| self.ctx.run_timeout());
                    self.log_run(&glpi, event, "spooled", report.ticket, Some(report.left));
                    Self::kept(report.ticket, error)
                }
            })
        })
    }

    /// The delivery of an event kept behind `error`.
    fn kept(ticket: Option<u64>, error: EngineError) -> Delivery {
        Delivery {
            outcome: Outcome::Kept {
                ticket,
                failure: error.failure(),
                reason: crate::text::error_line(&error),
            },
            failure: Some(error),
        }
    }

    /// One structured line per run (with -v, or in the system log).
    fn log_run(
        &self,
        glpi: &Client,
        event: &Event,
        action: &str,
        ticket: Option<u64>,
        left: Option<usize>,
    ) {
        tracing::info!(
            "run key={:?} event={} action={action} ticket={} requests={} ms={} spool={}",
            event.key.to_string(),
            event.state,
            ticket.map_or_else(|| "-".to_string(), |t| t.to_string()),
            glpi.requests_sent(),
            self.ctx.started.elapsed().as_millis(),
            left.map_or_else(|| "?".to_string(), |l| l.to_string()),
        );
    }

    /// Delivers the kept events of every key, oldest first, within
    /// `run_timeout` for the whole run; keys not reached in time stay.
    pub(crate) fn flush(&self) -> Result<Vec<KeyFlush>, EngineError> {
        self.runtime.block_on(async {
            let keys = self.ctx.store.keys_with_kept_events().await?;
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let glpi = Client::new(glpi_settings(self.ctx.config))?;
            let mut lines = Vec::with_capacity(keys.len());
            let mut run = Run::new(&self.ctx, &glpi);
            for key in keys {
                let mut line = KeyFlush {
                    kept: self.ctx.store.kept(&key).await.map_or(0, |l| l.len()),
                    key,
                    delivered: 0,
                    failure: None,
                };
                let outcome = if self.ctx.budget_left().is_zero() {
                    Err(self.ctx.run_timeout())
                } else {
                    match self
                        .ctx
                        .store
                        .hold(
                            &line.key,
                            self.ctx.config.lock_timeout.min(self.ctx.budget_left()),
                        )
                        .await
                    {
                        Err(e) => Err(e.into()),
                        Ok(_hold) => {
                            tokio::time::timeout(self.ctx.budget_left(), run.deliver_key(&line.key))
                                .await
                                .unwrap_or_else(|_| Err(self.ctx.run_timeout()))
                        }
                    }
                };
                match outcome {
                    Ok(r) => {
                        line.delivered = r.delivered.len();
                        line.kept = r.left;
                        line.failure = r.failure;
                    }
                    Err(e) => line.failure = Some(e),
                }
                lines.push(line);
            }
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, run.close()).await;
            tracing::info!(
                "flush delivered={} kept={} keys={} requests={} ms={}",
                lines.iter().map(|l| l.delivered).sum::<usize>(),
                lines.iter().map(|l| l.kept).sum::<usize>(),
                lines.len(),
                glpi.requests_sent(),
                self.ctx.started.elapsed().as_millis()
            );
            Ok(lines)
        })
    }
}
