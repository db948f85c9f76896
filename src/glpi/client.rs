//! The HTTP client bound to one GLPI: its settings (timeouts, TLS roots,
//! tokens, the high-level API's OAuth2 client), built on the first request.
//! Which API tickets go through is decided here ([`Client::api`]); requests
//! are sent by `http.rs`, sessions opened by `session.rs`, tokens granted by
//! `oauth.rs`.

use std::cell::{Cell, OnceCell, RefCell};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use super::credentials::{TokenStore, V2Settings};
use super::error::GlpiError;

/// What the client needs from the configuration.
#[derive(Debug)]
pub(crate) struct Settings {
    /// Ends with `/apirest.php/`.
    pub(crate) api_url: String,
    /// The high-level API's, beside it: ends with `/api.php/v2/`.
    pub(crate) v2_api_url: String,
    pub(crate) app_token: Option<SecretString>,
    /// The legacy API's login; `None` with the high-level API when the
    /// legacy one is not to be used at all.
    pub(crate) user_token: Option<SecretString>,
    /// The high-level API (GLPI 11), when tickets go through it.
    pub(crate) v2: Option<V2Settings>,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    /// Extra attempts of an idempotent read after a transient failure.
    pub(crate) retries: u32,
    pub(crate) tls_verify: bool,
    pub(crate) ca_file: Option<std::path::PathBuf>,
}

/// Which of GLPI's APIs a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `apirest.php/`: a JSON `Content-Type` on every request, and reads
    /// asking GLPI 10 to decode its stored entities (§6.8).
    Legacy,
    /// `api.php/v2/`: `Content-Type` only with a body (GLPI 11 reads an empty
    /// body sent as JSON as an invalid one).
    V2,
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
    pub(super) api_url: String,
    pub(super) v2_api_url: String,
    app_token: Option<SecretString>,
    pub(super) user_token: Option<SecretString>,
    /// The high-level API's settings, when tickets go through it.
    pub(super) v2: Option<V2Settings>,
    /// Where the OAuth2 tokens are kept between runs (none: this run only).
    pub(super) token_store: Option<Box<dyn TokenStore>>,
    /// The access token this run uses.
    pub(super) bearer: RefCell<Option<SecretString>>,
    /// Whether GLPI is version 11 or later (`None`: not known yet).
    glpi11: Cell<Option<bool>>,
    pub(super) retries: u32,
    /// HTTP requests sent, for the run's summary line.
    pub(super) sent: Cell<u32>,
    /// The web server strips `Authorization`: send the `user_token` in the query.
    pub(super) auth_in_query: Cell<bool>,
}

pub(super) fn sensitive(value: &str) -> Result<HeaderValue, GlpiError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| GlpiError::Setup {
        reason: "a token contains characters that cannot be sent in an HTTP header".into(),
    })?;
    v.set_sensitive(true);
    Ok(v)
}

impl Client {
    /// Checks the settings (`ca_file` is read and parsed here, so a bad one
    /// is reported at once); the HTTP client itself is built on the first
    /// request, so that a run which never contacts GLPI (a re-notification)
    /// does not load the system's root certificates (~4 ms over https).
    pub(crate) fn new(settings: Settings) -> Result<Client, GlpiError> {
        let roots = match &settings.ca_file {
            Some(path) => Roots::SystemAnd(
                crate::net::ca_certs(path).map_err(|reason| GlpiError::Setup { reason })?,
            ),
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
            v2_api_url: settings.v2_api_url,
            app_token: settings.app_token.filter(|t| !t.expose_secret().is_empty()),
            user_token: settings.user_token,
            glpi11: Cell::new(settings.v2.as_ref().map(|_| true)),
            v2: settings.v2,
            token_store: None,
            bearer: RefCell::new(None),
            retries: settings.retries,
            sent: Cell::new(0),
            auth_in_query: Cell::new(false),
        })
    }

    /// The HTTP client, built on first use.
    pub(super) fn http(&self) -> Result<&reqwest::Client, GlpiError> {
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

    /// Keeps the OAuth2 tokens of the high-level API in `store` between runs.
    pub(crate) fn with_token_store(mut self, store: Box<dyn TokenStore>) -> Client {
        self.token_store = Some(store);
        self
    }

    /// The API tickets go through: GLPI 11's high-level API when it is
    /// configured, else the legacy one. Sessions are opened on it
    /// ([`Client::open`]).
    pub(crate) fn api(&self) -> Api {
        if self.v2.is_some() {
            Api::V2
        } else {
            Api::Legacy
        }
    }

    /// True when the legacy API can be logged into (a `user_token`).
    pub(crate) fn has_legacy_login(&self) -> bool {
        self.user_token.is_some()
    }

    /// True when a ticket can be linked to an asset: always over the legacy
    /// API; over the high-level API, which has no call for it, only through
    /// a legacy login beside it.
    pub(crate) fn can_link_assets(&self) -> bool {
        self.api() == Api::Legacy || self.has_legacy_login()
    }

    /// Whether GLPI is version 11 or later, when known.
    pub(crate) fn glpi11(&self) -> Option<bool> {
        self.glpi11.get()
    }

    /// Records GLPI's version (from the cache, or once asked).
    pub(crate) fn set_glpi11(&self, yes: bool) {
        self.glpi11.set(Some(yes));
    }

    /// The high-level API's base URL (`…/api.php/v2/`).
    pub(super) fn v2_url(&self) -> &str {
        &self.v2_api_url
    }

    /// True once `initSession` had to send the `user_token` as a query
    /// parameter because the web server strips `Authorization` (§12.4).
    pub(crate) fn auth_in_query(&self) -> bool {
        self.auth_in_query.get()
    }

    /// Number of HTTP requests sent so far.
    pub(crate) fn requests_sent(&self) -> u32 {
        self.sent.get()
    }

    pub(super) fn base_headers(&self) -> Result<HeaderMap, GlpiError> {
        let mut h = HeaderMap::new();
        if let Some(app) = &self.app_token {
            h.insert("App-Token", sensitive(app.expose_secret())?);
        }
        Ok(h)
    }
}

/// Whether the API URL is plain `http://`.
fn plain_http(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

/// How a request may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Idempotent read: retried on transient failures.
    Read,
    /// A write: never retried blindly (a lost answer may hide a success).
    Write,
    /// killSession: idempotent, and worth two more tries whatever `retries`
    /// says, so that a passing error does not leave a session open in GLPI.
    Close,
}
