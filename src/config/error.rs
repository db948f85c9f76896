//! Why a configuration cannot be used (exit status 3), and what to do.

use std::io;
use std::path::{Path, PathBuf};

use super::types::EXAMPLE_PATH;

/// Why the configuration cannot be used (exit status 3).
///
/// `Display` names the file, the key and the line, never the source line and
/// never a token value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("cannot read configuration file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("{} is larger than {max} bytes: not a configuration file", path.display())]
    TooLarge { path: PathBuf, max: u64 },
    #[error("invalid TOML at line {line} of {}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        /// toml's message with any quoted value cut out.
        message: String,
    },
    #[error(
        "unknown key {} at line {line} of {}{}",
        shown(key.as_deref()),
        path.display(),
        suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default()
    )]
    UnknownKey {
        path: PathBuf,
        /// Dotted for table keys: `mail.smtp_hots`; `None` when it does not
        /// look like a key and might be a secret pasted in the wrong place.
        key: Option<String>,
        line: usize,
        /// The accepted key nearest to it (a misspelling), dotted like `key`.
        suggestion: Option<String>,
    },
    /// A top-level key written after a table line: TOML reads it as a key
    /// of that table.
    #[error(
        "`{key}` belongs before `[{table}]`{}: at line {line} of {}, after that line, TOML reads \
         it as a key of [{table}]",
        table_line.map(|l| format!(" (line {l})")).unwrap_or_default(),
        path.display()
    )]
    Misplaced {
        path: PathBuf,
        key: String,
        line: usize,
        table: String,
        /// The line of the `[table]` header it follows.
        table_line: Option<usize>,
    },
    /// A key of `[mail]` or `[state]` written at the top level.
    #[error("`{key}` at line {line} of {} belongs in the [{table}] table", path.display())]
    OutsideTable {
        path: PathBuf,
        key: String,
        line: usize,
        table: &'static str,
    },
    /// A password file the configuration names (`password_file`,
    /// `state.password_file`) cannot be used: the error is the password
    /// file's, not the configuration file's.
    #[error("cannot use {key} {} (set in {})", file.display(), path.display())]
    PasswordFile {
        /// The configuration file.
        path: PathBuf,
        key: &'static str,
        /// The password file.
        file: PathBuf,
        #[source]
        problem: PasswordProblem,
    },
    /// Keys that still hold the example values of the shipped file.
    #[error(
        "{} still holds example values instead of your GLPI's: {}",
        path.display(),
        keys.join(", ")
    )]
    Placeholders {
        path: PathBuf,
        keys: Vec<&'static str>,
    },
    #[error("missing required key `{key}` in {}", path.display())]
    MissingKey { path: PathBuf, key: &'static str },
    #[error("invalid value for `{key}` {}: {reason}", location(*line, path))]
    InvalidValue {
        path: PathBuf,
        /// Dotted for table keys: `mail.smtp_port`.
        key: String,
        line: Option<usize>,
        /// What is wrong, never the value itself.
        reason: String,
    },
}

/// What is wrong with a password file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PasswordProblem {
    #[error("it does not exist")]
    Missing,
    #[error("it cannot be read")]
    Unreadable(#[source] io::Error),
    #[error("it is a directory, not a file")]
    Directory,
    #[error("it is not a regular file")]
    NotAFile,
    #[error("it is larger than {0} bytes, and holds only a password")]
    TooLarge(u64),
    #[error("it is not UTF-8 text")]
    NotText,
    #[error("its first line must hold the password (not empty, no control character)")]
    BadFirstLine,
}

/// An unknown key as shown: quoted, or withheld.
fn shown(key: Option<&str>) -> String {
    key.map_or_else(
        || {
            "(not shown: it does not look like a key and may be a token pasted in the wrong place)"
                .to_owned()
        },
        |k| format!("`{k}`"),
    )
}

/// "at line N of FILE", or "in FILE" when the line is unknown.
fn location(line: Option<usize>, path: &Path) -> String {
    match line {
        Some(line) => format!("at line {line} of {}", path.display()),
        None => format!("in {}", path.display()),
    }
}

