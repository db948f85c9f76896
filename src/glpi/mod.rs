//! A thin, typed client of the GLPI legacy REST API (`apirest.php`), which
//! GLPI 10.0.x and 11.x both serve.
//!
//! One [`Session`] per run: `initSession` with `App-Token` and
//! `Authorization: user_token …`, the work, then `killSession` on every path
//! ([`Session::close`]). On `401 ERROR_SESSION_TOKEN_INVALID` the session is
//! opened again once and the call retried once. Token headers are marked
//! sensitive and never logged; URLs never carry a token — except when the web
//! server strips `Authorization` (`ERROR_LOGIN_PARAMETERS_MISSING` although a
//! token was sent, §12.4): then `initSession` is sent again with the
//! `user_token` as a query parameter, with a warning on every run, because the
//! token then lands in the web server's access log.

mod error;
pub(crate) mod model;
pub(crate) mod probe;
#[cfg(test)]
mod proptests;
mod search;
mod tickets;

use std::cell::{Cell, OnceCell, RefCell};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) use error::GlpiError;
pub(crate) use model::NewTicket;
pub(crate) use probe::{ItemLookup, Me, Profile};
pub(crate) use search::{AssetMatch, MarkedTicket, UserMatch};

/// What the client needs from the configuration.
#[derive(Debug)]
pub(crate) struct Settings {
    /// Ends with `/apirest.php/`.
    pub(crate) api_url: String,
    pub(crate) app_token: Option<SecretString>,
    pub(crate) user_token: SecretString,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    /// Extra attempts of an idempotent read after a transient failure.
    pub(crate) retries: u32,
    pub(crate) tls_verify: bool,
    pub(crate) ca_file: Option<std::path::PathBuf>,
}

/// Which certificate authorities the HTTP client trusts.
#[derive(Debug)]
enum Roots {
    /// The system's.
    System,
    /// The system's, plus those of `ca_file`.
    SystemAnd(Vec<reqwest::Certificate>),
    /// None: a plain `http://` GLPI, where no TLS is ever spoken.
    None,
}

/// How to build the HTTP client.
#[derive(Debug)]
struct HttpSetup {
    connect_timeout: Duration,
    request_timeout: Duration,
    tls_verify: bool,
    roots: Roots,
}

/// An HTTP client bound to one GLPI.
#[derive(Debug)]
pub(crate) struct Client {
    http: OnceCell<reqwest::Client>,
    http_setup: HttpSetup,
    api_url: String,
    app_token: Option<SecretString>,
    user_token: SecretString,
    retries: u32,
    /// HTTP requests sent, for the run's summary line.
    sent: Cell<u32>,
    /// The web server strips `Authorization`: send the `user_token` in the query.
    auth_in_query: Cell<bool>,
}

fn sensitive(value: &str) -> Result<HeaderValue, GlpiError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| GlpiError::Setup {
        reason: "a token contains characters that cannot be sent in an HTTP header".into(),
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// How a request may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Idempotent read: retried on transient failures.
    Read,
    /// A write: never retried blindly (a lost answer may hide a success).
    Write,
    /// killSession: idempotent, and worth two more tries whatever `retries`
    /// says, so that a passing error does not leave a session open in GLPI.
    Close,
}

