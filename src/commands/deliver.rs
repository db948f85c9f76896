//! Delivery of kept events to GLPI, shared by `notify` and `flush`.
//!
//! For one key, under its lock: the spooled events are handled oldest first,
//! each exactly like a fresh notification (read the record → lifecycle lookup
//! → GLPI → decide → execute → record), and each leaves the spool only once
//! GLPI confirmed it. The first failure stops the key: later events wait
//! behind it, in order. One GLPI session serves the whole run, opened only if
//! some event needs GLPI, and always closed.
//!
//! Unknown outcomes: a ticket creation is preceded by an intent file. If its
//! answer is lost (timeout, reset, crash), the same run and every later run
//! first look for the ticket by its marker and adopt it, so a retry never
//! opens a second ticket.

use std::collections::BTreeMap;
use std::time::Duration;

use super::local_date;
use crate::config::Config;
use crate::error::Error;
use crate::event::{Event, Key};
use crate::glpi::{AssetMatch, Client, GlpiError, NewTicket, Session, UserMatch};
use crate::lifecycle::{self, Found, Lookup, Outcome, Plan, Policy, RecordChange, Remote, Step};
use crate::state::{CreateIntent, RecordLoad, StateDir, TicketRecord, encode_component};
use crate::text;

/// What happened to one delivered event.
#[derive(Debug, Clone)]
pub(crate) struct Delivered {
    pub(crate) event: Event,
    pub(crate) plan: Plan,
    /// The ticket acted upon (created, followed up, solved) or recorded.
    pub(crate) ticket: Option<u64>,
}

/// The result of delivering one key's spool.
#[derive(Debug)]
pub(crate) struct KeyReport {
    pub(crate) delivered: Vec<Delivered>,
    /// The first failure, after which the rest stayed in the spool.
    pub(crate) failure: Option<Error>,
    /// Events still kept for the key.
    pub(crate) left: usize,
    /// The ticket of the key's record after the run.
    pub(crate) ticket: Option<u64>,
}

/// One run's connection to GLPI and the local state.
pub(crate) struct Deliverer<'c> {
    pub(crate) config: &'c Config,
    pub(crate) dir: &'c StateDir,
    client: &'c Client,
    session: Option<Session<'c>>,
}

impl<'c> Deliverer<'c> {
    pub(crate) fn new(config: &'c Config, dir: &'c StateDir, client: &'c Client) -> Deliverer<'c> {
        Deliverer {
            config,
            dir,
            client,
            session: None,
        }
    }

    /// Closes the GLPI session if one was opened.
    pub(crate) async fn close(&mut self) {
        if let Some(s) = self.session.take() {
            s.close().await;
        }
    }

    async fn session(&mut self) -> Result<&Session<'c>, Error> {
        if self.session.is_none() {
            self.session = Some(self.client.open().await?);
        }
        Ok(self.session.as_ref().expect("just opened"))
    }

    /// Delivers the key's spool, oldest first, stopping at the first failure.
    /// The caller holds the key's lock.
    pub(crate) async fn deliver_key(
        &mut self,
        key: &Key,
        budget_left: impl Fn() -> Duration,
    ) -> Result<KeyReport, Error> {
        let queue = self.dir.spool_list(key)?;
        let total = queue.len();
        let (mut record, mut record_lost) = match self.dir.load_record(key)? {
            RecordLoad::Found(r) => (Some(r), false),
            RecordLoad::Missing => (None, false),
            RecordLoad::Corrupt { moved_to, reason } => {
                tracing::warn!(
                    "the record of {key} was corrupt ({reason}; kept as {}): looking for its \
                     open ticket in GLPI by its marker",
                    moved_to.display()
                );
                (None, true)
            }
        };
        let mut report = KeyReport {
            delivered: Vec::new(),
            failure: None,
            left: total,
            ticket: None,
        };
        for mut spooled in queue {
            if budget_left().is_zero() {
                break;
            }
            let result = self
                .deliver_one(&spooled.entry.event, record.as_ref(), record_lost)
                .await;
            match result {
                Ok((delivered, new_record)) => {
                    spooled.remove()?;
                    report.left -= 1;
                    record = new_record;
                    record_lost = false;
                    report.delivered.push(delivered);
                }
                Err(e) => {
                    spooled.failed(e.to_string(), e.exit_status() as u8)?;
                    report.failure = Some(e);
                    break;
                }
            }
        }
        report.ticket = record.map(|r| r.ticket_id);
        Ok(report)
    }