impl ConfigError {
    /// The operator's next action, printed on its own `hint:` line.
    pub(crate) fn hint(&self) -> Option<String> {
        Some(match self {
            Self::Read { path, source } => match source.kind() {
                io::ErrorKind::NotFound => format!(
                    "create {} from the commented example {EXAMPLE_PATH}, or point --config or \
                     ESIA_GLPI_CONFIG at the file",
                    path.display()
                ),
                io::ErrorKind::PermissionDenied => format!(
                    "{} must be readable by the user the monitoring engine runs as: chgrp it to that user's group and chmod 0640",
                    path.display()
                ),
                io::ErrorKind::InvalidData => "the file must be UTF-8 text".to_owned(),
                _ => return None,
            },
            Self::NotAFile { .. } | Self::TooLarge { .. } => {
                "give --config (or ESIA_GLPI_CONFIG) the path of the configuration file, \
                 /etc/esia/glpi.conf by default"
                    .to_owned()
            }
            Self::Syntax { message, .. } if message == "duplicate key" => {
                "each key may appear only once; remove the repeated line".to_owned()
            }
            Self::Syntax { .. } => {
                "each line is key = value, with text values in double quotes, e.g. host = \"https://glpi.example.org/glpi\"".to_owned()
            }
            Self::Misplaced { key, table, .. } => format!(
                "move `{key}` above the first [table] line of the file (top-level keys first, \
                 then the tables); as it is, [{table}] has a `{key}` it does not know"
            ),
            Self::OutsideTable { key, table, .. } => format!(
                "move `{key}` after the [{table}] line (add that line at the end of the file if \
                 there is none); see {EXAMPLE_PATH}"
            ),
            Self::UnknownKey { .. } => {
                format!("check the spelling; {EXAMPLE_PATH} lists the accepted keys")
            }
            Self::PasswordFile {
                path,
                key,
                file,
                problem,
            } => password_hint(path, key, file, problem),
            Self::Placeholders { path, keys } => {
                let mut seen = Vec::new();
                for k in keys {
                    let w = super::placeholders::where_to_find(k);
                    if !seen.contains(&w) {
                        seen.push(w);
                    }
                }
                format!("edit {}: {}", path.display(), seen.join("; "))
            }
            Self::MissingKey { key, .. } => match *key {
                "app_token" => "add app_token = \"...\": the API client's token, in GLPI Setup > General > API (app_token = \"\" if the API client has none)".to_owned(),
                "user_token" => "add user_token = \"...\": the API user's token, in that user's preferences, Remote access keys (API token)".to_owned(),
                _ => format!("add {key} = \"...\"; see {EXAMPLE_PATH}"),
            },
            Self::InvalidValue { key, .. } => {
                format!("see {EXAMPLE_PATH} for the values `{key}` accepts")
            }
        })
    }
}

/// What to do about a password file: fix the file, or the key naming it.
fn password_hint(path: &Path, key: &str, file: &Path, problem: &PasswordProblem) -> String {
    let whose = if key.starts_with("state.") {
        "the state database user's password"
    } else {
        "the GLPI user's password"
    };
    let (file, config) = (file.display(), path.display());
    let fix_key = format!("or fix `{key}` in {config} (or give --config another file)");
    match problem {
        PasswordProblem::Missing => format!(
            "create {file} with {whose} on its first line, readable by the user the monitoring \
             engine runs as alone (chmod 0600, or 0640 with its group), {fix_key}"
        ),
        PasswordProblem::Unreadable(e) if e.kind() == io::ErrorKind::PermissionDenied => format!(
            "{file} must be readable by the user the monitoring engine runs as: chown it to \
             that user (or chgrp it to that user's group and chmod 0640)"
        ),
        PasswordProblem::Unreadable(_) => {
            format!("check {file} and the disk it is on, {fix_key}")
        }
        PasswordProblem::Directory | PasswordProblem::NotAFile => {
            format!("`{key}` must name a regular file holding {whose} on its first line: {fix_key}")
        }
        PasswordProblem::TooLarge(_) | PasswordProblem::NotText | PasswordProblem::BadFirstLine => {
            format!("write {whose}, alone, on the first line of {file}")
        }
    }
}
