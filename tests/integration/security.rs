//! Security hardening through the real binary: no token anywhere at maximum
//! verbosity (every command, failing ones included), and hostile input —
//! markup, entities, quotes, control characters, invalid UTF-8 in arguments
//! and environment, an output longer than GLPI should take.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use crate::support::glpi_sim::{Fault, FaultKind, SimOptions};
use crate::support::tls::{SelfSigned, TlsFront};
use crate::support::{APP_TOKEN, Env, Run, USER_TOKEN, write_private};

/// Every file under `dir` but the configuration (which holds the tokens by design).
fn files_except_config(dir: &Path, config: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_except_config(&p, config, out);
        } else if p != config {
            out.push((
                p.display().to_string(),
                std::fs::read(&p).unwrap_or_default(),
            ));
        }
    }
}

#[track_caller]
fn assert_no_token(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for t in [USER_TOKEN, APP_TOKEN] {
        assert!(!text.contains(t), "{t} leaked in {what}:\n{text}");
    }
}

/// Runs `args` at -vvv, and checks stdout and stderr for both tokens.
#[track_caller]
fn run_clean(env: &Env, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
    let mut cmd = env.cmd();
    cmd.arg("-vvv").args(args);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let run = env.run(&mut cmd);
    assert_no_token(&format!("stdout of {args:?}"), run.stdout.as_bytes());
    assert_no_token(&format!("stderr of {args:?}"), run.stderr.as_bytes());
    run
}

fn notify_args<'a>(state: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "notify",
        "--node",
        "srv-web-01",
        "--service",
        "HTTP",
        "--state",
        state,
    ];
    v.extend_from_slice(more);
    v
}

