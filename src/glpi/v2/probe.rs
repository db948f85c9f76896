//! `check`'s probe over the high-level API: `GET session`, which gives who
//! the token belongs to, the active profile with its rights (GLPI 11 gives
//! them there, not in a `getActiveProfile`) and the entities of each
//! profile. What it returns is `probe.rs`'s types.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::V2;
use crate::glpi::error::GlpiError;
use crate::glpi::http::Access;
use crate::glpi::model::{cell_id, cell_text};
use crate::glpi::probe::{ApiRoot, Entity, Me, ProbeOps, Profile, V2Session};

#[derive(Debug, Deserialize)]
struct V2SessionAnswer {
    user_id: u64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    profiles: Value,
    active_profile: V2ActiveProfile,
}

#[derive(Debug, Deserialize)]
struct V2ActiveProfile {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    name: String,
    #[serde(default)]
    interface: Option<String>,
    #[serde(default)]
    rights: BTreeMap<String, Value>,
}

impl V2SessionAnswer {
    fn read(self) -> V2Session {
        let active = cell_id(&self.active_profile.id);
        // `profiles` is a map by profile id (or a list of rows with an id).
        let row = match &self.profiles {
            Value::Object(map) => active.and_then(|id| map.get(&id.to_string())),
            Value::Array(list) => list
                .iter()
                .find(|p| p.get("id").and_then(cell_id) == active),
            _ => None,
        };
        let entities = row
            .and_then(|p| p.get("entities"))
            .map(|e| match e {
                Value::Array(list) => list.iter().collect::<Vec<_>>(),
                Value::Object(map) => map.values().collect(),
                _ => Vec::new(),
            })
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| {
                let entity = Entity {
                    id: e.get("id").and_then(cell_id)?,
                    name: e.get("name").and_then(cell_text).unwrap_or_default(),
                };
                let recursive = e.get("is_recursive").is_some_and(|r| {
                    r.as_bool() == Some(true) || cell_id(r).is_some_and(|n| n != 0)
                });
                Some((entity, recursive))
            })
            .collect();
        V2Session {
            me: Me {
                id: self.user_id,
                login: self.name,
            },
            profile: Profile {
                name: self.active_profile.name,
                interface: self.active_profile.interface,
                rest: self.active_profile.rights,
            },
            entities,
        }
    }
}

impl ProbeOps for V2<'_> {
    /// `GET session` → the logged-in user's id and login.
    async fn me(&self) -> Result<Me, GlpiError> {
        #[derive(Deserialize)]
        struct Who {
            user_id: u64,
            #[serde(default)]
            name: String,
        }
        let s: Who = self
            .call::<(), _>(Method::GET, "session", None, &[])
            .await?;
        Ok(Me {
            id: s.user_id,
            login: s.name,
        })
    }
}

impl V2<'_> {
    /// `GET /api.php/` (the API root, beside `v2/`): GLPI's own root URL.
    pub(crate) async fn url_base(&self) -> Result<Option<String>, GlpiError> {
        let root: ApiRoot = self.call::<(), _>(Method::GET, "../", None, &[]).await?;
        Ok(root.url_base())
    }

    /// `GET session`: who, the active profile and its rights, its entities.
    pub(crate) async fn session(&self) -> Result<V2Session, GlpiError> {
        let a: V2SessionAnswer = self
            .call::<(), _>(Method::GET, "session", None, &[])
            .await?;
        Ok(a.read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v2_session_gives_the_active_profile_rights_and_entities() {
        let text = r#"{"user_id":7,"name":"esia","profiles":{"9":{"name":"API Integration",
            "entities":[{"id":0,"name":"Root entity","is_recursive":1}]},"10":{"name":"Other",
            "entities":[{"id":3,"name":"E3","is_recursive":0}]}},"active_profile":{"id":9,
            "name":"API Integration","interface":"central","rights":{"ticket":494599,
            "followup":64535,"ticket_status":0}}}"#;
        let s = serde_json::from_str::<V2SessionAnswer>(text)
            .unwrap()
            .read();
        assert_eq!(
            s.me,
            Me {
                id: 7,
                login: "esia".into()
            }
        );
        assert_eq!(s.profile.name, "API Integration");
        assert_eq!(s.profile.right("ticket"), 494_599);
        assert!(!s.profile.forbids_transition(1, 5));
        assert_eq!(
            s.entities,
            vec![(
                Entity {
                    id: 0,
                    name: "Root entity".into()
                },
                true
            )]
        );
    }
}
