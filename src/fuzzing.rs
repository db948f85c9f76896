//! Entry points of the coverage-guided fuzz targets in `fuzz/` (cargo-fuzz,
//! libFuzzer), compiled only with the `fuzzing` feature.
//!
//! Each function takes the fuzzer's bytes, runs the crate's own code on them
//! (nothing is re-implemented here) and panics when an invariant breaks, which
//! libFuzzer reports as a crash:
//!
//! - [`config`]: the configuration parser and validator ([`config::parse`]),
//!   the error's `Display`, `Debug` and hint; a token value never shows.
//! - [`template`]: the `%`-variable renderer and every ticket and mail text
//!   built on it; titles are one short plain line, values never bring markup,
//!   the marker reads back as the ticket's own key.
//! - [`glpi_answer`]: every decoder of a GLPI answer (the answer types through
//!   `serde_path_to_error`, the error-pair classifier, entity decoding, search
//!   cells, the probe answers).
//!
//! The short property tests (`src/proptests.rs`, `src/glpi/proptests.rs`)
//! check the same ideas on random values in the normal suite.

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::config;
use crate::core::{Event, Failure, Key, Lang, Note, Outcome, Remote, Skip, State};
use crate::glpi::model::{
    Created, SearchResult, SessionToken, TicketRead, cell_id, cell_text, decode_entities,
};
use crate::glpi::probe::{
    ConfigAnswer, EntitiesAnswer, FullSession, GlpiConfig, ItemLookup, Profile, ProfileAnswer,
};
use crate::glpi::{GlpiError, decode_error, remote_status};
use crate::template::{self, Vars};
use crate::text::{self, MailTicket};

// ---------------------------------------------------------------------------
// Configuration parser

const CONFIG_PATH: &str = "/etc/esia/glpi.conf";
const TOKEN_KEYS: [&str; 3] = ["user_token", "app_token", "smtp_password"];

/// Parses the bytes as a configuration file (invalid UTF-8 replaced, as
/// `load` would refuse it before parsing) and checks that no token value
/// written as `user_token = "…"` (or `app_token`, `smtp_password`) appears in
/// what the parser shows: the error's `Display`, `Debug` and hint, or the
/// `Debug` of the configuration and its advisories.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let shown = config_shown(&text);
    for (start, value) in token_values(&text) {
        // Too short a value matches by chance; a value written twice may be
        // shown legitimately through its other occurrence (a key, a title).
        if value.chars().filter(char::is_ascii_alphanumeric).count() < 8
            || text.matches(value).count() != 1
        {
            continue;
        }
        // The same file with every letter and digit of the value changed:
        // the parser takes the same path (tokens are checked for spaces and
        // control characters only), so an occurrence of the value in `shown`
        // that is not also in `other` comes from the value itself. The fixed
        // texts (messages, hints, key names) match both.
        let changed = shift(value);
        let mut other_text = String::with_capacity(text.len());
        other_text.push_str(&text[..start]);
        other_text.push_str(&changed);
        other_text.push_str(&text[start + value.len()..]);
        let other = config_shown(&other_text);
        assert!(
            shown.matches(value).count() <= other.matches(value).count(),
            "token value {value:?} shown:\n{shown}"
        );
    }
}

/// Everything the parser's result shows an operator or a log.
fn config_shown(text: &str) -> String {
    match config::parse(text, Path::new(CONFIG_PATH)) {
        Err(e) => {
            let line = e.to_string();
            assert!(
                !line.contains(['\n', '\r']),
                "an error is one line: {line:?}"
            );
            format!("{line}\n{:?}\n{e:?}", e.hint())
        }
        Ok(c) => {
            let _ = c.api_url();
            let _ = c.ticket_url(u64::MAX);
            for priority in 0..=7 {
                let _ = c.urgency_impact(priority);
            }
            // The real secrets never show through Debug (redacted).
            let debug = format!("{c:?}\n{:?}", config::advisories(&c));
            let secrets = [
                c.user_token.as_ref().map(ExposeSecret::expose_secret),
                c.app_token.as_ref().map(ExposeSecret::expose_secret),
                c.oauth.as_ref().map(|o| o.client_secret.expose_secret()),
                c.oauth
                    .as_ref()
                    .and_then(|o| o.password.as_ref())
                    .map(ExposeSecret::expose_secret),
                c.mail
                    .as_ref()
                    .and_then(|m| m.smtp_password.as_ref())
                    .map(ExposeSecret::expose_secret),
            ];
            for secret in secrets.into_iter().flatten() {
                if secret.len() >= 8 && text.matches(secret).count() == 1 {
                    assert!(!debug.contains(secret), "secret in Debug: {debug}");
                }
            }
            debug
        }
    }
}

