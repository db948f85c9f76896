//! The benchmark harness of `bench/`: runs the real binary against the GLPI
//! simulator in this process, whose request log is the ground truth.
//!
//! `storm` (the durability issue): 1,000 events over 200 keys, 16 runs of the
//! binary at a time, the simulator answering every request after 20 ms.
//! Prints events/s, requests per event, duplicates, lost events and the ratio
//! to the ideal time (requests × latency ÷ parallelism). Duplicates and lost
//! events are counted from what the simulator holds at the end: every ticket
//! is attributed to its key by the marker in its content (not by its title,
//! which depends on `tpl_title`), and each key's tickets, follow-ups and
//! solutions are compared with what its event sequence must produce.
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
//!     [--events 1000] [--keys 200] [--parallel 16] [--latency-ms 20]
//! cargo run --release --example storm -- counts --bin target/release/esia-glpi \
//!     [--compare 'bench/create_curl.sh']...
//! ```
//! Run it through `bench/run.sh` (everything) or `bench/storm.sh`.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::too_many_lines
)]

#[path = "../tests/integration/support/glpi_sim.rs"]
mod glpi_sim;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use glpi_sim::{LoggedRequest, Sim, SimOptions};

/// Each key lives through CRITICAL → WARNING → OK → CRITICAL → OK: two
/// tickets, one follow-up, two solutions — five writes for five events.
const SEQUENCE: [&str; 5] = ["CRITICAL", "WARNING", "OK", "CRITICAL", "OK"];

