//! A hostile host and odd servers, through the real binary: a state
//! directory another local user could plant things in, modes under any
//! umask, a token pasted where a key belongs, user information in `host`,
//! names too long for a GLPI search, a PHP notice before GLPI's answer, a
//! configuration that is not a file, SIGTERM, a `host` path where no GLPI
//! is, `--state-dir` rules, a standard output that cannot be written, and a
//! priority lowered on an open ticket.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::glpi_sim::{Fault, FaultKind};
use crate::support::{Env, USER_TOKEN, write_private};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// Every path under `dir` with its mode.
fn modes(dir: &Path, out: &mut Vec<(String, bool, u32)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let is_dir = p.is_dir();
        out.push((p.display().to_string(), is_dir, mode(&p)));
        if is_dir {
            modes(&p, out);
        }
    }
}

fn is_root() -> bool {
    Path::new("/proc/self").metadata().is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    })
}

#[test]
fn a_state_directory_others_may_write_to_or_own_is_refused() {
    for bits in [0o777, 0o1777, 0o770] {
        let env = Env::new();
        std::fs::create_dir(&env.state).unwrap();
        std::fs::set_permissions(&env.state, std::fs::Permissions::from_mode(bits)).unwrap();
        let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
        run.code(6);
        assert!(
            run.stderr.contains("other users may write to it"),
            "{bits:o}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("chmod -R go-rwx"), "{}", run.stderr);
        assert!(env.sim.requests().is_empty(), "nothing reached GLPI");
        assert_eq!(
            std::fs::read_dir(&env.state).unwrap().count(),
            0,
            "nothing written into it"
        );
    }
    // A directory of another user: root plays the other user with a chown;
    // an ordinary user meets one owned by root.
    let env = Env::new();
    let theirs = if is_root() {
        std::fs::create_dir(&env.state).unwrap();
        std::fs::set_permissions(&env.state, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&env.state, Some(65_534), Some(65_534)).unwrap();
        env.state.clone()
    } else {
        Path::new("/usr").to_path_buf()
    };
    let run = env.run(
        env.cmd()
            .arg("--state-dir")
            .arg(&theirs)
            .args(["notify", "--node", "n", "--state", "CRITICAL"]),
    );
    run.code(6);
    // Owners and runners by name (see local_state.rs for the hints).
    let owner = if is_root() {
        "nobody (user id 65534)"
    } else {
        "root (user id 0)"
    };
    assert!(
        run.stderr
            .contains(&format!("it belongs to {owner}, not to ")),
        "{}",
        run.stderr
    );
    assert!(env.sim.requests().is_empty());
}

#[test]
fn no_symbolic_link_inside_the_state_directory_is_followed() {
    let env = Env::new();
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    let elsewhere = tempfile::tempdir().unwrap();

    // The key's spool directory, replaced by a link to another directory:
    // the event is not written there.
    let spool = env.state.join("spool/web02~HTTP");
    symlink(elsewhere.path(), &spool).unwrap();
    let run = env.notify("web02", "HTTP", "CRITICAL", &[]);
    run.code(6);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    std::fs::remove_file(&spool).unwrap();

    // A lock file planted as a link to a path of the attacker's choosing:
    // nothing is created there.
    let victim = elsewhere.path().join("created-by-root");
    symlink(&victim, env.state.join("locks/web03~HTTP.lock")).unwrap();
    let run = env.notify("web03", "HTTP", "CRITICAL", &[]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(!victim.exists(), "the link was followed");

    // A record planted as a link: not read.
    let record = env.state.join("records/web01~HTTP.json");
    let copy = elsewhere.path().join("record.json");
    std::fs::rename(&record, &copy).unwrap();
    symlink(&copy, &record).unwrap();
    let run = env.notify("web01", "HTTP", "WARNING", &[]);
    run.code(6);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    // The ticket was not written into through it.
    assert!(env.sim.tickets()[0].followups.is_empty());
}

#[test]
fn every_file_is_0600_and_every_directory_0700_whatever_the_umask() {
    for umask in ["000", "022"] {
        let env = Env::new();
        let sh = |args: &[&str]| {
            let mut c = env.cmd();
            // `env.cmd()` is the binary with --config; run it through a shell
            // that sets the umask first.
            let program = c.get_program().to_owned();
            let pre: Vec<_> = c.get_args().map(ToOwned::to_owned).collect();
            let mut shell = std::process::Command::new("sh");
            shell
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("TZ", "UTC")
                .arg("-c")
                .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
                .arg(program)
                .args(pre)
                .args(args)
                .stdin(Stdio::null());
            c = shell;
            env.run(&mut c)
        };
        sh(&[
            "notify",
            "--node",
            "web01",
            "--service",
            "HTTP",
            "--state",
            "CRITICAL",
        ])
        .ok();
        sh(&[
            "notify",
            "--node",
            "web01",
            "--service",
            "HTTP",
            "--state",
            "WARNING",
        ])
        .ok();
        // An event kept, an intent, a forgotten key, a cache.
        env.sim
            .inject(Fault::new("/apirest.php/Ticket", FaultKind::Status(503)).method("POST"));
        sh(&[
            "notify",
            "--node",
            "web02",
            "--service",
            "HTTP",
            "--state",
            "CRITICAL",
        ])
        .code(5);
        sh(&["state", "forget", "web01", "HTTP"]).ok();
        let mut all = Vec::new();
        modes(&env.state, &mut all);
        assert!(all.len() > 10, "{all:#?}");
        for (path, is_dir, m) in &all {
            let want = if *is_dir { 0o700 } else { 0o600 };
            assert_eq!(*m, want, "umask {umask}: {path} is {m:o}");
        }
        assert_eq!(mode(&env.state), 0o700);
    }
}

#[test]
fn a_token_pasted_as_a_key_is_never_echoed() {
    let env = Env::with_config(&format!("{USER_TOKEN} = \"oops\""));
    for args in [
        &["notify", "--node", "n", "--state", "CRITICAL"][..],
        &["check"],
    ] {
        let run = env.esia(args);
        run.code(3);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains(USER_TOKEN), "{all}");
        assert!(all.contains("unknown key (not shown"), "{all}");
        assert!(all.contains("at line 12"), "{all}");
    }
}

#[test]
fn user_information_in_host_is_never_shown() {
    let env = Env::new();
    let text = std::fs::read_to_string(&env.config).unwrap();
    let base = env.sim.base_url();
    let with_user = base.replace("http://", "http://monitor:Pa55word@");
    write_private(&env.config, &text.replace(&base, &with_user));
    let run = env.run(env.cmd().args([
        "-vvv", "--json", "notify", "--node", "web01", "--state", "CRITICAL",
    ]));
    run.ok();
    assert_eq!(
        run.json()["url"],
        format!("{base}/front/ticket.form.php?id=1"),
        "{}",
        run.stdout
    );
    for args in [&["check"][..], &["state", "list"], &["flush"]] {
        let run = env.run(env.cmd().arg("-vvv").args(args));
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains("Pa55word"), "{args:?}: {all}");
        assert!(!all.contains("monitor:"), "{args:?}: {all}");
    }
    assert!(!String::from_utf8_lossy(&env.state_bytes()).contains("Pa55word"));
}

