//! Configuration errors as an administrator meets them: exit 3, the key and
//! the line named, never a token.

use std::path::Path;

use crate::support::{APP_TOKEN, Env, USER_TOKEN, write_private};

#[test]
fn unknown_key_exits_3_naming_it_and_its_line() {
    let env = Env::with_config("colour = \"blue\"");
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    run.code(3);
    assert!(run.stderr.contains("colour"), "{}", run.stderr);
    assert!(run.stderr.contains("line 12"), "{}", run.stderr);
    assert!(env.sim.requests().is_empty());
}

#[test]
fn missing_or_unreadable_configuration_exits_3() {
    let env = Env::new();
    let notify = |config: &Path| {
        env.run(
            std::process::Command::new(crate::support::BIN)
                .env_clear()
                .arg("--config")
                .arg(config)
                .args(["notify", "--node", "n", "--state", "OK"]),
        )
    };
    let run = notify(Path::new("/nonexistent/glpi.conf"));
    run.code(3);
    assert!(
        run.stderr.contains("/nonexistent/glpi.conf"),
        "{}",
        run.stderr
    );
    // Unreadable: a directory, and a file that is not UTF-8 (the tests may
    // run as root, whom no file mode keeps out). The first line names the
    // path and why.
    let binary = env.dir.path().join("binary.conf");
    std::fs::write(&binary, b"host=\"\xff\xfe\"\n").unwrap();
    for (path, error) in [
        (env.dir.path(), "{} is not a regular file"),
        (
            binary.as_path(),
            "cannot read configuration file {}: invalid data",
        ),
    ] {
        let run = notify(path);
        run.code(3);
        let error = error.replace("{}", &path.display().to_string());
        assert_eq!(
            run.stderr.lines().next(),
            Some(format!("esia-glpi: error: {error}").as_str()),
            "{}",
            run.stderr
        );
    }
    assert!(env.sim.requests().is_empty());
    // ESIA_GLPI_CONFIG is honoured.
    let run = env.run(
        std::process::Command::new(crate::support::BIN)
            .env_clear()
            .env("ESIA_GLPI_CONFIG", &env.config)
            .args(["--json", "notify", "--node", "n", "--state", "OK"]),
    );
    run.ok();
}

#[test]
fn malformed_token_line_never_echoes_the_token() {
    let env = Env::new();
    let text = std::fs::read_to_string(&env.config).unwrap().replace(
        &format!("user_token=\"{USER_TOKEN}\""),
        &format!("user_token=\"{USER_TOKEN}"),
    );
    write_private(&env.config, &text);
    let run = env.notify("web01", "HTTP", "CRITICAL", &["-vvv"]);
    run.code(3);
    assert!(run.stderr.contains("line 3"), "{}", run.stderr);
    for t in [USER_TOKEN, APP_TOKEN] {
        assert!(
            !run.stderr.contains(t) && !run.stdout.contains(t),
            "token leaked: {}",
            run.stderr
        );
    }
}

#[test]
fn world_readable_configuration_draws_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    std::fs::set_permissions(&env.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    run.ok();
    assert!(run.stderr.contains("warn"), "{}", run.stderr);
    assert!(run.stderr.contains("0640"), "{}", run.stderr);
}

#[test]
fn no_token_in_any_output_or_file_at_maximum_verbosity() {
    let env = Env::new();
    let mut outputs = String::new();
    for args in [
        &[
            "-vvv",
            "--json",
            "notify",
            "--node",
            "srv-web-01",
            "--service",
            "S",
            "--state",
            "CRITICAL",
        ][..],
        &[
            "-vvv",
            "notify",
            "--node",
            "srv-web-01",
            "--service",
            "S",
            "--state",
            "WARNING",
            "-L",
            "5",
        ],
        &[
            "-vvv",
            "notify",
            "--node",
            "srv-web-01",
            "--service",
            "S",
            "--state",
            "OK",
        ],
        &["-vvv", "state", "list"],
        &["-vvv", "render", "--node", "n", "--state", "CRITICAL"],
    ] {
        let run = env.esia(args);
        run.ok();
        outputs.push_str(&run.stdout);
        outputs.push_str(&run.stderr);
    }
    assert!(
        outputs.contains("DEBUG") || outputs.contains("debug"),
        "verbose logs present"
    );
    let state = String::from_utf8_lossy(&env.state_bytes()).into_owned();
    for t in [USER_TOKEN, APP_TOKEN] {
        assert!(!outputs.contains(t), "{t} in output");
        assert!(!state.contains(t), "{t} in the state directory");
    }
}

/// A misspelt key gets "did you mean", a top-level key written after
/// `[mail]` is named as such — from `notify` (first stderr line, exit 3,
/// nothing sent) and from `check` alike.
#[test]
fn misspelt_and_misplaced_keys_are_named() {
    for (extra, first) in [
        (
            "user_tokn = \"x\"",
            "unknown key `user_tokn` at line 12 of {}; did you mean `user_token`?",
        ),
        (
            "[mail]\nfrom = \"esia@example.org\"\nlang = \"en\"",
            "`lang` belongs before `[mail]` (line 12): at line 14 of {}, after that line, TOML \
             reads it as a key of [mail]",
        ),
    ] {
        let env = Env::with_config(extra);
        let first = first.replace("{}", &env.config.display().to_string());
        let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
        run.code(3);
        assert_eq!(
            run.stderr.lines().next(),
            Some(format!("esia-glpi: error: {first}").as_str()),
            "{}",
            run.stderr
        );
        let run = env.esia(&["check"]);
        run.code(3);
        assert!(
            run.stdout.contains(&format!("✗ configuration: {first}")),
            "{}",
            run.stdout
        );
        assert!(env.sim.requests().is_empty());
    }
}
