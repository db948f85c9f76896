//! Validation: the raw form of the file → a [`Config`] with every default
//! filled in. Every error names the key and its line, never the value.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use toml::Spanned;

use super::error::ConfigError;
use super::raw::{RawConfig, RawMail, RawState, line_of, sanitize, strip_prefix_ignore_case};
use super::types::{
    ALLOWED_ASSET_TYPES, Api, Config, DEFAULT_ASSET_TYPES, DEFAULT_TPL_TITLE, MAX_CACHE_TTL_SECS,
    MAX_TIMEOUT_SECS, MailConfig, OAuth, PgConfig, SmtpSecurity, StateBackend, TicketType,
};
use crate::core::Lang;

pub(super) struct Validator<'a> {
    pub(super) text: &'a str,
    pub(super) path: &'a Path,
}

impl Validator<'_> {
    pub(super) fn invalid<T>(
        &self,
        key: &str,
        span: &Spanned<T>,
        reason: impl Into<String>,
    ) -> ConfigError {
        ConfigError::InvalidValue {
            path: self.path.to_owned(),
            key: key.to_owned(),
            line: Some(line_of(self.text, span.span().start)),
            reason: reason.into(),
        }
    }

    pub(super) fn missing(&self, key: &'static str) -> ConfigError {
        ConfigError::MissingKey {
            path: self.path.to_owned(),
            key,
        }
    }

    pub(super) fn config(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let host = raw.host.ok_or_else(|| self.missing("host"))?;
        let api = match &raw.api {
            None => Api::default(),
            Some(a) => self.choice("api", a, &[("legacy", Api::Legacy), ("v2", Api::V2)])?,
        };
        let (app_token, user_token) = match (api, raw.app_token, raw.user_token) {
            (Api::Legacy, None, _) => return Err(self.missing("app_token")),
            (Api::Legacy, _, None) => return Err(self.missing("user_token")),
            (_, app_token, user_token) => (app_token, user_token),
        };
        let host = self.host(&host)?;
        let (app_token, user_token) = self.tokens(app_token, user_token)?;
        let oauth = match api {
            Api::Legacy => None,
            Api::V2 => Some(self.oauth(
                raw.client_id,
                raw.client_secret,
                raw.username,
                raw.password,
                raw.password_file,
            )?),
        };
        let (tpl_title, tpl_content) = self.templates(raw.tpl_title, raw.tpl_content)?;
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
        let state_dir = self.state_dir(raw.state_dir)?;
        let ca_file = raw
            .ca_file
            .map(|c| self.non_empty("ca_file", c, "give the path of a PEM file"))
            .transpose()?
            .map(PathBuf::from);

        Ok(Config {
            host,
            api,
            app_token,
            user_token,
            oauth,
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
            order_wait: Duration::from_secs(self.int_or("order_wait", raw.order_wait, 0, 60, 1)?),
            cache_ttl: self.secs("cache_ttl", raw.cache_ttl, 3600, MAX_CACHE_TTL_SECS)?,
            inventory_ttl: self.secs("inventory_ttl", raw.inventory_ttl, 600, MAX_TIMEOUT_SECS)?,
            tls_verify: raw.tls_verify.unwrap_or(true),
            ca_file,
            lang,
            mail: raw.mail.map(|m| self.mail(m)).transpose()?,
            state: raw
                .state
                .map(|s| self.state(s))
                .transpose()?
                .unwrap_or_default(),
            reconcile: raw.reconcile.map(|r| self.reconcile(r)).transpose()?,
        })
    }

    /// The `[state]` table: `backend = "files"` (default) or `"postgres"`
    /// with its `url` (required), `password_file`, `ca_file`, `tls_verify`.
    fn state(&self, raw: RawState) -> Result<StateBackend, ConfigError> {
        #[derive(Clone, Copy)]
        enum Kind {
            Files,
            Postgres,
        }
        let kind = match &raw.backend {
            None => Kind::Files,
            Some(b) => self.choice(
                "state.backend",
                b,
                &[("files", Kind::Files), ("postgres", Kind::Postgres)],
            )?,
        };
        if let Kind::Files = kind {
            let only_pg = "is used only with backend = \"postgres\" (add it to [state])";
            if let Some(u) = &raw.url {
                return Err(self.invalid("state.url", u, only_pg));
            }
            if let Some(f) = &raw.password_file {
                return Err(self.invalid("state.password_file", f, only_pg));
            }
            if let Some(c) = &raw.ca_file {
                return Err(self.invalid("state.ca_file", c, only_pg));
            }
            if let Some(t) = &raw.tls_verify {
                return Err(self.invalid("state.tls_verify", t, only_pg));
            }
            return Ok(StateBackend::Files);
        }
        let url = raw.url.ok_or_else(|| self.missing("state.url"))?;
        let checked =
            pg_url(url.get_ref()).map_err(|reason| self.invalid("state.url", &url, reason))?;
        let password_file = raw
            .password_file
            .map(|f| {
                let path = PathBuf::from(f.get_ref());
                if path.is_absolute() {
                    Ok(path)
                } else {
                    Err(self.invalid("state.password_file", &f, "must be an absolute path"))
                }
            })
            .transpose()?;
        let ca_file = raw
            .ca_file
            .map(|c| self.non_empty("state.ca_file", c, "give the path of a PEM file"))
            .transpose()?
            .map(PathBuf::from);
        Ok(StateBackend::Postgres(Box::new(PgConfig {
            url: url.into_inner().trim().to_owned(),
            tls: checked.tls,
            local: checked.local,
            password_file,
            password: None,
            ca_file,
            tls_verify: raw.tls_verify.is_none_or(Spanned::into_inner),
        })))
    }

    /// `app_token` (SPEC says required with the legacy API; an empty one is
    /// accepted and means "no App-Token header", for GLPI API clients
    /// defined without a token) and `user_token`.
    fn tokens(
        &self,
        app_token: Option<Spanned<SecretString>>,
        user_token: Option<Spanned<SecretString>>,
    ) -> Result<(Option<SecretString>, Option<SecretString>), ConfigError> {
        if let Some(t) = &app_token {
            self.check_token("app_token", t, true)?;
        }
        if let Some(t) = &user_token {
            self.check_token("user_token", t, false)?;
        }
        Ok((
            app_token
                .map(Spanned::into_inner)
                .filter(|t| !t.expose_secret().is_empty()),
            user_token.map(Spanned::into_inner),
        ))
    }

    /// The OAuth2 client and user of `api = "v2"`: all required, the
    /// password written in the file or in `password_file` (not both).
    fn oauth(
        &self,
        client_id: Option<Spanned<String>>,
        client_secret: Option<Spanned<SecretString>>,
        username: Option<Spanned<String>>,
        password: Option<Spanned<SecretString>>,
        password_file: Option<Spanned<String>>,
    ) -> Result<OAuth, ConfigError> {
        let client_id = client_id.ok_or_else(|| self.missing("client_id"))?;
        let client_secret = client_secret.ok_or_else(|| self.missing("client_secret"))?;
        let username = username.ok_or_else(|| self.missing("username"))?;
        if client_id
            .get_ref()
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(self.invalid(
                "client_id",
                &client_id,
                "contains spaces or control characters (copy it again from Setup > OAuth clients)",
            ));
        }
        let client_id = self.non_empty("client_id", client_id, "Setup > OAuth clients shows it")?;
        self.check_token("client_secret", &client_secret, false)?;
        let username = self.non_empty("username", username, "the GLPI login of the API user")?;
        let (password, password_file) = match (password, password_file) {
            (Some(_), Some(f)) => {
                return Err(self.invalid(
                    "password_file",
                    &f,
                    "give password or password_file, not both",
                ));
            }
            (Some(p), None) => {
                let value = p.get_ref().expose_secret();
                if value.is_empty() || value.chars().any(char::is_control) {
                    return Err(self.invalid(
                        "password",
                        &p,
                        "must not be empty nor hold control characters",
                    ));
                }
                (Some(p.into_inner()), None)
            }
            (None, Some(f)) => {
                let path = PathBuf::from(f.get_ref());
                if !path.is_absolute() {
                    return Err(self.invalid("password_file", &f, "must be an absolute path"));
                }
                (None, Some(path))
            }
            (None, None) => return Err(self.missing("password_file")),
        };
        Ok(OAuth {
            client_id,
            client_secret: client_secret.into_inner(),
            username,
            password,
            password_file,
        })
    }

    /// `tpl_title` (default: the Esia documentation's) and `tpl_content`.
    fn templates(
        &self,
        title: Option<Spanned<String>>,
        content: Option<Spanned<String>>,
    ) -> Result<(String, Option<String>), ConfigError> {
        let title = match title {
            None => DEFAULT_TPL_TITLE.to_owned(),
            Some(t) => self.non_empty("tpl_title", t, "a ticket needs a title")?,
        };
        let content = content
            .map(|t| {
                self.non_empty(
                    "tpl_content",
                    t,
                    "remove the key to use the built-in content",
                )
            })
            .transpose()?;
        Ok((title, content))
    }

    /// `state_dir`: absolute, since the engine's working directory is unknown.
    fn state_dir(&self, dir: Option<Spanned<String>>) -> Result<PathBuf, ConfigError> {
        let Some(s) = dir else {
            return Ok(PathBuf::from(super::DEFAULT_STATE_DIR));
        };
        let dir = PathBuf::from(s.get_ref());
        if !dir.is_absolute() {
            return Err(self.invalid(
                "state_dir",
                &s,
                "must be an absolute path (the monitoring engine's working directory is unknown)",
            ));
        }
        Ok(dir)
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

    pub(super) fn non_empty(
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

    pub(super) fn int_or<T: TryFrom<i64>>(
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
    pub(super) fn secs(
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

/// What [`pg_url`] found in a valid `[state] url`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct PgUrl {
    /// `sslmode=require`.
    pub(super) tls: bool,
    /// Every host is this machine (loopback, or a unix socket).
    pub(super) local: bool,
}

/// Checks a PostgreSQL URL (`postgres://user@host:port/database?options`):
/// a user and a host named, no password anywhere in it (the URL is shown in
/// logs and errors; the password belongs in `password_file`). The reasons
/// never quote the URL.
pub(super) fn pg_url(url: &str) -> Result<PgUrl, String> {
    let url = url.trim();
    let rest = strip_prefix_ignore_case(url, "postgres://")
        .or_else(|| strip_prefix_ignore_case(url, "postgresql://"))
        .ok_or("must start with postgres://, e.g. postgres://esia@db.example.org:5432/esia_glpi")?;
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains spaces or control characters".into());
    }
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let userinfo = authority.rsplit_once('@').map(|(u, _)| u);
    let query = rest.split_once('?').map_or("", |(_, q)| q);
    let password_in_query = query.split('&').any(|p| {
        p.split('=')
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case("password"))
    });
    if userinfo.is_some_and(|u| u.contains(':')) || password_in_query {
        return Err(
            "must not hold a password (the url appears in logs): remove it and put \
                    the password in password_file"
                .into(),
        );
    }
    let bad_sslmode = query.split('&').any(|p| match p.split_once('=') {
        Some((k, v)) if k.eq_ignore_ascii_case("sslmode") => {
            !["disable", "prefer", "require"].contains(&v)
        }
        _ => false,
    });
    if bad_sslmode {
        return Err(
            "sslmode must be disable, prefer (no TLS) or require (TLS, the server's \
                    certificate checked against the system's authorities and ca_file)"
                .into(),
        );
    }
    let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
        format!("is not a PostgreSQL URL ({})", sanitize(&e.to_string()))
    })?;
    if config.get_password().is_some() {
        return Err("must not hold a password: put it in password_file".into());
    }
    if config.get_user().is_none_or(str::is_empty) {
        return Err("names no database user: postgres://USER@host:5432/database".into());
    }
    if config.get_hosts().is_empty() {
        return Err("names no host: postgres://user@HOST:5432/database".into());
    }
    let local = config.get_hosts().iter().all(|h| match h {
        tokio_postgres::config::Host::Tcp(name) => {
            name.eq_ignore_ascii_case("localhost") || name == "::1" || name.starts_with("127.")
        }
        tokio_postgres::config::Host::Unix(_) => true,
    });
    Ok(PgUrl {
        tls: config.get_ssl_mode() == tokio_postgres::config::SslMode::Require,
        local,
    })
}
