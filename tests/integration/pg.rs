//! The PostgreSQL state backend (SPEC "Configuration", `[state]`; issue 15)
//! against a real PostgreSQL server started by the test (`support/pg.rs`).
//! For now the harness itself; the backend's tests come with the backend.

// Until clippy.toml's doc-valid-idents names PostgreSQL (it comes with the
// backend).
#![allow(clippy::doc_markdown)]

use std::process::Command;

use crate::support::pg::{PASSWORD, Pg};

/// The harness itself: a cluster starts, the role `esia` logs in over TCP
/// with its password (and not without it), a killed server refuses
/// connections, and a restarted one still holds what was committed before
/// the kill.
#[test]
fn harness_starts_kills_and_restarts_a_real_server() {
    let pg = Pg::start();
    assert_eq!(pg.query("SELECT current_database()").trim(), "esia");
    let as_esia = pg.try_psql_as_esia("SELECT current_user");
    assert!(
        as_esia.status.success(),
        "{}",
        String::from_utf8_lossy(&as_esia.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&as_esia.stdout).trim(), "esia");
    // The password is required over TCP (scram-sha-256, not trust).
    let mut wrong = Command::new(crate::support::pg::server_bin().join("psql"));
    wrong
        .env_clear()
        .env("PGPASSWORD", "not-the-password")
        .args(["-X", "-At", "-h", "127.0.0.1", "-p", &pg.port().to_string()])
        .args(["-U", "esia", "-d", "esia", "-c", "SELECT 1"]);
    let wrong = wrong.output().unwrap();
    assert!(!wrong.status.success(), "a wrong password was accepted");
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("password authentication failed"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert!(pg.url().ends_with(&format!(":{}/esia", pg.port())));
    assert!(!pg.url().contains(PASSWORD));

    let out = pg.try_psql_as_esia("CREATE TABLE t (v int); INSERT INTO t VALUES (42)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    pg.kill();
    assert!(!pg.is_up(), "the server still answers after kill");
    assert!(!pg.try_psql_as_esia("SELECT 1").status.success());

    pg.restart();
    assert!(pg.is_up());
    assert_eq!(
        pg.query("SELECT v FROM t").trim(),
        "42",
        "committed rows survive the kill"
    );
    assert!(pg.dump_data().contains("42"), "{}", pg.dump_data());
    let dir = pg.dir().to_path_buf();
    let postmaster = std::fs::read_to_string(dir.join("data/postmaster.pid")).unwrap();
    let pid = postmaster.lines().next().unwrap().trim().to_string();
    drop(pg);
    assert!(!dir.exists(), "drop removes the cluster's dir");
    assert!(!alive(&pid), "drop stops the server (pid {pid})");
}

/// Whether process `pid` runs (a zombie waiting for its parent does not).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command name, which is in parentheses.
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}
