//! The PostgreSQL state backend (SPEC "Configuration", `[state]`; issue 15)
//! against a real PostgreSQL server started by the test (`support/pg.rs`),
//! real processes of the real binary and one GLPI simulator.
//!
//! A "site" is what issue 15 describes: one database, one GLPI, and one or
//! more monitoring servers, each with its own configuration and its own
//! state directory, all with the same `[state]` url. Every test ends by
//! checking that the database password appears in no output of any run and
//! in no state directory.
//!
//! Events carry a tag in their output (`#k<key>e<n>#`), so every write GLPI
//! took — a creation, a follow-up, a solution, in the order of the
//! simulator's request log — is attributed to its key and event; a key's
//! trail is then compared, exactly, with what its events must write in the
//! order they were produced.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use crate::support::glpi_sim::{Sim, SimOptions};
use crate::support::pg::{Bouncer, PASSWORD, Pg};
use crate::support::{APP_TOKEN, BIN, Run, USER_TOKEN, collect, write_private};

/// The longest a run may take before the test calls it hung.
const RUN_DEADLINE: Duration = Duration::from_mins(1);

/// The service of every key.
const SERVICE: &str = "svc";

// ---------------------------------------------------------------------------
// The site: one database, one GLPI, several monitoring servers
// ---------------------------------------------------------------------------

/// One monitoring server: its configuration and its state directory.
struct Server {
    name: &'static str,
    config: PathBuf,
    state: PathBuf,
}

/// How the monitoring servers reach the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Direct,
    /// Through PgBouncer in session pooling mode.
    PgBouncer,
    /// Through PgBouncer in transaction pooling mode with one server
    /// session: every run's statements share it (unsupported: no run may
    /// deliver without a lock of its own).
    PgBouncerTransactionOneSession,
}

struct Site {
    sim: Sim,
    /// Dropped (stopped) before the database.
    bouncer: Option<Bouncer>,
    pg: Pg,
    dir: tempfile::TempDir,
    servers: Vec<Server>,
    password_file: PathBuf,
    /// Everything every run printed, for the password check.
    printed: Mutex<Vec<String>>,
}

impl Site {
    /// A database, a simulator answering after `latency`, and `n` servers.
    fn new(n: usize, latency: Duration) -> Site {
        Site::new_via(n, latency, Via::Direct)
    }

