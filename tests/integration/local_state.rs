//! `check` and `notify` agree on the state directory, as the user running
//! them meets it: one a run cannot create, one of the monitoring engine's
//! user met by root (run as that user, never chown), one of root or nobody
//! (chown it), each through the real binary as root and as another user.
//!
//! Run as root (CI), the other user is played with `runuser` (the `nagios`
//! account, which tests/run.sh installs with nagios4-core, or `daemon`;
//! and `nobody`); as an ordinary user, the same cases are met from the
//! other side: a directory this user may not write in, and directories of
//! root or of a system account that already exist.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{BIN, Env, Run};

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The user id of the account `name` (`/etc/passwd`).
fn uid_of(name: &str) -> Option<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
    })
}

/// A system account a monitoring engine may run as: `nagios` (installed
/// with the engines), else `daemon`, on every Debian.
fn engine_account() -> (&'static str, u32) {
    ["nagios", "daemon"]
        .into_iter()
        .find_map(|n| uid_of(n).map(|u| (n, u)))
        .expect("neither nagios nor daemon exists")
}

/// `esia-glpi --config C <args>` as `user` (through runuser; we are root),
/// or as ourselves.
fn run_as(env: &Env, user: Option<&str>, args: &[&str]) -> Run {
    let Some(user) = user else {
        return env.esia(args);
    };
    let mut c = Command::new("runuser");
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TZ", "UTC")
        .args(["-u", user, "--", BIN, "--config"])
        .arg(&env.config)
        .args(args)
        .stdin(Stdio::null());
    env.run(&mut c)
}

/// Lets the account `uid` reach the test's directory and read its
/// configuration (we are root).
fn open_to(env: &Env, uid: u32) {
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(&env.config, Some(uid), None).unwrap();
}

/// Points the configuration's `state_dir` at `dir`.
fn state_dir(env: &Env, dir: &Path) {
    let text = std::fs::read_to_string(&env.config).unwrap();
    let text = text.replace(
        &format!("state_dir=\"{}\"", env.state.display()),
        &format!("state_dir=\"{}\"", dir.display()),
    );
    crate::support::write_private(&env.config, &text);
}

/// The `✗ state directory` line of a check that exits 6.
#[track_caller]
fn refused(run: &Run) -> String {
    run.code(6);
    run.stdout
        .lines()
        .find(|l| l.starts_with("✗ state directory: "))
        .unwrap_or_else(|| panic!("no ✗ state directory line in\n{}", run.stdout))
        .trim_start_matches("✗ state directory: ")
        .to_owned()
}

/// notify's error, first line without its prefix, and its hint.
#[track_caller]
fn notify_error(run: &Run) -> (String, String) {
    run.code(6);
    let first = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("esia-glpi: error: "))
        .unwrap_or_else(|| panic!("no error in\n{}", run.stderr))
        .to_owned();
    let hint = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("hint: "))
        .unwrap_or_default()
        .to_owned();
    (first, hint)
}

const NOTIFY: [&str; 6] = ["notify", "--node", "web01", "--state", "CRITICAL", "-q"];

/// A state directory the running user cannot create: check said "notify
/// will work" while notify exited 6; both now say the same error, with
/// the `install -d` that fixes it, and nothing is created.
#[test]
fn a_state_directory_the_runner_cannot_create() {
    let env = Env::new();
    let locked = env.dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    let root = locked.join("state");
    state_dir(&env, &root);
    // Root may write anywhere: it plays nobody; an ordinary user meets a
    // directory of its own it may not write in.
    let runner = if is_root() {
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        open_to(&env, uid_of("nobody").unwrap());
        Some("nobody")
    } else {
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
        None
    };
    let error = format!("cannot create the directory {}: ", root.display());
    let run = run_as(&env, runner, &["check"]);
    let l = refused(&run);
    assert!(l.starts_with(&error), "{l}");
    assert!(l.contains("Permission denied"), "{l}");
    assert!(
        l.contains(
            "as root, create it for the user the monitoring engine runs as: `install -d -m 0700 -o "
        ),
        "{l}"
    );
    assert!(!run.stdout.contains("→ notify will work"), "{}", run.stdout);
    // The GLPI steps still ran: the state is not the only thing said.
    assert!(run.stdout.contains("✓ user_token"), "{}", run.stdout);

    let (first, hint) = notify_error(&run_as(&env, runner, &NOTIFY));
    assert!(first.starts_with(&error), "{first}");
    assert!(l.starts_with(&first), "check: {l}\nnotify: {first}");
    assert!(hint.contains("install -d -m 0700 -o "), "{hint}");
    assert!(!root.exists());
    assert!(env.sim.tickets().is_empty());
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A directory of a system account other than ours that already exists,
/// for an ordinary user (none may be found: then `None`).
fn someone_elses_system_dir() -> Option<(PathBuf, String)> {
    use std::os::unix::fs::MetadataExt as _;
    let me = rustix::process::geteuid().as_raw();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let name_of = |uid: u32| {
        passwd.lines().find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
        })
    };
    for parent in ["/var/lib", "/var/cache", "/var/spool", "/var/log", "/run"] {
        let Ok(entries) = std::fs::read_dir(parent) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            let uid = meta.uid();
            if meta.is_dir()
                && uid != me
                && (1..1000).contains(&uid)
                && meta.mode() & 0o022 == 0
                && let Some(name) = name_of(uid).filter(|n| n != "nobody")
            {
                return Some((e.path(), name));
            }
        }
    }
    None
}

