//! SIGTERM and SIGINT during a run. Monitoring engines (Icinga 2, systemd)
//! send SIGTERM before SIGKILL when a notification takes too long: the run
//! then stops waiting or delivering, closes its GLPI session within a short
//! bound, says so in one line, and exits with its event kept.

use tokio::signal::unix::{Signal, SignalKind, signal};

use super::error::EngineError;

/// The two signals that ask a run to stop, listened to from the start of
/// the run (a signal received meanwhile is not lost).
pub(super) struct Interrupts {
    term: Signal,
    int: Signal,
}

impl Interrupts {
    /// Listens; must be called inside the runtime.
    pub(super) fn listen() -> Result<Interrupts, EngineError> {
        Ok(Interrupts {
            term: signal(SignalKind::terminate()).map_err(EngineError::Runtime)?,
            int: signal(SignalKind::interrupt()).map_err(EngineError::Runtime)?,
        })
    }

    /// The name of the first signal received.
    pub(super) async fn received(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