    /// [`Site::new`], the servers reaching the database `via`.
    fn new_via(n: usize, latency: Duration, via: Via) -> Site {
        let pg = Pg::start();
        let bouncer = match via {
            Via::Direct => None,
            Via::PgBouncer => Some(pg.start_bouncer()),
            Via::PgBouncerTransactionOneSession => Some(pg.start_bouncer_pool("transaction", 1)),
        };
        let sim = Sim::start_with(SimOptions {
            latency,
            ..SimOptions::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let password_file = dir.path().join("db-password");
        pg.write_password_file(&password_file);
        let mut site = Site {
            sim,
            bouncer,
            pg,
            dir,
            servers: Vec::new(),
            password_file,
            printed: Mutex::new(Vec::new()),
        };
        for name in ["A", "B", "C"].into_iter().take(n) {
            let config = site.dir.path().join(format!("glpi-{name}.conf"));
            let state = site.dir.path().join(format!("state-{name}"));
            site.servers.push(Server {
                name,
                config,
                state,
            });
            let table = match &site.bouncer {
                Some(b) => b.state_table(&site.password_file),
                None => site.pg.state_table(&site.password_file),
            };
            site.write_config(site.servers.len() - 1, &table);
        }
        site
    }

    /// Server `s`'s configuration: the Esia-documented keys pointing at the
    /// simulator, its own state directory, then `state` (a `[state]` table,
    /// or nothing for the files backend).
    fn write_config(&self, s: usize, state: &str) {
        let server = &self.servers[s];
        let text = format!(
            "host=\"{}\"\napp_token=\"{APP_TOKEN}\"\nuser_token=\"{USER_TOKEN}\"\nuser_name=\"esia\"\n\
             tpl_title=\"( %node.group.name ) %node.name:%service.name\"\n\
             state_dir=\"{}\"\nconnect_timeout=2\ntimeout=3\nrun_timeout=30\nlock_timeout=30\nretries=0\n\
             {state}",
            self.sim.base_url(),
            server.state.display()
        );
        write_private(&server.config, &text);
    }

    /// A bare command of server `s`: cleared environment, `--config` set.
    fn cmd(&self, s: usize) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TZ", "UTC")
            .arg("--config")
            .arg(&self.servers[s].config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// Runs `c` to its end (bounded), keeping what it printed.
    fn run(&self, c: &mut Command) -> Run {
        self.finish(c.spawn().unwrap(), "a run")
    }

    /// `esia-glpi --config <server s> <args>`.
    fn esia(&self, s: usize, args: &[&str]) -> Run {
        self.run(self.cmd(s).args(args))
    }

    /// `notify` on server `s`, ready to spawn: `--json`, the key, the state
    /// and the output.
    fn notify_cmd(&self, s: usize, node: &str, state: &str, output: &str) -> Command {
        let mut c = self.cmd(s);
        c.args(["--json", "notify", "--node", node, "--service", SERVICE])
            .args(["--state", state, "--output", output]);
        c
    }

    fn notify(&self, s: usize, node: &str, state: &str, output: &str) -> Run {
        self.run(&mut self.notify_cmd(s, node, state, output))
    }

    /// Waits (bounded) for a spawned run; keeps what it printed.
    fn finish(&self, child: Child, what: &str) -> Run {
        let run = crate::support::finish_within(child, what, RUN_DEADLINE);
        self.keep(&run);
        run
    }

    fn keep(&self, run: &Run) {
        self.printed
            .lock()
            .unwrap()
            .push(format!("{}\n{}", run.stdout, run.stderr));
    }

    /// `state list --json` of server `s`: (node, ticket id, events kept)
    /// per key.
    #[track_caller]
    fn list(&self, s: usize) -> Vec<(String, Option<u64>, usize)> {
        let run = self.esia(s, &["--json", "state", "list"]);
        let j = run.ok().json();
        let Some(keys) = j.as_array() else {
            panic!("state list --json is not an array: {}", run.stdout);
        };
        keys.iter()
            .map(|k| {
                (
                    k["node"].as_str().unwrap_or_default().to_string(),
                    k["record"]["ticket_id"].as_u64(),
                    k["spool"].as_array().map_or(0, Vec::len),
                )
            })
            .collect()
    }

    /// The whole database as `pg_dump --data-only` prints it.
    fn dump(&self) -> String {
        self.pg.dump_data()
    }

    /// The password appears in no output of any run, no state directory,
    /// and no configuration.
    #[track_caller]
    fn assert_password_never_shown(&self) {
        let printed = self.printed.lock().unwrap();
        assert!(!printed.is_empty());
        for p in printed.iter() {
            assert!(
                !p.contains(PASSWORD),
                "the database password was printed:\n{p}"
            );
        }
        for server in &self.servers {
            let mut bytes = Vec::new();
            collect(&server.state, &mut bytes);
            bytes.extend(std::fs::read(&server.config).unwrap_or_default());
            assert!(
                !String::from_utf8_lossy(&bytes).contains(PASSWORD),
                "the database password is in server {}'s files",
                server.name
            );
        }
    }
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Trails: what GLPI took, per key and event, against what must be
// ---------------------------------------------------------------------------

/// A write into GLPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Create,
    FollowUp,
    Solve,
}

/// The tag of event `n` of key `k`, carried in its output.
fn tag(k: usize, n: usize) -> String {
    format!("#k{k}e{n}#")
}

fn node(k: usize) -> String {
    format!("pgnode{k:02}")
}

/// The (key, event) of the first tag in `text`.
fn tag_of(text: &str) -> Option<(usize, usize)> {
    let at = text.find("#k")? + 2;
    let rest = &text[at..];
    let (k, rest) = rest.split_once('e')?;
    let (n, _) = rest.split_once('#')?;
    Some((k.parse().ok()?, n.parse().ok()?))
}

/// A key's writes: (write, event), in the order GLPI took them.
type Trail = Vec<(Write, usize)>;

/// Per key, the writes GLPI took (answered 2xx), in the order it took them:
/// (write, event, ticket). Writes carrying no tag are returned apart.
fn trails(sim: &Sim) -> (BTreeMap<usize, Trail>, Vec<String>) {
    let mut by_key: BTreeMap<usize, Trail> = BTreeMap::new();
    let mut untagged = Vec::new();
    for r in sim.requests() {
        if r.method != "POST" || !(200..300).contains(&r.status) {
            continue;
        }
        let write = if r.path.ends_with("/Ticket") {
            Write::Create
        } else if r.path.ends_with("/ITILFollowup") {
            Write::FollowUp
        } else if r.path.ends_with("/ITILSolution") {
            Write::Solve
        } else {
            continue;
        };
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
        let content = body["input"]["content"].as_str().unwrap_or_default();
        match tag_of(content) {
            Some((k, n)) => by_key.entry(k).or_default().push((write, n)),
            None => untagged.push(format!("{} {}: {content}", r.method, r.path)),
        }
    }
    (by_key, untagged)
}

/// What events (number, state), delivered in this order, must write: a
/// problem opens a ticket when none is open, a change of state follows it
/// up, an OK solves it, the same state again writes nothing.
fn expected_trail(events: &[(usize, &str)]) -> Vec<(Write, usize)> {
    let mut trail = Vec::new();
    let mut open: Option<&str> = None;
    for &(n, s) in events {
        match (s, open) {
            ("OK", Some(_)) => {
                trail.push((Write::Solve, n));
                open = None;
            }
            ("OK", None) => {}
            (_, None) => {
                trail.push((Write::Create, n));
                open = Some(s);
            }
            (_, Some(prev)) if prev == s => {}
            (_, Some(_)) => {
                trail.push((Write::FollowUp, n));
                open = Some(s);
            }
        }
    }
    trail
}

/// Key `k`'s tickets in the simulator (by the tags in their content).
fn tickets_of(sim: &Sim, k: usize) -> Vec<(u64, u8)> {
    let mark = format!("#k{k}e");
    sim.tickets()
        .into_iter()
        .filter(|t| t.content.contains(&mark))
        .map(|t| (t.id, t.status))
        .collect()
}

/// Asserts that every key's trail is exactly what its events must write in
/// order, that every key has exactly one ticket per problem, all solved
/// when the last event is OK.
#[track_caller]
fn assert_trails(sim: &Sim, sequences: &[Vec<(usize, &str)>]) {
    let problems = trail_problems(sim, sequences);
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}\n--- GLPI\n{}",
        problems.len(),
        problems.join("\n"),
        sim.trail()
    );
}

/// What [`assert_trails`] finds wrong, one line per problem.
fn trail_problems(sim: &Sim, sequences: &[Vec<(usize, &str)>]) -> Vec<String> {
    let (got, untagged) = trails(sim);
    let mut problems = Vec::new();
    if !untagged.is_empty() {
        problems.push(format!("writes of no event: {untagged:#?}"));
    }
    for (k, events) in sequences.iter().enumerate() {
        let want = expected_trail(events);
        let have = got.get(&k).cloned().unwrap_or_default();
        if have != want {
            problems.push(format!("{}: trail {have:?}\n   expected {want:?}", node(k)));
        }
        let creations = want.iter().filter(|(w, _)| *w == Write::Create).count();
        let tickets = tickets_of(sim, k);
        if tickets.len() != creations {
            problems.push(format!(
                "{}: {} ticket(s) {tickets:?}, expected {creations}",
                node(k),
                tickets.len()
            ));
        }
        if events.last().is_some_and(|(_, s)| *s == "OK")
            && tickets.iter().any(|(_, status)| *status != 5)
        {
            problems.push(format!("{}: a ticket left open {tickets:?}", node(k)));
        }
    }
    problems
}

/// The states of a key's events, numbered in the order they happen.
fn numbered<'a>(states: &[&'a str]) -> Vec<(usize, &'a str)> {
    states.iter().copied().enumerate().collect()
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

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

/// A lifecycle through the database; what one server records, another
/// server (its own state directory, the same database) sees; `state
/// list/show/forget` work on the database; `state migrate` is idempotent;
/// `check` probes the database; a password in the URL is refused (exit 3);
/// the password never shows, even at `-vvv` or `RUST_LOG=trace`.
#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn lifecycle_state_commands_and_migrate_over_the_database() {
    let site = Site::new(2, Duration::ZERO);
    let (a, b) = (0, 1);

    // The schema: created by `state migrate` on a fresh database, and a
    // second migrate changes nothing.
    let first = site.esia(a, &["--json", "state", "migrate"]);
    first.ok();
    let schema = site.pg.dump_schema();
    assert!(
        schema.contains("CREATE TABLE"),
        "state migrate created no table:\n{schema}"
    );
    let second = site.esia(b, &["--json", "state", "migrate"]);
    second.ok();
    assert_eq!(
        version_in(&first.stdout),
        version_in(&second.stdout),
        "migrate twice: the same version\n{}\n{}",
        first.stdout,
        second.stdout
    );
    assert!(version_in(&first.stdout).is_some(), "{}", first.stdout);
    assert_eq!(
        site.pg.dump_schema(),
        schema,
        "a second migrate changed the schema"
    );

    // A lifecycle on server A.
    let created = site.notify(a, "web01", "CRITICAL", "down #k0e0#");
    let id = created.ok().json()["ticket_id"].as_u64().unwrap();
    assert_eq!(created.json()["action"], "created");
    let fu = site.notify(a, "web01", "WARNING", "better #k0e1#");
    assert_eq!(
        (
            fu.ok().json()["action"].as_str(),
            fu.json()["ticket_id"].as_u64()
        ),
        (Some("followed_up"), Some(id))
    );

    // Server B, its own empty state directory, sees A's record.
    assert_eq!(site.list(b), vec![("web01".to_string(), Some(id), 0)]);
    let show = site.esia(b, &["state", "show", "web01", SERVICE]);
    assert!(
        show.ok().stdout.contains(&format!("ticket {id}")),
        "{}",
        show.stdout
    );
    assert!(
        site.dump().contains("web01"),
        "the record is in the database"
    );
    assert!(
        !files_under(&site.servers[a].state)
            .iter()
            .any(|f| f.starts_with("records/")),
        "server A keeps no local record: {:?}",
        files_under(&site.servers[a].state)
    );

    // B's OK solves A's ticket.
    let solved = site.notify(b, "web01", "OK", "back #k0e2#");
    assert_eq!(
        (
            solved.ok().json()["action"].as_str(),
            solved.json()["ticket_id"].as_u64()
        ),
        (Some("solved"), Some(id))
    );
    assert_trails(&site.sim, &[numbered(&["CRITICAL", "WARNING", "OK"])]);
    assert!(site.list(a).is_empty(), "{:?}", site.list(a));

    // forget sets the database state aside, never deletes it.
    let t2 = site.notify(a, "db01", "CRITICAL", "db down #k1e0#");
    let t2 = t2.ok().json()["ticket_id"].as_u64().unwrap();
    assert_eq!(site.list(b), vec![("db01".to_string(), Some(t2), 0)]);
    let forget = site.esia(b, &["--json", "state", "forget", "db01", SERVICE]);
    let kept_as = forget.ok().json()["kept_as"].clone();
    assert!(
        kept_as.as_array().is_some_and(|a| !a.is_empty()),
        "forget says where it set the state aside: {}",
        forget.stdout
    );
    assert!(site.list(a).is_empty(), "{:?}", site.list(a));
    assert!(
        site.esia(a, &["state", "show", "db01", SERVICE])
            .ok()
            .stdout
            .contains("no record"),
    );
    assert!(
        site.dump().contains("db01"),
        "forget deleted the record instead of setting it aside"
    );

    // Maximum verbosity everywhere, and the dependencies' trace logs.
    site.esia(a, &["-vvv", "state", "list"]).ok();
    site.esia(a, &["-vvv", "state", "migrate"]).ok();
    site.esia(a, &["-vvv", "flush"]).ok();
    site.run(
        site.notify_cmd(a, "web02", "CRITICAL", "#k2e0#")
            .arg("-vvv")
            .env("RUST_LOG", "trace"),
    )
    .ok();
    site.run(
        site.cmd(b)
            .args(["-vvv", "notify", "--node", "web02", "--service", SERVICE])
            .args(["--state", "OK", "--output", "#k2e1#"])
            .env("RUST_LOG", "trace"),
    )
    .ok();

    // check probes the database.
    let check = site.esia(a, &["-vvv", "check"]);
    check.ok();
    let said = format!("{}{}", check.stdout, check.stderr).to_lowercase();
    assert!(
        said.contains("postgres") || said.contains("database"),
        "check says nothing of the database:\n{said}"
    );

    // A password in the URL is refused, and not echoed.
    let conf = std::fs::read_to_string(&site.servers[b].config).unwrap();
    let with_password = conf.replace("postgres://esia@", &format!("postgres://esia:{PASSWORD}@"));
    assert_ne!(conf, with_password);
    write_private(&site.servers[b].config, &with_password);
    let refused = site.notify(b, "web03", "CRITICAL", "#k3e0#");
    refused.code(3);
    let refused = site.esia(b, &["-vvv", "check"]);
    refused.code(3);
    // The password is back in its file only (the check covers the configs).
    write_private(&site.servers[b].config, &conf);
    site.assert_password_never_shown();
}

