//! `notify`: one state change, end to end.
//!
//! lock the key → load the record → [`lifecycle::lookup`] → (only if GLPI is
//! needed) open a session, read what must be read, [`lifecycle::decide`],
//! execute the plan, close the session → update the record → report. The
//! lock is held across the whole sequence, so runs of one key are serialised.

use std::collections::BTreeMap;

use super::{Globals, local_date};
use crate::cli::NotifyArgs;
use crate::config::Config;
use crate::error::Error;
use crate::event::{Event, MonitorEnv, State};
use crate::glpi::{self, AssetMatch, Client, NewTicket, Session, UserMatch};
use crate::lifecycle::{
    self, Found, Lookup, Outcome, Plan, Policy, RecordChange, Remote, Skip, Step,
};
use crate::output::{self, NotifyReport};
use crate::state::{RecordLoad, StateDir, TicketRecord, encode_component};
use crate::text;

pub(crate) fn run(globals: &Globals, args: &NotifyArgs) -> Result<(), Error> {
    let config = globals.load_config()?;
    let event = Event::resolve(
        args,
        &MonitorEnv::capture(),
        config.default_priority,
        jiff::Timestamp::now(),
    )?;
    if args.send_mail || !args.mails.is_empty() {
        // Mail sending is not part of this version: say so, never skip silently.
        tracing::warn!(
            "mail sending is not available in this version of esia-glpi: no notification \
             mail is sent{}",
            if args.mails.is_empty() {
                String::new()
            } else {
                format!(" to {}", args.mails.join(", "))
            }
        );
    }
    let dir = StateDir::open(globals.state_root(&config))?;
    let _lock = dir.lock(&event.key, config.lock_timeout)?;

    let (record, record_lost) = match dir.load_record(&event.key)? {
        RecordLoad::Found(r) => (Some(r), false),
        RecordLoad::Missing => (None, false),
        RecordLoad::Corrupt { moved_to, reason } => {
            tracing::warn!(
                "the record of {} was corrupt ({reason}; kept as {}): looking for its open \
                 ticket in GLPI by its marker",
                event.key,
                moved_to.display()
            );
            (None, true)
        }
    };
    let policy = Policy {
        update_priority: config.update_priority,
    };
    let lookup = lifecycle::lookup(record.as_ref(), &event, record_lost);
    let plan_without_glpi = (lookup == Lookup::Nothing)
        .then(|| lifecycle::decide(record.as_ref(), Found::NotLooked, &event, policy))
        .filter(|p| p.steps.is_empty());

    let (plan, ticket) = match plan_without_glpi {
        Some(plan) => (plan, record.as_ref().map(|r| r.ticket_id)),
        None => {
            let client = Client::new(glpi_settings(&config))?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(Error::Runtime)?;
            let ctx = Exec {
                config: &config,
                dir: &dir,
                event: &event,
                record: record.as_ref(),
                policy,
            };
            let budget = config.run_timeout;
            let result = runtime.block_on(async {
                tokio::time::timeout(budget, ctx.with_session(&client, lookup))
                    .await
                    .unwrap_or(Err(Error::RunTimeout(budget.as_secs())))
            });
            tracing::info!(
                "{}: {} HTTP requests to GLPI",
                event.key,
                client.requests_sent()
            );
            result?
        }
    };

    apply_record(&dir, &event, record.as_ref(), &plan, ticket)?;
    output::notify(globals.json, &report(&config, &event, &plan, ticket));
    Ok(())
}

pub(crate) fn glpi_settings(config: &Config) -> glpi::Settings {
    glpi::Settings {
        api_url: config.api_url(),
        app_token: config.app_token.clone(),
        user_token: config.user_token.clone(),
        connect_timeout: config.connect_timeout,
        request_timeout: config.request_timeout,
        retries: config.retries,
        tls_verify: config.tls_verify,
        ca_file: config.ca_file.clone(),
    }
}

/// Everything the GLPI part of a run needs.
struct Exec<'a> {
    config: &'a Config,
    dir: &'a StateDir,
    event: &'a Event,
    record: Option<&'a TicketRecord>,
    policy: Policy,
}

