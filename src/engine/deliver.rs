//! The delivery of one key's kept events, shared by `notify` and `flush`.
//!
//! For one key, under its hold: the kept events meant for this GLPI are
//! handled one at a time in the order they happened ([`next_in_order`]),
//! each exactly like a fresh notification (read the record → ask GLPI what
//! the lifecycle needs → decide → execute → record), and each leaves the
//! spool only once GLPI confirmed it, its outcome left for the run that kept
//! it. The queue is read again after every delivery, so events that arrive
//! meanwhile (their runs wait for the key) are delivered too. The first
//! failure stops the key: later events wait behind it, in order. One GLPI
//! session serves the whole run, opened only if some event needs GLPI, and
//! always closed.
//!
//! Identity: a record written for another GLPI, with ticket 0, or naming a
//! ticket that does not carry the key's marker is not trusted; the lifecycle
//! then searches GLPI for the key's ticket by its marker.

use std::time::Duration;

use crate::core::lifecycle::{self, Known, Lookup, Plan, Policy, RecordChange, Step};
use crate::core::{Event, Key, Outcome, Record, Remote};
use crate::glpi::{Client, Session};
use crate::state::{Kept, Pending, RecordLoad, Store};
use crate::text;

use super::clock::host_now;
use super::context::Context;
use super::error::EngineError;

/// How often a wait looks at the spool again.
const POLL: Duration = Duration::from_millis(20);

/// How long after its run started an event the engine does not number may
/// be written into GLPI, at the earliest ([`Run::settle`]).
const SETTLE: Duration = Duration::from_millis(15);

/// What delivering one key's kept events did.
#[derive(Debug, Default)]
pub(super) struct KeyReport {
    /// The kept events delivered (their id), with their outcome, in order.
    pub(super) delivered: Vec<(String, Outcome)>,
    /// The first failure, after which the rest stayed kept.
    pub(super) failure: Option<EngineError>,
    /// Events still kept for the key and this GLPI.
    pub(super) left: usize,
    /// Events kept for the key but meant for another GLPI (not delivered).
    pub(super) foreign: usize,
    /// The ticket of the key's record after the run.
    pub(super) ticket: Option<u64>,
}

/// One run's work with GLPI and the state: the engine's context, the GLPI
/// client, and the session once opened.
pub(super) struct Run<'e, S> {
    pub(super) engine: &'e Context<'e, S>,
    pub(super) glpi: &'e Client,
    session: Option<Session<'e>>,
}

/// The key's record as this run may use it.
struct Usable {
    /// The record, when it can be trusted for this GLPI.
    record: Option<Record>,
    /// A record was there but cannot be trusted for this GLPI's ticket: it
    /// is replaced or removed once the event is delivered — unless it was
    /// written for another GLPI, which keeps it.
    distrusted: bool,
}

impl<'e, S: Store> Run<'e, S> {
    pub(super) fn new(engine: &'e Context<'e, S>, glpi: &'e Client) -> Run<'e, S> {
        Run {
            engine,
            glpi,
            session: None,
        }
    }

    /// Closes the GLPI session if one was opened.
    pub(super) async fn close(&mut self) {
        if let Some(s) = self.session.take() {
            s.close().await;
        }
    }

    /// The GLPI session, opened on first use.
    pub(super) async fn session(&mut self) -> Result<&Session<'e>, EngineError> {
        if self.session.is_none() {
            self.session = Some(self.glpi.open().await?);
        }
        Ok(self.session.as_ref().expect("just opened"))
    }

