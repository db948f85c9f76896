//! Upgrades lose nothing (README "Durability", "Upgrading"): the state an
//! earlier release wrote — records, kept events (with the key's high-water
//! mark and an in-flight mark), a creation intent, entries in the older
//! formats that release still read, the PostgreSQL backend's local outbox
//! and its database at that release's schema — is read by this release,
//! and every kept event is delivered, in the order it was kept, once.
//!
//! The state comes from `tests/data/upgrade/<release>/`, written by that
//! release's own binary: [`make_fixtures`] below, run by
//! `tests/data/upgrade/make.sh` (its README says what each file is). Each
//! release directory is tested; a later release adds its own beside the
//! earlier ones. The GLPI those runs wrote to is given back to the
//! simulator: the tickets the records name, as that release wrote them
//! (`tickets.json`, restored with their follow-ups and no request logged),
//! so that every write the simulator logs is this release's.
//!
//! Every event carries a tag in its output (`#k<key>e<n>#`); what GLPI took
//! (creations, follow-ups, solutions, in the order of the request log) is
//! compared, exactly, per key, with what the kept events must write in the
//! order they were kept: an event lost, doubled or reordered by an upgrade
//! fails the test. [`an_upgrade_that_loses_or_reorders_an_event_fails_the_check`]
//! proves the comparison catches both.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::glpi_sim::{Fault, FaultKind, Sim};
use crate::support::pg::Pg;
use crate::support::{APP_TOKEN, BIN, Run, USER_TOKEN, finish_within, write_private};

/// The longest a run may take before the test calls it hung.
const RUN_DEADLINE: Duration = Duration::from_mins(1);

/// What stands for the GLPI in the fixtures: its identity (the root URL,
/// `http://127.0.0.1:PORT` of the simulator of the run that wrote them),
/// which records and kept events are bound to.
const GLPI: &str = "@GLPI@";

/// The fixtures of every release, `tests/data/upgrade/<release>/`.
fn releases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/upgrade");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("SOURCE").is_file())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures under {}", root.display());
    out
}

// ---------------------------------------------------------------------------
// The scenario: its keys and events
// ---------------------------------------------------------------------------

/// A key of the scenario: its number (in the tags) and its node and service.
#[derive(Debug, Clone, Copy)]
struct Key {
    k: usize,
    node: &'static str,
    service: &'static str,
}

/// Kept events after a creation, with the engine's event numbers: the
/// key's high-water mark (`last`) holds the last delivered one.
const ENGINE: Key = Key {
    k: 1,
    node: "upg-web01",
    service: "HTTP",
};
/// A follow-up GLPI took whose answer never came (the run was killed): the
/// event is kept, marked in flight.
const FLIGHT: Key = Key {
    k: 2,
    node: "upg-db01",
    service: "MySQL",
};
/// A creation GLPI took whose answer never came: an intent, the event kept.
const INTENT: Key = Key {
    k: 3,
    node: "upg-app01",
    service: "Queue",
};
/// Files backend: a record without `glpi` and a kept event of schema 1
/// under a time-based name, as releases before 5fff9f8 wrote them, ahead of
/// one kept by the release.
const OLD: Key = Key {
    k: 4,
    node: "upg-legacy01",
    service: "Disk",
};
/// Never delivered: kept events only (files: in the spool; PostgreSQL: in
/// the outbox, the first under the older name `<n>.json`).
const NEW: Key = Key {
    k: 5,
    node: "upg-new01",
    service: "Ping",
};

/// The output of event `n` of `key`, tagged.
fn output(key: Key, state: &str, n: usize) -> String {
    format!("{state} on {} #k{}e{n}#", key.node, key.k)
}

/// GLPI's ticket statuses: new (open, nobody assigned), solved.
const NEW_TICKET: u8 = 1;
const SOLVED: u8 = 5;

/// A write into GLPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Create,
    FollowUp,
    Solve,
}
use Write::{Create, FollowUp, Solve};

/// A key's writes into GLPI: (write, event number), in order.
type Trail = Vec<(Write, usize)>;

/// A key's tickets: (the id of a ticket the earlier release opened, `None`
/// for one opened now; its status), in id order.
type Tickets = Vec<(Option<u64>, u8)>;

