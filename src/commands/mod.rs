//! Command handlers: the imperative shell that joins the pure modules
//! (event, template, text, lifecycle) with the edges (config, state, GLPI,
//! output). Only here do GLPI and the state directory meet.

mod check;
mod deliver;
mod flush;
mod generate;
mod notify;
mod rebuild;
mod render;
mod state;

use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command};
use crate::config::{self, Config};
use crate::error::Error;

/// Global options every command sees.
#[derive(Debug)]
pub(crate) struct Globals {
    pub(crate) config_path: PathBuf,
    pub(crate) state_dir: Option<PathBuf>,
    pub(crate) json: bool,
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

    /// The state directory: `--state-dir`, else the configuration's.
    pub(crate) fn state_root<'a>(&'a self, config: &'a Config) -> &'a Path {
        self.state_dir.as_deref().unwrap_or(&config.state_dir)
    }
}

pub(crate) fn dispatch(cli: Cli) -> Result<(), Error> {
    let globals = Globals {
        config_path: cli
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH)),
        state_dir: cli.state_dir.clone(),
        json: cli.json,
    };
    match cli.command {
        Command::Notify(args) => notify::run(&globals, &args),
        Command::Flush => flush::run(&globals),
        Command::Check => check::run(&globals),
        Command::Render(args) => render::run(&globals, &args),
        Command::State(cmd) => state::run(&globals, &cmd),
        Command::Generate { dir } => generate::run(&dir),
    }
}

/// What the GLPI client needs from the configuration.
pub(crate) fn glpi_settings(config: &Config) -> crate::glpi::Settings {
    crate::glpi::Settings {
        api_url: config.api_url(),
        app_token: config.app_token.clone(),
        user_token: config.user_token.clone(),
        connect_timeout: config.connect_timeout,
        request_timeout: config.request_timeout,
        retries: config.retries,
        tls_verify: config.tls_verify,
        ca_file: config.ca_file.clone(),
    }
}

/// "YYYY-MM-DD HH:MM:SS" in the system time zone, for texts written in GLPI.
pub(crate) fn local_date(time: jiff::Timestamp) -> String {
    time.to_zoned(local_zone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The system's time zone. Without `TZ`, `/etc/localtime` is read directly:
/// jiff's `TimeZone::system()` first lists the whole zoneinfo database
/// (some 45 directory reads, ~5 % of a run's CPU) to resolve the name the
/// link points to, which a date written into a ticket does not need.
fn local_zone() -> jiff::tz::TimeZone {
    const LOCALTIME: &str = "/etc/localtime";
    if std::env::var_os("TZ").is_none()
        && let Ok(bytes) = std::fs::read(LOCALTIME)
        && let Ok(tz) = jiff::tz::TimeZone::tzif("localtime", &bytes)
    {
        return tz;
    }
    jiff::tz::TimeZone::system()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_zone_agrees_with_jiffs_system_zone() {
        let system = jiff::tz::TimeZone::system();
        let ours = local_zone();
        // Winter, summer, and around a European DST change.
        for secs in [1_700_000_000, 1_720_000_000, 1_711_846_800, 1_711_850_400] {
            let t = jiff::Timestamp::from_second(secs).expect("in range");
            assert_eq!(ours.to_offset(t), system.to_offset(t), "at {t}");
        }
    }
}