#[test]
fn no_token_anywhere_from_any_command_at_maximum_verbosity() {
    let env = Env::new();
    // Each run with the status it must end with: the runs must reach GLPI and
    // do their work, so that their output is the output of real work.
    let run = |args: &[&str], want: i32| {
        let run = run_clean(&env, args, &[]);
        assert_eq!(
            run.code, want,
            "{args:?}\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        );
        run
    };

    // The whole life cycle, JSON and text, plus every other command.
    let created = run(
        &notify_args("CRITICAL", &["--json", "-L", "4", "--output", "down"]),
        0,
    )
    .json();
    assert_eq!(created["action"], "created");
    let id = created["ticket_id"].as_u64().unwrap();
    assert!(
        run(&notify_args("WARNING", &["-L", "2"]), 0)
            .stdout
            .starts_with("followed up")
    );
    let ack = notify_args("ACK", &["--ack-author", "jeanne", "--ack-comment", "on it"]);
    assert!(run(&ack, 0).stdout.starts_with("acknowledged"));
    assert!(
        run(&["state", "list"], 0)
            .stdout
            .contains(&format!("ticket {id}"))
    );
    run(&["--json", "state", "show", "srv-web-01", "HTTP"], 0);
    run(&["render", "--node", "n", "--state", "CRITICAL"], 0);
    assert!(run(&["check"], 0).stdout.contains("notify will work"));
    run(&["--json", "check"], 0);
    assert_eq!(run(&["flush"], 0).stdout.trim(), "nothing to flush");
    assert!(
        run(&["state", "rebuild"], 0)
            .stdout
            .contains(&format!("ticket {id} kept"))
    );
    assert!(run(&notify_args("OK", &[]), 0).stdout.starts_with("solved"));
    let t = env.sim.ticket(id).unwrap();
    assert_eq!((t.followups.len(), t.solutions.len()), (2, 1), "{t:?}");
    run(&["state", "forget", "srv-web-01", "HTTP"], 0);

    // Failing runs: GLPI down (the event is kept), the check, the flush of the kept event.
    env.sim
        .inject(Fault::new("/apirest.php", FaultKind::Status(503)));
    assert!(
        run(&notify_args("CRITICAL", &[]), 5)
            .stdout
            .starts_with("spooled")
    );
    run(&["check"], 5);
    run(&["flush"], 5);
    env.sim.clear_faults();
    // Header stripped: the token travels in the URL, yet never in our output.
    env.sim.set_strip_authorization(true);
    assert!(run(&["check"], 0).stdout.contains("Authorization header"));
    // The kept CRITICAL opens a ticket first, then the WARNING follows it up.
    assert!(
        run(&notify_args("WARNING", &[]), 0)
            .stdout
            .starts_with("followed up")
    );
    run(&["flush"], 0);
    env.sim.set_strip_authorization(false);
    let in_query = env
        .sim
        .requests()
        .iter()
        .filter(|r| {
            r.path.ends_with("initSession") && r.query.contains("user_token") && r.status == 200
        })
        .count();
    assert!(in_query >= 2, "the fallback was used: {in_query}");
    assert_eq!(env.sim.tickets().len(), 2, "{}", env.sim.trail());
    // Usage and configuration errors.
    run(&["notify", "--state", "CRITICAL"], 2);
    run(&["bogus"], 2);
    // The environment the engine gives us carries no token either.
    let rendered = run_clean(
        &env,
        &["render"],
        &[("NAGIOS_HOSTNAME", "h"), ("NAGIOS_HOSTSTATE", "DOWN")],
    );
    assert_eq!(rendered.code, 0, "{}", rendered.stderr);

    let mut files = Vec::new();
    files_except_config(env.dir.path(), &env.config, &mut files);
    assert!(!files.is_empty());
    for (path, bytes) in &files {
        assert_no_token(path, bytes);
    }
}

#[test]
fn no_token_when_glpi_refuses_or_the_configuration_is_broken() {
    // The user_token GLPI knows differs: initSession is refused (exit 4).
    let env = Env::with_options(
        SimOptions {
            user_token: "another-token".into(),
            ..SimOptions::default()
        },
        "",
    );
    for args in [notify_args("CRITICAL", &[]), vec!["check"], vec!["flush"]] {
        let run = run_clean(&env, &args, &[]);
        assert_ne!(run.code, 0);
    }
    // A broken TLS set-up.
    let cert = SelfSigned::new(&["127.0.0.1"], false);
    let front = TlsFront::start(&cert, &env.sim.base_url());
    let text = std::fs::read_to_string(&env.config).unwrap().replace(
        &format!("host=\"{}\"", env.sim.base_url()),
        &format!("host=\"https://127.0.0.1:{}\"", front.port()),
    );
    write_private(&env.config, &text);
    assert_eq!(run_clean(&env, &["check"], &[]).code, 5);
    assert_eq!(run_clean(&env, &notify_args("WARNING", &[]), &[]).code, 5);
    // Malformed token lines.
    for broken in [
        format!("user_token=\"{USER_TOKEN}"),
        format!("user_token={USER_TOKEN}"),
        format!("user_token=\"{USER_TOKEN}\" {APP_TOKEN}"),
    ] {
        let text = std::fs::read_to_string(&env.config).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("user_token"))
            .unwrap()
            .to_owned();
        write_private(&env.config, &text.replace(&line, &broken));
        for args in [vec!["check"], notify_args("CRITICAL", &[])] {
            let run = run_clean(&env, &args, &[]);
            assert_eq!(run.code, 3, "{args:?} {}", run.stderr);
        }
        write_private(&env.config, &text);
    }
    let mut files = Vec::new();
    files_except_config(env.dir.path(), &env.config, &mut files);
    for (path, bytes) in &files {
        if !Path::new(path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pem"))
        {
            assert_no_token(path, bytes);
        }
    }
}

#[test]
fn no_command_line_option_takes_a_token() {
    let env = Env::new();
    for args in [
        vec!["--help"],
        vec!["notify", "--help"],
        vec!["check", "--help"],
        vec!["flush", "--help"],
        vec!["render", "--help"],
        vec!["state", "--help"],
    ] {
        let run = env.esia(&args);
        run.ok();
        let options: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with('-'))
            .collect();
        assert!(!options.is_empty());
        assert!(
            options.iter().all(|l| !l.to_lowercase().contains("token")),
            "{args:?} offers a token option (it would show in ps):\n{}",
            run.stdout
        );
    }
}

