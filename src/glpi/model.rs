//! Request and response types of the GLPI legacy REST API (glpi-api.md §2–§8,
//! checked against the transcripts of a real GLPI 10.0.12) — [`NewTicket`]
//! and [`PriorityUpdate`] serve the high-level API too — and the lenient
//! readers of GLPI's values (ids, search cells, stored entities).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// A GLPI id: a JSON number, or a string holding one (search results).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Id(pub(crate) u64);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Id(n)),
            Raw::S(s) => s
                .trim()
                .parse()
                .map(Id)
                .map_err(|_| serde::de::Error::custom(format!("not an id: {s:?}"))),
        }
    }
}

/// `{"input": …}`: the envelope of every write.
#[derive(Debug, Serialize)]
pub(crate) struct Input<T> {
    pub(crate) input: T,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SessionToken {
    pub(crate) session_token: String,
}

/// `201 {"id": N, "message": "…"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Created {
    pub(crate) id: Id,
}

/// The body of `POST /Ticket`.
#[derive(Debug, Serialize)]
pub(crate) struct NewTicket {
    pub(crate) name: String,
    pub(crate) content: String,
    #[serde(rename = "type")]
    pub(crate) type_: u8,
    pub(crate) urgency: u8,
    pub(crate) impact: u8,
    pub(crate) priority: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) entities_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) itilcategories_id: Option<u64>,
    #[serde(
        rename = "_users_id_requester",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) requester: Option<u64>,
    /// `{"Computer": [1]}`: GLPI creates the `Item_Ticket` rows.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) items_id: BTreeMap<String, Vec<u64>>,
    /// The key's identity, on GLPI 11 (`externalid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) externalid: Option<String>,
}

/// The body of `POST /ITILFollowup` and `POST /ITILSolution`.
#[derive(Debug, Serialize)]
pub(crate) struct NewTimelineItem {
    pub(crate) itemtype: &'static str,
    pub(crate) items_id: u64,
    pub(crate) content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) is_private: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) solutiontypes_id: Option<u64>,
}

/// A ticket's priority, with the urgency and impact it comes from when
/// given (`PUT Ticket/:id`, and v2's `PATCH`).
#[derive(Debug, Serialize)]
pub(crate) struct PriorityUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) urgency: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) impact: Option<u8>,
    pub(crate) priority: u8,
}

impl PriorityUpdate {
    /// `priority`, with `levels` (urgency, impact) when given.
    pub(crate) fn new(levels: Option<(u8, u8)>, priority: u8) -> PriorityUpdate {
        PriorityUpdate {
            urgency: levels.map(|(u, _)| u),
            impact: levels.map(|(_, i)| i),
            priority,
        }
    }
}

/// The fields of `GET /Ticket/:id` we use.
#[derive(Debug, Deserialize)]
pub(crate) struct TicketRead {
    pub(crate) id: Id,
    pub(crate) status: u8,
    #[serde(default)]
    pub(crate) is_deleted: u8,
    /// The description, which carries the key's marker.
    #[serde(default)]
    pub(crate) content: Option<String>,
    /// GLPI 11 only.
    #[serde(default)]
    pub(crate) externalid: Option<String>,
}

/// `GET /search/:itemtype` (§5.3): `data` is absent when nothing matches.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchResult {
    #[serde(default)]
    pub(crate) totalcount: u64,
    #[serde(default)]
    pub(crate) data: Vec<BTreeMap<String, serde_json::Value>>,
}

/// Decodes GLPI 10's stored entities (`&#38; &#60; &#62;`, and the named
/// forms of old data) so that names compare exactly.
pub(crate) fn decode_entities(text: &str) -> String {
    const ENTITIES: [(&str, char); 6] = [
        ("&#60;", '<'),
        ("&#62;", '>'),
        ("&#38;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&amp;", '&'),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if let Some((entity, c)) = ENTITIES.iter().find(|(e, _)| rest.starts_with(e)) {
            out.push(*c);
            rest = &rest[entity.len()..];
        } else {
            out.push('&');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// A search cell as text (values may be strings, numbers, or arrays).
pub(crate) fn cell_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(decode_entities(s)),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn cell_id(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_numbers_and_strings() {
        let ids: Vec<Id> = serde_json::from_str(r#"[1, "2", " 3 "]"#).unwrap();
        assert_eq!(ids, vec![Id(1), Id(2), Id(3)]);
        assert!(serde_json::from_str::<Id>(r#""x""#).is_err());
    }

    #[test]
    fn empty_search_has_no_data_key() {
        let r: SearchResult = serde_json::from_str(
            r#"{"totalcount":0,"count":0,"sort":["1"],"order":["ASC"],"content-range":"0--1/0"}"#,
        )
        .unwrap();
        assert!(r.data.is_empty());
    }

    #[test]
    fn entities_are_decoded() {
        assert_eq!(decode_entities("a &#38; b &#60;c&#62;"), "a & b <c>");
        assert_eq!(decode_entities("&#38;#60;"), "&#60;");
        assert_eq!(decode_entities("&#38;amp; &x é"), "&amp; &x é");
    }

    #[test]
    fn ticket_body_skips_unset_fields() {
        let t = NewTicket {
            name: "n".into(),
            content: "c".into(),
            type_: 1,
            urgency: 3,
            impact: 3,
            priority: 3,
            entities_id: None,
            itilcategories_id: None,
            requester: Some(8),
            items_id: BTreeMap::from([("Computer".to_string(), vec![1])]),
            externalid: None,
        };
        assert_eq!(
            serde_json::to_string(&Input { input: t }).unwrap(),
            r#"{"input":{"name":"n","content":"c","type":1,"urgency":3,"impact":3,"priority":3,"_users_id_requester":8,"items_id":{"Computer":[1]}}}"#
        );
    }
}
