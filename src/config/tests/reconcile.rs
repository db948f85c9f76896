//! The `[reconcile]` table: one source, its companions only with it, the
//! defaults, every error with its key and line, and the shipped example's
//! block (each source uncommented in turn gives the defaults).

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::ExposeSecret as _;

use super::{MINIMAL, SHIPPED, assert_invalid, err, ok, with};
use crate::config::reconcile::Icinga2Api;
use crate::config::{ConfigError, ReconcileConfig, ReconcileSource};
use crate::core::reconcile::Scope;

fn reconcile(extra: &str) -> ReconcileConfig {
    ok(&with(&format!("[reconcile]\n{extra}")))
        .reconcile
        .expect("a [reconcile] table")
}

#[test]
fn absent_table_is_none() {
    assert_eq!(ok(MINIMAL).reconcile, None);
}

#[test]
fn status_file_with_every_default() {
    assert_eq!(
        reconcile("status_file = \"/var/lib/nagios4/status.dat\""),
        ReconcileConfig {
            source: ReconcileSource::StatusFile(PathBuf::from("/var/lib/nagios4/status.dat")),
            create_missing: true,
            scope: Scope::default(),
            margin: Duration::from_secs(30),
            max_age: Duration::from_mins(1),
        }
    );
    assert_eq!(
        reconcile("status_file = \"/s\""),
        ReconcileConfig::with_source(ReconcileSource::StatusFile("/s".into()))
    );
}

#[test]
fn every_key_is_read() {
    let c = reconcile(
        "livestatus = \"/run/icinga2/cmd/livestatus\"\ncreate_missing = false\n\
         create_groups = [\"Paris\", \"Lyon\"]\ncreate_names = [\"web-*\", \"db-01/MySQL\"]\n\
         margin = 0\nmax_age = 300",
    );
    assert_eq!(
        c.source,
        ReconcileSource::Livestatus("/run/icinga2/cmd/livestatus".into())
    );
    assert!(!c.create_missing);
    assert_eq!(c.scope.groups, ["Paris", "Lyon"]);
    assert_eq!(c.scope.names, ["web-*", "db-01/MySQL"]);
    assert_eq!(c.margin, Duration::ZERO);
    assert_eq!(c.max_age, Duration::from_mins(5));
    let c = reconcile(
        "icinga2_url = \"https://Icinga.example.org:5665/\"\nicinga2_user = \"esia-glpi\"\n\
         icinga2_password_file = \"/etc/esia/icinga2.pw\"\nca_file = \"/var/lib/icinga2/certs/ca.crt\"",
    );
    assert_eq!(
        c.source,
        ReconcileSource::Icinga2(Icinga2Api {
            url: "https://Icinga.example.org:5665".into(),
            user: "esia-glpi".into(),
            password_file: "/etc/esia/icinga2.pw".into(),
            ca_file: Some("/var/lib/icinga2/certs/ca.crt".into()),
        })
    );
}

