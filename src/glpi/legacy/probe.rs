//! `check`'s read-only probes over the legacy API (glpi-api.md §2.4–§2.7):
//! `getGlpiConfig`, `getActiveProfile`, `getFullSession`, `getMyEntities`,
//! one item by id. The answers' types are `probe.rs`'s.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::Value;

use super::Legacy;
use crate::glpi::code::ErrorCode;
use crate::glpi::error::GlpiError;
use crate::glpi::http::Access;
use crate::glpi::probe::{
    ConfigAnswer, EntitiesAnswer, Entity, FullSession, GlpiConfig, ItemLookup, Me, ProbeOps,
    Profile, ProfileAnswer,
};

impl Legacy<'_> {
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, GlpiError> {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        self.call::<(), T>(Method::GET, path, None, &query).await
    }

    /// `getGlpiConfig` → version and friends.
    pub(crate) async fn glpi_config(&self) -> Result<GlpiConfig, GlpiError> {
        let a: ConfigAnswer = self.get("getGlpiConfig", &[]).await?;
        Ok(a.cfg_glpi)
    }

    /// `getActiveProfile` (the profile is wrapped in `active_profile`, §2.5).
    pub(crate) async fn active_profile(&self) -> Result<Profile, GlpiError> {
        let a: ProfileAnswer = self.get("getActiveProfile", &[]).await?;
        Ok(a.active_profile)
    }

    /// `getMyEntities?is_recursive=true`: every entity the user can reach.
    pub(crate) async fn my_entities(&self) -> Result<Vec<Entity>, GlpiError> {
        let a: EntitiesAnswer = self
            .get("getMyEntities", &[("is_recursive", "true")])
            .await?;
        Ok(a.entities())
    }

    /// `GET /:itemtype/:id`: does it exist, and may we read it?
    pub(crate) async fn item(&self, itemtype: &str, id: u64) -> Result<ItemLookup, GlpiError> {
        let answer: Result<BTreeMap<String, Value>, GlpiError> = self
            .get(&format!("{itemtype}/{id}"), &[("get_hateoas", "false")])
            .await;
        match answer {
            Ok(fields) => Ok(ItemLookup::found(fields)),
            Err(e) => match e.code() {
                Some(ErrorCode::ItemNotFound) => Ok(ItemLookup::Missing),
                Some(ErrorCode::RightMissing) => Ok(ItemLookup::NotReadable),
                _ => Err(e),
            },
        }
    }
}

impl ProbeOps for Legacy<'_> {
    /// `getFullSession` → the logged-in user's id and login.
    async fn me(&self) -> Result<Me, GlpiError> {
        let a: FullSession = self.get("getFullSession", &[]).await?;
        Ok(a.me())
    }
}
