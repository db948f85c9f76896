//! The high-level API's OAuth2 tokens (`api = "v2"`, GLPI 11): kept between
//! runs in `cache/oauth-token.json` (0600, bound to GLPI + client + user),
//! renewed with the `refresh_token` grant, then the password grant; one run
//! renews while the others wait; a token GLPI refuses mid-run is renewed
//! once. Also GLPI 11's `externalid`, over both transports.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::support::glpi_sim::{
    Fault, FaultKind, LoggedRequest, SIM_OAUTH_CLIENT_ID, SIM_OAUTH_CLIENT_SECRET,
    SIM_USER_PASSWORD, Sim, SimOptions, form_decode,
};
use crate::support::{Env, Run, Transport};

const TOKEN_PATH: &str = "/api.php/token";

/// A pure v2 set-up (no `app_token`/`user_token`): nothing can go through
/// the legacy API.
fn v2_env() -> Env {
    let env = Env::over(Transport::V2, "");
    env.without_legacy_login();
    env
}

fn cache_path(env: &Env) -> PathBuf {
    env.state.join("cache").join("oauth-token.json")
}

fn cached(env: &Env) -> Value {
    serde_json::from_str(&std::fs::read_to_string(cache_path(env)).unwrap()).unwrap()
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// The form parameters of a token request.
fn form(r: &LoggedRequest) -> BTreeMap<String, String> {
    r.body
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

/// `grant_type` of every token request, in order.
fn grants(env: &Env) -> Vec<String> {
    env.sim
        .token_requests()
        .iter()
        .map(|r| form(r).get("grant_type").cloned().unwrap_or_default())
        .collect()
}

/// The requests to the high-level API itself (not the token endpoint).
fn api_calls(env: &Env) -> Vec<LoggedRequest> {
    env.sim
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api.php/v2"))
        .collect()
}

fn bearer(r: &LoggedRequest) -> String {
    r.header("authorization")
        .unwrap_or_default()
        .strip_prefix("Bearer ")
        .unwrap_or_default()
        .to_owned()
}

#[track_caller]
fn assert_no_secret_in(run: &Run, secrets: &[&str]) {
    for s in secrets {
        assert!(!s.is_empty());
        assert!(
            !run.stdout.contains(s) && !run.stderr.contains(s),
            "a secret ({}…) is in the output\n--- stdout\n{}\n--- stderr\n{}",
            &s[..8],
            run.stdout,
            run.stderr
        );
    }
}

/// `"esia-glpi:" + hex(SHA-256(marker))`, the marker being
/// `[esia-glpi:<hex node>:<hex service>]`.
fn external_id(node: &str, service: &str) -> String {
    let hex = |bytes: &[u8]| {
        bytes.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    let marker = format!(
        "[esia-glpi:{}:{}]",
        hex(node.as_bytes()),
        hex(service.as_bytes())
    );
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, marker.as_bytes());
    format!("esia-glpi:{}", hex(digest.as_ref()))
}

// ---------------------------------------------------------------------------
// (a) kept and reused
// ---------------------------------------------------------------------------

#[test]
fn the_token_is_kept_0600_and_reused_by_the_next_runs() {
    let env = v2_env();
    let mut runs = Vec::new();
    for (i, state) in ["CRITICAL", "WARNING", "CRITICAL", "OK", "WARNING"]
        .iter()
        .enumerate()
    {
        // -vvv: every log line of every crate, for the leak check below.
        let run = env.notify(
            "web01",
            "HTTP",
            state,
            &["-vvv", "--output", &format!("run {i}")],
        );
        run.ok();
        runs.push(run);
    }
    assert_eq!(env.sim.tickets().len(), 2, "{}", env.sim.trail());
    assert_eq!(grants(&env), ["password"], "one grant for the five runs");

    let path = cache_path(&env);
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(SIM_OAUTH_CLIENT_SECRET), "{text}");
    assert!(!text.contains(SIM_USER_PASSWORD), "{text}");
    let kept = cached(&env);
    assert_eq!(kept["schema"], 1);
    let access = kept["access_token"].as_str().unwrap().to_owned();
    let refresh = kept["refresh_token"].as_str().unwrap().to_owned();
    // Every call of the five runs carried the kept token.
    let calls = api_calls(&env);
    assert!(calls.len() > 5, "{calls:?}");
    for c in &calls {
        assert_eq!(bearer(c), access, "{} {}", c.method, c.path);
    }
    // Neither secret anywhere in the state directory (the token is, there).
    let state = String::from_utf8_lossy(&env.state_bytes()).into_owned();
    assert!(!state.contains(SIM_OAUTH_CLIENT_SECRET));
    assert!(!state.contains(SIM_USER_PASSWORD));
    for run in &runs {
        assert!(!run.stderr.is_empty(), "-vvv logs something");
        assert_no_secret_in(
            run,
            &[
                SIM_OAUTH_CLIENT_SECRET,
                SIM_USER_PASSWORD,
                &access,
                &refresh,
            ],
        );
    }
}

/// Renewal is due at `expires_in − min(60 s, 10 %)`.
#[test]
fn renewal_is_due_a_minute_or_a_tenth_before_expiry() {
    let env = v2_env();
    for (lifetime, margin) in [(100, 10), (3600, 60)] {
        env.sim.set_token_lifetime(Duration::from_secs(lifetime));
        let _ = std::fs::remove_file(cache_path(&env));
        let before = now();
        // A new key each time: a run with nothing to write asks for nothing.
        env.notify(&format!("web-{lifetime}"), "HTTP", "CRITICAL", &[])
            .ok();
        let after = now();
        let due = cached(&env)["renew_after"].as_i64().unwrap();
        let expected = i64::try_from(lifetime - margin).unwrap();
        assert!(
            (before + expected..=after + expected).contains(&due),
            "lifetime {lifetime}: renew_after {due}, expected {expected} s after {before}..{after}"
        );
    }
    assert_eq!(grants(&env), ["password", "password"]);
}

// ---------------------------------------------------------------------------
// (b), (c) renewal
// ---------------------------------------------------------------------------

/// An access token past its time is renewed before use, with the
/// `refresh_token` grant: GLPI never sees the expired token.
#[test]
fn an_expired_access_token_is_renewed_with_the_refresh_token() {
    let env = v2_env();
    // No margin below 10 s (a tenth of 2 s is 0): renew_after = grant + 2 s.
    env.sim.set_token_lifetime(Duration::from_secs(2));
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    let first = cached(&env);
    let old_access = first["access_token"].as_str().unwrap().to_owned();
    let old_refresh = first["refresh_token"].as_str().unwrap().to_owned();
    env.sim.set_token_lifetime(Duration::from_hours(1));
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(env.sim.live_access_tokens(), 0, "the first token expired");
    env.sim.clear_requests();

    let j = env.notify("web01", "HTTP", "WARNING", &[]).ok().json();
    assert_eq!(j["action"], "followed_up");
    let tokens = env.sim.token_requests();
    assert_eq!(grants(&env), ["refresh_token"], "{tokens:?}");
    let f = form(&tokens[0]);
    assert_eq!(f.get("refresh_token"), Some(&old_refresh));
    assert!(!f.contains_key("password") && !f.contains_key("username"));
    assert_eq!(tokens[0].status, 200);
    // Renewed before use: no call carried the old token, none was refused.
    let calls = api_calls(&env);
    assert!(!calls.is_empty());
    for c in &calls {
        assert_ne!(bearer(c), old_access, "{} {}", c.method, c.path);
        assert!(c.status < 400, "{} {} → {}", c.method, c.path, c.status);
    }
    assert_eq!(
        bearer(&calls[0]),
        cached(&env)["access_token"].as_str().unwrap(),
        "the renewed token is kept"
    );
}

/// A refresh token GLPI refuses (expired): the password grant, the event
/// delivered, the new tokens kept for the next run.
#[test]
fn a_refused_refresh_token_falls_back_to_the_password_grant() {
    let env = v2_env();
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    env.sim.expire_refresh_tokens();
    env.sim.expire_access_tokens();
    let run = env.notify("web01", "HTTP", "WARNING", &[]);
    assert_eq!(run.ok().json()["action"], "followed_up");
    assert_eq!(grants(&env), ["password", "refresh_token", "password"]);
    let statuses: Vec<u16> = env.sim.token_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 400, 200]);
    assert_eq!(env.sim.tickets()[0].followups.len(), 1);
    // The new tokens are kept: the next run asks for nothing.
    env.notify("web01", "HTTP", "OK", &[]).ok();
    assert_eq!(env.sim.token_requests().len(), 3);
    assert_eq!(env.sim.tickets()[0].status, 5);
}