    fn store(&self) -> &'e S {
        self.engine.store
    }

    /// True when `kept` is meant for this run's GLPI.
    fn ours(&self, kept: &Kept) -> bool {
        kept.glpi.as_ref().is_none_or(|g| *g == self.engine.glpi)
    }

    /// Delivers the key's kept events in order, stopping at the first
    /// failure or when the run's time is spent. The caller holds the key;
    /// `queue`: the key's kept events if it read them since it took it.
    pub(super) async fn deliver_key(
        &mut self,
        key: &Key,
        mut queue: Option<Vec<Kept>>,
    ) -> Result<KeyReport, EngineError> {
        let mut usable = self.load_record(key).await?;
        let mut report = KeyReport::default();
        loop {
            let queue = match queue.take() {
                Some(queue) => queue,
                None => self.store().kept(key).await?,
            };
            let (ours, foreign): (Vec<Kept>, Vec<Kept>) =
                queue.into_iter().partition(|k| self.ours(k));
            report.left = ours.len();
            report.foreign = foreign.len();
            if ours.is_empty() || self.engine.budget_left().is_zero() {
                break;
            }
            // Only events the engine numbered wait for a gap.
            let last = if ours.iter().any(|k| k.event.order.is_some()) {
                self.store().last_engine_id(key).await?
            } else {
                None
            };
            let Some(mut kept) = self.wait_for_gap(key, ours, last).await? else {
                continue;
            };
            let delivery = match self.settle(&kept, &usable).await {
                Ok(false) => continue,
                Ok(true) => self.deliver_one(&mut kept, &mut usable).await,
                Err(e) => Err(e),
            };
            match delivery {
                Ok(outcome) => {
                    tracing::debug!("{key}: delivered {}: {}", kept.id, outcome.action());
                    let engine_id = kept.event.order.map(|o| o.id);
                    self.store().delivered(&kept, &outcome, engine_id).await?;
                    report.left -= 1;
                    report.delivered.push((kept.id, outcome));
                }
                Err(e) => {
                    self.store()
                        .failed(&mut kept, e.failure(), e.to_string())
                        .await?;
                    report.failure = Some(e);
                    break;
                }
            }
        }
        report.ticket = usable.record.map(|r| r.ticket_id);
        Ok(report)
    }

    /// The next event to deliver; `None` when a missing earlier event
    /// arrived meanwhile (read the queue again).
    ///
    /// When the engine numbered the event and says its previous state change
    /// (`previous`) is newer than the last one delivered for the key, that
    /// change is still on its way (a run started later, or slower): wait for
    /// it, at most `order_wait` after the event arrived, then go on.
    async fn wait_for_gap(
        &self,
        key: &Key,
        ours: Vec<Kept>,
        last: Option<u64>,
    ) -> Result<Option<Kept>, EngineError> {
        let Some(next) = next_in_order(ours) else {
            return Ok(None);
        };
        let Some(missing_after) = gap(&next, last) else {
            return Ok(Some(next));
        };
        let waited = self.engine.clock.now().duration_since(next.event.time);
        let wait = self
            .engine
            .config
            .order_wait
            .saturating_sub(Duration::try_from(waited).unwrap_or(Duration::ZERO));
        if wait.is_zero() {
            return Ok(Some(next));
        }
        tracing::info!(
            "{key}: event {} follows event {missing_after}, which has not arrived: waiting up \
             to {} ms for it",
            next.event.order.map_or(0, |o| o.id),
            wait.as_millis()
        );
        let deadline = tokio::time::Instant::now() + wait.min(self.engine.budget_left());
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
            let arrived = self.store().kept(key).await?.iter().any(|k| {
                self.ours(k)
                    && k.event
                        .order
                        .is_some_and(|o| last.is_none_or(|d| o.id > d) && o.id <= missing_after)
            });
            if arrived {
                return Ok(None);
            }
        }
        tracing::info!("{key}: event {missing_after} did not come; going on without it");
        Ok(Some(next))
    }

    /// For an event the engine does not number, true once the runs of the
    /// key started before this event's run have had time to keep theirs:
    /// a loaded host does not always run processes in the order it started
    /// them, so a run started a few milliseconds later may reach the spool
    /// first. The GLPI session the event needs is opened first (a round
    /// trip the delivery makes anyway), then at least [`SETTLE`] must have
    /// passed since the event's run started. False when it opened the
    /// session or waited: the queue is read again, an earlier event that
    /// arrived meanwhile going first.
    async fn settle(&mut self, kept: &Kept, usable: &Usable) -> Result<bool, EngineError> {
        let Some(started) = kept
            .event
            .started
            .as_ref()
            .filter(|_| kept.event.order.is_none())
        else {
            return Ok(true);
        };
        let mut settled = true;
        let asks_glpi =
            lifecycle::lookup(usable.record.as_ref(), &kept.event, Known::default()).is_some();
        if self.session.is_none() && asks_glpi {
            self.session().await?;
            settled = false;
        }
        let age = host_now().and_then(|now| now.since(started));
        if let Some(wait) = age.and_then(|age| SETTLE.checked_sub(age)) {
            tokio::time::sleep(wait.min(self.engine.budget_left())).await;
            settled = false;
        }
        Ok(settled)
    }

    /// The key's record, and whether this run may trust it.
    async fn load_record(&self, key: &Key) -> Result<Usable, EngineError> {
        let record = match self.store().load_record(key).await? {
            RecordLoad::Found(r) => r,
            RecordLoad::Missing => {
                return Ok(Usable {
                    record: None,
                    distrusted: false,
                });
            }
            RecordLoad::Corrupt { kept_as, reason } => {
                tracing::warn!(
                    "the record of {key} was corrupt ({reason}; kept as {kept_as}): looking for \
                     its open ticket in GLPI by its marker"
                );
                return Ok(Usable {
                    record: None,
                    distrusted: false,
                });
            }
        };
        if let Some(theirs) = record.glpi.as_ref().filter(|g| **g != self.engine.glpi) {
            tracing::info!(
                "{key}: the record names a ticket of another GLPI ({theirs}): not used here"
            );
            return Ok(Usable {
                record: None,
                distrusted: false,
            });
        }
        if record.ticket_id == 0 {
            tracing::warn!("{key}: the record names ticket 0: not used");
            return Ok(Usable {
                record: None,
                distrusted: true,
            });
        }
        Ok(Usable {
            record: Some(record),
            distrusted: false,
        })
    }

    /// Handles one kept event; updates the usable record and returns the
    /// outcome.
    async fn deliver_one(
        &mut self,
        kept: &mut Kept,
        usable: &mut Usable,
    ) -> Result<Outcome, EngineError> {
        let event = &kept.event.clone();
        let policy = Policy {
            update_priority: self.engine.config.update_priority,
        };
        let mut known = Known::default();
        // A creation whose answer was lost: find the ticket it made first.
        if let Some(pending) = self.store().read_intent(&event.key).await? {
            let intent = match pending {
                Pending::Intent(intent) => Some(intent),
                Pending::Unreadable => None,
            };
            let (record, found) = self
                .reconcile_intent(&event.key, intent, usable.record.take())
                .await?;
            usable.record = record;
            known.search = found.into();
        }
        while let Some(question) = lifecycle::lookup(usable.record.as_ref(), event, known) {
            match question {
                Lookup::ReadTicket(id) => {
                    known.recorded = self.read_recorded(id, &event.key, usable).await?;
                }
                Lookup::FindByMarker => known.search = self.find_open(&event.key).await?.into(),
            }
        }
        let record = usable.record.as_ref();
        let plan = lifecycle::decide(record, known, event, policy);
        let mut ticket = plan_ticket(&plan, record);
        self.execute(&plan, kept, record, &mut ticket).await?;
        let new = self.apply_record(event, usable, &plan, ticket).await?;
        let outcome = plan.outcome(ticket);
        *usable = Usable {
            record: new,
            distrusted: false,
        };
        Ok(outcome)
    }

    /// Reads the recorded ticket: where it stands, if it is the key's. A
    /// ticket that carries neither the key's marker nor (GLPI 11) its
    /// `externalid` is not the record's: the record is distrusted (and
    /// `None` returned, so the lifecycle searches).
    async fn read_recorded(
        &mut self,
        id: u64,
        key: &Key,
        usable: &mut Usable,
    ) -> Result<Option<Remote>, EngineError> {
        let ticket = self.session().await?.ticket(id).await?;
        let ours = text::parse_marker(&ticket.content).as_ref() == Some(key)
            || ticket.external_id.as_deref() == Some(text::external_id(key).as_str());
        if ticket.status != Remote::Gone && !ours {
            tracing::warn!(
                "{key}: ticket {id} does not carry the marker of {key}: the record is not for \
                 this ticket; nothing is written into it"
            );
            usable.record = None;
            usable.distrusted = true;
            return Ok(None);
        }
        let open = ticket.status == Remote::Open;
        if open && ticket.external_id.is_none() && self.glpi11().await? {
            self.stamp_identity(id, key).await;
        }
        Ok(Some(ticket.status))
    }

    /// A ticket opened before GLPI 11 gets the key's `externalid` the first
    /// time a run writes into it, so that a lost record can still find it
    /// by identity. Not fatal: the marker still names it.
    async fn stamp_identity(&mut self, id: u64, key: &Key) {
        let stamped = match self.session().await {
            Ok(session) => session.set_external_id(id, &text::external_id(key)).await,
            Err(e) => {
                tracing::warn!("{key}: ticket {id} not given its externalid: {e}");
                return;
            }
        };
        match stamped {
            Ok(()) => {
                tracing::info!("{key}: ticket {id} given its externalid (opened before GLPI 11)");
            }
            Err(e) => tracing::warn!("{key}: ticket {id} not given its externalid: {e}"),
        }
    }

    /// Runs the plan's writes in order; a creation sets `ticket`.
    ///
    /// A follow-up is the one write neither an intent (a creation) nor a
    /// read of the ticket (a solution, a priority) makes safe to retry: the
    /// kept event is marked in flight durably before it is sent, and a run
    /// that finds it marked looks for the event's tag in the ticket's
    /// follow-ups before writing it again.
    async fn execute(
        &mut self,
        plan: &Plan,
        kept: &mut Kept,
        record: Option<&Record>,
        ticket: &mut Option<u64>,
    ) -> Result<(), EngineError> {
        if plan.steps.is_empty() {
            return Ok(());
        }
        let event = &kept.event.clone();
        let date = self.engine.clock.date(event.time);
        let lang = self.engine.config.lang;
        for step in &plan.steps {
            match step {
                Step::Create { previous } => {
                    *ticket = Some(self.create(event, record, *previous, &date).await?);
                }
                Step::FollowUp { ticket: id, note } => {
                    if kept.in_flight && self.followed_up(*id, event).await? {
                        continue;
                    }
                    if !kept.in_flight {
                        self.store().started(kept).await?;
                    }
                    let content = text::followup(note, event, &date, lang);
                    self.session().await?.add_followup(*id, content).await?;
                }
                Step::SetPriority {
                    ticket: id,
                    priority,
                } => {
                    let (urgency, impact) = self.engine.config.urgency_impact(*priority);
                    self.session()
                        .await?
                        .set_priority(*id, *priority, urgency, impact)
                        .await?;
                }
                Step::Solve { ticket: id } => {
                    let content = text::solution(event, &date, lang);
                    self.session().await?.add_solution(*id, content).await?;
                }
            }
        }
        Ok(())
    }

    /// True when ticket `id` already carries the follow-up of `event` (an
    /// earlier run's, whose delivery was not recorded).
    async fn followed_up(&mut self, id: u64, event: &Event) -> Result<bool, EngineError> {
        let key = &event.key;
        let there = self
            .session()
            .await?
            .followups(id)
            .await?
            .iter()
            .any(|content| text::carries_tag(content, event));
        if there {
            tracing::info!(
                "{key}: ticket {id} already has the follow-up of this event ({}), written by a \
                 run that could not record it: not written again",
                text::event_tag(event)
            );
        } else {
            tracing::info!(
                "{key}: the follow-up of this event may have been sent before; ticket {id} does \
                 not have it: writing it"
            );
        }
        Ok(there)
    }

    /// Writes the record change of an executed plan; returns the new record.
    async fn apply_record(
        &self,
        event: &Event,
        usable: &Usable,
        plan: &Plan,
        ticket: Option<u64>,
    ) -> Result<Option<Record>, EngineError> {
        let store = self.store();
        let record = usable.record.as_ref();
        let created = plan.steps.iter().any(|s| matches!(s, Step::Create { .. }));
        let new = match (&plan.record, ticket) {
            (RecordChange::Keep, _) => {
                if usable.distrusted && record.is_none() {
                    store.remove_record(&event.key).await?;
                }
                record.cloned()
            }
            (RecordChange::Forget, _) => {
                store.remove_record(&event.key).await?;
                None
            }
            (
                RecordChange::Write {
                    state,
                    output,
                    priority,
                    acked,
                },
                Some(ticket_id),
            ) => {
                let opened_at = match record {
                    Some(r) if r.ticket_id == ticket_id => r.opened_at,
                    _ => event.time,
                };
                let r = Record {
                    key: event.key.clone(),
                    glpi: Some(self.engine.glpi.clone()),
                    ticket_id,
                    state: *state,
                    output: output.clone(),
                    priority: *priority,
                    acked: *acked,
                    opened_at,
                    updated_at: self.engine.clock.now(),
                    rebuilt: false,
                };
                store.save_record(&r).await?;
                Some(r)
            }
            (RecordChange::Write { .. }, None) => {
                tracing::error!(
                    "internal: a plan wrote a record without a ticket id; please report"
                );
                record.cloned()
            }
        };
        if created {
            // The record now names the ticket: the intent has served.
            store.clear_intent(&event.key).await?;
        }
        Ok(new)
    }
}