#[test]
fn errors_name_the_key_and_its_line() {
    // MINIMAL is three lines, then the table line: its keys start at line 5.
    let t = |extra: &str| with(&format!("[reconcile]\n{extra}"));
    assert_invalid(
        &t("status_file = \"/a\"\nlivestatus = \"/b\""),
        "reconcile.livestatus",
        6,
    );
    assert_invalid(
        &t("livestatus = \"/b\"\nicinga2_url = \"https://x:5665\""),
        "reconcile.icinga2_url",
        6,
    );
    assert_invalid(
        &t("status_file = \"status.dat\""),
        "reconcile.status_file",
        5,
    );
    assert_invalid(&t("livestatus = \"run/live\""), "reconcile.livestatus", 5);
    assert_invalid(
        &t("status_file = \"/a\"\nicinga2_user = \"u\""),
        "reconcile.icinga2_user",
        6,
    );
    assert_invalid(
        &t("status_file = \"/a\"\nca_file = \"/ca.pem\""),
        "reconcile.ca_file",
        6,
    );
    let icinga = "icinga2_user = \"u\"\nicinga2_password_file = \"/pw\"\n";
    assert_invalid(
        &t(&format!("{icinga}icinga2_url = \"http://localhost:5665\"")),
        "reconcile.icinga2_url",
        7,
    );
    assert_invalid(
        &t(&format!("{icinga}icinga2_url = \"https://\"")),
        "reconcile.icinga2_url",
        7,
    );
    assert_invalid(
        &t(
            "icinga2_url = \"https://x:5665\"\nicinga2_user = \"u\"\nicinga2_password_file = \"pw\"",
        ),
        "reconcile.icinga2_password_file",
        7,
    );
    assert_invalid(
        &t(
            "icinga2_url = \"https://x:5665\"\nicinga2_user = \"a:b\"\nicinga2_password_file = \"/pw\"",
        ),
        "reconcile.icinga2_user",
        6,
    );
    assert_invalid(
        &t("status_file = \"/a\"\nmargin = 3601"),
        "reconcile.margin",
        6,
    );
    assert_invalid(
        &t("status_file = \"/a\"\nmax_age = 0"),
        "reconcile.max_age",
        6,
    );
    assert_invalid(
        &t("status_file = \"/a\"\ncreate_names = [\"web*\", \" \"]"),
        "reconcile.create_names",
        6,
    );
    assert_invalid(
        &t("status_file = \"/a\"\ncreate_groups = [\"\"]"),
        "reconcile.create_groups",
        6,
    );
    for (extra, key) in [
        (
            "",
            "reconcile.status_file (or reconcile.livestatus, or reconcile.icinga2_url)",
        ),
        ("icinga2_url = \"https://x:5665\"", "reconcile.icinga2_user"),
        (
            "icinga2_url = \"https://x:5665\"\nicinga2_user = \"u\"",
            "reconcile.icinga2_password_file",
        ),
    ] {
        match err(&t(extra)) {
            ConfigError::MissingKey { key: k, .. } => assert_eq!(k, key, "{extra}"),
            other => panic!("{extra}: {other:?}"),
        }
    }
    match err(&t("status_file = \"/a\"\nmargins = 3")) {
        ConfigError::UnknownKey { key, line, .. } => {
            assert_eq!((key.as_deref(), line), (Some("reconcile.margins"), 6));
        }
        other => panic!("{other:?}"),
    }
    let e = err(&with("reconcile = 3"));
    assert!(
        e.to_string().contains("expected a [reconcile] table"),
        "{e}"
    );
}

/// The shipped block: the table line and each source uncommented in turn
/// (with its companions), then every other key, give the defaults.
#[test]
fn the_shipped_block_gives_the_defaults() {
    let start = SHIPPED.find("# [reconcile]\n").expect("the block");
    let end = start + SHIPPED[start..].find("\n\n").expect("its end");
    let block = &SHIPPED[start..end];
    let keys: Vec<&str> = block
        .lines()
        .filter_map(|l| l.strip_prefix("#   "))
        .collect();
    assert!(keys.len() >= 11, "{keys:?}");
    let common: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| {
            !["status_file", "livestatus", "icinga2_", "ca_file"]
                .iter()
                .any(|s| k.starts_with(s))
        })
        .collect();
    let sources: [&[&str]; 3] = [
        &["status_file"],
        &["livestatus"],
        &[
            "icinga2_url",
            "icinga2_user",
            "icinga2_password_file",
            "ca_file",
        ],
    ];
    for source in sources {
        let mut lines: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| source.iter().any(|s| k.starts_with(&format!("{s} ="))))
            .collect();
        assert_eq!(lines.len(), source.len(), "{source:?}");
        let only_source = reconcile(&lines.join("\n"));
        lines.extend(&common);
        let everything = reconcile(&lines.join("\n"));
        assert_eq!(everything, only_source, "{source:?}");
    }
}

#[test]
fn the_icinga2_password_is_read_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "s3cret-api\nignored\n").unwrap();
    let api = Icinga2Api {
        url: "https://x:5665".into(),
        user: "u".into(),
        password_file: file.clone(),
        ca_file: None,
    };
    assert_eq!(
        api.password(std::path::Path::new("/etc/esia/glpi.conf"))
            .unwrap()
            .expose_secret(),
        "s3cret-api"
    );
    assert!(!format!("{api:?}").contains("s3cret"));
    // A missing file fails reconcile, never the parse (notify never reads it).
    let missing = Icinga2Api {
        password_file: Path::new("/nonexistent/pw").into(),
        ..api
    };
    assert!(
        missing
            .password(std::path::Path::new("/etc/esia/glpi.conf"))
            .is_err()
    );
    let c = reconcile(
        "icinga2_url = \"https://x:5665\"\nicinga2_user = \"u\"\n\
         icinga2_password_file = \"/nonexistent/pw\"",
    );
    assert!(matches!(c.source, ReconcileSource::Icinga2(_)));
}
