//! The top-level error and the one place that maps errors to SPEC's exit
//! statuses (0/2/3/4/5/6, 7 for the mail, 8 for reconcile's state source, 9 for
//! events of another GLPI;
//! `health`'s plugin codes). Imported by `lib` and `commands` only; it
//! imports each layer's error type.

use std::process::ExitCode;

use crate::config::ConfigError;
use crate::core::{Failure, UsageError};
use crate::engine::{EngineError, glpi_failure};
use crate::glpi::GlpiError;
use crate::mail::MailError;
use crate::monitor::MonitorError;
use crate::state::StateError;

/// SPEC "Exit status"; the same table is in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ExitStatus {
    Handled = 0,
    Usage = 2,
    Config = 3,
    Refused = 4,
    Unavailable = 5,
    State = 6,
    /// The ticket action succeeded, the notification mail failed.
    Mail = 7,
    /// `reconcile`: the engine's state source is stale, unreadable or
    /// unreachable; nothing was changed.
    Source = 8,
    /// `flush` left events kept for another GLPI.
    Foreign = 9,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s as u8)
    }
}

impl From<Failure> for ExitStatus {
    fn from(failure: Failure) -> ExitStatus {
        match failure {
            Failure::Config => ExitStatus::Config,
            Failure::Refused => ExitStatus::Refused,
            Failure::Unavailable => ExitStatus::Unavailable,
            Failure::Local => ExitStatus::State,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Glpi(#[from] GlpiError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Mail(#[from] MailError),
    /// `reconcile` could not read the engine's state, or it is too old.
    #[error(transparent)]
    Monitor(#[from] MonitorError),
    /// Standard output could not be written (a closed pipe, a full disk).
    #[error("cannot write the result on standard output")]
    Output(#[from] std::io::Error),
    /// `generate` (packaging) could not write a file.
    #[error("cannot write {}", path.display())]
    Generate {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `notify` met an invalid or unreadable configuration (`error`); `kept`
    /// says where its event waits for the fix, or why it could not be kept.
    #[error("{error}")]
    Unconfigured {
        #[source]
        error: ConfigError,
        kept: String,
    },
    /// `flush` delivered what it could, but events kept for another GLPI
    /// are left: only `state adopt` (or `state forget`) moves them.
    #[error(
        "{events} event(s) of {keys} key(s) are kept for another GLPI than this configuration's"
    )]
    ForeignKept { events: usize, keys: usize },
    /// `health` found a problem: its line on stdout says which; the exit
    /// status is the monitoring plugin's (1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    #[error("health: plugin status {code}")]
    Plugin { code: u8 },
    /// `check` found problems; its checklist on stdout names each one.
    /// `stops`: what the first one stops.
    #[error("check found {problems} problem(s); the first: {first}")]
    Check {
        problems: usize,
        first: String,
        stops: Stops,
    },
}

/// What a problem `check` found stops, which sets its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stops {
    /// `notify`, with this class of failure.
    Notify(Failure),
    /// Only the notification mail (exit 7, as `notify` when only its mail
    /// fails).
    Mail,
    /// Only `reconcile`: its state source (exit 8, as `reconcile`).
    Reconcile,
}

impl Error {
    /// The process's exit code: SPEC's status ([`Error::exit_status`]), or
    /// for `health` the monitoring plugin's, which its line on standard
    /// output explains (nothing is reported on standard error).
    pub(crate) fn exit_code(&self) -> (std::process::ExitCode, bool) {
        match self {
            Error::Plugin { code } => (std::process::ExitCode::from(*code), false),
            other => (other.exit_status().into(), true),
        }
    }

    /// The only function that knows SPEC's exit statuses.
    pub(crate) fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Usage(_) => ExitStatus::Usage,
            Error::Mail(_)
            | Error::Check {
                stops: Stops::Mail, ..
            } => ExitStatus::Mail,
            Error::Monitor(_)
            | Error::Check {
                stops: Stops::Reconcile,
                ..
            } => ExitStatus::Source,
            Error::ForeignKept { .. } => ExitStatus::Foreign,
            other => other.failure().into(),
        }
    }

    /// The class of the failure: what it makes of an event it keeps, and of
    /// the exit status.
    pub(crate) fn failure(&self) -> Failure {
        match self {
            Error::Config(_) | Error::Unconfigured { .. } => Failure::Config,
            Error::Glpi(e) => glpi_failure(e),
            Error::Engine(e) => e.failure(),
            Error::Check {
                stops: Stops::Notify(failure),
                ..
            } => *failure,
            Error::Check { .. }
            | Error::Usage(_)
            | Error::State(_)
            | Error::Mail(_)
            | Error::Monitor(_)
            | Error::Output(_)
            | Error::ForeignKept { .. }
            | Error::Plugin { .. }
            | Error::Generate { .. } => Failure::Local,
        }
    }

    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            Error::Usage(e) => Some(e.hint()),
            Error::Config(e) => e.hint(),
            Error::Unconfigured { error, kept } => Some(match error.hint() {
                Some(hint) => format!("{hint}\n{kept}"),
                None => kept.clone(),
            }),
            Error::Glpi(e) => e.hint(),
            Error::State(e) => Some(e.hint()),
            Error::Engine(e) => e.hint(),
            Error::Mail(e) => Some(e.hint()),
            Error::Monitor(e) => Some(e.hint()),
            Error::Generate { .. } => Some("give a writable output directory".into()),
            Error::Output(_) => Some(
                "whatever reads esia-glpi's standard output stopped reading or has no room \
                 left; for notify, the event itself was handled (or kept)"
                    .into(),
            ),
            Error::Check { .. } => Some(
                "fix the ✗ lines from the top (each says how), then run `esia-glpi check` again"
                    .into(),
            ),
            Error::Plugin { .. } => None,
            Error::ForeignKept { .. } => Some(
                "they were kept while this configuration reached another GLPI: `esia-glpi state \
                 list` names the keys; if they belong to this GLPI now, `esia-glpi state adopt` \
                 hands them over (then `esia-glpi flush`); else `esia-glpi state forget NODE \
                 SERVICE` sets them aside"
                    .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_table_matches_spec_and_help() {
        let table = [
            (ExitStatus::Handled, 0),
            (ExitStatus::Usage, 2),
            (ExitStatus::Config, 3),
            (ExitStatus::Refused, 4),
            (ExitStatus::Unavailable, 5),
            (ExitStatus::State, 6),
            (ExitStatus::Mail, 7),
            (ExitStatus::Source, 8),
            (ExitStatus::Foreign, 9),
        ];
        for (status, code) in table {
            assert_eq!(status as u8, code);
            assert!(
                crate::cli::EXIT_STATUS_HELP.contains(&format!("\n  {code}  ")),
                "--help lacks {code}"
            );
        }
        let refused = Error::Glpi(GlpiError::Refused {
            what: "x".into(),
            status: 401,
            code: "ERROR_GLPI_LOGIN_USER_TOKEN".into(),
            message: String::new(),
        });
        assert_eq!(refused.exit_status(), ExitStatus::Refused);
        let down = Error::Engine(EngineError::Glpi(GlpiError::Unavailable {
            what: "x".into(),
            reason: "y".into(),
            outcome_unknown: false,
        }));
        assert_eq!(down.exit_status(), ExitStatus::Unavailable);
        assert_eq!(
            Error::Engine(EngineError::RunTimeout(30)).exit_status(),
            ExitStatus::Unavailable
        );
        assert_eq!(
            Error::Glpi(GlpiError::Setup { reason: "r".into() }).exit_status(),
            ExitStatus::Config
        );
        assert_eq!(
            Error::Usage(UsageError::MissingNode).exit_status(),
            ExitStatus::Usage
        );
        // check: the first problem's class; 7 when it stops only the mail,
        // 8 only reconcile.
        let check = |stops| Error::Check {
            problems: 1,
            first: "x".into(),
            stops,
        };
        assert_eq!(
            check(Stops::Notify(Failure::Local)).exit_status(),
            ExitStatus::State
        );
        assert_eq!(check(Stops::Mail).exit_status(), ExitStatus::Mail);
        assert_eq!(check(Stops::Reconcile).exit_status(), ExitStatus::Source);
    }
}
