//! The domain, pure: what an event is and how it is resolved from what the
//! engine gave, whom it concerns (the key) and which
//! GLPI, what we remember of a key's ticket, the lifecycle decision, the
//! order of a key's events, reconcile's decision (the engine's state
//! against GLPI's open tickets), and the one typed
//! outcome of a delivery that the output, the mail, the log line and the
//! spool all match on.
//!
//! No I/O, no clock, no environment, no async: everything is passed in.
//! Imports nothing from the rest of the crate; every other layer may import it.

pub(crate) mod event;
mod identity;
pub(crate) mod knowledge;
mod lang;
pub(crate) mod lifecycle;
pub(crate) mod order;
pub(crate) mod outcome;
pub(crate) mod reconcile;
pub(crate) mod record;
pub(crate) mod resolve;

#[cfg(test)]
pub(crate) use event::EngineOrder;
pub(crate) use event::{Event, HostStamp, Key, NotificationType, State};
pub(crate) use identity::{Claim, GlpiId, Ours};
pub(crate) use knowledge::{Coverage, Knowledge, Trace};
pub(crate) use lang::Lang;
pub(crate) use lifecycle::{Note, Solution};
pub(crate) use outcome::{Failure, Outcome, Remote, Skip};
pub(crate) use record::Record;
pub(crate) use resolve::{Given, MonitorEnv, UsageError};
