use std::collections::BTreeSet;
use std::path::Path;

use super::keys::Key;
use super::*;
use crate::config;

fn keys() -> impl Iterator<Item = &'static Key> {
    GROUPS.iter().flat_map(|g| g.keys.iter())
}

/// The fields of `struct NAME` in `config/raw.rs` (`RawReconcile`: in
/// `config/reconcile.rs`).
fn raw_fields(name: &str) -> BTreeSet<String> {
    let source = if name == "RawReconcile" {
        include_str!("../../../config/reconcile.rs")
    } else {
        include_str!("../../../config/raw.rs")
    };
    let start = source
        .find(&format!("struct {name} {{"))
        .unwrap_or_else(|| panic!("no struct {name} in config/raw.rs"));
    let body = &source[start..];
    let body = &body[..body.find("\n}").unwrap()];
    body.lines()
        .filter_map(|l| l.trim().strip_prefix("pub(super) ")?.split_once(':'))
        .map(|(field, _)| field.to_owned())
        .collect()
}

/// Exactly the keys the configuration accepts.
#[test]
fn every_key_of_the_file_is_documented() {
    let mut accepted: BTreeSet<String> = raw_fields("RawConfig");
    assert!(accepted.remove("mail") && accepted.remove("state"));
    assert!(accepted.remove("reconcile"));
    accepted.extend(raw_fields("RawState").iter().map(|k| format!("state.{k}")));
    accepted.extend(
        raw_fields("RawReconcile")
            .iter()
            .map(|k| format!("reconcile.{k}")),
    );
    accepted.extend(raw_fields("RawMail").iter().map(|k| format!("mail.{k}")));
    assert!(accepted.len() > 40, "{accepted:?}");
    let documented: BTreeSet<String> = keys().map(|k| k.name.to_owned()).collect();
    assert_eq!(documented, accepted);
    assert_eq!(keys().count(), documented.len(), "a key documented twice");
}

fn parsed(top: &str, tables: &str) -> String {
    let text = format!(
        "host = \"https://glpi.example.org\"\napp_token = \"a\"\nuser_token = \"u\"\n\
             {top}\n{tables}"
    );
    let config =
        config::parse(&text, Path::new("glpi.conf")).unwrap_or_else(|e| panic!("{e}:\n{text}"));
    format!("{config:?}")
}

/// A default written as a value is the default: the file with it parses
/// to the same configuration as the file without it.
#[test]
fn the_defaults_are_the_code_s() {
    let postgres = "[state]\nbackend = \"postgres\"\nurl = \"postgres://esia@localhost/esia\"\n";
    let reconcile = "[reconcile]\nstatus_file = \"/var/lib/nagios4/status.dat\"\n";
    let mut checked = 0;
    for key in keys() {
        let Value(value) = key.default else { continue };
        let (without, with) = match key.name.split_once('.') {
            None => (
                parsed("", ""),
                parsed(&format!("{} = {value}", key.name), ""),
            ),
            Some(("mail", k)) => (
                parsed("", "[mail]\n"),
                parsed("", &format!("[mail]\n{k} = {value}\n")),
            ),
            Some(("state", "backend")) => (
                parsed("", "[state]\n"),
                parsed("", &format!("[state]\nbackend = {value}\n")),
            ),
            Some(("state", k)) => (
                parsed("", postgres),
                parsed("", &format!("{postgres}{k} = {value}\n")),
            ),
            Some(("reconcile", k)) => (
                parsed("", reconcile),
                parsed("", &format!("{reconcile}{k} = {value}\n")),
            ),
            Some((table, _)) => panic!("no table {table}"),
        };
        assert_eq!(without, with, "{} = {value} is not the default", key.name);
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
    // The check can fail: a wrong default is seen.
    assert_ne!(parsed("", ""), parsed("timeout = 16", ""));
}

/// The shipped file, installed as the example too, names every key.
#[test]
fn the_example_names_every_key() {
    let shipped = include_str!("../../../../conf/glpi.conf");
    for key in keys() {
        let name = key.name.split_once('.').map_or(key.name, |(_, k)| k);
        assert!(
            shipped.contains(&format!("{name} =")) || shipped.contains(&format!("{name}=")),
            "conf/glpi.conf does not mention {}",
            key.name
        );
    }
    for table in ["[mail]", "[state]", "[reconcile]"] {
        assert!(shipped.contains(&format!("# {table}")), "{table}");
    }
}

/// Every variable documented is one the templates know.
#[test]
fn the_variables_exist() {
    use crate::core::{Event, Key as EventKey, State};
    let event = Event {
        key: EventKey::new("n", "s"),
        group: "g".into(),
        address: "a".into(),
        state: State::Critical,
        output: "o".into(),
        priority: 3,
        kind: None,
        author: String::new(),
        comment: String::new(),
        vars: Vec::new(),
        time: jiff::Timestamp::UNIX_EPOCH,
        order: None,
        started: None,
        default_priority: false,
    };
    let vars = crate::text::vars(&event, None, "2026-01-01", crate::core::Lang::En);
    for (name, _) in VARIABLES {
        assert!(vars.get(name).is_some(), "%{name}");
    }
    let ticket = crate::text::MailTicket {
        outcome: crate::core::Outcome::Created {
            ticket: 42,
            replaces: None,
        },
        url: Some("https://glpi.example.org/front/ticket.form.php?id=42".into()),
    };
    let vars = crate::text::mail::mail_vars(vars, &ticket, crate::core::Lang::En);
    for (name, _) in MAIL_VARIABLES {
        assert!(vars.get(name).is_some(), "%{name}");
    }
}