/// The schema version a `state migrate` reports: a `version`-like number
/// in its JSON, or else the last number it prints.
fn version_in(stdout: &str) -> Option<u64> {
    if let Ok(j) = serde_json::from_str::<serde_json::Value>(stdout.trim()) {
        for key in ["version", "schema_version", "to", "schema"] {
            if let Some(v) = j[key].as_u64() {
                return Some(v);
            }
        }
    }
    stdout
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|w| !w.is_empty())
        .and_then(|w| w.parse().ok())
}

/// Two servers, one database, one GLPI: each server runs 24 runs on the
/// same four keys, most of them at once. Each key lives through two
/// problems, twelve events produced 100 ms apart, alternating servers, GLPI
/// answering after 60 ms: a key's runs overlap (each takes several
/// requests) and race across servers for the key. Every run exits 0, each
/// key gets exactly its two tickets, and its trail is every transition
/// once, in order.
///
/// 100 ms: across servers, the order of a key's events is the order they
/// reach the database (each server keeps its event locally until its run
/// has connected), so events produced closer together than a run's start
/// and connection under this load (48 processes on two cores) may be
/// delivered in either order.
#[test]
fn two_servers_24_concurrent_runs_each_one_ticket_per_problem_in_order() {
    two_servers_24_concurrent_runs(Via::Direct);
}

