//! The engine's entry points for `notify` and `flush`.
//!
//! `notify`: keep the event first (so that a run killed at any instant
//! loses nothing), then wait for the key — first come, first served — while
//! watching for the event's receipt: the run holding the key delivers every
//! kept event of the key in order, so a waiting run usually finds its own
//! event delivered and reports that outcome. A run that gets the key
//! delivers the queue ([`Run`](super::deliver::Run)).

use std::time::{Duration, Instant};

use super::clock::Clock;
use super::context::{CLOSE_TIMEOUT, Context, glpi_client, runtime};
use super::deliver::{KeyReport, Run};
use super::error::EngineError;
use super::signals::Interrupts;
use crate::config::Config;
use crate::core::{Event, Key, Outcome};
use crate::glpi::Client;
use crate::state::{Cache, Kept, Look, StateError, Store};

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

/// How often a waiting run looks for its receipt and tries the key.
const WAIT_POLL: Duration = Duration::from_millis(25);

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

/// How a waiting run's wait for its key ended.
enum Turn<H> {
    /// It holds the key: it delivers; the key's kept events, read once it
    /// held it.
    Hold(H, Vec<Kept>),
    /// Another run delivered its event.
    Delivered(Outcome),
    /// Its event stays kept: the key could not be had in time, or a delivery
    /// tried after the event arrived failed.
    Kept(EngineError),
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
                glpi: config.glpi_identity(),
            },
            runtime: runtime()?,
        })
    }

    /// Runs `work` on the engine's runtime, then lets the state finish what
    /// it has in flight (whatever `work` returned).
    pub(super) fn block_on<T>(&self, work: impl Future<Output = T>) -> T {
        self.runtime.block_on(async {
            let result = work.await;
            self.ctx.store.finish().await;
            result
        })
    }

    /// Handles one state change: keep the event (write-ahead), wait for the
    /// key, deliver the key's kept events in order, and say what became of
    /// this one.
    pub(crate) fn notify(&self, event: &Event) -> Result<Delivery, EngineError> {
        self.block_on(async {
            let store = self.ctx.store;
            let mut stop = Interrupts::listen()?;
            // Kept before waiting for anything: a run killed now loses nothing.
            let mine = store.keep(event, &self.ctx.glpi).await?;
            tracing::debug!("{}: event kept as {}", event.key, mine.id);
            // From here on the event is kept: a failure of the state (a
            // state database gone) reports it kept, not lost.
            let in_line = match store.enter_line(&mine).await {
                Ok(in_line) => in_line,
                Err(e) => {
                    self.log_run(0, event, "spooled", None, None);
                    return Ok(Self::kept(None, e.into()));
                }
            };
            let turn = tokio::select! {
                turn = self.wait_turn(&mine) => turn.unwrap_or_else(Turn::Kept),
                signal = stop.received() => Turn::Kept(interrupted(signal, false)),
            };
            let (hold, queue) = match turn {
                Turn::Hold(hold, queue) => (hold, queue),
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
            let result = self.deliver(&glpi, &event.key, queue, &mut stop).await;
            drop(hold);
            drop(in_line);
            let report = match result {
                Ok(report) => report,
                Err(error) => {
                    // The event is kept (written ahead): say so.
                    self.log_run(glpi.requests_sent(), event, "spooled", None, None);
                    return Ok(Self::kept(None, error));
                }
            };
            let others = report
                .delivered
                .iter()
                .filter(|(id, _)| *id != mine.id)
                .count();
            if others > 0 {
                tracing::info!("{}: delivered {others} other kept event(s)", event.key);
            }
            let outcome = report
                .delivered
                .into_iter()
                .find_map(|(id, outcome)| (id == mine.id).then_some(outcome));
            // This run's own receipt is of no use to anyone.
            let receipt = store.take_receipt(&mine).await.unwrap_or_else(|e| {
                tracing::warn!("{}: {e}", event.key);
                None
            });
            let requests = glpi.requests_sent();
            Ok(match outcome.or(receipt) {
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
        })
    }

    /// Waits, first come first served, until this run holds the key — or
    /// until another run delivered its event, or a delivery tried after it
    /// arrived failed, or `lock_timeout` passed.
    async fn wait_turn(&self, mine: &Kept) -> Result<Turn<S::Hold>, EngineError> {
        let store = self.ctx.store;
        let key = &mine.event.key;
        let timeout = self.ctx.config.lock_timeout;
        let deadline = Instant::now() + timeout.min(self.ctx.budget_left());
        // The attempts already made on the events ahead when this one arrived.
        let before: Vec<(String, u32)> = store
            .kept(key)
            .await?
            .into_iter()
            .map(|k| (k.id, k.attempts))
            .collect();
        let mut announced = false;
        loop {
            match store.look(mine).await? {
                Look::Delivered(outcome) => return Ok(Turn::Delivered(outcome)),
                Look::Held(hold) => {
                    let queue = store.kept(key).await?;
                    return Ok(match failed_since(&queue, mine, &before) {
                        Some(error) => Turn::Kept(error),
                        None => Turn::Hold(hold, queue),
                    });
                }
                Look::Wait => {}
            }
            if Instant::now() >= deadline {
                return Ok(Turn::Kept(
                    StateError::LockTimeout {
                        path: key.to_string().into(),
                        timeout,
                    }
                    .into(),
                ));
            }
            if !announced {
                tracing::info!("{key}: another run is delivering this node and service; waiting");
                announced = true;
            }
            tokio::time::sleep(WAIT_POLL).await;
        }
    }

    /// Delivers the key's queue (as read once the key was held) within the
    /// run's time, then closes GLPI.
    async fn deliver(
        &self,
        glpi: &Client,
        key: &Key,
        queue: Vec<Kept>,
        stop: &mut Interrupts,
    ) -> Result<KeyReport, EngineError> {
        let mut run = Run::new(&self.ctx, glpi);
        let result = self.deliver_within(&mut run, key, Some(queue), stop).await;
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
        key: &Key,
        queue: Option<Vec<Kept>>,
        stop: &mut Interrupts,
    ) -> Result<KeyReport, EngineError> {
        tokio::select! {
            result = tokio::time::timeout(self.ctx.budget_left(), run.deliver_key(key, queue)) => {
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
    pub(crate) fn flush(&self) -> Result<Vec<KeyFlush>, EngineError> {
        self.block_on(async {
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
                    kept: store.kept(&key).await.map_or(0, |l| l.len()),
                    key,
                    delivered: 0,
                    foreign: 0,
                    failure: None,
                };
                let outcome = if let Some(signal) = stopped {
                    Err(EngineError::Interrupted(signal))
                } else if self.ctx.budget_left().is_zero() {
                    Err(self.ctx.run_timeout())
                } else {
                    let wait = self.ctx.config.lock_timeout.min(self.ctx.budget_left());
                    match store.hold(&line.key, wait).await {
                        Err(e) => Err(e.into()),
                        Ok(_hold) => {
                            self.deliver_within(&mut run, &line.key, None, &mut stop)
                                .await
                        }
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
                    Err(e) => line.failure = Some(e),
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
        })
    }
}

/// The failure of a delivery tried, since this run's event arrived, on an
/// event kept ahead of it (or on it), in the key's `queue` (`before`: the
/// attempts made on each event when it arrived): the event stays kept
/// behind it, without trying again at once.
fn failed_since(queue: &[Kept], mine: &Kept, before: &[(String, u32)]) -> Option<EngineError> {
    queue
        .iter()
        .filter(|k| k.seq <= mine.seq && k.failure.is_some())
        .find(|k| {
            let earlier = before
                .iter()
                .find(|(id, _)| *id == k.id)
                .map_or(0, |(_, n)| *n);
            k.attempts > earlier
        })
        .map(|k| EngineError::Behind {
            failure: k.failure.unwrap_or(crate::core::Failure::Unavailable),
            reason: k.last_error.clone().unwrap_or_default(),
        })
}
