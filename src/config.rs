//! The configuration file (SPEC "Configuration"): reading it, parsing the TOML
//! through a strict [`RawConfig`] (`deny_unknown_fields`), and validating it
//! into a [`Config`] whose every optional key has its default filled in.
//!
//! This module does no network I/O; [`load`] reads one file and looks at its
//! mode, [`parse`] is pure. It never prints a token: `app_token`, `user_token`
//! and `mail.smtp_password` are [`SecretString`]s (redacted `Debug`), and every
//! [`ConfigError`] message is built from toml's `message()` (sanitised: the
//! quoted value is cut out) plus a line number worked out from `span()` —
//! never from toml's own `Display`, which echoes the offending source line,
//! token included. The documented keys and defaults live in `conf/glpi.conf`,
//! which a unit test parses so the two cannot drift.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use toml::Spanned;

/// Where the configuration is read from when neither `--config` nor
/// `ESIA_GLPI_CONFIG` says otherwise (SPEC "Configuration").
pub(crate) const DEFAULT_PATH: &str = "/etc/esia/glpi.conf";

/// Title template used when `tpl_title` is absent (the Esia documentation's).
pub(crate) const DEFAULT_TPL_TITLE: &str = "( %node.group.name ) %node.name:%service.name";

/// Asset types linked when `asset_types` is absent.
pub(crate) const DEFAULT_ASSET_TYPES: [&str; 5] = [
    "Computer",
    "NetworkEquipment",
    "Printer",
    "Phone",
    "Peripheral",
];

/// Every asset type `asset_types` accepts (GLPI itemtypes that carry a name
/// and can be linked to a ticket).
pub(crate) const ALLOWED_ASSET_TYPES: [&str; 6] = [
    "Computer",
    "NetworkEquipment",
    "Printer",
    "Phone",
    "Peripheral",
    "Monitor",
];

/// Upper bound for the timeouts: larger values make no sense for a program
/// run once per alert, and keep `Instant + Duration` far from overflow.
const MAX_TIMEOUT_SECS: u64 = 86_400;
/// Upper bound for `cache_ttl` (one year).
const MAX_CACHE_TTL_SECS: u64 = 365 * 86_400;

/// A configuration file read and validated, plus what the operator should be
/// told about it (world-readable file, tokens sent in clear, ...). The caller
/// logs each warning once.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) config: Config,
    pub(crate) warnings: Vec<String>,
}

/// GLPI ticket type (`type` field of a Ticket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum TicketType {
    /// GLPI type 1.
    #[default]
    Incident,
    /// GLPI type 2.
    Request,
}

impl TicketType {
    /// The number GLPI expects in the ticket's `type` field.
    pub(crate) fn glpi_id(self) -> u8 {
        match self {
            Self::Incident => 1,
            Self::Request => 2,
        }
    }
}

/// Language of the texts written into tickets and mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lang {
    #[default]
    Fr,
    En,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SmtpSecurity {
    /// Plain SMTP (a local relay).
    None,
    /// Plain connection upgraded with STARTTLS (required, not opportunistic).
    #[default]
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// The validated configuration. `Debug` is safe to log: tokens are redacted.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// GLPI URL as written, trailing `/` removed; may end in `apirest.php`.
    pub(crate) host: String,
    /// `None` when the file says `app_token = ""`: no App-Token header is
    /// sent (GLPI API clients may be defined without one).
    pub(crate) app_token: Option<SecretString>,
    pub(crate) user_token: SecretString,
    /// Requester login; `None` (key absent or empty) = no requester.
    pub(crate) user_name: Option<String>,
    pub(crate) tpl_title: String,
    /// `None` = the built-in content.
    pub(crate) tpl_content: Option<String>,
    /// `entities_id`; `None` = the API user's active entity. 0 is the root entity.
    pub(crate) entity: Option<u64>,
    /// `itilcategories_id`; `None` = no category.
    pub(crate) category: Option<u64>,
    pub(crate) ticket_type: TicketType,
    /// 1..=5; `None` = derived from the priority, see [`Config::urgency_impact`].
    pub(crate) urgency: Option<u8>,
    /// 1..=5; `None` = derived from the priority, see [`Config::urgency_impact`].
    pub(crate) impact: Option<u8>,
    /// 1..=6, used when the event carries no `-L`.
    pub(crate) default_priority: u8,
    /// Whether a state change updates the priority of the open ticket.
    pub(crate) update_priority: bool,
    /// Canonical GLPI itemtypes, deduplicated, in the order written.
    pub(crate) asset_types: Vec<String>,
    pub(crate) state_dir: PathBuf,
    pub(crate) connect_timeout: Duration,
    /// Key `timeout`: one HTTP request.
    pub(crate) request_timeout: Duration,
    /// Total time budget of one run.
    pub(crate) run_timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) lock_timeout: Duration,
    pub(crate) cache_ttl: Duration,
    pub(crate) tls_verify: bool,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) lang: Lang,
    /// The `[mail]` table (`--mail`, `SEND_TICKET_GLPI_MAIL`); `None` when
    /// the file has none.
    pub(crate) mail: Option<MailConfig>,
}

/// The `[mail]` table.
#[derive(Debug, Clone)]
pub(crate) struct MailConfig {
    /// Sender address; mail cannot be sent without it.
    pub(crate) from: Option<String>,
    pub(crate) smtp_host: String,
    pub(crate) smtp_port: u16,
    pub(crate) smtp_security: SmtpSecurity,
    /// Set together with `smtp_password` (validated).
    pub(crate) smtp_user: Option<String>,
    pub(crate) smtp_password: Option<SecretString>,
    /// When set, mail goes through this program instead of SMTP.
    pub(crate) sendmail: Option<PathBuf>,
    pub(crate) tpl_mail_subject: Option<String>,
    pub(crate) tpl_mail_body: Option<String>,
}

impl Config {
    /// The REST API base URL, always ending in `/apirest.php/`.
    pub(crate) fn api_url(&self) -> String {
        let host = self.host.trim_end_matches('/');
        if host.ends_with("apirest.php") {
            format!("{host}/")
        } else {
            format!("{host}/apirest.php/")
        }
    }