/// What each key's kept events must write, in this order, after an upgrade
/// of the files backend (one `notify` of [`OLD`], then `flush`).
fn files_expected() -> Vec<(Key, Trail)> {
    vec![
        (ENGINE, vec![(FollowUp, 1), (FollowUp, 2), (Solve, 3)]),
        // The follow-up of event 1 is in the ticket already.
        (FLIGHT, vec![(Solve, 2)]),
        // The ticket of event 0 is adopted, not created again.
        (INTENT, vec![(FollowUp, 1)]),
        // The old entry (1), the release's (2), the notify's own (3).
        (OLD, vec![(FollowUp, 1), (FollowUp, 2), (FollowUp, 3)]),
        (NEW, vec![(Create, 0), (Solve, 1)]),
    ]
}

/// The same for the PostgreSQL backend (`flush`): the database's kept
/// events first, then the outbox's.
fn postgres_expected() -> Vec<(Key, Trail)> {
    vec![
        (ENGINE, vec![(FollowUp, 1), (Solve, 2), (Create, 3)]),
        (FLIGHT, vec![(Solve, 2)]),
        (INTENT, vec![(FollowUp, 1)]),
        (NEW, vec![(Create, 0), (Solve, 1)]),
    ]
}

// ---------------------------------------------------------------------------
// A world: a GLPI simulator, a configuration, a state directory, maybe a
// database
// ---------------------------------------------------------------------------

struct World {
    sim: Sim,
    dir: tempfile::TempDir,
    config: PathBuf,
    state: PathBuf,
    /// Dropped after the simulator (declared last).
    pg: Option<Pg>,
}

impl World {
    /// The files backend.
    fn files() -> World {
        World::new(None)
    }

    /// The PostgreSQL backend on `pg` (role and database `esia`).
    fn postgres(pg: Pg) -> World {
        World::new(Some(pg))
    }

    fn new(pg: Option<Pg>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("glpi.conf");
        let state = dir.path().join("state");
        let world = World {
            sim: Sim::start(),
            dir,
            config,
            state,
            pg,
        };
        let table = world.pg.as_ref().map_or_else(String::new, |pg| {
            let password = world.dir.path().join("db-password");
            pg.write_password_file(&password);
            pg.state_table(&password)
        });
        write_private(
            &world.config,
            &format!(
                "host=\"{}\"\napp_token=\"{APP_TOKEN}\"\nuser_token=\"{USER_TOKEN}\"\n\
                 user_name=\"esia\"\ntpl_title=\"( %node.group.name ) %node.name:%service.name\"\n\
                 state_dir=\"{}\"\nconnect_timeout=2\ntimeout=3\nrun_timeout=30\n\
                 lock_timeout=30\nretries=0\n{table}",
                world.sim.base_url(),
                world.state.display()
            ),
        );
        world
    }

    fn pg(&self) -> &Pg {
        self.pg.as_ref().unwrap()
    }

    /// A bare command: cleared environment, `--config` set.
    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TZ", "UTC")
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn esia(&self, args: &[&str]) -> Run {
        finish_within(
            self.cmd().args(args).spawn().unwrap(),
            "a run",
            RUN_DEADLINE,
        )
    }

    /// `notify` of event `n` of `key`, ready to spawn.
    fn notify_cmd(&self, key: Key, state: &str, n: usize) -> Command {
        let mut c = self.cmd();
        c.args([
            "--json",
            "notify",
            "--node",
            key.node,
            "--service",
            key.service,
        ])
        .args(["--state", state, "--output", &output(key, state, n)]);
        c
    }

    fn notify(&self, key: Key, state: &str, n: usize) -> Run {
        finish_within(
            self.notify_cmd(key, state, n).spawn().unwrap(),
            "notify",
            RUN_DEADLINE,
        )
    }

    /// Event `n` of [`ENGINE`], numbered by the engine `100 + n + 1`, its
    /// previous state change `100 + n`.
    fn notify_numbered(&self, state: &str, n: usize) -> Run {
        let mut c = self.notify_cmd(ENGINE, state, n);
        c.env("NAGIOS_HOSTNAME", ENGINE.node)
            .env("NAGIOS_SERVICEDESC", ENGINE.service)
            .env("NAGIOS_SERVICEEVENTID", (101 + n).to_string())
            .env("NAGIOS_LASTSERVICEEVENTID", (100 + n).to_string())
            .env("NAGIOS_SERVICEPROBLEMID", "7");
        finish_within(c.spawn().unwrap(), "notify", RUN_DEADLINE)
    }

