//! The delivery of one key's kept events, shared by `notify` and `flush`.
//!
//! For one key, under its hold (every read and write of the key through the
//! [`Held`] handle): the kept events meant for this GLPI are handled one at
//! a time in the order they happened (`core::order`, the waiting in
//! `order.rs`), each exactly like a fresh notification (read the record → ask GLPI what
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

use crate::core::lifecycle::{self, Known, Lookup, Plan, Policy, RecordChange, Search, Step};
use crate::core::{Claim, Event, GlpiId, Key, Outcome, Record, Remote, State};
use crate::core::{Knowledge, Trace};
use crate::glpi::{Client, Session};
use crate::state::{Held, Kept, KeptId, Pending, Queue, RecordLoad, Store};
use crate::text;

use super::context::Context;
use super::error::EngineError;

/// What delivering one key's kept events did.
#[derive(Debug, Default)]
pub(super) struct KeyReport {
    /// The kept events delivered (their id), with their outcome, in order.
    pub(super) delivered: Vec<(KeptId, Outcome)>,
    /// The first failure, after which the rest stayed kept.
    pub(super) failure: Option<EngineError>,
    /// Events still kept for the key and this GLPI.
    pub(super) left: usize,
    /// Events kept for the key but meant for another GLPI (not delivered).
    pub(super) foreign: usize,
    /// Events kept for the key by another configuration before any GLPI
    /// answered it (not delivered: that configuration delivers them).
    pub(super) other_config: usize,
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

impl Usable {
    /// No record, and none distrusted: what the state knows of the key
    /// (`core::knowledge`) may spare a search.
    pub(super) fn may_know(&self) -> bool {
        self.record.is_none() && !self.distrusted
    }
}

/// The key's record as this run may use it.
pub(super) struct Usable {
    /// The record, when it can be trusted for this GLPI.
    pub(super) record: Option<Record>,
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

    /// The GLPI session, opened on first use; the first one a run opens
    /// also learns which GLPI it reaches, unless the cache knew.
    pub(super) async fn session(&mut self) -> Result<&Session<'e>, EngineError> {
        if self.session.is_none() {
            self.session = Some(self.glpi.open().await?);
            if !self.engine.knows_glpi() {
                self.learn_glpi().await?;
            }
        }
        Ok(self.session.as_ref().expect("just opened"))
    }

    /// Whether the kept event or record bound to `id` is this run's. When
    /// its binding names a GLPI this run cannot tell from its own yet, the
    /// run asks GLPI which it is first (one request, then cached).
    pub(super) async fn claim(&mut self, id: Option<&GlpiId>) -> Result<Claim, EngineError> {
        let claim = self.engine.claim(id);
        if claim != Claim::Unknown {
            return Ok(claim);
        }
        self.session().await?;
        Ok(match self.engine.claim(id) {
            // GLPI did not say which it is: a binding that is not this
            // configuration's spelling is another GLPI's.
            Claim::Unknown => Claim::Theirs,
            claim => claim,
        })
    }