/// The ticket a plan acts upon before it runs: the one it writes into, or
/// the recorded one (a creation sets it once done).
fn plan_ticket(plan: &Plan, record: Option<&Record>) -> Option<u64> {
    plan.steps
        .iter()
        .find_map(|s| match s {
            Step::FollowUp { ticket, .. }
            | Step::SetPriority { ticket, .. }
            | Step::Solve { ticket } => Some(*ticket),
            Step::Create { .. } => None,
        })
        .or_else(|| record.map(|r| r.ticket_id))
}

/// The event to deliver next among a key's kept events (in arrival order):
/// the oldest to arrive — unless it is numbered by the engine and the engine
/// numbered another kept event earlier, which then goes first; or, not
/// numbered, another one's run was started earlier by this host (same boot)
/// — two runs of one key may reach the spool in the other order.
fn next_in_order(mut queue: Vec<Kept>) -> Option<Kept> {
    let first = queue.first()?;
    if first.event.order.is_none() {
        // Not numbered: the one whose run this host started first, among
        // those of the same boot as the oldest to arrive.
        let Some(boot) = first.event.started.as_ref().map(|s| s.boot.clone()) else {
            return Some(queue.swap_remove(0));
        };
        let earliest = queue
            .iter()
            .enumerate()
            .filter(|(_, k)| k.event.order.is_none())
            .filter_map(|(i, k)| {
                let s = k.event.started.as_ref().filter(|s| s.boot == boot)?;
                Some((s.ns, k.seq, i))
            })
            .min()
            .map_or(0, |(_, _, i)| i);
        return Some(queue.swap_remove(earliest));
    }
    let earliest = queue
        .iter()
        .enumerate()
        .filter_map(|(i, k)| k.event.order.map(|o| (o.id, k.seq, i)))
        .min()
        .map_or(0, |(_, _, i)| i);
    Some(queue.swap_remove(earliest))
}

