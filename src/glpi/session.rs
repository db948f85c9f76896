//! One run's access to GLPI, and the one place where the API is chosen.
//! [`Client::open`] opens either transport — a legacy session (`legacy/`:
//! `initSession` … `killSession`, re-opened once if GLPI forgot it) or the
//! high-level API's bearer access (`v2/`: nothing to open or close, a
//! refused token renewed once) — and every operation of [`Session`] is one
//! `match` over the two (`dispatch!`), calling the method both implement
//! (`TicketOps`, `SearchOps`, `ProbeOps`); the probes only one API has are
//! refused for the other. The rules that hold over both are
//! here too: the priority matrix's second write, which search finds a key's
//! tickets (by identity or by marker), and how many tickets are read.
//!
//! Both transports implement `http::Access`: the headers that authenticate
//! a call, the one renewal when GLPI refuses them, and so the call itself,
//! written once.

use super::client::Api;
use super::client::Client;
use super::error::GlpiError;
use super::legacy::Legacy;
use super::model::{NewTicket, PriorityUpdate};
use super::probe::{Entity, GlpiConfig, ItemLookup, Me, ProbeOps, Profile, V2Session};
use super::search::{AssetMatch, Mark, MarkedTicket, Page, SearchOps, UserMatch};
use super::tickets::{TicketOps, TicketState, Timeline, matrix_priority};
use super::v2::V2;

/// How many tickets one page of a listing asks for: many, since GLPI's
/// legacy search reads every matching row whatever the range and cuts the
/// page in PHP (each page costs the whole listing; real GLPI 10 and 11).
const LISTING_PAGE: usize = 1000;
/// Where a listing stops reading, whatever GLPI says is left (a runaway
/// listing is a misconfigured API user, not an inventory).
const LISTING_MAX: usize = 20_000;

/// The transport a session speaks.
#[derive(Debug)]
enum Transport<'c> {
    /// The legacy REST API (`apirest.php`), with its `Session-Token`.
    Legacy(Legacy<'c>),
    /// GLPI 11's high-level API (`api.php/v2`), with the client's access
    /// token.
    V2(V2<'c>),
}

/// An open GLPI session. Call [`Session::close`] on every path.
#[derive(Debug)]
pub(crate) struct Session<'c> {
    transport: Transport<'c>,
}

/// `dispatch!(self, t => t.op(…).await)`: the same operation of whichever
/// transport the session speaks.
macro_rules! dispatch {
    ($session:expr, $t:ident => $call:expr) => {
        match &$session.transport {
            Transport::Legacy($t) => $call,
            Transport::V2($t) => $call,
        }
    };
}

/// The refusal of a call only the other API has (`check` asks each API
/// only what it has).
fn not_in(api: Api, call: &str) -> GlpiError {
    let name = match api {
        Api::Legacy => "the legacy REST API",
        Api::V2 => "the high-level API",
    };
    GlpiError::Setup {
        reason: format!("{call} is not a call of {name}, which this session speaks"),
    }
}

impl Client {
    /// Opens this run's access: `initSession` with the `user_token`, or the
    /// high-level API's access token (cached, refreshed, or granted).
    pub(crate) async fn open(&self) -> Result<Session<'_>, GlpiError> {
        let transport = match self.api() {
            Api::Legacy => Transport::Legacy(Legacy::open(self).await?),
            Api::V2 => Transport::V2(V2::open(self).await?),
        };
        Ok(Session { transport })
    }

    /// A legacy session beside the high-level API, for what the latter
    /// cannot do (linking an asset): `None` without a `user_token`.
    pub(crate) async fn open_legacy(&self) -> Result<Option<Session<'_>>, GlpiError> {
        Ok(Legacy::open_if_configured(self)
            .await?
            .map(|legacy| Session {
                transport: Transport::Legacy(legacy),
            }))
    }
}

