//! Unit tests of the configuration: parsing, every default, every error and
//! its line, and no token ever shown.

use super::raw::sanitize;
use super::types::DEFAULT_TPL_TITLE;
use super::*;
use crate::core::Lang;
use secrecy::ExposeSecret;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

const ESIA_DOC: &str = include_str!("../../tests/data/config/esia-doc.conf");
const SHIPPED: &str = include_str!("../../conf/glpi.conf");
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

#[test]
fn the_esia_documented_file_parses_unchanged() {
    let c = ok(ESIA_DOC);
    assert_eq!(c.host, "https://monserveurglpi.com/glpi");
    assert_eq!(
        c.app_token.as_ref().map(ExposeSecret::expose_secret),
        Some(APP)
    );
    assert_eq!(
        c.user_token.as_ref().map(ExposeSecret::expose_secret),
        Some(USER)
    );
    assert_eq!(c.user_name.as_deref(), Some("esia"));
    assert_eq!(c.tpl_title, DEFAULT_TPL_TITLE);
    assert_eq!(c.api_url(), "https://monserveurglpi.com/glpi/apirest.php/");
    assert_eq!(c.v2_url(), "https://monserveurglpi.com/glpi/api.php/v2/");
    // A host already ending in apirest.php: the high-level API lies beside it.
    let c = ok(&with("").replace(
        "https://glpi.example.org/glpi",
        "http://u:p@127.0.0.1:8080/apirest.php",
    ));
    assert_eq!(c.v2_url(), "http://u:p@127.0.0.1:8080/api.php/v2/");
}

#[test]
fn every_default() {
    let c = ok(MINIMAL);
    assert_eq!(c.user_name, None);
    assert_eq!(c.tpl_title, "( %node.group.name ) %node.name:%service.name");
    assert_eq!(c.tpl_content, None);
    assert_eq!(c.entity, None);
    assert_eq!(c.category, None);
    assert_eq!(c.ticket_type, TicketType::Incident);
    assert_eq!(c.ticket_type.glpi_id(), 1);
    assert_eq!((c.urgency, c.impact), (None, None));
    assert_eq!(c.default_priority, 3);
    assert!(c.update_priority);
    assert_eq!(
        c.asset_types,
        [
            "Computer",
            "NetworkEquipment",
            "Printer",
            "Phone",
            "Peripheral"
        ]
    );
    assert_eq!(c.state_dir, Path::new("/var/lib/esia-glpi"));
    assert_eq!(c.connect_timeout, Duration::from_secs(5));
    assert_eq!(c.request_timeout, Duration::from_secs(15));
    assert_eq!(c.run_timeout, Duration::from_secs(30));
    assert_eq!(c.retries, 2);
    assert_eq!(c.lock_timeout, Duration::from_secs(10));
    assert_eq!(c.order_wait, Duration::from_secs(1));
    assert_eq!(c.cache_ttl, Duration::from_hours(1));
    assert!(c.tls_verify);
    assert_eq!(c.ca_file, None);
    assert_eq!(c.lang, Lang::Fr);
    assert!(c.mail.is_none());

    let m = ok(&with("[mail]")).mail.expect("empty [mail] table");
    assert_eq!(m.from, None);
    assert_eq!(m.smtp_host, "localhost");
    assert_eq!(m.smtp_port, 25);
    assert_eq!(m.smtp_security, SmtpSecurity::StartTls);
    assert_eq!(m.smtp_user, None);
    assert!(m.smtp_password.is_none());
    assert_eq!(m.sendmail, None);
    assert_eq!(m.tpl_mail_subject, None);
    assert_eq!(m.tpl_mail_body, None);
}

