//! The `[state]` table: the files backend by default, PostgreSQL with its
//! URL checked, and errors that name the key but never the password.

use std::path::Path;

use super::{MINIMAL, assert_invalid, assert_no_leak, err, ok, with};
use crate::config::{ConfigError, StateBackend};

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
