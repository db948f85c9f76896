//! The example values of the shipped configuration (`conf/glpi.conf`, the
//! package's `/etc/esia/glpi.conf`) and of the Esia documentation: a file
//! that still holds one cannot reach a GLPI, and saying so needs no network
//! call. Pure.

use std::path::Path;

use secrecy::{ExposeSecret as _, SecretString};

use super::error::ConfigError;
use super::types::Config;

/// The host of the shipped file and of the Esia documentation.
const EXAMPLE_HOST: &str = "monserveurglpi.com";
/// The tokens of the shipped file start so.
const SHIPPED_TOKEN_PREFIX: &str = "REPLACE_WITH_";
/// The tokens the Esia documentation shows.
const DOC_TOKENS: [&str; 2] = [
    "vrFkHRcPTYt4Dt79zD78oPuiGKRYlAJGqsYr9kjv",
    "YjJC9qCUHSK8JKY1BSsJ2wDfg8IgBid1c1okKsrM",
];
/// What the commented keys of the shipped file hold (`client_id = "..."`).
const ELLIPSIS: &str = "...";

/// The keys of `config` that still hold an example value, in file order.
pub(super) fn placeholders(config: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if example_host(&config.host) {
        keys.push("host");
    }
    let token = |t: &Option<SecretString>| {
        t.as_ref().is_some_and(|t| {
            let t = t.expose_secret().trim();
            t.starts_with(SHIPPED_TOKEN_PREFIX) || DOC_TOKENS.contains(&t) || t == ELLIPSIS
        })
    };
    if token(&config.app_token) {
        keys.push("app_token");
    }
    if token(&config.user_token) {
        keys.push("user_token");
    }
    if let Some(o) = &config.oauth {
        if o.client_id.trim() == ELLIPSIS {
            keys.push("client_id");
        }
        if o.client_secret.expose_secret().trim() == ELLIPSIS {
            keys.push("client_secret");
        }
        if o.password_file.is_none()
            && o.password
                .as_ref()
                .is_some_and(|p| p.expose_secret().trim() == ELLIPSIS)
        {
            keys.push("password");
        }
    }
    if let Some(m) = &config.mail
        && m.smtp_password
            .as_ref()
            .is_some_and(|p| p.expose_secret().trim() == ELLIPSIS)
    {
        keys.push("mail.smtp_password");
    }
    keys
}

/// `host` names the documentation's example server.
fn example_host(host: &str) -> bool {
    let rest = host.split_once("://").map_or(host, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let name = authority.split(':').next().unwrap_or_default();
    name.trim_end_matches('.')
        .eq_ignore_ascii_case(EXAMPLE_HOST)
        || name
            .to_ascii_lowercase()
            .ends_with(&format!(".{EXAMPLE_HOST}"))
}

/// `Err` naming the keys that still hold an example value, when any does.
pub(crate) fn require_real(config: &Config, path: &Path) -> Result<(), ConfigError> {
    let keys = placeholders(config);
    if keys.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Placeholders {
            path: path.to_owned(),
            keys,
        })
    }
}

/// Where the real value of `key` is found, for the hint.
pub(super) fn where_to_find(key: &str) -> &'static str {
    match key {
        "host" => "host: GLPI's address as typed in a browser (https://glpi.example.org/glpi)",
        "app_token" => {
            "app_token: the application token of this server's API client, Setup > General > \
             API (\"\" if that client has none)"
        }
        "user_token" => {
            "user_token: the API token of the GLPI user the tickets are created as, \
             Administration > Users > (that user) > Remote access keys"
        }
        "client_id" | "client_secret" => {
            "client_id / client_secret: Setup > OAuth clients > (the client)"
        }
        "password" => "password: the GLPI user's password (better: password_file)",
        _ => "mail.smtp_password: the SMTP relay's password for smtp_user",
    }
}
