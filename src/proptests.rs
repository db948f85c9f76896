//! Property tests: the short fuzzing pass that runs in the normal suite, on
//! random values made here; the invariants they check are stated once, in
//! `crate::invariants`, and the coverage-guided fuzz targets in `fuzz/`
//! (`crate::fuzzing`, run by hand with `fuzz/run.sh`) check the same ones.
//! Targets: the configuration parser and the template renderer with the
//! ticket texts built on it; the GLPI answer decoders have theirs in
//! `glpi/proptests.rs`, with this file's runner.
//!
//! The normal suite runs a short pass of each (512 random cases). A long run:
//! `ESIA_FUZZ_SECS=600 cargo test --lib proptests -- --nocapture`, which
//! repeats fresh random batches until the time is up and prints the number
//! of cases executed per target.

#![allow(
    clippy::print_stderr,
    reason = "a long run reports its number of executions"
)]

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};

use crate::core::{Event, Failure, Key, Lang, NotificationType, Outcome, State};
use crate::invariants;
use crate::template::Vars;
use crate::text::{self, MailTicket};

/// Runs `test` on random values of `strategy`: 512 cases, or fresh batches
/// for `ESIA_FUZZ_SECS` seconds. Panics with the (shrunk) failing input.
pub(crate) fn fuzz<S>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let secs: u64 = std::env::var("ESIA_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let batch: u32 = if secs == 0 { 512 } else { 5_000 };
    let mut total: u64 = 0;
    loop {
        let mut runner = TestRunner::new(Config {
            cases: batch,
            failure_persistence: None,
            ..Config::default()
        });
        match runner.run(&strategy, &test) {
            Ok(()) => {}
            Err(TestError::Fail(why, value)) => panic!("{name}: {why}\ninput: {value:#?}"),
            Err(TestError::Abort(why)) => panic!("{name}: aborted: {why}"),
        }
        total += u64::from(batch);
        if Instant::now() >= deadline {
            break;
        }
    }
    if secs > 0 {
        eprintln!(
            "fuzz {name}: {total} cases in {} s, no failure",
            started.elapsed().as_secs()
        );
    }
}

// ---------------------------------------------------------------------------
// Configuration parser

const SECRET: &str = "Zq8SECRETtokenVALUE31x";

const KEYS: [&str; 28] = [
    "host",
    "app_token",
    "user_token",
    "user_name",
    "tpl_title",
    "tpl_content",
    "entity",
    "category",
    "ticket_type",
    "urgency",
    "impact",
    "default_priority",
    "update_priority",
    "asset_types",
    "state_dir",
    "connect_timeout",
    "timeout",
    "run_timeout",
    "retries",
    "lock_timeout",
    "cache_ttl",
    "tls_verify",
    "ca_file",
    "lang",
    "from",
    "smtp_port",
    "smtp_security",
    "colour",
];

fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\"\\\\\n]{0,24}".prop_map(|s| format!("\"{s}\"")),
        "[^'\n]{0,24}".prop_map(|s| format!("'{s}'")),
        any::<i64>().prop_map(|n| n.to_string()),
        (0i64..10).prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("https://glpi.example.org/glpi".to_string()).prop_map(|s| format!("\"{s}\"")),
        proptest::collection::vec("[A-Za-z]{0,12}", 0..4).prop_map(|v| format!(
            "[{}]",
            v.iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        "[ -~]{0,24}",
    ]
}

/// A token line, well or badly formed; the secret is always in value position.
fn token_line() -> impl Strategy<Value = String> {
    let key = prop_oneof![Just("app_token"), Just("user_token"), Just("smtp_password")];
    let form = prop_oneof![
        Just("{k}=\"{s}\""),
        Just("{k} = \"{s}"),
        Just("{k}={s}"),
        Just("{k}='{s}'"),
        Just("{k}=\"\"\"{s}\"\"\""),
        Just("{k} = \"{s}\" trailing"),
        Just("{k} = \"{s}\" = 1"),
        Just("{k}=[\"{s}\"]"),
        Just("{k}.x=\"{s}\""),
        Just("{k}=\"{s}\\q\""),
        Just("{k} \"{s}\""),
    ];
    (key, form).prop_map(|(k, f)| f.replace("{k}", k).replace("{s}", SECRET))
}

fn config_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        4 => (proptest::sample::select(KEYS.to_vec()), toml_value())
            .prop_map(|(k, v)| format!("{k} = {v}")),
        3 => token_line(),
        1 => Just("[mail]".to_string()),
        1 => Just("[mail.x]".to_string()),
        1 => "[ -~]{0,30}",
        1 => any::<String>(),
    ];
    proptest::collection::vec(line, 0..14).prop_map(|lines| lines.join("\n"))
}

#[test]
fn config_parser_never_panics_and_never_shows_a_token() {
    fuzz("config parser", config_text(), |text| {
        invariants::config::parse(&text, &[SECRET]);
        Ok(())
    });
}

// ---------------------------------------------------------------------------
// Template renderer and ticket texts

/// Templates rich in `%`, name characters, dots and multi-byte text.
fn template_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("%".to_string()),
            Just("%%".to_string()),
            Just("%node.name".to_string()),
            Just("%node.group.name".to_string()),
            Just("%node.group".to_string()),
            Just("%service.".to_string()),
            "[a-z._]{0,6}",
            "[^%<>\"']{0,6}",
            Just("é€😀".to_string()),
        ],
        0..16,
    )
    .prop_map(|parts| parts.concat())
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("node.name".to_string()),
        Just("node.group".to_string()),
        Just("node.group.name".to_string()),
        Just("service.name".to_string()),
        "[a-z][a-z._]{0,8}",
    ]
}

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[<>&\"' a-z/=;#\\x00-\\x1f\\x7f]{0,40}",
        Just("<script>alert('x')</script>".to_string()),
        Just("&amp; &#60; &lt;b&gt;".to_string()),
    ]
}

