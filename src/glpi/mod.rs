//! A thin, typed client of GLPI: the legacy REST API (`apirest.php`), which
//! GLPI 10.0.x and 11.x both serve, and GLPI 11's high-level API
//! (`api.php/v2`, with OAuth2: `oauth.rs`, the calls in `v2.rs`) — the same
//! [`Session`] methods over either.
//!
//! One [`Session`] per run: `initSession` with `App-Token` and
//! `Authorization: user_token …`, the work, then `killSession` on every path
//! ([`Session::close`]). On `401 ERROR_SESSION_TOKEN_INVALID` the session is
//! opened again once and the call retried once. Token headers are marked
//! sensitive and never logged; URLs never carry a token — except when the web
//! server strips `Authorization` (`ERROR_LOGIN_PARAMETERS_MISSING` although a
//! token was sent, §12.4): then `initSession` is sent again with the
//! `user_token` as a query parameter, with a warning on every run, because the
//! token then lands in the web server's access log.
//!
//! Returns its own types (ids, matches) and, for where a ticket stands,
//! `core`'s [`Remote`](crate::core::Remote): imports only `core`'s data
//! types from the rest of the crate (the caller passes [`Settings`]).

mod client;
mod code;
mod credentials;
mod error;
mod http;
pub(crate) mod model;
mod oauth;
pub(crate) mod probe;
#[cfg(test)]
mod proptests;
mod search;
mod session;
mod tickets;
mod v2;

pub(crate) use client::{Client, Settings};
pub(crate) use code::ErrorCode;
pub(crate) use credentials::{TokenStore, Tokens, V2Settings};
pub(crate) use error::GlpiError;
#[cfg(feature = "fuzzing")]
pub(crate) use http::decode_error;
pub(crate) use model::NewTicket;
pub(crate) use probe::{ItemLookup, Me, Profile, V2Session};
pub(crate) use search::{AssetMatch, MarkedTicket, UserMatch};
pub(crate) use session::Session;
#[cfg(feature = "fuzzing")]
pub(crate) use tickets::remote_status;
