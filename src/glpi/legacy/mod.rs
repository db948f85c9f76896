//! The legacy REST API (`apirest.php`, GLPI 10.0.x and 11.x) as one
//! transport, [`Legacy`]: the session — `initSession` with `App-Token` and
//! `Authorization: user_token …`, `killSession` on every path, opened again
//! once when GLPI answers `ERROR_SESSION_TOKEN_INVALID` — and, in the files
//! below, its calls: tickets and their timeline (`tickets.rs`), the search
//! engine (`search.rs`), `check`'s probes (`probe.rs`).
//!
//! When the web server strips `Authorization` (`ERROR_LOGIN_PARAMETERS_MISSING`
//! although a token was sent, §12.4), `initSession` is sent again with the
//! `user_token` as a query parameter, with a warning on every run, because
//! the token then lands in the web server's access log. `Session-Token` is a
//! sensitive header, never logged.

mod probe;
mod search;
mod tickets;

use std::cell::RefCell;

use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};

use super::client::Api;
use super::client::{Client, Retry, sensitive};
use super::code::ErrorCode;
use super::error::GlpiError;
use super::http::Access;
use super::http::Request;

/// An open legacy session.
#[derive(Debug)]
pub(super) struct Legacy<'c> {
    client: &'c Client,
    /// The `Session-Token`, replaced when GLPI forgot the session.
    token: RefCell<SecretString>,
}

impl Access for Legacy<'_> {
    const API: Api = Api::Legacy;

    fn client(&self) -> &Client {
        self.client
    }

    fn headers(&self) -> Result<HeaderMap, GlpiError> {
        let mut h = self.client.base_headers()?;
        h.insert(
            "Session-Token",
            sensitive(self.token.borrow().expose_secret())?,
        );
        Ok(h)
    }

    async fn renewed(&self, refusal: &GlpiError) -> Result<bool, GlpiError> {
        if refusal.code() != Some(&ErrorCode::SessionTokenInvalid) {
            return Ok(false);
        }
        tracing::info!("GLPI forgot the session; opening a new one");
        *self.token.borrow_mut() = self.client.init_session().await?;
        Ok(true)
    }
}

impl<'c> Legacy<'c> {
    /// `initSession`.
    pub(super) async fn open(client: &'c Client) -> Result<Legacy<'c>, GlpiError> {
        Ok(Legacy {
            client,
            token: RefCell::new(client.init_session().await?),
        })
    }

    /// A session, when a `user_token` is configured (beside the high-level
    /// API, which cannot link an asset).
    pub(super) async fn open_if_configured(
        client: &'c Client,
    ) -> Result<Option<Legacy<'c>>, GlpiError> {
        if !client.has_legacy_login() {
            return Ok(None);
        }
        Legacy::open(client).await.map(Some)
    }

    /// `killSession`. Failures are logged, never fatal: the work is done.
    pub(super) async fn close(self) {
        let result: Result<serde_json::Value, GlpiError> = match self.headers() {
            Ok(headers) => {
                let req = Request::get(Api::Legacy, "killSession", headers, &[]);
                self.client.send_json(&req, Retry::Close).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!("could not close the GLPI session: {e}");
        }
    }
}

/// The legacy login: `initSession`, with the `Authorization`-stripped
/// fallback (§12.4).
impl Client {
    async fn init_session(&self) -> Result<SecretString, GlpiError> {
        if !self.auth_in_query.get() {
            match self.init_session_via(false).await {
                Err(e) if e.code() == Some(&ErrorCode::LoginParametersMissing) => {
                    tracing::warn!(
                        "GLPI did not receive the Authorization header (the web server in front \
                         of GLPI strips it): sending the user_token as a query parameter \
                         instead, where it may appear in the web server's access log; fix the \
                         server (Apache: SetEnvIf Authorization \"(.*)\" HTTP_AUTHORIZATION=$1)"
                    );
                    self.auth_in_query.set(true);
                }
                other => return other,
            }
        }
        self.init_session_via(true).await
    }

    /// `initSession` with the `user_token` in `Authorization`, or in the query.
    async fn init_session_via(&self, in_query: bool) -> Result<SecretString, GlpiError> {
        let Some(user_token) = &self.user_token else {
            return Err(GlpiError::Setup {
                reason: "no user_token is configured for GLPI's legacy API".into(),
            });
        };
        let mut headers = self.base_headers()?;
        let mut query = Vec::new();
        if in_query {
            query.push((
                "user_token".to_string(),
                user_token.expose_secret().to_string(),
            ));
        } else {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                sensitive(&format!("user_token {}", user_token.expose_secret()))?,
            );
        }
        let req = Request::get(Api::Legacy, "initSession", headers, &query);
        let body: super::model::SessionToken = self.send_json(&req, Retry::Read).await?;
        Ok(SecretString::from(body.session_token))
    }
}
