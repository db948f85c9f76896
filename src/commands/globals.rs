//! What every subcommand sees: the global options, the configuration they
//! name, the state it names, and the monitoring engine's environment macros.

use std::path::{Path, PathBuf};

use crate::config::{self, Config, PgConfig, StateBackend};
use crate::core::{HostStamp, MonitorEnv};
use crate::engine::{Clock, Engine};
use crate::error::Error;
use crate::state::{self, AnyStore, Backend, PgSettings, StateError, Store};

/// Global options every command sees.
#[derive(Debug)]
pub(crate) struct Globals {
    pub(crate) config_path: PathBuf,
    /// The configuration was named (`--config` or `ESIA_GLPI_CONFIG`),
    /// rather than defaulted.
    pub(crate) config_named: bool,
    pub(crate) state_dir: Option<PathBuf>,
    pub(crate) json: bool,
    /// When the process was started, on the host's monotonic clock.
    pub(crate) started: Option<HostStamp>,
}

impl Globals {
    /// Reads and validates the configuration, logging its warnings.
    pub(crate) fn load_config(&self) -> Result<Config, Error> {
        let loaded = config::load(&self.config_path)?;
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
        Ok(loaded.config)
    }

    /// The configuration of a command that talks to GLPI: refused (exit 3,
    /// before any network call) while it still holds the shipped example
    /// values.
    pub(crate) fn load_glpi_config(&self) -> Result<Config, Error> {
        let config = self.load_config()?;
        config::require_real(&config, &self.config_path)?;
        Ok(config)
    }

    /// Whether there is a configuration to honour: one was named, or the
    /// default file exists (anything but "not found" counts: an unreadable
    /// default is a configuration that cannot be read, not an absent one).
    pub(crate) fn has_config(&self) -> bool {
        self.config_named
            || std::fs::symlink_metadata(&self.config_path)
                .map_or_else(|e| e.kind() != std::io::ErrorKind::NotFound, |_| true)
    }

    /// Where this configuration is (`core::identity`): this host's name and
    /// the file's canonical path — what binds the events it keeps before
    /// any GLPI answered, so that only a run reading this file (or spelling
    /// the same GLPI) delivers them.
    pub(crate) fn config_place(&self) -> String {
        let path = std::fs::canonicalize(&self.config_path).unwrap_or_else(|_| {
            std::path::absolute(&self.config_path).unwrap_or_else(|_| self.config_path.clone())
        });
        let host = rustix::system::uname();
        format!("{}:{}", host.nodename().to_string_lossy(), path.display())
    }

    /// The engine of a command on `store`, on the system clock, its run
    /// started at `started`.
    pub(crate) fn engine<'a>(
        &self,
        config: &'a Config,
        store: &'a AnyStore,
        started: std::time::Instant,
    ) -> Engine<'a, AnyStore> {
        Engine::new(
            config,
            store,
            store.cache(),
            Clock::system(),
            started,
            &self.config_place(),
        )
    }

    /// The state directory: `--state-dir`, else the configuration's.
    pub(crate) fn state_root<'a>(&'a self, config: &'a Config) -> &'a Path {
        self.state_dir.as_deref().unwrap_or(&config.state_dir)
    }

    /// Opens the state the configuration names (`[state] backend`). The
    /// database is reached on first use.
    pub(crate) fn open_store(&self, config: &Config) -> Result<AnyStore, StateError> {
        state::open(self.state_root(config), backend(config))
    }
}

/// The backend `[state]` names.
pub(crate) fn backend(config: &Config) -> Backend {
    match &config.state {
        StateBackend::Files => Backend::Files,
        StateBackend::Postgres(pg) => Backend::Postgres(pg_settings(config, pg)),
    }
}

/// What the PostgreSQL backend needs from the configuration.
pub(crate) fn pg_settings(config: &Config, pg: &PgConfig) -> PgSettings {
    PgSettings {
        url: pg.url.clone(),
        password: pg.password.clone(),
        ca_file: pg.ca_file.clone(),
        tls_verify: pg.tls_verify,
        connect_timeout: config.connect_timeout,
        request_timeout: config.request_timeout,
    }
}

/// Runs `work` on `store`, then lets the store finish what it has in
/// flight (a database's unlocks), whatever `work` returned.
pub(crate) async fn finishing<S: Store, T>(
    store: &S,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let result = work.await;
    store.finish().await;
    result
}

/// The Nagios/Icinga macros of this process's environment, read once.
/// Values that are not UTF-8 are converted (`os_text`), never fatal.
pub(super) fn monitor_env() -> MonitorEnv {
    MonitorEnv::from_vars(std::env::vars_os().map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            crate::core::resolve::os_text(&v),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globals(config_path: PathBuf, config_named: bool) -> Globals {
        Globals {
            config_path,
            config_named,
            state_dir: Some(PathBuf::from("/var/lib/esia-glpi")),
            json: false,
            started: None,
        }
    }

    /// `state list --state-dir` reads the directory alone only when there
    /// is no configuration at all: none named, and no default file.
    #[test]
    fn a_configuration_is_there_when_named_or_when_the_default_exists() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("glpi.conf");
        assert!(globals(absent.clone(), true).has_config());
        assert!(!globals(absent.clone(), false).has_config());
        std::fs::write(&absent, "not even TOML").unwrap();
        assert!(globals(absent.clone(), false).has_config());
        // A dangling link is a configuration that cannot be read.
        let link = dir.path().join("link.conf");
        std::os::unix::fs::symlink(dir.path().join("gone"), &link).unwrap();
        assert!(globals(link, false).has_config());
    }
}
