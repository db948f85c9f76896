//! No token or password is ever shown: not by an error (a token pasted as a
//! key, a malformed or mistyped value), not by the configuration's `Debug`;
//! and the sanitising of toml's messages that makes it so.

use super::{APP, ESIA_DOC, MINIMAL, USER, assert_no_leak, err, ok, with};
use crate::config::ConfigError;
use crate::config::raw::sanitize;

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
