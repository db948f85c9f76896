//! What an engine runs with: the configuration, the state, the cache, the
//! clock, the time budget of the run and the GLPI it delivers to; the
//! tokio runtime every command runs on; the GLPI client and its settings.

use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::clock::Clock;
use super::error::EngineError;
use super::tokens::CachedTokens;
use crate::config::{Api, Config};
use crate::core::{Claim, GlpiId, Ours};
use crate::glpi::{Client, Settings, V2Settings};
use crate::state::Cache;

/// How long closing the GLPI session may take once the work is done.
pub(super) const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The settings, state and clock of one command's engine.
pub(super) struct Context<'a, S> {
    pub(super) config: &'a Config,
    pub(super) store: &'a S,
    pub(super) cache: Cache,
    pub(super) clock: Clock,
    /// When the command started: `run_timeout` bounds the whole run.
    pub(super) started: Instant,
    /// What this run claims as its own (`core::identity`), as known when it
    /// started: the GLPI its cache says this configuration reaches, the
    /// configured root URL, the configuration's binding.
    pub(super) ours: Ours,
    /// The GLPI's identity, when this run learned it from GLPI itself.
    pub(super) learned: std::cell::OnceCell<GlpiId>,
}

/// The cache entry naming the GLPI a configured root URL reaches.
pub(super) const GLPI_ID: &str = "glpi-id";

/// How long the GLPI a configured root URL reaches is taken as known.
pub(super) const GLPI_ID_TTL: Duration = Duration::from_hours(7 * 24);

impl<S> Context<'_, S> {
    /// The identity records, traces and the inventory are written with:
    /// the GLPI's own when known, else the configured root URL.
    pub(super) fn glpi(&self) -> &GlpiId {
        self.learned
            .get()
            .or(self.ours.learned.as_ref())
            .unwrap_or(&self.ours.spelled)
    }

    /// What this run claims, with what it learned since it started.
    pub(super) fn ours(&self) -> Ours {
        Ours {
            learned: self.learned.get().or(self.ours.learned.as_ref()).cloned(),
            ..self.ours.clone()
        }
    }

    /// Whether a record or a kept event bound to `id` is this run's (none:
    /// written before bindings existed).
    pub(super) fn claim(&self, id: Option<&GlpiId>) -> Claim {
        id.map_or(Claim::Ours, |id| self.ours().claim(id))
    }

    /// True once this run knows which GLPI it reaches.
    pub(super) fn knows_glpi(&self) -> bool {
        self.learned.get().is_some() || self.ours.learned.is_some()
    }

    /// Notes what GLPI said its root URL is; cached for the next runs.
    pub(super) fn learn(&self, url_base: &str) {
        let id = GlpiId::of_url(url_base);
        if self.ours.learned.as_ref() != Some(&id) {
            self.cache.put(GLPI_ID, self.ours.spelled.as_str(), &id);
        }
        tracing::debug!("GLPI names itself {id}");
        let _ = self.learned.set(id);
    }
    /// What is left of `run_timeout`.
    pub(super) fn budget_left(&self) -> Duration {
        (self.started + self.config.run_timeout).saturating_duration_since(Instant::now())
    }

    /// The error of a run out of time.
    pub(super) fn run_timeout(&self) -> EngineError {
        EngineError::RunTimeout(self.config.run_timeout.as_secs())
    }
}

/// The one tokio runtime of a command (current thread: a run is one
/// sequence of requests), built and started once, by `lib::run`.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, EngineError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(EngineError::Runtime)
}

/// What the GLPI client needs from the configuration.
pub(crate) fn glpi_settings(config: &Config) -> Settings {
    let v2 = config.oauth.as_ref().map(|o| V2Settings {
        token_url: config.token_url(),
        client_id: o.client_id.clone(),
        client_secret: o.client_secret.clone(),
        username: o.username.clone(),
        // `config::load` read `password_file`; a configuration parsed
        // without it has no password, which GLPI refuses (invalid_grant).
        password: o
            .password
            .clone()
            .unwrap_or_else(|| SecretString::from(String::new())),
    });
    Settings {
        api_url: config.api_url(),
        v2_api_url: config.v2_url(),
        app_token: config.app_token.clone(),
        user_token: config.user_token.clone(),
        v2: v2.filter(|_| config.api == Api::V2),
        connect_timeout: config.connect_timeout,
        request_timeout: config.request_timeout,
        retries: config.retries,
        tls_verify: config.tls_verify,
        ca_file: config.ca_file.clone(),
    }
}

/// The GLPI client of a run: its OAuth2 tokens (`api = "v2"`) kept in the
/// state directory's cache between runs.
pub(crate) fn glpi_client(config: &Config, cache: &Cache) -> Result<Client, EngineError> {
    Ok(Client::new(glpi_settings(config))?
        .with_token_store(Box::new(CachedTokens::new(cache.clone()))))
}
