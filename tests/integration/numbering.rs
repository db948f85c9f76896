//! SPEC "Order" across numberings: an engine's event numbers are compared
//! only within one numbering — one engine, one run of its counter. Nagios
//! numbers from 1 again when restarted without its retained program state,
//! and two engines of a fail-over pair number independently; events kept
//! during a GLPI outage that straddle such a change are delivered in the
//! order they happened, and no ticket is left open after an OK. Files and
//! PostgreSQL backends, real processes, GLPI down through the simulator.
//!
//! Another monitoring server is another host: its runs carry another boot
//! id. The test plays it by rewriting, in the kept events, the boot id of
//! this host into another one — the only thing that differs between two
//! servers' kept events.

use std::time::Duration;

use crate::support::glpi_sim::{Fault, FaultKind, Sim};
use crate::support::pg::Pg;
use crate::support::{Env, Run};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Files,
    Postgres,
}

/// An environment on `backend` (the database, for PostgreSQL, returned
/// with it: it lives as long as the test).
fn site(backend: Backend) -> (Env, Option<Pg>) {
    match backend {
        Backend::Files => (Env::new(), None),
        Backend::Postgres => {
            let pg = Pg::start();
            let env = Env::with_sim(Sim::start(), "");
            let password = env.dir.path().join("pg-password");
            pg.write_password_file(&password);
            env.write_config(&pg.state_table(&password));
            (env, Some(pg))
        }
    }
}

/// `notify` numbered by the engine as `--event-id id --last-event-id
/// previous`.
fn numbered(env: &Env, state: &str, id: u64, previous: u64) -> Run {
    env.notify(
        "web01",
        "HTTP",
        state,
        &[
            "--type",
            if state == "OK" { "RECOVERY" } else { "PROBLEM" },
            "--event-id",
            &id.to_string(),
            "--last-event-id",
            &previous.to_string(),
            "--output",
            &format!("{state} event {id}"),
        ],
    )
}

#[track_caller]
fn action(run: &Run, code: i32) -> String {
    run.code(code).json()["action"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn glpi_down(env: &Env) {
    env.sim
        .inject(Fault::new("/apirest.php", FaultKind::Status(503)));
}

fn this_boot() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .unwrap()
        .trim()
        .to_owned()
}

/// Makes every event kept so far look kept by another monitoring server:
/// its runs' boot id becomes another host's.
fn kept_by_another_server(env: &Env, pg: Option<&Pg>) {
    let boot = this_boot();
    let other = "0d3c1b2a-aaaa-4bbb-8ccc-server-a-000";
    match pg {
        Some(pg) => {
            let n = pg.psql(
                "esia",
                &format!(
                    "WITH u AS (UPDATE kept SET event = replace(event::text, '{boot}', \
                     '{other}')::jsonb RETURNING 1) SELECT count(*) FROM u"
                ),
            );
            assert_ne!(n.trim(), "0", "no kept event in the database");
        }
        None => {
            let mut changed = 0;
            rewrite(&env.state, &boot, other, &mut changed);
            assert!(changed > 0, "no kept event in the state directory");
        }
    }
}

fn rewrite(dir: &std::path::Path, from: &str, to: &str, changed: &mut usize) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rewrite(&path, from, to, changed);
        } else if let Ok(text) = std::fs::read_to_string(&path)
            && text.contains(from)
        {
            std::fs::write(&path, text.replace(from, to)).unwrap();
            *changed += 1;
        }
    }
}

/// The one ticket: solved, its follow-ups the state changes `expected` in
/// order.
#[track_caller]
fn assert_one_ticket_solved(env: &Env, expected: &[&str]) {
    let tickets = env.sim.tickets();
    assert_eq!(tickets.len(), 1, "one ticket:\n{}", env.sim.trail());
    let t = &tickets[0];
    assert_eq!(t.status, 5, "solved:\n{}", env.sim.trail());
    let changes: Vec<&str> = t
        .followups
        .iter()
        .map(|f| {
            expected
                .iter()
                .copied()
                .find(|e| f.contains(*e))
                .unwrap_or("?")
        })
        .collect();
    assert_eq!(changes, expected, "the trail:\n{}", env.sim.trail());
}

/// W(5000) delivered, C(5001) kept, the engine restarted and numbering
/// from 1 again: W(1), OK(2) kept; then GLPI is back. With its objects'
/// retained state (`retained`) the first new event names the service's last
/// change, 5001, as its previous one; without, it names none — and the
/// restart is seen in the runs' start times alone (SPEC: numbers are
/// compared only within one numbering).
fn counter_reset_during_an_outage(backend: Backend, retained: bool) {
    let (env, _pg) = site(backend);
    assert_eq!(action(&numbered(&env, "CRITICAL", 4999, 10), 0), "created");
    assert_eq!(
        action(&numbered(&env, "WARNING", 5000, 4999), 0),
        "followed_up"
    );
    glpi_down(&env);
    assert_eq!(
        action(&numbered(&env, "CRITICAL", 5001, 5000), 5),
        "spooled"
    );
    if !retained {
        // A restart takes longer than the engine takes to start the runs of
        // one numbering (core::order::NUMBERING_SPAN).
        std::thread::sleep(Duration::from_millis(2300));
    }
    let first_previous = if retained { 5001 } else { 0 };
    assert_eq!(
        action(&numbered(&env, "WARNING", 1, first_previous), 5),
        "spooled"
    );
    assert_eq!(action(&numbered(&env, "OK", 2, 1), 5), "spooled");
    env.sim.clear_faults();
    env.esia(&["flush"]).ok();
    assert_one_ticket_solved(
        &env,
        &[
            "CRITICAL → WARNING",
            "WARNING → CRITICAL",
            "CRITICAL → WARNING",
        ],
    );
    env.esia(&["state", "list"]).ok();
}

#[test]
fn counter_reset_during_an_outage_files() {
    counter_reset_during_an_outage(Backend::Files, false);
}

#[test]
fn counter_reset_with_retained_objects_during_an_outage_files() {
    counter_reset_during_an_outage(Backend::Files, true);
}

#[test]
fn counter_reset_during_an_outage_postgres() {
    counter_reset_during_an_outage(Backend::Postgres, false);
}

/// Server A delivered C(100000) and kept W(100001) during the outage; A
/// failed and B, numbering on its own, kept OK(60): the WARNING then the
/// OK, whatever their numbers.
fn failover_during_an_outage(backend: Backend) {
    let (env, pg) = site(backend);
    assert_eq!(
        action(&numbered(&env, "CRITICAL", 100_000, 99_990), 0),
        "created"
    );
    glpi_down(&env);
    assert_eq!(
        action(&numbered(&env, "WARNING", 100_001, 100_000), 5),
        "spooled"
    );
    kept_by_another_server(&env, pg.as_ref());
    assert_eq!(action(&numbered(&env, "OK", 60, 59), 5), "spooled");
    env.sim.clear_faults();
    env.esia(&["flush"]).ok();
    assert_one_ticket_solved(&env, &["CRITICAL → WARNING"]);
}

#[test]
fn failover_during_an_outage_files() {
    failover_during_an_outage(Backend::Files);
}

#[test]
fn failover_during_an_outage_postgres() {
    failover_during_an_outage(Backend::Postgres);
}