    /// Runs `notify` of event `n` of `key` while GLPI holds `fault` (a
    /// write that GLPI applies and never answers), and kills it (SIGKILL)
    /// once GLPI took the write (`took` says so): the run dies between
    /// GLPI's write and its answer.
    fn kill_after_write(
        &self,
        key: Key,
        state: &str,
        n: usize,
        fault: Fault,
        took: impl Fn(&Sim) -> bool,
    ) {
        self.sim.inject(fault);
        let mut child: Child = self.notify_cmd(key, state, n).spawn().unwrap();
        let deadline = Instant::now() + RUN_DEADLINE;
        while !took(&self.sim) {
            assert!(
                Instant::now() < deadline && child.try_wait().unwrap().is_none(),
                "GLPI did not take the write of {key:?} event {n}\n{}",
                self.sim.trail()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        self.sim.clear_faults();
    }

    /// Every write GLPI took (answered 2xx) carrying a tag, per key number,
    /// in the order GLPI took them; writes without a tag apart.
    fn trails(&self) -> (BTreeMap<usize, Trail>, Vec<String>) {
        let mut by_key: BTreeMap<usize, Trail> = BTreeMap::new();
        let mut untagged = Vec::new();
        for r in self.sim.requests() {
            if r.method != "POST" || !(200..300).contains(&r.status) {
                continue;
            }
            let write = if r.path.ends_with("/Ticket") {
                Create
            } else if r.path.ends_with("/ITILFollowup") {
                FollowUp
            } else if r.path.ends_with("/ITILSolution") {
                Solve
            } else {
                continue;
            };
            let body: Value = serde_json::from_str(&r.body).unwrap_or_default();
            let content = body["input"]["content"].as_str().unwrap_or_default();
            match tag_of(content) {
                Some((k, n)) => by_key.entry(k).or_default().push((write, n)),
                None => untagged.push(format!("{} {}: {content}", r.method, r.path)),
            }
        }
        (by_key, untagged)
    }

    /// What differs from `expected`: each key's trail, exactly, and no
    /// write of no event.
    fn trail_problems(&self, expected: &[(Key, Trail)]) -> Vec<String> {
        let (got, untagged) = self.trails();
        let mut problems = Vec::new();
        if !untagged.is_empty() {
            problems.push(format!("writes of no event: {untagged:#?}"));
        }
        for (key, want) in expected {
            let have = got.get(&key.k).cloned().unwrap_or_default();
            if have != *want {
                problems.push(format!("{key:?}: GLPI took {have:?}\n   expected {want:?}"));
            }
        }
        for k in got.keys() {
            if !expected.iter().any(|(key, _)| key.k == *k) {
                problems.push(format!(
                    "writes for key #{k}, which has no events: {:?}",
                    got[k]
                ));
            }
        }
        problems
    }

    /// What differs from `expected`: per key, its tickets.
    fn ticket_problems(&self, expected: &[(Key, Tickets)]) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, want) in expected {
            let have = self.tickets_of(*key);
            let fits = have.len() == want.len()
                && have
                    .iter()
                    .zip(want)
                    .all(|((id, status), (want_id, want_status))| {
                        want_id.is_none_or(|w| w == *id) && status == want_status
                    });
            if !fits {
                problems.push(format!(
                    "{key:?}: tickets (id, status) {have:?}, expected {want:?}"
                ));
            }
        }
        problems
    }

    /// The tickets whose content carries a tag of `key`: (id, status).
    fn tickets_of(&self, key: Key) -> Vec<(u64, u8)> {
        let mark = format!("#k{}e", key.k);
        self.sim
            .tickets()
            .into_iter()
            .filter(|t| t.content.contains(&mark))
            .map(|t| (t.id, t.status))
            .collect()
    }
}

/// The (key, event) of the first tag in `text`.
fn tag_of(text: &str) -> Option<(usize, usize)> {
    let at = text.find("#k")? + 2;
    let (k, rest) = text[at..].split_once('e')?;
    let (n, _) = rest.split_once('#')?;
    Some((k.parse().ok()?, n.parse().ok()?))
}

// ---------------------------------------------------------------------------
// Fixtures in, fixtures out
// ---------------------------------------------------------------------------

/// Copies the fixture tree `from` into `to`: directories 0700, files 0600
/// (what the program demands of its state directory), [`GLPI`] replaced
/// by `glpi`.
fn copy_in(from: &Path, to: &Path, glpi: &str) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_in(&src, &dst, glpi);
        } else {
            let text = std::fs::read_to_string(&src).unwrap();
            write_private(&dst, &text.replace(GLPI, glpi));
        }
    }
}

