//! Whom a record or a kept event belongs to: [`GlpiId`], the GLPI it was
//! written for, or the configuration that kept it before any GLPI answered;
//! and which of those one run claims as its own ([`Ours`]). A run never
//! uses a record nor delivers a kept event it does not claim.
//!
//! A GLPI is named by the root URL it reports itself (GLPI 10's
//! `getGlpiConfig` `url_base`, the endpoints GLPI 11's API root lists —
//! both built from GLPI's own setting, whatever `Host` the request named),
//! normalised like a configured `host`: so `http://localhost` and
//! `http://127.0.0.1` reaching one GLPI are one identity once it answered.
//! Records and kept events of earlier versions hold the configured root
//! URL, which a run still claims when its configuration spells it so.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The identity of one GLPI — or, for an event kept before any GLPI
/// answered, of the configuration that kept it (`config:SPELLED
/// HOST:PATH`).
/// Serialised as that plain string, as records and kept events of earlier
/// versions hold it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct GlpiId(String);

/// The start of a configuration's binding.
const CONFIG_PREFIX: &str = "config:";

impl GlpiId {
    pub(crate) fn new(id: impl Into<String>) -> GlpiId {
        GlpiId(id.into())
    }

    /// The identity of the GLPI whose root URL is `url`: scheme and server
    /// in lower case, without user information nor trailing `/`.
    pub(crate) fn of_url(url: &str) -> GlpiId {
        let url = url.trim().trim_end_matches('/');
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let server = authority.rsplit('@').next().unwrap_or(authority);
        GlpiId(format!(
            "{}://{}{path}",
            scheme.to_ascii_lowercase(),
            server.to_ascii_lowercase()
        ))
    }

    /// The binding of an event kept by the configuration `place` (this
    /// host's name and the file's path, [`config_place`]) before any GLPI
    /// answered it, with the root URL the configuration spells (none when
    /// it could not be read): `config:SPELLED PLACE`.
    pub(crate) fn of_config(spelled: Option<&GlpiId>, place: &str) -> GlpiId {
        let spelled = spelled.map_or("-", GlpiId::as_str);
        GlpiId(format!("{CONFIG_PREFIX}{spelled} {place}"))
    }

    /// A configuration's binding: the root URL it spelled (none: `-`) and
    /// its place.
    fn config_parts(&self) -> Option<(&str, &str)> {
        self.0.strip_prefix(CONFIG_PREFIX)?.split_once(' ')
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GlpiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What one run claims as its own: the GLPI it learned (when it knows it),
/// the root URL its configuration spells, and its configuration's binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ours {
    /// The identity GLPI reported, once known.
    pub(crate) learned: Option<GlpiId>,
    /// The configured root URL, normalised (what earlier versions wrote).
    pub(crate) spelled: GlpiId,
    /// The configuration's binding (`config:SPELLED HOST:PATH`).
    pub(crate) config: GlpiId,
}

/// Whether a run claims an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    Ours,
    /// Another GLPI's (known: this run learned its own).
    Theirs,
    /// Another configuration's events, kept before any GLPI answered it.
    OtherConfig,
    /// Not ours by its spelling; another GLPI's unless this run's GLPI,
    /// once it answers, names itself so.
    Unknown,
}

impl Ours {
    /// The binding of an event kept now: the learned GLPI when known, else
    /// the configuration (before any GLPI answered, the event goes to the
    /// configuration that kept it).
    pub(crate) fn binding(&self) -> &GlpiId {
        self.learned.as_ref().unwrap_or(&self.config)
    }

    /// Whether a record or a kept event bound to `id` is this run's: bound
    /// to its GLPI (learned, or spelled as this configuration spells it);
    /// or kept before any GLPI answered by this configuration (its place:
    /// this host, this file), or by one that spelled this GLPI's root URL
    /// the same way (another server of a site, same configuration).
    pub(crate) fn claim(&self, id: &GlpiId) -> Claim {
        let mine = |url: &str| {
            url == self.spelled.as_str() || self.learned.as_ref().is_some_and(|l| l.0 == url)
        };
        if mine(id.as_str()) {
            return Claim::Ours;
        }
        if let Some((spelled, place)) = id.config_parts() {
            let same_place = self.config.config_parts().is_some_and(|(_, p)| p == place);
            return if same_place || mine(spelled) {
                Claim::Ours
            } else {
                Claim::OtherConfig
            };
        }
        if self.learned.is_some() {
            Claim::Theirs
        } else {
            Claim::Unknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACE: &str = "mon1:/etc/esia/glpi.conf";

    fn ours(learned: Option<&str>) -> Ours {
        let spelled = GlpiId::of_url("http://localhost:8080");
        Ours {
            learned: learned.map(GlpiId::of_url),
            config: GlpiId::of_config(Some(&spelled), PLACE),
            spelled,
        }
    }

    #[test]
    fn urls_are_normalised_like_a_configured_host() {
        assert_eq!(
            GlpiId::of_url("HTTPS://User:pw@GLPI.Example.org/glpi/").as_str(),
            "https://glpi.example.org/glpi"
        );
    }

    #[test]
    fn what_a_run_claims() {
        let before = ours(None);
        assert_eq!(before.binding(), &before.config);
        assert_eq!(before.claim(&before.spelled), Claim::Ours);
        assert_eq!(before.claim(&before.config), Claim::Ours);
        let other = GlpiId::of_url("http://127.0.0.1:8080");
        assert_eq!(before.claim(&other), Claim::Unknown);
        // Another server with the same configuration: the same spelling.
        let same_site = GlpiId::of_config(Some(&before.spelled), "mon2:/etc/esia/glpi.conf");
        assert_eq!(before.claim(&same_site), Claim::Ours);
        // Another configuration, another spelling: its own.
        let typo = GlpiId::of_url("http://glpi.exmaple.org");
        let other_config = GlpiId::of_config(Some(&typo), "mon2:/etc/esia/glpi.conf");
        assert_eq!(before.claim(&other_config), Claim::OtherConfig);
        // This configuration, whatever it spelled then (a typo since fixed)
        // or if it could not be read.
        assert_eq!(
            before.claim(&GlpiId::of_config(Some(&typo), PLACE)),
            Claim::Ours
        );
        assert_eq!(before.claim(&GlpiId::of_config(None, PLACE)), Claim::Ours);
        let after = ours(Some("http://127.0.0.1:8080/"));
        assert_eq!(after.claim(&other), Claim::Ours, "one GLPI, two spellings");
        assert_eq!(after.binding(), &other);
        assert_eq!(
            after.claim(&GlpiId::of_url("http://glpi.other.org")),
            Claim::Theirs
        );
    }
}
