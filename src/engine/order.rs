//! All the waiting of a delivery, in one place and at one poll interval
//! ([`POLL`]); the rule of which kept event goes next is `core::order`.
//!
//! - A run whose event is kept waits in line for its key ([`wait_turn`]):
//!   first come, first served, until another run delivered its event, it
//!   holds the key, a delivery tried since its event arrived failed, or
//!   `lock_timeout` passed.
//! - `flush` and the state commands wait for a key ([`hold`]), a run that
//!   needs the inventory for the run taking it ([`hold_inventory`]).
//! - The run holding a key waits for an earlier event the engine numbered
//!   that has not arrived ([`Run::wait_for_gap`], up to `order_wait`), and
//!   lets the settle window of an event the engine does not number pass
//!   ([`Run::settle`]).
//!
//! Each wait reads the queue once per poll; a delivery reads it once per
//! event delivered.

use std::time::{Duration, Instant};

use crate::core::lifecycle::{self, Known, Lookup};
use crate::core::{Claim, Key, Outcome, order};
use crate::state::{Held, Kept, KeptId, Look, Place, Queue, StateError, Store};

use super::clock::host_now;
use super::context::Context;
use super::deliver::{Run, Usable};
use super::error::EngineError;

/// How long every wait of the engine sleeps between two looks.
pub(crate) const POLL: Duration = Duration::from_millis(20);

/// How a waiting run's wait for its key ended.
pub(super) enum Turn<H> {
    /// It holds the key: it delivers; the key's queue, read once it held it.
    Hold(H, Queue),
    /// Another run delivered its event.
    Delivered(Outcome),
    /// Its event stays kept: the key could not be had in time, or a delivery
    /// tried after the event arrived failed.
    Kept(EngineError),
}

