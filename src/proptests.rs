//! Property tests: the short fuzzing pass that runs in the normal suite.
//! Targets: the configuration parser and the template renderer with the
//! ticket texts built on it; the GLPI answer decoder has its own in
//! `glpi/proptests.rs`. The coverage-guided fuzzing of the same three (cargo
//! fuzz, libFuzzer) lives in `fuzz/` and runs by hand (`fuzz/run.sh`).
//!
//! The normal suite runs a short pass of each (512 random cases). A long run:
//! `ESIA_FUZZ_SECS=600 cargo test --lib proptests -- --nocapture`, which
//! repeats fresh random batches until the time is up and prints the number
//! of cases executed per target.

#![allow(
    clippy::print_stderr,
    reason = "a long run reports its number of executions"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};

use crate::core::{Key, Lang};
use crate::template::{self, Vars};
use crate::{config, text};

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
        match config::parse(&text, Path::new("/etc/esia/glpi.conf")) {
            Err(e) => {
                let shown = format!("{e} {:?} {e:?}", e.hint());
                prop_assert!(!shown.contains(SECRET), "token shown: {shown}");
            }
            Ok(c) => {
                let shown = format!("{c:?}");
                prop_assert!(!shown.contains(SECRET), "token in Debug: {shown}");
            }
        }
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

fn vars_of(pairs: &[(String, String)]) -> Vars {
    let mut v = Vars::new();
    for (n, value) in pairs {
        v.set(n.clone(), value.clone());
    }
    v
}

#[test]
fn template_without_variables_only_folds_double_percents() {
    fuzz("template (no variables)", template_text(), |tpl| {
        let r = template::render(&tpl, &Vars::new(), str::to_owned);
        prop_assert_eq!(&r.text, &tpl.replace("%%", "%"));
        for name in &r.unknown {
            prop_assert!(!name.is_empty());
            let written = format!("%{name}");
            prop_assert!(tpl.contains(&written));
        }
        Ok(())
    });
}

#[test]
fn template_encodes_every_substituted_value() {
    let input = (
        template_text(),
        proptest::collection::vec((name(), hostile()), 0..6),
    );
    fuzz("template (values escaped)", input, |(tpl, pairs)| {
        let vars = vars_of(&pairs);
        let r = template::render(&tpl, &vars, text::escape_html);
        // The template above has no markup: none may come from the values.
        for c in ['<', '>', '"', '\''] {
            prop_assert!(!r.text.contains(c), "{c:?} in {:?}", r.text);
        }
        Ok(())
    });
}

#[test]
fn titles_are_one_short_plain_line() {
    let input = (
        template_text(),
        proptest::collection::vec((name(), hostile()), 0..6),
    );
    fuzz("ticket title", input, |(tpl, pairs)| {
        let t = text::title(&tpl, &vars_of(&pairs));
        prop_assert!(t.text.chars().count() <= text::TITLE_MAX_CHARS);
        prop_assert!(!t.text.chars().any(char::is_control), "{:?}", t.text);
        prop_assert_eq!(t.text.trim(), t.text.as_str());
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
        let content = text::content(None, &vars, lang, None, &key).text;
        let mut stripped = content.clone();
        for tag in ["<p>", "</p>", "<br>", "<b>", "</b>", "<small>", "</small>"] {
            stripped = stripped.replace(tag, "");
        }
        prop_assert!(
            !stripped.contains('<') && !stripped.contains('>'),
            "markup: {content:?}"
        );
        prop_assert!(
            !content.chars().any(|c| c.is_control() && c != '\t'),
            "control character: {content:?}"
        );
        Ok(())
    });
}

#[test]
fn escaping_is_reversible() {
    fuzz("escape_html", any::<String>(), |s| {
        let e = text::escape_html(&s);
        prop_assert!(!e.contains(['<', '>', '"', '\'']));
        let back = e
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        prop_assert_eq!(back, s);
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
