//! What `check`'s read-only probes answer (glpi-api.md §1 "cheap probe",
//! §2.4–§2.7, §9, §11): the GLPI configuration, the active profile and its
//! rights, the user's entities, who the session is, one item by id — as
//! types both APIs' probes return (`legacy/probe.rs`, `v2/probe.rs`), the
//! one probe both make ([`ProbeOps`]: who the session is); and the two
//! probes that need no session, the APIs' roots.
//!
//! Nothing here writes into GLPI. Answers are decoded leniently (numbers or
//! numeric strings, arrays or maps) because GLPI serialises PHP arrays either
//! way (§2.4 "JSON typing trap").

use std::collections::BTreeMap;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::client::Api;
use super::client::Client;
use super::error::GlpiError;
use super::http::Request;
use super::model::{cell_id, cell_text};

/// `getGlpiConfig` → `cfg_glpi`, the keys `check` reports.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GlpiConfig {
    #[serde(default)]
    pub(crate) version: Option<String>,
    /// GLPI's own root URL (its "URL of the application" setting), whatever
    /// `Host` the request named: what names this GLPI (`core::identity`).
    #[serde(default)]
    pub(crate) url_base: Option<String>,
}

/// GLPI 11's API root (`GET /api.php/`): the endpoints of its APIs, built
/// from its `url_base` whatever `Host` the request named
/// (glpi11-transcripts/04f).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ApiRoot {
    #[serde(default)]
    api_versions: Vec<ApiVersion>,
}

#[derive(Debug, Default, Deserialize)]
struct ApiVersion {
    #[serde(default)]
    endpoint: String,
}

