//! Invariants of the configuration parser and validator
//! ([`crate::config::parse`]): it never panics, an error is one line, the
//! accessors of a valid configuration never panic, and no token value shows
//! in what the parser prints — the error's `Display`, `Debug` and hint, or
//! the configuration's `Debug` and advisories.

use std::path::Path;

use secrecy::ExposeSecret;

use crate::config;

const CONFIG_PATH: &str = "/etc/esia/glpi.conf";
const TOKEN_KEYS: [&str; 3] = ["user_token", "app_token", "smtp_password"];

/// Parses `text` as a configuration file and checks every invariant:
///
/// - each of `secrets` (values the caller wrote into `text` as a token, in
///   whatever form, well or badly formed) never shows;
/// - the value of a `user_token = "…"` line (or `app_token`,
///   `smtp_password`) never shows, found in the text itself (for callers
///   that do not know which bytes are a token: the fuzzer);
/// - an error is one line; the real secrets of a valid configuration never
///   show through its `Debug`.
pub(crate) fn parse(text: &str, secrets: &[&str]) {
    let shown = shown_by_parse(text);
    for secret in secrets {
        assert!(!shown.contains(secret), "token {secret:?} shown:\n{shown}");
    }
    for (start, value) in token_values(text) {
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
        let other = shown_by_parse(&other_text);
        assert!(
            shown.matches(value).count() <= other.matches(value).count(),
            "token value {value:?} shown:\n{shown}"
        );
    }
}

/// Everything the parser's result shows an operator or a log.
fn shown_by_parse(text: &str) -> String {
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
