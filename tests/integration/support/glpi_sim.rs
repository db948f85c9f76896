//! A stateful GLPI simulator on a real 127.0.0.1 HTTP server, for the
//! integration tests and the `glpi_sim` example: GLPI 10.0's legacy REST API
//! by default, or a GLPI 11.0 ([`Version::Glpi11`]) serving both the legacy
//! API (`/apirest.php/`, `/api.php/v1/`) and the high-level API v2 with its
//! OAuth2 token endpoint (`/api.php/[v2…/]`) over one store of tickets,
//! users and assets.
//!
//! Behaviour follows `glpi-api.md` §10–§13 and the real exchanges in
//! `tests/data/glpi-transcripts/` (GLPI 10.0.12) and
//! `tests/data/glpi11-transcripts/` (GLPI 11.0.6); the contract tests replay
//! them. The API is synchronous: the server runs on its own thread with its
//! own tokio runtime and stops when the [`Sim`] is dropped. The HTTP/1.1
//! layer is hand-rolled so that faults can close a connection without any
//! answer. GLPI 11's OAuth2 server lives in `glpi_sim/oauth.rs`, its
//! high-level API in `glpi_sim/hl.rs` and RSQL filters in `glpi_sim/rsql.rs`;
//! this file owns the shared store, the HTTP layer and the legacy API.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::too_many_lines,
    clippy::cast_possible_truncation,
    clippy::needless_pass_by_value,
    clippy::doc_markdown,
    clippy::cast_sign_loss,
    clippy::decimal_bitwise_operands,
    clippy::type_complexity
)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[path = "glpi_sim/hl.rs"]
mod hl;
#[path = "glpi_sim/oauth.rs"]
mod oauth;
#[path = "glpi_sim/rsql.rs"]
mod rsql;

pub use oauth::OAuthClientCreds;

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/// The GLPI release a simulator behaves like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// GLPI 10.0.12: the legacy API at `/apirest.php/`, text stored
    /// HTML-entity encoded.
    #[default]
    Glpi10,
    /// GLPI 11.0.6: the legacy API at `/apirest.php/` and `/api.php/v1/`,
    /// the high-level API v2 and its OAuth2 server under `/api.php/`, text
    /// stored and returned raw, tickets with `externalid`.
    Glpi11,
}

/// Simulator configuration.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// App-Token the API client requires; `None` = a token-less API client.
    pub app_token: Option<String>,
    /// The API user's "API token" (`Authorization: user_token <t>`).
    pub user_token: String,
    /// Delay added before answering every request.
    pub latency: Duration,
    /// Which GLPI to behave like.
    pub version: Version,
    /// GLPI's `enable_api` (the legacy REST API). On by default here; a
    /// fresh GLPI 11 install has it off. Also [`Sim::set_api_enabled`].
    pub legacy_api_enabled: bool,
    /// GLPI 11's `enable_hlapi` (the high-level API; the token endpoint
    /// answers either way, `13b`). On by default here; a fresh install has
    /// it off. Also [`Sim::set_hlapi_enabled`]. Ignored by GLPI 10.
    pub hlapi_enabled: bool,
    /// Lifetime of OAuth2 access tokens (`expires_in`); GLPI's is one hour.
    pub token_lifetime: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            app_token: Some("sim-app-token-0123456789".to_owned()),
            user_token: "sim-user-token-0123456789".to_owned(),
            latency: Duration::ZERO,
            version: Version::Glpi10,
            legacy_api_enabled: true,
            hlapi_enabled: true,
            token_lifetime: Duration::from_hours(1),
        }
    }
}

impl SimOptions {
    /// Default options for a GLPI 11 simulator (both APIs on).
    pub fn glpi11() -> SimOptions {
        SimOptions {
            version: Version::Glpi11,
            ..SimOptions::default()
        }
    }
}

/// App token of the instance the transcripts were recorded on.
pub const TRANSCRIPT_APP_TOKEN: &str = "vvMFpMiiEy4LSLeXqb3YHr2aFMdUGaktffsS8wpX";
/// User token of `rustcli-bot` (id 7) on the transcripts' instance.
pub const TRANSCRIPT_USER_TOKEN: &str = "5rIG2P6BplWKgt3HBEZvoEWry5aYDTvr4KArlR26";
/// API token of the seeded Super-Admin `glpi` (id 2), in every simulator.
pub const ADMIN_USER_TOKEN: &str = "sim-admin-token-0123456789";
/// Password of the seeded Super-Admin `glpi` (id 2) in a GLPI 11 simulator
/// (GLPI's install default, also the recorded instance's, `02h`).
pub const ADMIN_PASSWORD: &str = "glpi";
/// Password of the API user `esia` (id 7) in a default GLPI 11 simulator.
pub const SIM_USER_PASSWORD: &str = "sim-esia-password-0123456789";
/// `client_id` of the OAuth client seeded in a default GLPI 11 simulator
/// (grants `password`, `client_credentials`, `authorization_code`; scopes
/// `api user email status graphql`, like the recorded instance's `01a`).
pub const SIM_OAUTH_CLIENT_ID: &str =
    "5f1d0c9e3b7a4e6d8c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d";
/// `client_secret` of that client.
pub const SIM_OAUTH_CLIENT_SECRET: &str =
    "0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7";
/// App token of the GLPI 11 instance the `glpi11-transcripts` were recorded on.
pub const TRANSCRIPT11_APP_TOKEN: &str = "Egc0vNFdqIGDUrYNIX1iKtpJbPRbKfKq3nw3TXeQ";
/// User token of `esia` (id 7) on that instance (`11a`).
pub const TRANSCRIPT11_USER_TOKEN: &str = "KLg25NUsmP11QPWVrZnBPOFjiHQPUoH9k7yadyn5";
/// Password of `esia` on that instance (`02a`).
pub const TRANSCRIPT11_USER_PASSWORD: &str = "Esia-Egc0vNFdqIGDUrYNIX1iKtpJbPRbKfKq3nw3TXeQ";
/// `client_id` (`identifier`) of that instance's OAuth client (`01b`).
pub const TRANSCRIPT11_CLIENT_ID: &str =
    "a48924a91f7ad50160bd6c3815a46ff0d00dfd31b687f1f47548e2ab9e3234de";
/// Its `client_secret` (`02a`).
pub const TRANSCRIPT11_CLIENT_SECRET: &str =
    "8727cd840e2f571b53267d51d52cd5484c7db9335ebbe37eb59a60b25d292f8f";

/// One request as received (also faulted ones).
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub method: String,
    /// Decoded path, e.g. `/apirest.php/Ticket/3`.
    pub path: String,
    /// Raw query string (without `?`), as sent.
    pub query: String,
    /// Status answered; 0 when the connection was closed without an answer.
    pub status: u16,
    pub body: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl LoggedRequest {
    /// First header with that (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A ticket as stored, text decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketView {
    pub id: u64,
    pub name: String,
    pub content: String,
    pub status: u8,
    pub priority: u8,
    pub urgency: u8,
    pub impact: u8,
    pub is_deleted: bool,
    /// Requester user ids (Ticket_User type 1), in link order.
    pub requesters: Vec<u64>,
    /// Linked items (Item_Ticket): (itemtype, items_id), in link order.
    pub items: Vec<(String, u64)>,
    /// Decoded follow-up contents, in order.
    pub followups: Vec<String>,
    /// Decoded solution contents, in order.
    pub solutions: Vec<String>,
    pub entities_id: u64,
    pub itilcategories_id: u64,
    pub type_: u8,
    /// GLPI 11's `externalid` (HL `external_id`); always `None` in GLPI 10.
    pub external_id: Option<String>,
}

/// A fault rule. Matching: `method` (if given, case-insensitive) and
/// `path_contains` (case-insensitive substring of the path).
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Option<String>,
    pub path_contains: String,
    pub kind: FaultKind,
    /// How many matching requests it applies to; `None` = all of them.
    pub times: Option<usize>,
    /// Chance to apply to a matching request (seeded deterministic PRNG);
    /// `None` = always.
    pub probability: Option<f64>,
}

