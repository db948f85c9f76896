//! Property tests of the GLPI answer decoder (see `crate::proptests` for the
//! runner and the long-run switch): the error-pair classifier, every answer
//! type on arbitrary JSON and bytes, the entity decoding and the id newtype.

use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::Value;

use super::error::GlpiError;
use super::http::{decode_error, json_part};
use super::model::{
    Created, Id, SearchResult, SessionToken, TicketRead, cell_id, cell_text, decode_entities,
};
use super::probe::{GlpiConfig, Profile};
use crate::proptests::fuzz;

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "ERROR_[A-Z_]{0,20}".prop_map(Value::String),
        "[0-9 ]{0,6}".prop_map(Value::String),
        "(&#38;|&#60;|&#62;|&lt;|&amp;|[a-z<>&;#]){0,10}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("id".to_string()),
            Just("session_token".to_string()),
            Just("status".to_string()),
            Just("is_deleted".to_string()),
            Just("data".to_string()),
            Just("totalcount".to_string()),
            Just("ticket".to_string()),
            Just("ticket_status".to_string()),
            Just("version".to_string()),
            Just("name".to_string()),
            "[0-9]{1,2}",
            any::<String>(),
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let _ = serde_path_to_error::deserialize::<_, T>(de).map_err(|e| e.path().to_string());
}

/// Every answer type the client reads, on the same bytes.
fn decode_all(bytes: &[u8]) {
    decode::<SessionToken>(bytes);
    decode::<Created>(bytes);
    decode::<TicketRead>(bytes);
    decode::<SearchResult>(bytes);
    decode::<Profile>(bytes);
    decode::<GlpiConfig>(bytes);
    decode::<Value>(bytes);
}

#[test]
fn error_pairs_are_classified_from_any_body() {
    let body = prop_oneof![
        json().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        (json(), "ERROR_[A-Z_]{1,20}", any::<String>()).prop_map(|(extra, code, msg)| {
            let msg = format!("{msg}; view documentation in your browser at http://x/#{code}");
            serde_json::to_vec(&serde_json::json!([code, msg, extra])).unwrap_or_default()
        }),
        (any::<String>(), any::<String>()).prop_map(|(code, msg)| {
            serde_json::to_vec(&serde_json::json!([code, msg])).unwrap_or_default()
        }),
        proptest::collection::vec(any::<u8>(), 0..200),
    ];
    fuzz("GLPI error pair", (400u16..600, body), |(status, bytes)| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        match decode_error("GET x", status, &bytes) {
            GlpiError::Refused { code, message, .. } => {
                let json = json_part("GET x", &bytes);
                match serde_json::from_slice::<(String, Value)>(json) {
                    Ok(pair) => {
                        prop_assert!(!message.contains("; view documentation"), "{message:?}");
                        prop_assert_eq!(code.as_str(), pair.0);
                    }
                    // The high-level API's `status`, or OAuth2's `error`.
                    Err(_) => {
                        let object: serde_json::Map<String, Value> =
                            serde_json::from_slice(json).unwrap();
                        let named = object.get("status").or_else(|| object.get("error"));
                        prop_assert_eq!(named, Some(&Value::String(code.to_string())));
                    }
                }
            }
            GlpiError::NotFound { .. } => prop_assert_eq!(status, StatusCode::NOT_FOUND),
            GlpiError::PhpOutput { .. } => {
                let text = String::from_utf8_lossy(&bytes);
                prop_assert!(
                    ["Notice", "Warning", "Deprecated", "error"]
                        .iter()
                        .any(|w| text.contains(w)),
                    "{text:?}"
                );
            }
            GlpiError::Protocol { detail, .. } => {
                // A non-GLPI body is quoted, but only its start (120
                // characters, each at most 10 once escaped).
                prop_assert!(detail.chars().count() < 1_400, "{detail:?}");
            }
            other => prop_assert!(false, "unexpected {other:?}"),
        }
        Ok(())
    });
}

#[test]
fn answer_decoding_never_panics() {
    let bytes = prop_oneof![
        json().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        proptest::collection::vec(any::<u8>(), 0..300),
        any::<String>().prop_map(String::into_bytes),
    ];
    fuzz("GLPI answers", bytes, |bytes| {
        decode_all(&bytes);
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&bytes) {
            for v in map.values() {
                let _ = cell_text(v);
                let _ = cell_id(v);
            }
        }
        Ok(())
    });
}

/// GLPI 10's input sanitizer (glpi-api.md §6.8).
fn glpi_encode(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
}

#[test]
fn stored_entities_decode_back_to_the_original() {
    let text = prop_oneof![
        any::<String>(),
        "(&#38;|&#60;|&#62;|&lt;|&gt;|&amp;|&|<|>|#|;|[a-z0-9]){0,30}",
    ];
    fuzz("entity decoding", text, |s| {
        prop_assert_eq!(decode_entities(&glpi_encode(&s)), s.clone());
        // Plain text (no '&') is left alone.
        if !s.contains('&') {
            prop_assert_eq!(decode_entities(&s), s);
        }
        Ok(())
    });
}

#[test]
fn ids_are_numbers_or_numeric_strings() {
    fuzz("ids", any::<u64>(), |n| {
        let a: Id = serde_json::from_value(Value::from(n)).unwrap();
        let b: Id = serde_json::from_value(Value::String(format!(" {n} "))).unwrap();
        prop_assert_eq!(a, Id(n));
        prop_assert_eq!(b, Id(n));
        let bad = Value::String(format!("{n}x"));
        prop_assert!(serde_json::from_value::<Id>(bad).is_err());
        Ok(())
    });
}