/// Puts back in the simulator the tickets of `tickets.json`, as the
/// release wrote them (same ids).
fn restore_tickets(sim: &Sim, file: &Path, glpi: &str) {
    let text = std::fs::read_to_string(file).unwrap().replace(GLPI, glpi);
    let tickets: Vec<Value> = serde_json::from_str(&text).unwrap();
    for t in &tickets {
        let followups: Vec<String> = t["followups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect();
        let id = sim.restore_ticket(&t["input"], &followups);
        assert_eq!(
            Some(id),
            t["id"].as_u64(),
            "ticket ids follow {}",
            file.display()
        );
    }
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// A change made to the state of a release before this release reads it,
/// for [`an_upgrade_that_loses_or_reorders_an_event_fails_the_check`]: what
/// an upgrade that loses or reorders events would leave.
type Tamper<'a> = &'a dyn Fn(&World);

/// The files backend: the state directory of a release, then one `notify`
/// and `flush` of this release. Returns what is wrong.
fn files_upgrade(release: &Path, tamper: Tamper<'_>) -> Vec<String> {
    let w = World::files();
    let glpi = w.sim.base_url();
    copy_in(&release.join("files/state"), &w.state, &glpi);
    restore_tickets(&w.sim, &release.join("files/tickets.json"), &glpi);
    tamper(&w);
    let mut problems = Vec::new();

    // A new event of the key with the older formats: its kept events go
    // first, through the record without `glpi`.
    let notify = w.notify(OLD, "CRITICAL", 3);
    exited(&mut problems, "notify", &notify, 0);
    let flush = w.esia(&["flush"]);
    exited(&mut problems, "flush", &flush, 0);
    let again = w.esia(&["flush"]);
    exited(&mut problems, "a second flush", &again, 0);
    if !again.stdout.contains("nothing to flush") {
        problems.push(format!("events left kept after flush:\n{}", again.stdout));
    }

    problems.extend(w.trail_problems(&files_expected()));
    // One ticket per problem: the records' and the intent's tickets, and
    // one ticket opened for the key that had none.
    problems.extend(w.ticket_problems(&[
        (ENGINE, vec![(Some(1), SOLVED)]),
        (FLIGHT, vec![(Some(2), SOLVED)]),
        (OLD, vec![(Some(3), NEW_TICKET)]),
        (INTENT, vec![(Some(4), NEW_TICKET)]),
        (NEW, vec![(None, SOLVED)]),
    ]));
    problems.extend(flight_not_doubled(&w, 2));
    // Nothing left kept, no intent left.
    for sub in ["spool", "intents"] {
        let mut left = Vec::new();
        list_files(&w.state.join(sub), &mut left);
        left.retain(|p| p.extension().is_some_and(|e| e == "json"));
        if !left.is_empty() {
            problems.push(format!("left in {sub}/: {left:?}"));
        }
    }
    if !problems.is_empty() {
        problems.push(format!("--- GLPI\n{}", w.sim.trail()));
    }
    problems
}

/// The follow-up GLPI took before the upgrade is there once.
fn flight_not_doubled(w: &World, ticket: u64) -> Vec<String> {
    let tag = format!("#k{}e1#", FLIGHT.k);
    let n = w.sim.ticket(ticket).map_or(0, |t| {
        t.followups.iter().filter(|f| f.contains(&tag)).count()
    });
    if n == 1 {
        Vec::new()
    } else {
        vec![format!(
            "ticket {ticket} has {n} follow-up(s) of {tag}, expected 1"
        )]
    }
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            list_files(&e.path(), out);
        } else {
            out.push(e.path());
        }
    }
}

