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
//! which a unit test parses so the two cannot drift.

mod error;
mod raw;
#[cfg(test)]
mod tests;
mod types;
mod validate;

use std::path::Path;

use secrecy::SecretString;

pub(crate) use error::ConfigError;
use raw::strip_prefix_ignore_case;
pub(crate) use types::{
    Api, Config, DEFAULT_PATH, Loaded, MailConfig, PgConfig, SmtpSecurity, StateBackend,
    TicketType, without_userinfo,
};

/// Reads and parses `path`, and checks its mode.
pub(crate) fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = read(path)?;
    let mut config = parse(&text, path)?;
    let mut warnings = mode_warnings(path);
    if let Some(oauth) = config.oauth.as_mut()
        && let Some(file) = oauth.password_file.clone()
    {
        oauth.password = Some(read_password(&file, "password_file")?);
        warnings.extend(mode_warnings(&file));
    }
    if let StateBackend::Postgres(pg) = &mut config.state
        && let Some(file) = pg.password_file.clone()
    {
        pg.password = Some(read_password(&file, "state.password_file")?);
        warnings.extend(mode_warnings(&file));
    }
    warnings.extend(advisories(&config));
    Ok(Loaded { config, warnings })
}

/// The largest password file read.
const MAX_PASSWORD_BYTES: u64 = 4096;

/// The password of `password_file`: the file's first line, its line end
/// removed; read like the configuration (a small regular file).
fn read_password(path: &Path, key: &str) -> Result<SecretString, ConfigError> {
    let text = read_capped(path, MAX_PASSWORD_BYTES)?;
    let password = text.lines().next().unwrap_or_default();
    if password.is_empty() || password.chars().any(char::is_control) {
        return Err(ConfigError::InvalidValue {
            path: path.to_owned(),
            key: key.into(),
            line: None,
            reason: "its first line must hold the password (not empty, no control character)"
                .into(),
        });
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
