//! The delivery engine: where a notification goes.
//!
//! For one key, under its hold (a [`Held`](crate::state::Held) handle):
//! the key's kept events are delivered in the order they happened (the
//! waiting in [`order`], the rule in `core::order`), each like a fresh
//! notification — read the record, ask GLPI what the
//! lifecycle needs ([`core::lifecycle::lookup`](crate::core::lifecycle::lookup)),
//! decide ([`core::lifecycle::decide`](crate::core::lifecycle::decide)), act
//! through [`glpi`](crate::glpi), record through [`state`](crate::state) — and
//! each leaves the spool only once GLPI confirmed it ([`deliver`]).
//! Reconciliation and look-ups (the marker search, creation intents, the
//! requester and asset ids) are in [`lookup`]. `notify`, `flush` and `state
//! rebuild` call [`Engine`]; the tokio runtime is defined here
//! ([`runtime`]) and started once, by `lib::run`; the clock is injected
//! ([`Clock`]).
//!
//! `reconcile` makes GLPI mirror the engine's state that `monitor` read:
//! its decision is `core::reconcile`'s, its changes go through the same
//! per-key hold and lifecycle ([`reconcile`](self::reconcile)).
//!
//! Imports `core`, `glpi`, `state`, `monitor`, `text` and `config`; never
//! `commands`.

mod api;
mod clock;
mod context;
mod create;
mod deliver;
mod error;
mod knowledge;
mod lookup;
mod order;
mod rebuild;
mod reconcile;
mod signals;
mod tokens;

pub(crate) use api::{Engine, Health};
pub(crate) use clock::{Clock, process_start};
pub(crate) use context::{glpi_settings, runtime};
pub(crate) use create::ticket_texts;
pub(crate) use error::{EngineError, glpi_failure};
pub(crate) use order::hold;
pub(crate) use reconcile::{Action, KeyLine, Reconciled};