/// The same through PgBouncer in session mode: a server session serves
/// many runs one after the other, each run's locks released with it.
#[test]
fn through_pgbouncer_two_servers_24_concurrent_runs_each_one_ticket_per_problem_in_order() {
    two_servers_24_concurrent_runs(Via::PgBouncer);
}

fn two_servers_24_concurrent_runs(via: Via) {
    let site = Site::new_via(2, Duration::from_millis(60), via);
    let states = [
        "CRITICAL", "WARNING", "CRITICAL", "WARNING", "CRITICAL", "OK", "WARNING", "CRITICAL",
        "WARNING", "CRITICAL", "WARNING", "OK",
    ];
    let keys = 4;
    let mut running = Vec::new();
    for (n, state) in states.iter().enumerate() {
        for k in 0..keys {
            let s = (n + k) % 2;
            let child = site
                .notify_cmd(s, &node(k), state, &format!("{state} {}", tag(k, n)))
                .spawn()
                .unwrap();
            running.push((
                format!("{} e{n} {state} on {}", node(k), site.servers[s].name),
                child,
            ));
            std::thread::sleep(Duration::from_millis(100 / keys as u64));
        }
    }
    assert_eq!(running.len(), 48);
    let mut failed = Vec::new();
    for (what, child) in running {
        let run = site.finish(child, &what);
        if run.code != 0 {
            failed.push(format!("{what}: exit {}\n{}", run.code, run.stderr));
        }
    }
    assert!(failed.is_empty(), "runs failed:\n{}", failed.join("\n"));
    let sequence = numbered(&states);
    assert_trails(&site.sim, &vec![sequence; keys]);
    for s in 0..2 {
        assert!(site.list(s).is_empty(), "{:?}", site.list(s));
    }
    assert_eq!(site.sim.open_sessions(), 0);
    site.assert_password_never_shown();
}

/// Failover: server A is in the middle of a storm (six keys, each CRITICAL,
/// WARNING, CRITICAL produced 30 ms apart) when it stops — every run of it
/// still running is killed (SIGKILL). Server B carries on with the rest (WARNING,
/// OK). No key gets a second ticket; the ticket A opened is the one B
/// follows up and solves; `flush` on A afterwards writes nothing.
///
/// A killed run may die before its event reached the database (no design
/// keeps an event whose process died before accepting it) or after: each
/// key's trail must be exactly what some choice of A's killed events
/// produces, with every event of a run that exited 0 in it, in order.
#[test]
fn failover_the_other_server_carries_on_without_a_second_ticket() {
    failover(Via::Direct);
}

/// The same through PgBouncer in session mode: the server sessions of A's
/// killed runs go back to the pool, their locks released (`DISCARD ALL`),
/// possibly with a statement of the killed run unanswered — B's runs must
/// not be handed its answer, nor wait for its locks.
#[test]
fn through_pgbouncer_failover_the_other_server_carries_on_without_a_second_ticket() {
    failover(Via::PgBouncer);
}

