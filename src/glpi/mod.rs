//! A thin, typed client of GLPI over either of its APIs — the legacy REST
//! API (`apirest.php`), which GLPI 10.0.x and 11.x both serve, and GLPI 11's
//! high-level API (`api.php/v2`, with OAuth2) — behind the same [`Session`]
//! methods.
//!
//! The choice is made once: [`Client::open`] opens the transport of the
//! configured [`Api`], and each operation of [`Session`] dispatches to it in
//! one place (`session.rs`). Each transport implements the same operations
//! whole, as traits say (`TicketOps`, `SearchOps`, `ProbeOps`, declared in
//! `tickets.rs`, `search.rs` and `probe.rs` beside the types both return) —
//! `legacy/` reads as GLPI 10's API, `v2/` as GLPI 11's — over the shared
//! machinery: `client.rs` (settings, the HTTP client), `http.rs` (one
//! request, GLPI's errors decoded), `oauth.rs` and `credentials.rs` (the
//! high-level API's tokens), `error.rs` and `code.rs` (the errors, GLPI's
//! codes as [`ErrorCode`]), and `model.rs` (request and response types,
//! GLPI's values read leniently).
//!
//! One [`Session`] per run, closed on every path ([`Session::close`]). Token
//! headers are marked sensitive and never logged; URLs never carry a token —
//! except when the web server strips `Authorization` (§12.4, `legacy/`).
//!
//! Returns its own types (ids, matches) and, for where a ticket stands,
//! `core`'s [`Remote`](crate::core::Remote): imports only `core`'s data
//! types and `net` (the `ca_file`, a transport error in words) from the
//! rest of the crate (the caller passes [`Settings`]).

mod client;
mod code;
mod credentials;
mod error;
mod http;
mod legacy;
pub(crate) mod model;
mod oauth;
pub(crate) mod probe;
#[cfg(test)]
mod proptests;
mod search;
mod session;
mod tickets;
mod v2;

pub(crate) use client::Api;
pub(crate) use client::{Client, Settings};
pub(crate) use code::ErrorCode;
pub(crate) use credentials::{TokenStore, Tokens, V2Settings};
pub(crate) use error::{GlpiError, HIGH_LEVEL_NOT_FOUND, handshake_cut, plain_http_answer};
#[cfg(feature = "fuzzing")]
pub(crate) use http::decode_error;
pub(crate) use model::NewTicket;
pub(crate) use probe::{ItemLookup, Me, Profile, V2Session};
pub(crate) use search::{AssetMatch, Mark, MarkedTicket, UserMatch};
pub(crate) use session::Session;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use tickets::remote_status;
