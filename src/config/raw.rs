//! The raw form of the configuration file: exactly what the file may contain
//! (`deny_unknown_fields`), deserialised through `serde_path_to_error` so an
//! error names its key, and error messages built from toml's `message()`
//! (sanitised: a quoted value, which may be a token, is cut out) plus a line
//! number worked out from `span()` — never from toml's `Display`, which
//! echoes the offending source line.

use std::path::Path;

use secrecy::SecretString;
use serde::Deserialize;
use toml::Spanned;

use super::error::ConfigError;

/// Integers are read as `i64` and strings as `String` so that range and enum
/// checks give our own message (naming the accepted values) instead of
/// serde's, which quotes the value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) host: Option<Spanned<String>>,
    pub(super) api: Option<Spanned<String>>,
    pub(super) client_id: Option<Spanned<String>>,
    pub(super) client_secret: Option<Spanned<SecretString>>,
    pub(super) username: Option<Spanned<String>>,
    pub(super) password: Option<Spanned<SecretString>>,
    pub(super) password_file: Option<Spanned<String>>,
    pub(super) app_token: Option<Spanned<SecretString>>,
    pub(super) user_token: Option<Spanned<SecretString>>,
    pub(super) user_name: Option<String>,
    pub(super) tpl_title: Option<Spanned<String>>,
    pub(super) tpl_content: Option<Spanned<String>>,
    pub(super) entity: Option<Spanned<i64>>,
    pub(super) category: Option<Spanned<i64>>,
    pub(super) ticket_type: Option<Spanned<String>>,
    pub(super) urgency: Option<Spanned<i64>>,
    pub(super) impact: Option<Spanned<i64>>,
    pub(super) default_priority: Option<Spanned<i64>>,
    pub(super) update_priority: Option<bool>,
    pub(super) asset_types: Option<Vec<Spanned<String>>>,
    pub(super) state_dir: Option<Spanned<String>>,
    pub(super) connect_timeout: Option<Spanned<i64>>,
    pub(super) timeout: Option<Spanned<i64>>,
    pub(super) run_timeout: Option<Spanned<i64>>,
    pub(super) retries: Option<Spanned<i64>>,
    pub(super) lock_timeout: Option<Spanned<i64>>,
    pub(super) order_wait: Option<Spanned<i64>>,
    pub(super) cache_ttl: Option<Spanned<i64>>,
    pub(super) inventory_ttl: Option<Spanned<i64>>,
    pub(super) tls_verify: Option<bool>,
    pub(super) ca_file: Option<Spanned<String>>,
    pub(super) lang: Option<Spanned<String>>,
    pub(super) mail: Option<RawMail>,
    pub(super) state: Option<RawState>,
    pub(super) reconcile: Option<super::reconcile::RawReconcile>,
}

/// The `[state]` table: where records, kept events and locks live.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    pub(super) backend: Option<Spanned<String>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) password_file: Option<Spanned<String>>,
    pub(super) ca_file: Option<Spanned<String>>,
    pub(super) tls_verify: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMail {
    pub(super) from: Option<Spanned<String>>,
    pub(super) smtp_host: Option<Spanned<String>>,
    pub(super) smtp_port: Option<Spanned<i64>>,
    pub(super) smtp_security: Option<Spanned<String>>,
    pub(super) smtp_user: Option<Spanned<String>>,
    pub(super) smtp_password: Option<Spanned<SecretString>>,
    pub(super) sendmail: Option<Spanned<String>>,
    pub(super) tpl_mail_subject: Option<Spanned<String>>,
    pub(super) tpl_mail_body: Option<Spanned<String>>,
}