#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn failover(via: Via) {
    let site = Site::new_via(2, Duration::from_millis(40), via);
    let (a, b) = (0, 1);
    let keys = 6;
    let states = ["CRITICAL", "WARNING", "CRITICAL", "WARNING", "OK"];
    let from_a = 3;
    let mut running = Vec::new();
    for (n, state) in states.iter().enumerate().take(from_a) {
        for k in 0..keys {
            let child = site
                .notify_cmd(a, &node(k), state, &format!("{state} {}", tag(k, n)))
                .spawn()
                .unwrap();
            running.push((k, n, child));
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // A stops once it has made progress: some tickets exist, runs still run.
    let deadline = Instant::now() + Duration::from_secs(20);
    while site.sim.tickets().len() < keys / 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut killed = Vec::new();
    let mut delivered_by_a = Vec::new();
    for (k, n, mut child) in running {
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            child.wait().unwrap();
            killed.push((k, n));
        } else {
            let run = site.finish(child, "a run of A");
            assert!(
                matches!(run.code, 0),
                "{} e{n} on A: exit {}\n{}",
                node(k),
                run.code,
                run.stderr
            );
            delivered_by_a.push((k, n));
        }
    }
    assert!(
        killed.len() >= keys,
        "only {} of A's runs were still running when it stopped: the test proves little",
        killed.len()
    );
    let opened_by_a: Vec<usize> = (0..keys)
        .filter(|&k| !tickets_of(&site.sim, k).is_empty())
        .collect();
    assert!(
        !opened_by_a.is_empty(),
        "A opened no ticket before it stopped"
    );

    // B carries on: the rest of every key's events, one after the other.
    for (n, state) in states.iter().enumerate().skip(from_a) {
        let runs: Vec<_> = (0..keys)
            .map(|k| {
                site.notify_cmd(b, &node(k), state, &format!("{state} {}", tag(k, n)))
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (k, child) in runs.into_iter().enumerate() {
            let run = site.finish(child, "a run of B");
            assert_eq!(run.code, 0, "{} e{n} on B\n{}", node(k), run.stderr);
        }
    }
    let check_keys = |site: &Site| {
        let (got, untagged) = trails(&site.sim);
        assert!(untagged.is_empty(), "{untagged:?}");
        for k in 0..keys {
            let have = got.get(&k).cloned().unwrap_or_default();
            let maybe: Vec<usize> = killed
                .iter()
                .filter(|(kk, _)| *kk == k)
                .map(|(_, n)| *n)
                .collect();
            // A run killed after GLPI took its follow-up but before it
            // recorded that: the event is retried, and the retry finds the
            // follow-up by the event's tag, so it is never written twice.
            // Some subset of the killed events, all the others, each once.
            let fits = (0..1u32 << maybe.len()).any(|mask| {
                let events: Vec<(usize, &str)> = numbered(&states)
                    .into_iter()
                    .filter(|(n, _)| match maybe.iter().position(|m| m == n) {
                        Some(i) => mask & (1 << i) != 0,
                        None => true,
                    })
                    .collect();
                expected_trail(&events) == have
            });
            assert!(
                fits,
                "{}: trail {have:?} is no possible delivery of the events (killed: {maybe:?})\n--- GLPI\n{}",
                node(k),
                site.sim.trail()
            );
            let tickets = tickets_of(&site.sim, k);
            assert_eq!(tickets.len(), 1, "{}: {tickets:?}", node(k));
            assert_eq!(tickets[0].1, 5, "{}: solved by B's OK", node(k));
        }
    };
    check_keys(&site);
    for &k in &opened_by_a {
        let (got, _) = trails(&site.sim);
        let trail = &got[&k];
        assert!(
            trail[0].1 < from_a && trail.last() == Some(&(Write::Solve, 4)),
            "{}: A's ticket is the one B solved: {trail:?}",
            node(k)
        );
    }

    // A comes back: its flush has nothing left to write.
    let writes = site
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    site.esia(a, &["flush"]).ok();
    assert_eq!(
        site.sim
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        writes,
        "flush on A wrote again"
    );
    check_keys(&site);
    for s in 0..2 {
        assert!(site.list(s).is_empty(), "{:?}", site.list(s));
    }
    site.assert_password_never_shown();
}

/// The database killed (`pg_ctl stop -m immediate`) in the middle of a
/// storm on two servers, then restarted. Eight keys, each with its chain of
/// eight events (two problems), one run after the other, GLPI answering
/// after 20 ms. The database is killed once every key has had a run and
/// half the keys have one in flight (events 0 to 2: those runs exit 0 or 6);
/// events 3 and 4 of every key run while it is down: they exit 6, their
/// events kept locally; then it comes back, and events 5 to 7 exit 0, each
/// run first moving what its server kept into the database. `flush` on each
/// server then finds nothing left. Nothing lost, nothing doubled, every
/// key's trail exactly its events in order.
///
/// Each key's events come from one server (keys alternate between them):
/// during an outage, events of one key kept by two servers could not be
/// put back in one order before both servers reach the database again.
#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn database_killed_and_restarted_mid_storm_loses_and_doubles_nothing() {
    let site = Site::new(2, Duration::from_millis(20));
    let keys = 8;
    let states = [
        "CRITICAL", "WARNING", "CRITICAL", "OK", "WARNING", "CRITICAL", "WARNING", "OK",
    ];
    // The outage spans events 3 and 4 of every key.
    let (down_from, up_from) = (3, 5);
    let in_flight = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let killed = AtomicBool::new(false);
    // Every chain done with the outage's events / the database back.
    let outage_done = Barrier::new(keys + 1);
    let back = Barrier::new(keys + 1);
    let mut runs: Vec<(usize, usize, Instant, Instant, Run)> = Vec::new();
    let (killed_at, restarted_at) = std::thread::scope(|scope| {
        let chains: Vec<_> = (0..keys)
            .map(|k| {
                let (site, in_flight, finished, killed) = (&site, &in_flight, &finished, &killed);
                let (outage_done, back) = (&outage_done, &back);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    for (n, state) in states.iter().enumerate() {
                        if n == down_from {
                            while !killed.load(Ordering::SeqCst) {
                                std::thread::sleep(Duration::from_millis(2));
                            }
                        }
                        if n == up_from {
                            outage_done.wait();
                            back.wait();
                        }
                        let from = Instant::now();
                        in_flight.fetch_add(1, Ordering::SeqCst);
                        let run = site.finish(
                            site.notify_cmd(
                                k % 2,
                                &node(k),
                                state,
                                &format!("{state} {}", tag(k, n)),
                            )
                            .spawn()
                            .unwrap(),
                            "a run",
                        );
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        finished.fetch_add(1, Ordering::SeqCst);
                        done.push((k, n, from, Instant::now(), run));
                    }
                    done
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        while (finished.load(Ordering::SeqCst) < keys
            || in_flight.load(Ordering::SeqCst) < keys / 2)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        // From the moment the kill starts (the runs it cuts may end before
        // pg_ctl returns).
        let killed_at = Instant::now();
        site.pg.kill();
        killed.store(true, Ordering::SeqCst);
        outage_done.wait();
        site.pg.restart();
        let restarted_at = Instant::now();
        back.wait();
        for c in chains {
            runs.extend(c.join().unwrap());
        }
        (killed_at, restarted_at)
    });
    let cut = runs
        .iter()
        .filter(|(_, _, from, to, _)| *from < killed_at && *to > killed_at)
        .count();
    assert!(cut > 0, "no run was in flight when the database was killed");
    let mut bad = Vec::new();
    for (k, n, from, to, run) in &runs {
        let what = format!("{} e{n} ({})", node(*k), states[*n]);
        if *n >= down_from && *n < up_from {
            // Wholly inside the outage.
            assert!(*from > killed_at && *to < restarted_at);
            if run.code != 6 || run.json()["action"] != "spooled" {
                bad.push(format!(
                    "{what} during the outage: exit {}\n{}{}",
                    run.code, run.stdout, run.stderr
                ));
            }
        } else if *n >= up_from {
            if run.code != 0 {
                bad.push(format!(
                    "{what} after the restart: exit {}\n{}",
                    run.code, run.stderr
                ));
            }
        } else if !matches!(run.code, 0 | 6) {
            bad.push(format!(
                "{what} before or across the kill: exit {}\n{}",
                run.code, run.stderr
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));

    let problems = trail_problems(&site.sim, &vec![numbered(&states); keys]);
    if !problems.is_empty() {
        let cut: Vec<String> = runs
            .iter()
            .filter(|(_, _, from, to, _)| *from < killed_at && *to > killed_at)
            .map(|(k, n, _, _, run)| {
                format!(
                    "{} e{n} on {}: exit {}\n{}{}",
                    node(*k),
                    site.servers[k % 2].name,
                    run.code,
                    run.stdout,
                    run.stderr
                )
            })
            .collect();
        panic!(
            "{} problem(s):\n{}\n--- the runs the kill cut\n{}\n--- GLPI\n{}",
            problems.len(),
            problems.join("\n"),
            cut.join("\n"),
            site.sim.trail()
        );
    }
    // Nothing left anywhere: flush on each server writes nothing.
    let before = site.sim.requests().len();
    for s in 0..2 {
        site.esia(s, &["flush"]).ok();
        assert!(site.list(s).is_empty(), "{:?}", site.list(s));
    }
    assert_eq!(
        site.sim
            .requests()
            .iter()
            .skip(before)
            .filter(|r| r.method == "POST")
            .count(),
        0,
        "flush wrote again what was delivered"
    );
    site.assert_password_never_shown();
}

/// The database unreachable from the first run on (never reached, no
/// schema yet): notify exits 6 and says the event is kept locally; once the
/// database is up, `flush` creates the schema, moves the events in and
/// delivers them in order, once.
#[test]
fn database_unreachable_from_the_start_then_flush_delivers() {
    let site = Site::new(1, Duration::ZERO);
    site.pg.kill();
    let first = site.notify(0, "web01", "CRITICAL", "down #k0e0#");
    first.code(6);
    assert_eq!(first.json()["action"], "spooled", "{}", first.stdout);
    assert!(
        first.stderr.to_lowercase().contains("locally"),
        "the message says the event is kept locally:\n{}",
        first.stderr
    );
    site.notify(0, "web01", "WARNING", "worse #k0e1#").code(6);
    assert!(site.sim.tickets().is_empty());
    assert!(
        String::from_utf8_lossy(&{
            let mut b = Vec::new();
            collect(&site.servers[0].state, &mut b);
            b
        })
        .contains("#k0e1#"),
        "the event is kept in the state directory"
    );
    site.esia(0, &["flush"]).code(6);

    site.pg.restart();
    let flush = site.esia(0, &["--json", "flush"]);
    assert_eq!(flush.ok().json()["delivered"], 2, "{}", flush.stdout);
    assert_trails(&site.sim, &[numbered(&["CRITICAL", "WARNING"])]);
    let again = site.esia(0, &["flush"]);
    assert!(
        again.ok().stdout.contains("nothing to flush"),
        "{}",
        again.stdout
    );
    let ok = site.notify(0, "web01", "OK", "back #k0e2#");
    assert_eq!(ok.ok().json()["action"], "solved");
    assert_trails(&site.sim, &[numbered(&["CRITICAL", "WARNING", "OK"])]);
    site.assert_password_never_shown();
}

/// `state import`: a server switching from local files to the database
/// brings its open ticket record and its kept event along; the local files
/// are moved aside; another server sees them; the next OK delivers the kept
/// event, then solves that ticket.
#[test]
fn state_import_moves_files_state_into_the_database() {
    let site = Site::new(2, Duration::ZERO);
    let (a, b) = (0, 1);
    site.write_config(a, "");
    let created = site.notify(a, "web01", "CRITICAL", "down #k0e0#");
    let id = created.ok().json()["ticket_id"].as_u64().unwrap();
    site.sim.inject(crate::support::glpi_sim::Fault::new(
        "/apirest.php/",
        crate::support::glpi_sim::FaultKind::Status(503),
    ));
    site.notify(a, "web01", "WARNING", "worse #k0e1#").code(5);
    site.sim.clear_faults();
    let local: Vec<String> = files_under(&site.servers[a].state)
        .into_iter()
        .filter(|f| {
            f.contains("web01~svc") && (f.starts_with("records/") || f.starts_with("spool/"))
        })
        .collect();
    assert!(
        local.len() >= 2,
        "the files backend's record and kept event: {local:?}"
    );
    assert_eq!(site.list(a), vec![("web01".to_string(), Some(id), 1)]);

    site.write_config(a, &site.pg.state_table(&site.password_file));
    let import = site.esia(a, &["state", "import"]);
    import.ok();
    assert_eq!(site.list(a), vec![("web01".to_string(), Some(id), 1)]);
    assert_eq!(site.list(b), vec![("web01".to_string(), Some(id), 1)]);
    let still: Vec<&String> = local
        .iter()
        .filter(|f| site.servers[a].state.join(f).exists())
        .collect();
    assert!(
        still.is_empty(),
        "import left the local files in place: {still:?}"
    );
    // A second import finds nothing more to bring.
    site.esia(a, &["state", "import"]).ok();
    assert_eq!(site.list(b), vec![("web01".to_string(), Some(id), 1)]);

    let ok = site.notify(b, "web01", "OK", "back #k0e2#");
    assert_eq!(
        (
            ok.ok().json()["action"].as_str(),
            ok.json()["ticket_id"].as_u64()
        ),
        (Some("solved"), Some(id))
    );
    assert_trails(&site.sim, &[numbered(&["CRITICAL", "WARNING", "OK"])]);
    assert!(site.list(a).is_empty());
    site.assert_password_never_shown();
}

/// A TCP proxy in front of the database that slips, into the next
/// `poison` connections, a stale answer in front of the first answer after
/// start-up: what a pooler hands over when the previous client of a server
/// connection was killed with a statement unanswered (the answer to a
/// `SELECT pg_advisory_unlock(…)`: one boolean row).
struct StaleProxy {
    port: u16,
    poison: Arc<AtomicUsize>,
}

impl StaleProxy {
    fn start(upstream: u16) -> StaleProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let poison = Arc::new(AtomicUsize::new(0));
        let poisoned = Arc::clone(&poison);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let stale = poisoned
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_read, &mut s_write);
                    let _ = s_write.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || relay_answers(server, client, stale));
            }
        });
        StaleProxy { port, poison }
    }

    fn url(&self) -> String {
        format!("postgres://esia@127.0.0.1:{}/esia", self.port)
    }
}

