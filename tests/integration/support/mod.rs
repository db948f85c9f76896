//! Test support: the GLPI simulator and an isolated environment that runs the
//! real `esia-glpi` binary as a process (cleared environment, its own
//! configuration and state directory).
#![allow(dead_code, unreachable_pub, clippy::unused_self)]

pub mod engines;
pub mod glpi_sim;
pub mod pg;
pub mod smtp;
pub mod tls;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use glpi_sim::{SIM_OAUTH_CLIENT_ID, SIM_OAUTH_CLIENT_SECRET, SIM_USER_PASSWORD, Sim, SimOptions};

pub const BIN: &str = env!("CARGO_BIN_EXE_esia-glpi");
pub const APP_TOKEN: &str = "sim-app-token-0123456789";
pub const USER_TOKEN: &str = "sim-user-token-0123456789";

/// The API tickets go through: the legacy REST API of a GLPI 10
/// simulator, or the high-level API (`api = "v2"`, OAuth2 password grant)
/// of a GLPI 11 one. The v2 configuration keeps `app_token`/`user_token`
/// (the legacy login that links assets) unless a test removes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Legacy,
    V2,
}

impl Transport {
    /// A simulator of the GLPI this transport targets.
    pub fn options(self) -> SimOptions {
        match self {
            Transport::Legacy => SimOptions::default(),
            Transport::V2 => SimOptions::glpi11(),
        }
    }
}

/// Generates `mod <test> { fn legacy(); fn v2() }` for test functions that
/// take a [`Transport`]: one body, run over both APIs.
#[macro_export]
macro_rules! over_both_transports {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn legacy() {
                super::$name($crate::support::Transport::Legacy);
            }
            #[test]
            fn v2() {
                super::$name($crate::support::Transport::V2);
            }
        }
    )*};
}

/// One test's world: a simulator, a temp dir with the configuration and the
/// state directory.
pub struct Env {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub state: PathBuf,
    pub transport: Transport,
}

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(o: &Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Asserts the exit status, printing both streams when it differs.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code, expected,
            "unexpected exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Run {
        self.code(0)
    }

    /// The `--json` object printed on stdout.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", self.stdout))
    }
}

impl Env {
    pub fn new() -> Env {
        Env::with_sim(Sim::start(), "")
    }

    /// An environment whose configuration gets `extra` TOML lines.
    pub fn with_config(extra: &str) -> Env {
        Env::with_sim(Sim::start(), extra)
    }

    pub fn with_options(opts: SimOptions, extra: &str) -> Env {
        Env::with_sim(Sim::start_with(opts), extra)
    }

    pub fn with_sim(sim: Sim, extra: &str) -> Env {
        Env::with_sim_over(Transport::Legacy, sim, extra)
    }

    /// An environment over `transport`, its simulator's defaults.
    pub fn over(transport: Transport, extra: &str) -> Env {
        Env::with_sim_over(transport, Sim::start_with(transport.options()), extra)
    }

    /// An environment over `transport` with a simulator already started
    /// (of the GLPI the transport targets: [`Transport::options`]).
    pub fn with_sim_over(transport: Transport, sim: Sim, extra: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("glpi.conf");
        let state = dir.path().join("state");
        let env = Env {
            sim,
            dir,
            config,
            state,
            transport,
        };
        env.write_config(extra);
        env
    }

    /// The Esia-documented keys pointing at the simulator (over v2, the
    /// OAuth client and user too, the password in a 0600 file), then
    /// `extra`.
    pub fn write_config(&self, extra: &str) {
        let mut text = format!(
            "host=\"{}\"\napp_token=\"{APP_TOKEN}\"\nuser_token=\"{USER_TOKEN}\"\nuser_name=\"esia\"\n\
             tpl_title=\"( %node.group.name ) %node.name:%service.name\"\n\
             state_dir=\"{}\"\nconnect_timeout=2\ntimeout=3\nrun_timeout=20\nlock_timeout=20\nretries=0\n",
            self.sim.base_url(),
            self.state.display()
        );
        if self.transport == Transport::V2 {
            let password = self.password_file();
            write_private(&password, &format!("{SIM_USER_PASSWORD}\n"));
            let _ = write!(
                text,
                "api=\"v2\"\nclient_id=\"{SIM_OAUTH_CLIENT_ID}\"\n\
                 client_secret=\"{SIM_OAUTH_CLIENT_SECRET}\"\nusername=\"esia\"\n\
                 password_file=\"{}\"\n",
                password.display()
            );
        }
        text.push_str(extra);
        text.push('\n');
        write_private(&self.config, &text);
    }

    /// Where a v2 configuration's `password_file` is.
    pub fn password_file(&self) -> PathBuf {
        self.dir.path().join("glpi-password")
    }

    /// The configuration without the legacy login (`app_token`,
    /// `user_token`): a pure high-level API set-up.
    pub fn without_legacy_login(&self) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("app_token=") && !l.starts_with("user_token="))
            .collect();
        write_private(&self.config, &(kept.join("\n") + "\n"));
    }

    /// A bare command: cleared environment, `--config` set.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TZ", "UTC")
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, cmd: &mut Command) -> Run {
        Run::from_output(&cmd.output().unwrap())
    }

    /// `esia-glpi --config C <args>`.
    pub fn esia(&self, args: &[&str]) -> Run {
        self.run(self.cmd().args(args))
    }

    /// `esia-glpi --config C --json notify --node N --service S --state X <more>`.
    pub fn notify(&self, node: &str, service: &str, state: &str, more: &[&str]) -> Run {
        let mut c = self.cmd();
        c.args([
            "--json",
            "notify",
            "--node",
            node,
            "--service",
            service,
            "--state",
            state,
        ])
        .args(more);
        self.run(&mut c)
    }

    /// Every byte of every file under the state directory, for leak checks.
    pub fn state_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        collect(&self.state, &mut all);
        all
    }
}

/// Waits for a spawned run, at most `limit` (then kills it and fails with
/// what it printed), and returns what it printed.
#[track_caller]
pub fn finish_within(
    mut child: std::process::Child,
    what: &str,
    limit: std::time::Duration,
) -> Run {
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} did not finish within {limit:?}\n--- stderr\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Run::from_output(&child.wait_with_output().unwrap())
}

/// Waits for every spawned run; each must exit 0 (else: its stderr).
#[track_caller]
pub fn wait_all_ok(children: Vec<std::process::Child>) {
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Appends the bytes of every file under `dir` to `out`.
pub fn collect(dir: &Path, out: &mut Vec<u8>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if let Ok(b) = std::fs::read(&p) {
            out.extend(b);
        }
    }
}

pub fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