/// The PostgreSQL backend: the database of a release (restored from its
/// dump into a new database owned by `esia`) and the outbox of its state
/// directory, then `flush` and `check` of this release. Returns what is
/// wrong.
fn postgres_upgrade(release: &Path, tamper: Tamper<'_>) -> Vec<String> {
    let w = World::postgres(Pg::start());
    let glpi = w.sim.base_url();
    let dump = w.dir.path().join("esia.sql");
    let text = std::fs::read_to_string(release.join("postgres/esia.sql")).unwrap();
    std::fs::write(&dump, text.replace(GLPI, &glpi)).unwrap();
    w.pg().restore_as_esia(&dump);
    copy_in(&release.join("postgres/state"), &w.state, &glpi);
    restore_tickets(&w.sim, &release.join("postgres/tickets.json"), &glpi);
    tamper(&w);
    let mut problems = Vec::new();

    let flush = w.esia(&["flush"]);
    exited(&mut problems, "flush", &flush, 0);
    let again = w.esia(&["flush"]);
    exited(&mut problems, "a second flush", &again, 0);
    if !again.stdout.contains("nothing to flush") {
        problems.push(format!("events left kept after flush:\n{}", again.stdout));
    }
    // The schema is this release's (migrated by the flush if the release
    // brought a new version), its rights and lock usable.
    let check = w.esia(&["--json", "check"]);
    exited(&mut problems, "check", &check, 0);

    problems.extend(w.trail_problems(&postgres_expected()));
    problems.extend(w.ticket_problems(&[
        (ENGINE, vec![(Some(1), SOLVED), (None, NEW_TICKET)]),
        (FLIGHT, vec![(Some(2), SOLVED)]),
        (INTENT, vec![(Some(3), NEW_TICKET)]),
        (NEW, vec![(None, SOLVED)]),
    ]));
    problems.extend(flight_not_doubled(&w, 2));
    let left = w.pg().query(
        "SELECT (SELECT count(*) FROM kept) || ' kept, ' || \
         (SELECT count(*) FROM intents) || ' intent(s)'",
    );
    if left.trim() != "0 kept, 0 intent(s)" {
        problems.push(format!("left in the database: {}", left.trim()));
    }
    let mut outbox = Vec::new();
    list_files(&w.state.join("outbox"), &mut outbox);
    outbox.retain(|p| p.extension().is_some_and(|e| e == "json"));
    if !outbox.is_empty() {
        problems.push(format!("left in the outbox: {outbox:?}"));
    }
    if !problems.is_empty() {
        problems.push(format!("--- GLPI\n{}", w.sim.trail()));
    }
    problems
}

/// A problem unless `run` exited `code`.
fn exited(problems: &mut Vec<String>, what: &str, run: &Run, code: i32) {
    if run.code != code {
        problems.push(format!(
            "{what} exited {} (expected {code})\n{}\n{}",
            run.code, run.stdout, run.stderr
        ));
    }
}

#[track_caller]
fn assert_none(release: &Path, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "upgrade from {}: {} problem(s):\n{}",
        release.display(),
        problems.len(),
        problems.join("\n")
    );
}

/// The files backend: everything an earlier release kept is delivered in
/// order, its records and intent used, nothing doubled, nothing left.
#[test]
fn files_state_of_an_earlier_release_is_delivered_in_order() {
    for release in releases() {
        assert_none(&release, &files_upgrade(&release, &|_| {}));
    }
}

/// The PostgreSQL backend: the database of an earlier release (its schema,
/// migrated if this release has a newer one) and its local outbox; every
/// event delivered in order, the database's before the outbox's.
#[test]
fn postgres_state_of_an_earlier_release_is_delivered_in_order() {
    for release in releases() {
        assert_none(&release, &postgres_upgrade(&release, &|_| {}));
    }
}

/// Several servers on one database, upgraded one after the other (README
/// "Upgrading"): once a newer release migrated the schema, a run of the
/// older release refuses it (exit 6) before it touches the database, its
/// event kept in its local outbox; once that server runs the newer
/// release, the outbox is moved into the database and delivered. (This
/// release plays the older one: the schema is made one version newer than
/// it knows, then given back.)
#[test]
fn an_older_release_keeps_its_events_locally_while_the_schema_is_newer() {
    let w = World::postgres(Pg::start());
    w.notify(NEW, "CRITICAL", 0).code(0);
    w.pg()
        .query("UPDATE esia_glpi_schema SET version = version + 1");
    let refused = w.notify(NEW, "WARNING", 1);
    println!("notify:\n{}\n{}", refused.stdout, refused.stderr);
    refused.code(6);
    assert!(
        refused.stderr.contains("schema"),
        "the run says why: {}",
        refused.stderr
    );
    assert_eq!(
        refused.json()["action"],
        "spooled",
        "the run says its event is kept: {}",
        refused.stdout
    );
    assert!(
        refused.stderr.contains("kept locally"),
        "and where: {}",
        refused.stderr
    );
    let flush = w.esia(&["flush"]);
    println!("flush:\n{}\n{}", flush.stdout, flush.stderr);
    flush.code(6);
    let mut outbox = Vec::new();
    list_files(&w.state.join("outbox"), &mut outbox);
    outbox.retain(|p| p.extension().is_some_and(|e| e == "json"));
    assert_eq!(
        outbox.len(),
        1,
        "the event is kept in the outbox: {outbox:?}"
    );
    assert_eq!(
        w.pg().query("SELECT count(*) FROM kept").trim(),
        "0",
        "nothing written into the newer schema"
    );

    // The server runs the newer release.
    w.pg()
        .query("UPDATE esia_glpi_schema SET version = version - 1");
    let flush = w.esia(&["flush"]);
    println!("flush:\n{}\n{}", flush.stdout, flush.stderr);
    flush.ok();
    let problems = w.trail_problems(&[(NEW, vec![(Create, 0), (FollowUp, 1)])]);
    assert!(problems.is_empty(), "{problems:#?}\n{}", w.sim.trail());
}