#[test]
fn every_key_set() {
    let c = ok(&with(
        r#"user_name = "esia"
tpl_title = "%node.name"
tpl_content = "<p>%service.output</p>"
entity = 0
category = 12
ticket_type = "Request"
urgency = 4
impact = 2
default_priority = 6
update_priority = false
asset_types = ["computer", "Monitor", "Computer"]
state_dir = "/srv/esia-glpi"
connect_timeout = 1
timeout = 2
run_timeout = 3
retries = 0
lock_timeout = 4
order_wait = 0
cache_ttl = 60
tls_verify = false
ca_file = "/etc/ssl/ca.pem"
lang = "en"
[mail]
from = "esia@example.org"
smtp_host = "smtp.example.org"
smtp_port = 465
smtp_security = "tls"
smtp_user = "esia"
smtp_password = "pw"
sendmail = "/usr/sbin/sendmail"
tpl_mail_subject = "s"
tpl_mail_body = "b""#,
    ));
    assert_eq!(c.tpl_content.as_deref(), Some("<p>%service.output</p>"));
    assert_eq!((c.entity, c.category), (Some(0), Some(12)));
    assert_eq!(c.ticket_type, TicketType::Request);
    assert_eq!(c.ticket_type.glpi_id(), 2);
    assert_eq!(
        (c.urgency, c.impact, c.default_priority),
        (Some(4), Some(2), 6)
    );
    assert!(!c.update_priority);
    assert_eq!(c.asset_types, ["Computer", "Monitor"]);
    assert_eq!(c.state_dir, Path::new("/srv/esia-glpi"));
    assert_eq!(
        [
            c.connect_timeout,
            c.request_timeout,
            c.run_timeout,
            c.lock_timeout,
            c.cache_ttl
        ],
        [1, 2, 3, 4, 60].map(Duration::from_secs)
    );
    assert_eq!(c.retries, 0);
    assert_eq!(c.order_wait, Duration::ZERO);
    assert!(!c.tls_verify);
    assert_eq!(c.ca_file.as_deref(), Some(Path::new("/etc/ssl/ca.pem")));
    assert_eq!(c.lang, Lang::En);
    let m = c.mail.expect("mail");
    assert_eq!(m.from.as_deref(), Some("esia@example.org"));
    assert_eq!(
        (m.smtp_host.as_str(), m.smtp_port),
        ("smtp.example.org", 465)
    );
    assert_eq!(m.smtp_security, SmtpSecurity::Tls);
    assert_eq!(m.smtp_user.as_deref(), Some("esia"));
    assert_eq!(
        m.smtp_password.as_ref().map(ExposeSecret::expose_secret),
        Some("pw")
    );
    assert_eq!(m.sendmail.as_deref(), Some(Path::new("/usr/sbin/sendmail")));
    assert_eq!(m.tpl_mail_subject.as_deref(), Some("s"));
    assert_eq!(m.tpl_mail_body.as_deref(), Some("b"));
}

