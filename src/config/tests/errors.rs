//! Every refusal of a file: unknown, missing and invalid keys and syntax
//! errors, each naming the key and the line, and the hint that says what to
//! do next.

use std::io;
use std::path::{Path, PathBuf};

use super::{assert_invalid, err, with};
use crate::config::{ConfigError, parse};

#[test]
fn unknown_key_names_the_key_and_the_line() {
    let e = parse(
        include_str!("../../../tests/data/config/unknown-key.conf"),
        Path::new("unknown-key.conf"),
    )
    .expect_err("unknown key");
    assert!(
        matches!(&e, ConfigError::UnknownKey { key: Some(key), line: 5, .. } if key == "user_nmae"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "unknown key `user_nmae` at line 5 of unknown-key.conf; did you mean `user_name`?"
    );
    // The hint names the example the package installs, not the source
    // tree's file, which is not on the monitoring server.
    let hint = e.hint().unwrap();
    assert!(
        hint.contains("/usr/share/doc/esia-glpi/examples/glpi.conf"),
        "{hint}"
    );
    assert!(!hint.contains("conf/glpi.conf"), "{hint}");

    let e = err(&with("[mail]\nfrom = \"a@b\"\nsmtp_hots = \"x\""));
    assert!(
        matches!(&e, ConfigError::UnknownKey { key: Some(key), line: 6, .. } if key == "mail.smtp_hots"),
        "{e:?}"
    );
}

#[test]
fn missing_required_keys() {
    for (key, text) in [
        ("host", "app_token = \"A\"\nuser_token = \"U\"\n"),
        ("app_token", "host = \"https://g\"\nuser_token = \"U\"\n"),
        ("user_token", "host = \"https://g\"\napp_token = \"A\"\n"),
        ("host", ""),
    ] {
        match err(text) {
            ConfigError::MissingKey { key: k, .. } => assert_eq!(k, key, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    let e = parse(
        include_str!("../../../tests/data/config/missing-token.conf"),
        Path::new("missing-token.conf"),
    )
    .expect_err("missing user_token");
    assert_eq!(
        e.to_string(),
        "missing required key `user_token` in missing-token.conf"
    );
    assert!(e.hint().is_some_and(|h| h.contains("Remote access keys")));
}

#[test]
fn bad_values_name_the_key_and_line() {
    assert_invalid(&with("default_priority = 7"), "default_priority", 4);
    assert_invalid(&with("default_priority = 0"), "default_priority", 4);
    assert_invalid(&with("urgency = 6"), "urgency", 4);
    assert_invalid(&with("impact = -1"), "impact", 4);
    assert_invalid(&with("ticket_type = \"foo\""), "ticket_type", 4);
    assert_invalid(&with("lang = \"de\""), "lang", 4);
    assert_invalid(
        &with("asset_types = [\"Computer\",\n\"Toaster\"]"),
        "asset_types",
        5,
    );
    assert_invalid(&with("timeout = 0"), "timeout", 4);
    assert_invalid(&with("connect_timeout = -5"), "connect_timeout", 4);
    assert_invalid(&with("run_timeout = 99999999999"), "run_timeout", 4);
    assert_invalid(&with("cache_ttl = 0"), "cache_ttl", 4);
    assert_invalid(&with("retries = -1"), "retries", 4);
    assert_invalid(&with("order_wait = 61"), "order_wait", 4);
    assert_invalid(&with("category = 0"), "category", 4);
    assert_invalid(&with("state_dir = \"relative/dir\""), "state_dir", 4);
    assert_invalid(&with("timeout = \"15\""), "timeout", 4);
    assert_invalid(&with("timeout = 1.5"), "timeout", 4);
    assert_invalid(&with("update_priority = \"yes\""), "update_priority", 4);
    assert_invalid(&with("tpl_title = \"\""), "tpl_title", 4);
    assert_invalid(&with("[mail]\nsmtp_port = 0"), "mail.smtp_port", 5);
    assert_invalid(&with("[mail]\nsmtp_port = 70000"), "mail.smtp_port", 5);
    assert_invalid(
        &with("[mail]\nsmtp_security = \"ssl\""),
        "mail.smtp_security",
        5,
    );
    assert_invalid(&with("[mail]\nfrom = \"nobody\""), "mail.from", 5);
    assert_invalid(&with("[mail]\nsmtp_user = \"u\""), "mail.smtp_user", 5);
    assert_invalid(
        &with("[mail]\nsmtp_password = \"p\""),
        "mail.smtp_password",
        5,
    );
    assert_invalid(
        "host = \"ftp://x\"\napp_token = \"A\"\nuser_token = \"U\"",
        "host",
        1,
    );
    assert_invalid(
        "host = \"https://\"\napp_token = \"A\"\nuser_token = \"U\"",
        "host",
        1,
    );
    assert_invalid(
        "host = \"glpi.example.org\"\napp_token = \"A\"\nuser_token = \"U\"",
        "host",
        1,
    );
    assert_invalid(
        "host = \"https://g\"\napp_token = \"A\"\nuser_token = \"\"",
        "user_token",
        3,
    );

    let e = err(&with("ticket_type = \"foo\""));
    assert_eq!(
        e.to_string(),
        "invalid value for `ticket_type` at line 4 of /etc/esia/glpi.conf: must be one of \"incident\", \"request\""
    );
    let e = err(&with("asset_types = [\"Toaster\"]"));
    assert!(e.to_string().contains("Monitor"), "{e}");
    assert!(e.hint().is_some_and(|h| h.contains("asset_types")));
}

#[test]
fn syntax_errors_name_the_line_and_never_echo_it() {
    let e = parse(
        include_str!("../../../tests/data/config/malformed.conf"),
        Path::new("malformed.conf"),
    )
    .expect_err("malformed");
    assert!(matches!(e, ConfigError::Syntax { line: 3, .. }), "{e:?}");
    let shown = format!("{e} {e:?}");
    assert!(
        !shown.contains("YjJC9qCUHSK8JKY1BSsJ2wDfg8IgBid1c1okKsrM"),
        "{shown}"
    );
    assert!(
        e.to_string()
            .starts_with("invalid TOML at line 3 of malformed.conf: "),
        "{e}"
    );

    let e =
        err("host = \"https://g\"\nhost = \"https://h\"\napp_token = \"A\"\nuser_token = \"U\"");
    assert!(matches!(e, ConfigError::Syntax { line: 2, .. }), "{e:?}");
}

#[test]
fn hints_say_what_to_do_next() {
    let read = |kind| ConfigError::Read {
        path: PathBuf::from("/etc/esia/glpi.conf"),
        source: io::Error::from(kind),
    };
    let e = read(io::ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        "cannot read configuration file /etc/esia/glpi.conf"
    );
    assert!(e.hint().is_some_and(|h| h.contains("ESIA_GLPI_CONFIG")));
    assert!(
        read(io::ErrorKind::PermissionDenied)
            .hint()
            .is_some_and(|h| h.contains("0640"))
    );
    assert!(err("").hint().is_some());
    assert!(err("x = ").hint().is_some());
}

/// Every hint names files that exist on the monitoring server: the example
/// the package installs, never the source tree's `conf/glpi.conf`.
#[test]
fn hints_name_the_installed_example() {
    let path = PathBuf::from("/etc/esia/glpi.conf");
    let errors = [
        ConfigError::Read {
            path: path.clone(),
            source: io::Error::from(io::ErrorKind::NotFound),
        },
        ConfigError::UnknownKey {
            path: path.clone(),
            key: Some("colour".into()),
            line: 3,
            suggestion: None,
        },
        ConfigError::MissingKey {
            path: path.clone(),
            key: "host",
        },
        ConfigError::InvalidValue {
            path,
            key: "lang".into(),
            line: Some(2),
            reason: "r".into(),
        },
    ];
    for e in errors {
        let hint = e.hint().unwrap();
        assert!(
            hint.contains("/usr/share/doc/esia-glpi/examples/glpi.conf"),
            "{e:?}: {hint}"
        );
        assert!(!hint.contains("conf/glpi.conf"), "{e:?}: {hint}");
    }
    let mail = crate::mail::MailError::NotConfigured.hint();
    assert!(
        mail.contains("/usr/share/doc/esia-glpi/examples/glpi.conf"),
        "{mail}"
    );
}

/// A misspelt key gets the nearest accepted one (edit distance, a
/// transposition counting once), in its own table; a word far from every
/// key gets none.
#[test]
fn a_misspelt_key_gets_did_you_mean() {
    let cases = [
        ("user_tokn = \"x\"", Some("user_token")),
        ("tpl_titel = \"x\"", Some("tpl_title")),
        ("hots = \"x\"", Some("host")),
        ("conect_timeout = 3", Some("connect_timeout")),
        ("colour = \"blue\"", None),
        (
            "[mail]\nfrom = \"a@b\"\nsmtp_hots = \"x\"",
            Some("mail.smtp_host"),
        ),
        (
            "[state]\nbackend = \"files\"\nbakend = \"files\"",
            Some("state.backend"),
        ),
    ];
    for (extra, want) in cases {
        match err(&with(extra)) {
            ConfigError::UnknownKey { suggestion, .. } => {
                assert_eq!(suggestion.as_deref(), want, "{extra}");
            }
            other => panic!("{extra}: {other:?}"),
        }
    }
    let e = err(&with("user_tokn = \"x\""));
    assert_eq!(
        e.to_string(),
        "unknown key `user_tokn` at line 4 of /etc/esia/glpi.conf; did you mean `user_token`?"
    );
}

/// `lang` written after `[mail]` is read by TOML as `mail.lang`: the error
/// says where it belongs, not that `mail.lang` is unknown; a `[mail]` key
/// at the top level is said to belong in `[mail]`.
#[test]
fn a_top_level_key_after_a_table_is_named_as_such() {
    let e = err(&with("[mail]\nfrom = \"a@b\"\nlang = \"en\""));
    assert!(
        matches!(&e, ConfigError::Misplaced { key, line: 6, table, table_line: Some(4), .. }
            if key == "lang" && table == "mail"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "`lang` belongs before `[mail]` (line 4): at line 6 of /etc/esia/glpi.conf, after that \
         line, TOML reads it as a key of [mail]"
    );
    assert!(
        e.hint()
            .unwrap()
            .contains("move `lang` above the first [table] line")
    );

    let e = err(&with("[state]\nbackend = \"files\"\nstate_dir = \"/x\""));
    assert!(
        matches!(&e, ConfigError::Misplaced { key, table, .. } if key == "state_dir" && table == "state"),
        "{e:?}"
    );

    let e = err(&with("smtp_host = \"relay\""));
    assert!(
        matches!(&e, ConfigError::OutsideTable { key, table: "mail", line: 4, .. } if key == "smtp_host"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "`smtp_host` at line 4 of /etc/esia/glpi.conf belongs in the [mail] table"
    );
}

/// The key lists behind the suggestions are the raw forms' own: serde's
/// "expected one of" list of each table.
#[test]
fn key_lists_match_the_raw_forms() {
    use crate::config::raw::{
        MAIL_KEYS, RECONCILE_KEYS, RawConfig, RawMail, RawState, STATE_KEYS, TOP_KEYS,
    };
    use crate::config::reconcile::RawReconcile;
    fn expected<T: serde::de::DeserializeOwned>() -> Vec<String> {
        let e = toml::from_str::<T>("zz_not_a_key = 1").err().unwrap();
        let message = e.message().to_owned();
        let list = message.split_once("expected one of ").unwrap().1;
        list.split(", ")
            .map(|k| k.trim_matches('`').to_owned())
            .collect()
    }
    assert_eq!(expected::<RawConfig>(), TOP_KEYS);
    assert_eq!(expected::<RawMail>(), MAIL_KEYS);
    assert_eq!(expected::<RawState>(), STATE_KEYS);
    assert_eq!(expected::<RawReconcile>(), RECONCILE_KEYS);
}
