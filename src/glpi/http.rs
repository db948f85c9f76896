//! Sending one request to GLPI: retries of reads with backoff, the
//! classification of failures (refused / unavailable / unreadable), GLPI's
//! errors decoded (the legacy pair, the high-level API's object, OAuth2's
//! object) with their code parsed into an [`ErrorCode`], redirects reported
//! rather than followed; and [`Access`], the authenticated call both
//! transports make (the transport gives the headers and renews them once
//! when GLPI refuses them).

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::client::{Api, Client, Retry};
use super::code::ErrorCode;
use super::error::GlpiError;

/// One request: where, how, with what.
pub(super) struct Request<'a, B> {
    pub(super) api: Api,
    pub(super) method: Method,
    /// Relative to the API's base URL.
    pub(super) path: &'a str,
    pub(super) headers: HeaderMap,
    pub(super) body: Option<&'a B>,
    pub(super) query: &'a [(String, String)],
}

impl<'a> Request<'a, ()> {
    /// A `GET` of `path`, without a body.
    pub(super) fn get(
        api: Api,
        path: &'a str,
        headers: HeaderMap,
        query: &'a [(String, String)],
    ) -> Request<'a, ()> {
        Request {
            api,
            method: Method::GET,
            path,
            headers,
            body: None,
            query,
        }
    }
}

impl<B> Request<'_, B> {
    /// `METHOD path`, for messages.
    pub(super) fn what(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// How a transport authenticates its calls.
pub(super) trait Access {
    /// The API its calls go to.
    const API: Api;

    fn client(&self) -> &Client;

    /// The headers that authenticate a call.
    fn headers(&self) -> Result<HeaderMap, GlpiError>;

    /// When `refusal` says GLPI no longer accepts the credentials: renews
    /// them and answers true, and the call is sent once more.
    async fn renewed(&self, refusal: &GlpiError) -> Result<bool, GlpiError>;

    /// One API call: a read retried on transient failures, a write never;
    /// credentials GLPI refuses renewed once, and the call sent again.
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
        let request = |headers| Request {
            api: Self::API,
            method: method.clone(),
            path,
            headers,
            body,
            query,
        };
        let client = self.client();
        let first = client.send_json(&request(self.headers()?), retry).await;
        if let Err(refusal) = &first
            && self.renewed(refusal).await?
        {
            return client.send_json(&request(self.headers()?), retry).await;
        }
        first
    }
}

impl Client {
    /// Sends one request (with retries for reads) and decodes a JSON answer.
    pub(super) async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        req: &Request<'_, B>,
        retry: Retry,
    ) -> Result<T, GlpiError> {
        let bytes = self.send(req, retry).await?;
        decode(&req.what(), &bytes)
    }

    /// Sends one request (with retries for reads); the answer's bytes.
    pub(super) async fn send<B: Serialize>(
        &self,
        req: &Request<'_, B>,
        retry: Retry,
    ) -> Result<Vec<u8>, GlpiError> {
        let what = req.what();
        let mut attempt = 0;
        loop {
            match self.send_once(&what, req).await {
                Err(GlpiError::Unavailable { .. })
                    if (retry == Retry::Read && attempt < self.retries)
                        || (retry == Retry::Close && attempt < 2) =>
                {
                    attempt += 1;
                    let pause = backoff(attempt);
                    tracing::info!("{what} failed, retrying in {} ms", pause.as_millis());
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }

    pub(super) async fn send_once<B: Serialize>(
        &self,
        what: &str,
        r: &Request<'_, B>,
    ) -> Result<Vec<u8>, GlpiError> {
        let base = match r.api {
            Api::Legacy => &self.api_url,
            Api::V2 => self.v2_url(),
        };
        let url = format!("{base}{}", r.path);
        let is_write = r.method != Method::GET;
        let mut req = self
            .http()?
            .request(r.method.clone(), &url)
            .headers(r.headers.clone());
        if !r.query.is_empty() {
            req = req.query(r.query);
        }
        match (r.body, r.api) {
            (Some(b), _) => req = req.json(b),
            (None, Api::Legacy) => {
                // GLPI 10 decodes stored entities on reads when asked (§6.8).
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header("X-GLPI-Sanitized-Content", "false");
            }
            (None, Api::V2) => req = req.header(reqwest::header::ACCEPT, "application/json"),
        }
        self.exchange(what, req, is_write).await
    }

    /// Sends a built request and classifies the answer: the body of a 2xx,
    /// or the error.
    pub(super) async fn exchange(
        &self,
        what: &str,
        req: reqwest::RequestBuilder,
        is_write: bool,
    ) -> Result<Vec<u8>, GlpiError> {
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
            unavailable(crate::net::describe(&e), sent)
        })?;
        let status = response.status();
        if status.is_redirection() {
            return Err(redirected(what, status, response.headers()));
        }
        let high_level = response.url().path().contains("/api.php/");
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unavailable(crate::net::describe(&e), is_write))?;
        tracing::debug!(
            "{what} → {} ({} ms)",
            status.as_u16(),
            started.elapsed().as_millis()
        );
        if status.is_success() {
            return Ok(json_part(what, &bytes).to_vec());
        }
        if status.is_server_error() {
            // PHP may have committed the write before failing.
            return Err(unavailable(format!("HTTP {status}"), is_write));
        }
        Err(match decode_error(what, status, &bytes) {
            GlpiError::NotFound { what, .. } => GlpiError::NotFound { what, high_level },
            other => other,
        })
    }
}

