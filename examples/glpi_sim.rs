//! Run the GLPI 10 simulator of the integration tests as a standalone server.
//!
//! ```text
//! cargo run --example glpi_sim -- [--port N] [--port-file PATH] [--app-token T]
//!                                 [--user-token T] [--latency-ms N] [--until-stdin-eof]
//! cargo run --example glpi_sim -- trail URL
//! ```
//! `--app-token ''` starts a token-less API client. Without `--until-stdin-eof`
//! it runs until killed (SIGTERM/SIGINT).
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/integration/support/glpi_sim.rs"]
mod glpi_sim;

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: glpi_sim [--port N] [--port-file PATH] [--app-token T] [--user-token T] [--latency-ms N] [--until-stdin-eof]\n       glpi_sim trail URL";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("trail") {
        let Some(url) = args.get(1) else {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        };
        return match fetch_trail(url) {
            Ok(body) => {
                print!("{body}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("glpi_sim trail: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match serve(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("glpi_sim: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn serve(args: &[String]) -> Result<(), String> {
    let mut opts = glpi_sim::SimOptions::default();
    let mut port: u16 = 0;
    let mut port_file: Option<String> = None;
    let mut until_eof = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--port" => {
                port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?;
            }
            "--port-file" => port_file = Some(value("--port-file")?),
            "--app-token" => {
                let t = value("--app-token")?;
                opts.app_token = (!t.is_empty()).then_some(t);
            }
            "--user-token" => opts.user_token = value("--user-token")?,
            "--latency-ms" => {
                let ms: u64 = value("--latency-ms")?
                    .parse()
                    .map_err(|e| format!("--latency-ms: {e}"))?;
                opts.latency = Duration::from_millis(ms);
            }
            "--until-stdin-eof" => until_eof = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let sim = glpi_sim::Sim::start_on(opts, port);
    let url = sim.base_url();
    let bound = url.rsplit(':').next().unwrap_or_default().to_owned();
    if let Some(path) = port_file {
        std::fs::write(&path, format!("{bound}\n"))
            .map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    println!("glpi-sim listening on {url}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    if until_eof {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        drop(sim);
    } else {
        loop {
            std::thread::park();
        }
    }
    Ok(())
}

/// `GET <url>/_sim/trail` with a plain HTTP/1.0 request.
fn fetch_trail(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?;
    let (authority, prefix) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let prefix = prefix.trim_end_matches('/');
    let path = if prefix.is_empty() {
        "/_sim/trail".to_owned()
    } else {
        format!("/{prefix}/_sim/trail")
    };
    let mut stream =
        std::net::TcpStream::connect(authority).map_err(|e| format!("connect {authority}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").ok_or("malformed HTTP answer")?;
    let status = head.split_whitespace().nth(1).unwrap_or("?");
    if status != "200" {
        return Err(format!("HTTP {status} from {url}{path}: {body}"));
    }
    Ok(body.to_owned())
}