#[test]
fn shipped_conf_parses_and_shows_the_defaults() {
    let c = ok(SHIPPED);
    assert_eq!(c.host, "https://monserveurglpi.com/glpi");
    assert_eq!(c.user_name.as_deref(), Some("esia"));
    assert_eq!(c.tpl_title, DEFAULT_TPL_TITLE);
    // Uncommenting every optional key must still give a valid file.
    let uncommented: String = SHIPPED
        .lines()
        .map(|line| {
            let rest = line.strip_prefix("# ").unwrap_or(line);
            let is_key = rest == "[mail]"
                || rest == "[state]"
                || rest.split_once(" = ").is_some_and(|(k, _)| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                });
            if is_key { rest } else { line }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(uncommented.contains("\n[mail]\n"), "{uncommented}");
    assert!(uncommented.contains("\n[state]\n"), "{uncommented}");
    let all = ok(&uncommented);
    assert!(all.mail.is_some());
    // The GLPI 11 block documents every key `api = "v2"` needs.
    assert_eq!(all.api, crate::config::Api::V2);
    assert!(all.oauth.is_some());
    // The values shown for keys with a default are those defaults.
    let d = ok(MINIMAL);
    assert_eq!(all.ticket_type, d.ticket_type);
    assert_eq!(all.default_priority, d.default_priority);
    assert_eq!(all.update_priority, d.update_priority);
    assert_eq!(all.asset_types, d.asset_types);
    assert_eq!(all.state_dir, d.state_dir);
    assert_eq!(
        [
            all.connect_timeout,
            all.request_timeout,
            all.run_timeout,
            all.lock_timeout,
            all.cache_ttl
        ],
        [
            d.connect_timeout,
            d.request_timeout,
            d.run_timeout,
            d.lock_timeout,
            d.cache_ttl
        ]
    );
    assert_eq!(all.retries, d.retries);
    assert_eq!(all.order_wait, d.order_wait);
    assert_eq!(all.tls_verify, d.tls_verify);
    assert_eq!(all.lang, d.lang);
    let StateBackend::Postgres(pg) = &all.state else {
        panic!("the shipped [state] documents backend = \"postgres\"")
    };
    assert!(pg.tls && pg.tls_verify && pg.password_file.is_some() && pg.ca_file.is_some());
    assert!(matches!(d.state, StateBackend::Files));
    let m = all.mail.expect("mail");
    assert_eq!((m.smtp_host.as_str(), m.smtp_port), ("localhost", 25));
    assert_eq!(m.smtp_security, SmtpSecurity::StartTls);
}

#[test]
fn api_and_ticket_urls_for_every_host_form() {
    for (written, api, ticket) in [
        (
            "https://glpi.example.org/glpi",
            "https://glpi.example.org/glpi/apirest.php/",
            "https://glpi.example.org/glpi/front/ticket.form.php?id=42",
        ),
        (
            "https://glpi.example.org/glpi/",
            "https://glpi.example.org/glpi/apirest.php/",
            "https://glpi.example.org/glpi/front/ticket.form.php?id=42",
        ),
        (
            "https://glpi.example.org/glpi/apirest.php",
            "https://glpi.example.org/glpi/apirest.php/",
            "https://glpi.example.org/glpi/front/ticket.form.php?id=42",
        ),
        (
            "https://glpi.example.org/glpi/apirest.php/",
            "https://glpi.example.org/glpi/apirest.php/",
            "https://glpi.example.org/glpi/front/ticket.form.php?id=42",
        ),
        (
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/apirest.php/",
            "http://127.0.0.1:8080/front/ticket.form.php?id=42",
        ),
        (
            "http://127.0.0.1:8080/apirest.php/",
            "http://127.0.0.1:8080/apirest.php/",
            "http://127.0.0.1:8080/front/ticket.form.php?id=42",
        ),
    ] {
        let c = host(written);
        assert_eq!(c.host, written.trim_end_matches('/'));
        assert_eq!(c.api_url(), api, "{written}");
        assert_eq!(c.ticket_url(42), ticket, "{written}");
    }
}

#[test]
fn the_glpi_identity_ignores_case_user_information_and_the_api_path() {
    for written in [
        "https://glpi.example.org/glpi",
        "HTTPS://GLPI.example.org/glpi/",
        "https://monitor:s3cret@glpi.example.org/glpi/apirest.php",
    ] {
        assert_eq!(
            host(written).glpi_identity(),
            "https://glpi.example.org/glpi",
            "{written}"
        );
    }
    assert_ne!(
        host("https://glpi.example.org/test").glpi_identity(),
        host("https://glpi.example.org/glpi").glpi_identity()
    );
}

#[test]
fn user_information_is_never_in_a_url_shown() {
    let c = host("https://monitor:s3cret@glpi.example.org/glpi");
    assert_eq!(
        c.ticket_url(7),
        "https://glpi.example.org/glpi/front/ticket.form.php?id=7"
    );
    assert_eq!(
        c.shown_api_url(),
        "https://glpi.example.org/glpi/apirest.php/"
    );
    assert_eq!(
        c.api_url(),
        "https://monitor:s3cret@glpi.example.org/glpi/apirest.php/"
    );
    assert_eq!(
        without_userinfo("http://a@b:8080/x?u=1@2"),
        "http://b:8080/x?u=1@2"
    );
}

#[test]
fn urgency_and_impact_follow_the_priority_unless_set() {
    let c = ok(MINIMAL);
    let table: Vec<_> = (1..=6).map(|p| c.urgency_impact(p)).collect();
    assert_eq!(table, [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (5, 5)]);
    let c = ok(&with("urgency = 2"));
    assert_eq!(c.urgency_impact(4), (2, 4));
}

#[test]
fn empty_app_token_means_no_header_and_empty_user_name_no_requester() {
    let c =
        ok("host = \"https://g/glpi\"\napp_token = \"\"\nuser_token = \"U\"\nuser_name = \"\"\n");
    assert!(c.app_token.is_none());
    assert_eq!(c.user_name, None);
}

#[test]
fn unknown_key_names_the_key_and_the_line() {
    let e = parse(
        include_str!("../../tests/data/config/unknown-key.conf"),
        Path::new("unknown-key.conf"),
    )
    .expect_err("unknown key");
    assert!(
        matches!(&e, ConfigError::UnknownKey { key: Some(key), line: 5, .. } if key == "user_nmae"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "unknown key `user_nmae` at line 5 of unknown-key.conf"
    );
    assert!(e.hint().is_some_and(|h| h.contains("conf/glpi.conf")));

    let e = err(&with("[mail]\nfrom = \"a@b\"\nsmtp_hots = \"x\""));
    assert!(
        matches!(&e, ConfigError::UnknownKey { key: Some(key), line: 6, .. } if key == "mail.smtp_hots"),
        "{e:?}"
    );
}

#[test]
fn a_token_pasted_as_a_key_is_never_shown() {
    for (pasted, line) in [
        ("YjJC9qCUHSK8JKY1BSsJ2wDfg8IgBid1c1okKsrM = \"x\"", 4),
        (
            "8727cd840e2f571b53267d51d52cd5484c7db9335ebbe37eb59a60b25d292f8f = 1",
            4,
        ),
        (
            "[mail]\nYjJC9qCUHSK8JKY1BSsJ2wDfg8IgBid1c1okKsrM = \"x\"",
            5,
        ),
    ] {
        let e = assert_no_leak(&with(pasted), "YjJC9qCUHSK8JKY1BSsJ2wDfg8IgBid1c1okKsrM");
        let e2 = assert_no_leak(
            &with(pasted),
            "8727cd840e2f571b53267d51d52cd5484c7db9335ebbe37eb59a60b25d292f8f",
        );
        assert!(
            matches!(&e, ConfigError::UnknownKey { key: None, line: l, .. } if *l == line),
            "{e:?}"
        );
        assert!(e2.to_string().contains("not shown"), "{e2}");
    }
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
        include_str!("../../tests/data/config/missing-token.conf"),
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
        include_str!("../../tests/data/config/malformed.conf"),
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
fn no_error_ever_shows_a_token_value() {
    const S: &str = "SECRETVALUE";
    let head = "host = \"https://g\"\napp_token = \"A\"\n";
    for (text, want_line) in [
        (format!("{head}user_token=\"{S}"), 3),
        (format!("{head}user_token = '{S}\n"), 3),
        (format!("{head}user_token = \"\"\"{S}"), 3),
        (format!("{head}user_token = {S}"), 3),
        (format!("{head}user_token = \"a\" {S}"), 3),
        (format!("{head}user_token = \"{S}\\q\""), 3),
        (
            format!("{head}user_token = \"{S}\"\nuser_token = \"{S}\""),
            4,
        ),
    ] {
        let e = assert_no_leak(&text, S);
        assert!(
            matches!(e, ConfigError::Syntax { line, .. } if line == want_line),
            "{text}: {e:?}"
        );
    }
    for (text, key) in [
        (
            "host = \"https://g\"\napp_token = \"A\"\nuser_token = 123".to_owned(),
            "user_token",
        ),
        (
            "host = \"https://g\"\nuser_token = \"U\"\napp_token = [\"SECRETVALUE\"]".to_owned(),
            "app_token",
        ),
        (
            format!("{MINIMAL}default_priority = \"{S}\""),
            "default_priority",
        ),
        (format!("{MINIMAL}tls_verify = \"{S}\""), "tls_verify"),
        (format!("{MINIMAL}ticket_type = \"{S}\""), "ticket_type"),
        (format!("{MINIMAL}mail = \"{S}\""), "mail"),
        (
            format!("{MINIMAL}[mail]\nsmtp_password = 12345"),
            "mail.smtp_password",
        ),
        (
            format!("{MINIMAL}[mail]\nsmtp_port = \"{S}\""),
            "mail.smtp_port",
        ),
        (format!("{MINIMAL}asset_types = [\"{S}\"]"), "asset_types"),
        (
            format!("host = \"https://g\"\napp_token = \"{S} x\"\nuser_token = \"U\""),
            "app_token",
        ),
    ] {
        let e = assert_no_leak(&text, if key == "user_token" { "123" } else { S });
        assert!(
            matches!(&e, ConfigError::InvalidValue { key: k, line: Some(_), .. } if k == key),
            "{text}: {e:?}"
        );
    }
    let e = err("host = \"https://g\"\napp_token = \"A\"\nuser_token = 123");
    assert_eq!(
        e.to_string(),
        "invalid value for `user_token` at line 3 of /etc/esia/glpi.conf: invalid type: integer, expected a text in double quotes"
    );
}

#[test]
fn debug_of_the_config_shows_no_token() {
    let c = ok(&format!(
        "{ESIA_DOC}[mail]\nsmtp_user = \"u\"\nsmtp_password = \"MAILSECRET\"\n"
    ));
    let shown = format!("{c:?} {c:#?}");
    for secret in [APP, USER, "MAILSECRET"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains("REDACTED"));
}

#[test]
fn sanitize_cuts_quoted_values_only() {
    assert_eq!(
        sanitize("invalid type: string \"tok\", expected u16"),
        "invalid type: string, expected u16"
    );
    assert_eq!(
        sanitize("unknown variant `a, expected b`, expected `x` or `y`"),
        "unknown variant, expected `x` or `y`"
    );
    assert_eq!(
        sanitize("invalid basic string, expected `\"`"),
        "invalid basic string, expected `\"`"
    );
    assert_eq!(sanitize("duplicate key"), "duplicate key");
    assert_eq!(sanitize("`x`"), "invalid value");
}

#[cfg(unix)]
#[test]
fn load_refuses_what_is_not_a_small_regular_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        load(Path::new("/dev/zero")),
        Err(ConfigError::NotAFile { .. })
    ));
    let fifo = dir.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    // Opening a FIFO nobody writes to must not block.
    assert!(matches!(load(&fifo), Err(ConfigError::NotAFile { .. })));
    assert!(matches!(
        load(dir.path()),
        Err(ConfigError::NotAFile { .. })
    ));
    let big = dir.path().join("big.conf");
    std::fs::write(&big, format!("{ESIA_DOC}\n# {}\n", "x".repeat(300_000))).expect("write");
    let e = load(&big).expect_err("too large");
    assert!(matches!(e, ConfigError::TooLarge { .. }), "{e:?}");
    assert!(e.hint().is_some());
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

#[test]
fn advisories_for_clear_text_and_unchecked_tls() {
    assert!(advisories(&ok(MINIMAL)).is_empty());
    for local in [
        "http://127.0.0.1:8080",
        "http://localhost/glpi",
        "http://[::1]:80",
    ] {
        assert!(advisories(&host(local)).is_empty(), "{local}");
    }
    let w = advisories(&host("http://glpi.example.org/glpi"));
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("http://"));
    assert_eq!(advisories(&ok(&with("tls_verify = false"))).len(), 1);
}