impl Client {
    /// Checks the settings (`ca_file` is read and parsed here, so a bad one
    /// is reported at once); the HTTP client itself is built on the first
    /// request, so that a run which never contacts GLPI (a re-notification)
    /// does not load the system's root certificates (~4 ms over https).
    pub(crate) fn new(settings: Settings) -> Result<Client, GlpiError> {
        let roots = match &settings.ca_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| GlpiError::Setup {
                    reason: format!("cannot read ca_file {}: {e}", path.display()),
                })?;
                let certs =
                    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| GlpiError::Setup {
                        reason: format!(
                            "ca_file {} holds no usable PEM certificate: {e}",
                            path.display()
                        ),
                    })?;
                Roots::SystemAnd(certs)
            }
            // No TLS will ever be spoken: no root certificate is needed.
            None if plain_http(&settings.api_url) => Roots::None,
            None => Roots::System,
        };
        Ok(Client {
            http: OnceCell::new(),
            http_setup: HttpSetup {
                connect_timeout: settings.connect_timeout,
                request_timeout: settings.request_timeout,
                tls_verify: settings.tls_verify,
                roots,
            },
            api_url: settings.api_url,
            app_token: settings.app_token.filter(|t| !t.expose_secret().is_empty()),
            user_token: settings.user_token,
            retries: settings.retries,
            sent: Cell::new(0),
            auth_in_query: Cell::new(false),
        })
    }

    /// The HTTP client, built on first use.
    fn http(&self) -> Result<&reqwest::Client, GlpiError> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let setup = &self.http_setup;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(setup.connect_timeout)
            .timeout(setup.request_timeout)
            .user_agent(concat!("esia-glpi/", env!("CARGO_PKG_VERSION")))
            // A redirect is reported, never followed: a redirected POST comes
            // back as a GET without its body, and the URL to fix is `host`.
            .redirect(reqwest::redirect::Policy::none())
            .tls_danger_accept_invalid_certs(!setup.tls_verify);
        builder = match &setup.roots {
            Roots::System => builder,
            Roots::SystemAnd(certs) => builder.tls_certs_merge(certs.iter().cloned()),
            // Skips loading the system's root certificates (~150 files parsed).
            Roots::None => builder.tls_certs_only([]),
        };
        let http = builder.build().map_err(|e| GlpiError::Setup {
            reason: e.to_string(),
        })?;
        Ok(self.http.get_or_init(|| http))
    }

    /// Number of HTTP requests sent so far.
    pub(crate) fn requests_sent(&self) -> u32 {
        self.sent.get()
    }

    fn base_headers(&self) -> Result<HeaderMap, GlpiError> {
        let mut h = HeaderMap::new();
        if let Some(app) = &self.app_token {
            h.insert("App-Token", sensitive(app.expose_secret())?);
        }
        Ok(h)
    }

    /// `initSession`: opens a session with the `user_token`.
    pub(crate) async fn open(&self) -> Result<Session<'_>, GlpiError> {
        let token = self.init_session().await?;
        Ok(Session {
            client: self,
            token: RefCell::new(token),
            closed: Cell::new(false),
        })
    }

    async fn init_session(&self) -> Result<SecretString, GlpiError> {
        if !self.auth_in_query.get() {
            match self.init_session_via(false).await {
                Err(e) if e.code() == Some("ERROR_LOGIN_PARAMETERS_MISSING") => {
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
        let mut headers = self.base_headers()?;
        let mut query = Vec::new();
        if in_query {
            query.push((
                "user_token".to_string(),
                self.user_token.expose_secret().to_string(),
            ));
        } else {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                sensitive(&format!("user_token {}", self.user_token.expose_secret()))?,
            );
        }
        let body: model::SessionToken = self
            .send_json(
                Method::GET,
                "initSession",
                headers,
                None::<&()>,
                &query,
                Retry::Read,
            )
            .await?;
        Ok(SecretString::from(body.session_token))
    }

    /// Sends one request (with retries for reads) and decodes a JSON answer.
    async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: Option<&B>,
        query: &[(String, String)],
        retry: Retry,
    ) -> Result<T, GlpiError> {
        let what = format!("{method} {path}");
        let mut attempt = 0;
        loop {
            let result = self
                .send_once(&what, method.clone(), path, headers.clone(), body, query)
                .await;
            match result {
                Err(GlpiError::Unavailable { .. })
                    if (retry == Retry::Read && attempt < self.retries)
                        || (retry == Retry::Close && attempt < 2) =>
                {
                    attempt += 1;
                    let pause = backoff(attempt);
                    tracing::info!("{what} failed, retrying in {} ms", pause.as_millis());
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(e),
                Ok(bytes) => {
                    let de = &mut serde_json::Deserializer::from_slice(&bytes);
                    return serde_path_to_error::deserialize(de).map_err(|e| GlpiError::Protocol {
                        what,
                        detail: format!("at {}: {}", e.path(), e.inner()),
                    });
                }
            }
        }
    }

    async fn send_once<B: Serialize>(
        &self,
        what: &str,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: Option<&B>,
        query: &[(String, String)],
    ) -> Result<Vec<u8>, GlpiError> {
        let url = format!("{}{path}", self.api_url);
        let is_write = method != Method::GET;
        let mut req = self
            .http()?
            .request(method, &url)
            .headers(headers)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        } else {
            // GLPI 10 decodes stored entities on reads when asked (§6.8).
            req = req.header("X-GLPI-Sanitized-Content", "false");
        }
        self.sent.set(self.sent.get() + 1);
        let started = Instant::now();
        let unavailable = |reason: String, outcome_unknown: bool| GlpiError::Unavailable {
            what: what.to_string(),
            reason,
            outcome_unknown,
        };
        let response = req.send().await.map_err(|e| {
            // A write whose request went out may have been applied.
            let sent = is_write && !e.is_connect() && !e.is_builder();
            unavailable(describe(&e), sent)
        })?;
        let status = response.status();
        if status.is_redirection() {
            return Err(redirected(what, status, response.headers()));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unavailable(describe(&e), is_write))?;
        tracing::debug!(
            "{what} → {} ({} ms)",
            status.as_u16(),
            started.elapsed().as_millis()
        );
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        if status.is_server_error() {
            // PHP may have committed the write before failing.
            return Err(unavailable(format!("HTTP {status}"), is_write));
        }
        Err(decode_error(what, status, &bytes))
    }
}

