//! Invariants of the decoders of GLPI's answers: the classifier of an error
//! body (`glpi::http::decode_error`, whose result the caller passes in: it
//! is not reachable from here in a test build), every answer type read
//! through `serde_path_to_error`, the search cells, the probes' answers, and
//! the decoding of the HTML entities GLPI 10 stores.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::Value;

use crate::glpi::model::{
    Created, SearchResult, SessionToken, TicketRead, cell_id, cell_text, decode_entities,
};
use crate::glpi::probe::{
    ConfigAnswer, EntitiesAnswer, FullSession, GlpiConfig, ItemLookup, Profile, ProfileAnswer,
};
use crate::glpi::{GlpiError, remote_status};

/// `classified` is what the client made of an error answer (`status`,
/// `body`):
///
/// - a refusal carries the code of the body's GLPI error — the legacy API's
///   `["CODE", message]` pair (the message without GLPI's documentation
///   link), or the `status` (high-level API) or `error` (OAuth2) of an
///   object — read from the whole body, or past the PHP notices a
///   misconfigured GLPI prints first;
/// - PHP's output is recognised as such, and "not found" is a 404;
/// - anything else is a protocol error that quotes only the body's start.
pub(crate) fn error_answer(status: StatusCode, body: &[u8], classified: GlpiError) {
    let _ = (
        classified.to_string(),
        classified.hint(),
        crate::engine::glpi_failure(&classified),
        classified.code(),
    );
    match classified {
        GlpiError::Refused { code, message, .. } => {
            let json = json_of(body).unwrap_or_else(|| panic!("refused {code:?} without JSON"));
            match serde_json::from_slice::<(String, Value)>(json) {
                Ok(pair) => {
                    assert!(!message.contains("; view documentation"), "{message:?}");
                    assert_eq!(code.as_str(), pair.0);
                }
                Err(_) => {
                    let object: serde_json::Map<String, Value> = serde_json::from_slice(json)
                        .unwrap_or_else(|e| panic!("refused {code:?}: {e}"));
                    // The `status` (a null one is absent), else the `error`.
                    let named = object
                        .get("status")
                        .filter(|s| !s.is_null())
                        .or_else(|| object.get("error"));
                    assert_eq!(named, Some(&Value::String(code.to_string())));
                }
            }
        }
        GlpiError::NotFound { .. } => assert_eq!(status, StatusCode::NOT_FOUND),
        GlpiError::PhpOutput { .. } => {
            let text = String::from_utf8_lossy(body);
            assert!(
                ["Notice", "Warning", "Deprecated", "error"]
                    .iter()
                    .any(|w| text.contains(w)),
                "{text:?}"
            );
        }
        GlpiError::Protocol { detail, .. } => {
            // 120 characters at most, each at most 10 once escaped.
            assert!(detail.chars().count() < 1_400, "{detail:?}");
        }
        other => panic!("an error answer classified as {other:?}"),
    }
}

/// The JSON document of an answer: the whole body, or else the first JSON
/// document that ends it (GLPI's answer after PHP's notices).
fn json_of(body: &[u8]) -> Option<&[u8]> {
    let is_json = |part: &&[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(part).is_ok();
    std::iter::once(body)
        .chain(
            (0..body.len())
                .filter(|&i| matches!(body[i], b'{' | b'['))
                .map(|i| &body[i..]),
        )
        .find(is_json)
}

/// Every answer type the client reads, decoded from the same bytes as the
/// client does (the error rendered with its JSON path), and what the client
/// then reads of each: nothing panics; the entities of the body's text and
/// of every search cell decode as [`entities`] says.
pub(crate) fn answer(body: &[u8]) {
    let session: Option<SessionToken> = decode(body);
    let _ = session.map(|s| s.session_token.len());
    let _ = decode::<Created>(body).map(|c| c.id.0);
    if let Some(t) = decode::<TicketRead>(body) {
        let _ = (t.id.0, remote_status(t.status, t.is_deleted != 0));
    }
    if let Some(r) = decode::<SearchResult>(body) {
        let _ = r.totalcount;
        for row in &r.data {
            for cell in row.values() {
                search_cell(cell);
            }
        }
    }
    let _ = decode::<GlpiConfig>(body).map(|c| c.version);
    let _ = decode::<ConfigAnswer>(body).map(|c| c.cfg_glpi.version);
    if let Some(p) = decode::<Profile>(body) {
        profile(&p);
    }
    if let Some(p) = decode::<ProfileAnswer>(body) {
        profile(&p.active_profile);
    }
    let _ = decode::<EntitiesAnswer>(body).map(|e| e.entities());
    let _ = decode::<FullSession>(body).map(|s| s.me());
    if let Some(fields) = decode::<BTreeMap<String, Value>>(body) {
        for cell in fields.values() {
            search_cell(cell);
        }
        let _ = ItemLookup::found(fields);
    }
    let _ = decode::<Value>(body);

    entities(&String::from_utf8_lossy(body));
}

/// Decodes like the client does, the error rendered with its JSON path.
fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Some(v),
        Err(e) => {
            let _ = format!("at {}: {}", e.path(), e.inner());
            None
        }
    }
}

fn search_cell(cell: &Value) {
    if let Some(text) = cell_text(cell) {
        entities(&text);
    }
    let _ = cell_id(cell);
}

fn profile(profile: &Profile) {
    for right in [
        "ticket",
        "followup",
        "itilfollowup",
        "computer",
        "ticket_status",
    ] {
        let _ = profile.right(right);
    }
    for from in 0..8 {
        for to in 0..8 {
            let _ = profile.forbids_transition(from, to);
        }
    }
}

/// Decoding GLPI 10's stored entities (its input sanitizer, glpi-api.md
/// §6.8, encodes `&`, `<`, `>`) gives back the text GLPI was sent, never
/// lengthens a text, and leaves a text without `&` alone.
pub(crate) fn entities(text: &str) {
    let stored = text
        .replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;");
    assert_eq!(decode_entities(&stored), text);
    let decoded = decode_entities(text);
    assert!(decoded.len() <= text.len());
    if !text.contains('&') {
        assert_eq!(decoded, text);
    }
}
