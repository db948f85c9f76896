//! OAuth2 for GLPI 11's high-level API (glpi-api.md §11.2, transcripts
//! `glpi11-transcripts/02*`–`04*`): the password grant with `scope=api`,
//! the `refresh_token` grant, and the access token kept between runs.
//!
//! - The tokens are kept by a [`TokenStore`] (the engine's, in the state
//!   directory) until shortly before the access token expires, bound to the
//!   token endpoint, client and user they were granted for: tokens bound to
//!   anything else are discarded, never sent.
//! - Renewal: the `refresh_token` grant first; when GLPI refuses the refresh
//!   token (revoked, used already, expired) the password grant.
//! - Runs that start together do not all ask: the one that gets the store's
//!   lock asks, the others wait for the token it keeps (a refresh token
//!   works only once, and using it revokes the access token it came with).
//! - The client authenticates in the body; when the server refuses that
//!   (`invalid_client`), with HTTP Basic — which other OAuth2 servers ask
//!   for — and the store remembers which one worked.
//!
//! Secrets travel only in request bodies and headers; none is ever logged.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::client::Client;
use super::code::ErrorCode;
use super::credentials::{Tokens, V2Settings};
use super::error::GlpiError;
use super::http::decode;

/// How long a run waits for another run's renewal before asking itself.
const RENEWAL_WAIT: Duration = Duration::from_secs(10);
/// How often it looks.
const RENEWAL_POLL: Duration = Duration::from_millis(25);