/// Waits, first come first served, until this run holds the key — or
/// until another run delivered its event, or a delivery tried after it
/// arrived failed, or `lock_timeout` (within the run's time) passed.
pub(super) async fn wait_turn<S: Store>(
    ctx: &Context<'_, S>,
    place: &Place<S::Line>,
) -> Result<Turn<S::Held>, EngineError> {
    let store = ctx.store;
    let key = &place.kept.event.key;
    let timeout = ctx.config.lock_timeout;
    let deadline = Instant::now() + timeout.min(ctx.budget_left());
    let mut announced = false;
    loop {
        match store.look(&place.kept, &place.line).await? {
            Look::Delivered(outcome) => return Ok(Turn::Delivered(outcome)),
            Look::Held(mut held) => {
                let queue = held.queue().await?;
                return Ok(match failed_since(&queue.kept, &place.kept, &place.ahead) {
                    Some(error) => Turn::Kept(error),
                    None => Turn::Hold(held, queue),
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
        tokio::time::sleep(POLL).await;
    }
}

/// Takes `key`, waiting at most `timeout` for the run that holds it.
pub(crate) async fn hold<S: Store>(
    store: &S,
    key: &Key,
    timeout: Duration,
) -> Result<S::Held, StateError> {
    let deadline = Instant::now() + timeout;
    let mut announced = false;
    loop {
        if let Some(held) = store.try_hold(key).await? {
            return Ok(held);
        }
        if Instant::now() >= deadline {
            return Err(StateError::LockTimeout {
                path: key.to_string().into(),
                timeout,
            });
        }
        if !announced {
            tracing::info!("waiting for the lock on {key}");
            announced = true;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Takes the state-wide hold of the inventory, waiting at most `timeout`
/// for the run that takes it.
pub(super) async fn hold_inventory<S: Store>(
    store: &S,
    timeout: Duration,
) -> Result<S::Inventory, StateError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(hold) = store.try_hold_inventory().await? {
            return Ok(hold);
        }
        if Instant::now() >= deadline {
            return Err(StateError::LockTimeout {
                path: "the inventory of GLPI's open tickets".into(),
                timeout,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The failure of a delivery tried, since this run's event arrived, on an
/// event kept ahead of it (or on it), in the key's `queue` (`ahead`: the
/// attempts made on each event when it arrived): the event stays kept
/// behind it, without trying again at once.
fn failed_since(queue: &[Kept], mine: &Kept, ahead: &[(KeptId, u32)]) -> Option<EngineError> {
    queue
        .iter()
        .filter(|k| k.seq <= mine.seq && k.failure.is_some())
        .find(|k| {
            let earlier = ahead
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

impl<S: Store> Run<'_, S> {
    /// The next event to deliver among `ours` (the key's kept events for
    /// this GLPI, in arrival order); `None` when an earlier event arrived
    /// while waiting for it (read the queue again).
    ///
    /// When the engine numbered the event and says its previous state change
    /// is newer than the last one delivered for the key (`last`), that
    /// change is still on its way (a run started later, or slower): wait for
    /// it, at most `order_wait` after the event arrived, then go on.
    pub(super) async fn wait_for_gap(
        &self,
        held: &mut S::Held,
        mut ours: Vec<Kept>,
        last: Option<u64>,
    ) -> Result<Option<Kept>, EngineError> {
        let Some(at) = order::next_in_order(ours.iter().map(|k| (k.seq, &k.event))) else {
            return Ok(None);
        };
        let next = ours.swap_remove(at);
        let Some(missing) = order::gap(&next.event, last) else {
            return Ok(Some(next));
        };
        let ctx = self.engine;
        let waited = ctx.clock.now().duration_since(next.event.time);
        let wait = ctx
            .config
            .order_wait
            .saturating_sub(Duration::try_from(waited).unwrap_or(Duration::ZERO));
        if wait.is_zero() {
            return Ok(Some(next));
        }
        let key = held.key().clone();
        tracing::info!(
            "{key}: event {} follows event {missing}, which has not arrived: waiting up to {} ms \
             for it",
            next.event.order.as_ref().map_or(0, |o| o.id),
            wait.as_millis()
        );
        let deadline = Instant::now() + wait.min(ctx.budget_left());
        while Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
            let arrived = held.queue().await?.kept.iter().any(|k| {
                ctx.claim(k.glpi.as_ref()) == Claim::Ours
                    && order::fills_gap(&k.event, last, missing)
            });
            if arrived {
                return Ok(None);
            }
        }
        tracing::info!("{key}: event {missing} did not come; going on without it");
        Ok(Some(next))
    }

    /// For an event the engine does not number, true once the runs of the
    /// key started before this event's run have had time to keep theirs
    /// (`core::order::SETTLE`). The GLPI session the event needs is opened
    /// first (a round trip the delivery makes anyway), then the rest of the
    /// window passes. False when it opened the session or waited: the queue
    /// is read again, an earlier event that arrived meanwhile going first.
    pub(super) async fn settle(
        &mut self,
        held: &mut S::Held,
        kept: &Kept,
        usable: &Usable,
    ) -> Result<bool, EngineError> {
        if kept.event.order.is_some() || kept.event.started.is_none() {
            return Ok(true);
        }
        let mut settled = true;
        let event = &kept.event;
        // The session is needed to read or to search — or to write: a
        // creation the state answered for alone still writes.
        let needs_glpi = match lifecycle::lookup(usable.record.as_ref(), event, Known::default()) {
            Some(Lookup::ReadTicket(_)) => true,
            Some(Lookup::FindByMarker) => {
                event.state.is_problem()
                    || !(usable.may_know() && self.knows_none_open(held).await?)
            }
            None => false,
        };
        if !self.has_session() && needs_glpi {
            self.session().await?;
            settled = false;
        }
        if let Some(wait) = order::settle_left(&kept.event, host_now().as_ref()) {
            tokio::time::sleep(wait.min(self.engine.budget_left())).await;
            settled = false;
        }
        Ok(settled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Event, Failure, State};

    fn kept(seq: u64, attempts: u32, failed: bool) -> Kept {
        Kept {
            id: KeptId::new(seq.to_string()),
            seq,
            glpi: None,
            event: Event::sample("n", "s", State::Critical),
            attempts,
            last_error: failed.then(|| "GLPI is unavailable".to_owned()),
            failure: failed.then_some(Failure::Unavailable),
            in_flight: false,
        }
    }

    #[test]
    fn only_a_failure_since_the_event_arrived_keeps_it_behind() {
        let mine = kept(3, 0, false);
        // The event ahead failed twice before this one arrived, not since.
        let ahead = [(KeptId::new("1"), 2)];
        assert!(failed_since(&[kept(1, 2, true), mine.clone()], &mine, &ahead).is_none());
        // It failed once more while this run waited.
        let behind = failed_since(&[kept(1, 3, true), mine.clone()], &mine, &ahead);
        assert!(matches!(
            behind,
            Some(EngineError::Behind {
                failure: Failure::Unavailable,
                ..
            })
        ));
        // An event that arrived after this one does not count.
        assert!(failed_since(&[mine.clone(), kept(4, 1, true)], &mine, &[]).is_none());
    }
}
