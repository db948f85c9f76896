//! Property tests of the GLPI answer decoder (see `crate::proptests` for the
//! runner and the long-run switch): the error-pair classifier, every answer
//! type on arbitrary JSON and bytes, the entity decoding — the random values
//! are made here, the invariants live in `crate::invariants::glpi` (shared
//! with the fuzz target) — and the id newtype.

use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::Value;

use super::http::decode_error;
use super::model::Id;
use crate::invariants;
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
        invariants::glpi::error_answer(status, &bytes, decode_error("GET x", status, &bytes));
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
        invariants::glpi::answer(&bytes);
        Ok(())
    });
}

#[test]
fn stored_entities_decode_back_to_the_original() {
    let text = prop_oneof![
        any::<String>(),
        "(&#38;|&#60;|&#62;|&lt;|&gt;|&amp;|&|<|>|#|;|[a-z0-9]){0,30}",
    ];
    fuzz("entity decoding", text, |s| {
        invariants::glpi::entities(&s);
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