/// One protocol message: its type, its length, its body.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// The complete answer to `SELECT pg_advisory_unlock(…)` (simple query).
fn stale_answer() -> Vec<u8> {
    let mut fields = Vec::new();
    fields.extend_from_slice(&1i16.to_be_bytes());
    fields.extend_from_slice(b"pg_advisory_unlock\0");
    fields.extend_from_slice(&0i32.to_be_bytes()); // table
    fields.extend_from_slice(&0i16.to_be_bytes()); // column
    fields.extend_from_slice(&16i32.to_be_bytes()); // bool
    fields.extend_from_slice(&1i16.to_be_bytes());
    fields.extend_from_slice(&(-1i32).to_be_bytes());
    fields.extend_from_slice(&0i16.to_be_bytes()); // text
    let mut row = Vec::new();
    row.extend_from_slice(&1i16.to_be_bytes());
    row.extend_from_slice(&1i32.to_be_bytes());
    row.push(b't');
    [
        message(b'T', &fields),
        message(b'D', &row),
        message(b'C', b"SELECT 1\0"),
        message(b'Z', b"I"),
    ]
    .concat()
}

/// Server to client, message by message; with `stale`, the stale answer
/// goes first once start-up is over (after the first `ReadyForQuery`).
fn relay_answers(mut server: std::net::TcpStream, mut client: std::net::TcpStream, stale: bool) {
    use std::io::{Read as _, Write as _};
    let mut ready = false;
    let mut injected = !stale;
    loop {
        let mut head = [0u8; 5];
        if server.read_exact(&mut head).is_err() {
            break;
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; len.saturating_sub(4)];
        if server.read_exact(&mut body).is_err() {
            break;
        }
        if ready && !injected {
            injected = true;
            if client.write_all(&stale_answer()).is_err() {
                break;
            }
        }
        if client.write_all(&head).is_err() || client.write_all(&body).is_err() {
            break;
        }
        ready |= head[0] == b'Z';
    }
    let _ = client.shutdown(std::net::Shutdown::Write);
}