/// The checks above fail when an upgrade loses or reorders a kept event:
/// the same runs on state tampered with as such an upgrade would leave it.
/// (Swapping the files of two events the engine numbered would not do: the
/// engine's numbering puts them back in order, as it should.)
#[test]
fn an_upgrade_that_loses_or_reorders_an_event_fails_the_check() {
    let release = releases().pop().unwrap();
    let spool = |w: &World, key: Key| {
        w.state
            .join("spool")
            .join(format!("{}~{}", key.node, key.service))
    };
    let noticed = |what: &str, key: Key, problems: &[String]| {
        println!(
            "{what} ({key:?}):\n{}\n",
            problems.first().map_or("", String::as_str)
        );
        assert!(
            problems.iter().any(|p| p.contains(key.node)),
            "{what} of {key:?} went unnoticed: {problems:#?}"
        );
    };
    // Files: the ENGINE key's second kept event lost.
    let lost = files_upgrade(&release, &|w| {
        std::fs::remove_file(spool(w, ENGINE).join("00000000000000000003.json")).unwrap();
    });
    noticed("an event lost", ENGINE, &lost);
    // Files: the older entry no longer read (set aside as corrupt).
    let unread = files_upgrade(&release, &|w| {
        let dir = spool(w, OLD);
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = e.file_name().into_string().unwrap();
            let old_name = name.len() > 25
                && Path::new(&name)
                    .extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("json"));
            if old_name {
                std::fs::rename(e.path(), dir.join(format!("{name}.corrupt-1"))).unwrap();
            }
        }
    });
    noticed("an older entry unread", OLD, &unread);
    // Files: the NEW key's two events swapped (each file keeps its place
    // in line: its number and its run's start time).
    let swapped = files_upgrade(&release, &|w| {
        let dir = spool(w, NEW);
        let paths = [
            dir.join("00000000000000000001.json"),
            dir.join("00000000000000000002.json"),
        ];
        let read = |p: &PathBuf| -> Value {
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
        };
        let (mut a, mut b) = (read(&paths[0]), read(&paths[1]));
        swap_events(&mut a["event"], &mut b["event"]);
        write_private(&paths[0], &a.to_string());
        write_private(&paths[1], &b.to_string());
    });
    noticed("two events swapped", NEW, &swapped);
    // PostgreSQL: the database's first kept event of ENGINE lost.
    let lost = postgres_upgrade(&release, &|w| {
        w.pg().query(&format!(
            "DELETE FROM kept WHERE node = '{0}' \
             AND seq = (SELECT min(seq) FROM kept WHERE node = '{0}')",
            ENGINE.node
        ));
    });
    noticed("an event lost", ENGINE, &lost);
    // PostgreSQL: the INTENT key's two kept events swapped (each row keeps
    // its place in line).
    let swapped = postgres_upgrade(&release, &|w| {
        w.pg().query(&format!(
            "UPDATE kept k SET event = CASE WHEN k.event ? 'started' \
                 THEN jsonb_set(o.event - 'started', '{{started}}', k.event -> 'started') \
                 ELSE o.event - 'started' END \
             FROM kept o WHERE k.node = '{0}' AND o.node = '{0}' AND o.uid <> k.uid",
            INTENT.node
        ));
    });
    noticed("two events swapped", INTENT, &swapped);
}

/// Swaps two kept events, each keeping its run's start time (its place in
/// the host's order).
fn swap_events(a: &mut Value, b: &mut Value) {
    std::mem::swap(a, b);
    let (sa, sb) = (a.get("started").cloned(), b.get("started").cloned());
    for (event, started) in [(a, sb), (b, sa)] {
        let fields = event.as_object_mut().unwrap();
        match started {
            Some(s) => fields.insert("started".into(), s),
            None => fields.remove("started"),
        };
    }
}