struct Args {
    counts: bool,
    bin: PathBuf,
    events: usize,
    keys: usize,
    parallel: usize,
    latency_ms: u64,
    compare: Vec<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        counts: false,
        bin: PathBuf::from("target/release/esia-glpi"),
        events: 1000,
        keys: 200,
        parallel: 16,
        latency_ms: 20,
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
            "--compare" => a.compare.push(value),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.keys == 0 || !a.events.is_multiple_of(a.keys) || a.events / a.keys > SEQUENCE.len() {
        return Err(format!(
            "--events must be a multiple of --keys, at most {} per key",
            SEQUENCE.len()
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
    if args.counts {
        counts(&args)
    } else {
        storm(&args)
    }
}

/// A private configuration pointing at the simulator, as the Esia
/// documentation writes it (default `tpl_title`, no optional keys but the
/// state directory and generous lock and run budgets).
fn write_config(dir: &Path, sim: &Sim) -> PathBuf {
    let config = dir.join("glpi.conf");
    std::fs::write(
        &config,
        format!(
            "host=\"{}\"\napp_token=\"{}\"\nuser_token=\"{}\"\nuser_name=\"esia\"\nstate_dir=\"{}\"\nlock_timeout=60\nrun_timeout=60\n",
            sim.base_url(),
            SimOptions::default().app_token.unwrap_or_default(),
            SimOptions::default().user_token,
            dir.join("state").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    config
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
    Command::new(bin)
        .env_clear()
        .arg("--config")
        .arg(config)
        .args(["notify", "--node", node, "--service", service])
        .args(["--state", state, "--output", &format!("{state} output")])
        .args(more)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// The marker `text::marker` puts in every ticket's content.
fn marker(node: &str, service: &str) -> String {
    let hex = |s: &str| {
        s.bytes()
            .fold(String::new(), |acc, b| acc + &format!("{b:02x}"))
    };
    format!("[esia-glpi:{}:{}]", hex(node), hex(service))
}

/// What one key's event sequence must leave in GLPI: per ticket, in order,
/// (follow-ups, solutions).
fn expected_timeline(states: &[&str]) -> Vec<(usize, usize)> {
    let mut tickets: Vec<(usize, usize)> = Vec::new();
    let mut open = false;
    for s in states {
        match (*s, open) {
            ("OK", true) => {
                tickets.last_mut().unwrap().1 += 1;
                open = false;
            }
            ("OK", false) => {}
            (_, false) => {
                tickets.push((0, 0));
                open = true;
            }
            (_, true) => tickets.last_mut().unwrap().0 += 1,
        }
    }
    tickets
}

fn storm(args: &Args) -> ExitCode {
    let sim = Sim::start_with(SimOptions {
        latency: Duration::from_millis(args.latency_ms),
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim);

    let per_key = args.events / args.keys;
    let states = &SEQUENCE[..per_key];
    let queue: Arc<Mutex<VecDeque<usize>>> = Arc::new(Mutex::new((0..args.keys).collect()));
    let failures = Arc::new(Mutex::new(0usize));
    let started = Instant::now();
    let workers: Vec<_> = (0..args.parallel)
        .map(|_| {
            let queue = Arc::clone(&queue);
            let failures = Arc::clone(&failures);
            let bin = args.bin.clone();
            let config = config.clone();
            std::thread::spawn(move || {
                loop {
                    let Some(key) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    for state in states {
                        if !notify(&bin, &config, &format!("node{key:03}"), "svc", state, &[]) {
                            *failures.lock().unwrap() += 1;
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let elapsed = started.elapsed();

    let requests = sim.requests().len();
    let tickets = sim.tickets();
    let expected = expected_timeline(states);
    let (mut duplicates, mut lost, mut attributed) = (0usize, 0usize, 0usize);
    for key in 0..args.keys {
        let mark = marker(&format!("node{key:03}"), "svc");
        let mine: Vec<_> = tickets
            .iter()
            .filter(|t| t.content.contains(&mark))
            .collect();
        attributed += mine.len();
        // Extra tickets and their writes are duplicates; missing ones are lost.
        for i in 0..expected.len().max(mine.len()) {
            let want = expected.get(i).copied().unwrap_or((0, 0));
            let (want_ticket, (want_f, want_s)) = (usize::from(i < expected.len()), want);
            let (have_ticket, have_f, have_s) = mine.get(i).map_or((0usize, 0, 0), |t| {
                (1, t.followups.len(), t.solutions.len())
            });
            duplicates += have_ticket.saturating_sub(want_ticket)
                + have_f.saturating_sub(want_f)
                + have_s.saturating_sub(want_s);
            lost += want_ticket.saturating_sub(have_ticket)
                + want_f.saturating_sub(have_f)
                + want_s.saturating_sub(have_s);
        }
    }
    // A ticket no key claims would be a bug of its own.
    let stray = tickets.len() - attributed;
    let open_sessions = sim.open_sessions();
    let ideal = Duration::from_secs_f64(
        requests as f64 * args.latency_ms as f64 / 1000.0 / args.parallel as f64,
    );
    let ratio = elapsed.as_secs_f64() / ideal.as_secs_f64();
    println!(
        "storm: {} events over {} keys ({}), {} runs at a time, simulator latency {} ms",
        args.events,
        args.keys,
        states.join(" → "),
        args.parallel,
        args.latency_ms
    );
    println!("  elapsed          {:.2} s", elapsed.as_secs_f64());
    println!(
        "  events/s         {:.1}",
        args.events as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  requests         {requests} ({:.2} per event)",
        requests as f64 / args.events as f64
    );
    println!("  failed runs      {}", *failures.lock().unwrap());
    println!("  duplicates       {duplicates}");
    println!("  lost events      {lost}");
    println!("  stray tickets    {stray}");
    println!("  open sessions    {open_sessions}");
    println!(
        "  ideal time       {:.2} s (requests × latency ÷ {})",
        ideal.as_secs_f64(),
        args.parallel
    );
    println!("  ratio to ideal   {ratio:.2}");
    if duplicates == 0 && lost == 0 && stray == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `METHOD /path` of each request.
fn lines(reqs: &[LoggedRequest]) -> Vec<String> {
    reqs.iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// A step of `counts`: label, service, state, extra arguments.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

fn counts(args: &Args) -> ExitCode {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim);
    let bin = &args.bin;
    let mut ok = true;
    // Runs one step and returns the requests it made.
    let step = |node: &str, service: &str, state: &str, more: &[&str]| {
        let before = sim.requests().len();
        let success = notify(bin, &config, node, service, state, more);
        (success, sim.requests()[before..].to_vec())
    };
    // Every step on node srv-web-01 (an asset of the simulator): label,
    // service, state, extra arguments, target (at most that many requests).
    let ack: &[&str] = &["--ack-author", "jeanne", "--ack-comment", "on it"];
    let steps: [(Case, Option<usize>); 8] = [
        (("create, cold caches", "HTTP", "CRITICAL", &[]), None),
        (("create, warm caches", "DISK", "CRITICAL", &[]), Some(3)),
        (("follow-up", "DISK", "WARNING", &[]), Some(4)),
        (
            ("follow-up + priority", "HTTP", "WARNING", &["-L", "4"]),
            Some(5),
        ),
        (
            ("re-notification", "HTTP", "WARNING", &["-L", "4"]),
            Some(0),
        ),
        (("ACK", "HTTP", "ACK", ack), Some(4)),
        (("solve", "HTTP", "OK", &[]), Some(4)),
        (("OK, no record", "NTP", "OK", &[]), Some(3)),
    ];
    println!("requests per event (counted from the simulator's request log):");
    for ((label, service, state, more), target) in steps {
        let (success, reqs) = step("srv-web-01", service, state, more);
        let verdict = match target {
            Some(max) if reqs.len() <= max && success => format!("≤ {max} PASS"),
            Some(max) => {
                ok = false;
                format!("≤ {max} FAIL")
            }
            None => String::new(),
        };
        let seq: Vec<String> = lines(&reqs)
            .iter()
            .map(|l| l.replace("/apirest.php/", ""))
            .collect();
        println!(
            "  {label:<22} {:>2}  {verdict:<9} {}{}",
            reqs.len(),
            seq.join(", "),
            if success { "" } else { " (run failed)" }
        );
    }
    if !args.compare.is_empty() {
        // The creation bench/run.sh times: a node without asset, warm caches.
        step("bench-ref", "svc", "CRITICAL", &[]);
        step("bench-ref", "svc", "OK", &[]);
        let (_, warm_create) = step("bench-ref", "svc", "CRITICAL", &[]);
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
            let diff = compare(&warm_create, &theirs);
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

/// The differences that matter between two request sequences: methods and
/// paths, which token headers are sent, the JSON keys of the bodies.
fn compare(ours: &[LoggedRequest], theirs: &[LoggedRequest]) -> Vec<String> {
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