impl Session<'_> {
    /// The API this session speaks.
    pub(crate) fn api(&self) -> Api {
        match &self.transport {
            Transport::Legacy(_) => Api::Legacy,
            Transport::V2(_) => Api::V2,
        }
    }

    /// Closes the session (legacy `killSession`). Failures are logged, never
    /// fatal: the work is done. The high-level API has no session to close.
    pub(crate) async fn close(self) {
        match self.transport {
            Transport::Legacy(t) => t.close().await,
            Transport::V2(_) => {}
        }
    }

    /// Creates a ticket → its id.
    pub(crate) async fn create_ticket(&self, ticket: NewTicket) -> Result<u64, GlpiError> {
        dispatch!(self, t => t.create_ticket(ticket).await)
    }

    /// Where the ticket stands, and its description; `Gone` when purged.
    pub(crate) async fn ticket(&self, id: u64) -> Result<TicketState, GlpiError> {
        dispatch!(self, t => t.ticket(id).await)
    }

    /// A public follow-up → its id.
    pub(crate) async fn add_followup(
        &self,
        ticket: u64,
        content: String,
    ) -> Result<u64, GlpiError> {
        dispatch!(self, t => t.add_to_timeline(Timeline::Followup, ticket, content).await)
    }

    /// The texts of the ticket's newest follow-ups, newest first (GLPI 10's
    /// stored entities decoded). Only read to retry a follow-up that may
    /// have reached GLPI.
    pub(crate) async fn followups(&self, ticket: u64) -> Result<Vec<String>, GlpiError> {
        dispatch!(self, t => t.followups(ticket).await)
    }

    /// A solution: GLPI sets the ticket to solved (5). Only call it after
    /// reading the ticket: GLPI accepts a solution for a missing ticket.
    pub(crate) async fn add_solution(
        &self,
        ticket: u64,
        content: String,
    ) -> Result<u64, GlpiError> {
        dispatch!(self, t => t.add_to_timeline(Timeline::Solution, ticket, content).await)
    }

    /// Sets the ticket's priority with the urgency and impact it was derived
    /// from, so that the three stay consistent: one write with all three
    /// (legacy `PUT Ticket/:id`, v2 `PATCH Assistance/Ticket/:id`).
    /// A changed urgency makes GLPI recompute the priority from its matrix
    /// whatever is sent (§6.4); when the default matrix gives another
    /// priority (6, "major", or a configured urgency/impact), a second write
    /// with the priority alone — which GLPI stores as is, even without
    /// CHANGEPRIORITY — sets it.
    pub(crate) async fn set_priority(
        &self,
        ticket: u64,
        priority: u8,
        urgency: u8,
        impact: u8,
    ) -> Result<(), GlpiError> {
        let all = PriorityUpdate::new(Some((urgency, impact)), priority);
        dispatch!(self, t => t.update_ticket(ticket, &all).await)?;
        if matrix_priority(urgency, impact) != priority {
            let alone = PriorityUpdate::new(None, priority);
            dispatch!(self, t => t.update_ticket(ticket, &alone).await)?;
        }
        Ok(())
    }

    /// Gives a ticket the key's identity (`externalid`, GLPI 11): tickets
    /// opened before GLPI 11 have none, and a look-up by identity would
    /// miss them once their record is lost.
    pub(crate) async fn set_external_id(&self, ticket: u64, id: &str) -> Result<(), GlpiError> {
        dispatch!(self, t => t.set_external_id(ticket, id).await)
    }

    /// The user whose login is exactly `login`, and whether it is active.
    pub(crate) async fn find_user(&self, login: &str) -> Result<UserMatch, GlpiError> {
        dispatch!(self, t => t.find_user(login).await)
    }

    /// Every asset of `types` named exactly `name`.
    pub(crate) async fn find_assets(
        &self,
        name: &str,
        types: &[String],
    ) -> Result<Vec<AssetMatch>, GlpiError> {
        dispatch!(self, t => t.find_assets(name, types).await)
    }

    /// Every open ticket written by `writer` (the API user) that carries
    /// `mark` (an esia-glpi marker's prefix in the description, or GLPI
    /// 11's `externalid` prefix), oldest first: the inventory, and `state
    /// rebuild`. Read page by page.
    pub(crate) async fn open_marked_tickets(
        &self,
        mark: Mark<'_>,
        writer: u64,
    ) -> Result<Vec<MarkedTicket>, GlpiError> {
        let mut all = Vec::new();
        let mut page = Page {
            start: 0,
            size: LISTING_PAGE,
        };
        loop {
            let (rows, more) =
                dispatch!(self, t => t.open_tickets_marked(mark, writer, page).await)?;
            let read = rows.len();
            all.extend(rows);
            if !more || read == 0 || page.start >= LISTING_MAX {
                break;
            }
            page.start += page.size;
        }
        all.sort_unstable_by_key(|t| t.id);
        all.dedup_by_key(|t| t.id);
        Ok(all)
    }

    /// The key's open tickets written by `writer` (the API user), oldest
    /// first: on GLPI 11 those whose `externalid` is `external_id` (an
    /// equality search), otherwise those whose description carries
    /// `marker` ("contains" also matches a marker quoted in another
    /// ticket's check output, which the caller weeds out with the
    /// description returned). Either way the writer is a criterion GLPI's
    /// database answers from an index.
    pub(crate) async fn find_open_tickets(
        &self,
        marker: &str,
        external_id: Option<&str>,
        writer: u64,
    ) -> Result<Vec<MarkedTicket>, GlpiError> {
        match external_id {
            Some(id) => dispatch!(self, t => t.open_tickets_with_id(id, writer).await),
            None => {
                let page = Page { start: 0, size: 50 };
                let mark = Mark::Description(marker);
                let (rows, _) =
                    dispatch!(self, t => t.open_tickets_marked(mark, writer, page).await)?;
                Ok(rows)
            }
        }
    }

    /// Who the session belongs to: the user's id and login.
    pub(crate) async fn me(&self) -> Result<Me, GlpiError> {
        dispatch!(self, t => t.me().await)
    }

    /// GLPI's own root URL, as GLPI reports it (legacy `getGlpiConfig`
    /// `url_base`; the high-level API's root lists endpoints built from it):
    /// what names this GLPI, whatever `host` spells it (`core::identity`).
    pub(crate) async fn url_base(&self) -> Result<Option<String>, GlpiError> {
        match &self.transport {
            Transport::Legacy(t) => Ok(t.glpi_config().await?.url_base),
            Transport::V2(t) => t.url_base().await,
        }
    }

    /// `getGlpiConfig` (legacy) → version and friends.
    pub(crate) async fn glpi_config(&self) -> Result<GlpiConfig, GlpiError> {
        match &self.transport {
            Transport::Legacy(t) => t.glpi_config().await,
            Transport::V2(_) => Err(not_in(Api::V2, "getGlpiConfig")),
        }
    }

    /// `getActiveProfile` (legacy): the active profile and its rights.
    pub(crate) async fn active_profile(&self) -> Result<Profile, GlpiError> {
        match &self.transport {
            Transport::Legacy(t) => t.active_profile().await,
            Transport::V2(_) => Err(not_in(Api::V2, "getActiveProfile")),
        }
    }

    /// `getMyEntities` (legacy): every entity the user can reach.
    pub(crate) async fn my_entities(&self) -> Result<Vec<Entity>, GlpiError> {
        match &self.transport {
            Transport::Legacy(t) => t.my_entities().await,
            Transport::V2(_) => Err(not_in(Api::V2, "getMyEntities")),
        }
    }

    /// `GET /:itemtype/:id` (legacy): does it exist, and may we read it?
    pub(crate) async fn item(&self, itemtype: &str, id: u64) -> Result<ItemLookup, GlpiError> {
        match &self.transport {
            Transport::Legacy(t) => t.item(itemtype, id).await,
            Transport::V2(_) => Err(not_in(Api::V2, "GET :itemtype/:id")),
        }
    }

    /// The high-level API's `GET session`: who, the active profile and its
    /// rights (GLPI 11 gives them there), its entities.
    pub(crate) async fn v2_session(&self) -> Result<V2Session, GlpiError> {
        match &self.transport {
            Transport::Legacy(_) => Err(not_in(Api::Legacy, "GET session")),
            Transport::V2(t) => t.session().await,
        }
    }
}