#[test]
fn a_name_too_long_for_a_glpi_search_is_refused_up_front() {
    let env = Env::new();
    let long = "n".repeat(100 * 1024);
    let run = env.notify(&long, "HTTP", "CRITICAL", &[]);
    run.code(2);
    assert!(
        run.stderr.contains("at most 512 are accepted"),
        "{}",
        run.stderr
    );
    assert!(env.sim.requests().is_empty());
    // Nothing kept: no poison event blocks the key.
    assert!(
        env.esia(&["state", "list"])
            .ok()
            .stdout
            .contains("no event kept")
    );
    assert!(
        env.esia(&["flush"])
            .ok()
            .stdout
            .contains("nothing to flush")
    );
}

#[test]
fn a_php_notice_before_glpi_s_answer_is_read_past_and_named() {
    let env = Env::new();
    env.sim
        .inject(Fault::new("/apirest.php/", FaultKind::PhpNotice));
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    assert_eq!(run.ok().json()["action"], "created");
    assert!(run.stderr.contains("display_errors"), "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("display_errors").count(),
        1,
        "said once per run: {}",
        run.stderr
    );
    assert_eq!(
        env.notify("web01", "HTTP", "OK", &[]).ok().json()["action"],
        "solved"
    );
    let check = env.esia(&["check"]);
    check.ok();
    assert!(check.stderr.contains("display_errors"), "{}", check.stderr);
}

