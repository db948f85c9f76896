//! The `[reconcile]` table (SPEC "Configuration", README "Reconcile"):
//! where `esia-glpi reconcile` reads the engine's current state — exactly
//! one of `status_file` (Nagios 4 / Naemon `status.dat`), `livestatus` (a
//! Livestatus unix socket) or `icinga2_url` with `icinga2_user` and
//! `icinga2_password_file` (and `ca_file`) for Icinga 2's REST API — and
//! how it acts: `create_missing`, its scope (`create_groups`,
//! `create_names`), the safety `margin` and the source's `max_age`.
//!
//! Self-contained: its raw form, its validated form and its validation.
//! The Icinga 2 password is read when reconcile (or `check`) needs it,
//! never by `notify`: a reconcile set-up cannot break an alert.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use toml::Spanned;

use super::error::ConfigError;
use super::validate::Validator;
use crate::core::reconcile::Scope;

/// The raw `[reconcile]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReconcile {
    pub(super) status_file: Option<Spanned<String>>,
    pub(super) livestatus: Option<Spanned<String>>,
    pub(super) icinga2_url: Option<Spanned<String>>,
    pub(super) icinga2_user: Option<Spanned<String>>,
    pub(super) icinga2_password_file: Option<Spanned<String>>,
    pub(super) ca_file: Option<Spanned<String>>,
    pub(super) create_missing: Option<bool>,
    pub(super) create_groups: Option<Vec<Spanned<String>>>,
    pub(super) create_names: Option<Vec<Spanned<String>>>,
    pub(super) margin: Option<Spanned<i64>>,
    pub(super) max_age: Option<Spanned<i64>>,
}

/// Where reconcile reads the engine's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReconcileSource {
    /// Nagios 4 / Naemon `status.dat`.
    StatusFile(PathBuf),
    /// A Livestatus unix socket.
    Livestatus(PathBuf),
    /// Icinga 2's REST API.
    Icinga2(Icinga2Api),
}

/// Icinga 2's REST API as `[reconcile]` names it. `Debug` shows no secret
/// (the password stays in its file until [`Icinga2Api::password`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Icinga2Api {
    /// `https://HOST:5665`, without a trailing `/`.
    pub(crate) url: String,
    pub(crate) user: String,
    pub(crate) password_file: PathBuf,
    /// PEM of the certificate authority of Icinga 2's API (its own CA,
    /// `/var/lib/icinga2/certs/ca.crt`), added to the system's.
    pub(crate) ca_file: Option<PathBuf>,
}

impl Icinga2Api {
    /// The API user's password: the first line of `icinga2_password_file`
    /// (`config`: the configuration file naming it, for the error).
    pub(crate) fn password(&self, config: &std::path::Path) -> Result<SecretString, ConfigError> {
        super::read_password(
            config,
            &self.password_file,
            "reconcile.icinga2_password_file",
        )
    }
}

/// The validated `[reconcile]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReconcileConfig {
    pub(crate) source: ReconcileSource,
    /// Open a ticket for a hard problem that has none (default true).
    pub(crate) create_missing: bool,
    /// Objects a ticket may be opened for even if this program never saw
    /// them.
    pub(crate) scope: Scope,
    /// Nothing acts on a state younger than this (default 30 s).
    pub(crate) margin: Duration,
    /// A source whose state is older than this is stale: nothing is done,
    /// exit 8 (default 60 s).
    pub(crate) max_age: Duration,
}

/// Default of `margin`, in seconds.
pub(crate) const DEFAULT_MARGIN_SECS: u64 = 30;
/// Default of `max_age`, in seconds.
pub(crate) const DEFAULT_MAX_AGE_SECS: u64 = 60;

impl ReconcileConfig {
    /// The table's defaults with `source` (`--status-file` without a
    /// `[reconcile]` table).
    pub(crate) fn with_source(source: ReconcileSource) -> ReconcileConfig {
        ReconcileConfig {
            source,
            create_missing: true,
            scope: Scope::default(),
            margin: Duration::from_secs(DEFAULT_MARGIN_SECS),
            max_age: Duration::from_secs(DEFAULT_MAX_AGE_SECS),
        }
    }
}

