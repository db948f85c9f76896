//! The configuration file (SPEC "Configuration"): the validated [`Config`],
//! its errors, and [`load`]. Parsing the TOML through a strict raw form
//! (`deny_unknown_fields`) lives in `raw.rs`; turning it into a [`Config`]
//! whose every optional key has its default filled in, in `validate.rs`.
//!
//! This module does no network I/O; [`load`] reads one file and looks at its
//! mode, [`parse`] is pure. Imports only `core` (the language). It never prints a token: `app_token`, `user_token`
//! and `mail.smtp_password` are [`SecretString`]s (redacted `Debug`), and every
//! [`ConfigError`] message is built from toml's `message()` (sanitised: the
//! quoted value is cut out) plus a line number worked out from `span()` —
//! never from toml's own `Display`, which echoes the offending source line,
//! token included. The documented keys and defaults live in `conf/glpi.conf`,
//! which a unit test parses so the two cannot drift (the package installs it
//! as [`EXAMPLE_PATH`], the file hints name).

mod error;
mod placeholders;
mod raw;
pub(crate) mod reconcile;
#[cfg(test)]
mod tests;
mod types;
mod validate;

use std::path::Path;

use secrecy::SecretString;

pub(crate) use error::{ConfigError, PasswordProblem};
pub(crate) use placeholders::require_real;
use raw::strip_prefix_ignore_case;
pub(crate) use reconcile::{ReconcileConfig, ReconcileSource};
pub(crate) use types::{
    Api, Config, DEFAULT_PATH, EXAMPLE_PATH, Loaded, MailConfig, PgConfig, SmtpSecurity,
    StateBackend, TicketType, without_userinfo,
};

/// Reads and parses `path`, and checks its mode.
pub(crate) fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = read(path)?;
    let mut config = parse(&text, path)?;
    let mut warnings = mode_warnings(path);
    if let Some(oauth) = config.oauth.as_mut()
        && let Some(file) = oauth.password_file.clone()
    {
        oauth.password = Some(read_password(path, &file, "password_file")?);
        warnings.extend(mode_warnings(&file));
    }
    if let StateBackend::Postgres(pg) = &mut config.state
        && let Some(file) = pg.password_file.clone()
    {
        pg.password = Some(read_password(path, &file, "state.password_file")?);
        warnings.extend(mode_warnings(&file));
    }
    warnings.extend(advisories(&config));
    Ok(Loaded { config, warnings })
}

/// The largest password file read.
const MAX_PASSWORD_BYTES: u64 = 4096;

/// The password of the password file `file` (named by `key` in the
/// configuration `config`): the file's first line, its line end removed;
/// read like the configuration (a small regular file). Its errors are the
/// password file's.
fn read_password(
    config: &Path,
    file: &Path,
    key: &'static str,
) -> Result<SecretString, ConfigError> {
    let error = |problem| ConfigError::PasswordFile {
        path: config.to_owned(),
        key,
        file: file.to_owned(),
        problem,
    };
    let text = read_capped(file, MAX_PASSWORD_BYTES).map_err(|e| {
        error(match e {
            ConfigError::Read { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => PasswordProblem::Missing,
                std::io::ErrorKind::InvalidData => PasswordProblem::NotText,
                _ => PasswordProblem::Unreadable(source),
            },
            ConfigError::TooLarge { max, .. } => PasswordProblem::TooLarge(max),
            _ if file.is_dir() => PasswordProblem::Directory,
            _ => PasswordProblem::NotAFile,
        })
    })?;
    let password = text.lines().next().unwrap_or_default();
    if password.is_empty() || password.chars().any(char::is_control) {
        return Err(error(PasswordProblem::BadFirstLine));
    }
    Ok(SecretString::from(password.to_owned()))
}

/// The largest configuration file read: a real one is a few KiB.
const MAX_BYTES: u64 = 256 * 1024;