/// Deserialises the text of a configuration file into its raw form. Pure:
/// `path` only names the file in errors.
pub(super) fn deserialize(text: &str, path: &Path) -> Result<RawConfig, ConfigError> {
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
            let line = line.unwrap_or(1);
            if !plausible_key(&key) {
                return ConfigError::UnknownKey {
                    path: path.to_owned(),
                    key: None,
                    line,
                    suggestion: None,
                };
            }
            return unknown_key(text, path, key, line);
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

/// The keys of the top level, of `[mail]`, `[state]` and `[reconcile]`, as the raw
/// forms above name them (a unit test compares them with serde's list).
pub(super) const TOP_KEYS: [&str; 35] = [
    "host",
    "api",
    "client_id",
    "client_secret",
    "username",
    "password",
    "password_file",
    "app_token",
    "user_token",
    "user_name",
    "tpl_title",
    "tpl_content",
    "entity",
    "category",
    "ticket_type",
    "urgency",
    "impact",
    "default_priority",
    "update_priority",
    "asset_types",
    "state_dir",
    "connect_timeout",
    "timeout",
    "run_timeout",
    "retries",
    "lock_timeout",
    "order_wait",
    "cache_ttl",
    "inventory_ttl",
    "tls_verify",
    "ca_file",
    "lang",
    "mail",
    "state",
    "reconcile",
];
pub(super) const MAIL_KEYS: [&str; 9] = [
    "from",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_user",
    "smtp_password",
    "sendmail",
    "tpl_mail_subject",
    "tpl_mail_body",
];
pub(super) const STATE_KEYS: [&str; 5] =
    ["backend", "url", "password_file", "ca_file", "tls_verify"];
pub(super) const RECONCILE_KEYS: [&str; 11] = [
    "status_file",
    "livestatus",
    "icinga2_url",
    "icinga2_user",
    "icinga2_password_file",
    "ca_file",
    "create_missing",
    "create_groups",
    "create_names",
    "margin",
    "max_age",
];

/// The keys a table accepts (`""`: the top level).
fn keys_of(table: &str) -> &'static [&'static str] {
    match table {
        "mail" => &MAIL_KEYS,
        "state" => &STATE_KEYS,
        "reconcile" => &RECONCILE_KEYS,
        _ => &TOP_KEYS,
    }
}

/// The error of an unknown (but plausible) `key` at `line`: a top-level
/// key written after a table line (TOML reads it as the table's), a
/// table's key written at the top level, or a misspelling, with the
/// nearest accepted key.
fn unknown_key(text: &str, path: &Path, key: String, line: usize) -> ConfigError {
    let (table, name) = key.rsplit_once('.').unwrap_or(("", key.as_str()));
    if !table.is_empty()
        && let Some(top) = TOP_KEYS.iter().find(|k| **k == name)
    {
        return ConfigError::Misplaced {
            path: path.to_owned(),
            key: (*top).to_owned(),
            line,
            table: table.to_owned(),
            table_line: table_line(text, line),
        };
    }
    if table.is_empty() {
        for (table, keys) in [
            ("mail", &MAIL_KEYS[..]),
            ("state", &STATE_KEYS[..]),
            ("reconcile", &RECONCILE_KEYS[..]),
        ] {
            if let Some(k) = keys.iter().find(|k| **k == name) {
                return ConfigError::OutsideTable {
                    path: path.to_owned(),
                    key: (*k).to_owned(),
                    line,
                    table,
                };
            }
        }
    }
    let suggestion = nearest(name, keys_of(table)).map(|k| {
        if table.is_empty() {
            k.to_owned()
        } else {
            format!("{table}.{k}")
        }
    });
    ConfigError::UnknownKey {
        path: path.to_owned(),
        key: Some(key),
        line,
        suggestion,
    }
}

/// The line of the last table header (`[name]`) before `line`, if any.
fn table_line(text: &str, line: usize) -> Option<usize> {
    text.lines()
        .take(line.saturating_sub(1))
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with('['))
        .map(|(i, _)| i + 1)
        .last()
}

/// The accepted key nearest to `name` by Damerau–Levenshtein distance
/// (transpositions count once: `tpl_titel`), if it is close enough to be
/// a misspelling: at most one edit per three characters, and three at most.
pub(super) fn nearest(name: &str, keys: &[&'static str]) -> Option<&'static str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    keys.iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Whether `key` looks like a configuration key (lower-case words, dotted
/// for tables), which can be shown; anything else may be a secret pasted
/// where a key belongs.
fn plausible_key(key: &str) -> bool {
    key.split('.').all(|part| {
        (1..=40).contains(&part.len())
            && part.starts_with(|c: char| c.is_ascii_lowercase())
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    })
}

/// 1-based line of byte offset `offset`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
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
pub(super) fn sanitize(message: &str) -> String {
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
        ", expected struct RawState" => ", expected a [state] table",
        ", expected struct RawReconcile" => ", expected a [reconcile] table",
        ", expected a sequence" => ", expected a list such as [\"a\", \"b\"]",
        ", expected a boolean" => ", expected true or false",
        ", expected a string" => ", expected a text in double quotes",
        other => other,
    };
    // A message is one line in our output.
    format!("{head}{tail}").replace(['\n', '\r'], " ")
}

pub(super) fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}