impl Validator<'_> {
    /// `[reconcile]`: one source, its companions only with it, absolute
    /// paths (the timer's working directory is not the administrator's).
    pub(super) fn reconcile(&self, raw: RawReconcile) -> Result<ReconcileConfig, ConfigError> {
        let absolute = |key: &str, value: Spanned<String>| -> Result<PathBuf, ConfigError> {
            let path = PathBuf::from(value.get_ref().trim());
            if path.is_absolute() {
                Ok(path)
            } else {
                Err(self.invalid(key, &value, "must be an absolute path"))
            }
        };
        let sources: Vec<(&str, &Spanned<String>)> = [
            ("reconcile.status_file", raw.status_file.as_ref()),
            ("reconcile.livestatus", raw.livestatus.as_ref()),
            ("reconcile.icinga2_url", raw.icinga2_url.as_ref()),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key, v)))
        .collect();
        if let Some((key, second)) = sources.get(1) {
            return Err(self.invalid(
                key,
                second,
                format!("give one source, not both {} and {key}", sources[0].0),
            ));
        }
        let only_icinga2 = "is used only with icinga2_url (Icinga 2's REST API)";
        if raw.icinga2_url.is_none() {
            for (key, value) in [
                ("reconcile.icinga2_user", &raw.icinga2_user),
                (
                    "reconcile.icinga2_password_file",
                    &raw.icinga2_password_file,
                ),
                ("reconcile.ca_file", &raw.ca_file),
            ] {
                if let Some(v) = value {
                    return Err(self.invalid(key, v, only_icinga2));
                }
            }
        }
        let source = if let Some(file) = raw.status_file {
            ReconcileSource::StatusFile(absolute("reconcile.status_file", file)?)
        } else if let Some(socket) = raw.livestatus {
            ReconcileSource::Livestatus(absolute("reconcile.livestatus", socket)?)
        } else if let Some(url) = raw.icinga2_url {
            ReconcileSource::Icinga2(self.icinga2(
                &url,
                raw.icinga2_user,
                raw.icinga2_password_file,
                raw.ca_file,
            )?)
        } else {
            return Err(ConfigError::MissingKey {
                path: self.path.to_owned(),
                key: "reconcile.status_file (or reconcile.livestatus, or reconcile.icinga2_url)",
            });
        };
        let names = |key: &str, list: Option<Vec<Spanned<String>>>| {
            list.unwrap_or_default()
                .into_iter()
                .map(|v| {
                    if v.get_ref().trim().is_empty() {
                        Err(self.invalid(key, &v, "an empty name names nothing"))
                    } else {
                        Ok(v.into_inner())
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(ReconcileConfig {
            source,
            create_missing: raw.create_missing.unwrap_or(true),
            scope: Scope {
                groups: names("reconcile.create_groups", raw.create_groups)?,
                names: names("reconcile.create_names", raw.create_names)?,
            },
            margin: Duration::from_secs(self.int_or(
                "reconcile.margin",
                raw.margin,
                0,
                3600,
                DEFAULT_MARGIN_SECS,
            )?),
            max_age: self.secs(
                "reconcile.max_age",
                raw.max_age,
                DEFAULT_MAX_AGE_SECS,
                86_400,
            )?,
        })
    }

    fn icinga2(
        &self,
        url: &Spanned<String>,
        user: Option<Spanned<String>>,
        password_file: Option<Spanned<String>>,
        ca_file: Option<Spanned<String>>,
    ) -> Result<Icinga2Api, ConfigError> {
        let written = url.get_ref().trim().trim_end_matches('/');
        let rest = super::raw::strip_prefix_ignore_case(written, "https://").ok_or_else(|| {
            self.invalid(
                "reconcile.icinga2_url",
                url,
                "must start with https:// (Icinga 2's API speaks only TLS), e.g. \
                 https://localhost:5665",
            )
        })?;
        if rest.is_empty() || rest.starts_with('/') || rest.chars().any(char::is_whitespace) {
            return Err(self.invalid("reconcile.icinga2_url", url, "names no server"));
        }
        let user = user.ok_or_else(|| self.missing("reconcile.icinga2_user"))?;
        if user.get_ref().trim().is_empty() || user.get_ref().contains(':') {
            return Err(self.invalid(
                "reconcile.icinga2_user",
                &user,
                "the name of an ApiUser (not empty, no ':')",
            ));
        }
        let password_file =
            password_file.ok_or_else(|| self.missing("reconcile.icinga2_password_file"))?;
        let password_path = PathBuf::from(password_file.get_ref());
        if !password_path.is_absolute() {
            return Err(self.invalid(
                "reconcile.icinga2_password_file",
                &password_file,
                "must be an absolute path",
            ));
        }
        let ca_file = ca_file
            .map(|c| {
                self.non_empty("reconcile.ca_file", c, "give the path of a PEM file")
                    .map(PathBuf::from)
            })
            .transpose()?;
        Ok(Icinga2Api {
            url: written.to_owned(),
            user: user.into_inner(),
            password_file: password_path,
            ca_file,
        })
    }
}
