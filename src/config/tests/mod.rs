//! Unit tests of the configuration: parsing, every default, every error and
//! its line, and no token ever shown. One file per concern; this one holds
//! the fixtures and helpers they share:
//!
//! - `parse.rs`: the documented and shipped files, every default, every key;
//! - `urls.rs`: the API, ticket and identity URLs built from `host`;
//! - `errors.rs`: unknown, missing and invalid keys, syntax errors, hints;
//! - `secrets.rs`: no token or password in any error or `Debug`;
//! - `state.rs`: the `[state]` backend and its errors;
//! - `reconcile.rs`: the `[reconcile]` table and its errors;
//! - `load.rs`: [`load`] on real files (not a regular file, too large, mode
//!   warnings, password files) and the advisories.

mod errors;
mod load;
mod parse;
mod reconcile;
mod secrets;
mod state;
mod urls;

use std::path::Path;

use super::{Config, ConfigError, parse};

const ESIA_DOC: &str = include_str!("../../../tests/data/config/esia-doc.conf");
const SHIPPED: &str = include_str!("../../../conf/glpi.conf");
const APP: &str = "vrFkHRcPTYt4Dt79zD78oPuiGKRYlAJGqsYr9kjv";
const USER: &str = "YjJC9qCUHSK8JKY1BSsJ2wDfg8IgBid1c1okKsrM";
const MINIMAL: &str =
    "host = \"https://glpi.example.org/glpi\"\napp_token = \"A1\"\nuser_token = \"U1\"\n";

fn p(text: &str) -> Result<Config, ConfigError> {
    parse(text, Path::new("/etc/esia/glpi.conf"))
}

fn ok(text: &str) -> Config {
    match p(text) {
        Ok(config) => config,
        Err(e) => panic!("{e} ({e:?})"),
    }
}

fn err(text: &str) -> ConfigError {
    match p(text) {
        Ok(config) => panic!("parsed: {config:?}"),
        Err(e) => e,
    }
}

fn with(extra: &str) -> String {
    format!("{MINIMAL}{extra}\n")
}

fn host(h: &str) -> Config {
    ok(&format!(
        "host = \"{h}\"\napp_token = \"A\"\nuser_token = \"U\"\n"
    ))
}

#[track_caller]
fn assert_invalid(text: &str, want_key: &str, want_line: usize) {
    match err(text) {
        ConfigError::InvalidValue { key, line, .. } => {
            assert_eq!((key.as_str(), line), (want_key, Some(want_line)), "{text}");
        }
        other => panic!("{text}: {other:?}"),
    }
}

#[track_caller]
fn assert_no_leak(text: &str, secret: &str) -> ConfigError {
    let e = err(text);
    let shown = format!("{e} | {e:?} | {}", e.hint().unwrap_or_default());
    assert!(!shown.contains(secret), "{shown}");
    e
}