    /// The web page of ticket `id`: `<glpi root>/front/ticket.form.php?id=N`,
    /// the root being `host` without a trailing `apirest.php`.
    pub(crate) fn ticket_url(&self, id: u64) -> String {
        let host = self.host.trim_end_matches('/');
        let root = host
            .strip_suffix("apirest.php")
            .unwrap_or(host)
            .trim_end_matches('/');
        format!("{root}/front/ticket.form.php?id={id}")
    }

    /// Urgency and impact sent with a ticket of priority `priority` (1..=6).
    ///
    /// The configured `urgency` / `impact` win; an unset one follows the
    /// priority: priority p → urgency = impact = min(p, 5), so GLPI's own
    /// matrix agrees with the priority we send (6 "major" has no urgency 6).
    pub(crate) fn urgency_impact(&self, priority: u8) -> (u8, u8) {
        let derived = priority.clamp(1, 5);
        (
            self.urgency.unwrap_or(derived),
            self.impact.unwrap_or(derived),
        )
    }
}

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
    #[error("invalid TOML at line {line} of {}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        /// toml's message with any quoted value cut out.
        message: String,
    },
    #[error("unknown key `{key}` at line {line} of {}", path.display())]
    UnknownKey {
        path: PathBuf,
        /// Dotted for table keys: `mail.smtp_hots`.
        key: String,
        line: usize,
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
                    "create {} from conf/glpi.conf, or point --config or ESIA_GLPI_CONFIG at the file",
                    path.display()
                ),
                io::ErrorKind::PermissionDenied => format!(
                    "{} must be readable by the user the monitoring engine runs as: chgrp it to that user's group and chmod 0640",
                    path.display()
                ),
                io::ErrorKind::InvalidData => "the file must be UTF-8 text".to_owned(),
                _ => return None,
            },
            Self::Syntax { message, .. } if message == "duplicate key" => {
                "each key may appear only once; remove the repeated line".to_owned()
            }
            Self::Syntax { .. } => {
                "each line is key = value, with text values in double quotes, e.g. host = \"https://glpi.example.org/glpi\"".to_owned()
            }
            Self::UnknownKey { .. } => {
                "check the spelling; see conf/glpi.conf for the accepted keys".to_owned()
            }
            Self::MissingKey { key, .. } => match *key {
                "app_token" => "add app_token = \"...\": the API client's token, in GLPI Setup > General > API (app_token = \"\" if the API client has none)".to_owned(),
                "user_token" => "add user_token = \"...\": the API user's token, in that user's preferences, Remote access keys (API token)".to_owned(),
                _ => format!("add {key} = \"...\"; see conf/glpi.conf"),
            },
            Self::InvalidValue { key, .. } => {
                format!("see conf/glpi.conf for the values `{key}` accepts")
            }
        })
    }
}

/// Reads and parses `path`, and checks its mode.
pub(crate) fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let config = parse(&text, path)?;
    let mut warnings = mode_warnings(path);
    warnings.extend(advisories(&config));
    Ok(Loaded { config, warnings })
}

/// SPEC: a world-readable file draws a warning (it holds both tokens).
#[cfg(unix)]
fn mode_warnings(path: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    let mode = meta.permissions().mode();
    let mut warnings = Vec::new();
    if mode & 0o004 != 0 {
        warnings.push(format!(
            "{} is readable by every user (mode {:04o}) and holds the GLPI tokens; chmod 0640 and a dedicated group are expected",
            path.display(),
            mode & 0o7777
        ));
    }
    if mode & 0o002 != 0 {
        warnings.push(format!(
            "{} is writable by every user (mode {:04o}): anyone can redirect the tokens to another server; chmod 0640 and a dedicated group are expected",
            path.display(),
            mode & 0o7777
        ));
    }
    warnings
}

#[cfg(not(unix))]
fn mode_warnings(_path: &Path) -> Vec<String> {
    Vec::new()
}

/// Settings that are valid but that the operator should know about.
pub(crate) fn advisories(config: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(rest) = strip_prefix_ignore_case(&config.host, "http://") {
        let authority = rest.split('/').next().unwrap_or_default();
        let authority = authority.rsplit('@').next().unwrap_or_default();
        let hostname = match authority.find(']') {
            Some(end) if authority.starts_with('[') => &authority[..=end],
            _ => authority.split(':').next().unwrap_or_default(),
        };
        let loopback = hostname.eq_ignore_ascii_case("localhost")
            || hostname == "[::1]"
            || hostname.starts_with("127.");
        if !loopback {
            warnings.push(
                "host uses http://: the GLPI tokens travel unencrypted; use https://".to_owned(),
            );
        }
    }
    if !config.tls_verify {
        warnings.push(
            "tls_verify = false: the GLPI server's certificate is not checked; prefer ca_file"
                .to_owned(),
        );
    }
    warnings
}

// ---------------------------------------------------------------------------
// Raw form: exactly what the file may contain.

/// Integers are read as `i64` and strings as `String` so that range and enum
/// checks give our own message (naming the accepted values) instead of
/// serde's, which quotes the value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    host: Option<Spanned<String>>,
    app_token: Option<Spanned<SecretString>>,
    user_token: Option<Spanned<SecretString>>,
    user_name: Option<String>,
    tpl_title: Option<Spanned<String>>,
    tpl_content: Option<Spanned<String>>,
    entity: Option<Spanned<i64>>,
    category: Option<Spanned<i64>>,
    ticket_type: Option<Spanned<String>>,
    urgency: Option<Spanned<i64>>,
    impact: Option<Spanned<i64>>,
    default_priority: Option<Spanned<i64>>,
    update_priority: Option<bool>,
    asset_types: Option<Vec<Spanned<String>>>,
    state_dir: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<i64>>,
    timeout: Option<Spanned<i64>>,
    run_timeout: Option<Spanned<i64>>,
    retries: Option<Spanned<i64>>,
    lock_timeout: Option<Spanned<i64>>,
    cache_ttl: Option<Spanned<i64>>,
    tls_verify: Option<bool>,
    ca_file: Option<Spanned<String>>,
    lang: Option<Spanned<String>>,
    mail: Option<RawMail>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    from: Option<Spanned<String>>,
    smtp_host: Option<Spanned<String>>,
    smtp_port: Option<Spanned<i64>>,
    smtp_security: Option<Spanned<String>>,
    smtp_user: Option<Spanned<String>>,
    smtp_password: Option<Spanned<SecretString>>,
    sendmail: Option<Spanned<String>>,
    tpl_mail_subject: Option<Spanned<String>>,
    tpl_mail_body: Option<Spanned<String>>,
}

