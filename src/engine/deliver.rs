//! The delivery of one key's kept events, shared by `notify` and `flush`.
//!
//! For one key, under its hold: the kept events are handled oldest first,
//! each exactly like a fresh notification (read the record → lifecycle
//! lookup → GLPI → decide → execute → record), and each leaves the spool only
//! once GLPI confirmed it. The first failure stops the key: later events wait
//! behind it, in order. One GLPI session serves the whole run, opened only if
//! some event needs GLPI, and always closed.

use crate::core::lifecycle::{self, Found, Lookup, Plan, Policy, RecordChange, Step};
use crate::core::{Event, Key, Outcome, Record, Remote};
use crate::glpi::{Client, Session, TicketStatus};
use crate::state::{Kept, Pending, RecordLoad, Store};
use crate::text;

use super::context::Context;
use super::error::EngineError;

/// What delivering one key's kept events did.
#[derive(Debug)]
pub(super) struct KeyReport {
    /// The kept events delivered (their id), with their outcome, in order.
    pub(super) delivered: Vec<(String, Outcome)>,
    /// The first failure, after which the rest stayed kept.
    pub(super) failure: Option<EngineError>,
    /// Events still kept for the key.
    pub(super) left: usize,
    /// The ticket of the key's record after the run.
    pub(super) ticket: Option<u64>,
}

/// One run's work with GLPI and the state: the engine's settings, the GLPI
/// client, and the session once opened.
pub(super) struct Run<'e, S> {
    pub(super) engine: &'e Context<'e, S>,
    glpi: &'e Client,
    session: Option<Session<'e>>,
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

    /// Delivers the key's kept events, oldest first, stopping at the first
    /// failure. The caller holds the key.
    pub(super) async fn deliver_key(&mut self, key: &Key) -> Result<KeyReport, EngineError> {
        let queue = self.store().kept(key).await?;
        let (mut record, mut record_lost) = match self.store().load_record(key).await? {
            RecordLoad::Found(r) => (Some(r), false),
            RecordLoad::Missing => (None, false),
            RecordLoad::Corrupt { kept_as, reason } => {
                tracing::warn!(
                    "the record of {key} was corrupt ({reason}; kept as {kept_as}): looking for \
                     its open ticket in GLPI by its marker"
                );
                (None, true)
            }
        };
        let mut report = KeyReport {
            delivered: Vec::new(),
            failure: None,
            left: queue.len(),
            ticket: None,
        };
        for mut kept in queue {
            if self.engine.budget_left().is_zero() {
                break;
            }
            match self
                .deliver_one(&kept.event, record.as_ref(), record_lost)
                .await
            {
                Ok((outcome, new_record)) => {
                    self.store().delivered(&kept).await?;
                    report.left -= 1;
                    record = new_record;
                    record_lost = false;
                    report.delivered.push((kept.id, outcome));
                }
                Err(e) => {
                    self.fail(&mut kept, &e).await?;
                    report.failure = Some(e);
                    break;
                }
            }
        }
        report.ticket = record.map(|r| r.ticket_id);
        Ok(report)
    }

    /// Records a failed attempt on a kept event.
    async fn fail(&self, kept: &mut Kept, e: &EngineError) -> Result<(), EngineError> {
        Ok(self
            .store()
            .failed(kept, e.failure(), e.to_string())
            .await?)
    }

    /// Handles one event; returns its outcome and the key's new record.
    async fn deliver_one(
        &mut self,
        event: &Event,
        record: Option<&Record>,
        record_lost: bool,
    ) -> Result<(Outcome, Option<Record>), EngineError> {
        let policy = Policy {
            update_priority: self.engine.config.update_priority,
        };
        let mut record = record.cloned();
        // A creation whose answer was lost: find the ticket it made first.
        if let Some(pending) = self.store().read_intent(&event.key).await? {
            let intent = match pending {
                Pending::Intent(intent) => Some(intent),
                Pending::Unreadable => None,
            };
            record = self.reconcile_intent(&event.key, intent, record).await?;
        }
        let lookup = lifecycle::lookup(record.as_ref(), event, record_lost);
        let found = if lookup == Lookup::Nothing {
            Found::NotLooked
        } else {
            self.look_up(lookup, &event.key).await?
        };
        let plan = lifecycle::decide(record.as_ref(), found, event, policy);
        let mut ticket = match found {
            Found::Ticket(id, _) => Some(id),
            _ => record.as_ref().map(|r| r.ticket_id),
        };
        self.execute(&plan, event, record.as_ref(), &mut ticket)
            .await?;
        let new_record = self
            .apply_record(event, record.as_ref(), &plan, ticket)
            .await?;
        Ok((plan.outcome(ticket), new_record))
    }

    /// Runs the plan's writes in order; a creation sets `ticket`.
    async fn execute(
        &mut self,
        plan: &Plan,
        event: &Event,
        record: Option<&Record>,
        ticket: &mut Option<u64>,
    ) -> Result<(), EngineError> {
        if plan.steps.is_empty() {
            return Ok(());
        }
        let date = self.engine.clock.date(event.time);
        let lang = self.engine.config.lang;
        for step in &plan.steps {
            match step {
                Step::Create { previous } => {
                    *ticket = Some(self.create(event, record, *previous, &date).await?);
                }
                Step::FollowUp { ticket: id, note } => {
                    let content = text::followup(note, event, &date, lang);
                    self.session().await?.add_followup(*id, content).await?;
                }
                Step::SetPriority {
                    ticket: id,
                    priority,
                } => {
                    self.session().await?.set_priority(*id, *priority).await?;
                }
                Step::Solve { ticket: id } => {
                    let content = text::solution(event, &date, lang);
                    self.session().await?.add_solution(*id, content).await?;
                }
            }
        }
        Ok(())
    }

    async fn look_up(&mut self, lookup: Lookup, key: &Key) -> Result<Found, EngineError> {
        Ok(match lookup {
            Lookup::Nothing => Found::NotLooked,
            Lookup::ReadTicket(id) => {
                let status = self.session().await?.ticket_status(id).await?;
                Found::Ticket(id, remote(status))
            }
            Lookup::FindByMarker => match self.find_open(key).await? {
                Some(id) => Found::Ticket(id, Remote::Open),
                None => Found::NoTicket,
            },
        })
    }

    /// Writes the record change of an executed plan; returns the new record.
    async fn apply_record(
        &self,
        event: &Event,
        record: Option<&Record>,
        plan: &Plan,
        ticket: Option<u64>,
    ) -> Result<Option<Record>, EngineError> {
        let store = self.store();
        let created = plan.steps.iter().any(|s| matches!(s, Step::Create { .. }));
        let new = match (&plan.record, ticket) {
            (RecordChange::Keep, _) => record.cloned(),
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

/// Where a ticket stands, as the lifecycle sees it.
fn remote(status: TicketStatus) -> Remote {
    match status {
        TicketStatus::Open => Remote::Open,
        TicketStatus::Solved => Remote::Solved,
        TicketStatus::Closed => Remote::Closed,
        TicketStatus::Trashed => Remote::Trashed,
        TicketStatus::Gone => Remote::Gone,
    }
}