/// The answer of the token endpoint.
#[derive(Deserialize)]
struct Granted {
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// A grant the token endpoint is asked for.
#[derive(Clone, Copy)]
enum Grant<'a> {
    Password,
    Refresh(&'a SecretString),
}

impl Grant<'_> {
    fn name(self) -> &'static str {
        match self {
            Grant::Password => "password grant",
            Grant::Refresh(_) => "`refresh_token` grant",
        }
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl Client {
    /// Sets this run's access token: the kept one while it is valid (and not
    /// the one GLPI just `refused`), or a renewed one.
    pub(super) async fn access_token(
        &self,
        refused: Option<&SecretString>,
    ) -> Result<(), GlpiError> {
        let v2 = self.v2.as_ref().ok_or_else(|| GlpiError::Setup {
            reason: "the high-level API is not configured (api = \"v2\")".into(),
        })?;
        let binding = v2.binding();
        let usable = |t: &Tokens| {
            now() < t.renew_after
                && refused.is_none_or(|r| r.expose_secret() != t.access.expose_secret())
        };
        if let Some(t) = self.kept_tokens(&binding).filter(|t| usable(t)) {
            *self.bearer.borrow_mut() = Some(t.access);
            return Ok(());
        }
        // One run renews; the others wait for what it keeps.
        let deadline = Instant::now() + RENEWAL_WAIT;
        let guard = loop {
            let Some(store) = &self.token_store else {
                break None;
            };
            if let Some(guard) = store.try_lock() {
                break Some(guard);
            }
            if Instant::now() >= deadline {
                tracing::warn!(
                    "another run has been renewing the GLPI access token for {} s: asking for one",
                    RENEWAL_WAIT.as_secs()
                );
                break None;
            }
            tokio::time::sleep(RENEWAL_POLL).await;
            if let Some(t) = self.kept_tokens(&binding).filter(|t| usable(t)) {
                *self.bearer.borrow_mut() = Some(t.access);
                return Ok(());
            }
        };
        let kept = self.kept_tokens(&binding);
        if let Some(t) = kept.clone().filter(|t| usable(t)) {
            *self.bearer.borrow_mut() = Some(t.access);
            return Ok(());
        }
        let tokens = self.renew(v2, kept.as_ref()).await?;
        if let Some(store) = &self.token_store {
            store.save(&tokens);
        }
        drop(guard);
        *self.bearer.borrow_mut() = Some(tokens.access);
        Ok(())
    }

    /// The kept tokens, if they are bound to `binding`; others are
    /// discarded.
    fn kept_tokens(&self, binding: &str) -> Option<Tokens> {
        let store = self.token_store.as_ref()?;
        let tokens = store.load()?;
        if tokens.bound_to != binding {
            tracing::info!(
                "the kept GLPI access token was granted for another GLPI, client or user: \
                 discarded"
            );
            store.discard();
            return None;
        }
        Some(tokens)
    }

    /// New tokens: the `refresh_token` grant when a refresh token is kept,
    /// the password grant when there is none or GLPI refuses it.
    async fn renew(&self, v2: &V2Settings, kept: Option<&Tokens>) -> Result<Tokens, GlpiError> {
        let basic = kept.is_some_and(|t| t.basic_auth);
        if let Some(refresh) = kept.and_then(|t| t.refresh.as_ref()) {
            match self.grant(v2, Grant::Refresh(refresh), basic).await {
                Ok(tokens) => return Ok(tokens),
                Err(e) if grant_refused(&e) => {
                    tracing::info!(
                        "GLPI refused the refresh token ({e}): using the password grant"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        self.grant(v2, Grant::Password, basic).await
    }

    /// Asks the token endpoint, the client authenticated in the body or
    /// with HTTP Basic (`basic`), then the other way if the server refuses
    /// the client (`invalid_client`).
    async fn grant(
        &self,
        v2: &V2Settings,
        grant: Grant<'_>,
        basic: bool,
    ) -> Result<Tokens, GlpiError> {
        match self.grant_once(v2, grant, basic).await {
            Err(e) if e.code() == Some(&ErrorCode::InvalidClient) => {
                tracing::debug!(
                    "the token endpoint refused the client authenticated {}: trying {}",
                    if basic {
                        "with HTTP Basic"
                    } else {
                        "in the body"
                    },
                    if basic {
                        "in the body"
                    } else {
                        "with HTTP Basic"
                    },
                );
                // The first answer is the one to report if both fail.
                self.grant_once(v2, grant, !basic).await.map_err(|_| e)
            }
            other => other,
        }
    }

    /// One request to the token endpoint.
    async fn grant_once(
        &self,
        v2: &V2Settings,
        grant: Grant<'_>,
        basic: bool,
    ) -> Result<Tokens, GlpiError> {
        let mut form: Vec<(&str, &str)> = match grant {
            Grant::Password => vec![
                ("grant_type", "password"),
                ("username", &v2.username),
                ("password", v2.password.expose_secret()),
                ("scope", "api"),
            ],
            Grant::Refresh(token) => vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token.expose_secret()),
            ],
        };
        let mut req = self
            .http()?
            .request(Method::POST, &v2.token_url)
            .header(reqwest::header::ACCEPT, "application/json");
        if basic {
            req = req.basic_auth(
                form_encode(&v2.client_id),
                Some(form_encode(v2.client_secret.expose_secret())),
            );
        } else {
            form.push(("client_id", &v2.client_id));
            form.push(("client_secret", v2.client_secret.expose_secret()));
        }
        let what = format!("POST api.php/token ({})", grant.name());
        let bytes = self.exchange(&what, req.form(&form), false).await?;
        let granted: Granted = decode(&what, &bytes)?;
        if granted
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(GlpiError::Protocol {
                what,
                detail: "the token endpoint granted a token that is not a Bearer token".into(),
            });
        }
        let lifetime = granted.expires_in.unwrap_or(3600).max(0);
        let margin = (lifetime / 10).min(60);
        let refresh = match (granted.refresh_token, grant) {
            (Some(r), _) => Some(SecretString::from(r)),
            // A server that keeps the refresh token the same says nothing.
            (None, Grant::Refresh(previous)) => Some(previous.clone()),
            (None, Grant::Password) => None,
        };
        Ok(Tokens {
            bound_to: v2.binding(),
            access: SecretString::from(granted.access_token),
            refresh,
            renew_after: now() + lifetime - margin,
            basic_auth: basic,
        })
    }

    /// A password grant alone, nothing kept (`check`): whether the client,
    /// user and password are accepted, and the scopes granted.
    pub(crate) async fn try_password_grant(&self) -> Result<(), GlpiError> {
        let v2 = self.v2.as_ref().ok_or_else(|| GlpiError::Setup {
            reason: "the high-level API is not configured (api = \"v2\")".into(),
        })?;
        let tokens = self.grant(v2, Grant::Password, false).await?;
        *self.bearer.borrow_mut() = Some(tokens.access);
        Ok(())
    }
}

/// True when the token endpoint refused the grant itself (a refresh token
/// revoked, used already or expired; a scope), not the client.
fn grant_refused(e: &GlpiError) -> bool {
    e.code().is_some_and(ErrorCode::refuses_grant)
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749
/// §2.3.1 asks it of the client id and secret sent with HTTP Basic).
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded() {
        assert_eq!(form_encode("abc-DEF_0.9*"), "abc-DEF_0.9*");
        assert_eq!(form_encode("a b:c/é"), "a+b%3Ac%2F%C3%A9");
    }

    #[test]
    fn a_refused_refresh_token_is_a_refused_grant_not_a_refused_client() {
        let refused = |code: &str| GlpiError::Refused {
            what: "POST api.php/token".into(),
            status: 400,
            code: code.into(),
            message: String::new(),
        };
        assert!(grant_refused(&refused("invalid_grant")));
        assert!(grant_refused(&refused("invalid_request")));
        assert!(!grant_refused(&refused("invalid_client")));
        assert!(!grant_refused(&refused("access_denied")));
    }
}
