//! `reconcile`'s work with GLPI and the state: GLPI's open tickets (one
//! paged listing), the records and kept events (what this program has
//! seen), the decision for each key (`core::reconcile::verdict`), and each
//! change made under the key's hold, through the lifecycle, like a
//! notification.
//!
//! The per-key order is the notifications': a key held by a run, or with
//! kept events, is left (a notification is on its way or waiting; the next
//! reconcile looks again); a key whose record changed since it was read is
//! left (newer news than the engine's state read before). The change
//! itself is a reconcile event (`NotificationType::Reconcile`) that is not
//! kept: when GLPI fails, nothing waits in the spool to be delivered on
//! old news — the next reconcile reads the engine again.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;

use super::api::Engine;
use super::context::glpi_client;
use super::deliver::Run;
use super::error::EngineError;
use crate::config::ReconcileConfig;
use crate::core::reconcile::{self, Facts, Rules, Ticket, Verdict, Why};
use crate::core::{Claim, Event, Key, NotificationType, Outcome, Record, State};
use crate::monitor::{Object, Snapshot};
use crate::state::{Held, RecordLoad, Store};

/// What reconcile did, or would do (`--dry-run`), with one key.
#[derive(Debug)]
pub(crate) enum Action {
    Solved(u64),
    Opened(u64),
    WouldSolve(u64),
    WouldOpen,
    Left(Why),
    /// The change failed: nothing is kept, the next reconcile tries again.
    Failed(EngineError),
}

/// One key reconcile acted upon, or reports.
#[derive(Debug)]
pub(crate) struct KeyLine {
    pub(crate) key: Key,
    pub(crate) action: Action,
    /// The key's open ticket (the one solved, opened or left).
    pub(crate) ticket: Option<u64>,
    /// The engine's state of the object, when it knows it.
    pub(crate) state: Option<State>,
    /// Since when, when the engine says.
    pub(crate) since: Option<Timestamp>,
}

/// What a reconcile did.
#[derive(Debug)]
pub(crate) struct Reconciled {
    /// The open tickets of esia-glpi that GLPI listed.
    pub(crate) open_tickets: usize,
    /// The keys acted upon, and those left for a reason worth saying.
    pub(crate) keys: Vec<KeyLine>,
    /// Requests sent to GLPI.
    pub(crate) requests: u32,
}

/// What the state and GLPI say of the keys, read once before deciding.
struct Known {
    /// The open ticket of each key, as GLPI lists them.
    listed: HashMap<Key, u64>,
    /// This GLPI's records.
    records: HashMap<Key, Record>,
    /// Keys with kept events.
    kept: BTreeSet<Key>,
}