// ---------------------------------------------------------------------------
// (d) concurrent runs on a cold cache
// ---------------------------------------------------------------------------

#[test]
fn concurrent_runs_on_a_cold_cache_ask_for_one_token() {
    let env = v2_env();
    // A slow token endpoint: every run starts while the first grant is on
    // its way, so all of them meet the renewal lock.
    env.sim
        .inject(Fault::new(TOKEN_PATH, FaultKind::Delay(Duration::from_millis(1500))).times(1));
    let children: Vec<_> = (0..10)
        .map(|i| {
            let mut c = env.cmd();
            c.args([
                "notify",
                "--node",
                &format!("node{i:02}"),
                "--service",
                "SVC",
                "--state",
                "CRITICAL",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    crate::support::wait_all_ok(children);
    assert_eq!(env.sim.tickets().len(), 10);
    let tokens = env.sim.token_requests();
    assert_eq!(tokens.len(), 1, "{:?}", grants(&env));
    let access = cached(&env)["access_token"].as_str().unwrap().to_owned();
    for c in api_calls(&env) {
        assert_eq!(bearer(&c), access, "{} {}", c.method, c.path);
    }
}

// ---------------------------------------------------------------------------
// (e) a kept token that cannot be trusted
// ---------------------------------------------------------------------------

/// A first run keeps a token; `tamper` spoils the file; the next run
/// discards it, asks for a fresh one with the password grant, never sends
/// the old tokens, and delivers; its log (`-v`) `says` why.
fn untrusted_cache_is_discarded(says: &str, tamper: impl FnOnce(&Env, &Path, &Value)) {
    let env = v2_env();
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    let path = cache_path(&env);
    let kept = cached(&env);
    let old_access = kept["access_token"].as_str().unwrap().to_owned();
    let old_refresh = kept["refresh_token"].as_str().unwrap().to_owned();
    tamper(&env, &path, &kept);
    env.sim.clear_requests();
    assert!(
        env.sim.live_access_tokens() >= 1,
        "the old token still works"
    );

    let run = env.notify("web01", "HTTP", "WARNING", &["-v"]);
    assert_eq!(run.ok().json()["action"], "followed_up", "{}", run.stderr);
    assert!(run.stderr.contains(says), "{}", run.stderr);
    assert_eq!(grants(&env), ["password"]);
    for r in env.sim.requests() {
        let auth = r.header("authorization").unwrap_or_default();
        assert!(
            !auth.contains(&old_access) && !r.body.contains(&old_access),
            "the untrusted access token was sent: {} {}",
            r.method,
            r.path
        );
        assert!(
            !r.body.contains(&old_refresh),
            "the untrusted refresh token was sent"
        );
    }
    // A fresh token is kept, in a private regular file.
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let fresh = cached(&env)["access_token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, old_access);
    assert!(api_calls(&env).iter().all(|c| bearer(c) == fresh));
}

fn rewrite(path: &Path, value: &Value) {
    crate::support::write_private(path, &value.to_string());
}

#[test]
fn a_garbage_cache_is_discarded() {
    untrusted_cache_is_discarded("could not be read: discarded", |_, path, _| {
        crate::support::write_private(path, "\u{0}{{not json at all");
    });
}

#[test]
fn a_cache_of_another_schema_is_discarded() {
    untrusted_cache_is_discarded("could not be read: discarded", |_, path, kept| {
        let mut v = kept.clone();
        v["schema"] = 2.into();
        rewrite(path, &v);
    });
}

#[test]
fn a_symlinked_cache_is_not_followed() {
    untrusted_cache_is_discarded("symbolic link", |env, path, kept| {
        let elsewhere = env.dir.path().join("planted-token.json");
        rewrite(&elsewhere, kept);
        std::fs::remove_file(path).unwrap();
        std::os::unix::fs::symlink(&elsewhere, path).unwrap();
    });
}

/// The token of another GLPI, client or user: `bound_to` names the token
/// endpoint, the client and the user.
fn foreign(from: &str, to: &str) {
    let (from, to) = (from.to_owned(), to.to_owned());
    untrusted_cache_is_discarded(
        "granted for another GLPI, client or user",
        move |env, path, kept| {
            let bound = kept["bound_to"].as_str().unwrap();
            let from = from.replace("{sim}", &env.sim.base_url());
            assert!(bound.contains(&from), "{bound}");
            let mut v = kept.clone();
            v["bound_to"] = bound.replacen(&from, &to, 1).into();
            rewrite(path, &v);
        },
    );
}

#[test]
fn a_token_of_another_glpi_is_discarded() {
    foreign("{sim}", "https://other-glpi.example.org");
}

#[test]
fn a_token_of_another_client_is_discarded() {
    foreign(SIM_OAUTH_CLIENT_ID, "another-client-0123456789");
}

#[test]
fn a_token_of_another_user_is_discarded() {
    foreign(" esia", " glpi");
}

// ---------------------------------------------------------------------------
// (f) a server that takes the client only with HTTP Basic
// ---------------------------------------------------------------------------

/// A reverse proxy in front of the simulator that answers every token
/// request authenticating the client in the body `401 invalid_client`, as
/// an OAuth2 server that only takes HTTP Basic does; everything else is
/// passed through (one request per connection).
struct BasicOnly {
    url: String,
    refused: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl BasicOnly {
    fn start(upstream: &str) -> BasicOnly {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let refused = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (Arc::clone(&refused), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (upstream, r) = (upstream.clone(), Arc::clone(&r));
                std::thread::spawn(move || {
                    let _ = Self::serve(conn, &upstream, &r);
                });
            }
        });
        BasicOnly { url, refused, stop }
    }

    fn serve(conn: TcpStream, upstream: &str, refused: &AtomicUsize) -> std::io::Result<()> {
        let mut rd = BufReader::new(conn.try_clone()?);
        let mut head = Vec::new();
        let mut length = 0;
        let mut path = String::new();
        loop {
            let mut line = String::new();
            if rd.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if path.is_empty() {
                line.split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .clone_into(&mut path);
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("connection:") {
                continue;
            }
            if line == "\r\n" {
                head.extend_from_slice(b"Connection: close\r\n\r\n");
                break;
            }
            head.extend_from_slice(line.as_bytes());
        }
        let mut body = vec![0; length];
        rd.read_exact(&mut body)?;
        let mut out = conn;
        if path.starts_with(TOKEN_PATH) && String::from_utf8_lossy(&body).contains("client_secret=")
        {
            refused.fetch_add(1, Ordering::SeqCst);
            let json = r#"{"error":"invalid_client","error_description":"Client authentication failed","message":"Client authentication failed"}"#;
            write!(
                out,
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\
                 WWW-Authenticate: Basic realm=\"OAuth\"\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{json}",
                json.len()
            )?;
            return out.flush();
        }
        let mut up = TcpStream::connect(upstream)?;
        up.write_all(&head)?;
        up.write_all(&body)?;
        let mut answer = Vec::new();
        up.read_to_end(&mut answer)?;
        out.write_all(&answer)?;
        out.flush()
    }
}

impl Drop for BasicOnly {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

/// `Basic base64(id:secret)` (standard alphabet, padded).
fn basic_header(id: &str, secret: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let raw = format!("{id}:{secret}");
    let mut out = String::from("Basic ");
    for chunk in raw.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                A[((v >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

#[test]
fn a_server_that_takes_only_http_basic_gets_it_and_it_is_remembered() {
    let env = v2_env();
    let proxy = BasicOnly::start(&env.sim.base_url());
    let conf = std::fs::read_to_string(&env.config).unwrap();
    crate::support::write_private(&env.config, &conf.replace(&env.sim.base_url(), &proxy.url));

    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    assert_eq!(run.ok().json()["action"], "created", "{}", run.stderr);
    assert_eq!(proxy.refused.load(Ordering::SeqCst), 1, "body first");
    let tokens = env.sim.token_requests();
    assert_eq!(tokens.len(), 1, "then HTTP Basic");
    let expected = basic_header(SIM_OAUTH_CLIENT_ID, SIM_OAUTH_CLIENT_SECRET);
    assert_eq!(tokens[0].header("authorization"), Some(expected.as_str()));
    let f = form(&tokens[0]);
    assert_eq!(f.get("grant_type").map(String::as_str), Some("password"));
    assert!(!f.contains_key("client_secret") && !f.contains_key("client_id"));
    assert_eq!(cached(&env)["basic_auth"], true);

    // The next renewal goes straight to HTTP Basic.
    env.sim.expire_access_tokens();
    let run = env.notify("web01", "HTTP", "WARNING", &[]);
    assert_eq!(run.ok().json()["action"], "followed_up", "{}", run.stderr);
    assert_eq!(
        proxy.refused.load(Ordering::SeqCst),
        1,
        "no second try in the body"
    );
    assert_eq!(grants(&env), ["password", "refresh_token"]);
    let tokens = env.sim.token_requests();
    assert_eq!(tokens[1].header("authorization"), Some(expected.as_str()));
    assert_eq!(tokens[1].status, 200);
}

// ---------------------------------------------------------------------------
// (g) a token refused mid-run
// ---------------------------------------------------------------------------

#[test]
fn a_token_refused_mid_run_is_renewed_once_and_the_call_retried() {
    let env = v2_env();
    let id = env.notify("web01", "HTTP", "CRITICAL", &[]).ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    let old = cached(&env)["access_token"].as_str().unwrap().to_owned();
    // The ticket read before the follow-up is answered, then every access
    // token expires: the follow-up meets a refused token.
    env.sim.inject(
        Fault::new(
            &format!("/api.php/v2/Assistance/Ticket/{id}"),
            FaultKind::ExpireTokensAfter,
        )
        .method("GET")
        .times(1),
    );
    env.sim.clear_requests();
    let run = env.notify("web01", "HTTP", "WARNING", &[]);
    assert_eq!(run.ok().json()["action"], "followed_up", "{}", run.stderr);
    assert_eq!(grants(&env), ["refresh_token"]);
    let followups: Vec<LoggedRequest> = api_calls(&env)
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Followup"))
        .collect();
    assert_eq!(followups.len(), 2, "refused, then retried: {followups:?}");
    assert_eq!(followups[0].status, 400);
    assert_eq!(bearer(&followups[0]), old);
    assert!(followups[1].status < 300);
    assert_ne!(bearer(&followups[1]), old);
    assert_eq!(env.sim.tickets()[0].followups.len(), 1, "not doubled");
    let refused = api_calls(&env).iter().filter(|r| r.status >= 400).count();
    assert_eq!(refused, 1);
}

/// A GLPI that refuses the renewed token too: no loop, the event is kept
/// and delivered once GLPI takes tokens again.
#[test]
fn a_token_refused_again_after_renewal_keeps_the_event() {
    let env = v2_env();
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    env.sim.expire_access_tokens();
    // Every token granted is dead on arrival.
    env.sim
        .inject(Fault::new(TOKEN_PATH, FaultKind::ExpireTokensAfter));
    env.sim.clear_requests();
    let run = env.notify("web01", "HTTP", "WARNING", &[]);
    // GLPI refused the request (exit 4), with a hint on the OAuth client.
    run.code(4);
    assert!(run.stderr.contains("Invalid OAuth token"), "{}", run.stderr);
    assert_eq!(run.json()["action"], "spooled");
    assert_eq!(env.sim.token_requests().len(), 1, "renewed once");
    assert_eq!(api_calls(&env).len(), 2, "the call, then one retry");
    assert!(env.sim.tickets()[0].followups.is_empty());

    env.sim.clear_faults();
    let j = env.esia(&["--json", "flush"]).ok().json();
    assert_eq!(j["delivered"], 1);
    assert_eq!(env.sim.tickets()[0].followups.len(), 1);
}

// ---------------------------------------------------------------------------
// (h), (i) externalid
// ---------------------------------------------------------------------------

/// GLPI 11 over the legacy API: tickets get the key's `externalid`, and a
/// lost state finds them again by it — a lost state directory through the
/// inventory (the API user's open tickets whose `externalid` is an
/// esia-glpi identity), a lost record through one search of its own
/// identity; both carry the writer (field 22).
#[test]
fn glpi_11_over_the_legacy_api_sets_and_searches_externalid() {
    let env = Env::with_sim_over(Transport::Legacy, Sim::start_with(SimOptions::glpi11()), "");
    let id = env.notify("web01", "HTTP", "CRITICAL", &[]).ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    assert_eq!(
        env.sim.ticket(id).unwrap().external_id,
        Some(external_id("web01", "HTTP"))
    );
    assert!(
        env.sim
            .requests()
            .iter()
            .all(|r| r.path.starts_with("/apirest.php/")),
        "legacy transport only"
    );
    let searched = |env: &Env| -> Vec<String> {
        env.sim
            .requests()
            .iter()
            .filter(|r| r.path == "/apirest.php/search/Ticket")
            .map(|r| form_decode(&r.query))
            .collect()
    };

    // The state directory lost: the inventory lists the ticket.
    std::fs::remove_dir_all(&env.state).unwrap();
    env.sim.clear_requests();
    let j = env.notify("web01", "HTTP", "WARNING", &[]).ok().json();
    assert_eq!(j["action"], "followed_up");
    assert_eq!(j["ticket_id"].as_u64(), Some(id));
    let listing = searched(&env);
    assert!(
        listing.len() == 1
            && listing[0].contains("[field]=87")
            && listing[0].contains("esia-glpi:")
            && listing[0].contains("[field]=22"),
        "{listing:#?}"
    );

    // A ticket opened since the inventory, its record lost (its trace
    // left): one search of its own identity.
    let second = env.notify("web02", "HTTP", "CRITICAL", &[]).ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    std::fs::remove_file(env.state.join("records/web02~HTTP.json")).unwrap();
    env.sim.clear_requests();
    let j = env.notify("web02", "HTTP", "OK", &[]).ok().json();
    assert_eq!(j["action"], "solved");
    assert_eq!(j["ticket_id"].as_u64(), Some(second));
    assert_eq!(env.sim.ticket(second).unwrap().status, 5);
    assert_eq!(env.sim.tickets().len(), 2);
    let one = searched(&env);
    assert!(
        one.len() == 1
            && one[0].contains("[field]=87")
            && one[0].contains(&external_id("web02", "HTTP"))
            && one[0].contains("[field]=22"),
        "{one:#?}"
    );
}

/// A GLPI 11 site over transport `t` (pure v2: no legacy login).
fn pre_upgrade_site(t: Transport) -> Env {
    let env = Env::with_sim_over(t, Sim::start_with(SimOptions::glpi11()), "");
    if t == Transport::V2 {
        env.without_legacy_login();
    }
    env
}

/// A ticket for `node`, opened by a run, then stripped of its `externalid`
/// as if opened before the upgrade to GLPI 11; its id.
fn open_before_upgrade(env: &Env, node: &str) -> u64 {
    let id = env.notify(node, "HTTP", "CRITICAL", &[]).ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    env.sim.set_ticket_external_id(id, None);
    id
}

/// A ticket an older esia-glpi opened (no `externalid`: GLPI 10 then,
/// before the upgrade), never written into since and never rebuilt, with its
/// record lost: on GLPI 11 the key's open ticket is looked for by
/// `externalid` only (a technician clearing it detaches the ticket,
/// lifecycle `v2_lost_record_finds_nothing_once_externalid_is_cleared`),
/// so a problem event opens a second ticket — the limitation README
/// "Limitations" states, with its remedy: `state rebuild` after the upgrade.
/// `state rebuild` (by the description's marker) does recover it, and the key
/// then goes on in it.
fn a_ticket_without_externalid_is_recovered_by_state_rebuild_only(t: Transport) {
    let env = pre_upgrade_site(t);
    let open = |node: &str| open_before_upgrade(&env, node);
    let (a, b) = (open("web01"), open("web02"));
    std::fs::remove_dir_all(&env.state).unwrap();

    // notify: not found, a second ticket for web01.
    let j = env.notify("web01", "HTTP", "WARNING", &[]).ok().json();
    assert_eq!(j["action"], "created");
    let second = j["ticket_id"].as_u64().unwrap();
    assert_ne!(second, a);
    assert_eq!(
        env.sim.ticket(second).unwrap().external_id,
        Some(external_id("web01", "HTTP"))
    );
    assert!(env.sim.ticket(a).unwrap().followups.is_empty());

    // state rebuild: web02's ticket is found by its marker and recorded.
    let rebuilt = env.esia(&["--json", "state", "rebuild"]).ok().json();
    let recorded: Vec<(String, u64)> = rebuilt
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["outcome"] == "recorded")
        .map(|l| {
            (
                l["node"].as_str().unwrap().to_owned(),
                l["ticket_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(recorded, [("web02".to_owned(), b)], "{rebuilt}");
    let j = env.notify("web02", "HTTP", "WARNING", &[]).ok().json();
    assert_eq!(j["action"], "followed_up");
    assert_eq!(j["ticket_id"].as_u64(), Some(b));
    assert_eq!(
        env.notify("web02", "HTTP", "OK", &[]).ok().json()["action"],
        "solved"
    );
    assert_eq!(env.sim.ticket(b).unwrap().status, 5);
    assert_eq!(env.sim.tickets().len(), 3);
}

/// (i, continued) The way out: a ticket opened before GLPI 11 gets the
/// key's `externalid` the first time a run writes into it, or from `state
/// rebuild` (README "GLPI 11 and externalid"); after that, a lost state finds
/// it by identity and no second ticket is opened.
fn pre_upgrade_tickets_get_their_externalid_from_a_write_or_state_rebuild(tr: Transport) {
    let env = pre_upgrade_site(tr);
    let open = |node: &str| open_before_upgrade(&env, node);
    let (t1, t2, t3) = (open("web01"), open("web02"), open("web03"));

    // A write into web01's ticket gives it its identity.
    let j = env.notify("web01", "HTTP", "WARNING", &[]).ok().json();
    assert_eq!(j["action"], "followed_up");
    assert_eq!(
        env.sim.ticket(t1).unwrap().external_id,
        Some(external_id("web01", "HTTP"))
    );
    // state rebuild gives the others theirs (records kept as they are).
    let rebuilt = env.esia(&["--json", "state", "rebuild"]).ok().json();
    let kept = rebuilt
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["outcome"] == "kept")
        .count();
    assert_eq!(kept, 3, "{rebuilt}");
    for (id, node) in [(t2, "web02"), (t3, "web03")] {
        assert_eq!(
            env.sim.ticket(id).unwrap().external_id,
            Some(external_id(node, "HTTP"))
        );
    }

    // The state is lost: every key finds its ticket by identity.
    std::fs::remove_dir_all(&env.state).unwrap();
    let j = env.notify("web02", "HTTP", "WARNING", &[]).ok().json();
    assert_eq!(j["action"], "followed_up");
    assert_eq!(j["ticket_id"].as_u64(), Some(t2));
    let j = env.notify("web03", "HTTP", "OK", &[]).ok().json();
    assert_eq!(j["action"], "solved");
    assert_eq!(j["ticket_id"].as_u64(), Some(t3));
    let j = env.notify("web01", "HTTP", "CRITICAL", &[]).ok().json();
    assert_eq!(j["ticket_id"].as_u64(), Some(t1));
    assert_eq!(env.sim.tickets().len(), 3, "no second ticket");
}

crate::over_both_transports!(
    a_ticket_without_externalid_is_recovered_by_state_rebuild_only,
    pre_upgrade_tickets_get_their_externalid_from_a_write_or_state_rebuild
);