// ---------------------------------------------------------------------------
// The generator: run by tests/data/upgrade/make.sh with this release
// ---------------------------------------------------------------------------

/// Writes the fixtures of this release into `$ESIA_UPGRADE_FIXTURES_OUT`
/// (an empty or missing directory): see tests/data/upgrade/README.md.
#[test]
#[ignore = "writes the upgrade fixtures of this release: tests/data/upgrade/make.sh"]
fn make_fixtures() {
    let out = PathBuf::from(
        std::env::var_os("ESIA_UPGRADE_FIXTURES_OUT")
            .expect("ESIA_UPGRADE_FIXTURES_OUT: the directory to write the fixtures into"),
    );
    assert!(
        std::fs::read_dir(&out).map_or(true, |mut d| d.next().is_none()),
        "{} is not empty",
        out.display()
    );
    make_files(&out.join("files"));
    make_postgres(&out.join("postgres"));
}

/// A fault that applies `POST <itemtype>` and never answers it.
fn write_unanswered(itemtype: &str) -> Fault {
    Fault::new(
        &format!("/{itemtype}"),
        FaultKind::CommitThenDelay(Duration::from_mins(2)),
    )
    .method("POST")
}

/// The events before GLPI goes away: tickets, an in-flight follow-up and
/// a creation whose answer never came.
fn make_common(w: &World) {
    w.notify_numbered("CRITICAL", 0).code(0);
    w.notify(FLIGHT, "WARNING", 0).code(0);
    if w.pg.is_none() {
        w.notify(OLD, "CRITICAL", 0).code(0);
    }
    let flight_ticket = w.tickets_of(FLIGHT)[0].0;
    w.kill_after_write(
        FLIGHT,
        "CRITICAL",
        1,
        write_unanswered("ITILFollowup"),
        |sim| {
            sim.ticket(flight_ticket)
                .is_some_and(|t| !t.followups.is_empty())
        },
    );
    let before = w.sim.tickets().len();
    w.kill_after_write(INTENT, "CRITICAL", 0, write_unanswered("Ticket"), |sim| {
        sim.tickets().len() > before
    });
    // GLPI unavailable from here on: events stay kept.
    w.sim.inject(Fault::new("", FaultKind::Status(503)));
}

/// The files backend's state directory, `out/state`, and `out/tickets.json`.
fn make_files(out: &Path) {
    let w = World::files();
    make_common(&w);
    w.notify_numbered("WARNING", 1).code(5);
    w.notify_numbered("CRITICAL", 2).code(5);
    w.notify_numbered("OK", 3).code(5);
    w.notify(FLIGHT, "OK", 2).code(5);
    w.notify(INTENT, "WARNING", 1).code(5);
    let old = w.notify_cmd(OLD, "UNKNOWN", 1).spawn().unwrap();
    let old_pid = old.id();
    finish_within(old, "notify", RUN_DEADLINE).code(5);
    w.notify(OLD, "WARNING", 2).code(5);
    w.notify(NEW, "CRITICAL", 0).code(5);
    w.notify(NEW, "OK", 1).code(5);

    // The older formats, from what this release wrote.
    let stem = format!("{}~{}", OLD.node, OLD.service);
    let record = w.state.join("records").join(format!("{stem}.json"));
    let text = std::fs::read_to_string(&record).unwrap();
    let without = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("\"glpi\":"))
        .fold(String::new(), |acc, l| acc + l + "\n");
    assert_ne!(text, without, "the record has a glpi field to drop");
    write_private(&record, &without);
    let spool = w.state.join("spool").join(&stem);
    let entry = spool.join("00000000000000000002.json");
    let (name, old_text) = schema_1_entry(&std::fs::read_to_string(&entry).unwrap(), old_pid);
    std::fs::remove_file(&entry).unwrap();
    write_private(&spool.join(name), &old_text);

    let glpi = w.sim.base_url();
    copy_out(
        &w.state,
        &out.join("state"),
        &glpi,
        &["locks", "cache"],
        w.dir.path(),
    );
    write_tickets(&w.sim, &out.join("tickets.json"), &glpi);
}

