//! Look-ups in GLPI: the key's open ticket (by `externalid` on GLPI 11, by
//! the marker in the description before), the requester by login and the
//! asset by name, GLPI's version (these three cached for `cache_ttl`).

use crate::core::Key;
use crate::glpi::{AssetMatch, GlpiError, UserMatch};
use crate::state::Store;
use crate::text;

use super::deliver::Run;
use super::error::EngineError;

impl<S: Store> Run<'_, S> {
    /// The oldest open ticket carrying the key's marker, among those the
    /// API user wrote (a criterion GLPI answers from an index). GLPI's "contains"
    /// also finds a ticket whose check output merely quotes this marker: a
    /// ticket counts only if its own marker — the last one of its content,
    /// which esia-glpi writes after every monitored value — names this key
    /// (or if no marker can be read back, e.g. a content GLPI cut short).
    pub(super) async fn find_open(&mut self, key: &Key) -> Result<Option<u64>, EngineError> {
        let external_id = self.glpi11().await?.then(|| text::external_id(key));
        let writer = self.api_user().await?;
        let rows = self
            .session()
            .await?
            .find_open_tickets(&text::marker(key), external_id.as_deref(), writer)
            .await?;
        let ids: Vec<u64> = rows
            .into_iter()
            .filter(|t| match text::parse_marker(&t.content) {
                Some(theirs) if theirs != *key => {
                    tracing::warn!(
                        "ticket {} only quotes the marker of {key} (it is the ticket of \
                         {theirs}): not taken for it",
                        t.id
                    );
                    false
                }
                _ => true,
            })
            .map(|t| t.id)
            .collect();
        if ids.len() > 1 {
            tracing::warn!(
                "{} open tickets carry the marker of {key}: using the oldest, {}",
                ids.len(),
                ids[0]
            );
        }
        Ok(ids.first().copied())
    }

    /// Learns which GLPI this run reaches, from GLPI itself (its root URL,
    /// `core::identity`), with the session just opened: over the legacy
    /// API `getGlpiConfig` — whose version is cached too, sparing the
    /// question [`Run::glpi11`] would ask —, over the high-level API its
    /// root. A GLPI that does not say leaves the run on its configured
    /// root URL.
    pub(super) async fn learn_glpi(&mut self) -> Result<(), EngineError> {
        let Some(session) = self.session_if_open() else {
            return Ok(());
        };
        let asked = if self.glpi.glpi11() == Some(true) {
            session.url_base().await
        } else {
            session
                .glpi_config()
                .await
                .map(|c| {
                    let glpi11 = c
                        .version
                        .as_deref()
                        .and_then(major)
                        .is_some_and(|m| m >= 11);
                    (c.url_base, Some(glpi11))
                })
                .map(|(url, glpi11)| {
                    if let (Some(url), Some(v)) = (&url, glpi11) {
                        let id = crate::core::GlpiId::of_url(url);
                        self.engine.cache.put("glpi11", id.as_str(), &v);
                    }
                    url
                })
        };
        match asked {
            Ok(Some(url)) => self.engine.learn(&url),
            Ok(None) => tracing::warn!(
                "GLPI did not say its root URL: records and kept events stay bound to the \
                 configured host"
            ),
            Err(e @ GlpiError::Unavailable { .. }) => return Err(e.into()),
            Err(e) => tracing::warn!(
                "GLPI's root URL is unknown ({e}): records and kept events stay bound to the \
                 configured host"
            ),
        }
        Ok(())
    }

    /// Whether GLPI is version 11 or later (its tickets then carry the key's
    /// `externalid`): known with the high-level API, else cached for
    /// `cache_ttl`, else asked once (`getGlpiConfig`). A GLPI that does not
    /// say is taken for GLPI 10 (the description's marker always works).
    pub(super) async fn glpi11(&mut self) -> Result<bool, EngineError> {
        if let Some(known) = self.glpi.glpi11() {
            return Ok(known);
        }
        let config = self.engine.config;
        let identity = self.engine.glpi().clone();
        let glpi11 =
            match self
                .engine
                .cache
                .get::<bool>("glpi11", identity.as_str(), config.cache_ttl)
            {
                Some(v) => v,
                None => {
                    let asked = self.session().await?.glpi_config().await;
                    let v = match asked {
                        Ok(c) => c
                            .version
                            .as_deref()
                            .and_then(major)
                            .is_some_and(|m| m >= 11),
                        Err(e @ GlpiError::Unavailable { .. }) => return Err(e.into()),
                        Err(e) => {
                            tracing::warn!("GLPI's version is unknown ({e}): taken for GLPI 10");
                            false
                        }
                    };
                    self.engine.cache.put("glpi11", identity.as_str(), &v);
                    v
                }
            };
        self.glpi.set_glpi11(glpi11);
        Ok(glpi11)
    }

    /// The requester's id: cached for `cache_ttl`; problems are logged, and the
    /// ticket is created without a requester rather than not at all.
    pub(super) async fn requester(&mut self) -> Result<Option<u64>, EngineError> {
        let config = self.engine.config;
        let Some(login) = config.user_name.as_deref() else {
            return Ok(None);
        };
        let cache = &self.engine.cache;
        let found = match cache.get::<UserMatch>("requester", login, config.cache_ttl) {
            Some(m) => m,
            None => {
                let m = self.session().await?.find_user(login).await?;
                cache.put("requester", login, &m);
                m
            }
        };
        Ok(match found {
            UserMatch::Found(id) => Some(id),
            UserMatch::NotFound => {
                tracing::warn!(
                    "no GLPI user has the login {login:?} (user_name): ticket created without requester"
                );
                None
            }
            UserMatch::Inactive(id) => {
                tracing::warn!(
                    "the GLPI user {login:?} (id {id}) is inactive: ticket created without requester"
                );
                None
            }
            UserMatch::Ambiguous(n) => {
                tracing::warn!(
                    "{n} GLPI users have the login {login:?}: ticket created without requester"
                );
                None
            }
        })
    }

    /// The asset named exactly like the node, if there is exactly one.
    pub(super) async fn asset(&mut self, node: &str) -> Result<Option<AssetMatch>, EngineError> {
        let config = self.engine.config;
        let types = &config.asset_types;
        if types.is_empty() {
            return Ok(None);
        }
        if !self.glpi.can_link_assets() {
            // Nothing could be done with it: not even looked up.
            tracing::info!(
                "{node}: the ticket is not linked to an asset: GLPI's high-level API cannot link \
                 one; set app_token and user_token to link it through the legacy API, or empty \
                 asset_types"
            );
            return Ok(None);
        }
        let cache = &self.engine.cache;
        let cached = cache
            .get::<(Vec<String>, Vec<AssetMatch>)>("assets", node, config.cache_ttl)
            .filter(|(cached_types, _)| cached_types == types);
        let matches = match cached {
            Some((_, m)) => m,
            None => {
                let m = self.session().await?.find_assets(node, types).await?;
                cache.put("assets", node, &(types, &m));
                m
            }
        };
        Ok(match matches.as_slice() {
            [one] => Some(one.clone()),
            [] => {
                tracing::info!(
                    "no asset named {node:?} among {}: ticket not linked",
                    types.join(", ")
                );
                None
            }
            many => {
                let list: Vec<String> = many
                    .iter()
                    .map(|m| format!("{} {}", m.itemtype, m.id))
                    .collect();
                tracing::warn!(
                    "several assets are named {node:?} ({}): ticket not linked",
                    list.join(", ")
                );
                None
            }
        })
    }
}

/// The major version of a GLPI version string (`11.0.6` → 11).
pub(super) fn major(version: &str) -> Option<u32> {
    version.trim().split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::major;

    #[test]
    fn major_versions() {
        assert_eq!(major("11.0.6"), Some(11));
        assert_eq!(major("10.0.12"), Some(10));
        assert_eq!(major(" 12"), Some(12));
        assert_eq!(major("dev"), None);
    }
}
