//! The engine's entry points for `notify` and `flush`.
//!
//! `notify`: keep the event first (so that a run killed at any instant
//! loses nothing), then wait for the key — first come, first served — while
//! watching for the event's receipt (`order.rs`): the run holding the key
//! delivers every kept event of the key in order, so a waiting run usually
//! finds its own event delivered and reports that outcome. A run that gets
//! the key delivers the queue ([`Run`](super::deliver::Run)).

use std::time::{Duration, Instant};

use super::clock::Clock;
use super::context::{CLOSE_TIMEOUT, Context, glpi_client};
use super::deliver::{KeyReport, Run};
use super::error::EngineError;
use super::order::{self, Turn};
use super::signals::Interrupts;
use crate::config::Config;
use crate::core::{Event, GlpiId, Key, Outcome};
use crate::glpi::Client;
use crate::state::{Cache, Held, Queue, Store};

/// How long closing the GLPI session may take once a signal asked to stop:
/// the engine sends SIGKILL soon after.
const CLOSE_WHEN_INTERRUPTED: Duration = Duration::from_secs(2);

/// The error of a run stopped by `signal`, said in one line.
fn interrupted(signal: &'static str, delivering: bool) -> EngineError {
    tracing::warn!(
        "interrupted by {signal}{}: the event is kept for the next run or `esia-glpi flush`",
        if delivering {
            " while delivering; the GLPI session is being closed"
        } else {
            " while waiting for the node and service"
        }
    );
    EngineError::Interrupted(signal)
}

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
    /// Events kept for the key but meant for another GLPI.
    pub(crate) foreign: usize,
    pub(crate) failure: Option<EngineError>,
}

/// The engine of one command: its context (configuration, state, clock).
/// The GLPI client is built by each operation, once it knows GLPI is needed
/// (after the event is kept).
pub(crate) struct Engine<'a, S> {
    pub(super) ctx: Context<'a, S>,
}

