//! [`load`] on real files: what is not a small regular file is refused, a
//! world-readable file draws a warning, a password file is read; and the
//! advisories of a valid but risky configuration.

use std::io;
use std::path::Path;

use secrecy::ExposeSecret;

use super::{ESIA_DOC, MINIMAL, host, ok, with};
use crate::config::{ConfigError, StateBackend, advisories, load};

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