impl Exec<'_> {
    /// Opens a session, does the work, and closes the session on every path.
    async fn with_session(
        &self,
        client: &Client,
        lookup: Lookup,
    ) -> Result<(Plan, Option<u64>), Error> {
        let session = client.open().await?;
        let result = self.work(&session, lookup).await;
        session.close().await;
        result
    }

    async fn work(
        &self,
        session: &Session<'_>,
        lookup: Lookup,
    ) -> Result<(Plan, Option<u64>), Error> {
        let found = match lookup {
            Lookup::Nothing => Found::NotLooked,
            Lookup::ReadTicket(id) => Found::Ticket(id, session.ticket_state(id).await?),
            Lookup::FindByMarker => {
                let ids = session
                    .find_open_tickets(&text::marker(&self.event.key))
                    .await?;
                if ids.len() > 1 {
                    tracing::warn!(
                        "{} open tickets carry the marker of {}: using the oldest, {}",
                        ids.len(),
                        self.event.key,
                        ids[0]
                    );
                }
                ids.first()
                    .map_or(Found::NoTicket, |id| Found::Ticket(*id, Remote::Open))
            }
        };
        let plan = lifecycle::decide(self.record, found, self.event, self.policy);
        let mut ticket = match found {
            Found::Ticket(id, _) => Some(id),
            _ => self.record.map(|r| r.ticket_id),
        };
        let date = local_date(self.event.time);
        let lang = self.config.lang;
        for step in &plan.steps {
            match step {
                Step::Create { previous } => {
                    ticket = Some(self.create(session, *previous, &date).await?);
                }
                Step::FollowUp { ticket: id, note } => {
                    session
                        .add_followup(*id, text::followup(note, self.event, &date, lang))
                        .await?;
                }
                Step::SetPriority {
                    ticket: id,
                    priority,
                } => {
                    session.set_priority(*id, *priority).await?;
                }
                Step::Solve { ticket: id } => {
                    session
                        .add_solution(*id, text::solution(self.event, &date, lang))
                        .await?;
                }
            }
        }
        Ok((plan, ticket))
    }

    async fn create(
        &self,
        session: &Session<'_>,
        previous: Option<(u64, Remote)>,
        date: &str,
    ) -> Result<u64, Error> {
        let config = self.config;
        let event = self.event;
        let vars = text::vars(event, self.record.map(|r| r.state), date, config.lang);
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
        let requester = self.requester(session).await?;
        let mut items_id = BTreeMap::new();
        if let Some(asset) = self.asset(session).await? {
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
        Ok(session.create_ticket(ticket).await?)
    }

    /// The requester's id: cached for `cache_ttl`; problems are logged, and the
    /// ticket is created without a requester rather than not at all.
    async fn requester(&self, session: &Session<'_>) -> Result<Option<u64>, Error> {
        let Some(login) = self.config.user_name.as_deref() else {
            return Ok(None);
        };
        let name = format!("requester-{}.json", encode_component(login));
        let found = match self
            .dir
            .cache_get::<UserMatch>(&name, self.config.cache_ttl)
        {
            Some(m) => m,
            None => {
                let m = session.find_user(login).await?;
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
    async fn asset(&self, session: &Session<'_>) -> Result<Option<AssetMatch>, Error> {
        let node = &self.event.key.node;
        let types = &self.config.asset_types;
        if types.is_empty() {
            return Ok(None);
        }
        let name = format!("assets-{}.json", encode_component(node));
        let matches = match self
            .dir
            .cache_get::<(Vec<String>, Vec<AssetMatch>)>(&name, self.config.cache_ttl)
            .filter(|(cached_types, _)| cached_types == types)
        {
            Some((_, m)) => m,
            None => {
                let m = session.find_assets(node, types).await?;
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
}

/// Writes the record change of an executed plan.
fn apply_record(
    dir: &StateDir,
    event: &Event,
    record: Option<&TicketRecord>,
    plan: &Plan,
    ticket: Option<u64>,
) -> Result<(), Error> {
    match (&plan.record, ticket) {
        (RecordChange::Keep, _) => {}
        (RecordChange::Forget, _) => dir.remove_record(&event.key)?,
        (
            RecordChange::Write {
                state,
                output,
                priority,
                acked,
            },
            Some(ticket_id),
        ) => {
            let now = jiff::Timestamp::now();
            let opened_at = match record {
                Some(r) if r.ticket_id == ticket_id => r.opened_at,
                _ => event.time,
            };
            dir.save_record(&TicketRecord {
                schema: crate::state::SCHEMA,
                node: event.key.node.clone(),
                service: event.key.service.clone(),
                ticket_id,
                state: *state,
                output: output.clone(),
                priority: *priority,
                acked: *acked,
                opened_at,
                updated_at: now,
            })?;
        }
        (RecordChange::Write { .. }, None) => {
            tracing::error!("internal: a plan wrote a record without a ticket id; please report");
        }
    }
    Ok(())
}

fn report(config: &Config, event: &Event, plan: &Plan, ticket: Option<u64>) -> NotifyReport {
    let (action, reason) = match plan.outcome {
        Outcome::Created => ("created", None),
        Outcome::FollowedUp => ("followed_up", None),
        Outcome::Solved => ("solved", None),
        Outcome::Acknowledged => ("acknowledged", None),
        Outcome::Ignored(skip) => ("ignored", Some(skip_reason(skip, event.state))),
    };
    let replaces = plan.steps.iter().find_map(|s| match s {
        Step::Create {
            previous: Some((id, _)),
        } => Some(*id),
        _ => None,
    });
    NotifyReport {
        action,
        ticket_id: ticket,
        url: ticket.map(|id| config.ticket_url(id)),
        node: event.key.node.clone(),
        service: event.key.service.clone(),
        state: event.state.json_name(),
        reason,
        replaces,
    }
}

fn skip_reason(skip: Skip, state: State) -> String {
    match skip {
        Skip::Renotification => format!("already recorded as {state}"),
        Skip::NoTicket => "no open ticket for this node and service".to_string(),
        Skip::ClosedInGlpi(id, remote) => {
            let how = match remote {
                Remote::Solved => "solved",
                Remote::Closed => "closed",
                Remote::Trashed => "put in the trash",
                Remote::Gone => "purged",
                Remote::Open => "open",
            };
            format!("ticket {id} was {how} in GLPI; nothing written into it")
        }
    }
}
