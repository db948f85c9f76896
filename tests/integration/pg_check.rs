//! `check` with the PostgreSQL state backend, against a real server: what
//! it says of the database (reached, schema, rights, lock) for each state
//! the database can be in, and the exit status of each problem (6: the
//! local state, the database included). Never the password.

use std::path::PathBuf;

use crate::support::Env;
use crate::support::pg::{PASSWORD, Pg};

/// A GLPI simulator, a database, a configuration naming both; the
/// database's password in a 0600 file.
fn site() -> (Env, Pg, PathBuf) {
    let pg = Pg::start();
    let env = Env::new();
    let password = env.dir.path().join("pg-password");
    pg.write_password_file(&password);
    env.write_config(&pg.state_table(&password));
    (env, pg, password)
}

/// The checklist line of `step`.
fn line<'a>(out: &'a str, step: &str) -> &'a str {
    out.lines()
        .find(|l| {
            l.split_once(' ')
                .is_some_and(|(_, rest)| rest.starts_with(&format!("{step}:")))
        })
        .unwrap_or_else(|| panic!("no {step:?} line in\n{out}"))
}

#[test]
fn a_fresh_database_then_a_migrated_one() {
    let (env, pg, _) = site();
    let run = env.esia(&["check"]);
    run.ok();
    let out = &run.stdout;
    assert!(
        line(out, "state database").starts_with("✓")
            && line(out, "state database").contains("\"esia\""),
        "{out}"
    );
    assert!(
        line(out, "schema").contains("none yet: the first run creates it"),
        "{out}"
    );
    assert!(line(out, "database lock").starts_with("✓"), "{out}");
    assert!(!env.state.exists(), "check touched the state directory");
    assert_eq!(
        pg.query("SELECT count(*) FROM pg_tables WHERE tablename = 'esia_glpi_schema'")
            .trim(),
        "0",
        "check created the schema"
    );

    env.esia(&["state", "migrate"]).ok();
    let run = env.esia(&["--json", "check"]);
    run.ok();
    let j = run.json();
    let steps: Vec<(String, String)> = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["step"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(s, _)| {
            [
                "state database",
                "schema",
                "database rights",
                "database lock",
            ]
            .contains(&s.as_str())
        })
        .collect();
    assert_eq!(steps.len(), 4, "{j}");
    assert!(steps.iter().all(|(_, status)| status == "ok"), "{j}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains(PASSWORD), "password printed: {all}");
}

#[test]
fn a_user_without_rights_on_the_tables_exits_6_with_the_grant() {
    let (env, pg, password) = site();
    env.esia(&["state", "migrate"]).ok();
    pg.query(
        "CREATE ROLE reader LOGIN PASSWORD 'reader-pw-1'; GRANT CONNECT ON DATABASE esia TO reader",
    );
    std::fs::write(&password, "reader-pw-1\n").unwrap();
    let conf = std::fs::read_to_string(&env.config).unwrap();
    crate::support::write_private(
        &env.config,
        &conf.replace("postgres://esia@", "postgres://reader@"),
    );
    let run = env.esia(&["check"]);
    run.code(6);
    let rights = line(&run.stdout, "database rights");
    assert!(rights.starts_with("✗"), "{}", run.stdout);
    assert!(
        rights.contains("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES"),
        "{rights}"
    );
    assert!(rights.contains("reader"), "{rights}");
    assert!(!run.stdout.contains("reader-pw-1") && !run.stderr.contains("reader-pw-1"));
}

#[test]
fn a_schema_newer_than_the_program_exits_6() {
    let (env, pg, _) = site();
    env.esia(&["state", "migrate"]).ok();
    pg.query("UPDATE esia_glpi_schema SET version = 99");
    let run = env.esia(&["check"]);
    run.code(6);
    let schema = line(&run.stdout, "schema");
    assert!(
        schema.starts_with("✗") && schema.contains("version 99"),
        "{}",
        run.stdout
    );
    assert!(schema.contains("newer"), "{schema}");
}

#[test]
fn a_database_that_is_down_exits_6_and_names_the_fix() {
    let (env, pg, _) = site();
    pg.kill();
    let run = env.esia(&["-vvv", "check"]);
    run.code(6);
    let down = line(&run.stdout, "state database");
    assert!(down.starts_with("✗"), "{}", run.stdout);
    assert!(
        down.contains("pg_hba.conf") && down.contains("exit 6"),
        "{down}"
    );
    assert!(down.contains(&pg.url()), "{down}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains(PASSWORD), "password printed: {all}");
    // GLPI itself was checked and is fine: the database is the problem.
    assert!(
        line(&run.stdout, "user_token").starts_with("✓"),
        "{}",
        run.stdout
    );
}

/// Through PgBouncer in session mode (what README recommends for many
/// short runs), check is content: one session per connection, locks work.
#[test]
fn through_pgbouncer_in_session_mode_every_line_is_ok() {
    let (env, pg, password) = site();
    let bouncer = pg.start_bouncer();
    env.write_config(&bouncer.state_table(&password));
    env.esia(&["state", "migrate"]).ok();
    let run = env.esia(&["check"]);
    run.ok();
    for step in [
        "state database",
        "schema",
        "database rights",
        "database lock",
    ] {
        assert!(line(&run.stdout, step).starts_with("✓"), "{}", run.stdout);
    }
    assert!(
        line(&run.stdout, "state database").contains(&bouncer.url()),
        "{}",
        run.stdout
    );
}

/// A pooler in transaction mode sends one connection's statements to
/// several server sessions, where a run's session lock holds nothing:
/// check says so, with the fix, and exits 6.
#[test]
fn a_pooler_in_transaction_mode_exits_6_with_the_fix() {
    let (env, pg, password) = site();
    let bouncer = pg.start_bouncer_in("transaction");
    env.write_config(&bouncer.state_table(&password));
    let run = env.esia(&["check"]);
    run.code(6);
    let lock = line(&run.stdout, "database lock");
    assert!(lock.starts_with("✗"), "{}", run.stdout);
    assert!(
        lock.contains("transaction or statement mode") && lock.contains("pool_mode = session"),
        "{lock}"
    );
}
