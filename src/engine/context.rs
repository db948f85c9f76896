//! What an engine runs with: the configuration, the state, the cache, the
//! clock, the time budget of the run and the GLPI it delivers to; the
//! tokio runtime every command runs on; the GLPI client and its settings.

use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::clock::Clock;
use super::error::EngineError;
use super::tokens::CachedTokens;
use crate::config::{Api, Config};
use crate::core::GlpiId;
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
    /// The identity of the configuration's GLPI (records and kept events
    /// are bound to it).
    pub(super) glpi: GlpiId,
}

impl<S> Context<'_, S> {
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
