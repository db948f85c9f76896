//! "Know, do not search": what the state knows of a key's ticket when it
//! has no usable record (`core::knowledge`), and the inventory that makes
//! it know — one paged listing of the open tickets the API user wrote that
//! carry a marker, taken by one run under a state-wide hold while the
//! others wait, for a new, emptied, restored or copied state and once per
//! `inventory_ttl`. Every search of GLPI carries the ticket's writer, the
//! API user, whose id is looked up once and cached.

use secrecy::ExposeSecret as _;

use crate::core::knowledge::{self, Knowledge};
use crate::core::{Coverage, Key};
use crate::glpi::{GlpiError, Mark, MarkedTicket};
use crate::state::{Held, Store};
use crate::text;

use super::deliver::Run;
use super::error::EngineError;
use super::order;

impl<S: Store> Run<'_, S> {
    /// Whether the state alone can say that the key `held` holds, which has
    /// no usable record, has no open ticket (no GLPI needed for it).
    pub(super) async fn knows_none_open(&self, held: &mut S::Held) -> Result<bool, EngineError> {
        let ctx = self.engine;
        let (trace, coverage) = held.seen(ctx.glpi(), ctx.config.inventory_ttl).await?;
        Ok(knowledge::knowledge(trace.as_ref(), coverage, ctx.glpi()) == Knowledge::NoneOpen)
    }

    /// What the state knows of the open ticket of the key `held` holds,
    /// which has no usable record; the inventory is taken first when the
    /// state has none that covers this run.
    pub(super) async fn know(&mut self, held: &mut S::Held) -> Result<Knowledge, EngineError> {
        let ctx = self.engine;
        let (glpi, ttl) = (ctx.glpi(), ctx.config.inventory_ttl);
        let (trace, coverage) = held.seen(glpi, ttl).await?;
        if coverage != Coverage::Unknown {
            return Ok(knowledge::knowledge(trace.as_ref(), coverage, glpi));
        }
        if !self.take_inventory(held).await? {
            return Ok(Knowledge::Ask);
        }
        let (trace, coverage) = held.seen(glpi, ttl).await?;
        Ok(knowledge::knowledge(trace.as_ref(), coverage, glpi))
    }

    /// Takes the inventory of GLPI's open tickets, unless another run took
    /// it while this one waited for the state-wide hold; false when it
    /// could not (the hold not had in time, or GLPI refused the listing):
    /// the run then asks GLPI about its key alone.
    async fn take_inventory(&mut self, held: &mut S::Held) -> Result<bool, EngineError> {
        let ctx = self.engine;
        let wait = ctx.config.lock_timeout.min(ctx.budget_left());
        let inventory = match order::hold_inventory(ctx.store, wait).await {
            Ok(inventory) => inventory,
            Err(e) => {
                tracing::warn!("{e}: looking for the key's ticket alone");
                return Ok(false);
            }
        };
        // Taken by another run meanwhile?
        let (_, coverage) = held.seen(ctx.glpi(), ctx.config.inventory_ttl).await?;
        if coverage != Coverage::Unknown {
            return Ok(true);
        }
        let started = std::time::Instant::now();
        let listed = match self.list_open_tickets().await {
            Ok(listed) => listed,
            Err(EngineError::Glpi(e @ GlpiError::Refused { .. })) => {
                tracing::warn!(
                    "GLPI's open tickets could not be listed ({e}): looking for the key's \
                     ticket alone"
                );
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        ctx.store
            .write_inventory(&inventory, ctx.glpi(), &listed)
            .await?;
        tracing::info!(
            "inventory of GLPI's open tickets taken: {} open ticket(s) of esia-glpi, in {} ms",
            listed.len(),
            started.elapsed().as_millis()
        );
        Ok(true)
    }

    /// Every open ticket the API user wrote that carries a marker, with its
    /// key (the oldest when a key has several).
    ///
    /// On GLPI 11 the tickets are those whose `externalid` is an esia-glpi
    /// identity, as for a key's own search: a technician who clears it
    /// leaves the ticket to humans.
    pub(super) async fn list_open_tickets(&mut self) -> Result<Vec<(Key, u64)>, EngineError> {
        let mark = if self.glpi11().await? {
            Mark::Identity(text::EXTERNAL_ID_PREFIX)
        } else {
            Mark::Description(text::MARKER_PREFIX)
        };
        let writer = self.api_user().await?;
        let tickets = self
            .session()
            .await?
            .open_marked_tickets(mark, writer)
            .await?;
        Ok(keys_of(tickets))
    }

    /// The id of the API user (the writer of every ticket esia-glpi opens):
    /// cached for `cache_ttl`, per GLPI and credentials.
    pub(super) async fn api_user(&mut self) -> Result<u64, EngineError> {
        let ctx = self.engine;
        let name = format!("{} {}", ctx.glpi(), credentials(ctx.config));
        if let Some(id) = ctx
            .cache
            .get::<u64>("api_user", &name, ctx.config.cache_ttl)
        {
            return Ok(id);
        }
        let id = self.session().await?.me().await?.id;
        ctx.cache.put("api_user", &name, &id);
        Ok(id)
    }
}

/// Who the API user is as the configuration says it: the high-level API's
/// username, or a digest of the legacy `user_token` (never the token).
fn credentials(config: &crate::config::Config) -> String {
    if let Some(o) = config
        .oauth
        .as_ref()
        .filter(|_| config.api == crate::config::Api::V2)
    {
        return format!("v2:{}", o.username);
    }
    let token = config.user_token.as_ref().map_or("", |t| t.expose_secret());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    digest.as_ref()[..8]
        .iter()
        .fold(String::from("legacy:"), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// The key of each listed ticket (by its own marker, the last of its
/// description), the oldest ticket of a key first and alone.
fn keys_of(mut tickets: Vec<MarkedTicket>) -> Vec<(Key, u64)> {
    tickets.sort_unstable_by_key(|t| t.id);
    let mut listed: Vec<(Key, u64)> = Vec::with_capacity(tickets.len());
    for t in tickets {
        let Some(key) = text::parse_marker(&t.content) else {
            tracing::warn!(
                "ticket {} carries an unreadable esia-glpi marker: skipped",
                t.id
            );
            continue;
        };
        match listed.iter().find(|(k, _)| *k == key) {
            Some((_, first)) => tracing::warn!(
                "{key}: ticket {} is a second open ticket for this key (the first is {first})",
                t.id
            ),
            None => listed.push((key, t.id)),
        }
    }
    listed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(id: u64, key: &Key) -> MarkedTicket {
        MarkedTicket {
            id,
            priority: 3,
            content: format!("output {}", text::marker(key)),
            external_id: None,
        }
    }

    #[test]
    fn the_oldest_ticket_of_a_key_is_listed() {
        let (a, b) = (Key::new("web01", "HTTP"), Key::new("db01", ""));
        let listed = keys_of(vec![
            ticket(9, &a),
            ticket(4, &a),
            ticket(5, &b),
            MarkedTicket {
                id: 6,
                priority: 3,
                content: "[esia-glpi:zz:]".into(),
                external_id: None,
            },
        ]);
        assert_eq!(listed, [(a, 4), (b, 5)]);
    }
}