/// `(byte offset, value)` of every `KEY = "value"` line of a token key, the
/// value a basic string without escapes (whatever follows on the line).
fn token_values(text: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_start_matches([' ', '\t']);
        let indent = line.len() - body.len();
        for key in TOKEN_KEYS {
            let Some(rest) = body.strip_prefix(key) else {
                continue;
            };
            let after_key = rest.trim_start_matches([' ', '\t']);
            let Some(after_eq) = after_key.strip_prefix('=') else {
                continue;
            };
            let after_eq = after_eq.trim_start_matches([' ', '\t']);
            let Some(quoted) = after_eq.strip_prefix('"') else {
                continue;
            };
            let Some(end) = quoted.find(['"', '\\', '\n']) else {
                continue;
            };
            let start = offset + indent + (body.len() - quoted.len());
            found.push((start, &quoted[..end]));
        }
        offset += line.len();
    }
    found
}

/// Every ASCII letter and digit moved to the next one of its class.
fn shift(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            'z' => 'a',
            'Z' => 'A',
            '9' => '0',
            c if c.is_ascii_alphanumeric() => char::from_u32(u32::from(c) + 1).unwrap_or(c),
            c => c,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Template renderer and ticket texts

const STATES: [State; 6] = [
    State::Ok,
    State::Warning,
    State::Critical,
    State::Unknown,
    State::Ack,
    State::Unack,
];
const REMOTES: [Remote; 5] = [
    Remote::Open,
    Remote::Solved,
    Remote::Closed,
    Remote::Trashed,
    Remote::Gone,
];

/// Two flag bytes, then parts separated by `0xFF` (never in UTF-8): the
/// title template (also the mail subject template), the content template
/// (also the mail body template), node, service, group, address, output,
/// acknowledgement author and comment, the event's time (seconds since
/// 1970), ticket URL, then name/value pairs of extra variables (`--var`).
///
/// Flags: bit 0 English, bits 1–3 state, bit 4 previous state known, bit 5 a
/// replaced ticket, bit 6 an administrator's content template, bit 7 mail
/// templates; second byte: priority, previous state, remote state, mail
/// action.
pub fn template(input: &[u8]) {
    let [flags, more, rest @ ..] = input else {
        return;
    };
    let (flags, more) = (*flags, *more);
    let parts: Vec<String> = rest
        .split(|&b| b == 0xFF)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let part = |i: usize| parts.get(i).map_or("", String::as_str);
    let lang = if flags & 1 == 0 { Lang::Fr } else { Lang::En };
    let previous = (flags & 0x10 != 0).then(|| STATES[usize::from(more >> 3 & 7) % STATES.len()]);
    let replaced = (flags & 0x20 != 0).then(|| {
        (
            u64::from(more),
            REMOTES[usize::from(more >> 5) % REMOTES.len()],
        )
    });
    let (title_tpl, content_tpl) = (part(0), part(1));
    let event = event_of(flags, more, &parts);
    // The date is always ours (the clock's, of the event's time), never text
    // from the monitored world.
    let date = &crate::engine::Clock::system().date(event.time);
    let vars = text::vars(&event, previous, date, lang);

    check_render(title_tpl, &vars);
    check_title(title_tpl, &vars);

    let content = text::content(None, &vars, lang, replaced, &event.key);
    check_content(&content.text, &event.key, true);
    if flags & 0x40 != 0 {
        let custom = text::content(Some(content_tpl), &vars, lang, replaced, &event.key);
        for name in &custom.unknown {
            assert!(content_tpl.contains(&format!("%{name}")), "{name:?}");
        }
        // An administrator's template may hold markup and control
        // characters of its own; the values never bring any.
        if !content_tpl.contains(['<', '>']) {
            let plain = !content_tpl.chars().any(|c| c.is_control() && c != '\t');
            check_content(&custom.text, &event.key, plain);
        }
    }

    for note in [
        Note::StateChange {
            from: previous,
            to: event.state,
        },
        Note::Ack,
        Note::Unack,
    ] {
        check_html(&text::followup(&note, &event, date, lang), true);
    }
    check_html(&text::solution(&event, date, lang), true);

    let id = (flags & 0x20 != 0).then_some(u64::from(more));
    let ticket = MailTicket {
        outcome: match more >> 6 {
            0 => Outcome::Created {
                ticket: u64::from(more),
                replaces: None,
            },
            1 => Outcome::FollowedUp {
                ticket: u64::from(more),
            },
            2 => Outcome::Ignored {
                ticket: id,
                skip: Skip::NoTicket,
            },
            _ => Outcome::Kept {
                ticket: id,
                failure: Failure::Unavailable,
                reason: part(8).to_owned(),
            },
        },
        url: Some(part(10).to_owned()).filter(|u| !u.is_empty()),
    };
    let mail_vars = text::mail::mail_vars(vars.clone(), &ticket, lang);
    let (subject_tpl, body_tpl) = if flags & 0x80 != 0 {
        (Some(title_tpl), Some(content_tpl))
    } else {
        (None, None)
    };
    let mail = text::mail::mail(
        subject_tpl,
        body_tpl,
        &mail_vars,
        &event,
        &ticket,
        date,
        lang,
    );
    assert!(
        !mail.subject.chars().any(char::is_control),
        "control character in the subject: {:?}",
        mail.subject
    );
    assert_eq!(mail.subject.trim(), mail.subject, "subject not trimmed");
    // The body template is text: all of the mail's HTML is ours.
    check_html(&mail.html, false);
}

/// The event of [`template`]'s parts, its variables through the parser of
/// `--var KEY=VALUE` (which refuses names with other characters than
/// letters, digits, '_' and '.').
fn event_of(flags: u8, more: u8, parts: &[String]) -> Event {
    let part = |i: usize| parts.get(i).map_or("", String::as_str);
    let seconds = part(9).trim().parse::<i64>().unwrap_or(1_795_000_000);
    let time = jiff::Timestamp::from_second(seconds.clamp(
        jiff::Timestamp::MIN.as_second(),
        jiff::Timestamp::MAX.as_second(),
    ))
    .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    Event {
        key: Key::new(part(2), part(3)),
        group: part(4).to_owned(),
        address: part(5).to_owned(),
        state: STATES[usize::from(flags >> 1 & 7) % STATES.len()],
        output: part(6).to_owned(),
        priority: 1 + more % 6,
        ack_author: part(7).to_owned(),
        ack_comment: part(8).to_owned(),
        vars: parts
            .get(11..)
            .unwrap_or_default()
            .chunks(2)
            .filter_map(|pair| {
                let value = pair.get(1).map_or("", String::as_str);
                crate::cli::parse_var(&format!("{}={value}", pair[0])).ok()
            })
            .collect(),
        time,
        order: None,
        started: None,
    }
}

/// Without variables only `%%` changes; unknown names are reported as
/// written; an HTML-escaped value brings no markup into a template that has
/// none.
fn check_render(tpl: &str, vars: &Vars) {
    let bare = template::render(tpl, &Vars::new(), str::to_owned);
    assert_eq!(bare.text, tpl.replace("%%", "%"));
    for (i, name) in bare.unknown.iter().enumerate() {
        assert!(!name.is_empty());
        assert!(tpl.contains(&format!("%{name}")), "{name:?} not in {tpl:?}");
        assert!(!bare.unknown[..i].contains(name), "{name:?} twice");
    }
    let escaped = template::render(tpl, vars, text::escape_html);
    if !tpl.contains(['<', '>', '"', '\'']) {
        assert!(
            !escaped.text.contains(['<', '>', '"', '\'']),
            "markup from a value: {:?}",
            escaped.text
        );
    }
}

/// The title is one plain line, trimmed, of at most 255 characters.
fn check_title(tpl: &str, vars: &Vars) {
    let title = text::title(tpl, vars).text;
    assert!(
        title.chars().count() <= text::TITLE_MAX_CHARS,
        "title of {} characters",
        title.chars().count()
    );
    assert!(
        !title.chars().any(char::is_control),
        "control character in the title: {title:?}"
    );
    assert_eq!(title.trim(), title, "title not trimmed");
}

/// Ticket content: only our tags, no `<script` from the input, no control
/// character but tabs (`plain`), and the marker names the ticket's own key.
fn check_content(content: &str, key: &Key, plain: bool) {
    assert!(
        !content.to_ascii_lowercase().contains("<script"),
        "<script in {content:?}"
    );
    check_html(content, plain);
    if !key.node.is_empty() {
        assert_eq!(
            text::parse_marker(content).as_ref(),
            Some(key),
            "the marker read back from {content:?}"
        );
    }
}

/// Once our own tags are removed, no `<` or `>` is left; for ticket texts
/// (`plain_only`), no control character but tabs either.
fn check_html(html: &str, plain_only: bool) {
    let mut stripped = html.to_owned();
    for tag in [
        "<html>",
        "</html>",
        "<body>",
        "</body>",
        "<p>",
        "</p>",
        "<br>",
        "<b>",
        "</b>",
        "<small>",
        "</small>",
        "<a href=\"",
        "\">",
        "</a>",
    ] {
        stripped = stripped.replace(tag, "");
    }
    assert!(
        !stripped.contains(['<', '>']),
        "markup from a value: {html:?}"
    );
    if plain_only {
        assert!(
            !html.chars().any(|c| c.is_control() && c != '\t'),
            "control character in {html:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// GLPI answers

/// The first byte picks an HTTP status (400 + byte % 100) for the error
/// classifier; the rest is the answer's body, read by every decoder.
pub fn glpi_answer(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    check_error_pair(400 + u16::from(first % 100), body);

    // What `send_json` does with a 2xx body, for every type it is asked for.
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
                check_cell(cell);
            }
        }
    }
    let _ = decode::<GlpiConfig>(body).map(|c| c.version);
    let _ = decode::<ConfigAnswer>(body).map(|c| c.cfg_glpi.version);
    if let Some(p) = decode::<Profile>(body) {
        check_profile(&p);
    }
    if let Some(p) = decode::<ProfileAnswer>(body) {
        check_profile(&p.active_profile);
    }
    let _ = decode::<EntitiesAnswer>(body).map(|e| e.entities());
    let _ = decode::<FullSession>(body).map(|s| s.me());
    if let Some(fields) = decode::<BTreeMap<String, Value>>(body) {
        for cell in fields.values() {
            check_cell(cell);
        }
        let _ = ItemLookup::found(fields);
    }
    let _ = decode::<Value>(body);

    check_entities(&String::from_utf8_lossy(body));
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

/// A 4xx body: GLPI's `["CODE", message]` pair is refused with the code and
/// the message without its documentation link; anything else is a protocol
/// error quoting a bounded start of the body.
fn check_error_pair(status: u16, body: &[u8]) {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let e = decode_error("GET Ticket/1", status, body);
    let _ = (
        e.to_string(),
        e.hint(),
        crate::engine::glpi_failure(&e),
        e.code(),
    );
    match e {
        GlpiError::Refused { code, message, .. } => {
            assert!(!message.contains("; view documentation"), "{message:?}");
            let pair: Option<(String, Value)> = serde_json::from_slice(body).ok();
            assert_eq!(Some(code.to_string()), pair.map(|p| p.0));
        }
        GlpiError::Protocol { detail, .. } => {
            // 120 characters at most, each at most 10 once escaped.
            assert!(detail.chars().count() < 1_400, "{detail:?}");
        }
        other => panic!("a 4xx body classified as {other:?}"),
    }
}

fn check_cell(cell: &Value) {
    if let Some(text) = cell_text(cell) {
        check_entities(&text);
    }
    let _ = cell_id(cell);
}

fn check_profile(profile: &Profile) {
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

/// Decoding GLPI 10's stored entities gives back the text GLPI was sent, and
/// leaves a text without `&` alone.
fn check_entities(text: &str) {
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