/// Reads the file at `path`: a regular file (a link to one is fine) of at
/// most [`MAX_BYTES`], in UTF-8. Opening does not wait on a FIFO or a
/// device, and reading stops at the cap (`/dev/zero` never ends).
fn read(path: &Path) -> Result<String, ConfigError> {
    read_capped(path, MAX_BYTES)
}

/// Reads a regular file (a link to one is fine) of at most `max` bytes, in
/// UTF-8, without waiting on a FIFO or a device.
fn read_capped(path: &Path, max: u64) -> Result<String, ConfigError> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let error = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let nonblock = i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap_or(0);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nonblock)
        .open(path)
        .map_err(error)?;
    let meta = file.metadata().map_err(error)?;
    if !meta.is_file() {
        return Err(ConfigError::NotAFile {
            path: path.to_owned(),
        });
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(error)?;
    if bytes.len() as u64 > max {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
            max,
        });
    }
    String::from_utf8(bytes)
        .map_err(|_| error(std::io::Error::from(std::io::ErrorKind::InvalidData)))
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
            "{} is readable by every user (mode {:04o}) and holds GLPI secrets; chmod 0640 and a dedicated group are expected",
            path.display(),
            mode & 0o7777
        ));
    }
    if mode & 0o002 != 0 {
        warnings.push(format!(
            "{} is writable by every user (mode {:04o}): anyone can send the GLPI secrets to another server; chmod 0640 and a dedicated group are expected",
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
    if strip_prefix_ignore_case(&config.host, "http://").is_some() && !loopback(&config.host) {
        let secrets = match config.api {
            Api::Legacy => "app_token, user_token and the session token",
            Api::V2 => "client_secret, the GLPI user's password and the access tokens",
        };
        warnings.push(format!(
            "host uses http:// to another machine than this one: {secrets} travel in clear, \
             readable by anyone on the network path; use https://"
        ));
    }
    if !config.tls_verify {
        warnings.push(
            "tls_verify = false: the GLPI server's certificate is not checked; prefer ca_file"
                .to_owned(),
        );
    }
    if let StateBackend::Postgres(pg) = &config.state {
        if !pg.tls && !pg.local {
            warnings.push(
                "[state] url: the state database is reached without TLS; add \
                 ?sslmode=require to the url"
                    .to_owned(),
            );
        }
        if pg.tls && !pg.tls_verify {
            warnings.push(
                "[state] tls_verify = false: the state database's certificate is not checked; \
                 prefer ca_file"
                    .to_owned(),
            );
        }
    }
    warnings
}

/// Whether the URL `url` names this machine: `localhost`, or a loopback
/// address in any form a URL parser reads (`127.1`, `[::1]`,
/// `[::ffff:127.0.0.1]`). A name that merely starts like one
/// (`127.0.0.1.nip.io`) is another machine: DNS decides where it goes.
fn loopback(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = parsed.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => host.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
    }
}

/// Parses and validates the text of a configuration file. Pure: `path` only
/// names the file in errors.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let raw = raw::deserialize(text, path)?;
    validate::Validator { text, path }.config(raw)
}

/// The state directory of a configuration without `state_dir`.
pub(crate) const DEFAULT_STATE_DIR: &str = "/var/lib/esia-glpi";

/// The state directory the configuration file at `path` names, read even
/// when the file does not validate (a misspelt key elsewhere): its
/// `state_dir` when the file is TOML and the value an absolute path, else
/// the default. `None` when the file cannot be read or is not TOML: then
/// where its runs keep their state is not known.
pub(crate) fn state_dir_of(path: &Path) -> Option<std::path::PathBuf> {
    let text = read(path).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    match table.get("state_dir") {
        None => Some(DEFAULT_STATE_DIR.into()),
        Some(toml::Value::String(dir)) => {
            Some(std::path::PathBuf::from(dir)).filter(|d| d.is_absolute())
        }
        Some(_) => None,
    }
}