/// A connection whose first answer is not its own (a pooler handed over a
/// server connection its killed client left mid-statement) is dropped and
/// another one opened: the run delivers. When the next one is stale too,
/// the run stops with exit 6, its event kept locally, delivered by the
/// next `flush` once connections are sound.
#[test]
fn a_connection_whose_first_answer_is_not_its_own_is_replaced() {
    let site = Site::new(1, Duration::ZERO);
    let proxy = StaleProxy::start(site.pg.port());
    site.write_config(
        0,
        &format!(
            "[state]\nbackend = \"postgres\"\nurl = \"{}\"\npassword_file = \"{}\"\n",
            proxy.url(),
            site.password_file.display()
        ),
    );
    proxy.poison.store(1, Ordering::SeqCst);
    let run = site.run(
        site.notify_cmd(0, "web01", "CRITICAL", "down #k0e0#")
            .arg("-v"),
    );
    assert_eq!(run.ok().json()["action"], "created", "{}", run.stdout);
    assert!(
        run.stderr.contains("first answer was not its own"),
        "{}",
        run.stderr
    );
    assert_eq!(proxy.poison.load(Ordering::SeqCst), 0);

    proxy.poison.store(2, Ordering::SeqCst);
    let run = site.notify(0, "web01", "WARNING", "worse #k0e1#");
    run.code(6);
    assert!(
        run.stderr
            .contains("twice, the connection's first answer was not its own")
            && run.stderr.to_lowercase().contains("locally"),
        "{}",
        run.stderr
    );
    assert_trails(&site.sim, &[numbered(&["CRITICAL"])]);

    let flush = site.esia(0, &["--json", "flush"]);
    assert_eq!(flush.ok().json()["delivered"], 1, "{}", flush.stdout);
    assert_trails(&site.sim, &[numbered(&["CRITICAL", "WARNING"])]);
    site.assert_password_never_shown();
}