#[test]
fn hostile_text_is_plain_in_the_title_and_escaped_in_the_content() {
    let env = Env::new();
    let output = "<script>alert('x')</script> &amp; \"quoted\" \u{1b}[31mred\u{7} <img src=x onerror=alert(1)>";
    let run = env.notify(
        "srv<b>-web-01",
        "HTTP \"&\" <i>",
        "CRITICAL",
        &["--group", "<Paris&Co>", "--output", output],
    );
    run.ok();
    let j = run.json();
    let t = env.sim.ticket(j["ticket_id"].as_u64().unwrap()).unwrap();
    // Title: plain text as written (GLPI stores it encoded), no control characters.
    assert_eq!(t.name, "( <Paris&Co> ) srv<b>-web-01:HTTP \"&\" <i>");
    // Content: no markup from the monitored world survives.
    for raw in ["<script", "<img", "<b>-web", "<i>", "\u{1b}", "\u{7}"] {
        assert!(!t.content.contains(raw), "{raw:?} in {}", t.content);
    }
    for escaped in [
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;",
        "&amp;amp;",
        "&quot;quoted&quot;",
        "&lt;img src=x onerror=alert(1)&gt;",
        "srv&lt;b&gt;-web-01",
    ] {
        assert!(
            t.content.contains(escaped),
            "{escaped:?} not in {}",
            t.content
        );
    }
    // Standard output never carries the escape sequence either.
    let run = env.run(env.cmd().args([
        "notify",
        "--node",
        "esc\u{1b}]0;pwned\u{7}node",
        "--state",
        "CRITICAL",
    ]));
    run.ok();
    assert!(!run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{7}'));
    let run = env.run(env.cmd().args([
        "render",
        "--node",
        "n",
        "--state",
        "CRITICAL",
        "--output",
        "a\u{1b}[2Jb",
    ]));
    run.ok();
    assert!(!run.stdout.contains('\u{1b}'), "{:?}", run.stdout);
}

#[test]
fn invalid_utf8_in_arguments_and_environment_still_makes_a_ticket() {
    let env = Env::new();
    // A Latin-1 "é" (0xE9) in the output and the node name.
    let mut cmd = env.cmd();
    cmd.args([
        "--json",
        "notify",
        "--state",
        "CRITICAL",
        "--service",
        "disk",
        "--node",
    ])
    .arg(OsString::from_vec(b"caf\xe9-01".to_vec()))
    .arg("--output")
    .arg(OsString::from_vec(b"D\xe9faut disque \xff".to_vec()));
    let run = env.run(&mut cmd);
    run.ok();
    let t = env
        .sim
        .ticket(run.json()["ticket_id"].as_u64().unwrap())
        .unwrap();
    // Each byte that is not UTF-8 shows as U+FFFD and its hex digits.
    assert!(t.name.contains("caf\u{fffd}E9-01"), "{}", t.name);
    assert!(
        t.content.contains("D\u{fffd}E9faut disque \u{fffd}FF"),
        "{}",
        t.content
    );
    // A node whose name differs only in that byte is another key: its
    // problem opens its own ticket, it is not taken for a re-notification.
    let mut cmd = env.cmd();
    cmd.args([
        "--json",
        "notify",
        "--state",
        "CRITICAL",
        "--service",
        "disk",
        "--node",
    ])
    .arg(OsString::from_vec(b"caf\xe8-01".to_vec()));
    let other = env.run(&mut cmd);
    assert_eq!(other.ok().json()["action"], "created", "{}", other.stdout);
    assert_ne!(other.json()["ticket_id"], run.json()["ticket_id"]);

    let mut cmd = env.cmd();
    cmd.args(["--json", "notify"])
        .env("NAGIOS_HOSTNAME", OsString::from_vec(b"h\xf4te".to_vec()))
        .env("NAGIOS_SERVICEDESC", "load")
        .env("NAGIOS_SERVICESTATE", "WARNING")
        .env(
            "NAGIOS_SERVICEOUTPUT",
            OsString::from_vec(b"charge \xe9lev\xe9e".to_vec()),
        );
    let run = env.run(&mut cmd);
    run.ok();
    let t = env
        .sim
        .ticket(run.json()["ticket_id"].as_u64().unwrap())
        .unwrap();
    assert!(
        t.content.contains("charge \u{fffd}E9lev\u{fffd}E9e"),
        "{}",
        t.content
    );

    // A configuration path that is not UTF-8 is kept as given (not "fixed").
    let odd = env
        .dir
        .path()
        .join(OsString::from_vec(b"gl\xe9pi.conf".to_vec()));
    std::fs::copy(&env.config, &odd).unwrap();
    let run = env.run(
        std::process::Command::new(crate::support::BIN)
            .env_clear()
            .arg("--config")
            .arg(&odd)
            .args(["render", "--node", "n", "--state", "OK"]),
    );
    run.ok();
}

#[test]
fn the_longest_output_an_engine_can_pass_is_cut_with_a_visible_note() {
    // Linux caps one argument or environment string at 128 KiB
    // (MAX_ARG_STRLEN), so no engine can hand over a 1 MB output; the cut of
    // a 1 MB one is a unit test of text::cap_output. Here: the largest possible.
    let env = Env::new();
    let output = "x".repeat(128 * 1024 - 1);
    let run = env.notify("srv-web-01", "HTTP", "CRITICAL", &["--output", &output]);
    run.ok();
    let t = env
        .sim
        .ticket(run.json()["ticket_id"].as_u64().unwrap())
        .unwrap();
    assert!(t.content.len() < 70 * 1024, "{} bytes", t.content.len());
    assert!(
        t.content
            .contains("sortie tronquée : 65536 octets sur 131071"),
        "note missing"
    );

    let run = env.run(
        env.cmd()
            .args([
                "--json",
                "notify",
                "--node",
                "srv-db-01",
                "--service",
                "S",
                "--state",
                "CRITICAL",
            ])
            // The whole NAME=value string counts against the same limit.
            .env("NAGIOS_SERVICEOUTPUT", &output[..100_000]),
    );
    run.ok();
    let t = env
        .sim
        .ticket(run.json()["ticket_id"].as_u64().unwrap())
        .unwrap();
    assert!(t.content.contains("sortie tronquée"));
}