    /// The GLPI session, when open.
    pub(super) fn session_if_open(&self) -> Option<&Session<'e>> {
        self.session.as_ref()
    }

    /// True once the GLPI session is open.
    pub(super) fn has_session(&self) -> bool {
        self.session.is_some()
    }

    /// Delivers the key's kept events in order, stopping at the first
    /// failure or when the run's time is spent. The caller holds the key
    /// (`held`); `queue`: the key's queue if it read it since it took it.
    pub(super) async fn deliver_key(
        &mut self,
        held: &mut S::Held,
        mut queue: Option<Queue>,
    ) -> Result<KeyReport, EngineError> {
        let mut usable = self.load_record(held).await?;
        let mut report = KeyReport::default();
        loop {
            let queue = match queue.take() {
                Some(queue) => queue,
                None => held.queue().await?,
            };
            let mut ours = Vec::with_capacity(queue.kept.len());
            (report.foreign, report.other_config) = (0, 0);
            for kept in queue.kept {
                match self.claim(kept.glpi.as_ref()).await? {
                    Claim::Ours => ours.push(kept),
                    Claim::OtherConfig => report.other_config += 1,
                    Claim::Theirs | Claim::Unknown => report.foreign += 1,
                }
            }
            report.left = ours.len();
            if ours.is_empty() || self.engine.budget_left().is_zero() {
                break;
            }
            let Some(mut kept) = self.wait_for_gap(held, ours, queue.last_engine_id).await? else {
                continue;
            };
            let delivery = match self.settle(held, &kept, &usable).await {
                Ok(false) => continue,
                Ok(true) => self.deliver_one(held, &mut kept, &mut usable).await,
                Err(e) => Err(e),
            };
            match delivery {
                Ok(outcome) => {
                    tracing::debug!(
                        "{}: delivered {}: {}",
                        held.key(),
                        kept.id,
                        outcome.action()
                    );
                    held.delivered(&kept, &outcome).await?;
                    report.left -= 1;
                    report.delivered.push((kept.id, outcome));
                }
                Err(e) => {
                    held.failed(&mut kept, e.failure(), e.to_string()).await?;
                    report.failure = Some(e);
                    break;
                }
            }
        }
        report.ticket = usable.record.map(|r| r.ticket_id);
        Ok(report)
    }

    /// Delivers `event`, which is not kept (reconcile's: a run that fails
    /// keeps nothing, the next reconcile reads the engine again), exactly
    /// like a kept one: the key's record, the lifecycle's questions, the
    /// decision, the writes, the record. The caller holds the key and saw
    /// no kept event in it. `listed`: the key's open ticket in GLPI's
    /// listing, used when the key has no record (it is read first, as any
    /// recorded ticket).
    pub(super) async fn deliver_unkept(
        &mut self,
        held: &mut S::Held,
        event: Event,
        listed: Option<u64>,
    ) -> Result<Outcome, EngineError> {
        let mut usable = self.load_record(held).await?;
        if let Some(ticket) = listed.filter(|_| usable.may_know()) {
            usable.record = Some(listed_record(&event.key, ticket, self.engine));
        }
        let mut kept = Kept {
            id: crate::state::KeptId::new("reconcile"),
            seq: 0,
            glpi: Some(self.engine.ours().binding().clone()),
            event,
            attempts: 0,
            last_error: None,
            failure: None,
            in_flight: false,
        };
        self.deliver_one(held, &mut kept, &mut usable).await
    }

    /// The key's record, and whether this run may trust it.
    async fn load_record(&mut self, held: &mut S::Held) -> Result<Usable, EngineError> {
        let key = held.key().clone();
        let record = match held.load_record().await? {
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
        if let Some(theirs) = record.glpi.as_ref()
            && self.claim(Some(theirs)).await? != Claim::Ours
        {
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
        held: &mut S::Held,
        kept: &mut Kept,
        usable: &mut Usable,
    ) -> Result<Outcome, EngineError> {
        // Kept while the configuration could not be read, without `-L`.
        if kept.event.default_priority {
            kept.event.priority = self.engine.config.default_priority;
        }
        let event = &kept.event.clone();
        let policy = Policy {
            update_priority: self.engine.config.update_priority,
        };
        let mut known = Known::default();
        // A creation whose answer was lost: find the ticket it made first.
        if let Some(pending) = held.read_intent().await? {
            let intent = match pending {
                Pending::Intent(intent) => Some(intent),
                Pending::Unreadable => None,
            };
            let (record, found) = self
                .reconcile_intent(held, intent, usable.record.take())
                .await?;
            usable.record = record;
            known.search = found.into();
        }
        // A key without a record: what the state knows may spare the search.
        let mut may_know = usable.may_know();
        while let Some(question) = lifecycle::lookup(usable.record.as_ref(), event, known) {
            match question {
                Lookup::ReadTicket(id) => {
                    known.recorded = self.read_recorded(id, &event.key, usable).await?;
                }
                Lookup::FindByMarker if std::mem::take(&mut may_know) => {
                    match self.know(held).await? {
                        Knowledge::Listed(ticket) => {
                            usable.record = Some(listed_record(&event.key, ticket, self.engine));
                        }
                        Knowledge::NoneOpen => known.search = Search::Nothing,
                        Knowledge::Ask => known.search = self.find_open(&event.key).await?.into(),
                    }
                }
                Lookup::FindByMarker => known.search = self.find_open(&event.key).await?.into(),
            }
        }
        let record = usable.record.as_ref();
        let plan = lifecycle::decide(record, known, event, policy);
        let mut ticket = plan_ticket(&plan, record);
        self.execute(held, &plan, kept, record, &mut ticket).await?;
        let new = self
            .apply_record(held, event, usable, &plan, ticket)
            .await?;
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
        held: &mut S::Held,
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
                    *ticket = Some(self.create(held, event, record, *previous, &date).await?);
                }
                Step::FollowUp { ticket: id, note } => {
                    if kept.in_flight && self.followed_up(*id, event).await? {
                        continue;
                    }
                    if !kept.in_flight {
                        held.started(kept).await?;
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
                Step::Solve { ticket: id, why } => {
                    let content = text::solution(event, *why, &date, lang);
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
        held: &mut S::Held,
        event: &Event,
        usable: &Usable,
        plan: &Plan,
        ticket: Option<u64>,
    ) -> Result<Option<Record>, EngineError> {
        let record = usable.record.as_ref();
        let created = plan.steps.iter().any(|s| matches!(s, Step::Create { .. }));
        let new = match (&plan.record, ticket) {
            (RecordChange::Keep, _) => {
                if usable.distrusted && record.is_none() {
                    held.remove_record().await?;
                }
                record.cloned()
            }
            (RecordChange::Forget, ticket) => {
                match ticket.or(record.map(|r| r.ticket_id)) {
                    Some(ticket) => {
                        let closed = Trace {
                            glpi: self.engine.glpi().clone(),
                            ticket,
                            open: false,
                        };
                        held.close_record(&closed).await?;
                    }
                    None => held.remove_record().await?,
                }
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
                    glpi: Some(self.engine.glpi().clone()),
                    ticket_id,
                    state: *state,
                    output: output.clone(),
                    priority: *priority,
                    acked: *acked,
                    opened_at,
                    updated_at: self.engine.clock.now(),
                    rebuilt: false,
                };
                held.save_record(&r).await?;
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
            held.clear_intent().await?;
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
            | Step::Solve { ticket, .. } => Some(*ticket),
            Step::Create { .. } => None,
        })
        .or_else(|| record.map(|r| r.ticket_id))
}

/// The record of a ticket the inventory lists for a key that has none:
/// its last state is not known, so no event counts as a re-notification.
fn listed_record(key: &Key, ticket: u64, run: &Context<'_, impl Store>) -> Record {
    let now = run.clock.now();
    Record {
        key: key.clone(),
        glpi: Some(run.glpi().clone()),
        ticket_id: ticket,
        state: State::Unknown,
        output: String::new(),
        priority: 3,
        acked: false,
        opened_at: now,
        updated_at: now,
        rebuilt: true,
    }
}
