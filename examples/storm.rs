//! The benchmark harness of `bench/`: runs the real binary against the GLPI
//! simulator in this process, whose tickets and request log are the ground
//! truth.
//!
//! `storm` (the default) runs three phases, each against its own simulator
//! and state directory:
//!
//! - **The storm** of the durability issue (`storm:`): 1,000 events over 200
//!   keys (each key CRITICAL → WARNING → OK → CRITICAL → OK, one run after
//!   the other), 16 runs of the binary at a time, the simulator answering
//!   every request after 20 ms.
//! - **Bursts** (`bursts:`): for each of 300 keys, WARNING, CRITICAL and OK
//!   spawned 5 to 10 ms apart — within one GLPI round trip, the simulator
//!   answering after 20 to 60 ms — so that the three runs of a key overlap
//!   and race for it, as when a monitoring engine starts a run per state
//!   change without waiting. Options only, no event numbers, as Esia runs
//!   it: the engine's order is then the order the runs reach this host's
//!   spool. A pool of 24 processes: 8 bursts at a time, each burst's three
//!   runs started together (a burst whose earlier runs had already ended
//!   when its last run started is counted as not overlapping).
//! - **Numbered bursts** (`nagios-bursts:`): the same, each run also given
//!   the Nagios macros (`NAGIOS_SERVICEEVENTID`, `NAGIOS_LASTSERVICEEVENTID`,
//!   `NAGIOS_SERVICEPROBLEMID`, state and state type), and each key first an
//!   OK (before the clock starts, not counted) so that it has a history: the
//!   engine can then put back in order runs that reached the spool in
//!   another order than they were started.
//!
//! For each phase: elapsed time, events/s, requests per event, the exit
//! statuses of the runs (count per status), and, from what the simulator
//! holds at the end — its tickets and its request log — each key's trail
//! against what its event sequence must produce. Every ticket is attributed
//! to its key by the marker in its content
//! (`[esia-glpi:<hex node>:<hex service>]`, not the title, which depends on
//! `tpl_title`); every write (`POST Ticket`, `ITILFollowup`, `ITILSolution`
//! answered 2xx) to the event whose output it carries (each event's output
//! names it, `#e<n>#`), in the order the simulator took it. The trail —
//! creation, follow-ups, solutions, in that order — is compared with the
//! writes the events must make in the order they were sent (a problem opens
//! a ticket, a change of state follows it up, an OK solves it, and a
//! re-notification — the same state again — writes nothing):
//!
//! - duplicates: writes repeated (a second ticket for one event included),
//!   made by an event that must write nothing or by no event sent, and
//!   tickets opened while the key had one open (a second ticket for one
//!   problem, also counted apart);
//! - lost events: transitions missing from the trail;
//! - out of order: transitions in the trail in another order than sent, or
//!   written as another action than their place in the sequence requires
//!   (a CRITICAL opening the ticket its WARNING should have opened);
//! - open after OK: tickets still open for keys whose last event was OK
//!   (recovered services);
//! - stray tickets: tickets no key claims; log vs state: writes the request
//!   log and the tickets disagree on (a harness check, always 0);
//! - the ratio to the ideal time, requests × latency ÷ parallelism. For
//!   bursts the latency is the mean (40 ms) and the parallelism the bursts in
//!   flight (8), not the processes: one key's events are delivered one after
//!   the other — that is the order guarantee — so a burst makes one request
//!   at a time.
//!
//! For bursts, also the order the runs reached the spool, read from each
//! run's debug log (`event kept as …/<seq>.json`, `RUST_LOG` set for the
//! engine's `api` module, stderr to a file; `?` with a build that does not
//! log it): how many bursts arrived in another order than started
//! ("arrived inverted": the operating system's doing, a run started later
//! overtaking an earlier one before it wrote its event), and the
//! transitions lost, doubled or out of order against that arrival order
//! ("vs arrival"). The engine orders by when the host started each run
//! (or by the event numbers), not by arrival, so "vs arrival" counts the
//! transitions it put back in order — together with "out of order" (which
//! should be 0) it shows what the inversions would have cost. Both are
//! diagnostics, not targets.
//!
//! Exits 1 if a phase has a run exiting non-zero, a duplicate, a lost or
//! out-of-order transition, a ticket open after OK or a stray ticket.
//!
//! `--state postgres` runs every phase over the PostgreSQL state backend
//! (`[state] backend = "postgres"`): the harness starts a private cluster
//! (`tests/integration/support/pg.rs`, Debian's server binaries, as the
//! `postgres` user when run as root), creates the schema with `esia-glpi
//! state migrate` before the clock starts, and labels the phases
//! `storm-pg`, `bursts-pg`, `nagios-bursts-pg`. `--state pgbouncer` does the
//! same through PgBouncer in session pooling mode in front of that cluster
//! (phases `…-pgbouncer`): what a site with many short runs puts in front of
//! the database. It installs nothing: without the server binaries (or
//! `pgbouncer`) it says what to install and exits 2.
//!
//! `counts`: the requests one run makes for each action (create cold and
//! warm, follow-up with and without a priority change, ACK, solve, a
//! re-notification, an OK without record), counted from the request log.
//! With `--compare CMD`, also runs `CMD <glpi-url> <node>` (the reference
//! scripts of `bench/`) and checks that it makes the same requests as a warm
//! `notify` creation: same methods and paths, same token headers, same body
//! keys.
//!
//! ```text
//! cargo run --release --example storm -- [storm] --bin target/release/esia-glpi \
//!     [--events 1000] [--keys 200] [--parallel 16] [--latency-ms 20] \
//!     [--bursts 300] [--burst-pool 24] [--burst-gap-ms 5-10] \
//!     [--burst-latency-ms 20-60] [--burst-states WARNING,CRITICAL,OK] \
//!     [--burst-ids both|none|nagios] [--seed 1] [--api legacy|v2] \
//!     [--state files|postgres|pgbouncer]
//! cargo run --release --example storm -- counts --bin target/release/esia-glpi \
//!     [--compare 'bench/create_curl.sh']...
//! ```
//! `--events 0` skips the storm, `--bursts 0` the bursts, `--burst-ids`
//! chooses the burst phases (both by default). A range `A-B` is
//! drawn uniformly: the gap before each run of a burst, and the latency of
//! each request (five steps from A to B). Run it through `bench/run.sh`
//! (everything) or `bench/storm.sh`.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::too_many_lines
)]

#[path = "../tests/integration/support/glpi_sim.rs"]
mod glpi_sim;
#[path = "../tests/integration/support/pg.rs"]
mod pg;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use glpi_sim::{Fault, FaultKind, LoggedRequest, Sim, SimOptions, TicketView};