/// Parses and validates the text of a configuration file. Pure: `path` only
/// names the file in errors.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let raw = deserialize(text, path)?;
    Validator { text, path }.config(raw)
}

fn deserialize(text: &str, path: &Path) -> Result<RawConfig, ConfigError> {
    let syntax = |e: &toml::de::Error| ConfigError::Syntax {
        path: path.to_owned(),
        line: line_of(text, e.span().map_or(text.len(), |s| s.start)),
        message: sanitize(e.message()),
    };
    let deserializer = toml::Deserializer::parse(text).map_err(|e| syntax(&e))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = key_of(e.path());
        let e = e.into_inner();
        let line = e.span().map(|s| line_of(text, s.start));
        let message = e.message();
        if let Some(unknown) = unknown_field(message) {
            // The path already ends with the unknown key when the tracker saw
            // it; otherwise add it to the enclosing table's path.
            let key = if key == unknown || key.ends_with(&format!(".{unknown}")) {
                key
            } else if key.is_empty() {
                unknown.to_owned()
            } else {
                format!("{key}.{unknown}")
            };
            return ConfigError::UnknownKey {
                path: path.to_owned(),
                key,
                line: line.unwrap_or(1),
            };
        }
        if key.is_empty() {
            return syntax(&e);
        }
        ConfigError::InvalidValue {
            path: path.to_owned(),
            key,
            line,
            reason: sanitize(message),
        }
    })
}

/// 1-based line of byte offset `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].split(|&b| b == b'\n').count()
}

/// The dotted key of a deserialisation path, without the array indices and
/// the private segments `toml::Spanned` adds.
fn key_of(path: &serde_path_to_error::Path) -> String {
    let mut key = String::new();
    for segment in path {
        if let serde_path_to_error::Segment::Map { key: k } = segment {
            if k.starts_with("$__") {
                continue;
            }
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(k);
        }
    }
    key
}

/// The key of serde's "unknown field `KEY`, expected ..." message.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    let end = rest.find("`, expected").or_else(|| rest.rfind('`'))?;
    Some(&rest[..end])
}