impl<'a, S: Store> Engine<'a, S> {
    pub(crate) fn new(
        config: &'a Config,
        store: &'a S,
        cache: Cache,
        clock: Clock,
        started: Instant,
    ) -> Engine<'a, S> {
        Engine {
            ctx: Context {
                config,
                store,
                cache,
                clock,
                started,
                glpi: GlpiId::new(config.glpi_identity()),
            },
        }
    }

    /// Handles one state change: keep the event (write-ahead), wait for the
    /// key, deliver the key's kept events in order, and say what became of
    /// this one.
    pub(crate) async fn notify(&self, event: &Event) -> Result<Delivery, EngineError> {
        let store = self.ctx.store;
        let mut stop = Interrupts::listen()?;
        // Kept before waiting for anything: a run killed now loses nothing.
        let place = store.keep(event, &self.ctx.glpi).await?;
        tracing::debug!("{}: event kept as {}", event.key, place.kept.id);
        let turn = tokio::select! {
            turn = order::wait_turn(&self.ctx, &place) => turn.unwrap_or_else(Turn::Kept),
            signal = stop.received() => Turn::Kept(interrupted(signal, false)),
        };
        let (mut held, queue) = match turn {
            Turn::Hold(held, queue) => (held, queue),
            Turn::Delivered(outcome) => {
                tracing::info!("{}: delivered by another run of the key", event.key);
                self.log_run(0, event, outcome.action(), outcome.ticket(), None);
                return Ok(Delivery {
                    outcome,
                    failure: None,
                });
            }
            Turn::Kept(error) => {
                self.log_run(0, event, "spooled", None, None);
                return Ok(Self::kept(None, error));
            }
        };
        let glpi = glpi_client(self.ctx.config, &self.ctx.cache)?;
        let result = self.deliver(&glpi, &mut held, queue, &mut stop).await;
        drop(held);
        let report = match result {
            Ok(report) => report,
            Err(error) => {
                // The event is kept (written ahead): say so.
                self.log_run(glpi.requests_sent(), event, "spooled", None, None);
                return Ok(Self::kept(None, error));
            }
        };
        let mine = &place.kept.id;
        let others = report.delivered.iter().filter(|(id, _)| id != mine).count();
        if others > 0 {
            tracing::info!("{}: delivered {others} other kept event(s)", event.key);
        }
        let delivered = report
            .delivered
            .into_iter()
            .find_map(|(id, outcome)| (id == *mine).then_some(outcome));
        let outcome = match delivered {
            Some(outcome) => Some(outcome),
            // Delivered by the run that held the key just before this one.
            None => store.receipt(&place.kept, &place.line).await?,
        };
        let requests = glpi.requests_sent();
        Ok(match outcome {
            Some(outcome) => {
                let (action, ticket) = (outcome.action(), outcome.ticket());
                self.log_run(requests, event, action, ticket, Some(report.left));
                Delivery {
                    outcome,
                    failure: None,
                }
            }
            None => {
                let error = report.failure.unwrap_or_else(|| self.ctx.run_timeout());
                self.log_run(requests, event, "spooled", report.ticket, Some(report.left));
                Self::kept(report.ticket, error)
            }
        })
    }

    /// Delivers the key's queue (as read once the key was held) within the
    /// run's time, then closes GLPI.
    async fn deliver(
        &self,
        glpi: &Client,
        held: &mut S::Held,
        queue: Queue,
        stop: &mut Interrupts,
    ) -> Result<KeyReport, EngineError> {
        let mut run = Run::new(&self.ctx, glpi);
        let result = self.deliver_within(&mut run, held, Some(queue), stop).await;
        let close = if matches!(result, Err(EngineError::Interrupted(_))) {
            CLOSE_WHEN_INTERRUPTED
        } else {
            CLOSE_TIMEOUT
        };
        let _ = tokio::time::timeout(close, run.close()).await;
        result
    }

    /// One key's queue, within the run's time, unless a signal stops it.
    async fn deliver_within(
        &self,
        run: &mut Run<'_, S>,
        held: &mut S::Held,
        queue: Option<Queue>,
        stop: &mut Interrupts,
    ) -> Result<KeyReport, EngineError> {
        tokio::select! {
            result = tokio::time::timeout(self.ctx.budget_left(), run.deliver_key(held, queue)) => {
                result.unwrap_or_else(|_| Err(self.ctx.run_timeout()))
            }
            signal = stop.received() => Err(interrupted(signal, true)),
        }
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
        requests: u32,
        event: &Event,
        action: &str,
        ticket: Option<u64>,
        left: Option<usize>,
    ) {
        tracing::info!(
            "run key={:?} event={} action={action} ticket={} requests={requests} ms={} spool={}",
            event.key.to_string(),
            event.state,
            ticket.map_or_else(|| "-".to_string(), |t| t.to_string()),
            self.ctx.started.elapsed().as_millis(),
            left.map_or_else(|| "?".to_string(), |l| l.to_string()),
        );
    }

    /// Delivers the kept events of every key, in order, within
    /// `run_timeout` for the whole run; keys not reached in time stay.
    pub(crate) async fn flush(&self) -> Result<Vec<KeyFlush>, EngineError> {
        let store = self.ctx.store;
        let keys = store.keys_with_kept_events().await?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut stop = Interrupts::listen()?;
        let glpi = glpi_client(self.ctx.config, &self.ctx.cache)?;
        let mut lines = Vec::with_capacity(keys.len());
        let mut run = Run::new(&self.ctx, &glpi);
        let mut stopped: Option<&'static str> = None;
        for key in keys {
            let mut line = KeyFlush {
                key,
                delivered: 0,
                kept: 0,
                foreign: 0,
                failure: None,
            };
            let outcome = if let Some(signal) = stopped {
                Err(EngineError::Interrupted(signal))
            } else if self.ctx.budget_left().is_zero() {
                Err(self.ctx.run_timeout())
            } else {
                let wait = self.ctx.config.lock_timeout.min(self.ctx.budget_left());
                match order::hold(store, &line.key, wait).await {
                    Err(e) => Err(e.into()),
                    Ok(mut held) => match held.queue().await {
                        Ok(queue) => {
                            line.kept = queue.kept.len();
                            self.deliver_within(&mut run, &mut held, Some(queue), &mut stop)
                                .await
                        }
                        Err(e) => Err(e.into()),
                    },
                }
            };
            if let Err(EngineError::Interrupted(signal)) = outcome {
                stopped = Some(signal);
            }
            match outcome {
                Ok(r) => {
                    line.delivered = r.delivered.len();
                    line.kept = r.left;
                    line.foreign = r.foreign;
                    line.failure = r.failure;
                }
                Err(e) => {
                    if line.kept == 0 {
                        // Not reached: what is kept, without the key.
                        line.kept = store.peek(&line.key).await.map_or(0, |(_, k)| k.len());
                    }
                    line.failure = Some(e);
                }
            }
            lines.push(line);
        }
        let close = if stopped.is_some() {
            CLOSE_WHEN_INTERRUPTED
        } else {
            CLOSE_TIMEOUT
        };
        let _ = tokio::time::timeout(close, run.close()).await;
        tracing::info!(
            "flush delivered={} kept={} keys={} requests={} ms={}",
            lines.iter().map(|l| l.delivered).sum::<usize>(),
            lines.iter().map(|l| l.kept).sum::<usize>(),
            lines.len(),
            glpi.requests_sent(),
            self.ctx.started.elapsed().as_millis()
        );
        Ok(lines)
    }
}