impl Fault {
    /// A fault applied to every request whose path contains `path_contains`.
    pub fn new(path_contains: &str, kind: FaultKind) -> Fault {
        Fault {
            method: None,
            path_contains: path_contains.to_owned(),
            kind,
            times: None,
            probability: None,
        }
    }
    #[must_use]
    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_owned());
        self
    }
    #[must_use]
    pub fn times(mut self, n: usize) -> Fault {
        self.times = Some(n);
        self
    }
    #[must_use]
    pub fn probability(mut self, p: f64) -> Fault {
        self.probability = Some(p);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultKind {
    /// Answer this status with an HTML body, as Apache/PHP-FPM do (request not applied).
    Status(u16),
    /// Wait, then answer normally.
    Delay(Duration),
    /// Close the connection without any answer; the request is NOT applied.
    Reset,
    /// Apply the request, then close the connection without answering.
    DropAfterCommit,
    /// Apply the request, then wait before answering (a run can be killed
    /// after GLPI took its write, before it learns so).
    CommitThenDelay(Duration),
    /// Answer normally, then forget every session (as a GLPI restart or the
    /// session garbage collector would): the next call meets a 401.
    ExpireSessionsAfter,
    /// Answer normally, after a PHP notice printed before the answer, as a
    /// GLPI whose PHP has `display_errors` on does.
    PhpNotice,
    /// Answer `301 Moved Permanently` to this base URL followed by the
    /// request's path and query, as a web server that sends every http://
    /// request to https:// does (request not applied).
    Redirect(&'static str),
    /// Answer normally, then let every OAuth2 access token expire (GLPI 11),
    /// as if their lifetime had passed: the next v2 call meets
    /// `400 ERROR_INVALID_PARAMETER` "Access token could not be verified".
    ExpireTokensAfter,
}

/// The running simulator. Dropping it stops the server.
pub struct Sim {
    shared: Arc<Mutex<State>>,
    base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sim {
    /// Default options, random port.
    pub fn start() -> Sim {
        Sim::start_with(SimOptions::default())
    }

    pub fn start_with(opts: SimOptions) -> Sim {
        Sim::start_on(opts, 0)
    }

    /// Start on a given port (0 = random).
    pub fn start_on(opts: SimOptions, port: u16) -> Sim {
        Sim::launch(opts, port, Flavor::Default)
    }

    /// A simulator seeded like the instance the transcripts were recorded on:
    /// its app token and user token, API user `rustcli-bot` (id 7).
    pub fn start_transcript_instance() -> Sim {
        let opts = SimOptions {
            app_token: Some(TRANSCRIPT_APP_TOKEN.to_owned()),
            user_token: TRANSCRIPT_USER_TOKEN.to_owned(),
            ..SimOptions::default()
        };
        Sim::launch(opts, 0, Flavor::Transcript)
    }

    /// A GLPI 11 simulator seeded like the instance the `glpi11-transcripts`
    /// were recorded on: its app token, `esia` (id 7, profiles 9 and 10, its
    /// user token and password), `glpi` (id 2, password `glpi`),
    /// `monitoring` (id 8, Self-Service), the OAuth client of `01a` with its
    /// secret, tickets 1–15 (follow-ups 1–3 and solution 1 on ticket 1) and
    /// the Computer `hl-web-01` (id 4).
    pub fn start_transcript_instance_11() -> Sim {
        let opts = SimOptions {
            app_token: Some(TRANSCRIPT11_APP_TOKEN.to_owned()),
            user_token: TRANSCRIPT11_USER_TOKEN.to_owned(),
            ..SimOptions::glpi11()
        };
        Sim::launch(opts, 0, Flavor::Transcript)
    }

    fn launch(opts: SimOptions, port: u16, flavor: Flavor) -> Sim {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let base_url = format!("http://127.0.0.1:{port}");
        let shared = Arc::new(Mutex::new(State::new(&opts, &base_url, flavor)));
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let server_state = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("glpi-sim-{port}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    loop {
                        tokio::select! {
                            _ = &mut rx => break,
                            accepted = listener.accept() => {
                                if let Ok((stream, _)) = accepted {
                                    tokio::spawn(serve_conn(stream, Arc::clone(&server_state)));
                                }
                            }
                        }
                    }
                });
                // Dropping the runtime cancels the connection tasks and closes their sockets.
                rt.shutdown_timeout(Duration::from_millis(100));
            })
            .unwrap();
        Sim {
            shared,
            base_url,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    fn st(&self) -> MutexGuard<'_, State> {
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `http://127.0.0.1:PORT` — the GLPI root; the API is under `/apirest.php/`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// `http://127.0.0.1:PORT/apirest.php`
    pub fn api_url(&self) -> String {
        format!("{}/apirest.php", self.base_url)
    }

    /// `http://127.0.0.1:PORT/api.php` — GLPI 11's API root: `/v1/` is the
    /// legacy API, `/v2/` (or `/v2.0`, `/v2.2`, nothing) the high-level API,
    /// `/token` the OAuth2 token endpoint.
    pub fn api_php_url(&self) -> String {
        format!("{}/api.php", self.base_url)
    }

    /// The GLPI release this simulator behaves like.
    pub fn version(&self) -> Version {
        self.st().version
    }

    /// Requests to the OAuth2 token endpoint (`…/token`), in order, faulted
    /// ones included (a slice of [`Sim::requests`]).
    pub fn token_requests(&self) -> Vec<LoggedRequest> {
        self.st()
            .log
            .iter()
            .filter(|r| r.path.trim_end_matches('/').ends_with("/token"))
            .cloned()
            .collect()
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.st().log.clone()
    }

    pub fn clear_requests(&self) {
        self.st().log.clear();
    }

    pub fn inject(&self, fault: Fault) {
        self.st().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.st().faults.clear();
    }

    /// Add a user (profile Self-Service); returns its id.
    pub fn add_user(&self, login: &str, active: bool) -> u64 {
        self.st().add_user(login, "", "", active, &[])
    }

    /// Add an asset of one of the asset itemtypes; returns its id.
    pub fn add_asset(&self, itemtype: &str, name: &str) -> u64 {
        let mut st = self.st();
        let itemtype = canonical_itemtype(itemtype)
            .filter(|t| ASSET_TYPES.contains(t))
            .unwrap_or_else(|| panic!("glpi_sim: {itemtype} is not an asset itemtype"));
        st.add_asset(itemtype, name)
    }

    /// All tickets, trashed ones included, ordered by id.
    pub fn tickets(&self) -> Vec<TicketView> {
        let st = self.st();
        st.table("Ticket")
            .keys()
            .map(|id| st.ticket_view(*id))
            .collect()
    }

    pub fn ticket(&self, id: u64) -> Option<TicketView> {
        let st = self.st();
        st.table("Ticket")
            .contains_key(&id)
            .then(|| st.ticket_view(id))
    }

    /// A technician changes the status by hand (5 solved, 6 closed, ...).
    pub fn set_ticket_status(&self, id: u64, status: u8) {
        let mut st = self.st();
        assert!(
            st.table("Ticket").contains_key(&id),
            "glpi_sim: no ticket {id}"
        );
        let mut input = Map::new();
        input.insert("status".into(), json!(status));
        st.update_ticket_fields(id, &input, 2, true);
    }

    /// Move a ticket to the trash (`is_deleted = 1`).
    pub fn trash_ticket(&self, id: u64) {
        let mut st = self.st();
        let row = st
            .table_mut("Ticket")
            .get_mut(&id)
            .expect("glpi_sim: no such ticket");
        row.insert("is_deleted".into(), json!(1));
    }

    /// Remove a ticket for good (GET then answers 404).
    pub fn purge_ticket(&self, id: u64) {
        self.st().purge_ticket(id);
    }

    /// Sessions opened and neither killed nor expired.
    pub fn open_sessions(&self) -> usize {
        self.st().sessions.len()
    }

    /// Every current session token becomes invalid (401 ERROR_SESSION_TOKEN_INVALID).
    pub fn expire_sessions(&self) {
        self.st().sessions.clear();
    }

    /// Whether the API user's profile has the ticket right CHANGEPRIORITY (default on).
    pub fn set_change_priority_right(&self, on: bool) {
        let mut st = self.st();
        let p = st.profiles.get_mut(&API_PROFILE_ID).unwrap();
        if on {
            p.ticket |= CHANGEPRIORITY;
        } else {
            p.ticket &= !CHANGEPRIORITY;
        }
    }

    /// GLPI's "Enable Rest API" setting, `enable_api` (default on): the
    /// legacy API. Off, every legacy request answers
    /// `400 ["ERROR", "API disabled"]`; GLPI 11's high-level API is not
    /// affected (it has its own switch, [`Sim::set_hlapi_enabled`]).
    pub fn set_api_enabled(&self, on: bool) {
        self.st().api_enabled = on;
    }

    /// GLPI 11's `enable_hlapi` (default on here, off on a fresh install).
    /// Off, every v2 route answers `403 ERROR_RIGHT_MISSING` "The High-Level
    /// API is disabled" (`13a`) but the token endpoint still issues tokens
    /// (`13b`).
    pub fn set_hlapi_enabled(&self, on: bool) {
        self.st().hlapi_enabled = on;
    }

    /// Create an OAuth client (GLPI 11, Setup > OAuth clients): confidential,
    /// active, with these grants (`password`, `client_credentials`,
    /// `authorization_code`; `refresh_token` is always allowed) and scopes
    /// (`api`, `user`, `email`, `status`, `graphql`, `inventory`). Returns
    /// its id, generated `client_id` and `client_secret`.
    pub fn add_oauth_client(
        &self,
        name: &str,
        grants: &[&str],
        scopes: &[&str],
    ) -> OAuthClientCreds {
        // A typo here would only show as a puzzling 403 or unauthorized_client.
        for g in grants {
            assert!(
                ["password", "client_credentials", "authorization_code"].contains(g),
                "glpi_sim: GLPI has no OAuth grant {g:?}"
            );
        }
        for s in scopes {
            assert!(
                oauth::ALL_SCOPES.contains(s),
                "glpi_sim: GLPI has no OAuth scope {s:?}"
            );
        }
        self.st().add_oauth_client(name, grants, scopes)
    }

    /// Activate or deactivate an OAuth client (by `client_id`); an inactive
    /// client is refused like an unknown one (`401 invalid_client`).
    pub fn set_oauth_client_active(&self, client_id: &str, on: bool) {
        let mut st = self.st();
        let c = st
            .oauth_clients
            .iter_mut()
            .find(|c| c.identifier == client_id)
            .unwrap_or_else(|| panic!("glpi_sim: no OAuth client {client_id}"));
        c.active = on;
    }

    /// Set a user's GLPI password (used by the OAuth2 password grant).
    pub fn set_user_password(&self, login: &str, password: &str) {
        let mut st = self.st();
        let id = st
            .user_by_login(login)
            .unwrap_or_else(|| panic!("glpi_sim: no user {login}"));
        st.passwords.insert(id, password.to_owned());
    }

    /// Set how long access tokens issued from now on live (`expires_in`).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.st().token_lifetime = lifetime;
    }

    /// Every access token issued so far expires now (as if an hour had
    /// passed): v2 calls with them answer `400 ERROR_INVALID_PARAMETER`
    /// "Access token could not be verified"; refresh tokens stay usable.
    pub fn expire_access_tokens(&self) {
        self.st().expire_access_tokens();
    }

    /// Every refresh token issued so far expires now (`400 invalid_grant`,
    /// hint "Token has expired").
    pub fn expire_refresh_tokens(&self) {
        for t in self.st().refresh_tokens.values_mut() {
            t.expired = true;
        }
    }

    /// Access tokens issued and neither expired nor revoked.
    pub fn live_access_tokens(&self) -> usize {
        self.st().live_access_tokens()
    }

    /// A technician edits a ticket's `externalid` by hand (GLPI 11).
    pub fn set_ticket_external_id(&self, id: u64, external_id: Option<&str>) {
        let mut st = self.st();
        assert_eq!(
            st.version,
            Version::Glpi11,
            "glpi_sim: externalid is GLPI 11's"
        );
        let row = st
            .table_mut("Ticket")
            .get_mut(&id)
            .expect("glpi_sim: no such ticket");
        row.insert("externalid".into(), json!(external_id));
    }

    /// Whether an active API client matches the caller's address (default
    /// yes); no, every request answers `400 ERROR_NOT_ALLOWED_IP`.
    pub fn set_ip_allowed(&self, on: bool) {
        self.st().ip_allowed = on;
    }

    /// Behave like Apache + PHP-FPM without the `SetEnvIf` fix: GLPI never
    /// sees a non-Basic `Authorization` header (glpi-api.md §12.4).
    pub fn set_strip_authorization(&self, on: bool) {
        self.st().strip_authorization = on;
    }

    /// Set one right (or any key, e.g. `ticket_status`) of the API user's
    /// profile as `getActiveProfile` shows it; `ticket` and `followup` are
    /// also enforced on writes.
    pub fn set_profile_right(&self, name: &str, value: Value) {
        let mut st = self.st();
        let p = st.profiles.get_mut(&API_PROFILE_ID).unwrap();
        match (name, as_u64(&value)) {
            ("ticket", Some(v)) => p.ticket = v,
            ("followup", Some(v)) => p.followup = v,
            _ => {}
        }
        st.profile_overrides.insert(name.to_owned(), value);
    }

    /// Add an ITIL category; returns its id.
    pub fn add_category(&self, name: &str) -> u64 {
        let mut st = self.st();
        let row = obj(json!({
            "id": 0, "entities_id": 0, "is_recursive": 1, "itilcategories_id": 0,
            "name": st.enc(name), "completename": st.enc(name), "comment": null, "level": 1,
            "is_helpdeskvisible": 1, "is_incident": 1, "is_request": 1, "is_problem": 1,
            "is_change": 1,
        }));
        st.insert_row("ITILCategory", row)
    }

    /// Puts back a ticket as the API user (id 7) wrote it through the legacy
    /// API — `input` as `POST Ticket` takes it — then its follow-ups, with
    /// no request logged: for a test that starts from what an earlier run,
    /// or an earlier release, left in GLPI. Returns the ticket's id.
    pub fn restore_ticket(&self, input: &Value, followups: &[String]) -> u64 {
        let mut st = self.st();
        let s = Session {
            user_id: 7,
            profile_id: API_PROFILE_ID,
        };
        let input = input.as_object().cloned().unwrap_or_default();
        let (id, _) = st.add_ticket(&input, &s);
        for content in followups {
            let f = obj(json!({ "itemtype": "Ticket", "items_id": id, "content": content }));
            st.add_followup(&f, &s)
                .unwrap_or_else(|e| panic!("glpi_sim: follow-up of ticket {id} refused: {e}"));
        }
        id
    }

    /// Human-readable dump of every ticket and its timeline.
    pub fn trail(&self) -> String {
        self.st().trail()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP/1.1 layer
// ---------------------------------------------------------------------------

struct Req {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

enum Outcome {
    Respond(Resp),
    Close,
}

async fn serve_conn(stream: TcpStream, shared: Arc<Mutex<State>>) {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    loop {
        let Some((req, keep_alive)) = read_request(&mut rd, &mut wr).await else {
            return;
        };
        match handle(&shared, req).await {
            // Dropping both halves closes the socket without a byte of answer.
            Outcome::Close => return,
            Outcome::Respond(resp) => {
                let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
                for (k, v) in &resp.headers {
                    let _ = write!(head, "{k}: {v}\r\n");
                }
                let _ = write!(
                    head,
                    "Content-Length: {}\r\nConnection: {}\r\n\r\n",
                    resp.body.len(),
                    if keep_alive { "keep-alive" } else { "close" }
                );
                let mut bytes = head.into_bytes();
                bytes.extend_from_slice(&resp.body);
                if wr.write_all(&bytes).await.is_err() || wr.flush().await.is_err() || !keep_alive {
                    return;
                }
            }
        }
    }
}

async fn read_request(
    rd: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
) -> Option<(Req, bool)> {
    let mut line = String::new();
    loop {
        line.clear();
        if rd.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let version = parts.next().unwrap_or("HTTP/1.0").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if rd.read_line(&mut h).await.ok()? == 0 {
            return None;
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    if get("expect").is_some_and(|v| v == "100-continue") {
        wr.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.ok()?;
    }
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            rd.read_line(&mut size).await.ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            rd.read_exact(&mut chunk).await.ok()?;
            if size == 0 {
                // Trailers are not supported; the final CRLF was read above.
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body = vec![0; len];
        rd.read_exact(&mut body).await.ok()?;
    }
    let connection = get("connection").unwrap_or_default();
    let keep_alive = if version == "HTTP/1.1" {
        !connection.contains("close")
    } else {
        connection.contains("keep-alive")
    };
    let (raw_path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target, String::new()),
    };
    let req = Req {
        method: method.to_ascii_uppercase(),
        path: percent_decode(&raw_path, false),
        query,
        headers,
        body,
    };
    Some((req, keep_alive))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        207 => "Multi-Status",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

async fn handle(shared: &Arc<Mutex<State>>, req: Req) -> Outcome {
    let (latency, fault) = {
        let mut st = lock(shared);
        (st.latency, st.pick_fault(&req))
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Some(FaultKind::Status(code)) => {
            let resp = html_error(code);
            lock(shared).log_request(&req, code);
            Outcome::Respond(resp)
        }
        Some(FaultKind::Redirect(base)) => {
            let mut location = format!("{}{}", base.trim_end_matches('/'), req.path);
            if !req.query.is_empty() {
                location.push('?');
                location.push_str(&req.query);
            }
            lock(shared).log_request(&req, 301);
            Outcome::Respond(Resp {
                status: 301,
                headers: vec![("Location".into(), location)],
                body: Vec::new(),
            })
        }
        Some(FaultKind::Reset) => {
            lock(shared).log_request(&req, 0);
            Outcome::Close
        }
        Some(FaultKind::DropAfterCommit) => {
            let mut st = lock(shared);
            let _ = st.dispatch(&req);
            st.log_request(&req, 0);
            Outcome::Close
        }
        Some(FaultKind::Delay(d)) => {
            tokio::time::sleep(d).await;
            Outcome::Respond(answer(shared, &req))
        }
        Some(FaultKind::CommitThenDelay(d)) => {
            let resp = answer(shared, &req);
            tokio::time::sleep(d).await;
            Outcome::Respond(resp)
        }
        Some(FaultKind::PhpNotice) => {
            let mut resp = answer(shared, &req);
            let mut body = b"<br />\n<b>Notice</b>:  Trying to access array offset on value of type null in <b>/var/www/glpi/src/Session.php</b> on line <b>1234</b><br />\n".to_vec();
            body.extend_from_slice(&resp.body);
            resp.body = body;
            Outcome::Respond(resp)
        }
        Some(FaultKind::ExpireSessionsAfter) => {
            let resp = answer(shared, &req);
            lock(shared).sessions.clear();
            Outcome::Respond(resp)
        }
        Some(FaultKind::ExpireTokensAfter) => {
            let resp = answer(shared, &req);
            lock(shared).expire_access_tokens();
            Outcome::Respond(resp)
        }
        None => Outcome::Respond(answer(shared, &req)),
    }
}

fn answer(shared: &Arc<Mutex<State>>, req: &Req) -> Resp {
    let mut st = lock(shared);
    let resp = st.dispatch(req);
    st.log_request(req, resp.status);
    resp
}

fn lock(shared: &Arc<Mutex<State>>) -> MutexGuard<'_, State> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn html_error(code: u16) -> Resp {
    let text = reason(code);
    let body = format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{code} {text}</title>\n</head><body>\n<h1>{text}</h1>\n<p>The server encountered a temporary error and could not complete your request.</p>\n<hr>\n<address>Apache/2.4.57 (Debian) Server at 127.0.0.1 Port 80</address>\n</body></html>\n"
    );
    Resp {
        status: code,
        headers: vec![(
            "Content-Type".into(),
            "text/html; charset=iso-8859-1".into(),
        )],
        body: body.into_bytes(),
    }
}

// ---------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------

/// `application/x-www-form-urlencoded` decoding (`+` is a space): query
/// strings and form bodies, as the tests and the storm read them back.
pub fn form_decode(s: &str) -> String {
    percent_decode(s, true)
}

fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// GLPI 10 input sanitizing: `&` `<` `>` become numeric entities, unless the
/// string already looks encoded.
fn encode(s: &str) -> String {
    let looks_encoded = !s.contains('<')
        && !s.contains('>')
        && ["&#38;", "&#60;", "&#62;", "&lt;", "&gt;", "&amp;"]
            .iter()
            .any(|e| s.contains(e))
        && s.match_indices('&').all(|(i, _)| {
            let rest = &s[i + 1..];
            rest.find(';').is_some_and(|end| {
                end > 0
                    && end <= 8
                    && rest[..end]
                        .chars()
                        .all(|c| c == '#' || c.is_ascii_alphanumeric())
            })
        });
    if looks_encoded {
        return s.to_owned();
    }
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
}

/// A value as GLPI stores it: strings sanitized by GLPI 10, raw (`raw`) by 11.
fn sanitize_value(v: &Value, raw: bool) -> Value {
    match v {
        Value::String(s) if !raw => json!(encode(s)),
        other => other.clone(),
    }
}

/// What `X-GLPI-Sanitized-Content: false` does to a stored string.
fn decode(s: &str) -> String {
    s.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
}

/// Stored rich text → one readable line (tags dropped, common entities decoded).
fn plain_text(stored: &str) -> String {
    let html = decode(stored)
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p>", "\n");
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// SQL LIKE as GLPI builds it from a search value (§5.4): `^`/`$` anchor,
/// otherwise `%` on the free side(s); `%` in the value is a wildcard;
/// case-insensitive. `raw`: GLPI 11, where the value is not sanitized
/// before the comparison (nor was the stored text).
fn like_match(haystack: &str, value: &str, raw: bool) -> bool {
    let mut v = value;
    let anchored_start = v.starts_with('^');
    if anchored_start {
        v = &v[1..];
    }
    let anchored_end = v.ends_with('$') && !v.is_empty();
    if anchored_end {
        v = &v[..v.len() - 1];
    }
    let mut pattern = String::new();
    if !anchored_start {
        pattern.push('%');
    }
    if raw {
        pattern.push_str(v);
    } else {
        pattern.push_str(&encode(v));
    }
    if !anchored_end {
        pattern.push('%');
    }
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let h: Vec<char> = haystack.to_lowercase().chars().collect();
    wildcard(&p, &h)
}

fn wildcard(p: &[char], h: &[char]) -> bool {
    // Iterative matcher with backtracking on the last '%'.
    let (mut pi, mut hi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while hi < h.len() {
        if pi < p.len() && p[pi] == '%' {
            star = Some((pi, hi));
            pi += 1;
        } else if pi < p.len() && p[pi] == h[hi] {
            pi += 1;
            hi += 1;
        } else if let Some((sp, sh)) = star {
            pi = sp + 1;
            hi = sh + 1;
            star = Some((sp, sh + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(u64::from(*b)),
        _ => None,
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !(s.is_empty() || s == "0" || s == "false"),
        Some(v) => as_u64(v).is_some_and(|n| n != 0),
    }
}

fn ids_of(v: Option<&Value>) -> Vec<u64> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(as_u64).collect(),
        Some(v) => as_u64(v).into_iter().collect(),
        None => Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

const ASSET_TYPES: [&str; 6] = [
    "Computer",
    "Monitor",
    "NetworkEquipment",
    "Peripheral",
    "Phone",
    "Printer",
];
const ITEMTYPES: [&str; 13] = [
    "ITILCategory",
    "Ticket",
    "ITILFollowup",
    "ITILSolution",
    "Item_Ticket",
    "Ticket_User",
    "User",
    "Computer",
    "Monitor",
    "NetworkEquipment",
    "Peripheral",
    "Phone",
    "Printer",
];
const TICKET_CHILDREN: [&str; 12] = [
    "Document_Item",
    "TicketTask",
    "TicketValidation",
    "TicketCost",
    "Problem_Ticket",
    "Change_Ticket",
    "Item_Ticket",
    "ITILSolution",
    "ITILFollowup",
    "Ticket_User",
    "Group_Ticket",
    "Supplier_Ticket",
];

/// Default GLPI priority matrix, `[urgency-1][impact-1]`.
const PRIORITY_MATRIX: [[u8; 5]; 5] = [
    [1, 1, 2, 2, 2],
    [1, 2, 2, 3, 3],
    [2, 2, 3, 4, 4],
    [2, 3, 4, 4, 5],
    [2, 3, 4, 5, 5],
];

const READ: u64 = 1;
const UPDATE: u64 = 2;
const DELETE: u64 = 8;
const PURGE: u64 = 16;
const CHANGEPRIORITY: u64 = 65536;
const API_PROFILE_ID: u64 = 9;
/// GLPI 11 only: "API Integration (no CHANGEPRIORITY)", the API user's second
/// profile on the recorded instance (Technician rights).
const API_NOPRIO_PROFILE_ID: u64 = 10;
const TECH_PROFILE_ID: u64 = 6;
const ADMIN_PROFILE_ID: u64 = 4;
const SELF_SERVICE_PROFILE_ID: u64 = 1;
const NO_PERMISSION: &str = "You don't have permission to perform this action.";

fn canonical_itemtype(s: &str) -> Option<&'static str> {
    ITEMTYPES
        .iter()
        .copied()
        .find(|t| t.eq_ignore_ascii_case(s))
}

fn status_name(s: u64) -> &'static str {
    match s {
        1 => "New",
        2 => "Processing (assigned)",
        3 => "Processing (planned)",
        4 => "Pending",
        5 => "Solved",
        6 => "Closed",
        _ => "?",
    }
}

fn matrix_priority(urgency: u64, impact: u64) -> u64 {
    let u = urgency.clamp(1, 5) as usize;
    let i = impact.clamp(1, 5) as usize;
    u64::from(PRIORITY_MATRIX[u - 1][i - 1])
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Flavor {
    Default,
    Transcript,
}

#[derive(Debug, Clone)]
struct Profile {
    name: &'static str,
    interface: &'static str,
    ticket: u64,
    followup: u64,
}

#[derive(Debug, Clone)]
struct Session {
    user_id: u64,
    profile_id: u64,
}

#[allow(
    clippy::struct_excessive_bools,
    reason = "one bool per independent GLPI switch (enable_api, enable_hlapi, IP filter, header stripping, text encoding)"
)]
struct State {
    base_url: String,
    version: Version,
    /// GLPI 11: text is stored and returned as sent (no entity encoding).
    raw_text: bool,
    app_token: Option<String>,
    latency: Duration,
    items: BTreeMap<&'static str, BTreeMap<u64, Map<String, Value>>>,
    next_id: HashMap<&'static str, u64>,
    user_tokens: HashMap<String, u64>,
    user_profiles: HashMap<u64, Vec<u64>>,
    profiles: BTreeMap<u64, Profile>,
    sessions: HashMap<String, Session>,
    log: Vec<LoggedRequest>,
    faults: Vec<Fault>,
    fault_rng: u64,
    token_rng: u64,
    /// Global creation order of follow-ups and solutions, for the trail.
    seq: u64,
    timeline: HashMap<(&'static str, u64), u64>,
    api_enabled: bool,
    ip_allowed: bool,
    strip_authorization: bool,
    /// Keys shown in place of the API profile's own in `getActiveProfile`.
    profile_overrides: BTreeMap<String, Value>,
    // -- GLPI 11 ------------------------------------------------------------
    hlapi_enabled: bool,
    token_lifetime: Duration,
    /// Users' GLPI passwords (OAuth2 password grant), by user id.
    passwords: HashMap<u64, String>,
    oauth_clients: Vec<oauth::OAuthClient>,
    access_tokens: HashMap<String, oauth::AccessToken>,
    refresh_tokens: HashMap<String, oauth::RefreshToken>,
    /// Separate from `token_rng` so GLPI 10's session tokens stay the same.
    oauth_rng: u64,
}

impl State {
    fn new(opts: &SimOptions, base_url: &str, flavor: Flavor) -> State {
        let v11 = opts.version == Version::Glpi11;
        let mut st = State {
            base_url: base_url.to_owned(),
            version: opts.version,
            raw_text: v11,
            app_token: opts.app_token.clone().filter(|t| !t.is_empty()),
            latency: opts.latency,
            items: BTreeMap::new(),
            next_id: HashMap::new(),
            user_tokens: HashMap::new(),
            user_profiles: HashMap::new(),
            profiles: BTreeMap::new(),
            sessions: HashMap::new(),
            log: Vec::new(),
            faults: Vec::new(),
            fault_rng: 0x9E37_79B9_7F4A_7C15,
            token_rng: 0x2545_F491_4F6C_DD1D ^ u64::from(base_url.len() as u32) ^ port_of(base_url),
            seq: 0,
            timeline: HashMap::new(),
            api_enabled: opts.legacy_api_enabled,
            ip_allowed: true,
            strip_authorization: false,
            profile_overrides: BTreeMap::new(),
            hlapi_enabled: opts.hlapi_enabled,
            token_lifetime: opts.token_lifetime,
            passwords: HashMap::new(),
            oauth_clients: Vec::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            oauth_rng: 0x6A09_E667_F3BC_C908 ^ port_of(base_url).rotate_left(17),
        };
        st.profiles.insert(
            SELF_SERVICE_PROFILE_ID,
            Profile {
                name: "Self-Service",
                interface: "helpdesk",
                ticket: 5,
                followup: 5,
            },
        );
        st.profiles.insert(
            ADMIN_PROFILE_ID,
            Profile {
                name: "Super-Admin",
                interface: "central",
                ticket: 261_151,
                followup: 31_767,
            },
        );
        st.profiles.insert(
            TECH_PROFILE_ID,
            Profile {
                name: "Technician",
                interface: "central",
                ticket: 166_919,
                followup: 13_319,
            },
        );
        st.profiles.insert(
            API_PROFILE_ID,
            Profile {
                name: "API Integration",
                interface: "central",
                ticket: 166_919 | CHANGEPRIORITY,
                followup: 13_319,
            },
        );
        if v11 {
            // GLPI 11's Technician rights as the recorded instance shows them
            // (04a, 09e): ticket adds READNEWTICKET, followup its new bits.
            for (id, name, ticket) in [
                (TECH_PROFILE_ID, "Technician", 429_063),
                (API_PROFILE_ID, "API Integration", 429_063 | CHANGEPRIORITY),
                (
                    API_NOPRIO_PROFILE_ID,
                    "API Integration (no CHANGEPRIORITY)",
                    429_063,
                ),
            ] {
                st.profiles.insert(
                    id,
                    Profile {
                        name,
                        interface: "central",
                        ticket,
                        followup: 64_535,
                    },
                );
            }
        }

        st.next_id.insert("User", 2);
        let glpi = st.add_user("glpi", "", "", true, &[ADMIN_PROFILE_ID]);
        debug_assert_eq!(glpi, 2);
        st.user_tokens.insert(ADMIN_USER_TOKEN.to_owned(), glpi);
        st.next_id.insert("User", 7);
        let (login, realname, firstname) = match (flavor, v11) {
            (Flavor::Default, _) => ("esia", "Esia", "Monitoring"),
            (Flavor::Transcript, false) => ("rustcli-bot", "Bot", "RustCLI"),
            (Flavor::Transcript, true) => ("esia", "Esia", "API"),
        };
        let second_profile = if v11 {
            API_NOPRIO_PROFILE_ID
        } else {
            TECH_PROFILE_ID
        };
        let bot = st.add_user(
            login,
            realname,
            firstname,
            true,
            &[API_PROFILE_ID, second_profile],
        );
        st.user_tokens.insert(opts.user_token.clone(), bot);
        let (login8, realname8, firstname8) = match (flavor, v11) {
            (Flavor::Transcript, true) => ("monitoring", "Monitoring", ""),
            _ => ("alice.requester", "Requester", "Alice"),
        };
        st.add_user(
            login8,
            realname8,
            firstname8,
            true,
            &[SELF_SERVICE_PROFILE_ID],
        );
        if v11 {
            st.seed_glpi11(flavor, glpi, bot);
            return st;
        }
        let web = st.add_asset("Computer", "srv-web-01");
        let db = st.add_asset("Computer", "srv-db-01");
        if flavor == Flavor::Transcript {
            st.table_mut("Computer")
                .get_mut(&web)
                .unwrap()
                .insert("serial".into(), json!("SN-WEB-01"));
            st.table_mut("Computer")
                .get_mut(&db)
                .unwrap()
                .insert("serial".into(), json!("SN-DB-01"));
        }
        st
    }

    /// GLPI 11 seed after the users: passwords, the OAuth client, assets and,
    /// for the recorded instance, what existed before its first exchange.
    fn seed_glpi11(&mut self, flavor: Flavor, admin: u64, bot: u64) {
        self.passwords.insert(admin, ADMIN_PASSWORD.to_owned());
        let grants = ["password", "client_credentials", "authorization_code"];
        let scopes = ["api", "user", "email", "status", "graphql"];
        let (password, client_id, secret, assets): (_, _, _, &[&str]) = match flavor {
            Flavor::Default => (
                SIM_USER_PASSWORD,
                SIM_OAUTH_CLIENT_ID,
                SIM_OAUTH_CLIENT_SECRET,
                &["srv-web-01", "srv-db-01"],
            ),
            Flavor::Transcript => (
                TRANSCRIPT11_USER_PASSWORD,
                TRANSCRIPT11_CLIENT_ID,
                TRANSCRIPT11_CLIENT_SECRET,
                // hl-web-01 is id 4 there (08b).
                &["srv-web-01", "srv-db-01", "srv-mail-01", "hl-web-01"],
            ),
        };
        self.passwords.insert(bot, password.to_owned());
        self.insert_oauth_client("esia-glpi HL API", client_id, secret, &grants, &scopes);
        for name in assets {
            self.add_asset("Computer", name);
        }
        if flavor == Flavor::Transcript {
            // Tickets 1–15, follow-ups 1–3 and solution 1 were made through
            // the legacy API before the recording (05a creates ticket 16,
            // 06a follow-up 4, 07a solution 2).
            let s = Session {
                user_id: bot,
                profile_id: API_PROFILE_ID,
            };
            for n in 1..=15 {
                let input = obj(json!({
                    "name": format!("( Seed ) seed-{n:02}:Check"),
                    "content": "<p>made before the recording</p>",
                }));
                self.add_ticket(&input, &s);
            }
            for n in 1..=3 {
                let f = obj(json!({
                    "itemtype": "Ticket", "items_id": 1,
                    "content": format!("<p>seed follow-up {n}</p>"),
                }));
                let _ = self.add_followup(&f, &s);
            }
            let solution = obj(json!({
                "itemtype": "Ticket", "items_id": 1, "content": "<p>seed solution</p>",
            }));
            let _ = self.add_solution(&solution, &s);
        }
    }

    /// The `message` of a successful creation: GLPI 10 appends the id, 11
    /// does not (11b, 01a).
    fn added_message(&self, name: &str, id: u64) -> String {
        match self.version {
            Version::Glpi10 => format!("Item successfully added: {name} ({id})"),
            Version::Glpi11 => format!("Item successfully added: {name}"),
        }
    }

    /// Text as GLPI stores it: entity-encoded by GLPI 10, raw in GLPI 11.
    fn enc(&self, s: &str) -> String {
        if self.raw_text {
            s.to_owned()
        } else {
            encode(s)
        }
    }

    /// Stored text back as it was sent.
    fn dec(&self, s: &str) -> String {
        if self.raw_text {
            s.to_owned()
        } else {
            decode(s)
        }
    }

    fn user_by_login(&self, login: &str) -> Option<u64> {
        let stored = self.enc(login);
        self.table("User").iter().find_map(|(id, r)| {
            r.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(&stored))
                .then_some(*id)
        })
    }

    fn table(&self, t: &'static str) -> &BTreeMap<u64, Map<String, Value>> {
        static EMPTY: BTreeMap<u64, Map<String, Value>> = BTreeMap::new();
        self.items.get(t).unwrap_or(&EMPTY)
    }

    fn table_mut(&mut self, t: &'static str) -> &mut BTreeMap<u64, Map<String, Value>> {
        self.items.entry(t).or_default()
    }

    fn row(&self, t: &'static str, id: u64) -> Option<&Map<String, Value>> {
        self.table(t).get(&id)
    }

    fn insert_row(&mut self, t: &'static str, mut row: Map<String, Value>) -> u64 {
        let next = self.next_id.entry(t).or_insert(1);
        let id = *next;
        *next += 1;
        row.insert("id".into(), json!(id));
        self.table_mut(t).insert(id, row);
        if t == "ITILFollowup" || t == "ITILSolution" {
            self.seq += 1;
            self.timeline.insert((t, id), self.seq);
        }
        id
    }

    fn add_user(
        &mut self,
        login: &str,
        realname: &str,
        firstname: &str,
        active: bool,
        profiles: &[u64],
    ) -> u64 {
        let mut row: Map<String, Value> = serde_json::from_str(USER_TEMPLATE).unwrap();
        let t = now();
        row.insert("name".into(), json!(self.enc(login)));
        if !realname.is_empty() {
            row.insert("realname".into(), json!(realname));
        }
        if !firstname.is_empty() {
            row.insert("firstname".into(), json!(firstname));
        }
        row.insert("is_active".into(), json!(u8::from(active)));
        row.insert(
            "profiles_id".into(),
            json!(profiles.first().copied().unwrap_or(0)),
        );
        row.insert("date_mod".into(), json!(t));
        row.insert("date_creation".into(), json!(t));
        let id = self.insert_row("User", row);
        let profiles = if profiles.is_empty() {
            vec![SELF_SERVICE_PROFILE_ID]
        } else {
            profiles.to_vec()
        };
        self.user_profiles.insert(id, profiles);
        id
    }

    fn add_asset(&mut self, itemtype: &'static str, name: &str) -> u64 {
        let row = asset_row(itemtype, &self.enc(name));
        self.insert_row(itemtype, row)
    }

    fn login_of(&self, user_id: u64) -> Option<String> {
        self.row("User", user_id)
            .and_then(|r| r.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn next_token(&mut self) -> String {
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
        let mut s = String::with_capacity(26);
        for _ in 0..26 {
            self.token_rng = xorshift(self.token_rng);
            s.push(ALPHABET[(self.token_rng % 32) as usize] as char);
        }
        s
    }

    fn pick_fault(&mut self, req: &Req) -> Option<FaultKind> {
        let path = req.path.to_ascii_lowercase();
        for i in 0..self.faults.len() {
            let f = &self.faults[i];
            let method_ok = f
                .method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(&req.method));
            if !method_ok
                || !path.contains(&f.path_contains.to_ascii_lowercase())
                || f.times == Some(0)
            {
                continue;
            }
            if let Some(p) = f.probability {
                self.fault_rng = xorshift(self.fault_rng);
                #[allow(clippy::cast_precision_loss)]
                let draw = (self.fault_rng >> 11) as f64 / (1u64 << 53) as f64;
                if draw >= p {
                    continue;
                }
            }
            let f = &mut self.faults[i];
            if let Some(n) = f.times.as_mut() {
                *n -= 1;
            }
            return Some(f.kind);
        }
        None
    }

    fn log_request(&mut self, req: &Req, status: u16) {
        self.log.push(LoggedRequest {
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            status,
            body: String::from_utf8_lossy(&req.body).into_owned(),
            headers: req
                .headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
        });
    }

    // -- views -------------------------------------------------------------

    fn ticket_view(&self, id: u64) -> TicketView {
        let row = self.row("Ticket", id).unwrap();
        let num = |k: &str| row.get(k).and_then(as_u64).unwrap_or(0);
        let s = |k: &str| self.dec(row.get(k).and_then(Value::as_str).unwrap_or(""));
        let requesters = self
            .table("Ticket_User")
            .values()
            .filter(|r| {
                r.get("tickets_id").and_then(as_u64) == Some(id)
                    && r.get("type").and_then(as_u64) == Some(1)
            })
            .filter_map(|r| r.get("users_id").and_then(as_u64))
            .collect();
        let items = self
            .table("Item_Ticket")
            .values()
            .filter(|r| r.get("tickets_id").and_then(as_u64) == Some(id))
            .map(|r| {
                (
                    r.get("itemtype")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    r.get("items_id").and_then(as_u64).unwrap_or(0),
                )
            })
            .collect();
        let texts = |t: &'static str| {
            self.children_of_ticket(t, id)
                .into_iter()
                .map(|r| self.dec(r.get("content").and_then(Value::as_str).unwrap_or("")))
                .collect::<Vec<_>>()
        };
        TicketView {
            id,
            name: s("name"),
            content: s("content"),
            status: num("status") as u8,
            priority: num("priority") as u8,
            urgency: num("urgency") as u8,
            impact: num("impact") as u8,
            is_deleted: num("is_deleted") != 0,
            requesters,
            items,
            followups: texts("ITILFollowup"),
            solutions: texts("ITILSolution"),
            entities_id: num("entities_id"),
            itilcategories_id: num("itilcategories_id"),
            type_: num("type") as u8,
            external_id: row
                .get("externalid")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }

    fn children_of_ticket(&self, t: &'static str, id: u64) -> Vec<&Map<String, Value>> {
        self.table(t)
            .values()
            .filter(|r| {
                r.get("itemtype").and_then(Value::as_str) == Some("Ticket")
                    && r.get("items_id").and_then(as_u64) == Some(id)
            })
            .collect()
    }

    fn trail(&self) -> String {
        let mut out = String::new();
        if self.table("Ticket").is_empty() {
            out.push_str("(no tickets)\n");
        }
        for (id, row) in self.table("Ticket") {
            let v = self.ticket_view(*id);
            let logins: Vec<String> = v
                .requesters
                .iter()
                .map(|u| {
                    self.login_of(*u)
                        .map_or_else(|| format!("user#{u}"), |l| self.dec(&l))
                })
                .collect();
            let items: Vec<String> = v
                .items
                .iter()
                .map(|(t, i)| {
                    let name = canonical_itemtype(t)
                        .and_then(|t| self.row(t, *i))
                        .and_then(|r| r.get("name").and_then(Value::as_str))
                        .map_or_else(|| "?".to_owned(), |n| self.dec(n));
                    format!("{t} #{i} {name}")
                })
                .collect();
            let _ = writeln!(
                out,
                "Ticket #{id} [{}]{} priority {} (urgency {} / impact {}) type {} \"{}\"",
                status_name(u64::from(v.status)),
                if v.is_deleted { " (in trash)" } else { "" },
                v.priority,
                v.urgency,
                v.impact,
                v.type_,
                v.name
            );
            let _ = writeln!(
                out,
                "  requester(s): {}; items: {}; opened {}",
                if logins.is_empty() {
                    "-".to_owned()
                } else {
                    logins.join(", ")
                },
                if items.is_empty() {
                    "-".to_owned()
                } else {
                    items.join(", ")
                },
                row.get("date").and_then(Value::as_str).unwrap_or("")
            );
            if let Some(x) = &v.external_id {
                let _ = writeln!(out, "  externalid: {x}");
            }
            let _ = writeln!(
                out,
                "  content: {}",
                plain_text(row.get("content").and_then(Value::as_str).unwrap_or(""))
            );
            let mut events: Vec<(u64, String)> = Vec::new();
            for t in ["ITILFollowup", "ITILSolution"] {
                for r in self.children_of_ticket(t, *id) {
                    let rid = r.get("id").and_then(as_u64).unwrap_or(0);
                    let who = r
                        .get("users_id")
                        .and_then(as_u64)
                        .and_then(|u| self.login_of(u))
                        .unwrap_or_else(|| "?".into());
                    let when = r.get("date_creation").and_then(Value::as_str).unwrap_or("");
                    let text = plain_text(r.get("content").and_then(Value::as_str).unwrap_or(""));
                    let line = if t == "ITILFollowup" {
                        format!("  {when} follow-up #{rid} by {who}: {text}")
                    } else {
                        let st = match r.get("status").and_then(as_u64) {
                            Some(2) => "waiting",
                            Some(3) => "accepted",
                            Some(4) => "refused",
                            _ => "?",
                        };
                        format!("  {when} solution #{rid} by {who} [{st}]: {text}")
                    };
                    events.push((self.timeline.get(&(t, rid)).copied().unwrap_or(0), line));
                }
            }
            events.sort();
            for (_, line) in events {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

fn port_of(base_url: &str) -> u64 {
    base_url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

fn asset_row(itemtype: &str, stored_name: &str) -> Map<String, Value> {
    let lower = itemtype.to_ascii_lowercase();
    let mut row: Map<String, Value> = serde_json::from_str(ASSET_TEMPLATE).unwrap();
    row.remove("MODELS");
    row.remove("TYPES");
    row.insert(format!("{lower}models_id"), json!(0));
    row.insert(format!("{lower}types_id"), json!(0));
    let t = now();
    row.insert("name".into(), json!(stored_name));
    row.insert("date_mod".into(), json!(t));
    row.insert("date_creation".into(), json!(t));
    row
}

fn ticket_row(t: &str, version: Version) -> Map<String, Value> {
    let template = match version {
        Version::Glpi10 => TICKET_TEMPLATE,
        Version::Glpi11 => TICKET_TEMPLATE_11,
    };
    let mut row: Map<String, Value> = serde_json::from_str(template).unwrap();
    for k in ["date", "date_mod", "date_creation"] {
        row.insert(k.into(), json!(t));
    }
    row
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

// ---------------------------------------------------------------------------
// Routing and endpoints
// ---------------------------------------------------------------------------

/// Per-request context once the body is parsed.
struct Ctx<'a> {
    req: &'a Req,
    params: Vec<(String, String)>,
    body: Option<Value>,
    /// `X-GLPI-Sanitized-Content: false` was sent.
    decode_output: bool,
}

impl Ctx<'_> {
    fn param(&self, k: &str) -> Option<&str> {
        if let Some(Value::Object(b)) = &self.body
            && let Some(v) = b.get(k)
        {
            {
                return match v {
                    Value::String(s) => Some(s.as_str()),
                    Value::Bool(true) => Some("true"),
                    Value::Bool(false) => Some("false"),
                    _ => None,
                };
            }
        }
        self.params
            .iter()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, k: &str) -> Option<bool> {
        if let Some(Value::Object(b)) = &self.body
            && let Some(v) = b.get(k)
        {
            return Some(truthy(Some(v)));
        }
        self.param(k).map(|v| v == "true" || v == "1")
    }

    fn body_value(&self, k: &str) -> Option<&Value> {
        match &self.body {
            Some(Value::Object(b)) => b.get(k),
            _ => None,
        }
    }
}

fn json_resp(status: u16, v: &Value) -> Resp {
    Resp {
        status,
        headers: vec![
            ("X-Powered-By".into(), "PHP/8.2 (glpi-sim)".into()),
            (
                "Access-Control-Expose-Headers".into(),
                "content-type, content-range, accept-range".into(),
            ),
            ("Pragma".into(), "no-cache".into()),
            (
                "Content-Type".into(),
                "application/json; charset=UTF-8".into(),
            ),
            (
                "Cache-Control".into(),
                "no-store, no-cache, must-revalidate".into(),
            ),
            ("Expires".into(), "Mon, 26 Jul 1997 05:00:00 GMT".into()),
        ],
        body: serde_json::to_vec(v).unwrap(),
    }
}

fn text_resp(status: u16, text: &str) -> Resp {
    Resp {
        status,
        headers: vec![("Content-Type".into(), "text/plain; charset=UTF-8".into())],
        body: text.as_bytes().to_vec(),
    }
}

impl State {
    fn err(&self, status: u16, code: &str, msg: &str, doc: bool) -> Resp {
        let msg = if doc {
            format!(
                "{msg}; view documentation in your browser at {}/apirest.php/#{code}",
                self.base_url
            )
        } else {
            msg.to_owned()
        };
        json_resp(status, &json!([code, msg]))
    }

    fn dispatch(&mut self, req: &Req) -> Resp {
        if req.method == "GET" && req.path == "/_sim/trail" {
            return text_resp(200, &self.trail());
        }
        if self.version == Version::Glpi11
            && let Some(rest) = req.path.strip_prefix("/api.php")
            && (rest.is_empty() || rest.starts_with('/'))
        {
            // GLPI 11: `/api.php/v1/…` is the legacy API, the rest the
            // high-level API and its OAuth2 server (glpi-api.md §11.1).
            return match rest.strip_prefix("/v1") {
                Some(legacy) if legacy.is_empty() || legacy.starts_with('/') => {
                    self.legacy(req, legacy)
                }
                _ => hl::dispatch(self, req, rest),
            };
        }
        let Some(rest) = req.path.strip_prefix("/apirest.php") else {
            let hint = match self.version {
                Version::Glpi10 => "the API lives under /apirest.php/",
                Version::Glpi11 => "the APIs live under /apirest.php/ and /api.php/",
            };
            return text_resp(
                404,
                &format!(
                    "glpi-sim: no route for {} {} ({hint})\n",
                    req.method, req.path
                ),
            );
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return text_resp(
                404,
                &format!("glpi-sim: no route for {} {}\n", req.method, req.path),
            );
        }
        self.legacy(req, rest)
    }

    /// Where the legacy API's `location` and HATEOAS links point: GLPI 11
    /// builds them from `<url_base>/api.php/v1` whatever the request's prefix
    /// (11b, glpi-api.md §12.6).
    fn legacy_api_base(&self) -> String {
        match self.version {
            Version::Glpi10 => format!("{}/apirest.php", self.base_url),
            Version::Glpi11 => format!("{}/api.php/v1", self.base_url),
        }
    }

    /// The legacy REST API; `rest` is the path after its prefix.
    fn legacy(&mut self, req: &Req, rest: &str) -> Resp {
        // GLPI checks these before anything else, the API root included (§1, §12.3).
        if !self.api_enabled {
            return self.err(400, "ERROR", "API disabled", false);
        }
        if !self.ip_allowed {
            return self.err(
                400,
                "ERROR_NOT_ALLOWED_IP",
                "There isn't an active API client matching your IP address in the configuration (127.0.0.1)",
                false,
            );
        }
        let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        if segs.is_empty() {
            let release = match self.version {
                Version::Glpi10 => "10.0.12",
                Version::Glpi11 => "11.0.6",
            };
            return text_resp(
                200,
                &format!(
                    "# GLPI REST API (glpi-sim)\n\nThis is the API root of the GLPI {release} simulator.\n"
                ),
            );
        }

        // 1. body
        let body = if req.body.iter().all(u8::is_ascii_whitespace) {
            None
        } else if req.method == "GET" {
            return self.err(
                400,
                "ERROR_JSON_PAYLOAD_FORBIDDEN",
                "GET Request should not have json payload (http body)",
                true,
            );
        } else {
            match serde_json::from_slice::<Value>(&req.body) {
                Ok(v @ Value::Object(_)) => Some(v),
                _ => {
                    return self.err(
                        400,
                        "ERROR_JSON_PAYLOAD_INVALID",
                        "JSON payload seems not valid",
                        false,
                    );
                }
            }
        };
        let ctx = Ctx {
            req,
            params: parse_query(&req.query),
            body,
            // GLPI 11 stores text raw: the header is gone (11d).
            decode_output: !self.raw_text
                && req
                    .header("X-GLPI-Sanitized-Content")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("false")),
        };

        // 2. app token
        let sent = req
            .header("App-Token")
            .map(str::to_owned)
            .or_else(|| ctx.param("app_token").map(str::to_owned));
        match (&self.app_token, sent.as_deref()) {
            (Some(_), None | Some("")) => {
                return self.err(
                    400,
                    "ERROR_APP_TOKEN_PARAMETERS_MISSING",
                    "missing parameter app_token",
                    true,
                );
            }
            (Some(expected), Some(t)) if t != expected => {
                return self.err(
                    400,
                    "ERROR_WRONG_APP_TOKEN_PARAMETER",
                    "parameter app_token seems wrong",
                    true,
                );
            }
            (None, Some(t)) if !t.is_empty() => {
                return self.err(
                    400,
                    "ERROR_WRONG_APP_TOKEN_PARAMETER",
                    "parameter app_token seems wrong",
                    true,
                );
            }
            _ => {}
        }

        if segs[0] == "initSession" {
            return self.init_session(&ctx);
        }

        // 3. session
        let token = req
            .header("Session-Token")
            .map(str::to_owned)
            .or_else(|| ctx.param("session_token").map(str::to_owned));
        let token = token.unwrap_or_default();
        if token.is_empty() {
            return self.err(
                400,
                "ERROR_SESSION_TOKEN_MISSING",
                "parameter session_token is missing or empty",
                true,
            );
        }
        let Some(session) = self.sessions.get(&token).cloned() else {
            return self.err(
                401,
                "ERROR_SESSION_TOKEN_INVALID",
                "session_token seems invalid",
                false,
            );
        };

        // 4. endpoint
        match segs[0] {
            "killSession" => {
                self.sessions.remove(&token);
                json_resp(200, &json!(true))
            }
            "getFullSession" => json_resp(
                200,
                &json!({ "session": self.full_session(&token, &session, true) }),
            ),
            "getActiveProfile" => json_resp(
                200,
                &json!({ "active_profile": self.profile_json(session.profile_id) }),
            ),
            "getMyProfiles" => {
                let list: Vec<Value> = self
                    .user_profiles
                    .get(&session.user_id)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| json!({"id": p, "name": self.profiles[&p].name, "entities": root_entities()}))
                    .collect();
                json_resp(200, &json!({ "myprofiles": list }))
            }
            "changeActiveProfile" => {
                let Some(p) = ctx
                    .body_value("profiles_id")
                    .and_then(as_u64)
                    .or_else(|| ctx.param("profiles_id").and_then(|v| v.parse().ok()))
                else {
                    return self.err(400, "ERROR", "missing parameter profiles_id", true);
                };
                if self
                    .user_profiles
                    .get(&session.user_id)
                    .is_some_and(|ps| ps.contains(&p))
                {
                    self.sessions.get_mut(&token).unwrap().profile_id = p;
                    json_resp(200, &json!(true))
                } else {
                    self.err(404, "ERROR_ITEM_NOT_FOUND", "Item not found", false)
                }
            }
            "getMyEntities" => json_resp(
                200,
                &json!({"myentities": [{"id": 0, "name": "Root entity"}]}),
            ),
            "getActiveEntities" => json_resp(
                200,
                &json!({"active_entity": {"id": 0, "active_entity_recursive": 1, "active_entities": [{"id": 0}]}}),
            ),
            "changeActiveEntities" => json_resp(200, &json!(true)),
            "getGlpiConfig" => json_resp(200, &json!({ "cfg_glpi": self.glpi_config() })),
            "search" if segs.len() == 2 => self.search(&ctx, segs[1]),
            t if self.version == Version::Glpi11 && t.eq_ignore_ascii_case("OAuthClient") => {
                self.legacy_oauth_client(&ctx, &segs, &session)
            }
            _ => self.items_endpoint(&ctx, &segs, &session),
        }
    }

    fn init_session(&mut self, ctx: &Ctx<'_>) -> Resp {
        let mut user_token: Option<String> = None;
        let mut credentials = false;
        let stripped = self.strip_authorization;
        if let Some(auth) = ctx
            .req
            .header("Authorization")
            .filter(|a| !stripped || a.starts_with("Basic "))
        {
            let parts: Vec<&str> = auth.split(' ').collect();
            match parts[0] {
                "user_token" => user_token = Some(parts.get(1).copied().unwrap_or("").to_owned()),
                "Basic" => credentials = true,
                _ => {}
            }
        }
        if user_token.as_deref().is_none_or(str::is_empty)
            && let Some(t) = ctx.param("user_token")
        {
            user_token = Some(t.to_owned());
        }
        if ctx.param("login").is_some() && ctx.param("password").is_some() {
            credentials = true;
        }
        let user_token = user_token.filter(|t| !t.is_empty());
        let Some(user_token) = user_token else {
            if credentials {
                return self.err(
                    400,
                    "ERROR_LOGIN_WITH_CREDENTIALS_DISABLED",
                    "usage of initSession resource with credentials is disabled",
                    false,
                );
            }
            return self.err(
                400,
                "ERROR_LOGIN_PARAMETERS_MISSING",
                "parameter(s) login, password or user_token are missing",
                true,
            );
        };
        let user = self.user_tokens.get(&user_token).copied().filter(|u| {
            self.row("User", *u).is_some_and(|r| {
                r.get("is_active").and_then(as_u64) == Some(1)
                    && r.get("is_deleted").and_then(as_u64) == Some(0)
            })
        });
        let Some(user_id) = user else {
            return self.err(
                401,
                "ERROR_GLPI_LOGIN_USER_TOKEN",
                "parameter user_token seems invalid",
                false,
            );
        };
        let token = self.next_token();
        let profile_id = self
            .user_profiles
            .get(&user_id)
            .and_then(|p| p.first().copied())
            .unwrap_or(SELF_SERVICE_PROFILE_ID);
        let session = Session {
            user_id,
            profile_id,
        };
        self.sessions.insert(token.clone(), session.clone());
        let t = now();
        if let Some(row) = self.table_mut("User").get_mut(&user_id) {
            row.insert("last_login".into(), json!(t));
        }
        let mut out = json!({ "session_token": token });
        if ctx.flag("get_full_session") == Some(true) {
            out["session"] = self.full_session(&token, &session, false);
        }
        json_resp(200, &out)
    }

    fn profile_json(&self, id: u64) -> Value {
        let p = &self.profiles[&id];
        let mut v: Value = serde_json::from_str(PROFILE_TEMPLATE).unwrap();
        v["id"] = json!(id);
        v["name"] = json!(p.name);
        v["interface"] = json!(p.interface);
        v["comment"] = json!(format!("{} (glpi-sim)", p.name));
        v["ticket"] = json!(p.ticket);
        v["followup"] = json!(p.followup);
        v["entities"] = root_entities();
        if id == API_PROFILE_ID {
            for (k, value) in &self.profile_overrides {
                v[k.as_str()] = value.clone();
            }
        }
        v
    }

    fn full_session(&self, token: &str, s: &Session, with_messages: bool) -> Value {
        let mut v: Value = serde_json::from_str(SESSION_TEMPLATE).unwrap();
        let user = self.row("User", s.user_id).cloned().unwrap_or_default();
        let text = |k: &str| user.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        v["valid_id"] = json!(token);
        v["glpi_currenttime"] = json!(now());
        v["glpiID"] = json!(s.user_id);
        v["glpiname"] = json!(text("name"));
        v["glpirealname"] = json!(text("realname"));
        v["glpifirstname"] = json!(text("firstname"));
        v["glpifriendlyname"] = json!(
            format!("{} {}", text("realname"), text("firstname"))
                .trim()
                .to_owned()
        );
        let mut profiles = Map::new();
        for p in self
            .user_profiles
            .get(&s.user_id)
            .cloned()
            .unwrap_or_default()
        {
            profiles.insert(
                p.to_string(),
                json!({"name": self.profiles[&p].name, "entities": root_entities()}),
            );
        }
        v["glpiprofiles"] = Value::Object(profiles);
        v["glpiactiveprofile"] = self.profile_json(s.profile_id);
        if !with_messages {
            v.as_object_mut().unwrap().remove("MESSAGE_AFTER_REDIRECT");
        }
        v
    }

    fn glpi_config(&self) -> Value {
        let mut matrix = Map::new();
        for (u, row) in PRIORITY_MATRIX.iter().enumerate() {
            let mut r = Map::new();
            for (i, p) in row.iter().enumerate() {
                r.insert((i + 1).to_string(), json!(p));
            }
            matrix.insert((u + 1).to_string(), Value::Object(r));
        }
        let release = match self.version {
            Version::Glpi10 => "10.0.12",
            Version::Glpi11 => "11.0.6",
        };
        let mut cfg = json!({
            "version": release,
            "dbversion": format!("{release}@glpi-sim"),
            "priority_matrix": matrix,
            "urgency_mask": "62",
            "impact_mask": "62",
            "url_base": self.base_url,
            "url_base_api": self.legacy_api_base(),
            "list_limit": "15",
            "list_limit_max": "50",
            "enable_api": "1",
            "enable_api_login_credentials": "0",
            "enable_api_login_external_token": "1",
            "use_notifications": "0",
            "maintenance_mode": "0",
            "language": "en_GB",
        });
        if self.version == Version::Glpi11 {
            cfg["enable_hlapi"] = json!(if self.hlapi_enabled { "1" } else { "0" });
        }
        cfg
    }

    fn rights(&self, s: &Session) -> &Profile {
        &self.profiles[&s.profile_id]
    }

    // -- items ---------------------------------------------------------------

    fn items_endpoint(&mut self, ctx: &Ctx<'_>, segs: &[&str], session: &Session) -> Resp {
        let Some(itemtype) = canonical_itemtype(segs[0]) else {
            return self.err(
                400,
                "ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM",
                "resource not found or not an instance of CommonDBTM",
                true,
            );
        };
        // Dropdowns are read with their own right (`itilcategory` READ).
        if itemtype == "ITILCategory"
            && ctx.req.method == "GET"
            && as_u64(&self.profile_json(session.profile_id)["itilcategory"]).unwrap_or(0) & READ
                == 0
        {
            return self.err(403, "ERROR_RIGHT_MISSING", NO_PERMISSION, true);
        }
        let id = segs.get(1).map(|s| s.parse::<u64>());
        let id = match id {
            None => None,
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => {
                return self.err(
                    400,
                    "ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM",
                    "resource not found or not an instance of CommonDBTM",
                    true,
                );
            }
        };
        match (ctx.req.method.as_str(), id, segs.get(2)) {
            ("POST", _, sub) => {
                let target = match sub {
                    Some(s) => match canonical_itemtype(s) {
                        Some(t) => t,
                        None => {
                            return self.err(
                                400,
                                "ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM",
                                "resource not found or not an instance of CommonDBTM",
                                true,
                            );
                        }
                    },
                    None => itemtype,
                };
                self.post_items(ctx, target, session)
            }
            ("PUT" | "PATCH", _, _) => self.put_items(ctx, itemtype, id, session),
            ("DELETE", _, _) => self.delete_items(ctx, itemtype, id, session),
            (_, None, _) => self.get_collection(ctx, itemtype, None),
            (_, Some(id), None) => match self.row(itemtype, id) {
                Some(row) => {
                    let out = self.output_row(ctx, itemtype, row);
                    json_resp(200, &out)
                }
                None => self.err(404, "ERROR_ITEM_NOT_FOUND", "Item not found", false),
            },
            (_, Some(id), Some(sub)) => {
                let Some(child) = canonical_itemtype(sub) else {
                    return self.err(
                        400,
                        "ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM",
                        "resource not found or not an instance of CommonDBTM",
                        true,
                    );
                };
                if self.row(itemtype, id).is_none() {
                    return self.err(404, "ERROR_ITEM_NOT_FOUND", "Item not found", false);
                }
                if let Some(sub_id) = segs.get(3) {
                    return match sub_id.parse::<u64>().ok().and_then(|i| self.row(child, i)) {
                        Some(row) => json_resp(200, &self.output_row(ctx, child, row)),
                        None => self.err(404, "ERROR_ITEM_NOT_FOUND", "Item not found", false),
                    };
                }
                self.get_collection(ctx, child, Some((itemtype, id)))
            }
        }
    }

    fn output_row(&self, ctx: &Ctx<'_>, itemtype: &str, row: &Map<String, Value>) -> Value {
        let mut out = row.clone();
        if ctx.flag("expand_dropdowns") == Some(true) {
            for (k, v) in &mut out {
                let n = as_u64(v).unwrap_or(0);
                match k.as_str() {
                    "entities_id" => *v = json!("Root entity"),
                    "users_id"
                    | "users_id_recipient"
                    | "users_id_lastupdater"
                    | "users_id_tech"
                    | "users_id_editor"
                        if n > 0 =>
                    {
                        *v = json!(self.login_of(n).unwrap_or_default());
                    }
                    "requesttypes_id" if n == 1 => *v = json!("Helpdesk"),
                    "tickets_id" if n > 0 => {
                        *v = json!(
                            self.row("Ticket", n)
                                .and_then(|r| r.get("name").cloned())
                                .unwrap_or(json!(""))
                        );
                    }
                    _ => {}
                }
            }
        }
        if ctx.decode_output {
            for v in out.values_mut() {
                if let Value::String(s) = v {
                    *s = decode(s);
                }
            }
        }
        if ctx.flag("get_hateoas") != Some(false) {
            out.insert("links".into(), Value::Array(self.links(itemtype, row)));
        }
        Value::Object(out)
    }

    fn links(&self, itemtype: &str, row: &Map<String, Value>) -> Vec<Value> {
        let api = self.legacy_api_base();
        let mut links = Vec::new();
        let mut push = |rel: &str, href: String| links.push(json!({"rel": rel, "href": href}));
        let id = row.get("id").and_then(as_u64).unwrap_or(0);
        if let Some(e) = row.get("entities_id").and_then(as_u64) {
            push("Entity", format!("{api}/Entity/{e}"));
        }
        if let (Some(t), Some(i)) = (
            row.get("itemtype").and_then(Value::as_str),
            row.get("items_id").and_then(as_u64),
        ) {
            push(t, format!("{api}/{t}/{i}"));
        }
        if let Some(t) = row.get("tickets_id").and_then(as_u64) {
            push("Ticket", format!("{api}/Ticket/{t}"));
        }
        for k in [
            "users_id_lastupdater",
            "users_id_recipient",
            "users_id",
            "users_id_approval",
        ] {
            if let Some(u) = row.get(k).and_then(as_u64).filter(|u| *u > 0) {
                push("User", format!("{api}/User/{u}"));
            }
        }
        if let Some(r) = row
            .get("requesttypes_id")
            .and_then(as_u64)
            .filter(|r| *r > 0)
        {
            push("RequestType", format!("{api}/RequestType/{r}"));
        }
        match itemtype {
            "Ticket" => {
                for c in TICKET_CHILDREN {
                    push(c, format!("{api}/Ticket/{id}/{c}/"));
                }
            }
            "ITILFollowup" | "ITILSolution" => push(
                "Document_Item",
                format!("{api}/{itemtype}/{id}/Document_Item/"),
            ),
            t if ASSET_TYPES.contains(&t) => {
                for c in [
                    "ReservationItem",
                    "Document_Item",
                    "Contract_Item",
                    "Infocom",
                    "Item_Ticket",
                    "NetworkPort",
                ] {
                    push(c, format!("{api}/{t}/{id}/{c}/"));
                }
            }
            _ => {}
        }
        links
    }

    fn get_collection(
        &self,
        ctx: &Ctx<'_>,
        itemtype: &'static str,
        parent: Option<(&'static str, u64)>,
    ) -> Resp {
        let Ok((start, end)) = parse_range(ctx.param("range")) else {
            return self.err(
                400,
                "ERROR",
                "range must be in format : [start-end] with integers",
                true,
            );
        };
        let show_deleted = ctx.flag("is_deleted").unwrap_or(false);
        let filters: Vec<(String, String)> = ctx
            .params
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("searchText[")
                    .and_then(|r| r.strip_suffix(']'))
                    .map(|c| (c.to_owned(), v.clone()))
            })
            .collect();
        let parent_fk = parent.map(|(t, _)| format!("{}s_id", t.to_ascii_lowercase()));
        let mut rows: Vec<&Map<String, Value>> = self
            .table(itemtype)
            .values()
            .filter(|r| match parent {
                None => true,
                Some((pt, pid)) => {
                    let fk = parent_fk.as_deref().unwrap_or("");
                    if r.contains_key(fk) {
                        r.get(fk).and_then(as_u64) == Some(pid)
                    } else {
                        r.get("itemtype").and_then(Value::as_str) == Some(pt)
                            && r.get("items_id").and_then(as_u64) == Some(pid)
                    }
                }
            })
            .filter(|r| match r.get("is_deleted").and_then(as_u64) {
                Some(d) if parent.is_none() => (d != 0) == show_deleted,
                _ => true,
            })
            .filter(|r| {
                filters.iter().all(|(col, pat)| match r.get(col) {
                    Some(Value::String(s)) => like_match(s, pat, self.raw_text),
                    Some(Value::Number(n)) => like_match(&n.to_string(), pat, self.raw_text),
                    _ => false,
                })
            })
            .collect();
        let sort = ctx.param("sort").unwrap_or("id").to_owned();
        if !rows.is_empty() && !rows[0].contains_key(&sort) {
            return self.err(400, "ERROR", "Sort field is not valid", true);
        }
        rows.sort_by(|a, b| {
            cmp_cells(a.get(&sort), b.get(&sort)).then_with(|| cmp_cells(a.get("id"), b.get("id")))
        });
        if ctx
            .param("order")
            .is_some_and(|o| o.eq_ignore_ascii_case("DESC"))
        {
            rows.reverse();
        }
        let total = rows.len();
        if start > total {
            return self.err(
                400,
                "ERROR_RANGE_EXCEED_TOTAL",
                &format!("Provided range exceed total count of data: {total}"),
                true,
            );
        }
        let page: Vec<Value> = rows
            .iter()
            .skip(start)
            .take(end.saturating_sub(start) + 1)
            .map(|r| self.output_row(ctx, itemtype, r))
            .collect();
        let count = page.len();
        let mut resp = json_resp(if count < total { 206 } else { 200 }, &Value::Array(page));
        resp.headers
            .push(("Accept-Range".into(), format!("{itemtype} 1000")));
        if total > 0 {
            resp.headers.push((
                "Content-Range".into(),
                format!("{start}-{}/{total}", (start + count).max(1) - 1),
            ));
        }
        resp
    }
}

fn root_entities() -> Value {
    json!([{"id": 0, "name": "Root entity", "is_recursive": 1}])
}

fn parse_range(r: Option<&str>) -> Result<(usize, usize), ()> {
    match r {
        None => Ok((0, 14)),
        Some(r) => {
            let (a, b) = r.split_once('-').ok_or(())?;
            let a: usize = a.trim().parse().map_err(|_| ())?;
            let b: usize = b.trim().parse().map_err(|_| ())?;
            if b < a { Err(()) } else { Ok((a, b)) }
        }
    }
}

fn cmp_cells(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(std::cmp::Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Some(Value::Array(x)), Some(Value::Array(y))) => cmp_cells(x.first(), y.first()),
        (None | Some(Value::Null), None | Some(Value::Null)) => std::cmp::Ordering::Equal,
        (None | Some(Value::Null), _) => std::cmp::Ordering::Less,
        (_, None | Some(Value::Null)) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

/// Result of one add/update/delete: Ok(message) or Err(message).
type OpResult = Result<(u64, Value), Value>;

impl State {
    fn input_list<'a>(
        &self,
        ctx: &'a Ctx<'_>,
    ) -> Result<(Vec<&'a Map<String, Value>>, bool), Resp> {
        match ctx.body_value("input") {
            Some(Value::Object(m)) => Ok((vec![m], false)),
            Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_object) => {
                Ok((a.iter().filter_map(Value::as_object).collect(), true))
            }
            _ => Err(self.err(
                400,
                "ERROR_BAD_ARRAY",
                "input parameter must be an array of objects",
                true,
            )),
        }
    }

    fn post_items(&mut self, ctx: &Ctx<'_>, itemtype: &'static str, session: &Session) -> Resp {
        let (inputs, bulk) = match self.input_list(ctx) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let results: Vec<OpResult> = inputs
            .into_iter()
            .map(|input| self.add_one(itemtype, input, session))
            .collect();
        let msg = |m: &Value| -> Value {
            match m {
                Value::String(s) if ctx.decode_output => json!(decode(s)),
                other => other.clone(),
            }
        };
        let api = self.legacy_api_base();
        if !bulk {
            return match &results[0] {
                Ok((id, m)) => {
                    let mut r = json_resp(201, &json!({"id": id, "message": msg(m)}));
                    r.headers
                        .push(("location".into(), format!("{api}/{itemtype}/{id}")));
                    r
                }
                Err(m) => json_resp(400, &json!(["ERROR_GLPI_ADD", msg(m)])),
            };
        }
        let list: Vec<Value> = results
            .iter()
            .map(|r| match r {
                Ok((id, m)) => json!({"id": id, "message": msg(m)}),
                Err(m) => json!({"id": false, "message": msg(m)}),
            })
            .collect();
        let ok: Vec<u64> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|(id, _)| *id))
            .collect();
        if ok.len() == results.len() {
            let mut r = json_resp(201, &Value::Array(list));
            let link = ok
                .iter()
                .map(|id| format!("{api}/{itemtype}/{id}"))
                .collect::<Vec<_>>()
                .join(",");
            r.headers.push(("Link".into(), link));
            r
        } else if ok.is_empty() {
            json_resp(400, &json!(["ERROR_GLPI_ADD", list]))
        } else {
            json_resp(207, &json!(["ERROR_GLPI_PARTIAL_ADD", list]))
        }
    }

    fn add_one(
        &mut self,
        itemtype: &'static str,
        input: &Map<String, Value>,
        s: &Session,
    ) -> OpResult {
        match itemtype {
            "Ticket" => Ok(self.add_ticket(input, s)),
            "ITILFollowup" => self.add_followup(input, s),
            "ITILSolution" => self.add_solution(input, s),
            "Item_Ticket" => self.add_item_ticket(input, s),
            "Ticket_User" => self.add_ticket_user(input),
            "User" => {
                let login = input.get("name").and_then(Value::as_str).unwrap_or("");
                if login.is_empty()
                    || self
                        .table("User")
                        .values()
                        .any(|r| r.get("name").and_then(Value::as_str) == Some(&self.enc(login)))
                {
                    return Err(json!(""));
                }
                let active = input.get("is_active").is_none_or(|v| truthy(Some(v)));
                let id = self.add_user(login, "", "", active, &[]);
                Ok((id, json!(self.added_message(&self.enc(login), id))))
            }
            t => {
                let name = self.enc(input.get("name").and_then(Value::as_str).unwrap_or(""));
                let mut row = asset_row(t, &name);
                let raw = self.raw_text;
                for (k, v) in input {
                    if k != "id" && row.contains_key(k) {
                        row.insert(k.clone(), sanitize_value(v, raw));
                    }
                }
                let id = self.insert_row(t, row);
                Ok((id, json!(self.added_message(&name, id))))
            }
        }
    }

    fn add_ticket(&mut self, input: &Map<String, Value>, s: &Session) -> (u64, Value) {
        let t = now();
        let mut row = ticket_row(&t, self.version);
        let text = |k: &str| {
            input
                .get(k)
                .and_then(Value::as_str)
                .map(|s| self.enc(s))
                .unwrap_or_default()
        };
        let content = text("content");
        let mut name = text("name");
        if name.is_empty() && !content.is_empty() {
            name = self.enc(&plain_text(&content).chars().take(70).collect::<String>());
        }
        let level = |k: &str| {
            input
                .get(k)
                .and_then(as_u64)
                .filter(|v| (1..=5).contains(v))
                .unwrap_or(3)
        };
        let (urgency, impact) = (level("urgency"), level("impact"));
        let explicit = input
            .get("priority")
            .and_then(as_u64)
            .filter(|p| (1..=6).contains(p));
        let priority = match explicit {
            Some(p) if self.rights(s).ticket & CHANGEPRIORITY != 0 => p,
            _ => matrix_priority(urgency, impact),
        };
        let status = input
            .get("status")
            .and_then(as_u64)
            .filter(|v| (1..=6).contains(v))
            .unwrap_or(1);
        let type_ = input
            .get("type")
            .and_then(as_u64)
            .filter(|v| *v == 1 || *v == 2)
            .unwrap_or(1);
        row.insert("name".into(), json!(name));
        row.insert("content".into(), json!(content));
        row.insert("urgency".into(), json!(urgency));
        row.insert("impact".into(), json!(impact));
        row.insert("priority".into(), json!(priority));
        row.insert("status".into(), json!(status));
        row.insert("type".into(), json!(type_));
        for k in [
            "entities_id",
            "itilcategories_id",
            "requesttypes_id",
            "locations_id",
        ] {
            if let Some(v) = input.get(k).and_then(as_u64) {
                row.insert(k.into(), json!(v));
            }
        }
        if let (Some(_), Some(v)) = (row.get("externalid"), input.get("externalid")) {
            // GLPI 11: settable at creation (a string, or null).
            row.insert(
                "externalid".into(),
                match v {
                    Value::Null => Value::Null,
                    Value::String(x) => json!(x),
                    other => json!(other.to_string()),
                },
            );
        }
        row.insert("users_id_recipient".into(), json!(s.user_id));
        row.insert("users_id_lastupdater".into(), json!(s.user_id));
        if status >= 5 {
            row.insert("solvedate".into(), json!(t));
        }
        if status == 6 {
            row.insert("closedate".into(), json!(t));
        }
        let id = self.insert_row("Ticket", row);
        let mut assigned = false;
        for (key, kind) in [
            ("_users_id_requester", 1),
            ("_users_id_assign", 2),
            ("_users_id_observer", 3),
        ] {
            for u in ids_of(input.get(key)) {
                if self.row("User", u).is_some() {
                    self.insert_row("Ticket_User", ticket_user_row(id, u, kind));
                    assigned |= kind == 2;
                }
            }
        }
        if assigned && status == 1 {
            self.table_mut("Ticket")
                .get_mut(&id)
                .unwrap()
                .insert("status".into(), json!(2));
        }
        if let Some(Value::Object(map)) = input.get("items_id") {
            for (t, ids) in map {
                let Some(t) = canonical_itemtype(t) else {
                    continue;
                };
                if let Value::Array(ids) = ids {
                    for i in ids.iter().filter_map(as_u64) {
                        self.insert_row("Item_Ticket", item_ticket_row(id, t, i));
                    }
                }
            }
        }
        if let Some(Value::Object(f)) = input.get("_followup") {
            let mut f = f.clone();
            f.insert("itemtype".into(), json!("Ticket"));
            f.insert("items_id".into(), json!(id));
            let _ = self.add_followup(&f, s);
        }
        let shown = if name.is_empty() {
            format!("Ticket - ID {id}")
        } else {
            name
        };
        (id, json!(self.added_message(&shown, id)))
    }

    fn parent_ticket(input: &Map<String, Value>) -> Option<u64> {
        let itemtype = input
            .get("itemtype")
            .and_then(Value::as_str)
            .unwrap_or("Ticket");
        if !itemtype.eq_ignore_ascii_case("Ticket") {
            return None;
        }
        input
            .get("items_id")
            .or_else(|| input.get("tickets_id"))
            .and_then(as_u64)
    }

    fn add_followup(&mut self, input: &Map<String, Value>, s: &Session) -> OpResult {
        let Some(tid) = Self::parent_ticket(input).filter(|t| self.row("Ticket", *t).is_some())
        else {
            return Err(json!(NO_PERMISSION));
        };
        let status = self.ticket_num(tid, "status");
        let reopen = truthy(input.get("add_reopen"));
        let close = truthy(input.get("add_close"));
        let mut content = input
            .get("content")
            .and_then(Value::as_str)
            .map(|s| self.enc(s))
            .unwrap_or_default();
        if content.trim().is_empty() {
            if reopen {
                return Err(json!(
                    "If you want to reopen this item, you must specify a reason"
                ));
            } else if close {
                "Solution approved".clone_into(&mut content);
            } else {
                return Err(json!("You can't add a followup without description"));
            }
        }
        let t = now();
        let row = obj(json!({
            "id": 0, "itemtype": "Ticket", "items_id": tid, "date": t, "users_id": s.user_id,
            "users_id_editor": 0, "content": content,
            "is_private": input.get("is_private").and_then(as_u64).unwrap_or(0),
            "requesttypes_id": input.get("requesttypes_id").and_then(as_u64).unwrap_or(0),
            "date_mod": t, "date_creation": t, "timeline_position": 1, "sourceitems_id": 0, "sourceof_items_id": 0
        }));
        let id = self.insert_row("ITILFollowup", row);
        self.touch_ticket(tid, s.user_id, &t);
        let ticket = self.table_mut("Ticket").get_mut(&tid).unwrap();
        if ticket.get("takeintoaccountdate").is_none_or(Value::is_null) {
            ticket.insert("takeintoaccountdate".into(), json!(t));
        }
        let is_requester = self.actors(tid, 1).contains(&s.user_id);
        let has_assignee = !self.actors(tid, 2).is_empty();
        let pending = input.get("pending");
        if close && status == 5 {
            self.set_status(tid, 6, s.user_id);
        } else if (reopen || (is_requester && !has_assignee)) && matches!(status, 4..=6) {
            self.reopen(tid, s.user_id);
        } else if pending.is_some() && !truthy(pending) && matches!(status, 4 | 5) {
            // Seen on 10.0.12 (05s/05t): `pending: 0` takes a solved ticket back to "new".
            self.reopen(tid, s.user_id);
        } else if truthy(pending) && status < 4 {
            self.set_status(tid, 4, s.user_id);
        }
        Ok((id, json!("")))
    }

    fn add_solution(&mut self, input: &Map<String, Value>, s: &Session) -> OpResult {
        let tid = Self::parent_ticket(input);
        let exists = tid.is_some_and(|t| self.row("Ticket", t).is_some());
        if exists {
            let tid = tid.unwrap();
            match self.ticket_num(tid, "status") {
                5 => {
                    return Err(json!(
                        "The item is already solved, did anyone pushed a solution before you?"
                    ));
                }
                6 => return Err(json!(NO_PERMISSION)),
                _ if self.rights(s).ticket & UPDATE == 0 => return Err(json!(NO_PERMISSION)),
                _ => {}
            }
        }
        let t = now();
        let row = obj(json!({
            "id": 0, "itemtype": "Ticket", "items_id": tid.unwrap_or(0),
            "solutiontypes_id": input.get("solutiontypes_id").and_then(as_u64).unwrap_or(0),
            "solutiontype_name": null,
            "content": input.get("content").and_then(Value::as_str).map(|s| self.enc(s)).unwrap_or_default(),
            "date_creation": t, "date_mod": t, "date_approval": null, "users_id": s.user_id,
            "user_name": null, "users_id_editor": 0, "users_id_approval": 0, "user_name_approval": null,
            "status": 2, "itilfollowups_id": null
        }));
        let id = self.insert_row("ITILSolution", row);
        if exists {
            let tid = tid.unwrap();
            self.set_status(tid, 5, s.user_id);
        }
        Ok((id, json!(format!("Item successfully added: {id}"))))
    }

    fn add_item_ticket(&mut self, input: &Map<String, Value>, s: &Session) -> OpResult {
        let tid = input.get("tickets_id").and_then(as_u64).unwrap_or(0);
        let itemtype = input
            .get("itemtype")
            .and_then(Value::as_str)
            .and_then(canonical_itemtype);
        let items_id = input.get("items_id").and_then(as_u64);
        let (Some(itemtype), Some(items_id)) = (itemtype, items_id) else {
            return Err(json!(""));
        };
        if self.row("Ticket", tid).is_none()
            || self.ticket_num(tid, "status") == 6
            || self.rights(s).ticket & UPDATE == 0
        {
            return Err(json!(NO_PERMISSION));
        }
        let dup = self.table("Item_Ticket").values().any(|r| {
            r.get("tickets_id").and_then(as_u64) == Some(tid)
                && r.get("itemtype").and_then(Value::as_str) == Some(itemtype)
                && r.get("items_id").and_then(as_u64) == Some(items_id)
        });
        if dup {
            return Err(json!(""));
        }
        let id = self.insert_row("Item_Ticket", item_ticket_row(tid, itemtype, items_id));
        let name = self
            .row(itemtype, items_id)
            .and_then(|r| r.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        Ok((id, json!(format!("Item successfully added: {name}"))))
    }

    fn add_ticket_user(&mut self, input: &Map<String, Value>) -> OpResult {
        let tid = input.get("tickets_id").and_then(as_u64).unwrap_or(0);
        let uid = input.get("users_id").and_then(as_u64).unwrap_or(0);
        let kind = input.get("type").and_then(as_u64).unwrap_or(1);
        if self.row("Ticket", tid).is_none() {
            return Err(json!(NO_PERMISSION));
        }
        if self.row("User", uid).is_none() || self.actors(tid, kind).contains(&uid) {
            return Err(json!(""));
        }
        let id = self.insert_row("Ticket_User", ticket_user_row(tid, uid, kind));
        Ok((id, json!("")))
    }

    fn ticket_num(&self, tid: u64, k: &str) -> u64 {
        self.row("Ticket", tid)
            .and_then(|r| r.get(k))
            .and_then(as_u64)
            .unwrap_or(0)
    }

    fn actors(&self, tid: u64, kind: u64) -> Vec<u64> {
        self.table("Ticket_User")
            .values()
            .filter(|r| {
                r.get("tickets_id").and_then(as_u64) == Some(tid)
                    && r.get("type").and_then(as_u64) == Some(kind)
            })
            .filter_map(|r| r.get("users_id").and_then(as_u64))
            .collect()
    }

    fn touch_ticket(&mut self, tid: u64, user: u64, t: &str) {
        if let Some(row) = self.table_mut("Ticket").get_mut(&tid) {
            row.insert("date_mod".into(), json!(t));
            row.insert("users_id_lastupdater".into(), json!(user));
        }
    }

    fn reopen(&mut self, tid: u64, user: u64) {
        let to = if self.actors(tid, 2).is_empty() { 1 } else { 2 };
        self.set_status(tid, to, user);
    }

    /// Status change with GLPI's side effects on dates and solutions.
    fn set_status(&mut self, tid: u64, to: u64, user: u64) {
        let t = now();
        let from = self.ticket_num(tid, "status");
        let last_solution = self
            .children_of_ticket("ITILSolution", tid)
            .last()
            .and_then(|r| r.get("id").and_then(as_u64));
        if let Some(sid) = last_solution {
            let new_state = match (from, to) {
                (5 | 6, 1..=4) => Some(4),
                (5, 6) => Some(3),
                _ => None,
            };
            if let Some(st) = new_state {
                let row = self.table_mut("ITILSolution").get_mut(&sid).unwrap();
                if row.get("status").and_then(as_u64) == Some(2) || st == 4 {
                    row.insert("status".into(), json!(st));
                    row.insert("date_approval".into(), json!(t));
                    row.insert("users_id_approval".into(), json!(user));
                }
            }
        }
        let row = self.table_mut("Ticket").get_mut(&tid).unwrap();
        row.insert("status".into(), json!(to));
        match to {
            5 => {
                row.insert("solvedate".into(), json!(t));
                row.insert("begin_waiting_date".into(), json!(t));
            }
            6 => {
                if row.get("solvedate").is_none_or(Value::is_null) {
                    row.insert("solvedate".into(), json!(t));
                }
                row.insert("closedate".into(), json!(t));
            }
            4 => {
                row.insert("begin_waiting_date".into(), json!(t));
            }
            _ => {
                row.insert("solvedate".into(), Value::Null);
                row.insert("closedate".into(), Value::Null);
                row.insert("begin_waiting_date".into(), Value::Null);
            }
        }
        self.touch_ticket(tid, user, &t);
    }

    fn put_items(
        &mut self,
        ctx: &Ctx<'_>,
        itemtype: &'static str,
        url_id: Option<u64>,
        s: &Session,
    ) -> Resp {
        let (inputs, bulk) = match self.input_list(ctx) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let mut results: Vec<(Option<u64>, bool, Value)> = Vec::new();
        for input in inputs {
            let id = input.get("id").and_then(as_u64).or(url_id);
            let (ok, msg) = match id {
                Some(id) if self.row(itemtype, id).is_some() => {
                    match self.update_one(itemtype, id, input, s) {
                        Ok(()) => (true, json!("")),
                        Err(m) => (false, json!(m)),
                    }
                }
                // GLPI never appends "Item not found" for a missing id: the message stays null.
                _ => (false, Value::Null),
            };
            results.push((id, ok, msg));
        }
        let list: Vec<Value> = results
            .iter()
            .map(|(id, ok, msg)| {
                let mut m = Map::new();
                m.insert(id.map_or_else(String::new, |i| i.to_string()), json!(ok));
                m.insert("message".into(), msg.clone());
                Value::Object(m)
            })
            .collect();
        let oks = results.iter().filter(|r| r.1).count();
        if oks == results.len() {
            json_resp(200, &Value::Array(list))
        } else if !bulk {
            json_resp(400, &json!(["ERROR_GLPI_UPDATE", results[0].2]))
        } else if oks == 0 {
            json_resp(400, &json!(["ERROR_GLPI_UPDATE", list]))
        } else {
            json_resp(207, &json!(["ERROR_GLPI_PARTIAL_UPDATE", list]))
        }
    }

    fn update_one(
        &mut self,
        itemtype: &'static str,
        id: u64,
        input: &Map<String, Value>,
        s: &Session,
    ) -> Result<(), String> {
        if itemtype == "Ticket" {
            let ticket_rights = self.rights(s).ticket;
            if ticket_rights & UPDATE == 0 {
                return Err(NO_PERMISSION.into());
            }
            self.update_ticket_fields(id, input, s.user_id, ticket_rights & CHANGEPRIORITY != 0);
            return Ok(());
        }
        let raw = self.raw_text;
        let row = self.table_mut(itemtype).get_mut(&id).unwrap();
        for (k, v) in input {
            if k != "id" && row.contains_key(k) {
                row.insert(k.clone(), sanitize_value(v, raw));
            }
        }
        if row.contains_key("date_mod") {
            row.insert("date_mod".into(), json!(now()));
        }
        Ok(())
    }

    /// `Ticket::prepareInputForUpdate` as far as the handler cares (§6.4, §6.6).
    fn update_ticket_fields(
        &mut self,
        id: u64,
        input: &Map<String, Value>,
        user: u64,
        change_priority: bool,
    ) {
        let row = self.row("Ticket", id).unwrap().clone();
        let cur = |k: &str| row.get(k).and_then(as_u64).unwrap_or(0);
        let closed = cur("status") == 6;
        let mut input = input.clone();
        input.remove("id");
        if closed {
            input.retain(|k, _| {
                matches!(k.as_str(), "status" | "entities_id" | "itilcategories_id")
            });
        }
        let level = |k: &str| {
            input
                .get(k)
                .and_then(as_u64)
                .filter(|v| (1..=5).contains(v))
        };
        let urgency = level("urgency");
        let impact = level("impact");
        let priority_sent = input
            .get("priority")
            .and_then(as_u64)
            .filter(|p| (1..=6).contains(p));
        let new_u = urgency.unwrap_or(cur("urgency"));
        let new_i = impact.unwrap_or(cur("impact"));
        let mut priority = priority_sent;
        // PHP precedence in Ticket::prepareInputForUpdate: a changed urgency always
        // recomputes; a changed impact only without an explicit priority or right.
        let urgency_changed = urgency.is_some_and(|u| u != cur("urgency"));
        let impact_changed = impact.is_some_and(|i| i != cur("impact"));
        if urgency_changed || (impact_changed && (priority_sent.is_none() || !change_priority)) {
            priority = Some(matrix_priority(new_u, new_i));
        }
        let new_status = input
            .get("status")
            .and_then(as_u64)
            .filter(|v| (1..=6).contains(v));
        {
            let raw = self.raw_text;
            let r = self.table_mut("Ticket").get_mut(&id).unwrap();
            for (k, v) in &input {
                if matches!(
                    k.as_str(),
                    "status"
                        | "urgency"
                        | "impact"
                        | "priority"
                        | "date_creation"
                        | "users_id_recipient"
                ) {
                    continue;
                }
                if r.contains_key(k) {
                    r.insert(k.clone(), sanitize_value(v, raw));
                }
            }
            if let Some(u) = urgency {
                r.insert("urgency".into(), json!(u));
            }
            if let Some(i) = impact {
                r.insert("impact".into(), json!(i));
            }
            if let Some(p) = priority {
                r.insert("priority".into(), json!(p));
            }
        }
        match new_status {
            Some(st) if st != cur("status") => self.set_status(id, st, user),
            _ => self.touch_ticket(id, user, &now()),
        }
    }

    fn delete_items(
        &mut self,
        ctx: &Ctx<'_>,
        itemtype: &'static str,
        url_id: Option<u64>,
        s: &Session,
    ) -> Resp {
        let force = ctx.flag("force_purge").unwrap_or(false);
        let ids: Vec<Option<u64>> = match (url_id, ctx.body_value("input")) {
            (Some(id), _) => vec![Some(id)],
            (None, Some(Value::Array(a))) => {
                a.iter().map(|v| v.get("id").and_then(as_u64)).collect()
            }
            (None, Some(Value::Object(m))) => vec![m.get("id").and_then(as_u64)],
            _ => {
                return self.err(
                    400,
                    "ERROR_BAD_ARRAY",
                    "input parameter must be an array of objects",
                    true,
                );
            }
        };
        let bulk = url_id.is_none() && matches!(ctx.body_value("input"), Some(Value::Array(_)));
        let mut results = Vec::new();
        for id in ids {
            let r = match id {
                Some(id) if self.row(itemtype, id).is_some() => {
                    self.delete_one(itemtype, id, force, s)
                }
                _ => Err("Item not found".to_owned()),
            };
            results.push((id, r));
        }
        let list: Vec<Value> = results
            .iter()
            .map(|(id, r)| {
                let mut m = Map::new();
                m.insert(
                    id.map_or_else(String::new, |i| i.to_string()),
                    json!(r.is_ok()),
                );
                m.insert(
                    "message".into(),
                    json!(r.as_ref().err().cloned().unwrap_or_default()),
                );
                Value::Object(m)
            })
            .collect();
        let oks = results.iter().filter(|r| r.1.is_ok()).count();
        if oks == results.len() {
            json_resp(200, &Value::Array(list))
        } else if !bulk {
            json_resp(
                400,
                &json!(["ERROR_GLPI_DELETE", results[0].1.as_ref().err()]),
            )
        } else if oks == 0 {
            json_resp(400, &json!(["ERROR_GLPI_DELETE", list]))
        } else {
            json_resp(207, &json!(["ERROR_GLPI_PARTIAL_DELETE", list]))
        }
    }

    fn delete_one(
        &mut self,
        itemtype: &'static str,
        id: u64,
        force: bool,
        s: &Session,
    ) -> Result<(), String> {
        let has_trash = self
            .row(itemtype, id)
            .is_some_and(|r| r.contains_key("is_deleted"));
        let purge = force || !has_trash;
        if itemtype == "Ticket" {
            let needed = if purge { PURGE } else { DELETE };
            if self.rights(s).ticket & needed == 0 {
                return Err(NO_PERMISSION.into());
            }
        }
        if !purge {
            self.table_mut(itemtype)
                .get_mut(&id)
                .unwrap()
                .insert("is_deleted".into(), json!(1));
        } else if itemtype == "Ticket" {
            self.purge_ticket(id);
        } else {
            self.table_mut(itemtype).remove(&id);
        }
        Ok(())
    }

    fn purge_ticket(&mut self, id: u64) {
        self.table_mut("Ticket").remove(&id);
        for t in ["Ticket_User", "Item_Ticket"] {
            self.table_mut(t)
                .retain(|_, r| r.get("tickets_id").and_then(as_u64) != Some(id));
        }
        for t in ["ITILFollowup", "ITILSolution"] {
            self.table_mut(t).retain(|_, r| {
                !(r.get("itemtype").and_then(Value::as_str) == Some("Ticket")
                    && r.get("items_id").and_then(as_u64) == Some(id))
            });
        }
    }
}

fn ticket_user_row(tid: u64, uid: u64, kind: u64) -> Map<String, Value> {
    obj(
        json!({"id": 0, "tickets_id": tid, "users_id": uid, "type": kind, "use_notification": 1, "alternative_email": ""}),
    )
}

fn item_ticket_row(tid: u64, itemtype: &str, items_id: u64) -> Map<String, Value> {
    obj(json!({"id": 0, "itemtype": itemtype, "items_id": items_id, "tickets_id": tid}))
}

// ---------------------------------------------------------------------------
// Search engine
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum SField {
    Name,
    Id,
    Entity,
    Col(&'static str),
    Status,
    Writer,
    Requester,
    Empty,
}

/// The search options the simulator knows; `v11`: GLPI 11, where tickets
/// also have `externalid` (search option 87, a plain string column).
fn search_field(itemtype: &str, field: u32, v11: bool) -> Option<SField> {
    let common = match field {
        1 => Some(SField::Name),
        2 => Some(SField::Id),
        80 => Some(SField::Entity),
        _ => None,
    };
    if common.is_some() {
        return common;
    }
    match (itemtype, field) {
        ("User", 34) => Some(SField::Col("realname")),
        ("User", 9) => Some(SField::Col("firstname")),
        ("User", 8) => Some(SField::Col("is_active")),
        ("User", 5 | 13 | 20) => Some(SField::Empty),
        ("Ticket", 12) => Some(SField::Status),
        ("Ticket", 21) => Some(SField::Col("content")),
        ("Ticket", 22) => Some(SField::Writer),
        ("Ticket", 4) => Some(SField::Requester),
        ("Ticket", 3) => Some(SField::Col("priority")),
        ("Ticket", 10) => Some(SField::Col("urgency")),
        ("Ticket", 11) => Some(SField::Col("impact")),
        ("Ticket", 14) => Some(SField::Col("type")),
        ("Ticket", 15) => Some(SField::Col("date")),
        ("Ticket", 16) => Some(SField::Col("closedate")),
        ("Ticket", 17) => Some(SField::Col("solvedate")),
        ("Ticket", 19) => Some(SField::Col("date_mod")),
        ("Ticket", 7) => Some(SField::Col("itilcategories_id")),
        ("Ticket", 87) if v11 => Some(SField::Col("externalid")),
        (t, 5) if t != "Ticket" => Some(SField::Col("serial")),
        (t, 31 | 23 | 4 | 40 | 45 | 3 | 19) if t != "Ticket" => Some(SField::Empty),
        _ => None,
    }
}

struct Criterion {
    field: SField,
    field_id: u32,
    searchtype: String,
    value: String,
    link: String,
}

impl State {
    fn cell(&self, _itemtype: &str, row: &Map<String, Value>, f: SField) -> Value {
        let id = row.get("id").and_then(as_u64).unwrap_or(0);
        match f {
            SField::Name => row.get("name").cloned().unwrap_or(Value::Null),
            SField::Id => json!(id),
            SField::Entity => json!("Root entity"),
            SField::Col(c) => row.get(c).cloned().unwrap_or(Value::Null),
            SField::Status => row.get("status").cloned().unwrap_or(Value::Null),
            SField::Writer => {
                let u = row.get("users_id_recipient").and_then(as_u64).unwrap_or(0);
                self.login_of(u).map_or(Value::Null, Value::String)
            }
            SField::Requester => {
                let logins: Vec<Value> = self
                    .actors(id, 1)
                    .into_iter()
                    .filter_map(|u| self.login_of(u))
                    .map(Value::String)
                    .collect();
                match logins.len() {
                    0 => Value::Null,
                    1 => logins[0].clone(),
                    _ => Value::Array(logins),
                }
            }
            SField::Empty => Value::Null,
        }
    }

    fn matches(&self, itemtype: &str, row: &Map<String, Value>, c: &Criterion) -> bool {
        let id = row.get("id").and_then(as_u64).unwrap_or(0);
        let (negate, kind) = match c.searchtype.as_str() {
            "notcontains" => (true, "contains"),
            "notequals" => (true, "equals"),
            k => (false, k),
        };
        let cell = self.cell(itemtype, row, c.field);
        let text = match &cell {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            Value::Array(a) => a
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join("$$"),
            v => v.to_string(),
        };
        let hit = match (c.field, kind) {
            // `equals` on an itemlink compares ids, not names (03a, 03l).
            (SField::Name, "equals") => c.value.trim().parse::<u64>().ok() == Some(id),
            (SField::Status, "equals") => {
                let st = row.get("status").and_then(as_u64).unwrap_or(0);
                match c.value.as_str() {
                    "notold" => (1..=4).contains(&st),
                    "notclosed" => st != 6,
                    "old" => st == 5 || st == 6,
                    "process" => st == 2 || st == 3,
                    "all" => true,
                    v => v.trim().parse::<u64>().ok() == Some(st),
                }
            }
            (SField::Writer, "equals") => {
                c.value.trim().parse::<u64>().ok() == row.get("users_id_recipient").and_then(as_u64)
            }
            (SField::Requester, "equals") => c
                .value
                .trim()
                .parse::<u64>()
                .is_ok_and(|u| self.actors(id, 1).contains(&u)),
            (SField::Entity, "equals") => c.value.trim() == "0",
            (_, "equals") => text == c.value,
            (_, "contains") => {
                if matches!(cell, Value::Array(_)) {
                    text.split("$$")
                        .any(|t| like_match(t, &c.value, self.raw_text))
                } else {
                    like_match(&text, &c.value, self.raw_text)
                }
            }
            (_, "lessthan") => text
                .parse::<f64>()
                .ok()
                .zip(c.value.parse::<f64>().ok())
                .is_some_and(|(a, b)| a < b),
            (_, "morethan") => text
                .parse::<f64>()
                .ok()
                .zip(c.value.parse::<f64>().ok())
                .is_some_and(|(a, b)| a > b),
            _ => false,
        };
        hit != negate
    }

    fn search(&self, ctx: &Ctx<'_>, raw_itemtype: &str) -> Resp {
        let v11 = self.version == Version::Glpi11;
        let itemtype: &'static str = if raw_itemtype.eq_ignore_ascii_case("AllAssets") {
            "AllAssets"
        } else {
            match canonical_itemtype(raw_itemtype) {
                Some(t) if t == "Ticket" || t == "User" || ASSET_TYPES.contains(&t) => t,
                Some(_) => return self.err(400, "ERROR", "Malformed search criteria", true),
                None => {
                    return self.err(
                        400,
                        "ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM",
                        "resource not found or not an instance of CommonDBTM",
                        true,
                    );
                }
            }
        };
        // criteria[n][key] and forcedisplay[k]
        let mut raw: BTreeMap<u32, HashMap<String, String>> = BTreeMap::new();
        let mut forced: Vec<u32> = Vec::new();
        for (k, v) in &ctx.params {
            if let Some(rest) = k.strip_prefix("criteria[") {
                let Some((n, tail)) = rest.split_once(']') else {
                    continue;
                };
                let Ok(n) = n.parse::<u32>() else { continue };
                let key = tail
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned();
                raw.entry(n).or_default().insert(key, v.clone());
            } else if k.starts_with("forcedisplay[")
                && let Ok(f) = v.parse()
            {
                forced.push(f);
            }
        }
        let mut criteria = Vec::new();
        for c in raw.values() {
            let (Some(field), Some(searchtype), Some(value)) =
                (c.get("field"), c.get("searchtype"), c.get("value"))
            else {
                return self.err(400, "ERROR", "Malformed search criteria", true);
            };
            let field_id = field.trim().parse::<u32>().ok();
            let Some((field_id, sf)) =
                field_id.and_then(|f| search_field(itemtype, f, v11).map(|s| (f, s)))
            else {
                return self.err(400, "ERROR", "Bad field ID in search criteria", true);
            };
            criteria.push(Criterion {
                field: sf,
                field_id,
                searchtype: searchtype.clone(),
                value: value.clone(),
                link: c.get("link").cloned().unwrap_or_else(|| "AND".into()),
            });
        }
        let Ok((start, end)) = parse_range(ctx.param("range")) else {
            return self.err(
                400,
                "ERROR",
                "range must be in format : [start-end] with integers",
                true,
            );
        };
        let show_deleted = ctx.flag("is_deleted").unwrap_or(false);
        let types: Vec<&'static str> = if itemtype == "AllAssets" {
            ASSET_TYPES.to_vec()
        } else {
            vec![itemtype]
        };
        let mut hits: Vec<(&'static str, &Map<String, Value>)> = Vec::new();
        for t in &types {
            for row in self.table(t).values() {
                if row.get("is_deleted").and_then(as_u64).unwrap_or(0) != u64::from(show_deleted) {
                    continue;
                }
                let mut acc = true;
                for (i, c) in criteria.iter().enumerate() {
                    let m = self.matches(t, row, c);
                    if i == 0 {
                        acc = m;
                        continue;
                    }
                    acc = match c.link.to_ascii_uppercase().as_str() {
                        "OR" => acc || m,
                        "AND NOT" => acc && !m,
                        "OR NOT" => acc || !m,
                        _ => acc && m,
                    };
                }
                if acc {
                    hits.push((t, row));
                }
            }
        }
        let sort_field = ctx
            .param("sort")
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(1);
        let sf = search_field(
            if itemtype == "AllAssets" {
                "Computer"
            } else {
                itemtype
            },
            sort_field,
            v11,
        )
        .unwrap_or(SField::Name);
        hits.sort_by(|(ta, a), (tb, b)| {
            cmp_cells(Some(&self.cell(ta, a, sf)), Some(&self.cell(tb, b, sf)))
                .then_with(|| cmp_cells(a.get("id"), b.get("id")))
        });
        let desc = ctx
            .param("order")
            .is_some_and(|o| o.eq_ignore_ascii_case("DESC"));
        if desc {
            hits.reverse();
        }
        let mut columns: Vec<u32> = Vec::new();
        if itemtype == "Ticket" {
            columns.push(2);
        }
        columns.push(1);
        for f in forced.iter().chain(criteria.iter().map(|c| &c.field_id)) {
            if !columns.contains(f)
                && search_field(
                    if itemtype == "AllAssets" {
                        "Computer"
                    } else {
                        itemtype
                    },
                    *f,
                    v11,
                )
                .is_some()
            {
                columns.push(*f);
            }
        }
        let total = hits.len();
        let data: Vec<Value> = hits
            .iter()
            .skip(start)
            .take(end.saturating_sub(start) + 1)
            .map(|(t, row)| {
                let mut m = Map::new();
                for f in &columns {
                    let sf = search_field(t, *f, v11).unwrap_or(SField::Empty);
                    m.insert(f.to_string(), self.cell(t, row, sf));
                }
                if itemtype == "AllAssets" {
                    m.insert("id".into(), row.get("id").cloned().unwrap_or(Value::Null));
                    m.insert("itemtype".into(), json!(t));
                }
                Value::Object(m)
            })
            .collect();
        let count = data.len();
        let last = (start + count)
            .checked_sub(1)
            .map_or_else(|| "-1".to_owned(), |e| e.to_string());
        let range = format!("{start}-{last}/{total}");
        let mut out = json!({
            "totalcount": total,
            "count": count,
            "sort": [sort_field.to_string()],
            "order": [if desc { "DESC" } else { "ASC" }],
        });
        if count > 0 {
            out["data"] = Value::Array(data);
        }
        out["content-range"] = json!(range);
        let mut resp = json_resp(if count < total { 206 } else { 200 }, &out);
        resp.headers
            .push(("Accept-Range".into(), format!("{itemtype} 1000")));
        if total > 0 {
            resp.headers.push(("Content-Range".into(), range));
        }
        resp
    }
}

// ---------------------------------------------------------------------------
// Templates (key sets as a real GLPI 10.0.12 returns them)
// ---------------------------------------------------------------------------

const SESSION_TEMPLATE: &str = r##"{"valid_id":"51k1ae938nc8d3ruid2e3is3vr","glpi_currenttime":"2026-11-22 12:06:49","glpi_use_mode":0,"glpiID":7,"glpiis_ids_visible":"0","glpifriendlyname":"Bot RustCLI","glpiname":"rustcli-bot","glpirealname":"Bot","glpifirstname":"RustCLI","glpidefault_entity":0,"glpiextauth":1,"glpiauthtype":1,"glpiroot":"","glpi_plannings":[],"glpicrontimer":1795349204,"glpi_tabs":[],"glpibackcreated":"0","glpicsv_delimiter":";","glpidate_format":"0","glpidefault_requesttypes_id":"1","glpidisplay_count_on_home":"5","glpiduedatecritical_color":"#ff0000","glpiduedatecritical_less":"5","glpiduedatecritical_unit":"%","glpiduedateok_color":"#06ff00","glpiduedatewarning_color":"#ffb800","glpiduedatewarning_less":"20","glpiduedatewarning_unit":"%","glpifollowup_private":"0","glpikeep_devices_when_purging_item":"0","glpilanguage":"en_GB","glpilist_limit":"15","glpilock_autolock_mode":"1","glpilock_directunlock_notification":"0","glpinames_format":"0","glpinotification_to_myself":"1","glpinumber_format":"0","glpipdffont":"dejavusans","glpipriority_1":"#fff2f2","glpipriority_2":"#ffe0e0","glpipriority_3":"#ffcece","glpipriority_4":"#ffbfbf","glpipriority_5":"#ffadad","glpipriority_6":"#ff5555","glpirefresh_views":"0","glpiset_default_tech":"1","glpiset_default_requester":"1","glpishow_count_on_tabs":"1","glpishow_jobs_at_login":"0","glpitask_private":"0","glpitask_state":"1","glpiuse_flat_dropdowntree":"0","glpiuse_flat_dropdowntree_on_search_result":"1","glpipalette":"auror","glpipage_layout":"vertical","glpihighcontrast_css":"0","glpidefault_dashboard_central":"central","glpidefault_dashboard_assets":"assets","glpidefault_dashboard_helpdesk":"assistance","glpidefault_dashboard_mini_ticket":"mini_tickets","glpidefault_central_tab":"0","glpifold_menu":"0","glpifold_search":"0","glpisavedsearches_pinned":"0","glpirichtext_layout":"classic","glpitimeline_order":"natural","glpiitil_layout":"","glpitimeline_action_btn_layout":"0","glpitimeline_date_format":"0","glpi_dropdowntranslations":[],"glpipluralnumber":2,"glpiactiveentities":[0],"glpisearch":[],"glpiactiveentities_string":"'0'","glpiparententities":[],"glpiparententities_string":"","glpiactive_entity":0,"glpiactive_entity_recursive":1,"glpiactive_entity_name":"Root entity (tree structure)","glpiactive_entity_shortname":"Root entity (tree structure)","glpishowallentities":1,"glpigroups":[],"MESSAGE_AFTER_REDIRECT":[]}"##;

const PROFILE_TEMPLATE: &str = r#"{"id":9,"name":"API Integration","interface":"central","is_default":0,"helpdesk_hardware":3,"helpdesk_item_type":["Computer","Monitor","NetworkEquipment","Peripheral","Phone","Printer","Software","DCRoom","Rack","Enclosure","Database"],"ticket_status":[],"date_mod":"2026-11-22 12:06:19","comment":"Copy of Technician + Ticket CHANGEPRIORITY, for rust CLI tests","problem_status":[],"create_ticket_on_login":0,"tickettemplates_id":0,"changetemplates_id":0,"problemtemplates_id":0,"change_status":null,"managed_domainrecordtypes":[],"date_creation":"2026-11-22 12:06:19","agent":0,"appliance":31,"backup":0,"bookmark_public":0,"budget":96,"cable_management":0,"calendar":0,"cartridge":127,"certificate":127,"change":1151,"changevalidation":20,"cluster":31,"computer":127,"config":0,"consumable":127,"contact_enterprise":96,"contract":96,"dashboard":0,"database":31,"datacenter":31,"device":0,"devicesimcard_pinpuk":3,"document":127,"domain":0,"dropdown":0,"entity":33,"externalevent":1,"followup":13319,"global_validation":0,"group":1,"infocom":0,"internet":31,"inventory":0,"itilcategory":0,"itilfollowuptemplate":0,"itiltemplate":1,"knowbase":14359,"knowbasecategory":0,"license":127,"line":127,"lineoperator":0,"link":0,"location":0,"locked_field":0,"logs":0,"monitor":127,"networking":127,"notification":0,"password_update":1,"pendingreason":1,"peripheral":127,"personalization":3,"phone":127,"planning":1,"printer":127,"problem":1121,"profile":0,"project":1151,"projecttask":1025,"queuednotification":0,"recurrentchange":1,"refusedequipment":0,"reminder_public":151,"reports":1,"reservation":1055,"rssfeed_public":151,"rule_asset":0,"rule_dictionnary_dropdown":0,"rule_dictionnary_printer":0,"rule_dictionnary_software":0,"rule_import":0,"rule_ldap":0,"rule_location":0,"rule_mailcollector":0,"rule_softwarecategories":0,"rule_ticket":0,"search_config":0,"show_group_hardware":0,"slm":1,"snmpcredential":0,"software":127,"solutiontemplate":0,"state":0,"statistic":1,"task":13329,"taskcategory":0,"ticket":232455,"ticketcost":23,"ticketrecurrent":1,"ticketvalidation":3088,"transfer":1,"typedoc":0,"unmanaged":0,"user":1055}"#;

const USER_TEMPLATE: &str = r#"{"id":0,"name":"","password_last_update":null,"phone":null,"phone2":null,"mobile":null,"realname":null,"firstname":null,"locations_id":0,"language":null,"use_mode":0,"list_limit":null,"is_active":1,"comment":null,"auths_id":0,"authtype":1,"last_login":null,"date_mod":null,"date_sync":null,"is_deleted":0,"profiles_id":0,"entities_id":0,"usertitles_id":0,"usercategories_id":0,"date_format":null,"number_format":null,"names_format":null,"csv_delimiter":null,"is_ids_visible":null,"use_flat_dropdowntree":null,"use_flat_dropdowntree_on_search_result":null,"show_jobs_at_login":null,"priority_1":null,"priority_2":null,"priority_3":null,"priority_4":null,"priority_5":null,"priority_6":null,"followup_private":null,"task_private":null,"default_requesttypes_id":null,"password_forget_token":null,"password_forget_token_date":null,"user_dn":null,"user_dn_hash":null,"registration_number":null,"show_count_on_tabs":null,"refresh_views":null,"set_default_tech":null,"personal_token_date":null,"api_token_date":null,"cookie_token_date":null,"display_count_on_home":null,"notification_to_myself":null,"duedateok_color":null,"duedatewarning_color":null,"duedatecritical_color":null,"duedatewarning_less":null,"duedatecritical_less":null,"duedatewarning_unit":null,"duedatecritical_unit":null,"display_options":null,"is_deleted_ldap":0,"pdffont":null,"picture":null,"begin_date":null,"end_date":null,"keep_devices_when_purging_item":null,"privatebookmarkorder":null,"backcreated":null,"task_state":null,"palette":null,"page_layout":null,"fold_menu":null,"fold_search":null,"savedsearches_pinned":null,"timeline_order":null,"itil_layout":null,"richtext_layout":null,"set_default_requester":null,"lock_autolock_mode":null,"lock_directunlock_notification":null,"date_creation":null,"highcontrast_css":0,"plannings":null,"sync_field":null,"groups_id":0,"users_id_supervisor":0,"timezone":null,"default_dashboard_central":null,"default_dashboard_assets":null,"default_dashboard_helpdesk":null,"default_dashboard_mini_ticket":null,"default_central_tab":0,"nickname":null,"timeline_action_btn_layout":0,"timeline_date_format":0}"#;

const ASSET_TEMPLATE: &str = r#"{"id":0,"entities_id":0,"name":"","serial":null,"otherserial":null,"contact":null,"contact_num":null,"users_id_tech":0,"groups_id_tech":0,"comment":null,"date_mod":null,"autoupdatesystems_id":0,"locations_id":0,"networks_id":0,"MODELS":0,"TYPES":0,"is_template":0,"template_name":null,"manufacturers_id":0,"is_deleted":0,"is_dynamic":0,"users_id":0,"groups_id":0,"states_id":0,"ticket_tco":"0.0000","uuid":null,"date_creation":null,"is_recursive":0,"last_inventory_update":null,"last_boot":null}"#;

/// GLPI 11.0.6's ticket columns (11c): `tickettemplates_id` and `externalid`
/// added, `validation_percent` gone.
const TICKET_TEMPLATE_11: &str = r#"{"id":0,"entities_id":0,"name":"","date":null,"closedate":null,"solvedate":null,"takeintoaccountdate":null,"date_mod":null,"users_id_lastupdater":0,"status":1,"users_id_recipient":0,"requesttypes_id":1,"content":"","urgency":3,"impact":3,"priority":3,"itilcategories_id":0,"type":1,"global_validation":1,"slas_id_ttr":0,"slas_id_tto":0,"slalevels_id_ttr":0,"time_to_resolve":null,"time_to_own":null,"begin_waiting_date":null,"sla_waiting_duration":0,"ola_waiting_duration":0,"olas_id_tto":0,"olas_id_ttr":0,"olalevels_id_ttr":0,"ola_tto_begin_date":null,"ola_ttr_begin_date":null,"internal_time_to_resolve":null,"internal_time_to_own":null,"waiting_duration":0,"close_delay_stat":0,"solve_delay_stat":0,"takeintoaccount_delay_stat":0,"actiontime":0,"is_deleted":0,"locations_id":0,"date_creation":null,"tickettemplates_id":0,"externalid":null}"#;

const TICKET_TEMPLATE: &str = r#"{"id":0,"entities_id":0,"name":"","date":null,"closedate":null,"solvedate":null,"takeintoaccountdate":null,"date_mod":null,"users_id_lastupdater":0,"status":1,"users_id_recipient":0,"requesttypes_id":1,"content":"","urgency":3,"impact":3,"priority":3,"itilcategories_id":0,"type":1,"global_validation":1,"slas_id_ttr":0,"slas_id_tto":0,"slalevels_id_ttr":0,"time_to_resolve":null,"time_to_own":null,"begin_waiting_date":null,"sla_waiting_duration":0,"ola_waiting_duration":0,"olas_id_tto":0,"olas_id_ttr":0,"olalevels_id_ttr":0,"ola_tto_begin_date":null,"ola_ttr_begin_date":null,"internal_time_to_resolve":null,"internal_time_to_own":null,"waiting_duration":0,"close_delay_stat":0,"solve_delay_stat":0,"takeintoaccount_delay_stat":0,"actiontime":0,"is_deleted":0,"locations_id":0,"validation_percent":0,"date_creation":null}"#;
