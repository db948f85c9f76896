//! Run the GLPI simulator of the integration tests as a standalone server:
//! GLPI 10 by default, GLPI 11 (legacy API and high-level API v2 with OAuth 2)
//! with `--glpi11`.
//!
//! ```text
//! cargo run --example glpi_sim -- [--port N] [--port-file PATH] [--app-token T]
//!                                 [--user-token T] [--latency-ms N] [--until-stdin-eof]
//!                                 [--glpi11 [--no-legacy-api] [--no-hlapi] [--token-lifetime-s N]]
//! cargo run --example glpi_sim -- trail URL
//! ```
//! `--app-token ''` starts a token-less API client. Without `--until-stdin-eof`
//! it runs until killed (SIGTERM/SIGINT). The first line printed is always
//! `glpi-sim listening on URL`; in GLPI 11 mode the following lines give the
//! API roots, the seeded OAuth client's id and secret and the passwords of
//! the seeded users.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/integration/support/glpi_sim.rs"]
mod glpi_sim;

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: glpi_sim [--port N] [--port-file PATH] [--app-token T] [--user-token T] [--latency-ms N] [--until-stdin-eof]\n                [--glpi11 [--no-legacy-api] [--no-hlapi] [--token-lifetime-s N]]\n       glpi_sim trail URL";

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
            "--glpi11" => opts.version = glpi_sim::Version::Glpi11,
            "--no-legacy-api" => opts.legacy_api_enabled = false,
            "--no-hlapi" => opts.hlapi_enabled = false,
            "--token-lifetime-s" => {
                let s: u64 = value("--token-lifetime-s")?
                    .parse()
                    .map_err(|e| format!("--token-lifetime-s: {e}"))?;
                opts.token_lifetime = Duration::from_secs(s);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let glpi11 = opts.version == glpi_sim::Version::Glpi11;
    if !glpi11 && (!opts.legacy_api_enabled || !opts.hlapi_enabled) {
        return Err("--no-legacy-api and --no-hlapi need --glpi11".to_owned());
    }
    let (app_token, user_token) = (opts.app_token.clone(), opts.user_token.clone());
    let sim = glpi_sim::Sim::start_on(opts, port);
    let url = sim.base_url();
    let bound = url.rsplit(':').next().unwrap_or_default().to_owned();
    if let Some(path) = port_file {
        std::fs::write(&path, format!("{bound}\n"))
            .map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    println!("glpi-sim listening on {url}");
    if glpi11 {
        println!("  GLPI 11.0.6");
        println!("  legacy API:      {url}/apirest.php/ and {url}/api.php/v1/");
        println!(
            "                   App-Token {}",
            app_token.as_deref().unwrap_or("(none)")
        );
        println!("                   user_token of esia {user_token}");
        println!("  high-level API:  {url}/api.php/v2/");
        println!("  token endpoint:  {url}/api.php/token");
        println!(
            "  OAuth client:    client_id     {}",
            glpi_sim::SIM_OAUTH_CLIENT_ID
        );
        println!(
            "                   client_secret {}",
            glpi_sim::SIM_OAUTH_CLIENT_SECRET
        );
        println!(
            "                   grants password client_credentials authorization_code (+ refresh_token), scopes api user email status graphql"
        );
        println!("  users:           esia / {}", glpi_sim::SIM_USER_PASSWORD);
        println!(
            "                   glpi / {} (Super-Admin)",
            glpi_sim::ADMIN_PASSWORD
        );
    }
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