impl ApiRoot {
    /// GLPI's root URL: an endpoint without its `/api.php/…`.
    pub(crate) fn url_base(&self) -> Option<String> {
        self.api_versions.iter().find_map(|v| {
            let at = v.endpoint.find("/api.php")?;
            Some(v.endpoint[..at].to_owned()).filter(|u| u.contains("://"))
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ConfigAnswer {
    pub(crate) cfg_glpi: GlpiConfig,
}

/// The active profile: its name, interface and every right (§9.1).
#[derive(Debug, Deserialize)]
pub(crate) struct Profile {
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) interface: Option<String>,
    #[serde(flatten)]
    pub(super) rest: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ProfileAnswer {
    pub(crate) active_profile: Profile,
}

impl Profile {
    /// The bitmask of right `name`; a missing key means 0 (§9.1).
    pub(crate) fn right(&self, name: &str) -> u64 {
        self.rest.get(name).and_then(cell_id).unwrap_or(0)
    }

    /// True when the profile's ticket life cycle explicitly forbids
    /// `from` → `to` (`ticket_status[from][to] == 0`; absent = allowed).
    pub(crate) fn forbids_transition(&self, from: u8, to: u8) -> bool {
        let Some(Value::Object(matrix)) = self.rest.get("ticket_status") else {
            return false;
        };
        let row = matrix.get(&from.to_string());
        let cell = match row {
            Some(Value::Object(r)) => r.get(&to.to_string()),
            Some(Value::Array(r)) => r.get(usize::from(to)),
            _ => None,
        };
        cell.and_then(cell_id) == Some(0)
    }
}

/// One entity the API user can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entity {
    pub(crate) id: u64,
    pub(crate) name: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct EntitiesAnswer {
    #[serde(default)]
    myentities: Value,
}

/// Who the session belongs to (`getFullSession`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Me {
    pub(crate) id: u64,
    pub(crate) login: String,
}

/// The probe of a transport: `legacy/probe.rs` and `v2/probe.rs` each
/// implement it, and `session.rs` dispatches to it. (The other probes are
/// one API's own.)
pub(super) trait ProbeOps {
    /// Who the session belongs to: the user's id and login.
    async fn me(&self) -> Result<Me, GlpiError>;
}

#[derive(Debug, Deserialize)]
pub(crate) struct FullSession {
    session: BTreeMap<String, Value>,
}

/// The answer to `GET /:itemtype/:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemLookup {
    /// It exists; its display name and its other fields.
    Found {
        name: String,
        fields: BTreeMap<String, Value>,
    },
    /// 404 `ERROR_ITEM_NOT_FOUND`.
    Missing,
    /// 403 `ERROR_RIGHT_MISSING`: the profile may not read that type.
    NotReadable,
}

impl FullSession {
    /// The logged-in user's id and login (0 and "" when GLPI leaves them out).
    pub(crate) fn me(&self) -> Me {
        Me {
            id: self.session.get("glpiID").and_then(cell_id).unwrap_or(0),
            login: self
                .session
                .get("glpiname")
                .and_then(cell_text)
                .unwrap_or_default(),
        }
    }
}

impl EntitiesAnswer {
    /// The entities, from a list or a map of rows; rows without an id are
    /// dropped.
    pub(crate) fn entities(&self) -> Vec<Entity> {
        let rows: Vec<&Value> = match &self.myentities {
            Value::Array(list) => list.iter().collect(),
            Value::Object(map) => map.values().collect(),
            _ => Vec::new(),
        };
        rows.into_iter()
            .filter_map(|row| {
                Some(Entity {
                    id: row.get("id").and_then(cell_id)?,
                    name: row.get("name").and_then(cell_text).unwrap_or_default(),
                })
            })
            .collect()
    }
}

impl ItemLookup {
    /// An item read by id, named by its `completename` or `name`.
    pub(crate) fn found(fields: BTreeMap<String, Value>) -> ItemLookup {
        ItemLookup::Found {
            name: fields
                .get("completename")
                .or_else(|| fields.get("name"))
                .and_then(cell_text)
                .unwrap_or_default(),
            fields,
        }
    }
}

/// What the high-level API's `GET session` tells `check`: who, the
/// active profile with its rights, and the entities that profile reaches.
#[derive(Debug)]
pub(crate) struct V2Session {
    pub(crate) me: Me,
    pub(crate) profile: Profile,
    /// The active profile's entities, each with its recursion flag.
    pub(crate) entities: Vec<(Entity, bool)>,
}

impl Client {
    /// `GET api.php/v2/` with no token: GLPI 11 answers 200 when its
    /// high-level API is enabled, 403 "The High-Level API is disabled"
    /// otherwise; GLPI 10 has no such route. Whatever `api` says.
    pub(crate) async fn probe_v2_root(&self) -> Result<(), GlpiError> {
        let req = Request::get(Api::V2, "", HeaderMap::new(), &[]);
        self.send_once("GET api.php/v2/", &req).await.map(|_| ())
    }

    /// `GET apirest.php/` with no token at all: GLPI answers its API
    /// documentation (200) when the API is enabled and this address allowed,
    /// `["ERROR", "API disabled"]` or `ERROR_NOT_ALLOWED_IP` otherwise.
    pub(crate) async fn probe_root(&self) -> Result<(), GlpiError> {
        let req = Request::get(Api::Legacy, "", HeaderMap::new(), &[]);
        self.send_once("GET apirest.php/", &req).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glpi_names_its_root_url() {
        // glpi-transcripts/02f, trimmed.
        let c: ConfigAnswer = serde_json::from_str(
            r#"{"cfg_glpi":{"version":"10.0.12","url_base":"http://127.0.0.1:18080",
                "url_base_api":"http://127.0.0.1:18080/apirest.php"}}"#,
        )
        .unwrap();
        assert_eq!(
            c.cfg_glpi.url_base.as_deref(),
            Some("http://127.0.0.1:18080")
        );
        // glpi11-transcripts/04f, trimmed.
        let r: ApiRoot = serde_json::from_str(
            r#"{"message":"Welcome to GLPI API","api_versions":[{"api_version":"1",
                "version":"1.0.0","endpoint":"http:\/\/127.0.0.1:18081\/api.php\/v1"},
                {"api_version":"2","version":"2.0.0","endpoint":"http:\/\/127.0.0.1:18081\/api.php\/v2.0"}]}"#,
        )
        .unwrap();
        assert_eq!(r.url_base().as_deref(), Some("http://127.0.0.1:18081"));
        assert_eq!(ApiRoot::default().url_base(), None);
    }

    fn profile(json: &str) -> Profile {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn rights_read_numbers_strings_and_absent_keys() {
        let p = profile(r#"{"name":"P","interface":"central","ticket":261151,"user":"1"}"#);
        assert_eq!(p.right("ticket"), 261_151);
        assert_eq!(p.right("user"), 1);
        assert_eq!(p.right("computer"), 0);
        assert_eq!(p.name, "P");
    }

    #[test]
    fn ticket_status_matrix_forbids_only_explicit_zeroes() {
        assert!(!profile(r#"{"ticket_status":[]}"#).forbids_transition(1, 5));
        let p = profile(r#"{"ticket_status":{"1":{"5":0,"6":1},"2":{"5":"1"}}}"#);
        assert!(p.forbids_transition(1, 5));
        assert!(!p.forbids_transition(1, 6));
        assert!(!p.forbids_transition(2, 5));
        assert!(!p.forbids_transition(3, 5));
    }

    #[test]
    fn debug_of_the_client_shows_no_token() {
        let settings = crate::glpi::Settings {
            api_url: "http://127.0.0.1:1/apirest.php/".into(),
            v2_api_url: "http://127.0.0.1:1/api.php/v2/".into(),
            app_token: Some("app-SECRET-1".to_string().into()),
            user_token: Some("user-SECRET-2".to_string().into()),
            v2: None,
            connect_timeout: std::time::Duration::from_secs(1),
            request_timeout: std::time::Duration::from_secs(1),
            retries: 0,
            tls_verify: true,
            ca_file: None,
        };
        let shown = format!("{settings:?}");
        let client = Client::new(settings).unwrap();
        let shown = format!("{shown} {client:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}