/// Root meets a state directory of the monitoring engine's user: the
/// directory is right, the runner wrong. Both say "run this as nagios",
/// by name, and neither advises a chown (which would break the engine's
/// runs); run as that user, check finds it fine and notify works.
#[test]
fn a_state_directory_of_the_engine_user_met_by_another_says_run_as_it() {
    let env = Env::new();
    let (owner, root) = if is_root() {
        let (name, uid) = engine_account();
        std::fs::create_dir(&env.state).unwrap();
        std::fs::set_permissions(&env.state, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&env.state, Some(uid), Some(uid)).unwrap();
        (name.to_owned(), env.state.clone())
    } else {
        match someone_elses_system_dir() {
            Some((dir, name)) => {
                state_dir(&env, &dir);
                (name, dir)
            }
            // No system account's directory here: the other side of the
            // rule (a directory of root's is to chown) is
            // `a_state_directory_of_root_or_nobody_is_to_be_chowned`.
            None => return a_state_directory_of_root_or_nobody_is_to_be_chowned(),
        }
    };
    let uid = uid_of(&owner).unwrap();
    let me = if is_root() {
        "root (user id 0)".to_owned()
    } else {
        String::new()
    };
    let error = format!(
        "refusing {}: it belongs to {owner} (user id {uid}), not to {me}",
        root.display()
    );
    let run_as_owner = format!("run this as {owner}");
    let example = format!("`sudo -u {owner} esia-glpi check`");

    let run = env.esia(&["check"]);
    let l = refused(&run);
    assert!(l.starts_with(&error), "{l}");
    assert!(l.contains(", who runs esia-glpi: "), "{l}");
    assert!(l.contains(&run_as_owner) && l.contains(&example), "{l}");
    assert!(!l.contains("`chown"), "{l}");

    let (first, hint) = notify_error(&env.esia(&NOTIFY));
    assert!(first.starts_with(&error), "{first}");
    assert!(l.starts_with(&first), "check: {l}\nnotify: {first}");
    assert!(
        hint.contains(&run_as_owner) && hint.contains(&example),
        "{hint}"
    );
    assert!(!hint.contains("`chown"), "{hint}");
    assert!(env.sim.tickets().is_empty());

    // Run as the owner, as the hint says: check is happy with the
    // directory, and notify works with it.
    if is_root() {
        open_to(&env, uid);
        let run = run_as(&env, Some(&owner), &["check"]);
        let l = run
            .stdout
            .lines()
            .find(|l| l.starts_with("✓ state directory: "))
            .unwrap_or_else(|| panic!("{}", run.stdout));
        assert!(
            l.contains(&format!("belongs to {owner}, who runs this, mode 0700")),
            "{l}"
        );
        run.ok();
        let run = run_as(
            &env,
            Some(&owner),
            &["--json", "notify", "--node", "web01", "--state", "CRITICAL"],
        );
        assert_eq!(run.ok().json()["action"], "created");
    }
}

/// A state directory of root, or of nobody, is no engine's: the fix is to
/// chown it to the engine's user (and to run as that user).
#[test]
fn a_state_directory_of_root_or_nobody_is_to_be_chowned() {
    let env = Env::new();
    // As root: a directory of nobody's met by root, and one of root's met
    // by nobody. As an ordinary user: one of root's (/usr) met by us.
    let mut cases: Vec<(PathBuf, &str, Option<&str>)> = Vec::new();
    if is_root() {
        std::fs::create_dir(&env.state).unwrap();
        std::fs::set_permissions(&env.state, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&env.state, Some(65_534), Some(65_534)).unwrap();
        cases.push((env.state.clone(), "nobody (user id 65534)", None));
        let roots = env.dir.path().join("roots");
        std::fs::create_dir(&roots).unwrap();
        std::fs::set_permissions(&roots, std::fs::Permissions::from_mode(0o755)).unwrap();
        cases.push((roots, "root (user id 0)", Some("nobody")));
    } else {
        cases.push((PathBuf::from("/usr"), "root (user id 0)", None));
    }
    for (root, owner, runner) in cases {
        if runner.is_some() {
            open_to(&env, uid_of("nobody").unwrap());
        }
        state_dir(&env, &root);
        let error = format!(
            "refusing {}: it belongs to {owner}, not to ",
            root.display()
        );
        let chown = "then `chown -R ";
        let run = run_as(&env, runner, &["check"]);
        let l = refused(&run);
        assert!(l.starts_with(&error), "{l}");
        assert!(l.contains("which no monitoring engine runs as"), "{l}");
        assert!(l.contains(chown), "{l}");
        assert!(
            l.contains(&format!("`chmod -R go-rwx {}`", root.display())),
            "{l}"
        );
        let (first, hint) = notify_error(&run_as(&env, runner, &NOTIFY));
        assert!(first.starts_with(&error), "{first}");
        assert!(l.starts_with(&first), "check: {l}\nnotify: {first}");
        assert!(hint.contains(chown), "{hint}");
        if is_root() {
            // The engine's user this system has is named (not a placeholder).
            let (name, _) = engine_account();
            if name == "nagios" {
                assert!(hint.contains("`chown -R nagios "), "{hint}");
                assert!(hint.contains("`sudo -u nagios esia-glpi check`"), "{hint}");
            }
        }
    }
    assert!(env.sim.tickets().is_empty());
}
