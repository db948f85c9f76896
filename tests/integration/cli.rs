//! Command-line behaviour: exit statuses, aliases, help, state commands.

use crate::support::{BIN, Env};

#[test]
fn bad_priority_or_state_exits_2() {
    let env = Env::new();
    for args in [
        &["notify", "--node", "n", "--state", "CRITICAL", "-L", "7"][..],
        &["notify", "--node", "n", "--state", "CRITICAL", "-L", "0"],
        &["notify", "--node", "n", "--state", "BROKEN"],
        &["notify", "--state", "CRITICAL"],
        &["notify", "--node", "n"],
        &["frobnicate"],
    ] {
        let run = env.esia(args);
        run.code(2);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    let run = env.run(
        env.cmd()
            .args(["notify", "--node", "n", "--service", "s"])
            .env("NAGIOS_SERVICESTATE", "PURPLE"),
    );
    run.code(2);
    assert!(run.stderr.contains("PURPLE"), "{}", run.stderr);
    assert!(env.sim.requests().is_empty());
}

#[test]
fn help_documents_the_exit_statuses() {
    let env = Env::new();
    let run = env.esia(&["--help"]);
    run.ok();
    for line in [
        "0  handled",
        "2  invalid command line",
        "3  invalid or unreadable configuration",
        "4  GLPI refused",
        "5  GLPI unreachable",
        "6  local state unusable",
    ] {
        assert!(run.stdout.contains(line), "--help lacks {line:?}");
    }
}

#[test]
fn send_ticket_glpi_symlink_behaves_as_notify() {
    let env = Env::new();
    let link = env.dir.path().join("SEND_TICKET_GLPI");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let cmd = env.cmd();
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let mut linked = std::process::Command::new(&link);
    linked.env_clear().env("TZ", "UTC").args(args).args([
        "-L",
        "4",
        "--node",
        "srv-web-01",
        "--service",
        "HTTP",
        "--state",
        "2",
    ]);
    let run = env.run(&mut linked);
    run.ok();
    assert!(
        run.stdout.starts_with("created ticket 1 "),
        "{}",
        run.stdout
    );

    // The mail variant handles the ticket, then says plainly that no mail
    // could be sent (no [mail] table here): exit 7, see tests/integration/mail.rs.
    let link = env.dir.path().join("SEND_TICKET_GLPI_MAIL");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let mut linked = std::process::Command::new(&link);
    linked
        .env_clear()
        .args(["--config"])
        .arg(&env.config)
        .args([
            "--node",
            "srv-web-01",
            "--service",
            "HTTP",
            "--state",
            "WARNING",
        ]);
    let run = env.run(&mut linked);
    run.code(7);
    assert!(
        run.stdout.starts_with("followed up ticket 1 "),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("notification mail not sent"),
        "{}",
        run.stderr
    );
}

#[test]
fn state_list_show_forget() {
    let env = Env::new();
    env.notify("web01", "HTTP", "CRITICAL", &["-L", "4"]).ok();
    env.notify("web02", "", "WARNING", &[]).ok();
    let list = env.esia(&["state", "list"]);
    assert!(
        list.ok()
            .stdout
            .contains("web01/HTTP ticket 1 CRITICAL priority 4"),
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains("web02 ticket 2 WARNING"));
    let json: serde_json::Value =
        serde_json::from_str(&env.esia(&["--json", "state", "list"]).ok().stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);

    let show = env.esia(&["state", "show", "web01", "HTTP"]);
    assert!(show.ok().stdout.contains("ticket 1"));

    let forget = env.esia(&["state", "forget", "web01", "HTTP"]);
    assert!(forget.ok().stdout.contains("kept as"), "{}", forget.stdout);
    let dropped: Vec<_> = std::fs::read_dir(env.state.join("dropped"))
        .unwrap()
        .collect();
    assert_eq!(
        dropped.len(),
        1,
        "forgotten records are moved, never deleted"
    );
    assert!(
        env.esia(&["state", "show", "web01", "HTTP"])
            .ok()
            .stdout
            .contains("no record")
    );
    // --state-dir alone is enough to inspect.
    let run = std::process::Command::new(BIN)
        .env_clear()
        .args(["--state-dir"])
        .arg(&env.state)
        .args(["state", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).contains("web02"));
}

#[test]
fn state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.state), 0o700);
    assert_eq!(mode(&env.state.join("records")), 0o700);
    assert_eq!(mode(&env.state.join("records/web01~HTTP.json")), 0o600);
}

