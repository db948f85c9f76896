//! Test support: the GLPI simulator and an isolated environment that runs the
//! real `esia-glpi` binary as a process (cleared environment, its own
//! configuration and state directory).
#![allow(dead_code, unreachable_pub, clippy::unused_self)]

pub mod glpi_sim;
pub mod smtp;
pub mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use glpi_sim::{Sim, SimOptions};

pub const BIN: &str = env!("CARGO_BIN_EXE_esia-glpi");
pub const APP_TOKEN: &str = "sim-app-token-0123456789";
pub const USER_TOKEN: &str = "sim-user-token-0123456789";

/// One test's world: a simulator, a temp dir with the configuration and the
/// state directory.
pub struct Env {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub state: PathBuf,
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
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("glpi.conf");
        let state = dir.path().join("state");
        let env = Env {
            sim,
            dir,
            config,
            state,
        };
        env.write_config(extra);
        env
    }

    /// The Esia-documented keys pointing at the simulator, then `extra`.
    pub fn write_config(&self, extra: &str) {
        let text = format!(
            "host=\"{}\"\napp_token=\"{APP_TOKEN}\"\nuser_token=\"{USER_TOKEN}\"\nuser_name=\"esia\"\n\
             tpl_title=\"( %node.group.name ) %node.name:%service.name\"\n\
             state_dir=\"{}\"\nconnect_timeout=2\ntimeout=3\nrun_timeout=20\nlock_timeout=20\nretries=0\n{extra}\n",
            self.sim.base_url(),
            self.state.display()
        );
        write_private(&self.config, &text);
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

fn collect(dir: &Path, out: &mut Vec<u8>) {
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