/// The engine id of a state change that precedes `next` but was not
/// delivered yet, when the engine's numbering shows one (`last`: the id of
/// the key's last delivered event).
fn gap(next: &Kept, last: Option<u64>) -> Option<u64> {
    let order = next.event.order?;
    let last = last?;
    let previous = order.previous?;
    (previous > last && order.id > last && !order.after_soft).then_some(previous)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{EngineOrder, HostStamp, State};

    fn kept(seq: u64, order: Option<(u64, u64)>) -> Kept {
        Kept {
            id: seq.to_string(),
            seq,
            glpi: None,
            event: Event {
                order: order.map(|(id, previous)| EngineOrder {
                    id,
                    previous: Some(previous),
                    problem: None,
                    after_soft: false,
                }),
                ..Event::sample("n", "s", State::Critical)
            },
            attempts: 0,
            last_error: None,
            failure: None,
            in_flight: false,
        }
    }

    #[test]
    fn arrival_order_unless_the_engine_numbered_an_earlier_event() {
        // No engine numbering: arrival order.
        let next = next_in_order(vec![kept(1, None), kept(2, Some((5, 4)))]).unwrap();
        assert_eq!(next.seq, 1);
        // The OK (10) arrived before the CRITICAL (9): the CRITICAL goes first.
        let next = next_in_order(vec![kept(1, Some((10, 9))), kept(2, Some((9, 8)))]).unwrap();
        assert_eq!(next.seq, 2);
        // Same engine id (an acknowledgement of the same change): arrival order.
        let next = next_in_order(vec![kept(1, Some((9, 8))), kept(2, Some((9, 8)))]).unwrap();
        assert_eq!(next.seq, 1);
        assert!(next_in_order(Vec::new()).is_none());
    }

    fn started(seq: u64, boot: &str, ns: u64) -> Kept {
        let mut k = kept(seq, None);
        k.event.started = Some(HostStamp {
            boot: boot.to_string(),
            ns,
        });
        k
    }

    #[test]
    fn without_numbers_the_run_started_first_goes_first_within_one_boot() {
        // The OK's run (started at 50) reached the spool before the
        // WARNING's (started at 10): the WARNING goes first.
        let next = next_in_order(vec![started(1, "b", 50), started(2, "b", 10)]).unwrap();
        assert_eq!(next.seq, 2);
        // Stamps of another boot than the oldest to arrive: arrival order
        // (kept before a reboot, the older boot's events arrived first).
        let next = next_in_order(vec![started(1, "old", 900), started(2, "new", 10)]).unwrap();
        assert_eq!(next.seq, 1);
        // An event without stamp (an older version's) ahead: arrival order.
        let next = next_in_order(vec![kept(1, None), started(2, "b", 10)]).unwrap();
        assert_eq!(next.seq, 1);
        // Equal stamps: arrival order.
        let next = next_in_order(vec![started(3, "b", 7), started(4, "b", 7)]).unwrap();
        assert_eq!(next.seq, 3);
    }

    #[test]
    fn a_gap_is_a_newer_previous_change_than_the_last_delivered() {
        assert_eq!(gap(&kept(1, Some((10, 9))), Some(8)), Some(9));
        assert_eq!(gap(&kept(1, Some((10, 9))), Some(9)), None);
        assert_eq!(gap(&kept(1, Some((10, 9))), None), None, "nothing known");
        assert_eq!(gap(&kept(1, None), Some(3)), None);
        // An acknowledgement carries the id of the change it acknowledges.
        assert_eq!(gap(&kept(1, Some((9, 8))), Some(9)), None);
        let mut after_soft = kept(1, Some((10, 9)));
        after_soft.event.order.as_mut().unwrap().after_soft = true;
        assert_eq!(gap(&after_soft, Some(8)), None);
    }
}