#[cfg(unix)]
#[test]
fn load_reads_the_file_and_warns_when_world_readable() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("glpi.conf");
    std::fs::write(&path, ESIA_DOC).expect("write");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let loaded = load(&path).expect("load 0644");
    assert_eq!(loaded.config.user_name.as_deref(), Some("esia"));
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].contains("readable by every user")
            && loaded.warnings[0].contains("chmod 0640 and a dedicated group are expected"),
        "{:?}",
        loaded.warnings
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let loaded = load(&path).expect("load 0640");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    let missing = dir.path().join("absent.conf");
    let e = load(&missing).expect_err("absent");
    assert!(
        matches!(&e, ConfigError::Read { path, source } if path == &missing && source.kind() == io::ErrorKind::NotFound)
    );
}

#[test]
fn state_backend_defaults_to_files_and_takes_postgres() {
    assert!(matches!(ok(MINIMAL).state, StateBackend::Files));
    assert!(matches!(
        ok(&with("[state]\nbackend = \"files\"")).state,
        StateBackend::Files
    ));
    let c = ok(&with(
        "[state]\nbackend = \"postgres\"\nurl = \"postgres://esia@127.0.0.1:5432/esia\"\n\
         password_file = \"/etc/esia/pg.pw\"",
    ));
    let StateBackend::Postgres(pg) = c.state else {
        panic!("not postgres")
    };
    assert_eq!(pg.url, "postgres://esia@127.0.0.1:5432/esia");
    assert!(!pg.tls && pg.local && pg.tls_verify);
    assert_eq!(
        pg.password_file.as_deref(),
        Some(Path::new("/etc/esia/pg.pw"))
    );
    let c = ok(&with(
        "[state]\nbackend = \"postgres\"\n\
         url = \"postgresql://esia@db.example.org/esia?sslmode=require\"\ntls_verify = false",
    ));
    let StateBackend::Postgres(pg) = c.state else {
        panic!("not postgres")
    };
    assert!(pg.tls && !pg.local && !pg.tls_verify);
    // A unix socket is local.
    let c = ok(&with(
        "[state]\nbackend = \"postgres\"\nurl = \"postgres://esia@%2Frun%2Fpostgresql/esia\"",
    ));
    assert!(matches!(c.state, StateBackend::Postgres(pg) if pg.local));
}