impl<S: Store> Engine<'_, S> {
    /// Makes GLPI mirror `snapshot` (`dry_run`: says what it would do).
    pub(crate) async fn reconcile(
        &self,
        snapshot: &Snapshot,
        settings: &ReconcileConfig,
        dry_run: bool,
    ) -> Result<Reconciled, EngineError> {
        let ctx = &self.ctx;
        let glpi = glpi_client(ctx.config, &ctx.cache)?;
        let mut run = Run::new(ctx, &glpi);
        let result = self
            .reconcile_with(&mut run, snapshot, settings, dry_run)
            .await;
        run.close().await;
        let (open_tickets, keys) = result?;
        tracing::info!(
            "reconcile objects={} open_tickets={open_tickets} solved={} opened={} requests={} ms={}",
            snapshot.objects.len(),
            keys.iter()
                .filter(|k| matches!(k.action, Action::Solved(_)))
                .count(),
            keys.iter()
                .filter(|k| matches!(k.action, Action::Opened(_)))
                .count(),
            glpi.requests_sent(),
            ctx.started.elapsed().as_millis()
        );
        Ok(Reconciled {
            open_tickets,
            keys,
            requests: glpi.requests_sent(),
        })
    }

    async fn reconcile_with(
        &self,
        run: &mut Run<'_, S>,
        snapshot: &Snapshot,
        settings: &ReconcileConfig,
        dry_run: bool,
    ) -> Result<(usize, Vec<KeyLine>), EngineError> {
        let known = self.known(run).await?;
        let now = self.ctx.clock.now();
        let rules = Rules {
            margin: settings.margin,
            create_missing: settings.create_missing,
        };
        let objects = snapshot.index();
        // Every key with a ticket or a record, and every object the engine knows.
        let mut keys: BTreeSet<&Key> = known.listed.keys().chain(known.records.keys()).collect();
        keys.extend(objects.keys().copied());
        let mut lines = Vec::new();
        for key in keys {
            let object = objects.get(key).copied();
            let host = (!key.service.is_empty())
                .then(|| objects.get(&Key::new(key.node.clone(), String::new())))
                .flatten()
                .copied();
            let ticket = match (known.listed.get(key), known.records.get(key)) {
                (Some(id), _) => Ticket::Open(*id),
                (None, Some(record)) => Ticket::ClosedInGlpi(record.ticket_id),
                (None, None) => Ticket::None,
            };
            let facts = Facts {
                object: object.map(|o| &o.observed),
                host: host.map(|h| &h.observed),
                ticket,
                seen: !matches!(ticket, Ticket::None) || known.kept.contains(key),
                named: object.is_some_and(|o| settings.scope.names(key, &o.groups)),
            };
            let mut verdict = reconcile::verdict(&facts, rules, now);
            if verdict == Verdict::Leave(Why::NotSeen) {
                // A delivered event whose ticket was solved since leaves a
                // trace only: the key was seen if it has one.
                let seen = Facts {
                    seen: true,
                    ..facts
                };
                let seen = reconcile::verdict(&seen, rules, now);
                if seen != verdict && self.traced(key).await? {
                    verdict = seen;
                }
            }
            let open = match ticket {
                Ticket::Open(id) => Some(id),
                Ticket::ClosedInGlpi(_) | Ticket::None => None,
            };
            let action = match verdict {
                Verdict::Right => continue,
                Verdict::Leave(why) if !why.reported() => continue,
                Verdict::Leave(why) => Action::Left(why),
                Verdict::Verify(_) if dry_run => continue,
                Verdict::Solve(id) if dry_run => Action::WouldSolve(id),
                Verdict::Create if dry_run => Action::WouldOpen,
                Verdict::Solve(_) | Verdict::Create | Verdict::Verify(_) => {
                    let object = object.expect("a change is decided only for a known object");
                    let before = known.records.get(key);
                    match self.change(run, object, before, open).await {
                        // The record's ticket was closed: its record went,
                        // nothing to say.
                        Action::Left(Why::Newer | Why::ClosedInGlpi(_))
                            if matches!(verdict, Verdict::Verify(_)) =>
                        {
                            continue;
                        }
                        action => action,
                    }
                }
            };
            let ticket = match &action {
                Action::Solved(id)
                | Action::Opened(id)
                | Action::WouldSolve(id)
                | Action::Left(Why::ClosedInGlpi(id)) => Some(*id),
                _ => open,
            };
            lines.push(KeyLine {
                key: key.clone(),
                action,
                ticket,
                state: object.map(|o| o.observed.state),
                since: object.and_then(|o| o.observed.since),
            });
        }
        Ok((known.listed.len(), lines))
    }

    /// GLPI's open tickets of esia-glpi, this GLPI's records, and the keys
    /// with kept events.
    async fn known(&self, run: &mut Run<'_, S>) -> Result<Known, EngineError> {
        let store = self.ctx.store;
        let listed = run.list_open_tickets().await?.into_iter().collect();
        let (all, unreadable) = store.records().await?;
        for problem in unreadable {
            tracing::warn!("reconcile: {problem}");
        }
        let mut records = HashMap::with_capacity(all.len());
        for record in all {
            if run.claim(record.glpi.as_ref()).await? == Claim::Ours && record.ticket_id != 0 {
                records.insert(record.key.clone(), record);
            }
        }
        let kept = store.keys_with_kept_events().await?.into_iter().collect();
        Ok(Known {
            listed,
            records,
            kept,
        })
    }

    /// Whether the state keeps a trace of a ticket of `key` for this GLPI
    /// (read under the key's hold; a held key counts as seen: the run
    /// holding it delivers one of its events).
    async fn traced(&self, key: &Key) -> Result<bool, EngineError> {
        let ctx = &self.ctx;
        let Some(mut held) = ctx.store.try_hold(key).await? else {
            return Ok(true);
        };
        let (trace, _) = held.seen(ctx.glpi(), ctx.config.inventory_ttl).await?;
        Ok(trace.is_some())
    }

    /// Solves or opens the ticket of `object`, under its key's hold, unless
    /// a notification is on its way or newer news came meanwhile.
    async fn change(
        &self,
        run: &mut Run<'_, S>,
        object: &Object,
        before: Option<&Record>,
        listed: Option<u64>,
    ) -> Action {
        match self.change_held(run, object, before, listed).await {
            Ok(Ok(Outcome::Solved { ticket })) => Action::Solved(ticket),
            Ok(Ok(Outcome::Created { ticket, .. })) => Action::Opened(ticket),
            Ok(Ok(Outcome::Ignored {
                skip: crate::core::Skip::ClosedInGlpi(id, _),
                ..
            })) => Action::Left(Why::ClosedInGlpi(id)),
            // GLPI said otherwise under the hold (the ticket was solved
            // meanwhile, or one is open already): nothing left to do.
            Ok(Ok(other)) => {
                tracing::info!(
                    "{}: reconcile found nothing to do under the key's hold ({})",
                    object.key,
                    other.action()
                );
                Action::Left(Why::Newer)
            }
            Ok(Err(why)) => Action::Left(why),
            Err(e) => {
                tracing::warn!("{}: reconcile could not change its ticket: {e}", object.key);
                Action::Failed(e)
            }
        }
    }

    async fn change_held(
        &self,
        run: &mut Run<'_, S>,
        object: &Object,
        before: Option<&Record>,
        listed: Option<u64>,
    ) -> Result<Result<Outcome, Why>, EngineError> {
        let ctx = &self.ctx;
        if ctx.budget_left().is_zero() {
            return Err(ctx.run_timeout());
        }
        let Some(mut held) = ctx.store.try_hold(&object.key).await? else {
            return Ok(Err(Why::Busy));
        };
        if !held.queue().await?.kept.is_empty() {
            return Ok(Err(Why::Busy));
        }
        let now = match held.load_record().await? {
            RecordLoad::Found(r) => Some(r),
            RecordLoad::Missing | RecordLoad::Corrupt { .. } => None,
        };
        let same =
            |a: &Record, b: &Record| a.ticket_id == b.ticket_id && a.updated_at == b.updated_at;
        let unchanged = match (before, now.as_ref()) {
            (Some(a), Some(b)) => same(a, b),
            (None, None) => true,
            // A record of another GLPI, not read before: not this GLPI's news.
            (None, Some(b)) => ctx.claim(b.glpi.as_ref()) != Claim::Ours,
            (Some(_), None) => false,
        };
        if !unchanged {
            return Ok(Err(Why::Newer));
        }
        let event = self.event(object);
        let delivery = run.deliver_unkept(&mut held, event, listed);
        let outcome = tokio::time::timeout(ctx.budget_left(), delivery)
            .await
            .unwrap_or_else(|_| Err(ctx.run_timeout()))?;
        drop(held);
        Ok(Ok(outcome))
    }

    /// The reconcile event of `object`: its state, as a notification of it
    /// would carry, dated when the object entered it.
    fn event(&self, object: &Object) -> Event {
        let config = self.ctx.config;
        Event {
            key: object.key.clone(),
            group: object.groups.first().cloned().unwrap_or_default(),
            address: object.address.clone(),
            state: object.observed.state,
            output: object.output.clone(),
            priority: config.default_priority,
            kind: Some(NotificationType::Reconcile),
            author: String::new(),
            comment: String::new(),
            vars: Vec::new(),
            time: object
                .observed
                .since
                .unwrap_or_else(|| self.ctx.clock.now()),
            order: None,
            started: None,
            default_priority: false,
        }
    }
}