/// toml and serde messages may quote the offending value (`invalid type:
/// string "…", expected u16`, `unknown variant `…``, `integer `123``), which
/// can be a token. The part after the last ", expected " only lists what the
/// file may contain; in the part before it, everything from the first quote
/// on is dropped.
fn sanitize(message: &str) -> String {
    let (head, tail) = match message.rfind(", expected ") {
        Some(at) => message.split_at(at),
        None => (message, ""),
    };
    let head = head
        .find(['"', '`', '\''])
        .map_or(head, |at| &head[..at])
        .trim_end_matches([' ', ':']);
    let head = if head.is_empty() {
        "invalid value"
    } else {
        head
    };
    // Say what the file should contain in its own words, not Rust's.
    let tail = match tail {
        ", expected i64" => ", expected a whole number",
        ", expected struct RawMail" => ", expected a [mail] table",
        ", expected a sequence" => ", expected a list such as [\"a\", \"b\"]",
        ", expected a boolean" => ", expected true or false",
        ", expected a string" => ", expected a text in double quotes",
        other => other,
    };
    // A message is one line in our output.
    format!("{head}{tail}").replace(['\n', '\r'], " ")
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

// ---------------------------------------------------------------------------
// Validation: RawConfig → Config.

struct Validator<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Validator<'_> {
    fn invalid<T>(&self, key: &str, span: &Spanned<T>, reason: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            path: self.path.to_owned(),
            key: key.to_owned(),
            line: Some(line_of(self.text, span.span().start)),
            reason: reason.into(),
        }
    }

    fn missing(&self, key: &'static str) -> ConfigError {
        ConfigError::MissingKey {
            path: self.path.to_owned(),
            key,
        }
    }

    fn config(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let host = raw.host.ok_or_else(|| self.missing("host"))?;
        let app_token = raw.app_token.ok_or_else(|| self.missing("app_token"))?;
        let user_token = raw.user_token.ok_or_else(|| self.missing("user_token"))?;

        let host = self.host(&host)?;
        // SPEC says app_token is required; an empty one is accepted and means
        // "no App-Token header", for GLPI API clients defined without a token.
        self.check_token("app_token", &app_token, true)?;
        let app_token = Some(app_token.into_inner()).filter(|t| !t.expose_secret().is_empty());
        self.check_token("user_token", &user_token, false)?;
        let user_token = user_token.into_inner();

        let tpl_title = match raw.tpl_title {
            None => DEFAULT_TPL_TITLE.to_owned(),
            Some(t) => self.non_empty("tpl_title", t, "a ticket needs a title")?,
        };
        let tpl_content = raw
            .tpl_content
            .map(|t| {
                self.non_empty(
                    "tpl_content",
                    t,
                    "remove the key to use the built-in content",
                )
            })
            .transpose()?;

        let ticket_type = match raw.ticket_type {
            None => TicketType::default(),
            Some(t) => self.choice(
                "ticket_type",
                &t,
                &[
                    ("incident", TicketType::Incident),
                    ("request", TicketType::Request),
                ],
            )?,
        };
        let lang = match raw.lang {
            None => Lang::default(),
            Some(l) => self.choice("lang", &l, &[("fr", Lang::Fr), ("en", Lang::En)])?,
        };

        let state_dir = match raw.state_dir {
            None => PathBuf::from("/var/lib/esia-glpi"),
            Some(s) => {
                let dir = PathBuf::from(s.get_ref());
                if !dir.is_absolute() {
                    return Err(self.invalid(
                        "state_dir",
                        &s,
                        "must be an absolute path (the monitoring engine's working directory is unknown)",
                    ));
                }
                dir
            }
        };
        let ca_file = raw
            .ca_file
            .map(|c| self.non_empty("ca_file", c, "give the path of a PEM file"))
            .transpose()?
            .map(PathBuf::from);

        Ok(Config {
            host,
            app_token,
            user_token,
            user_name: raw.user_name.filter(|u| !u.is_empty()),
            tpl_title,
            tpl_content,
            entity: self.int_opt("entity", raw.entity, 0, i64::MAX)?,
            category: self.int_opt("category", raw.category, 1, i64::MAX)?,
            ticket_type,
            urgency: self.int_opt("urgency", raw.urgency, 1, 5)?,
            impact: self.int_opt("impact", raw.impact, 1, 5)?,
            default_priority: self.int_or("default_priority", raw.default_priority, 1, 6, 3)?,
            update_priority: raw.update_priority.unwrap_or(true),
            asset_types: self.asset_types(raw.asset_types)?,
            state_dir,
            connect_timeout: self.secs(
                "connect_timeout",
                raw.connect_timeout,
                5,
                MAX_TIMEOUT_SECS,
            )?,
            request_timeout: self.secs("timeout", raw.timeout, 15, MAX_TIMEOUT_SECS)?,
            run_timeout: self.secs("run_timeout", raw.run_timeout, 30, MAX_TIMEOUT_SECS)?,
            retries: self.int_or("retries", raw.retries, 0, 10, 2)?,
            lock_timeout: self.secs("lock_timeout", raw.lock_timeout, 10, MAX_TIMEOUT_SECS)?,
            cache_ttl: self.secs("cache_ttl", raw.cache_ttl, 3600, MAX_CACHE_TTL_SECS)?,
            tls_verify: raw.tls_verify.unwrap_or(true),
            ca_file,
            lang,
            mail: raw.mail.map(|m| self.mail(m)).transpose()?,
        })
    }

    fn host(&self, host: &Spanned<String>) -> Result<String, ConfigError> {
        let value = host.get_ref().trim_end_matches('/');
        let rest = strip_prefix_ignore_case(value, "https://")
            .or_else(|| strip_prefix_ignore_case(value, "http://"))
            .ok_or_else(|| {
                self.invalid(
                    "host",
                    host,
                    "must start with https:// or http://, e.g. https://glpi.example.org/glpi",
                )
            })?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(self.invalid("host", host, "names no server"));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(self.invalid("host", host, "contains spaces or control characters"));
        }
        if value.contains(['?', '#']) {
            return Err(self.invalid(
                "host",
                host,
                "must be the GLPI base URL, without ? or # parts",
            ));
        }
        Ok(value.to_owned())
    }

    /// A token goes into an HTTP header: no spaces, no control characters.
    /// The reasons never quote the value.
    fn check_token(
        &self,
        key: &str,
        token: &Spanned<SecretString>,
        may_be_empty: bool,
    ) -> Result<(), ConfigError> {
        let value = token.get_ref().expose_secret();
        if value.is_empty() && !may_be_empty {
            return Err(self.invalid(key, token, "must not be empty"));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(self.invalid(
                key,
                token,
                "contains spaces or control characters (copy the token again)",
            ));
        }
        Ok(())
    }

    fn non_empty(
        &self,
        key: &str,
        value: Spanned<String>,
        why: &str,
    ) -> Result<String, ConfigError> {
        if value.get_ref().trim().is_empty() {
            return Err(self.invalid(key, &value, format!("must not be empty ({why})")));
        }
        Ok(value.into_inner())
    }

    fn choice<T: Copy>(
        &self,
        key: &str,
        value: &Spanned<String>,
        choices: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let written = value.get_ref().trim();
        choices
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(written))
            .map(|&(_, v)| v)
            .ok_or_else(|| {
                let names: Vec<String> = choices
                    .iter()
                    .map(|(name, _)| format!("\"{name}\""))
                    .collect();
                self.invalid(key, value, format!("must be one of {}", names.join(", ")))
            })
    }

    fn int_opt<T: TryFrom<i64>>(
        &self,
        key: &str,
        value: Option<Spanned<i64>>,
        min: i64,
        max: i64,
    ) -> Result<Option<T>, ConfigError> {
        let Some(value) = value else {
            return Ok(None);
        };
        let n = *value.get_ref();
        if n < min || n > max {
            let reason = if max == i64::MAX {
                format!("must be {min} or more")
            } else {
                format!("must be between {min} and {max}")
            };
            return Err(self.invalid(key, &value, reason));
        }
        T::try_from(n)
            .map(Some)
            .map_err(|_| self.invalid(key, &value, "is too large"))
    }

    fn int_or<T: TryFrom<i64>>(
        &self,
        key: &str,
        value: Option<Spanned<i64>>,
        min: i64,
        max: i64,
        default: T,
    ) -> Result<T, ConfigError> {
        Ok(self.int_opt(key, value, min, max)?.unwrap_or(default))
    }

    /// Whole seconds, at least 1.
    fn secs(
        &self,
        key: &str,
        value: Option<Spanned<i64>>,
        default: u64,
        max: u64,
    ) -> Result<Duration, ConfigError> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let secs: u64 = self.int_or(key, value, 1, max, default)?;
        Ok(Duration::from_secs(secs))
    }

    fn asset_types(&self, value: Option<Vec<Spanned<String>>>) -> Result<Vec<String>, ConfigError> {
        let Some(value) = value else {
            return Ok(DEFAULT_ASSET_TYPES.iter().map(|&t| t.to_owned()).collect());
        };
        let mut types: Vec<String> = Vec::with_capacity(value.len());
        for item in &value {
            let canonical = ALLOWED_ASSET_TYPES
                .iter()
                .find(|t| t.eq_ignore_ascii_case(item.get_ref().trim()))
                .ok_or_else(|| {
                    self.invalid(
                        "asset_types",
                        item,
                        format!("accepted types are {}", ALLOWED_ASSET_TYPES.join(", ")),
                    )
                })?;
            if !types.iter().any(|t| t == canonical) {
                types.push((*canonical).to_owned());
            }
        }
        Ok(types)
    }

    fn mail(&self, raw: RawMail) -> Result<MailConfig, ConfigError> {
        let from = raw
            .from
            .filter(|f| !f.get_ref().trim().is_empty())
            .map(|f| {
                if f.get_ref().contains('@') {
                    Ok(f.into_inner())
                } else {
                    Err(self.invalid("mail.from", &f, "must be an e-mail address"))
                }
            })
            .transpose()?;
        let smtp_host = match raw.smtp_host {
            None => "localhost".to_owned(),
            Some(h) => self.non_empty("mail.smtp_host", h, "name the SMTP relay")?,
        };
        let smtp_security = match raw.smtp_security {
            None => SmtpSecurity::default(),
            Some(s) => self.choice(
                "mail.smtp_security",
                &s,
                &[
                    ("none", SmtpSecurity::None),
                    ("starttls", SmtpSecurity::StartTls),
                    ("tls", SmtpSecurity::Tls),
                ],
            )?,
        };
        let smtp_user = raw.smtp_user.filter(|u| !u.get_ref().is_empty());
        let smtp_password = raw
            .smtp_password
            .filter(|p| !p.get_ref().expose_secret().is_empty());
        match (&smtp_user, &smtp_password) {
            (Some(user), None) => {
                return Err(self.invalid("mail.smtp_user", user, "smtp_password must be set too"));
            }
            (None, Some(password)) => {
                return Err(self.invalid(
                    "mail.smtp_password",
                    password,
                    "smtp_user must be set too",
                ));
            }
            _ => {}
        }
        let sendmail = raw
            .sendmail
            .map(|s| self.non_empty("mail.sendmail", s, "remove the key to send through SMTP"))
            .transpose()?
            .map(PathBuf::from);
        let template = |key: &str, t: Option<Spanned<String>>| {
            t.map(|t| self.non_empty(key, t, "remove the key to use the built-in text"))
                .transpose()
        };
        Ok(MailConfig {
            from,
            smtp_host,
            smtp_port: self.int_or("mail.smtp_port", raw.smtp_port, 1, 65_535, 25)?,
            smtp_security,
            smtp_user: smtp_user.map(Spanned::into_inner),
            smtp_password: smtp_password.map(Spanned::into_inner),
            sendmail,
            tpl_mail_subject: template("mail.tpl_mail_subject", raw.tpl_mail_subject)?,
            tpl_mail_body: template("mail.tpl_mail_body", raw.tpl_mail_body)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const ESIA_DOC: &str = include_str!("../tests/data/config/esia-doc.conf");
    const SHIPPED: &str = include_str!("../conf/glpi.conf");
    const APP: &str = "vrFkHRcPTYt4Dt79zD78oPuiGKRYlAJGqsYr9kjv";
    const USER: &str = "YjJC9qCUHSK8JKY1BSsJ2wDfg8IgBid1c1okKsrM";
    const MINIMAL: &str =
        "host = \"https://glpi.example.org/glpi\"\napp_token = \"A1\"\nuser_token = \"U1\"\n";

    fn p(text: &str) -> Result<Config, ConfigError> {
        parse(text, Path::new("/etc/esia/glpi.conf"))
    }

    fn ok(text: &str) -> Config {
        match p(text) {
            Ok(config) => config,
            Err(e) => panic!("{e} ({e:?})"),
        }
    }

    fn err(text: &str) -> ConfigError {
        match p(text) {
            Ok(config) => panic!("parsed: {config:?}"),
            Err(e) => e,
        }
    }

    fn with(extra: &str) -> String {
        format!("{MINIMAL}{extra}\n")
    }

    fn host(h: &str) -> Config {
        ok(&format!(
            "host = \"{h}\"\napp_token = \"A\"\nuser_token = \"U\"\n"
        ))
    }

    #[track_caller]
    fn assert_invalid(text: &str, want_key: &str, want_line: usize) {
        match err(text) {
            ConfigError::InvalidValue { key, line, .. } => {
                assert_eq!((key.as_str(), line), (want_key, Some(want_line)), "{text}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }

    #[track_caller]
    fn assert_no_leak(text: &str, secret: &str) -> ConfigError {
        let e = err(text);
        let shown = format!("{e} | {e:?} | {}", e.hint().unwrap_or_default());
        assert!(!shown.contains(secret), "{shown}");
        e
    }

    #[test]
    fn the_esia_documented_file_parses_unchanged() {
        let c = ok(ESIA_DOC);
        assert_eq!(c.host, "https://monserveurglpi.com/glpi");
        assert_eq!(
            c.app_token.as_ref().map(ExposeSecret::expose_secret),
            Some(APP)
        );
        assert_eq!(c.user_token.expose_secret(), USER);
        assert_eq!(c.user_name.as_deref(), Some("esia"));
        assert_eq!(c.tpl_title, DEFAULT_TPL_TITLE);
        assert_eq!(c.api_url(), "https://monserveurglpi.com/glpi/apirest.php/");
    }

    #[test]
    fn every_default() {
        let c = ok(MINIMAL);
        assert_eq!(c.user_name, None);
        assert_eq!(c.tpl_title, "( %node.group.name ) %node.name:%service.name");
        assert_eq!(c.tpl_content, None);
        assert_eq!(c.entity, None);
        assert_eq!(c.category, None);
        assert_eq!(c.ticket_type, TicketType::Incident);
        assert_eq!(c.ticket_type.glpi_id(), 1);
        assert_eq!((c.urgency, c.impact), (None, None));
        assert_eq!(c.default_priority, 3);
        assert!(c.update_priority);
        assert_eq!(
            c.asset_types,
            [
                "Computer",
                "NetworkEquipment",
                "Printer",
                "Phone",
                "Peripheral"
            ]
        );
        assert_eq!(c.state_dir, Path::new("/var/lib/esia-glpi"));
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.request_timeout, Duration::from_secs(15));
        assert_eq!(c.run_timeout, Duration::from_secs(30));
        assert_eq!(c.retries, 2);
        assert_eq!(c.lock_timeout, Duration::from_secs(10));
        assert_eq!(c.cache_ttl, Duration::from_hours(1));
        assert!(c.tls_verify);
        assert_eq!(c.ca_file, None);
        assert_eq!(c.lang, Lang::Fr);
        assert!(c.mail.is_none());

        let m = ok(&with("[mail]")).mail.expect("empty [mail] table");
        assert_eq!(m.from, None);
        assert_eq!(m.smtp_host, "localhost");
        assert_eq!(m.smtp_port, 25);
        assert_eq!(m.smtp_security, SmtpSecurity::StartTls);
        assert_eq!(m.smtp_user, None);
        assert!(m.smtp_password.is_none());
        assert_eq!(m.sendmail, None);
        assert_eq!(m.tpl_mail_subject, None);
        assert_eq!(m.tpl_mail_body, None);
    }

    #[test]
    fn every_key_set() {
        let c = ok(&with(
            r#"user_name = "esia"
tpl_title = "%node.name"
tpl_content = "<p>%service.output</p>"
entity = 0
category = 12
ticket_type = "Request"
urgency = 4
impact = 2
default_priority = 6
update_priority = false
asset_types = ["computer", "Monitor", "Computer"]
state_dir = "/srv/esia-glpi"
connect_timeout = 1
timeout = 2
run_timeout = 3
retries = 0
lock_timeout = 4
cache_ttl = 60
tls_verify = false
ca_file = "/etc/ssl/ca.pem"
lang = "en"
[mail]
from = "esia@example.org"
smtp_host = "smtp.example.org"
smtp_port = 465
smtp_security = "tls"
smtp_user = "esia"
smtp_password = "pw"
sendmail = "/usr/sbin/sendmail"
tpl_mail_subject = "s"
tpl_mail_body = "b""#,
        ));
        assert_eq!(c.tpl_content.as_deref(), Some("<p>%service.output</p>"));
        assert_eq!((c.entity, c.category), (Some(0), Some(12)));
        assert_eq!(c.ticket_type, TicketType::Request);
        assert_eq!(c.ticket_type.glpi_id(), 2);
        assert_eq!(
            (c.urgency, c.impact, c.default_priority),
            (Some(4), Some(2), 6)
        );
        assert!(!c.update_priority);
        assert_eq!(c.asset_types, ["Computer", "Monitor"]);
        assert_eq!(c.state_dir, Path::new("/srv/esia-glpi"));
        assert_eq!(
            [
                c.connect_timeout,
                c.request_timeout,
                c.run_timeout,
                c.lock_timeout,
                c.cache_ttl
            ],
            [1, 2, 3, 4, 60].map(Duration::from_secs)
        );
        assert_eq!(c.retries, 0);
        assert!(!c.tls_verify);
        assert_eq!(c.ca_file.as_deref(), Some(Path::new("/etc/ssl/ca.pem")));
        assert_eq!(c.lang, Lang::En);
        let m = c.mail.expect("mail");
        assert_eq!(m.from.as_deref(), Some("esia@example.org"));
        assert_eq!(
            (m.smtp_host.as_str(), m.smtp_port),
            ("smtp.example.org", 465)
        );
        assert_eq!(m.smtp_security, SmtpSecurity::Tls);
        assert_eq!(m.smtp_user.as_deref(), Some("esia"));
        assert_eq!(
            m.smtp_password.as_ref().map(ExposeSecret::expose_secret),
            Some("pw")
        );
        assert_eq!(m.sendmail.as_deref(), Some(Path::new("/usr/sbin/sendmail")));
        assert_eq!(m.tpl_mail_subject.as_deref(), Some("s"));
        assert_eq!(m.tpl_mail_body.as_deref(), Some("b"));
    }

    #[test]
    fn shipped_conf_parses_and_shows_the_defaults() {
        let c = ok(SHIPPED);
        assert_eq!(c.host, "https://monserveurglpi.com/glpi");
        assert_eq!(c.user_name.as_deref(), Some("esia"));
        assert_eq!(c.tpl_title, DEFAULT_TPL_TITLE);
        // Uncommenting every optional key must still give a valid file.
        let uncommented: String = SHIPPED
            .lines()
            .map(|line| {
                let rest = line.strip_prefix("# ").unwrap_or(line);
                let is_key = rest == "[mail]"
                    || rest.split_once(" = ").is_some_and(|(k, _)| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    });
                if is_key { rest } else { line }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(uncommented.contains("\n[mail]\n"), "{uncommented}");
        let all = ok(&uncommented);
        assert!(all.mail.is_some());
        // The values shown for keys with a default are those defaults.
        let d = ok(MINIMAL);
        assert_eq!(all.ticket_type, d.ticket_type);
        assert_eq!(all.default_priority, d.default_priority);
        assert_eq!(all.update_priority, d.update_priority);
        assert_eq!(all.asset_types, d.asset_types);
        assert_eq!(all.state_dir, d.state_dir);
        assert_eq!(
            [
                all.connect_timeout,
                all.request_timeout,
                all.run_timeout,
                all.lock_timeout,
                all.cache_ttl
            ],
            [
                d.connect_timeout,
                d.request_timeout,
                d.run_timeout,
                d.lock_timeout,
                d.cache_ttl
            ]
        );
        assert_eq!(all.retries, d.retries);
        assert_eq!(all.tls_verify, d.tls_verify);
        assert_eq!(all.lang, d.lang);
        let m = all.mail.expect("mail");
        assert_eq!((m.smtp_host.as_str(), m.smtp_port), ("localhost", 25));
        assert_eq!(m.smtp_security, SmtpSecurity::StartTls);
    }

    #[test]
    fn api_and_ticket_urls_for_every_host_form() {
        for (written, api, ticket) in [
            (
                "https://glpi.example.org/glpi",
                "https://glpi.example.org/glpi/apirest.php/",
                "https://glpi.example.org/glpi/front/ticket.form.php?id=42",
            ),
            (
                "https://glpi.example.org/glpi/",
                "https://glpi.example.org/glpi/apirest.php/",
                "https://glpi.example.org/glpi/front/ticket.form.php?id=42",
            ),
            (
                "https://glpi.example.org/glpi/apirest.php",
                "https://glpi.example.org/glpi/apirest.php/",
                "https://glpi.example.org/glpi/front/ticket.form.php?id=42",
            ),
            (
                "https://glpi.example.org/glpi/apirest.php/",
                "https://glpi.example.org/glpi/apirest.php/",
                "https://glpi.example.org/glpi/front/ticket.form.php?id=42",
            ),
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/apirest.php/",
                "http://127.0.0.1:8080/front/ticket.form.php?id=42",
            ),
            (
                "http://127.0.0.1:8080/apirest.php/",
                "http://127.0.0.1:8080/apirest.php/",
                "http://127.0.0.1:8080/front/ticket.form.php?id=42",
            ),
        ] {
            let c = host(written);
            assert_eq!(c.host, written.trim_end_matches('/'));
            assert_eq!(c.api_url(), api, "{written}");
            assert_eq!(c.ticket_url(42), ticket, "{written}");
        }
    }

    #[test]
    fn urgency_and_impact_follow_the_priority_unless_set() {
        let c = ok(MINIMAL);
        let table: Vec<_> = (1..=6).map(|p| c.urgency_impact(p)).collect();
        assert_eq!(table, [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (5, 5)]);
        let c = ok(&with("urgency = 2"));
        assert_eq!(c.urgency_impact(4), (2, 4));
    }

    #[test]
    fn empty_app_token_means_no_header_and_empty_user_name_no_requester() {
        let c = ok(
            "host = \"https://g/glpi\"\napp_token = \"\"\nuser_token = \"U\"\nuser_name = \"\"\n",
        );
        assert!(c.app_token.is_none());
        assert_eq!(c.user_name, None);
    }

    #[test]
    fn unknown_key_names_the_key_and_the_line() {
        let e = parse(
            include_str!("../tests/data/config/unknown-key.conf"),
            Path::new("unknown-key.conf"),
        )
        .expect_err("unknown key");
        assert!(
            matches!(&e, ConfigError::UnknownKey { key, line: 5, .. } if key == "user_nmae"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "unknown key `user_nmae` at line 5 of unknown-key.conf"
        );
        assert!(e.hint().is_some_and(|h| h.contains("conf/glpi.conf")));

        let e = err(&with("[mail]\nfrom = \"a@b\"\nsmtp_hots = \"x\""));
        assert!(
            matches!(&e, ConfigError::UnknownKey { key, line: 6, .. } if key == "mail.smtp_hots"),
            "{e:?}"
        );
    }

    #[test]
    fn missing_required_keys() {
        for (key, text) in [
            ("host", "app_token = \"A\"\nuser_token = \"U\"\n"),
            ("app_token", "host = \"https://g\"\nuser_token = \"U\"\n"),
            ("user_token", "host = \"https://g\"\napp_token = \"A\"\n"),
            ("host", ""),
        ] {
            match err(text) {
                ConfigError::MissingKey { key: k, .. } => assert_eq!(k, key, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        let e = parse(
            include_str!("../tests/data/config/missing-token.conf"),
            Path::new("missing-token.conf"),
        )
        .expect_err("missing user_token");
        assert_eq!(
            e.to_string(),
            "missing required key `user_token` in missing-token.conf"
        );
        assert!(e.hint().is_some_and(|h| h.contains("Remote access keys")));
    }

    #[test]
    fn bad_values_name_the_key_and_line() {
        assert_invalid(&with("default_priority = 7"), "default_priority", 4);
        assert_invalid(&with("default_priority = 0"), "default_priority", 4);
        assert_invalid(&with("urgency = 6"), "urgency", 4);
        assert_invalid(&with("impact = -1"), "impact", 4);
        assert_invalid(&with("ticket_type = \"foo\""), "ticket_type", 4);
        assert_invalid(&with("lang = \"de\""), "lang", 4);
        assert_invalid(
            &with("asset_types = [\"Computer\",\n\"Toaster\"]"),
            "asset_types",
            5,
        );
        assert_invalid(&with("timeout = 0"), "timeout", 4);
        assert_invalid(&with("connect_timeout = -5"), "connect_timeout", 4);
        assert_invalid(&with("run_timeout = 99999999999"), "run_timeout", 4);
        assert_invalid(&with("cache_ttl = 0"), "cache_ttl", 4);
        assert_invalid(&with("retries = -1"), "retries", 4);
        assert_invalid(&with("category = 0"), "category", 4);
        assert_invalid(&with("state_dir = \"relative/dir\""), "state_dir", 4);
        assert_invalid(&with("timeout = \"15\""), "timeout", 4);
        assert_invalid(&with("timeout = 1.5"), "timeout", 4);
        assert_invalid(&with("update_priority = \"yes\""), "update_priority", 4);
        assert_invalid(&with("tpl_title = \"\""), "tpl_title", 4);
        assert_invalid(&with("[mail]\nsmtp_port = 0"), "mail.smtp_port", 5);
        assert_invalid(&with("[mail]\nsmtp_port = 70000"), "mail.smtp_port", 5);
        assert_invalid(
            &with("[mail]\nsmtp_security = \"ssl\""),
            "mail.smtp_security",
            5,
        );
        assert_invalid(&with("[mail]\nfrom = \"nobody\""), "mail.from", 5);
        assert_invalid(&with("[mail]\nsmtp_user = \"u\""), "mail.smtp_user", 5);
        assert_invalid(
            &with("[mail]\nsmtp_password = \"p\""),
            "mail.smtp_password",
            5,
        );
        assert_invalid(
            "host = \"ftp://x\"\napp_token = \"A\"\nuser_token = \"U\"",
            "host",
            1,
        );
        assert_invalid(
            "host = \"https://\"\napp_token = \"A\"\nuser_token = \"U\"",
            "host",
            1,
        );
        assert_invalid(
            "host = \"glpi.example.org\"\napp_token = \"A\"\nuser_token = \"U\"",
            "host",
            1,
        );
        assert_invalid(
            "host = \"https://g\"\napp_token = \"A\"\nuser_token = \"\"",
            "user_token",
            3,
        );

        let e = err(&with("ticket_type = \"foo\""));
        assert_eq!(
            e.to_string(),
            "invalid value for `ticket_type` at line 4 of /etc/esia/glpi.conf: must be one of \"incident\", \"request\""
        );
        let e = err(&with("asset_types = [\"Toaster\"]"));
        assert!(e.to_string().contains("Monitor"), "{e}");
        assert!(e.hint().is_some_and(|h| h.contains("asset_types")));
    }

    #[test]
    fn syntax_errors_name_the_line_and_never_echo_it() {
        let e = parse(
            include_str!("../tests/data/config/malformed.conf"),
            Path::new("malformed.conf"),
        )
        .expect_err("malformed");
        assert!(matches!(e, ConfigError::Syntax { line: 3, .. }), "{e:?}");
        let shown = format!("{e} {e:?}");
        assert!(
            !shown.contains("YjJC9qCUHSK8JKY1BSsJ2wDfg8IgBid1c1okKsrM"),
            "{shown}"
        );
        assert!(
            e.to_string()
                .starts_with("invalid TOML at line 3 of malformed.conf: "),
            "{e}"
        );

        let e = err(
            "host = \"https://g\"\nhost = \"https://h\"\napp_token = \"A\"\nuser_token = \"U\"",
        );
        assert!(matches!(e, ConfigError::Syntax { line: 2, .. }), "{e:?}");
    }

    #[test]
    fn no_error_ever_shows_a_token_value() {
        const S: &str = "SECRETVALUE";
        let head = "host = \"https://g\"\napp_token = \"A\"\n";
        for (text, want_line) in [
            (format!("{head}user_token=\"{S}"), 3),
            (format!("{head}user_token = '{S}\n"), 3),
            (format!("{head}user_token = \"\"\"{S}"), 3),
            (format!("{head}user_token = {S}"), 3),
            (format!("{head}user_token = \"a\" {S}"), 3),
            (format!("{head}user_token = \"{S}\\q\""), 3),
            (
                format!("{head}user_token = \"{S}\"\nuser_token = \"{S}\""),
                4,
            ),
        ] {
            let e = assert_no_leak(&text, S);
            assert!(
                matches!(e, ConfigError::Syntax { line, .. } if line == want_line),
                "{text}: {e:?}"
            );
        }
        for (text, key) in [
            (
                "host = \"https://g\"\napp_token = \"A\"\nuser_token = 123".to_owned(),
                "user_token",
            ),
            (
                "host = \"https://g\"\nuser_token = \"U\"\napp_token = [\"SECRETVALUE\"]"
                    .to_owned(),
                "app_token",
            ),
            (
                format!("{MINIMAL}default_priority = \"{S}\""),
                "default_priority",
            ),
            (format!("{MINIMAL}tls_verify = \"{S}\""), "tls_verify"),
            (format!("{MINIMAL}ticket_type = \"{S}\""), "ticket_type"),
            (format!("{MINIMAL}mail = \"{S}\""), "mail"),
            (
                format!("{MINIMAL}[mail]\nsmtp_password = 12345"),
                "mail.smtp_password",
            ),
            (
                format!("{MINIMAL}[mail]\nsmtp_port = \"{S}\""),
                "mail.smtp_port",
            ),
            (format!("{MINIMAL}asset_types = [\"{S}\"]"), "asset_types"),
            (
                format!("host = \"https://g\"\napp_token = \"{S} x\"\nuser_token = \"U\""),
                "app_token",
            ),
        ] {
            let e = assert_no_leak(&text, if key == "user_token" { "123" } else { S });
            assert!(
                matches!(&e, ConfigError::InvalidValue { key: k, line: Some(_), .. } if k == key),
                "{text}: {e:?}"
            );
        }
        let e = err("host = \"https://g\"\napp_token = \"A\"\nuser_token = 123");
        assert_eq!(
            e.to_string(),
            "invalid value for `user_token` at line 3 of /etc/esia/glpi.conf: invalid type: integer, expected a text in double quotes"
        );
    }

    #[test]
    fn debug_of_the_config_shows_no_token() {
        let c = ok(&format!(
            "{ESIA_DOC}[mail]\nsmtp_user = \"u\"\nsmtp_password = \"MAILSECRET\"\n"
        ));
        let shown = format!("{c:?} {c:#?}");
        for secret in [APP, USER, "MAILSECRET"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("REDACTED"));
    }

    #[test]
    fn sanitize_cuts_quoted_values_only() {
        assert_eq!(
            sanitize("invalid type: string \"tok\", expected u16"),
            "invalid type: string, expected u16"
        );
        assert_eq!(
            sanitize("unknown variant `a, expected b`, expected `x` or `y`"),
            "unknown variant, expected `x` or `y`"
        );
        assert_eq!(
            sanitize("invalid basic string, expected `\"`"),
            "invalid basic string, expected `\"`"
        );
        assert_eq!(sanitize("duplicate key"), "duplicate key");
        assert_eq!(sanitize("`x`"), "invalid value");
    }

    #[test]
    fn hints_say_what_to_do_next() {
        let read = |kind| ConfigError::Read {
            path: PathBuf::from("/etc/esia/glpi.conf"),
            source: io::Error::from(kind),
        };
        let e = read(io::ErrorKind::NotFound);
        assert_eq!(
            e.to_string(),
            "cannot read configuration file /etc/esia/glpi.conf"
        );
        assert!(e.hint().is_some_and(|h| h.contains("ESIA_GLPI_CONFIG")));
        assert!(
            read(io::ErrorKind::PermissionDenied)
                .hint()
                .is_some_and(|h| h.contains("0640"))
        );
        assert!(err("").hint().is_some());
        assert!(err("x = ").hint().is_some());
    }

    #[test]
    fn advisories_for_clear_text_and_unchecked_tls() {
        assert!(advisories(&ok(MINIMAL)).is_empty());
        for local in [
            "http://127.0.0.1:8080",
            "http://localhost/glpi",
            "http://[::1]:80",
        ] {
            assert!(advisories(&host(local)).is_empty(), "{local}");
        }
        let w = advisories(&host("http://glpi.example.org/glpi"));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("http://"));
        assert_eq!(advisories(&ok(&with("tls_verify = false"))).len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn load_reads_the_file_and_warns_when_world_readable() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("glpi.conf");
        std::fs::write(&path, ESIA_DOC).expect("write");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let loaded = load(&path).expect("load 0644");
        assert_eq!(loaded.config.user_name.as_deref(), Some("esia"));
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(
            loaded.warnings[0].contains("readable by every user")
                && loaded.warnings[0].contains("chmod 0640 and a dedicated group are expected"),
            "{:?}",
            loaded.warnings
        );

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let loaded = load(&path).expect("load 0640");
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

        let missing = dir.path().join("absent.conf");
        let e = load(&missing).expect_err("absent");
        assert!(
            matches!(&e, ConfigError::Read { path, source } if path == &missing && source.kind() == io::ErrorKind::NotFound)
        );
    }
}
