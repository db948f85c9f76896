//! The top-level error and the one place that maps errors to SPEC's exit
//! statuses (0/2/3/4/5/6).

use std::process::ExitCode;

use crate::config::ConfigError;
use crate::event::UsageError;
use crate::glpi::GlpiError;
use crate::mail::MailError;
use crate::state::StateError;

/// SPEC "Exit status"; the same table is in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    Handled = 0,
    Usage = 2,
    Config = 3,
    Refused = 4,
    Unavailable = 5,
    State = 6,
    /// The ticket action succeeded, the notification mail failed.
    Mail = 7,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s as u8)
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
    Mail(#[from] MailError),
    /// `generate` (packaging) could not write a file.
    #[error("cannot write {}", path.display())]
    Generate {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The run as a whole exceeded `run_timeout`.
    #[error("the run exceeded run_timeout ({0} s)")]
    RunTimeout(u64),
    /// The async runtime could not start (out of resources).
    #[error("cannot start the runtime")]
    Runtime(#[source] std::io::Error),
    /// `check` found problems; its checklist on stdout names each one.
    #[error("check found {problems} problem(s); the first: {first}")]
    Check {
        problems: usize,
        first: String,
        kind: CheckFailure,
    },
}

/// The class of the first problem `check` found, which sets its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckFailure {
    /// The configuration file (or a file it names) is unusable: 3.
    Config,
    /// GLPI refuses: API disabled, address, tokens, rights, missing items: 4.
    Refused,
    /// GLPI cannot be reached: DNS, TCP, TLS, timeouts, 5xx: 5.
    Unreachable,
}

impl Error {
    /// The only function that knows SPEC's exit statuses.
    pub(crate) fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Usage(_) => ExitStatus::Usage,
            Error::Config(_) | Error::Glpi(GlpiError::Setup { .. }) => ExitStatus::Config,
            Error::Glpi(e) if e.is_refusal() => ExitStatus::Refused,
            Error::Glpi(_) | Error::RunTimeout(_) => ExitStatus::Unavailable,
            Error::State(_) | Error::Runtime(_) | Error::Generate { .. } => ExitStatus::State,
            Error::Mail(_) => ExitStatus::Mail,
            Error::Check { kind, .. } => match kind {
                CheckFailure::Config => ExitStatus::Config,
                CheckFailure::Refused => ExitStatus::Refused,
                CheckFailure::Unreachable => ExitStatus::Unavailable,
            },
        }
    }

    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            Error::Usage(e) => e.hint(),
            Error::Config(e) => e.hint(),
            Error::Glpi(e) => e.hint(),
            Error::State(e) => Some(e.hint()),
            Error::RunTimeout(_) => Some(
                "GLPI is too slow: the event is kept; raise run_timeout if this is normal".into(),
            ),
            Error::Runtime(_) => None,
            Error::Mail(e) => Some(e.hint()),
            Error::Generate { .. } => Some("give a writable output directory".into()),
            Error::Check { .. } => Some(
                "fix the ✗ lines from the top (each says how), then run `esia-glpi check` again"
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
        let down = Error::Glpi(GlpiError::Unavailable {
            what: "x".into(),
            reason: "y".into(),
            outcome_unknown: false,
        });
        assert_eq!(down.exit_status(), ExitStatus::Unavailable);
        assert_eq!(
            Error::Usage(UsageError::MissingNode).exit_status(),
            ExitStatus::Usage
        );
    }
}