/// Decodes a JSON answer, naming where it does not fit; an empty answer
/// is `null`.
pub(super) fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, GlpiError> {
    // An empty answer (`201` to a v2 team member, `204`) reads as `null`.
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        bytes
    };
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| GlpiError::Protocol {
        what: what.to_string(),
        detail: format!("at {}: {}", e.path(), e.inner()),
    })
}

/// Whether GLPI's PHP was seen printing notices before its answers (said once).
static PHP_NOISE_SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// What PHP prints before an answer when `display_errors` is on.
fn looks_like_php_output(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    [
        "Notice",
        "Warning",
        "Deprecated",
        "Fatal error",
        "Parse error",
    ]
    .iter()
    .any(|w| text.contains(&format!("<b>{w}</b>")) || text.contains(&format!("{w}: ")))
}

/// The JSON of an answer. A GLPI whose PHP prints notices or warnings
/// before its answer (`display_errors` on, common on misconfigured
/// servers) still gives an intact JSON document after them: it is read
/// from there, and a warning says how to fix the server, once per run.
pub(super) fn json_part<'a>(what: &str, bytes: &'a [u8]) -> &'a [u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    if matches!(bytes.get(start), Some(b'{' | b'[') | None) || !looks_like_php_output(bytes) {
        return bytes;
    }
    let json = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, b'{' | b'['))
        .take(64)
        .map(|(i, _)| &bytes[i..])
        .find(|rest| serde_json::from_slice::<serde::de::IgnoredAny>(rest).is_ok());
    match json {
        Some(json) => {
            if !PHP_NOISE_SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::warn!(
                    "GLPI printed a PHP notice or warning before its answer to {what} (read past \
                     it): turn display_errors off in the PHP configuration of GLPI's web server"
                );
            }
            json
        }
        None => bytes,
    }
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

/// GLPI's error object in the high-level API (glpi-api.md §11.3) and in
/// OAuth2 answers (league/oauth2-server).
#[derive(serde::Deserialize)]
struct ErrorObject {
    /// v2: `ERROR_…`.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<serde_json::Value>,
    /// OAuth2: `invalid_grant`, `invalid_client`, …
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    hint: Option<String>,
}

impl ErrorObject {
    /// The code and the message, if this is one of GLPI's error objects.
    fn read(self) -> Option<(String, String)> {
        let join = |parts: [Option<String>; 2]| {
            parts
                .into_iter()
                .flatten()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(": ")
        };
        if let Some(code) = self.status {
            let detail = match self.detail {
                Some(serde_json::Value::String(s)) => Some(s),
                None | Some(serde_json::Value::Null) => None,
                Some(other) => Some(other.to_string()),
            };
            return Some((code, join([self.title, detail])));
        }
        let code = self.error?;
        Some((code, join([self.error_description, self.hint])))
    }
}

/// Decodes GLPI's error: the legacy `["ERROR_CODE", message]` pair (message
/// may be null), or the object of the high-level API and of its OAuth2
/// server. An answer that is none of them is not GLPI's: a 404 means `host`
/// points where GLPI's API is not (a configuration error); PHP's own
/// messages mean `display_errors` is on and GLPI failed.
pub(crate) fn decode_error(what: &str, status: StatusCode, bytes: &[u8]) -> GlpiError {
    let bytes = json_part(what, bytes);
    let refused = |code: String, message: String| GlpiError::Refused {
        what: what.to_string(),
        status: status.as_u16(),
        code: ErrorCode::from(code),
        message,
    };
    if let Ok((code, message)) = serde_json::from_slice::<(String, serde_json::Value)>(bytes) {
        let message = match message {
            serde_json::Value::String(s) => strip_doc_suffix(&s),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        return refused(code, message);
    }
    // Only an object: serde would also read a struct from an array.
    if let Some((code, message)) =
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes)
            .ok()
            .and_then(|o| serde_json::from_value::<ErrorObject>(o.into()).ok())
            .and_then(ErrorObject::read)
    {
        return refused(code, message);
    }
    if looks_like_php_output(bytes) {
        return GlpiError::PhpOutput {
            what: what.to_string(),
        };
    }
    if status == StatusCode::NOT_FOUND {
        return GlpiError::NotFound {
            what: what.to_string(),
            high_level: false,
        };
    }
    let text = String::from_utf8_lossy(bytes);
    let snippet: String = text.chars().take(120).collect();
    GlpiError::Protocol {
        what: what.to_string(),
        detail: format!("HTTP {status} with a body that is not a GLPI error: {snippet:?}"),
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
