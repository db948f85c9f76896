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
use super::context::{CLOSE_TIMEOUT, Context, GLPI_ID, GLPI_ID_TTL, glpi_client};
use super::deliver::{KeyReport, Run};
use super::error::EngineError;
use super::order::{self, Turn};
use super::signals::Interrupts;
use crate::config::Config;
use crate::core::{Claim, Event, GlpiId, Key, Ours, Outcome};
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
    /// Events another configuration kept before any GLPI answered it.
    pub(crate) other_config: usize,
    pub(crate) failure: Option<EngineError>,
}

/// The engine of one command: its context (configuration, state, clock).
/// The GLPI client is built by each operation, once it knows GLPI is needed
/// (after the event is kept).
pub(crate) struct Engine<'a, S> {
    pub(super) ctx: Context<'a, S>,
}

impl<'a, S: Store> Engine<'a, S> {
    /// `place`: where the configuration is (`Globals::config_place`),
    /// which binds the events it keeps before any GLPI answered.
    pub(crate) fn new(
        config: &'a Config,
        store: &'a S,
        cache: Cache,
        clock: Clock,
        started: Instant,
        place: &str,
    ) -> Engine<'a, S> {
        let spelled = GlpiId::new(config.glpi_identity());
        let learned = cache.get::<GlpiId>(GLPI_ID, spelled.as_str(), GLPI_ID_TTL);
        Engine {
            ctx: Context {
                config,
                store,
                cache,
                clock,
                started,
                ours: Ours {
                    learned,
                    config: GlpiId::of_config(Some(&spelled), place),
                    spelled,
                },
                learned: std::cell::OnceCell::new(),
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
        let place = store.keep(event, self.ctx.ours().binding()).await?;
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
                other_config: 0,
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
                    line.other_config = r.other_config;
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

    /// `state adopt`: hands the events of `only` (every key with kept
    /// events when `None`) kept for another GLPI, or by another
    /// configuration, to this configuration's GLPI — the one GLPI names
    /// when it answers, else this configuration (its runs then deliver
    /// them). Each key is held while its events are rebound.
    pub(crate) async fn adopt(&self, only: Option<&Key>) -> Result<Adopted, EngineError> {
        let store = self.ctx.store;
        let keys = match only {
            Some(key) => vec![key.clone()],
            None => store.keys_with_kept_events().await?,
        };
        let glpi = glpi_client(self.ctx.config, &self.ctx.cache)?;
        let mut run = Run::new(&self.ctx, &glpi);
        if !keys.is_empty()
            && !self.ctx.knows_glpi()
            && let Err(e) = run.session().await
        {
            tracing::warn!(
                "GLPI did not answer ({e}): the events are handed to this configuration, whose \
                 runs deliver them"
            );
        }
        run.close().await;
        let to = self.ctx.ours().binding().clone();
        let mut adopted = Adopted {
            glpi: to.clone(),
            keys: Vec::new(),
        };
        for key in keys {
            let mut held = order::hold(store, &key, self.ctx.config.lock_timeout).await?;
            let mut count = 0;
            for mut kept in held.queue().await?.kept {
                if self.ctx.claim(kept.glpi.as_ref()) != Claim::Ours {
                    held.rebind(&mut kept, &to).await?;
                    count += 1;
                }
            }
            if count > 0 {
                tracing::info!("{key}: {count} kept event(s) handed to {to}");
                adopted.keys.push((key, count));
            }
        }
        Ok(adopted)
    }
}

/// What `state adopt` did: the binding the events now carry, and how many
/// events of each key it handed over.
#[derive(Debug)]
pub(crate) struct Adopted {
    pub(crate) glpi: GlpiId,
    pub(crate) keys: Vec<(Key, usize)>,
}

/// What `health` measures, in the state only.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// Events kept for this configuration's GLPI.
    pub(crate) kept: usize,
    /// How long the oldest of them has been waiting.
    pub(crate) oldest: Option<Duration>,
    /// Events kept for another GLPI.
    pub(crate) foreign: usize,
    /// Events another configuration kept before any GLPI answered it.
    pub(crate) other_config: usize,
    /// Keys whose first kept event failed `attempts` times or more.
    pub(crate) failing: Vec<Failing>,
    /// How long ago a `flush` last succeeded (`None`: never, here).
    pub(crate) last_flush: Option<Duration>,
}

/// A key whose delivery keeps failing.
#[derive(Debug)]
pub(crate) struct Failing {
    pub(crate) key: Key,
    pub(crate) attempts: u32,
    /// GLPI refused it: only a fix (or `state forget`) delivers it.
    pub(crate) refused: bool,
}

/// The cache entry of the last successful flush.
const LAST_FLUSH: (&str, &str) = ("flush", "last");

impl<S: Store> Engine<'_, S> {
    /// Notes that a `flush` succeeded now (`health` reads it).
    pub(crate) fn flushed(&self) {
        self.ctx
            .cache
            .put(LAST_FLUSH.0, LAST_FLUSH.1, &self.ctx.clock.now());
    }

    /// `health`'s measures, from the state (never GLPI: an event whose
    /// binding this run cannot place counts as another GLPI's).
    pub(crate) async fn health(&self, attempts: u32) -> Result<Health, EngineError> {
        let store = self.ctx.store;
        let now = self.ctx.clock.now();
        let age = |t: jiff::Timestamp| {
            Duration::try_from(now.duration_since(t)).unwrap_or(Duration::ZERO)
        };
        let mut health = Health::default();
        for key in store.keys_with_kept_events().await? {
            let (_, kept) = store.peek(&key).await?;
            let mut first_failure: Option<(u32, bool)> = None;
            for k in &kept {
                match self.ctx.claim(k.glpi.as_ref()) {
                    Claim::Ours => {
                        health.kept += 1;
                        let waited = age(k.event.time);
                        health.oldest = Some(health.oldest.map_or(waited, |o| o.max(waited)));
                        if first_failure.is_none() {
                            first_failure = Some((
                                k.attempts,
                                k.failure == Some(crate::core::Failure::Refused),
                            ));
                        }
                    }
                    Claim::OtherConfig => health.other_config += 1,
                    Claim::Theirs | Claim::Unknown => health.foreign += 1,
                }
            }
            if let Some((n, refused)) = first_failure.filter(|(n, _)| *n >= attempts) {
                health.failing.push(Failing {
                    key,
                    attempts: n,
                    refused,
                });
            }
        }
        health.last_flush = self
            .ctx
            .cache
            .get::<jiff::Timestamp>(LAST_FLUSH.0, LAST_FLUSH.1, Duration::MAX)
            .map(age);
        Ok(health)
    }
}