/// PgBouncer in transaction mode with a single server session (`pool_mode =
/// transaction`, `default_pool_size = 1`): every run's statements land on
/// the one session, where another run's advisory lock already is — a run
/// that trusted it would deliver unlocked. 8 concurrent runs of one key, 3
/// rounds: at most one ticket, every run exits 0 or 6, a run that exits 6
/// says its event is kept (`spooled`). Then a `flush` connected directly
/// delivers every kept event: one ticket, its trail in order.
#[test]
fn through_pgbouncer_in_transaction_mode_no_run_delivers_without_a_lock_of_its_own() {
    let site = Site::new_via(
        1,
        Duration::from_millis(40),
        Via::PgBouncerTransactionOneSession,
    );
    let (k, runs, rounds) = (0, 8, 3);
    let mut states: Vec<&str> = (0..runs * rounds)
        .map(|n| if n % 2 == 0 { "CRITICAL" } else { "WARNING" })
        .collect();
    *states.last_mut().unwrap() = "OK";
    let mut refused = 0;
    for round in 0..rounds {
        let children: Vec<_> = (0..runs)
            .map(|i| {
                let n = round * runs + i;
                let state = states[n];
                // Numbered as Nagios numbers its events: the order the
                // trail is checked against holds however late a run
                // reaches the database on a loaded machine.
                let child = site
                    .notify_cmd(0, &node(k), state, &format!("{state} {}", tag(k, n)))
                    .env("NAGIOS_SERVICEEVENTID", (n + 1).to_string())
                    .env("NAGIOS_LASTSERVICEEVENTID", n.to_string())
                    .spawn()
                    .unwrap();
                std::thread::sleep(Duration::from_millis(30));
                (n, child)
            })
            .collect();
        for (n, child) in children {
            let run = site.finish(child, "a run through PgBouncer in transaction mode");
            match run.code {
                0 => {}
                6 => {
                    refused += 1;
                    assert_eq!(run.json()["action"], "spooled", "e{n}: {}", run.stdout);
                    assert!(
                        run.stderr.contains("pool_mode = session"),
                        "e{n}: the message names the fix:\n{}",
                        run.stderr
                    );
                }
                other => panic!("e{n}: exit {other}\n{}", run.stderr),
            }
        }
        let tickets = tickets_of(&site.sim, k);
        assert!(
            tickets.len() <= 1,
            "round {round}: {tickets:?}\n{}",
            site.sim.trail()
        );
    }
    assert!(refused > 0, "no run was stopped: the test proves nothing");
    // The administrator connects the runs directly (or through a pooler in
    // session mode): a flush delivers what was kept, in order.
    site.write_config(0, &site.pg.state_table(&site.password_file));
    site.esia(0, &["flush"]).ok();
    assert_trails(&site.sim, &[numbered(&states)]);
    assert!(site.list(0).is_empty(), "{:?}", site.list(0));
    site.assert_password_never_shown();
}

/// The lost-state cases of the PostgreSQL backend that the state cannot
/// tell without GLPI: web01's ticket is opened, then `lose` does something
/// to the database; the WARNING follows that ticket up (no second one) and
/// the OK solves it.
fn lost_database_state_then_warning_and_ok(lose: impl FnOnce(&Site)) {
    let site = Site::new(1, Duration::ZERO);
    let id = site.notify(0, "web01", "CRITICAL", "down").ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    lose(&site);
    let j = site.notify(0, "web01", "WARNING", "slow").ok().json();
    assert_eq!(j["action"], "followed_up", "{}", site.sim.trail());
    assert_eq!(j["ticket_id"].as_u64(), Some(id));
    let j = site.notify(0, "web01", "OK", "fine").ok().json();
    assert_eq!(j["action"], "solved");
    assert_eq!(j["ticket_id"].as_u64(), Some(id));
    let web01 = site
        .sim
        .tickets()
        .into_iter()
        .filter(|t| t.content.contains("web01"))
        .count();
    assert_eq!(web01, 1, "no second ticket\n{}", site.sim.trail());
    site.assert_password_never_shown();
}

/// The key's record deleted from the database (its trace left).
#[test]
fn a_deleted_record_row_never_doubles_the_ticket() {
    lost_database_state_then_warning_and_ok(|site| {
        site.pg.query("DELETE FROM records WHERE node = 'web01'");
    });
}

/// The database restored from a dump taken before web01's ticket was
/// opened: the restored inventory is not trusted (the tables are new), so
/// the run lists GLPI's open tickets again.
#[test]
fn a_database_restored_from_an_old_dump_never_doubles_the_ticket() {
    let site = Site::new(1, Duration::ZERO);
    site.notify(0, "web02", "CRITICAL", "down").ok();
    let dump = site.dir.path().join("before.sql");
    std::fs::write(&dump, site.pg.dump()).unwrap();
    let id = site.notify(0, "web01", "CRITICAL", "down").ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    site.pg.query(
        "DROP SCHEMA public CASCADE; CREATE SCHEMA public; ALTER SCHEMA public OWNER TO esia",
    );
    site.pg.restore_as_esia(&dump);
    let j = site.notify(0, "web01", "WARNING", "slow").ok().json();
    assert_eq!(j["action"], "followed_up", "{}", site.sim.trail());
    assert_eq!(j["ticket_id"].as_u64(), Some(id));
    assert_eq!(site.sim.tickets().len(), 2, "{}", site.sim.trail());
}