/// Variables named like the real ones or not, their values hostile.
fn vars() -> impl Strategy<Value = Vars> {
    proptest::collection::vec((name(), hostile()), 0..6).prop_map(|pairs| {
        let mut v = Vars::new();
        for (n, value) in pairs {
            v.set(n, value);
        }
        v
    })
}

#[test]
fn template_without_variables_only_folds_double_percents() {
    fuzz("template (no variables)", template_text(), |tpl| {
        invariants::text::render(&tpl, &Vars::new());
        Ok(())
    });
}

#[test]
fn template_encodes_every_substituted_value() {
    let input = (template_text(), vars());
    fuzz("template (values escaped)", input, |(tpl, vars)| {
        // The template has no markup: none may come from the values.
        invariants::text::render(&tpl, &vars);
        Ok(())
    });
}

#[test]
fn titles_are_one_short_plain_line() {
    fuzz("ticket title", (template_text(), vars()), |(tpl, vars)| {
        invariants::text::title(&tpl, &vars);
        Ok(())
    });
}

#[test]
fn content_carries_no_markup_or_control_character_from_the_monitored_world() {
    let input = (proptest::collection::vec(hostile(), 9), any::<bool>());
    fuzz("ticket content", input, |(values, english)| {
        let names = [
            "node.name",
            "node.address",
            "node.group.name",
            "service.name",
            "service.state",
            "service.previous_state",
            "priority.label",
            "date",
            "service.output",
        ];
        let mut vars = Vars::new();
        for (n, v) in names.iter().zip(&values) {
            vars.set(*n, v.clone());
        }
        let lang = if english { Lang::En } else { Lang::Fr };
        let key = Key {
            node: values[0].clone(),
            service: values[3].clone(),
        };
        invariants::text::content(&vars, lang, &key, None, None);
        Ok(())
    });
}

fn state() -> impl Strategy<Value = State> {
    proptest::sample::select(vec![
        "OK",
        "WARNING",
        "CRITICAL",
        "UNKNOWN",
        "UP",
        "DOWN",
        "UNREACHABLE",
        "ACK",
        "UNACK",
    ])
    .prop_map(|s| State::parse(s).unwrap_or(State::Unknown))
}

/// An event whose every text comes from the monitored world.
fn event() -> impl Strategy<Value = Event> {
    let vars = proptest::collection::vec((name(), hostile()), 0..3);
    (
        proptest::collection::vec(hostile(), 7),
        state(),
        1u8..=6,
        vars,
        proptest::option::of(proptest::sample::select(NotificationType::ALL.to_vec())),
    )
        .prop_map(|(v, state, priority, vars, kind)| Event {
            key: Key::new(v[0].clone(), v[1].clone()),
            group: v[2].clone(),
            address: v[3].clone(),
            state,
            output: v[4].clone(),
            priority,
            kind,
            author: v[5].clone(),
            comment: v[6].clone(),
            vars,
            time: jiff::Timestamp::UNIX_EPOCH,
            order: None,
            started: None,
            default_priority: false,
        })
}

/// What became of the ticket, as a mail tells it.
fn mail_ticket() -> impl Strategy<Value = MailTicket> {
    let outcome = prop_oneof![
        any::<u64>().prop_map(|ticket| Outcome::Created {
            ticket,
            replaces: None
        }),
        any::<u64>().prop_map(|ticket| Outcome::FollowedUp { ticket }),
        any::<u64>().prop_map(|ticket| Outcome::Solved { ticket }),
        (any::<Option<u64>>(), hostile()).prop_map(|(ticket, reason)| Outcome::Kept {
            ticket,
            failure: Failure::Unavailable,
            reason
        }),
    ];
    (outcome, proptest::option::of(hostile()))
        .prop_map(|(outcome, url)| MailTicket { outcome, url })
}

#[test]
fn follow_ups_solutions_and_mails_carry_no_markup_from_the_monitored_world() {
    let templates = (
        proptest::option::of(template_text()),
        proptest::option::of(template_text()),
    );
    let input = (
        event(),
        proptest::option::of(state()),
        mail_ticket(),
        templates,
        any::<bool>(),
    );
    fuzz(
        "follow-ups, solution, mail",
        input,
        |(event, previous, ticket, (subject, body), english)| {
            let lang = if english { Lang::En } else { Lang::Fr };
            // The date is ours, never text from the monitored world.
            let date = "2026-12-01 09:30:35";
            invariants::text::notes(&event, previous, date, lang);
            let vars = text::vars(&event, previous, date, lang);
            let vars = text::mail::mail_vars(vars, &ticket, lang);
            let (subject, body) = (subject.as_deref(), body.as_deref());
            let mail = text::mail::mail(subject, body, &vars, &event, &ticket, date, lang);
            invariants::text::mail(&mail);
            Ok(())
        },
    );
}

#[test]
fn escaping_is_reversible() {
    fuzz("escape_html", any::<String>(), |s| {
        invariants::text::escape_html(&s);
        Ok(())
    });
}

#[test]
fn a_one_megabyte_output_is_cut_with_a_note() {
    let output = "é".repeat(512 * 1024);
    let cut = text::cap_output(&output, Lang::En);
    assert!(cut.len() <= text::OUTPUT_MAX_BYTES + 100);
    assert!(
        cut.ends_with("[… output truncated: 65536 of 1048576 bytes]"),
        "{}",
        &cut[cut.len() - 80..]
    );
}