#[test]
fn state_errors_name_the_key_and_never_the_password() {
    let secret = "Sup3rS3cretPw";
    for url in [
        format!("postgres://esia:{secret}@db/esia"),
        format!("postgres://esia@db/esia?password={secret}"),
        format!("postgresql://esia@db/esia?sslmode=require&PASSWORD={secret}"),
    ] {
        let text = with(&format!("[state]\nbackend = \"postgres\"\nurl = \"{url}\""));
        let e = assert_no_leak(&text, secret);
        assert!(e.to_string().contains("password_file"), "{e}");
        assert_invalid(&text, "state.url", 6);
    }
    for bad in [
        "http://esia@db/esia",
        "postgres://db/esia",
        "postgres://esia@db/esia?sslmode=verify-full",
        "postgres://esia@db/esia?nosuchoption=1",
    ] {
        assert_invalid(
            &with(&format!("[state]\nbackend = \"postgres\"\nurl = \"{bad}\"")),
            "state.url",
            6,
        );
    }
    assert!(matches!(
        err(&with("[state]\nbackend = \"postgres\"")),
        ConfigError::MissingKey {
            key: "state.url",
            ..
        }
    ));
    assert_invalid(&with("[state]\nbackend = \"mysql\""), "state.backend", 5);
    assert_invalid(
        &with("[state]\nurl = \"postgres://esia@db/esia\""),
        "state.url",
        5,
    );
    assert_invalid(
        &with(
            "[state]\nbackend = \"postgres\"\nurl = \"postgres://esia@db/esia\"\n\
             password_file = \"pw\"",
        ),
        "state.password_file",
        7,
    );
    match err(&with("[state]\nbackend = \"postgres\"\nuser = \"x\"")) {
        ConfigError::UnknownKey { key, .. } => assert_eq!(key.as_deref(), Some("state.user")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn load_reads_the_state_password_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pg.pw");
    std::fs::write(&pw, "s3cret\nignored\n").unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let conf = dir.path().join("glpi.conf");
    std::fs::write(
        &conf,
        with(&format!(
            "[state]\nbackend = \"postgres\"\nurl = \"postgres://esia@10.0.0.5/esia\"\n\
             password_file = \"{}\"",
            pw.display()
        )),
    )
    .unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let loaded = load(&conf).unwrap();
    let StateBackend::Postgres(pg) = &loaded.config.state else {
        panic!("not postgres")
    };
    assert_eq!(
        pg.password.as_ref().map(ExposeSecret::expose_secret),
        Some("s3cret")
    );
    assert!(!format!("{:?}", loaded.config).contains("s3cret"));
    // Plain TCP to another machine draws a warning.
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("sslmode=require")),
        "{:?}",
        loaded.warnings
    );
    std::fs::write(&pw, "\n").unwrap();
    assert!(matches!(
        load(&conf),
        Err(ConfigError::InvalidValue { key, .. }) if key == "state.password_file"
    ));
}
