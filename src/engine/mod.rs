//! The delivery engine: where a notification goes.
//!
//! For one key, under its hold: the key's kept events are delivered oldest
//! first, each like a fresh notification — read the record, ask GLPI what the
//! lifecycle needs ([`core::lifecycle::lookup`](crate::core::lifecycle::lookup)),
//! decide ([`core::lifecycle::decide`](crate::core::lifecycle::decide)), act
//! through [`glpi`](crate::glpi), record through [`state`](crate::state) — and
//! each leaves the spool only once GLPI confirmed it ([`deliver`]).
//! Reconciliation and look-ups (the marker search, creation intents, the
//! requester and asset ids) are in [`lookup`]. `notify`, `flush` and `state
//! rebuild` call [`Engine`]; the tokio runtime is built here, once
//! ([`runtime`]); the clock is injected ([`Clock`]).
//!
//! Imports `core`, `glpi`, `state`, `text` and `config`; never `commands`.

mod api;
mod clock;
mod context;
mod create;
mod deliver;
mod error;
mod lookup;
mod rebuild;
mod signals;
mod tokens;

pub(crate) use api::Engine;
pub(crate) use clock::{Clock, process_start};
pub(crate) use context::{glpi_settings, runtime};
pub(crate) use create::ticket_texts;
pub(crate) use error::{EngineError, glpi_failure};
