//! The storm benchmark (issue "nothing lost, nothing doubled"): 1,000 events
//! over 200 keys, 16 runs of the real binary at a time, against the GLPI
//! simulator answering every request after 20 ms. Prints events/s, requests
//! per event, duplicates, lost events and the ratio to the ideal time
//! (requests × latency ÷ parallelism).
//!
//! ```text
//! cargo run --release --example storm -- --bin target/release/esia-glpi \
//!     [--events 1000] [--keys 200] [--parallel 16] [--latency-ms 20]
//! ```
//! Run it through `bench/storm.sh`, which builds what it needs.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::too_many_lines
)]

#[path = "../tests/integration/support/glpi_sim.rs"]
mod glpi_sim;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use glpi_sim::{Sim, SimOptions};

/// Each key lives through CRITICAL → WARNING → OK → CRITICAL → OK: two
/// tickets, one follow-up, two solutions — five writes for five events.
const SEQUENCE: [&str; 5] = ["CRITICAL", "WARNING", "OK", "CRITICAL", "OK"];

struct Args {
    bin: PathBuf,
    events: usize,
    keys: usize,
    parallel: usize,
    latency_ms: u64,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        bin: PathBuf::from("target/release/esia-glpi"),
        events: 1000,
        keys: 200,
        parallel: 16,
        latency_ms: 20,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = || value.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--bin" => a.bin = PathBuf::from(&value),
            "--events" => a.events = num()?,
            "--keys" => a.keys = num()?,
            "--parallel" => a.parallel = num()?,
            "--latency-ms" => a.latency_ms = num()? as u64,
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
    let sim = Sim::start_with(SimOptions {
        latency: Duration::from_millis(args.latency_ms),
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("glpi.conf");
    std::fs::write(
        &config,
        format!(
            "host=\"{}\"\napp_token=\"{}\"\nuser_token=\"{}\"\nuser_name=\"esia\"\nstate_dir=\"{}\"\nlock_timeout=60\nrun_timeout=60\n",
            sim.base_url(),
            SimOptions::default().app_token.unwrap_or_default(),
            SimOptions::default().user_token,
            dir.path().join("state").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();

    let per_key = args.events / args.keys;
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
                    for state in &SEQUENCE[..per_key] {
                        let status = Command::new(&bin)
                            .env_clear()
                            .args(["--config"])
                            .arg(&config)
                            .args([
                                "notify",
                                "--node",
                                &format!("node{key:03}"),
                                "--service",
                                "svc",
                            ])
                            .args(["--state", state, "--output", &format!("{state} output")])
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .status()
                            .unwrap();
                        if !status.success() {
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
    let mut duplicates = 0;
    let mut writes = 0;
    for key in 0..args.keys {
        let title = format!("(  ) node{key:03}:svc");
        let mine: Vec<_> = tickets.iter().filter(|t| t.name == title).collect();
        let expected_tickets = SEQUENCE[..per_key]
            .iter()
            .filter(|s| **s == "CRITICAL")
            .count();
        duplicates += mine.len().saturating_sub(expected_tickets);
        writes += mine.len()
            + mine
                .iter()
                .map(|t| t.followups.len() + t.solutions.len())
                .sum::<usize>();
    }
    let expected_writes = args.events;
    let lost = expected_writes.saturating_sub(writes);
    let ideal = Duration::from_secs_f64(
        requests as f64 * args.latency_ms as f64 / 1000.0 / args.parallel as f64,
    );
    println!(
        "storm: {} events over {} keys, {} runs at a time, simulator latency {} ms",
        args.events, args.keys, args.parallel, args.latency_ms
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
    println!(
        "  ideal time       {:.2} s (requests × latency ÷ {})",
        ideal.as_secs_f64(),
        args.parallel
    );
    println!(
        "  ratio to ideal   {:.2}",
        elapsed.as_secs_f64() / ideal.as_secs_f64()
    );
    if duplicates == 0 && lost == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