    /// Handles one event; returns what was done and the key's new record.
    async fn deliver_one(
        &mut self,
        event: &Event,
        record: Option<&TicketRecord>,
        record_lost: bool,
    ) -> Result<(Delivered, Option<TicketRecord>), Error> {
        let policy = Policy {
            update_priority: self.config.update_priority,
        };
        let mut record = record.cloned();
        // A creation whose answer was lost: find the ticket it made first.
        if let Some(pending) = self.dir.read_intent(&event.key) {
            record = self
                .reconcile_intent(&event.key, pending.intent, record)
                .await?;
        }
        let lookup = lifecycle::lookup(record.as_ref(), event, record_lost);
        if lookup == Lookup::Nothing {
            let plan = lifecycle::decide(record.as_ref(), Found::NotLooked, event, policy);
            if plan.steps.is_empty() {
                let ticket = record.as_ref().map(|r| r.ticket_id);
                let new_record = self.apply_record(event, record.as_ref(), &plan, ticket)?;
                return Ok((
                    Delivered {
                        event: event.clone(),
                        plan,
                        ticket,
                    },
                    new_record,
                ));
            }
        }
        let found = self.look_up(lookup, &event.key).await?;
        let plan = lifecycle::decide(record.as_ref(), found, event, policy);
        let mut ticket = match found {
            Found::Ticket(id, _) => Some(id),
            _ => record.as_ref().map(|r| r.ticket_id),
        };
        let date = local_date(event.time);
        let lang = self.config.lang;
        for step in &plan.steps {
            match step {
                Step::Create { previous } => {
                    ticket = Some(
                        self.create(event, record.as_ref(), *previous, &date)
                            .await?,
                    );
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
        let new_record = self.apply_record(event, record.as_ref(), &plan, ticket)?;
        Ok((
            Delivered {
                event: event.clone(),
                plan,
                ticket,
            },
            new_record,
        ))
    }

    async fn look_up(&mut self, lookup: Lookup, key: &Key) -> Result<Found, Error> {
        Ok(match lookup {
            Lookup::Nothing => Found::NotLooked,
            Lookup::ReadTicket(id) => {
                Found::Ticket(id, self.session().await?.ticket_state(id).await?)
            }
            Lookup::FindByMarker => match self.find_open(key).await? {
                Some(id) => Found::Ticket(id, Remote::Open),
                None => Found::NoTicket,
            },
        })
    }

    /// The oldest open ticket carrying the key's marker. GLPI's "contains"
    /// also finds a ticket whose check output merely quotes this marker: a
    /// ticket counts only if its own marker — the last one of its content,
    /// which esia-glpi writes after every monitored value — names this key
    /// (or if no marker can be read back, e.g. a content GLPI cut short).
    async fn find_open(&mut self, key: &Key) -> Result<Option<u64>, Error> {
        let rows = self
            .session()
            .await?
            .find_open_tickets(&text::marker(key))
            .await?;
        let ids: Vec<u64> = rows
            .into_iter()
            .filter(|t| match text::parse_marker(&t.content) {
                Some(theirs) if theirs != *key => {
                    tracing::warn!(
                        "ticket {} only quotes the marker of {key} (it is the ticket of \
                         {theirs}): not taken for it",
                        t.id
                    );
                    false
                }
                _ => true,
            })
            .map(|t| t.id)
            .collect();
        if ids.len() > 1 {
            tracing::warn!(
                "{} open tickets carry the marker of {key}: using the oldest, {}",
                ids.len(),
                ids[0]
            );
        }
        Ok(ids.first().copied())
    }

    /// A previous creation may have succeeded without us hearing of it: look
    /// for its ticket and adopt it as the key's record.
    async fn reconcile_intent(
        &mut self,
        key: &Key,
        intent: Option<CreateIntent>,
        record: Option<TicketRecord>,
    ) -> Result<Option<TicketRecord>, Error> {
        let found = self.find_open(key).await?;
        let record = match (found, intent) {
            (Some(id), _) if record.as_ref().is_some_and(|r| r.ticket_id == id) => record,
            (Some(id), Some(intent)) => {
                tracing::info!(
                    "{key}: adopting ticket {id}, created by a run whose answer was lost"
                );
                let adopted = TicketRecord {
                    schema: crate::state::SCHEMA,
                    node: key.node.clone(),
                    service: key.service.clone(),
                    ticket_id: id,
                    state: intent.state,
                    output: intent.output,
                    priority: intent.priority,
                    acked: false,
                    opened_at: intent.event_time,
                    updated_at: jiff::Timestamp::now(),
                    rebuilt: false,
                };
                self.dir.save_record(&adopted)?;
                Some(adopted)
            }
            _ => record,
        };
        self.dir.clear_intent(key)?;
        Ok(record)
    }

    async fn create(
        &mut self,
        event: &Event,
        record: Option<&TicketRecord>,
        previous: Option<(u64, Remote)>,
        date: &str,
    ) -> Result<u64, Error> {
        let config = self.config;
        let vars = text::vars(event, record.map(|r| r.state), date, config.lang);
        let title = text::title(&config.tpl_title, &vars);
        let content = text::content(
            config.tpl_content.as_deref(),
            &vars,
            config.lang,
            previous,
            &event.key,
        );
        for name in title.unknown.iter().chain(&content.unknown) {
            tracing::warn!("unknown template variable %{name} left as written");
        }
        let requester = self.requester().await?;
        let mut items_id = BTreeMap::new();
        if let Some(asset) = self.asset(&event.key.node).await? {
            items_id.insert(asset.itemtype, vec![asset.id]);
        }
        // Priority -L plus the urgency/impact that GLPI's default matrix maps to
        // the same priority, so a profile without CHANGEPRIORITY still gets it.
        let (urgency, impact) = config.urgency_impact(event.priority);
        let ticket = NewTicket {
            name: title.text,
            content: content.text,
            type_: config.ticket_type.glpi_id(),
            urgency,
            impact,
            priority: event.priority,
            entities_id: config.entity,
            itilcategories_id: config.category,
            requester,
            items_id,
        };
        self.dir.write_intent(&CreateIntent {
            node: event.key.node.clone(),
            service: event.key.service.clone(),
            state: event.state,
            output: event.output.clone(),
            priority: event.priority,
            event_time: event.time,
        })?;
        match self.session().await?.create_ticket(ticket).await {
            Ok(id) => Ok(id),
            Err(GlpiError::Unavailable {
                outcome_unknown: true,
                what,
                reason,
            }) => {
                // The creation may have happened: look before anyone retries.
                tracing::warn!("{what}: {reason}; looking for the ticket by its marker");
                tokio::time::sleep(Duration::from_millis(200)).await;
                match self.find_open(&event.key).await {
                    Ok(Some(id)) => {
                        tracing::info!("{}: the lost creation did make ticket {id}", event.key);
                        Ok(id)
                    }
                    Ok(None) | Err(_) => Err(Error::Glpi(GlpiError::Unavailable {
                        what,
                        reason,
                        outcome_unknown: true,
                    })),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The requester's id: cached for `cache_ttl`; problems are logged, and the
    /// ticket is created without a requester rather than not at all.
    async fn requester(&mut self) -> Result<Option<u64>, Error> {
        let Some(login) = self.config.user_name.clone() else {
            return Ok(None);
        };
        let name = format!("requester-{}.json", encode_component(&login));
        let found = match self
            .dir
            .cache_get::<UserMatch>(&name, self.config.cache_ttl)
        {
            Some(m) => m,
            None => {
                let m = self.session().await?.find_user(&login).await?;
                self.dir.cache_put(&name, &m);
                m
            }
        };
        Ok(match found {
            UserMatch::Found(id) => Some(id),
            UserMatch::NotFound => {
                tracing::warn!(
                    "no GLPI user has the login {login:?} (user_name): ticket created without requester"
                );
                None
            }
            UserMatch::Inactive(id) => {
                tracing::warn!(
                    "the GLPI user {login:?} (id {id}) is inactive: ticket created without requester"
                );
                None
            }
            UserMatch::Ambiguous(n) => {
                tracing::warn!(
                    "{n} GLPI users have the login {login:?}: ticket created without requester"
                );
                None
            }
        })
    }

    /// The asset named exactly like the node, if there is exactly one.
    async fn asset(&mut self, node: &str) -> Result<Option<AssetMatch>, Error> {
        let types = self.config.asset_types.clone();
        if types.is_empty() {
            return Ok(None);
        }
        let name = format!("assets-{}.json", encode_component(node));
        let cached = self
            .dir
            .cache_get::<(Vec<String>, Vec<AssetMatch>)>(&name, self.config.cache_ttl)
            .filter(|(cached_types, _)| *cached_types == types);
        let matches = match cached {
            Some((_, m)) => m,
            None => {
                let m = self.session().await?.find_assets(node, &types).await?;
                self.dir.cache_put(&name, &(types.clone(), m.clone()));
                m
            }
        };
        Ok(match matches.as_slice() {
            [one] => Some(one.clone()),
            [] => {
                tracing::info!(
                    "no asset named {node:?} among {}: ticket not linked",
                    types.join(", ")
                );
                None
            }
            many => {
                let list: Vec<String> = many
                    .iter()
                    .map(|m| format!("{} {}", m.itemtype, m.id))
                    .collect();
                tracing::warn!(
                    "several assets are named {node:?} ({}): ticket not linked",
                    list.join(", ")
                );
                None
            }
        })
    }

    /// Writes the record change of an executed plan; returns the new record.
    fn apply_record(
        &self,
        event: &Event,
        record: Option<&TicketRecord>,
        plan: &Plan,
        ticket: Option<u64>,
    ) -> Result<Option<TicketRecord>, Error> {
        let created = plan.steps.iter().any(|s| matches!(s, Step::Create { .. }));
        let new = match (&plan.record, ticket) {
            (RecordChange::Keep, _) => record.cloned(),
            (RecordChange::Forget, _) => {
                self.dir.remove_record(&event.key)?;
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
                let r = TicketRecord {
                    schema: crate::state::SCHEMA,
                    node: event.key.node.clone(),
                    service: event.key.service.clone(),
                    ticket_id,
                    state: *state,
                    output: output.clone(),
                    priority: *priority,
                    acked: *acked,
                    opened_at,
                    updated_at: jiff::Timestamp::now(),
                    rebuilt: false,
                };
                self.dir.save_record(&r)?;
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
            self.dir.clear_intent(&event.key)?;
        }
        Ok(new)
    }
}

/// The JSON/human name of an outcome (SPEC `action`).
pub(crate) fn action_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Created => "created",
        Outcome::FollowedUp => "followed_up",
        Outcome::Solved => "solved",
        Outcome::Acknowledged => "acknowledged",
        Outcome::Ignored(_) => "ignored",
    }
}