#[test]
fn a_configuration_that_is_not_a_regular_file_is_refused_at_once() {
    let env = Env::new();
    let fifo = env.dir.path().join("fifo.conf");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for path in [Path::new("/dev/zero"), fifo.as_path()] {
        let started = Instant::now();
        let run = env.run(
            std::process::Command::new(crate::support::BIN)
                .env_clear()
                .arg("--config")
                .arg(path)
                .args(["notify", "--node", "n", "--state", "CRITICAL"])
                .stdin(Stdio::null()),
        );
        run.code(3);
        assert!(
            run.stderr.contains("is not a regular file"),
            "{}",
            run.stderr
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

/// Spawns `notify` and sends SIGTERM after `after`; the run, its output.
fn terminated(env: &Env, args: &[&str], after: Duration) -> crate::support::Run {
    let child = env
        .cmd()
        .args(["--json", "notify"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the session is closed within a short bound"
    );
    crate::support::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn sigterm_keeps_the_event_closes_the_session_and_says_so() {
    let env = Env::new();
    // GLPI takes 3 s to answer the creation.
    env.sim.inject(
        Fault::new(
            "/apirest.php/Ticket",
            FaultKind::Delay(Duration::from_secs(3)),
        )
        .method("POST"),
    );
    let run = terminated(
        &env,
        &[
            "--node",
            "web01",
            "--service",
            "HTTP",
            "--state",
            "CRITICAL",
        ],
        Duration::from_millis(800),
    );
    run.code(5);
    assert_eq!(run.json()["action"], "spooled");
    assert!(
        run.stderr.contains("interrupted by SIGTERM"),
        "{}",
        run.stderr
    );
    assert_eq!(env.sim.open_sessions(), 0, "killSession was sent");
    // The creation went through after all: the next run adopts it.
    env.sim.clear_faults();
    std::thread::sleep(Duration::from_secs(3));
    env.esia(&["flush"]).ok();
    assert_eq!(env.sim.tickets().len(), 1, "{}", env.sim.trail());

    // Terminated while waiting for the key: the event is kept as well.
    env.sim.inject(
        Fault::new(
            "/apirest.php/Ticket/",
            FaultKind::Delay(Duration::from_secs(3)),
        )
        .method("GET"),
    );
    let holder = env
        .cmd()
        .args([
            "notify",
            "--node",
            "web01",
            "--service",
            "HTTP",
            "--state",
            "WARNING",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let run = terminated(
        &env,
        &["--node", "web01", "--service", "HTTP", "--state", "OK"],
        Duration::from_millis(500),
    );
    run.code(5);
    assert!(run.stderr.contains("while waiting"), "{}", run.stderr);
    holder.wait_with_output().unwrap();
    env.sim.clear_faults();
    env.esia(&["flush"]).ok();
    let t = &env.sim.tickets()[0];
    assert_eq!(
        (t.followups.len(), t.solutions.len()),
        (1, 1),
        "{}",
        env.sim.trail()
    );
}

#[test]
fn a_host_path_where_no_glpi_answers_is_a_configuration_error_everywhere() {
    let env = Env::new();
    let text = std::fs::read_to_string(&env.config).unwrap();
    let base = env.sim.base_url();
    write_private(
        &env.config,
        &text.replace(&base, &format!("{base}/not-glpi")),
    );
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    run.code(3);
    assert_eq!(run.json()["action"], "spooled", "the event is kept");
    assert!(run.stderr.contains("check `host`"), "{}", run.stderr);
    env.esia(&["check"]).code(3);
    // No GLPI answered: the event went to the configuration that kept it.
    // With `host` fixed, the next flush delivers it (SPEC "Identity").
    write_private(&env.config, &text);
    let flush = env.esia(&["flush"]);
    assert!(
        flush.ok().stdout.contains("flushed 1 event(s)"),
        "{}",
        flush.stdout
    );
    assert_eq!(env.sim.tickets().len(), 1, "{}", env.sim.trail());
}

#[test]
fn state_dir_on_the_command_line_rules() {
    let env = Env::with_config("");
    // A relative --state-dir is refused, as state_dir in the file is.
    let run = env.esia(&["--state-dir", "relative/state", "state", "list"]);
    run.code(2);
    assert!(
        run.stderr.contains("not an absolute path"),
        "{}",
        run.stderr
    );
    // `state forget --state-dir` keeps the configuration's lock_timeout.
    let text = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace("lock_timeout=20", "lock_timeout=1");
    write_private(&env.config, &text);
    env.sim.inject(
        Fault::new(
            "/apirest.php/initSession",
            FaultKind::Delay(Duration::from_secs(4)),
        )
        .times(1),
    );
    let holder = env
        .cmd()
        .args([
            "notify",
            "--node",
            "web01",
            "--service",
            "HTTP",
            "--state",
            "CRITICAL",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let state = env.state.display().to_string();
    let run = env.esia(&["--state-dir", &state, "state", "forget", "web01", "HTTP"]);
    run.code(6);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "lock_timeout (1 s) applied, not 10 s: {:?}",
        started.elapsed()
    );
    holder.wait_with_output().unwrap();
}

#[test]
fn a_standard_output_that_cannot_be_written_is_an_error() {
    let env = Env::new();
    for args in [
        &["state", "list"][..],
        &["notify", "--node", "web01", "--state", "CRITICAL"],
    ] {
        let out = env
            .cmd()
            .args(args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write the result on standard output"),
            "{stderr}"
        );
    }
    assert_eq!(env.sim.tickets().len(), 1, "the event itself was handled");
}

#[test]
fn a_lowered_priority_keeps_urgency_and_impact_consistent() {
    let env = Env::new();
    let id = env
        .notify("web01", "HTTP", "CRITICAL", &["-L", "5"])
        .ok()
        .json()["ticket_id"]
        .as_u64()
        .unwrap();
    let t = env.sim.ticket(id).unwrap();
    assert_eq!((t.priority, t.urgency, t.impact), (5, 5, 5));
    env.notify("web01", "HTTP", "WARNING", &["-L", "3"]).ok();
    let t = env.sim.ticket(id).unwrap();
    assert_eq!((t.priority, t.urgency, t.impact), (3, 3, 3));
    env.notify("web01", "HTTP", "CRITICAL", &["-L", "6"]).ok();
    let t = env.sim.ticket(id).unwrap();
    assert_eq!((t.priority, t.urgency, t.impact), (6, 5, 5), "major");
    env.notify("web01", "HTTP", "WARNING", &["-L", "1"]).ok();
    let t = env.sim.ticket(id).unwrap();
    assert_eq!((t.priority, t.urgency, t.impact), (1, 1, 1));
}