#[test]
fn corrupt_record_is_kept_aside_and_the_open_ticket_found_again() {
    let env = Env::new();
    env.notify("web01", "HTTP", "WARNING", &[]).ok();
    let rec = env.state.join("records/web01~HTTP.json");
    std::fs::write(&rec, b"{ torn").unwrap();
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    let j = run.ok().json();
    assert_eq!(j["action"], "followed_up", "{}", run.stderr);
    assert_eq!(j["ticket_id"].as_u64(), Some(1));
    assert_eq!(env.sim.tickets().len(), 1, "no second ticket");
    assert!(run.stderr.contains("corrupt"), "{}", run.stderr);
    let aside: Vec<_> = std::fs::read_dir(env.state.join("records"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(std::fs::read(aside[0].path()).unwrap(), b"{ torn");
}

#[test]
fn render_contacts_nothing() {
    let env = Env::new();
    let run = env.esia(&[
        "--json",
        "render",
        "--node",
        "web01",
        "--group",
        "G",
        "--service",
        "HTTP",
        "--state",
        "CRITICAL",
        "--output",
        "<b>x</b>",
    ]);
    let j = run.ok().json();
    assert_eq!(j["title"], "( G ) web01:HTTP");
    assert!(
        j["content"]
            .as_str()
            .unwrap()
            .contains("&lt;b&gt;x&lt;/b&gt;")
    );
    assert!(env.sim.requests().is_empty());
    assert!(
        !env.state.exists(),
        "render does not even create the state directory"
    );
}

/// `state list|show|forget --state-dir DIR` never ignore a configuration:
/// one named (`--config`, `ESIA_GLPI_CONFIG`) that cannot be read or does
/// not validate is refused (exit 3) — its backend may be a database holding
/// keys the directory does not — while with no configuration at all
/// (`state_list_show_forget`) the directory is read.
#[test]
fn state_commands_never_ignore_a_configuration() {
    let env = Env::new();
    env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
    // The database's configuration, with a mistake in it.
    crate::support::write_private(
        &env.config,
        "host = \"https://glpi.example.org\"\napp_token = \"a\"\nuser_token = \"u\"\n\
         [state]\nbackend = \"postgres\"\nurl = \"postgres://esia@127.0.0.1:1/esia\"\n\
         pasword_file = \"/etc/esia/db.password\"\n",
    );
    let state = env.state.display().to_string();
    let missing = env.dir.path().join("absent.conf");
    let by_option = |config: &std::path::Path, args: &[&str]| {
        env.run(
            std::process::Command::new(BIN)
                .env_clear()
                .arg("--config")
                .arg(config)
                .args(["--state-dir", &state])
                .args(args),
        )
    };
    let by_env = |args: &[&str]| {
        env.run(
            std::process::Command::new(BIN)
                .env_clear()
                .env("ESIA_GLPI_CONFIG", &env.config)
                .args(["--state-dir", &state])
                .args(args),
        )
    };
    let unknown = format!(
        "esia-glpi: error: unknown key `state.pasword_file` at line 7 of {}; did you mean \
         `state.password_file`?",
        env.config.display()
    );
    for args in [
        &["state", "list"][..],
        &["state", "show", "web01", "HTTP"],
        &["state", "forget", "web01", "HTTP"],
    ] {
        for run in [by_option(&env.config, args), by_env(args)] {
            run.code(3);
            assert_eq!(run.stdout, "", "{args:?}");
            assert_eq!(
                run.stderr.lines().next(),
                Some(unknown.as_str()),
                "{args:?}"
            );
        }
        let run = by_option(&missing, args);
        run.code(3);
        assert!(
            run.stderr.starts_with(&format!(
                "esia-glpi: error: cannot read configuration file {}",
                missing.display()
            )),
            "{}",
            run.stderr
        );
    }
    // Nothing was forgotten meanwhile.
    assert!(env.state.join("records/web01~HTTP.json").exists());
}
