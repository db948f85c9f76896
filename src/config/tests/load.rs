//! [`load`] on real files: what is not a small regular file is refused, a
//! world-readable file draws a warning, a password file is read; and the
//! advisories of a valid but risky configuration.

use std::io;
use std::path::Path;

use secrecy::ExposeSecret;

use super::{ESIA_DOC, MINIMAL, host, ok, with};
use crate::config::{ConfigError, PasswordProblem, StateBackend, advisories, load};

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
        Err(ConfigError::PasswordFile {
            key: "state.password_file",
            problem: PasswordProblem::BadFirstLine,
            ..
        })
    ));
}

/// A password file that is missing, a directory, too big or not text is
/// the password file's error, naming it and the configuration that names
/// it, with the fix of that file (not of the configuration file).
#[test]
fn password_file_problems_name_the_password_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("glpi.password");
    let conf = dir.path().join("glpi.conf");
    std::fs::write(
        &conf,
        format!(
            "host = \"https://glpi.example.org/glpi\"\napi = \"v2\"\nclient_id = \"c\"\n\
             client_secret = \"s\"\nusername = \"esia\"\npassword_file = \"{}\"\n",
            pw.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let fail = || {
        let e = load(&conf).expect_err("password file");
        let ConfigError::PasswordFile {
            key: "password_file",
            file,
            path,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!((file, path), (&pw, &conf));
        let hint = e.hint().unwrap();
        assert!(!hint.contains("ESIA_GLPI_CONFIG"), "{hint}");
        (crate::text::error_line(&e), hint)
    };
    let shown = format!(
        "cannot use password_file {} (set in {})",
        pw.display(),
        conf.display()
    );

    let (line, hint) = fail();
    assert_eq!(line, format!("{shown}: it does not exist"));
    assert!(hint.starts_with(&format!(
        "create {} with the GLPI user's password",
        pw.display()
    )));

    std::fs::create_dir(&pw).unwrap();
    let (line, hint) = fail();
    assert_eq!(line, format!("{shown}: it is a directory, not a file"));
    assert!(hint.contains("must name a regular file"), "{hint}");
    assert!(hint.contains("--config"), "{hint}");
    std::fs::remove_dir(&pw).unwrap();

    std::fs::write(&pw, "x".repeat(5000)).unwrap();
    let (line, hint) = fail();
    assert_eq!(
        line,
        format!("{shown}: it is larger than 4096 bytes, and holds only a password")
    );
    assert!(hint.contains("alone, on the first line"), "{hint}");

    std::fs::write(&pw, b"\xff\xfe\n").unwrap();
    let (line, _) = fail();
    assert_eq!(line, format!("{shown}: it is not UTF-8 text"));

    // Unreadable (built here: the tests may run as root, whom no mode
    // keeps out): the fix is the password file's owner, for the database's
    // password too.
    let e = ConfigError::PasswordFile {
        path: conf.clone(),
        key: "state.password_file",
        file: pw.clone(),
        problem: PasswordProblem::Unreadable(io::Error::from(io::ErrorKind::PermissionDenied)),
    };
    assert!(
        crate::text::error_line(&e).starts_with(&format!(
            "cannot use state.password_file {} (set in {}): it cannot be read: ",
            pw.display(),
            conf.display()
        )),
        "{e}"
    );
    let hint = e.hint().unwrap();
    assert!(
        hint.starts_with(&format!(
            "{} must be readable by the user the monitoring engine runs as",
            pw.display()
        )),
        "{hint}"
    );
}

#[test]
fn advisories_for_clear_text_and_unchecked_tls() {
    assert!(advisories(&ok(MINIMAL)).is_empty());
    for local in [
        "http://127.0.0.1:8080",
        "http://localhost/glpi",
        "http://LOCALHOST./glpi",
        "http://[::1]:80",
        "http://127.1/glpi",
        "http://127.0.0.2",
        "http://[::ffff:127.0.0.1]/glpi",
        "http://user:pw@localhost/glpi",
        "https://glpi.example.org/glpi",
    ] {
        assert!(advisories(&host(local)).is_empty(), "{local}");
    }
    // Names that only look local are resolved elsewhere.
    for remote in [
        "http://glpi.example.org/glpi",
        "HTTP://glpi.example.org",
        "http://127.0.0.1.nip.io/glpi",
        "http://localhost.example.org",
        "http://192.0.2.10:8080",
        "http://[2001:db8::1]/glpi",
        "http://localhost@glpi.example.org/glpi",
    ] {
        let w = advisories(&host(remote));
        assert_eq!(w.len(), 1, "{remote}");
        assert_eq!(
            w[0],
            "host uses http:// to another machine than this one: app_token, user_token and the \
             session token travel in clear, readable by anyone on the network path; use https://",
            "{remote}"
        );
    }
    let v2 = ok(
        "host = \"http://glpi.example.org\"\napi = \"v2\"\nclient_id = \"c\"\n\
                 client_secret = \"s\"\nusername = \"u\"\npassword = \"p\"\n",
    );
    let w = advisories(&v2);
    assert!(
        w[0].contains("client_secret, the GLPI user's password"),
        "{w:?}"
    );
    assert_eq!(advisories(&ok(&with("tls_verify = false"))).len(), 1);
}
