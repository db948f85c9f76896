//! One GLPI session: opened by [`Client::open`](super::Client::open), used
//! for the run's calls (re-opened once if GLPI forgot it), closed with
//! `killSession` on every path.

use std::cell::RefCell;

use reqwest::Method;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::client::{Client, Retry, sensitive};
use super::error::GlpiError;

impl Client {
    /// `initSession`: opens a session with the `user_token`.
    pub(crate) async fn open(&self) -> Result<Session<'_>, GlpiError> {
        let token = self.init_session().await?;
        Ok(Session {
            client: self,
            token: RefCell::new(token),
        })
    }
}

/// An open GLPI session. Call [`Session::close`] on every path.
#[derive(Debug)]
pub(crate) struct Session<'c> {
    pub(super) client: &'c Client,
    pub(super) token: RefCell<SecretString>,
}

impl Session<'_> {
    fn headers(&self) -> Result<HeaderMap, GlpiError> {
        let mut h = self.client.base_headers()?;
        h.insert(
            "Session-Token",
            sensitive(self.token.borrow().expose_secret())?,
        );
        Ok(h)
    }

    /// One API call; re-opens the session once if GLPI forgot it.
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
        let first = self
            .client
            .send_json(method.clone(), path, self.headers()?, body, query, retry)
            .await;
        match first {
            Err(e) if e.code() == Some("ERROR_SESSION_TOKEN_INVALID") => {
                tracing::info!("GLPI forgot the session; opening a new one");
                let token = self.client.init_session().await?;
                *self.token.borrow_mut() = token;
                self.client
                    .send_json(method, path, self.headers()?, body, query, retry)
                    .await
            }
            other => other,
        }
    }

    /// `killSession`. Failures are logged, never fatal: the work is done.
    pub(crate) async fn close(self) {
        let result: Result<serde_json::Value, GlpiError> = match self.headers() {
            Ok(h) => {
                self.client
                    .send_json(
                        Method::GET,
                        "killSession",
                        h,
                        None::<&()>,
                        &[],
                        Retry::Close,
                    )
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!("could not close the GLPI session: {e}");
        }
    }
}