/// Each key of the storm lives through CRITICAL → WARNING → OK → CRITICAL →
/// OK: two tickets, one follow-up, two solutions — five writes for five
/// events.
const SEQUENCE: [&str; 5] = ["CRITICAL", "WARNING", "OK", "CRITICAL", "OK"];

/// The service of every key.
const SERVICE: &str = "svc";

struct Args {
    counts: bool,
    /// `--api v2`: a GLPI 11 simulator and its high-level API.
    v2: bool,
    /// `--state`: where the runs keep their state.
    state: StateKind,
    bin: PathBuf,
    events: usize,
    keys: usize,
    parallel: usize,
    latency_ms: u64,
    bursts: usize,
    burst_pool: usize,
    burst_gap_ms: (u64, u64),
    burst_latency_ms: (u64, u64),
    burst_states: Vec<String>,
    burst_styles: Vec<Style>,
    seed: u64,
    compare: Vec<String>,
}

/// Where the runs keep their state (`--state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StateKind {
    /// The state directory.
    Files,
    /// The PostgreSQL backend, on a private cluster.
    Postgres,
    /// The same, reached through PgBouncer (session pooling).
    PgBouncer,
}

impl Args {
    /// Over the PostgreSQL backend (directly or not).
    fn postgres(&self) -> bool {
        self.state != StateKind::Files
    }

    /// Through PgBouncer.
    fn pooled(&self) -> bool {
        self.state == StateKind::PgBouncer
    }
}