/// Whether the API URL is plain `http://`.
fn plain_http(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

/// Exponential backoff with a little jitter (no RNG crate: the clock's
/// sub-second noise is enough to spread a storm of retries).
fn backoff(attempt: u32) -> Duration {
    let base = 200u64 << attempt.min(5);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
    ) % (base / 2 + 1);
    Duration::from_millis(base + jitter)
}

/// A short reason for a transport error, without the URL's query (no token
/// is ever in a URL, but keep messages short and stable).
fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut reason = kind.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    reason
}

/// Decodes GLPI's `["ERROR_CODE", message]` pair (message may be null).
pub(crate) fn decode_error(what: &str, status: StatusCode, bytes: &[u8]) -> GlpiError {
    match serde_json::from_slice::<(String, serde_json::Value)>(bytes) {
        Ok((code, message)) => {
            let message = match message {
                serde_json::Value::String(s) => strip_doc_suffix(&s),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            GlpiError::Refused {
                what: what.to_string(),
                status: status.as_u16(),
                code,
                message,
            }
        }
        Err(_) => {
            let text = String::from_utf8_lossy(bytes);
            let snippet: String = text.chars().take(120).collect();
            GlpiError::Protocol {
                what: what.to_string(),
                detail: format!("HTTP {status} with a body that is not a GLPI error: {snippet:?}"),
            }
        }
    }
}

/// A 3xx answer: where it points, without its query (which may echo ours,
/// and with the Authorization-stripped fallback that holds the `user_token`).
fn redirected(what: &str, status: StatusCode, headers: &HeaderMap) -> GlpiError {
    let to = headers
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(|l| l.split(['?', '#']).next().unwrap_or_default().to_string());
    let detail = match to {
        Some(to) => format!(
            "HTTP {status}, a redirect to {to}: set `host` to the address GLPI is really served \
             at (redirects are not followed)"
        ),
        None => {
            format!("HTTP {status}, a redirect without a Location (redirects are not followed)")
        }
    };
    GlpiError::Protocol {
        what: what.to_string(),
        detail,
    }
}

/// GLPI appends "; view documentation in your browser at <url>/#CODE".
fn strip_doc_suffix(message: &str) -> String {
    message
        .split_once("; view documentation")
        .map_or(message, |(m, _)| m)
        .to_string()
}

/// An open GLPI session. Call [`Session::close`] on every path.
#[derive(Debug)]
pub(crate) struct Session<'c> {
    client: &'c Client,
    token: RefCell<SecretString>,
    closed: Cell<bool>,
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
    async fn call<B: Serialize, T: DeserializeOwned>(
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
        if self.closed.replace(true) {
            return;
        }
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
