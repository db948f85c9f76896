//! Why the engine could not do its work, and the class of each failure
//! (which sets the exit status, in `error.rs`).

use crate::core::Failure;
use crate::glpi::GlpiError;
use crate::state::StateError;

/// Why the engine could not do its work.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EngineError {
    #[error(transparent)]
    Glpi(#[from] GlpiError),
    #[error(transparent)]
    State(#[from] StateError),
    /// A delivery tried since this run's event arrived failed on an event
    /// ahead of it (or on it): it stays kept behind that failure.
    #[error("kept behind an event GLPI could not take: {reason}")]
    Behind { failure: Failure, reason: String },
    /// SIGTERM or SIGINT (the engine's own timeout, a restart): the event
    /// is kept, the GLPI session closed.
    #[error("interrupted by {0}: the event is kept")]
    Interrupted(&'static str),
    /// The run as a whole exceeded `run_timeout`.
    #[error("the run exceeded run_timeout ({0} s)")]
    RunTimeout(u64),
    /// The async runtime could not start (out of resources).
    #[error("cannot start the runtime")]
    Runtime(#[source] std::io::Error),
}

impl EngineError {
    /// The class of the failure, which sets the exit status (`error.rs`).
    pub(crate) fn failure(&self) -> Failure {
        match self {
            EngineError::Glpi(e) => glpi_failure(e),
            EngineError::Behind { failure, .. } => *failure,
            EngineError::RunTimeout(_) | EngineError::Interrupted(_) => Failure::Unavailable,
            EngineError::State(_) | EngineError::Runtime(_) => Failure::Local,
        }
    }

    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            EngineError::Glpi(e) => e.hint(),
            EngineError::State(e) => Some(e.hint()),
            EngineError::Behind { .. } => Some(
                "the event is kept; the next run of this node and service or `esia-glpi flush` \
                 delivers it once GLPI takes the event ahead (`esia-glpi state show` gives its \
                 error)"
                    .into(),
            ),
            EngineError::Interrupted(_) => Some(
                "the next run of this node and service or `esia-glpi flush` delivers it; if \
                 the monitoring engine stopped esia-glpi for taking too long, raise its \
                 notification timeout or lower run_timeout"
                    .into(),
            ),
            EngineError::RunTimeout(_) => Some(
                "GLPI is too slow: the event is kept; raise run_timeout if this is normal".into(),
            ),
            EngineError::Runtime(_) => None,
        }
    }
}

/// The class of a GLPI failure: what the administrator must fix (refused,
/// configuration) or wait for (unavailable).
pub(crate) fn glpi_failure(e: &GlpiError) -> Failure {
    match e {
        GlpiError::Setup { .. } | GlpiError::NotFound { .. } => Failure::Config,
        GlpiError::Refused { .. } => Failure::Refused,
        GlpiError::Unavailable { .. }
        | GlpiError::Protocol { .. }
        | GlpiError::PhpOutput { .. } => Failure::Unavailable,
    }
}
