//! One run's access to GLPI, opened by [`Client::open`](super::Client::open):
//! a legacy session (`initSession` — with the `Authorization`-stripped
//! fallback — … `killSession` on every path, re-opened once if GLPI forgot
//! it), or the high-level API's bearer token (nothing to
//! open or close; a token GLPI refuses is renewed once and the call retried).

use std::cell::RefCell;

use reqwest::Method;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::client::{Client, Retry, sensitive};
use super::code::ErrorCode;
use super::error::GlpiError;
use super::http::{Api, Request};

impl Client {
    /// Opens this run's access: `initSession` with the `user_token`, or the
    /// high-level API's access token (cached, refreshed, or granted).
    pub(crate) async fn open(&self) -> Result<Session<'_>, GlpiError> {
        let auth = if self.is_v2() {
            // A token this run already holds (`check`'s grant) serves.
            if self.bearer.borrow().is_none() {
                self.access_token(None).await?;
            }
            Auth::Bearer
        } else {
            Auth::Legacy(self.init_session().await?)
        };
        Ok(Session {
            client: self,
            auth: RefCell::new(auth),
        })
    }

    /// A legacy session beside the high-level API, for what the latter
    /// cannot do (linking an asset): `None` without a `user_token`.
    pub(crate) async fn open_legacy(&self) -> Result<Option<Session<'_>>, GlpiError> {
        if !self.has_legacy_login() {
            return Ok(None);
        }
        Ok(Some(Session {
            client: self,
            auth: RefCell::new(Auth::Legacy(self.init_session().await?)),
        }))
    }
}

/// How a session's calls are authenticated.
#[derive(Debug)]
pub(super) enum Auth {
    /// The legacy API's `Session-Token`.
    Legacy(SecretString),
    /// The high-level API: the client's current access token.
    Bearer,
}

/// An open GLPI session. Call [`Session::close`] on every path.
#[derive(Debug)]
pub(crate) struct Session<'c> {
    pub(super) client: &'c Client,
    pub(super) auth: RefCell<Auth>,
}

impl Session<'_> {
    /// True when this session speaks the high-level API.
    pub(crate) fn is_v2(&self) -> bool {
        matches!(*self.auth.borrow(), Auth::Bearer)
    }

    fn headers(&self) -> Result<HeaderMap, GlpiError> {
        match &*self.auth.borrow() {
            Auth::Legacy(token) => {
                let mut h = self.client.base_headers()?;
                h.insert("Session-Token", sensitive(token.expose_secret())?);
                Ok(h)
            }
            Auth::Bearer => {
                let mut h = HeaderMap::new();
                let token = self.client.bearer.borrow();
                let token = token.as_ref().ok_or_else(|| GlpiError::Setup {
                    reason: "no access token".into(),
                })?;
                h.insert(
                    reqwest::header::AUTHORIZATION,
                    sensitive(&format!("Bearer {}", token.expose_secret()))?,
                );
                Ok(h)
            }
        }
    }

    /// One API call (legacy, or high-level with a `v2` session): a session
    /// GLPI forgot is re-opened once, a refused access token renewed once,
    /// and the call retried.
    pub(super) async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        query: &[(String, String)],
    ) -> Result<T, GlpiError> {
        let retry = if method == Method::GET {
            Retry::Read
        } else {
            Retry::Write
        };
        let api = if self.is_v2() { Api::V2 } else { Api::Legacy };
        let request = |headers| Request {
            api,
            method: method.clone(),
            path,
            headers,
            body,
            query,
        };
        let first = self
            .client
            .send_json(&request(self.headers()?), retry)
            .await;
        match first {
            Err(e) if api == Api::Legacy && e.code() == Some(&ErrorCode::SessionTokenInvalid) => {
                tracing::info!("GLPI forgot the session; opening a new one");
                let token = self.client.init_session().await?;
                *self.auth.borrow_mut() = Auth::Legacy(token);
            }
            Err(e) if api == Api::V2 && token_refused(&e) => {
                tracing::info!("GLPI refused the access token ({e}); getting a new one");
                let refused = self.client.bearer.borrow().clone();
                self.client.access_token(refused.as_ref()).await?;
            }
            other => return other,
        }
        self.client
            .send_json(&request(self.headers()?), retry)
            .await
    }

    /// `killSession` (legacy). Failures are logged, never fatal: the work is
    /// done. The high-level API has no session to close.
    pub(crate) async fn close(self) {
        if self.is_v2() {
            return;
        }
        let result: Result<serde_json::Value, GlpiError> = match self.headers() {
            Ok(headers) => {
                let req = Request {
                    api: Api::Legacy,
                    method: Method::GET,
                    path: "killSession",
                    headers,
                    body: None::<&()>,
                    query: &[],
                };
                self.client.send_json(&req, Retry::Close).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!("could not close the GLPI session: {e}");
        }
    }
}

/// True when GLPI's high-level API refused the access token itself (revoked,
/// expired, unreadable): `401 ERROR_UNAUTHENTICATED`, or `400
/// ERROR_INVALID_PARAMETER` "Invalid OAuth token" (glpi11-transcripts 04b,
/// 04c, 04g).
pub(super) fn token_refused(e: &GlpiError) -> bool {
    match e {
        GlpiError::Refused {
            status: 401,
            code: ErrorCode::Unauthenticated,
            ..
        } => true,
        GlpiError::Refused {
            status: 400,
            code: ErrorCode::InvalidParameter,
            message,
            ..
        } => message.contains("OAuth token"),
        _ => false,
    }
}

/// The legacy login: `initSession`, with the `Authorization`-stripped
/// fallback (§12.4).
impl Client {
    pub(super) async fn init_session(&self) -> Result<SecretString, GlpiError> {
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
        let req = Request {
            api: Api::Legacy,
            method: Method::GET,
            path: "initSession",
            headers,
            body: None::<&()>,
            query: &query,
        };
        let body: super::model::SessionToken = self.send_json(&req, Retry::Read).await?;
        Ok(SecretString::from(body.session_token))
    }
}