/// `A` or `A-B` (milliseconds), A ≤ B.
fn range(flag: &str, value: &str) -> Result<(u64, u64), String> {
    let num = |s: &str| s.trim().parse::<u64>().map_err(|e| format!("{flag}: {e}"));
    let (lo, hi) = match value.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(value)?, num(value)?),
    };
    if lo > hi {
        return Err(format!("{flag}: {lo} > {hi}"));
    }
    Ok((lo, hi))
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        counts: false,
        v2: false,
        state: StateKind::Files,
        bin: PathBuf::from("target/release/esia-glpi"),
        events: 1000,
        keys: 200,
        parallel: 16,
        latency_ms: 20,
        bursts: 300,
        burst_pool: 24,
        burst_gap_ms: (5, 10),
        burst_latency_ms: (20, 60),
        burst_states: ["WARNING", "CRITICAL", "OK"].map(String::from).to_vec(),
        burst_styles: vec![Style::Plain, Style::Nagios],
        seed: 1,
        compare: Vec::new(),
    };
    let mut it = std::env::args().skip(1).peekable();
    match it.peek().map(String::as_str) {
        Some("counts") => {
            a.counts = true;
            it.next();
        }
        Some("storm") => {
            it.next();
        }
        _ => {}
    }
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = || value.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--bin" => a.bin = PathBuf::from(&value),
            "--events" => a.events = num()?,
            "--keys" => a.keys = num()?,
            "--parallel" => a.parallel = num()?.max(1),
            "--latency-ms" => a.latency_ms = num()? as u64,
            "--bursts" => a.bursts = num()?,
            "--burst-pool" => a.burst_pool = num()?,
            "--burst-gap-ms" => a.burst_gap_ms = range(&flag, &value)?,
            "--burst-latency-ms" => a.burst_latency_ms = range(&flag, &value)?,
            "--burst-states" => {
                a.burst_states = value
                    .split(',')
                    .map(|s| s.trim().to_ascii_uppercase())
                    .collect();
            }
            "--burst-ids" => {
                a.burst_styles = match value.as_str() {
                    "none" => vec![Style::Plain],
                    "nagios" => vec![Style::Nagios],
                    "both" => vec![Style::Plain, Style::Nagios],
                    _ => return Err(format!("{flag}: none, nagios or both")),
                };
            }
            "--seed" => a.seed = num()? as u64,
            "--compare" => a.compare.push(value),
            "--state" => {
                a.state = match value.as_str() {
                    "files" => StateKind::Files,
                    "postgres" => StateKind::Postgres,
                    "pgbouncer" => StateKind::PgBouncer,
                    _ => return Err(format!("{flag}: files, postgres or pgbouncer")),
                };
            }
            "--api" => {
                a.v2 = match value.as_str() {
                    "legacy" => false,
                    "v2" => true,
                    _ => return Err(format!("{flag}: legacy or v2")),
                };
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.keys == 0 || !a.events.is_multiple_of(a.keys) || a.events / a.keys > SEQUENCE.len() {
        return Err(format!(
            "--events must be a multiple of --keys, at most {} per key",
            SEQUENCE.len()
        ));
    }
    if a.v2 && !a.compare.is_empty() {
        return Err("--compare: the reference scripts speak the legacy API only".into());
    }
    let known = ["OK", "WARNING", "CRITICAL"];
    if a.burst_states.is_empty() || a.burst_states.iter().any(|s| !known.contains(&s.as_str())) {
        return Err("--burst-states: a comma-separated list of OK, WARNING, CRITICAL".into());
    }
    if a.bursts > 0 && a.burst_pool < a.burst_states.len() {
        return Err(format!(
            "--burst-pool must hold one burst: at least {} processes",
            a.burst_states.len()
        ));
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("storm: {e}");
            return ExitCode::from(2);
        }
    };
    if !args.bin.is_file() {
        eprintln!("storm: no binary at {}", args.bin.display());
        return ExitCode::from(2);
    }
    if args.pooled() && pg::find_bouncer_bin().is_none() {
        eprintln!(
            "storm: --state pgbouncer needs PgBouncer; install it with: \
             apt-get install -y pgbouncer"
        );
        return ExitCode::from(2);
    }
    if args.postgres() && pg::find_server_bin().is_none() {
        eprintln!(
            "storm: --state postgres needs the PostgreSQL server binaries \
             (/usr/lib/postgresql/<version>/bin); install them with: apt-get install -y postgresql"
        );
        return ExitCode::from(2);
    }
    if args.counts {
        return counts(&args);
    }
    let mut ok = true;
    if args.events > 0 {
        ok &= storm(&args);
    }
    for (i, style) in args.burst_styles.iter().enumerate() {
        if args.bursts == 0 {
            break;
        }
        if args.events > 0 || i > 0 {
            println!();
        }
        ok &= bursts(&args, *style);
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A private configuration pointing at the simulator, as the Esia
/// documentation writes it (default `tpl_title`, no optional keys but the
/// state directory and generous lock and run budgets).
fn write_config(dir: &Path, sim: &Sim, v2: bool, state: &str) -> PathBuf {
    let config = dir.join("glpi.conf");
    // Over v2: the OAuth client and user only, no legacy login.
    let credentials = if v2 {
        format!(
            "api=\"v2\"\nclient_id=\"{}\"\nclient_secret=\"{}\"\nusername=\"esia\"\npassword=\"{}\"\n",
            glpi_sim::SIM_OAUTH_CLIENT_ID,
            glpi_sim::SIM_OAUTH_CLIENT_SECRET,
            glpi_sim::SIM_USER_PASSWORD
        )
    } else {
        format!(
            "app_token=\"{}\"\nuser_token=\"{}\"\n",
            SimOptions::default().app_token.unwrap_or_default(),
            SimOptions::default().user_token,
        )
    };
    std::fs::write(
        &config,
        format!(
            "host=\"{}\"\n{credentials}user_name=\"esia\"\nstate_dir=\"{}\"\nlock_timeout=60\nrun_timeout=60\n{state}",
            sim.base_url(),
            dir.join("state").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    config
}

/// The state backend of a phase: the state directory alone, or a private
/// PostgreSQL cluster (`--state postgres`) with the `[state]` table that
/// points at it and the schema created, before the clock starts.
struct Backend {
    /// Kept alive for the phase, stopped before the cluster.
    _bouncer: Option<pg::Bouncer>,
    /// Kept alive for the phase; dropping it stops the cluster.
    _pg: Option<pg::Pg>,
    /// The `[state]` table of the configuration ("" for the files).
    table: String,
}

fn backend(args: &Args, dir: &Path) -> Backend {
    if !args.postgres() {
        return Backend {
            _bouncer: None,
            _pg: None,
            table: String::new(),
        };
    }
    let pg = pg::Pg::start();
    let password_file = dir.join("db-password");
    pg.write_password_file(&password_file);
    let bouncer = (args.state == StateKind::PgBouncer).then(|| pg.start_bouncer());
    let table = match &bouncer {
        Some(b) => b.state_table(&password_file),
        None => pg.state_table(&password_file),
    };
    Backend {
        _bouncer: bouncer,
        _pg: Some(pg),
        table,
    }
}

/// `esia-glpi state migrate` (a site does it once, at set-up); false, and
/// why, if it fails.
fn migrate(bin: &Path, config: &Path) -> bool {
    let out = Command::new(bin)
        .env_clear()
        .arg("--config")
        .arg(config)
        .args(["state", "migrate"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!(
            "storm: esia-glpi state migrate failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.success()
}

/// A phase's name: `name`, `name-pg` over the PostgreSQL backend,
/// `name-pgbouncer` through PgBouncer.
fn phase(args: &Args, name: &str) -> String {
    if args.pooled() {
        format!("{name}-pgbouncer")
    } else if args.postgres() {
        format!("{name}-pg")
    } else {
        name.to_string()
    }
}

/// The simulator options of the GLPI `--api` targets.
fn sim_options(args: &Args) -> SimOptions {
    if args.v2 {
        SimOptions::glpi11()
    } else {
        SimOptions::default()
    }
}

/// One `notify` run, ready to start.
fn notify_cmd(
    bin: &Path,
    config: &Path,
    node: &str,
    service: &str,
    state: &str,
    output: &str,
    more: &[&str],
) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .arg("--config")
        .arg(config)
        .args(["notify", "--node", node, "--service", service])
        .args(["--state", state, "--output", output])
        .args(more)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// One `notify` run; true when it exited 0.
fn notify(
    bin: &Path,
    config: &Path,
    node: &str,
    service: &str,
    state: &str,
    more: &[&str],
) -> bool {
    notify_cmd(
        bin,
        config,
        node,
        service,
        state,
        &format!("{state} output"),
        more,
    )
    .status()
    .unwrap()
    .success()
}

/// The output of event `n` of a key: it names the event, so that every text
/// written into GLPI tells which event wrote it.
fn output(state: &str, n: usize) -> String {
    format!("{state} output #e{n}#")
}

/// The event an output names (the first `#e<n>#` in `text`).
fn event_of(text: &str) -> Option<usize> {
    let start = text.find("#e")? + 2;
    let rest = &text[start..];
    let end = rest.find('#')?;
    rest[..end].parse().ok()
}

/// How a run ended: its exit code, or the signal that killed it.
fn status_label(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code.to_string(),
        (None, Some(sig)) => format!("signal {sig}"),
        (None, None) => "?".into(),
    }
}

/// The marker `text::marker` puts in every ticket's content.
fn marker(node: &str, service: &str) -> String {
    let hex = |s: &str| {
        s.bytes()
            .fold(String::new(), |acc, b| acc + &format!("{b:02x}"))
    };
    format!("[esia-glpi:{}:{}]", hex(node), hex(service))
}

/// A small deterministic generator (splitmix64), for the gaps of the bursts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, (lo, hi): (u64, u64)) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// A simulator answering every request after `lo` to `hi` ms: `lo`, plus a
/// delay drawn among five even steps from 0 to `hi - lo` (the simulator's
/// seeded fault generator draws them; the mean is `(lo + hi) / 2`).
fn sim_with_latency((lo, hi): (u64, u64), options: SimOptions) -> Sim {
    let sim = Sim::start_with(SimOptions {
        latency: Duration::from_millis(lo),
        ..options
    });
    if hi > lo {
        let step = (hi - lo) as f64 / 4.0;
        // The first matching fault wins: 1/5 get 4 steps, 1/4 of the rest 3,
        // … so that each of 0–4 steps has a chance of 1/5.
        for (steps, p) in [(4.0, 1.0 / 5.0), (3.0, 0.25), (2.0, 1.0 / 3.0), (1.0, 0.5)] {
            sim.inject(
                Fault::new(
                    "",
                    FaultKind::Delay(Duration::from_secs_f64(steps * step / 1000.0)),
                )
                .probability(p),
            );
        }
    }
    sim
}

/// A write into GLPI, as the trail shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Create,
    FollowUp,
    Solve,
}

/// What one key's events must write, delivered in the order given (event,
/// state): (write, event), in order. An OK solves the open ticket (nothing
/// without one), a problem opens a ticket when none is open, a change of
/// state follows it up, and the same state again is a re-notification,
/// which writes nothing.
fn expected_trail(events: &[(usize, String)]) -> Vec<(Write, usize)> {
    let mut trail = Vec::new();
    let mut open: Option<&str> = None;
    for (i, s) in events {
        let (i, s) = (*i, s.as_str());
        match (s, open) {
            ("OK", Some(_)) => {
                trail.push((Write::Solve, i));
                open = None;
            }
            ("OK", None) => {}
            (_, None) => {
                trail.push((Write::Create, i));
                open = Some(s);
            }
            (_, Some(prev)) if prev == s => {}
            (_, Some(_)) => {
                trail.push((Write::FollowUp, i));
                open = Some(s);
            }
        }
    }
    trail
}

/// A key and its events (number, state) in the order they must be
/// delivered.
struct Sent {
    node: String,
    events: Vec<(usize, String)>,
}

impl Sent {
    /// Events numbered in the order they happened.
    fn new(node: String, states: &[impl ToString]) -> Sent {
        Sent {
            node,
            events: states.iter().map(ToString::to_string).enumerate().collect(),
        }
    }
}

/// What the simulator holds, compared with what was sent.
#[derive(Debug, Default)]
struct Tally {
    tickets: usize,
    duplicates: usize,
    /// Of the duplicates: tickets opened while the key had one open (a
    /// second ticket for one problem).
    second_tickets: usize,
    lost: usize,
    out_of_order: usize,
    open_after_ok: usize,
    stray: usize,
    /// Writes the request log and the tickets do not agree on (0 unless the
    /// harness or the simulator is wrong).
    log_vs_state: usize,
    /// Keys whose trail is not exactly the expected one.
    keys_wrong: usize,
    /// The first few of them: the key, its trail and the expected one.
    examples: Vec<String>,
}

/// One write into GLPI, as the simulator took it.
#[derive(Debug, Clone, Copy)]
struct Step {
    ticket: Option<u64>,
    write: Write,
    event: Option<usize>,
}

/// A trail as `T<ticket> create e0, follow-up e1, …`.
fn show_trail(trail: &[Step]) -> String {
    trail
        .iter()
        .map(|s| {
            let what = match s.write {
                Write::Create => "create",
                Write::FollowUp => "follow-up",
                Write::Solve => "solve",
            };
            let event = s.event.map_or("e?".to_string(), |e| format!("e{e}"));
            match s.ticket {
                Some(t) => format!("T{t} {what} {event}"),
                None => format!("{what} {event}"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Length of the longest strictly increasing subsequence.
fn lis(seq: &[usize]) -> usize {
    let mut best = vec![1usize; seq.len()];
    for i in 0..seq.len() {
        for j in 0..i {
            if seq[j] < seq[i] {
                best[i] = best[i].max(best[j] + 1);
            }
        }
    }
    best.into_iter().max().unwrap_or(0)
}

/// Each key's trail, in the order the simulator took the writes (its request
/// log: successful `POST Ticket`, `POST ITILFollowup`, `POST ITILSolution`),
/// and how many writes the log and the tickets disagree on. A creation is
/// the key's by the marker in its content, and becomes its next ticket (ids
/// grow in the order the simulator takes requests); a follow-up or solution
/// is the key of the ticket it names.
fn trails(
    requests: &[LoggedRequest],
    mine: &[Vec<&TicketView>],
    marks: &[String],
) -> (Vec<Vec<Step>>, usize) {
    let owner: BTreeMap<u64, usize> = mine
        .iter()
        .enumerate()
        .flat_map(|(k, ts)| ts.iter().map(move |t| (t.id, k)))
        .collect();
    let mut trails: Vec<Vec<Step>> = vec![Vec::new(); marks.len()];
    let mut created = vec![0usize; marks.len()];
    let mut logged = 0usize;
    for r in requests {
        if r.method != "POST" || !(200..300).contains(&r.status) {
            continue;
        }
        let write = if r.path.ends_with("/Ticket") {
            Write::Create
        } else if r.path.ends_with("/ITILFollowup") || r.path.ends_with("/Timeline/Followup") {
            Write::FollowUp
        } else if r.path.ends_with("/ITILSolution") || r.path.ends_with("/Timeline/Solution") {
            Write::Solve
        } else {
            continue;
        };
        let Ok(body) = serde_json::from_str::<serde_json::Value>(&r.body) else {
            continue;
        };
        // The high-level API takes the fields unwrapped, the ticket in the
        // path (`Assistance/Ticket/{id}/Timeline/…`).
        let v2 = r.path.starts_with("/api.php/");
        let input = if v2 { &body } else { &body["input"] };
        let content = input["content"].as_str().unwrap_or_default();
        let (key, ticket) = if write == Write::Create {
            let Some(k) = marks.iter().position(|m| content.contains(m.as_str())) else {
                continue;
            };
            created[k] += 1;
            (k, mine[k].get(created[k] - 1).map(|t| t.id))
        } else {
            let id = if v2 {
                let mut parts = r.path.split('/');
                parts.find(|p| *p == "Ticket");
                parts.next().and_then(|n| n.parse().ok())
            } else {
                input["items_id"].as_u64()
            };
            let Some(&k) = id.and_then(|id| owner.get(&id)) else {
                continue;
            };
            (k, id)
        };
        logged += 1;
        trails[key].push(Step {
            ticket,
            write,
            event: event_of(content),
        });
    }
    let held: usize = mine
        .iter()
        .flatten()
        .map(|t| 1 + t.followups.len() + t.solutions.len())
        .sum();
    (trails, logged.abs_diff(held))
}

fn tally(requests: &[LoggedRequest], tickets: &[TicketView], sent: &[Sent]) -> Tally {
    let mut t = Tally {
        tickets: tickets.len(),
        ..Tally::default()
    };
    let marks: Vec<String> = sent.iter().map(|k| marker(&k.node, SERVICE)).collect();
    // Each key's tickets, by the marker in their content, ordered by id.
    let mine: Vec<Vec<&TicketView>> = marks
        .iter()
        .map(|m| {
            tickets
                .iter()
                .filter(|t| t.content.contains(m.as_str()))
                .collect()
        })
        .collect();
    let (trails, log_vs_state) = trails(requests, &mine, &marks);
    t.log_vs_state = log_vs_state;
    for ((key, mine), trail) in sent.iter().zip(&mine).zip(&trails) {
        let expected = expected_trail(&key.events);
        let before = (t.duplicates, t.lost, t.out_of_order, t.open_after_ok);

        // Writes repeated (a ticket created twice for one event included), of
        // no event that must write (a re-notification), or a ticket opened
        // while the key had one open.
        let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
        let mut order: Vec<(Write, usize)> = Vec::new();
        let mut open: BTreeSet<Option<u64>> = BTreeSet::new();
        for step in trail {
            match step.event {
                Some(e) if expected.iter().any(|(_, x)| *x == e) => {
                    let n = seen.entry(e).or_default();
                    *n += 1;
                    if *n == 1 {
                        order.push((step.write, e));
                        if step.write == Write::Create && !open.is_empty() {
                            t.duplicates += 1;
                            t.second_tickets += 1;
                        }
                    } else {
                        t.duplicates += 1;
                    }
                }
                // A write of a re-notification, or of nothing sent.
                _ => t.duplicates += 1,
            }
            match step.write {
                Write::Create => {
                    open.insert(step.ticket);
                }
                Write::Solve => {
                    open.remove(&step.ticket);
                }
                Write::FollowUp => {}
            }
        }
        t.lost += expected
            .iter()
            .filter(|(_, e)| !seen.contains_key(e))
            .count();
        // The transitions present, by their place in the expected trail: a
        // wrong action, or a place outside the longest run in order, is out
        // of order.
        let mut places = Vec::new();
        for (write, e) in order {
            let place = expected.iter().position(|(_, x)| *x == e).unwrap();
            if expected[place].0 == write {
                places.push(place);
            } else {
                t.out_of_order += 1;
            }
        }
        t.out_of_order += places.len() - lis(&places);

        let still_open: Vec<String> = mine
            .iter()
            .filter(|t| t.status < 5 && !t.is_deleted)
            .map(|t| format!("T{}", t.id))
            .collect();
        if key.events.last().is_some_and(|(_, s)| s == "OK") {
            t.open_after_ok += still_open.len();
        }
        if (t.duplicates, t.lost, t.out_of_order, t.open_after_ok) != before {
            t.keys_wrong += 1;
            if t.examples.len() < 3 {
                let want: Vec<Step> = expected
                    .iter()
                    .map(|(w, e)| Step {
                        ticket: None,
                        write: *w,
                        event: Some(*e),
                    })
                    .collect();
                t.examples.push(format!(
                    "{} ({}): {}{}; expected {}",
                    key.node,
                    key.events
                        .iter()
                        .map(|(e, s)| format!("e{e} {s}"))
                        .collect::<Vec<_>>()
                        .join(" → "),
                    show_trail(trail),
                    if still_open.is_empty() {
                        String::new()
                    } else {
                        format!(" (open: {})", still_open.join(" "))
                    },
                    show_trail(&want)
                ));
            }
        }
    }
    // A ticket no key claims would be a bug of its own.
    let attributed: usize = mine.iter().map(Vec::len).sum();
    t.stray = tickets.len().saturating_sub(attributed);
    t
}

/// Exit statuses counted per status.
type Statuses = BTreeMap<String, usize>;

fn statuses_line(statuses: &Statuses) -> String {
    statuses
        .iter()
        .map(|(s, n)| format!("{s} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The figures common to every phase; true when every run exited 0 and
/// nothing is lost, doubled, out of order, left open or stray.
fn report(
    sim: &Sim,
    sent: &[Sent],
    events: usize,
    elapsed: Duration,
    statuses: &Statuses,
    ideal_note: &str,
    ideal_per_request: f64,
) -> bool {
    let requests = sim.requests().len();
    let t = tally(&sim.requests(), &sim.tickets(), sent);
    let failed: usize = statuses
        .iter()
        .filter(|(s, _)| s.as_str() != "0")
        .map(|(_, n)| n)
        .sum();
    let ideal = requests as f64 * ideal_per_request;
    println!("  elapsed          {:.2} s", elapsed.as_secs_f64());
    println!(
        "  events/s         {:.1}",
        events as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  requests         {requests} ({:.2} per event)",
        requests as f64 / events as f64
    );
    println!("  exit statuses    {}", statuses_line(statuses));
    println!("  failed runs      {failed}");
    println!("  tickets          {}", t.tickets);
    println!(
        "  duplicates       {} (of which {} a second ticket for one problem)",
        t.duplicates, t.second_tickets
    );
    println!("  lost events      {} (transitions missing)", t.lost);
    println!("  out of order     {} (transitions)", t.out_of_order);
    println!("  open after OK    {} (tickets)", t.open_after_ok);
    println!("  stray tickets    {}", t.stray);
    println!(
        "  log vs state     {} (writes the request log and the tickets disagree on)",
        t.log_vs_state
    );
    println!("  keys wrong       {} of {}", t.keys_wrong, sent.len());
    for e in &t.examples {
        println!("    e.g. {e}");
    }
    println!("  open sessions    {}", sim.open_sessions());
    println!("  ideal time       {ideal:.2} s ({ideal_note})");
    println!("  ratio to ideal   {:.2}", elapsed.as_secs_f64() / ideal);
    failed == 0
        && t.duplicates == 0
        && t.lost == 0
        && t.out_of_order == 0
        && t.open_after_ok == 0
        && t.stray == 0
        && t.log_vs_state == 0
}

/// The storm: every key's events one after the other, `parallel` keys at a
/// time.
fn storm(args: &Args) -> bool {
    let sim = Sim::start_with(SimOptions {
        latency: Duration::from_millis(args.latency_ms),
        ..sim_options(args)
    });
    let dir = tempfile::tempdir().unwrap();
    let state = backend(args, dir.path());
    let config = write_config(dir.path(), &sim, args.v2, &state.table);
    if args.postgres() && !migrate(&args.bin, &config) {
        return false;
    }

    let per_key = args.events / args.keys;
    let states = &SEQUENCE[..per_key];
    let queue: Arc<Mutex<VecDeque<usize>>> = Arc::new(Mutex::new((0..args.keys).collect()));
    let statuses = Arc::new(Mutex::new(Statuses::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let started = Instant::now();
    let workers: Vec<_> = (0..args.parallel)
        .map(|_| {
            let queue = Arc::clone(&queue);
            let statuses = Arc::clone(&statuses);
            let failures = Arc::clone(&failures);
            let bin = args.bin.clone();
            let config = config.clone();
            std::thread::spawn(move || {
                loop {
                    let Some(key) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let node = format!("node{key:03}");
                    for (n, state) in states.iter().enumerate() {
                        let out = notify_cmd(
                            &bin,
                            &config,
                            &node,
                            SERVICE,
                            state,
                            &output(state, n),
                            &[],
                        )
                        .stderr(Stdio::piped())
                        .output()
                        .unwrap();
                        if !out.status.success() {
                            let why = String::from_utf8_lossy(&out.stderr);
                            failures.lock().unwrap().push(format!(
                                "{node} {state}: {}",
                                why.lines()
                                    .find(|l| l.contains("error"))
                                    .or_else(|| why.lines().last())
                                    .unwrap_or("(nothing on stderr)")
                            ));
                        }
                        *statuses
                            .lock()
                            .unwrap()
                            .entry(status_label(out.status))
                            .or_default() += 1;
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let elapsed = started.elapsed();

    let sent: Vec<Sent> = (0..args.keys)
        .map(|key| Sent::new(format!("node{key:03}"), states))
        .collect();
    println!(
        "{}: {}{}{} events over {} keys ({}), {} runs at a time, simulator latency {} ms",
        phase(args, if args.v2 { "storm-v2" } else { "storm" }),
        if args.v2 {
            "api = v2 on a GLPI 11 simulator, "
        } else {
            ""
        },
        if args.pooled() {
            "PostgreSQL state backend through PgBouncer (session pooling; a private cluster \
             on loopback), "
        } else if args.postgres() {
            "PostgreSQL state backend (a private cluster on loopback), "
        } else {
            ""
        },
        args.events,
        args.keys,
        states.join(" → "),
        args.parallel,
        args.latency_ms
    );
    let statuses = statuses.lock().unwrap().clone();
    let ok = report(
        &sim,
        &sent,
        args.events,
        elapsed,
        &statuses,
        &format!("requests × latency ÷ {}", args.parallel),
        args.latency_ms as f64 / 1000.0 / args.parallel as f64,
    );
    for failure in failures.lock().unwrap().iter().take(3) {
        println!("  failed run       {failure}");
    }
    if args.v2 {
        println!(
            "  token requests   {} (OAuth2 token endpoint)",
            sim.token_requests().len()
        );
    }
    ok
}

/// How the runs of a burst are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// As Esia starts them: options only, no event numbers; the engine's
    /// order is the order the runs reach this host's spool.
    Plain,
    /// As a Nagios-family engine starts them: `NAGIOS_SERVICEEVENTID`,
    /// `NAGIOS_LASTSERVICEEVENTID`, `NAGIOS_SERVICEPROBLEMID`, state and
    /// state type in the environment, each key first given a history (an OK,
    /// before the clock starts) so that a missing earlier event can be
    /// noticed.
    Nagios,
}

/// The Nagios macros of event `n` (0 = the history's OK) of burst `key`.
fn nagios_env(key: usize, node: &str, states: &[String], n: usize) -> Vec<(String, String)> {
    // Event ids: unique over the whole engine, growing with time.
    let id = |n: usize| (key * 100 + n + 1).to_string();
    let state = |n: usize| if n == 0 { "OK" } else { states[n - 1].as_str() };
    // The problem a non-OK state belongs to: the first non-OK after an OK.
    let problem = |n: usize| {
        if state(n) == "OK" {
            return "0".to_string();
        }
        let start = (1..=n)
            .rev()
            .take_while(|&m| state(m) != "OK")
            .last()
            .unwrap_or(n);
        id(start)
    };
    let mut env = vec![
        ("NAGIOS_HOSTNAME", node.to_string()),
        ("NAGIOS_SERVICEDESC", SERVICE.to_string()),
        ("NAGIOS_SERVICESTATE", state(n).to_string()),
        ("NAGIOS_SERVICESTATETYPE", "HARD".to_string()),
        ("NAGIOS_SERVICEEVENTID", id(n)),
        ("NAGIOS_SERVICEPROBLEMID", problem(n)),
    ];
    if n > 0 {
        env.push(("NAGIOS_LASTSERVICEEVENTID", id(n - 1)));
        env.push(("NAGIOS_LASTSERVICESTATE", state(n - 1).to_string()));
    }
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The sequence number a run's event took in the key's spool, from its
/// debug log ("event kept as …/spool/<key>/<seq>.json"): the order it
/// reached this host.
fn kept_seq(log: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(log).ok()?;
    let at = text.find("event kept as ")? + "event kept as ".len();
    let path = text[at..].lines().next()?;
    Path::new(path.trim()).file_stem()?.to_str()?.parse().ok()
}

/// What the bursts' workers bring back.
#[derive(Default)]
struct BurstLog {
    statuses: Statuses,
    /// Bursts whose every run was still running when its last run started.
    overlapped: usize,
}

/// Bursts: each key's events spawned a few ms apart, all its runs at once,
/// `burst_pool ÷ events per burst` keys at a time.
fn bursts(args: &Args, style: Style) -> bool {
    let sim = sim_with_latency(args.burst_latency_ms, sim_options(args));
    let dir = tempfile::tempdir().unwrap();
    let state = backend(args, dir.path());
    let config = write_config(dir.path(), &sim, args.v2, &state.table);
    if args.postgres() && !migrate(&args.bin, &config) {
        return false;
    }
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let states: Arc<Vec<String>> = Arc::new(args.burst_states.clone());
    let in_flight = args.burst_pool / states.len();
    let node = |key: usize| format!("burst{key:04}");
    let log_of = move |logs: &Path, key: usize, n: usize| logs.join(format!("{key}-{n}.log"));

    if style == Style::Nagios {
        // The keys' history: an OK each, the clock not started, not counted.
        let queue: Arc<Mutex<VecDeque<usize>>> = Arc::new(Mutex::new((0..args.bursts).collect()));
        let workers: Vec<_> = (0..args.burst_pool)
            .map(|_| {
                let (queue, states) = (Arc::clone(&queue), Arc::clone(&states));
                let (bin, config) = (args.bin.clone(), config.clone());
                std::thread::spawn(move || {
                    while let Some(key) = queue.lock().unwrap().pop_front() {
                        let node = node(key);
                        notify_cmd(&bin, &config, &node, SERVICE, "OK", &output("OK", 99), &[])
                            .envs(nagios_env(key, &node, &states, 0))
                            .status()
                            .unwrap();
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        sim.clear_requests();
    }

    let queue: Arc<Mutex<VecDeque<usize>>> = Arc::new(Mutex::new((0..args.bursts).collect()));
    let log = Arc::new(Mutex::new(BurstLog::default()));
    let started = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let queue = Arc::clone(&queue);
            let log = Arc::clone(&log);
            let states = Arc::clone(&states);
            let (bin, config, logs) = (args.bin.clone(), config.clone(), logs.clone());
            let (gap, seed) = (args.burst_gap_ms, args.seed);
            std::thread::spawn(move || {
                loop {
                    let Some(key) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let node = node(key);
                    let mut rng = Rng(seed ^ (key as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
                    let mut children: Vec<Child> = Vec::new();
                    for (n, state) in states.iter().enumerate() {
                        if n > 0 {
                            std::thread::sleep(Duration::from_millis(rng.between(gap)));
                        }
                        let mut cmd = notify_cmd(
                            &bin,
                            &config,
                            &node,
                            SERVICE,
                            state,
                            &output(state, n),
                            &[],
                        );
                        // The sequence number each event takes, for the
                        // arrival order (a debug line of the engine).
                        cmd.env("RUST_LOG", "error,esia_glpi::engine::api=debug")
                            .stderr(std::fs::File::create(log_of(&logs, key, n)).unwrap());
                        if style == Style::Nagios {
                            cmd.envs(nagios_env(key, &node, &states, n + 1));
                        }
                        children.push(cmd.spawn().unwrap());
                    }
                    // Started after the last run: did every earlier run
                    // still run?
                    let overlapped = children.iter_mut().all(|c| c.try_wait().unwrap().is_none());
                    let ends: Vec<String> = children
                        .iter_mut()
                        .map(|c| status_label(c.wait().unwrap()))
                        .collect();
                    let mut log = log.lock().unwrap();
                    log.overlapped += usize::from(overlapped);
                    for s in ends {
                        *log.statuses.entry(s).or_default() += 1;
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let elapsed = started.elapsed();

    let sent: Vec<Sent> = (0..args.bursts)
        .map(|key| Sent::new(node(key), &states))
        .collect();
    // The order the runs reached the spool, when every run said it.
    let arrived: Vec<Option<Sent>> = (0..args.bursts)
        .map(|key| {
            let mut seqs: Vec<(u64, usize)> = (0..states.len())
                .map(|n| kept_seq(&log_of(&logs, key, n)).map(|seq| (seq, n)))
                .collect::<Option<_>>()?;
            seqs.sort_unstable();
            Some(Sent {
                node: node(key),
                events: seqs
                    .into_iter()
                    .map(|(_, n)| (n, states[n].clone()))
                    .collect(),
            })
        })
        .collect();
    let known: Vec<Sent> = arrived.into_iter().flatten().collect();
    let inverted = known
        .iter()
        .filter(|k| k.events.iter().enumerate().any(|(i, (n, _))| i != *n))
        .count();
    let by_arrival = tally(&sim.requests(), &sim.tickets(), &known);

    let (lo, hi) = args.burst_latency_ms;
    let mean = (lo + hi) as f64 / 2.0;
    let span = |(a, b): (u64, u64)| {
        if a == b {
            a.to_string()
        } else {
            format!("{a}–{b}")
        }
    };
    println!(
        "{}: {} keys, each {} spawned {} ms apart{}, {} bursts ({} runs) at a time, simulator latency {} ms",
        phase(
            args,
            match style {
                Style::Plain => "bursts",
                Style::Nagios => "nagios-bursts",
            }
        ),
        args.bursts,
        states.join(" → "),
        span(args.burst_gap_ms),
        match style {
            Style::Plain => ", no event numbers (as Esia runs it)",
            Style::Nagios => ", with Nagios event numbers and a history",
        },
        in_flight,
        in_flight * states.len(),
        span(args.burst_latency_ms),
    );
    let log = log.lock().unwrap();
    println!(
        "  overlapping      {} of {} bursts (every run still running when the last started)",
        log.overlapped, args.bursts
    );
    if known.is_empty() {
        // Another build, without the debug line: the order is unknown.
        println!("  arrived inverted ? (no run logged where it kept its event)");
        println!("  vs arrival       ? (the arrival order is unknown)");
    } else {
        println!(
            "  arrived inverted {inverted} of {} bursts (runs reached the spool in another order than started)",
            known.len()
        );
        println!(
            "  vs arrival       {} (transitions lost, doubled or out of order against the order the runs reached the spool)",
            by_arrival.lost + by_arrival.duplicates + by_arrival.out_of_order
        );
    }
    report(
        &sim,
        &sent,
        args.bursts * states.len(),
        elapsed,
        &log.statuses,
        &format!("requests × mean latency {mean} ms ÷ {in_flight} keys in flight"),
        mean / 1000.0 / in_flight as f64,
    )
}

/// `METHOD /path` of each request.
fn lines(reqs: &[LoggedRequest]) -> Vec<String> {
    reqs.iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// `METHOD path` without the API prefix, ticket ids as `N`.
fn shape(r: &LoggedRequest) -> String {
    let path = r
        .path
        .trim_start_matches("/apirest.php/")
        .trim_start_matches("/api.php/v2/")
        .trim_start_matches("/api.php/");
    let path: Vec<&str> = path
        .split('/')
        .map(|p| {
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                "N"
            } else {
                p
            }
        })
        .collect();
    format!("{} {}", r.method, path.join("/"))
}

/// A step of `counts`: label, service, state, extra arguments.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const INIT: &str = "GET initSession";
const KILL: &str = "GET killSession";
const SEARCH: &str = "GET search/Ticket";
const READ: &str = "GET Ticket/N";
const FOLLOW: &str = "POST ITILFollowup";

fn counts(args: &Args) -> ExitCode {
    let sim = Sim::start_with(sim_options(args));
    let dir = tempfile::tempdir().unwrap();
    let state = backend(args, dir.path());
    let config = write_config(dir.path(), &sim, args.v2, &state.table);
    let bin = &args.bin;
    let mut ok = true;
    // Runs one step and returns the requests it made.
    let step = |node: &str, service: &str, state: &str, more: &[&str]| {
        let before = sim.requests().len();
        let success = notify(bin, &config, node, service, state, more);
        (success, sim.requests()[before..].to_vec())
    };
    // Every step on node srv-web-01 (an asset of the simulator): label,
    // service, state, extra arguments; the requests expected (ticket ids as
    // N) and the limit (at most that many requests).
    let ack: &'static [&'static str] = &["--ack-author", "jeanne", "--ack-comment", "on it"];
    let steps = if args.v2 {
        v2_steps(ack)
    } else {
        legacy_steps(ack)
    };
    println!(
        "requests per event over the {} (counted from the simulator's request log):",
        if args.v2 {
            "high-level API (api = v2), token cached after the first run"
        } else {
            "legacy REST API"
        }
    );
    for ((label, service, state, more), expected, max) in steps {
        let (success, reqs) = step("srv-web-01", service, state, more);
        let got: Vec<String> = reqs.iter().map(shape).collect();
        let as_expected = got == expected;
        let verdict = if success && as_expected && reqs.len() <= max {
            format!("≤ {max} PASS")
        } else {
            ok = false;
            format!("≤ {max} FAIL")
        };
        let seq: Vec<String> = lines(&reqs)
            .iter()
            .map(|l| {
                l.replace("/apirest.php/", "")
                    .replace("/api.php/v2/", "")
                    .replace("/api.php/", "")
            })
            .collect();
        println!(
            "  {label:<22} {:>2}  {verdict:<9} {}{}",
            reqs.len(),
            seq.join(", "),
            if success { "" } else { " (run failed)" }
        );
        if !as_expected {
            println!("  {:<22}     expected  {}", "", expected.join(", "));
        }
    }
    if !args.compare.is_empty() {
        // The creation bench/run.sh times: a node without asset, warm caches.
        step("bench-ref", SERVICE, "CRITICAL", &[]);
        step("bench-ref", SERVICE, "OK", &[]);
        let (_, warm_create) = step("bench-ref", SERVICE, "CRITICAL", &[]);
        println!("same requests as a warm notify creation (node without asset)?");
        for (n, cmd) in args.compare.iter().enumerate() {
            let node = format!("cmp-node-{n}");
            let before = sim.requests().len();
            let status = Command::new("sh")
                .arg("-c")
                .arg(format!("{cmd} \"$0\" \"$1\" >/dev/null"))
                .arg(sim.base_url())
                .arg(&node)
                .status()
                .unwrap();
            let theirs = sim.requests()[before..].to_vec();
            let diff = compare(
                &warm_create,
                &marker("bench-ref", SERVICE),
                &theirs,
                &marker(&node, SERVICE),
            );
            let verdict = if status.success() && diff.is_empty() {
                "yes".to_string()
            } else {
                ok = false;
                format!("NO ({status}): {}", diff.join("; "))
            };
            println!("  {cmd:<40} {verdict}");
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A step of `counts` with the requests it must make, and its limit.
type Expected = (Case, &'static [&'static str], usize);

/// The steps over the legacy REST API. The cold creation learns which GLPI
/// this is (`getGlpiConfig`, once per `cache_ttl`: GLPI 11 tickets carry
/// externalid) and the API user's id (`getFullSession`), and takes the
/// state's inventory of GLPI's open tickets (the listing: `search/Ticket`,
/// with the writer criterion); from then on the state knows that a key
/// without a record has no open ticket: no search.
fn legacy_steps(ack: &'static [&'static str]) -> [Expected; 8] {
    [
        (
            ("create, cold caches", "HTTP", "CRITICAL", &[]),
            &[
                INIT,
                "GET getGlpiConfig",
                "GET getFullSession",
                SEARCH,
                "GET search/User",
                "GET search/AllAssets",
                "POST Ticket",
                KILL,
            ],
            8,
        ),
        (
            ("create, warm caches", "DISK", "CRITICAL", &[]),
            &[INIT, "POST Ticket", KILL],
            3,
        ),
        (
            ("follow-up", "DISK", "WARNING", &[]),
            &[INIT, READ, FOLLOW, KILL],
            4,
        ),
        (
            ("follow-up + priority", "HTTP", "WARNING", &["-L", "4"]),
            &[INIT, READ, FOLLOW, "PUT Ticket/N", KILL],
            5,
        ),
        (("re-notification", "HTTP", "WARNING", &["-L", "4"]), &[], 0),
        (("ACK", "HTTP", "ACK", ack), &[INIT, READ, FOLLOW, KILL], 4),
        (
            ("solve", "HTTP", "OK", &[]),
            &[INIT, READ, "POST ITILSolution", KILL],
            4,
        ),
        (("OK, no record", "NTP", "OK", &[]), &[], 0),
    ]
}

/// The steps over the high-level API (GLPI 11, no legacy login: no asset
/// link, so no asset search). The first run asks for the token, reads the
/// API root (which GLPI this is) and the session (the API user's id), and
/// takes the inventory (the listing: `GET Assistance/Ticket`); every later
/// one reuses them.
fn v2_steps(ack: &'static [&'static str]) -> [Expected; 8] {
    const SEARCH_V2: &str = "GET Assistance/Ticket";
    const READ_V2: &str = "GET Assistance/Ticket/N";
    const FOLLOW_V2: &str = "POST Assistance/Ticket/N/Timeline/Followup";
    const CREATE_V2: &str = "POST Assistance/Ticket";
    const REQUESTER_V2: &str = "POST Assistance/Ticket/N/TeamMember";
    [
        (
            ("create, cold caches", "HTTP", "CRITICAL", &[]),
            &[
                "POST token",
                "GET ",
                "GET session",
                SEARCH_V2,
                "GET Administration/User",
                CREATE_V2,
                REQUESTER_V2,
            ],
            7,
        ),
        (
            ("create, warm caches", "DISK", "CRITICAL", &[]),
            &[CREATE_V2, REQUESTER_V2],
            2,
        ),
        (
            ("follow-up", "DISK", "WARNING", &[]),
            &[READ_V2, FOLLOW_V2],
            2,
        ),
        (
            ("follow-up + priority", "HTTP", "WARNING", &["-L", "4"]),
            &[READ_V2, FOLLOW_V2, "PATCH Assistance/Ticket/N"],
            3,
        ),
        (("re-notification", "HTTP", "WARNING", &["-L", "4"]), &[], 0),
        (("ACK", "HTTP", "ACK", ack), &[READ_V2, FOLLOW_V2], 2),
        (
            ("solve", "HTTP", "OK", &[]),
            &[READ_V2, "POST Assistance/Ticket/N/Timeline/Solution"],
            2,
        ),
        (("OK, no record", "NTP", "OK", &[]), &[], 0),
    ]
}

/// The query parameters of a request, decoded and sorted, the key's marker
/// written `<marker>`.
fn query_params(r: &LoggedRequest, marker: &str) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = r
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                glpi_sim::form_decode(k),
                glpi_sim::form_decode(v).replace(marker, "<marker>"),
            )
        })
        .collect();
    params.sort();
    params
}

/// The differences that matter between two request sequences: methods and
/// paths, query parameters (each side's marker aside), which token headers
/// are sent, the JSON keys of the bodies.
fn compare(
    ours: &[LoggedRequest],
    our_marker: &str,
    theirs: &[LoggedRequest],
    their_marker: &str,
) -> Vec<String> {
    let mut diff = Vec::new();
    if lines(ours) != lines(theirs) {
        diff.push(format!("requests {:?} vs {:?}", lines(ours), lines(theirs)));
        return diff;
    }
    let tokens = [
        "app-token",
        "authorization",
        "session-token",
        "content-type",
        "x-glpi-sanitized-content",
    ];
    for (a, b) in ours.iter().zip(theirs) {
        let sent = |r: &LoggedRequest| -> BTreeSet<&str> {
            tokens
                .iter()
                .copied()
                .filter(|h| r.header(h).is_some())
                .collect()
        };
        if sent(a) != sent(b) {
            diff.push(format!(
                "{} {}: headers {:?} vs {:?}",
                a.method,
                a.path,
                sent(a),
                sent(b)
            ));
        }
        if a.header("authorization") != b.header("authorization") {
            diff.push(format!("{}: Authorization differs", a.path));
        }
        let (qa, qb) = (query_params(a, our_marker), query_params(b, their_marker));
        if qa != qb {
            diff.push(format!("{} {}: query {qa:?} vs {qb:?}", a.method, a.path));
        }
        if body_shape(&a.body) != body_shape(&b.body) {
            diff.push(format!(
                "{} {}: body {} vs {}",
                a.method,
                a.path,
                body_shape(&a.body),
                body_shape(&b.body)
            ));
        }
    }
    diff
}

/// The JSON keys of a body, nested objects included, with the value types.
fn body_shape(body: &str) -> String {
    fn walk(v: &serde_json::Value, prefix: &str, out: &mut BTreeMap<String, &'static str>) {
        if let serde_json::Value::Object(m) = v {
            for (k, v) in m {
                let path = format!("{prefix}{k}");
                out.insert(
                    path.clone(),
                    match v {
                        serde_json::Value::Object(_) => "object",
                        serde_json::Value::String(_) => "string",
                        serde_json::Value::Number(_) => "number",
                        serde_json::Value::Array(_) => "array",
                        serde_json::Value::Bool(_) => "bool",
                        serde_json::Value::Null => "null",
                    },
                );
                walk(v, &format!("{path}."), out);
            }
        }
    }
    if body.trim().is_empty() {
        return "(none)".into();
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return "(not JSON)".into();
    };
    let mut keys = BTreeMap::new();
    walk(&v, "", &mut keys);
    keys.iter().fold(String::new(), |mut acc, (k, t)| {
        let _ = write!(acc, "{}{k}:{t}", if acc.is_empty() { "" } else { " " });
        acc
    })
}