/// A kept event as releases before 5fff9f8 wrote it, from `current` (this
/// release's schema 2 entry) kept by process `pid`: schema 1, no sequence
/// number, no GLPI, the event without the fields added since (`order`,
/// `started`), named `<event time in ns, 20 digits>-<pid, 10>-<n, 4>.json`.
fn schema_1_entry(current: &str, pid: u32) -> (String, String) {
    #[derive(serde::Serialize)]
    struct Schema1 {
        schema: u32,
        event: Value,
        attempts: Value,
        last_error: Value,
        #[serde(skip_serializing_if = "Value::is_null")]
        failure: Value,
    }
    let v: Value = serde_json::from_str(current).unwrap();
    assert_eq!(v["schema"], 2, "{current}");
    let mut event = v["event"].clone();
    let fields = event.as_object_mut().unwrap();
    fields.remove("order");
    fields.remove("started");
    let nanos = v["event"]["time"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_nanosecond();
    let entry = Schema1 {
        schema: 1,
        event,
        attempts: v["attempts"].clone(),
        last_error: v["last_error"].clone(),
        failure: v["failure"].clone(),
    };
    (
        format!("{nanos:020}-{pid:010}-0000.json"),
        serde_json::to_string_pretty(&entry).unwrap(),
    )
}

/// The PostgreSQL backend's database, `out/esia.sql`, the outbox of the
/// state directory, `out/state/outbox`, and `out/tickets.json`.
fn make_postgres(out: &Path) {
    let w = World::postgres(Pg::start());
    make_common(&w);
    w.notify_numbered("WARNING", 1).code(5);
    w.notify_numbered("OK", 2).code(5);
    w.notify(INTENT, "WARNING", 1).code(5);

    // The database gone: events stay in the outbox.
    w.pg().stop();
    w.notify_numbered("CRITICAL", 3).code(6);
    w.notify(NEW, "CRITICAL", 0).code(6);
    w.notify(NEW, "OK", 1).code(6);
    w.notify(FLIGHT, "OK", 2).code(6);
    // The first two under the older name `<n>.json`, as releases before
    // a0e6a57 wrote them (the same content).
    let outbox = w.state.join("outbox");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    assert_eq!(entries.len(), 4, "{entries:?}");
    for path in &entries[..2] {
        let name = path.file_name().unwrap().to_str().unwrap();
        std::fs::rename(path, outbox.join(format!("{}.json", &name[..20]))).unwrap();
    }
    w.pg().restart();

    let glpi = w.sim.base_url();
    std::fs::create_dir_all(out.join("state")).unwrap();
    copy_out(&outbox, &out.join("state/outbox"), &glpi, &[], w.dir.path());
    std::fs::write(out.join("esia.sql"), w.pg().dump().replace(&glpi, GLPI)).unwrap();
    write_tickets(&w.sim, &out.join("tickets.json"), &glpi);
}

/// Copies the tree `from` into `to`, every `glpi` replaced by [`GLPI`];
/// the subdirectories `skip` (locks, derived caches) and lock files left
/// out. No file may name a path under `root` (the run's temp dir).
fn copy_out(from: &Path, to: &Path, glpi: &str, skip: &[&str], root: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        if skip.iter().any(|s| name == *s) || name.to_string_lossy().ends_with(".lock") {
            continue;
        }
        let dst = to.join(&name);
        if e.path().is_dir() {
            copy_out(&e.path(), &dst, glpi, &[], root);
        } else {
            let text = std::fs::read_to_string(e.path()).unwrap();
            assert!(
                !text.contains(root.to_str().unwrap()),
                "{} names a path of the run",
                e.path().display()
            );
            std::fs::write(&dst, text.replace(glpi, GLPI)).unwrap();
        }
    }
}

/// The simulator's tickets as `POST Ticket` took them, with their
/// follow-ups, in id order, into `path`.
fn write_tickets(sim: &Sim, path: &Path, glpi: &str) {
    let tickets: Vec<Value> = sim
        .tickets()
        .into_iter()
        .map(|t| {
            assert!(t.solutions.is_empty(), "ticket {} is solved", t.id);
            let mut input = json!({
                "name": t.name, "content": t.content, "status": t.status,
                "priority": t.priority, "urgency": t.urgency, "impact": t.impact,
                "type": t.type_, "entities_id": t.entities_id,
            });
            if let Some(r) = t.requesters.first() {
                input["_users_id_requester"] = json!(r);
            }
            json!({ "id": t.id, "input": input, "followups": t.followups })
        })
        .collect();
    let text = serde_json::to_string_pretty(&tickets).unwrap() + "\n";
    std::fs::write(path, text.replace(glpi, GLPI)).unwrap();
}
