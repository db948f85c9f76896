//! Real monitoring engines for the tests: a private Nagios 4 ([`Nagios`],
//! Debian's `nagios4-core`) and a private Icinga 2 ([`Icinga2`], Debian's
//! `icinga2`), each in its own temp dir with its own configuration, state,
//! logs, command file or REST API — never the system's instance, never a
//! mock. The test gives the notification commands (object definition text)
//! and the hosts and services ([`HostSpec`]); checks are passive
//! (`max_check_attempts` 1, so every result is a HARD state), and the test
//! drives the engine with passive results, acknowledgements, custom
//! notifications, downtimes, notification switches and restarts. A
//! [`Recorder`] is a tiny notification command that keeps what it was run
//! with (every argument, the environment) for the test to assert on.
//!
//! `tests/run.sh` installs both packages; a missing binary is a loud failure
//! with the fix, never a skip. What was learnt about both engines (versions,
//! the configuration that works, macro values per notification type,
//! timings) is in `ENGINES.md` beside this file.
//!
//! Run as root (CI), both engines run as the `nagios` system user that the
//! packages create, as they do when installed: Nagios drops to it itself
//! (`nagios_user`/`nagios_group` in nagios.cfg), Icinga 2 too (the
//! `ICINGA2_USER`/`ICINGA2_GROUP` environment), and the temp dirs are
//! chowned to it. As a normal user, both run as that user.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::unused_self,
    clippy::missing_const_for_fn
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The Nagios 4 binary of Debian's `nagios4-core`.
pub const NAGIOS_BIN: &str = "/usr/sbin/nagios4";
/// Icinga 2's launcher in Debian's `icinga2-bin`.
pub const ICINGA2_BIN: &str = "/usr/sbin/icinga2";

const NAGIOS_FIX: &str = "install Debian's Nagios 4: `bash tests/run.sh` does it (or \
                          `apt-get install -y --no-install-recommends nagios4-core`)";
const ICINGA2_FIX: &str = "install Debian's Icinga 2: `bash tests/run.sh` does it (or \
                           `apt-get install -y --no-install-recommends icinga2`)";

/// The password of the Icinga 2 API user: distinctive, so that a test can
/// prove it never appears in any output.
pub const ICINGA2_API_PASSWORD: &str = "icinga-Secr3t-4b7e19d2a0c6";
/// The Icinga 2 API user.
pub const ICINGA2_API_USER: &str = "esia";

/// What Debian's sample nagios.cfg strips from `$SERVICEOUTPUT$`,
/// `$NOTIFICATIONCOMMENT$` and the other "output" macros.
pub const DEBIAN_ILLEGAL_MACRO_OUTPUT_CHARS: &str = "`~$&|'\"<>";

// ---------------------------------------------------------------------------
// Objects

/// A host and its services, for either engine. Every check is passive,
/// `max_check_attempts` 1, notifications to the test's contact.
#[derive(Debug, Clone)]
pub struct HostSpec {
    pub name: String,
    pub address: String,
    /// Its host group (Nagios `$HOSTGROUPNAME$`, Icinga 2 `groups`).
    pub group: Option<String>,
    /// Re-notification interval of the host's problems, in seconds (0: none).
    pub renotify: u32,
    pub services: Vec<ServiceSpec>,
}

/// A passive service of a [`HostSpec`].
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub name: String,
    /// Re-notification interval, in seconds (0: notify a problem once).
    pub renotify: u32,
    /// Flap detection for this service (when the engine's is on): on by
    /// default. A story that changes a service's state often turns it off,
    /// or the service starts flapping and its notifications stop.
    pub flapping: bool,
}

impl ServiceSpec {
    pub fn new(name: &str) -> ServiceSpec {
        ServiceSpec {
            name: name.to_owned(),
            renotify: 0,
            flapping: true,
        }
    }

    /// Re-notified every `secs` seconds while in a problem state.
    #[must_use]
    pub fn renotify(mut self, secs: u32) -> ServiceSpec {
        self.renotify = secs;
        self
    }

    /// Without flap detection.
    #[must_use]
    pub fn no_flapping(mut self) -> ServiceSpec {
        self.flapping = false;
        self
    }
}

impl HostSpec {
    pub fn new(name: &str) -> HostSpec {
        HostSpec {
            name: name.to_owned(),
            address: "127.0.0.1".to_owned(),
            group: None,
            renotify: 0,
            services: Vec::new(),
        }
    }

    #[must_use]
    pub fn group(mut self, group: &str) -> HostSpec {
        self.group = Some(group.to_owned());
        self
    }

    /// A service with the defaults of [`ServiceSpec::new`].
    #[must_use]
    pub fn service(self, name: &str) -> HostSpec {
        self.with(ServiceSpec::new(name))
    }

    #[must_use]
    pub fn with(mut self, service: ServiceSpec) -> HostSpec {
        self.services.push(service);
        self
    }
}

/// The default objects: host `srv-web-01` (group `Paris`) with service
/// `HTTP`.
pub fn default_hosts() -> Vec<HostSpec> {
    vec![HostSpec::new("srv-web-01").group("Paris").service("HTTP")]
}

// ---------------------------------------------------------------------------
// The recording notification command

/// A notification command that records each run: a `/bin/sh` script that
/// writes its arguments (NUL-separated, so empty arguments and arguments
/// starting with `-` show as they are) and its whole environment (`env -0`)
/// to one file per run, named by its start time in nanoseconds and its pid
/// (written aside, then renamed: a reader never sees half a run; concurrent
/// runs never mix). With [`Recorder::then`], the script then `exec`s a
/// program with the same arguments (the program under test).
pub struct Recorder {
    dir: tempfile::TempDir,
}

/// One recorded run of a [`Recorder`].
#[derive(Debug, Clone)]
pub struct Call {
    /// When the script started (wall clock, nanoseconds).
    pub at: SystemTime,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl Call {
    /// The argument after the first `flag` (`--type PROBLEM` → `PROBLEM`).
    pub fn opt(&self, flag: &str) -> Option<&str> {
        self.args
            .iter()
            .position(|a| a == flag)
            .and_then(|i| self.args.get(i + 1))
            .map(String::as_str)
    }

    /// [`Call::opt`] that must be there.
    #[track_caller]
    pub fn get(&self, flag: &str) -> &str {
        self.opt(flag)
            .unwrap_or_else(|| panic!("no {flag} in the call {:?}", self.args))
    }

    /// Whether `arg` is one of the arguments.
    pub fn has_arg(&self, arg: &str) -> bool {
        self.args.iter().any(|a| a == arg)
    }

    /// An environment variable of the run.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    /// The run's environment variables starting with `prefix`.
    pub fn vars(&self, prefix: &str) -> BTreeMap<&str, &str> {
        self.env
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// How long after `since` the run started (zero if before).
    pub fn after(&self, since: SystemTime) -> Duration {
        self.at.duration_since(since).unwrap_or_default()
    }
}

impl Recorder {
    /// A recorder writing into its own temp dir (owned by the engines' user
    /// when we are root).
    pub fn new() -> Recorder {
        Recorder::build(&[])
    }

    /// A recorder that, once the run is recorded, `exec`s `program` with
    /// `args` then the run's own arguments. `{dir}` in an argument stands
    /// for the recorder's directory ([`Recorder::dir`]), which the engine's
    /// user may write into.
    pub fn then(program: &Path, args: &[&str]) -> Recorder {
        let mut command = vec![program.to_string_lossy().into_owned()];
        command.extend(args.iter().map(|a| (*a).to_owned()));
        Recorder::build(&command)
    }

    /// The recorder's directory: its script, `calls/`, and room for what a
    /// [`Recorder::then`] program writes.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The recorder, `exec`ing `then` (a program and its first arguments)
    /// when not empty.
    fn build(then: &[String]) -> Recorder {
        let dir = tempfile::Builder::new()
            .prefix("esia-recorder-")
            .tempdir()
            .unwrap();
        let calls = dir.path().join("calls");
        std::fs::create_dir(&calls).unwrap();
        let mut script = format!(
            "#!/bin/sh\n# esia-glpi tests: records one notification command run.\n\
             set -eu\nname=$(date +%s%N)-$$\ntmp='{calls}/.'\"$name\"\n\
             {{ printf '%s\\0' \"$#\"; [ \"$#\" -eq 0 ] || printf '%s\\0' \"$@\"; env -0; }} > \"$tmp\"\n\
             mv \"$tmp\" '{calls}/'\"$name\"\n",
            calls = calls.display()
        );
        if !then.is_empty() {
            let dir_text = dir.path().to_string_lossy();
            let words: Vec<String> = then
                .iter()
                .map(|w| sh_quote(&w.replace("{dir}", &dir_text)))
                .collect();
            let _ = writeln!(script, "exec {} \"$@\"", words.join(" "));
        }
        let path = dir.path().join("record.sh");
        std::fs::write(&path, script).unwrap();
        set_mode(&path, 0o755);
        set_mode(dir.path(), 0o755);
        if is_root() {
            chown_to_engine_user(dir.path());
        }
        Recorder { dir }
    }

    /// The script, for the notification command's definition.
    pub fn script(&self) -> PathBuf {
        self.dir.path().join("record.sh")
    }

    /// Every recorded run so far, in the order they started.
    pub fn calls(&self) -> Vec<Call> {
        let mut names: Vec<(u128, u32, PathBuf)> = std::fs::read_dir(self.dir.path().join("calls"))
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let (ns, pid) = name.split_once('-')?;
                Some((ns.parse().ok()?, pid.parse().ok()?, e.path()))
            })
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|(ns, _, path)| parse_call(ns, &std::fs::read(&path).unwrap()))
            .collect()
    }

    /// The recorded runs whose arguments include `arg` (a service or host
    /// name), in order.
    pub fn calls_with(&self, arg: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.has_arg(arg))
            .collect()
    }

    /// Waits until `done` holds for the runs recorded so far (polling every
    /// 20 ms), at most `timeout`; returns them. Panics with `what` and the
    /// runs seen when it does not.
    #[track_caller]
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&[Call]) -> bool,
    ) -> Vec<Call> {
        let deadline = Instant::now() + timeout;
        loop {
            let calls = self.calls();
            if done(&calls) {
                return calls;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not seen within {timeout:?}; the notification command ran {} time(s):\n{}",
                calls.len(),
                describe_calls(&calls)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `n` runs whose arguments include `arg` were recorded;
    /// returns them (all of them, possibly more than `n`).
    #[track_caller]
    pub fn wait_calls_with(&self, arg: &str, n: usize, timeout: Duration) -> Vec<Call> {
        let calls = self.wait_for(&format!("{n} notification(s) for {arg}"), timeout, |c| {
            c.iter().filter(|c| c.has_arg(arg)).count() >= n
        });
        calls.into_iter().filter(|c| c.has_arg(arg)).collect()
    }
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder::new()
    }
}

/// One line per run: its arguments, quoted.
pub fn describe_calls(calls: &[Call]) -> String {
    let mut s = String::new();
    for (i, c) in calls.iter().enumerate() {
        let _ = writeln!(s, "  #{}: {:?}", i + 1, c.args);
    }
    s
}

fn parse_call(ns: u128, bytes: &[u8]) -> Call {
    let mut fields = bytes.split(|b| *b == 0);
    let count: usize = String::from_utf8_lossy(fields.next().unwrap_or_default())
        .parse()
        .unwrap_or(0);
    let args = fields
        .by_ref()
        .take(count)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let env = fields
        .filter(|f| !f.is_empty())
        .filter_map(|f| {
            let f = String::from_utf8_lossy(f);
            let (k, v) = f.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect();
    let at = UNIX_EPOCH + Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX));
    Call { at, args, env }
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

// ---------------------------------------------------------------------------
// Waiting

/// Polls `probe` every 20 ms until it gives a value, at most `timeout`;
/// panics with `what` when it does not.
#[track_caller]
pub fn wait_until<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// Nagios 4

/// How a [`Nagios`] process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NagiosMode {
    /// `nagios4 nagios.cfg`, a child of the test.
    Foreground,
    /// `nagios4 -d nagios.cfg`: it detaches and writes its pid to the
    /// lock file.
    Daemon,
}

/// Whether a restart keeps what the engine remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Start from the retention file (Nagios) / state file (Icinga 2).
    Keep,
    /// Delete it first: the engine starts knowing nothing (every object in
    /// its initial state, counters from the start).
    Drop,
}

/// The configuration of a private [`Nagios`].
#[derive(Debug, Clone)]
pub struct NagiosOptions {
    pub hosts: Vec<HostSpec>,
    /// Object definitions the test gives: at least the `define command`
    /// blocks the contact's notification commands name.
    pub commands: String,
    /// The contact's `service_notification_commands` (names, `,`-separated).
    pub service_notification_commands: String,
    /// The contact's `host_notification_commands`.
    pub host_notification_commands: String,
    /// `notification_options` of the services (and the contact):
    /// default `w,u,c,r,f,s`.
    pub service_notification_options: String,
    /// `notification_options` of the hosts (and the contact): default
    /// `d,u,r,f,s`.
    pub host_notification_options: String,
    /// `enable_environment_macros` (off, Nagios' default).
    pub environment_macros: bool,
    /// `enable_flap_detection` and each object's `flap_detection_enabled`.
    pub flap_detection: bool,
    /// The flap thresholds of services and hosts, in percent (low, high):
    /// Nagios' defaults (5, 20).
    pub flap_thresholds: (f64, f64),
    /// `illegal_macro_output_chars`: Debian's sample value by default.
    pub illegal_macro_output_chars: String,
    /// Lines appended to nagios.cfg (the last value of a key wins).
    pub extra_main: String,
    /// Object definitions appended to the objects file.
    pub extra_objects: String,
    pub mode: NagiosMode,
    /// The `contacts` of every host and service: the harness's own contact
    /// `esia` (defined with the notification commands above) by default;
    /// another name when `commands` defines its own contact (the shipped
    /// wiring's `glpi`), and then `esia` is not defined.
    pub contacts: String,
}

impl Default for NagiosOptions {
    fn default() -> NagiosOptions {
        NagiosOptions {
            hosts: default_hosts(),
            commands: String::new(),
            service_notification_commands: String::new(),
            host_notification_commands: String::new(),
            service_notification_options: "w,u,c,r,f,s".to_owned(),
            host_notification_options: "d,u,r,f,s".to_owned(),
            environment_macros: false,
            flap_detection: true,
            flap_thresholds: (5.0, 20.0),
            illegal_macro_output_chars: DEBIAN_ILLEGAL_MACRO_OUTPUT_CHARS.to_owned(),
            extra_main: String::new(),
            extra_objects: String::new(),
            mode: NagiosMode::Foreground,
            contacts: "esia".to_owned(),
        }
    }
}

impl NagiosOptions {
    /// The default objects, with `commands` defining `service_command` and
    /// `host_command`, the contact's notification commands.
    pub fn with_commands(commands: &str, service_command: &str, host_command: &str) -> Self {
        NagiosOptions {
            commands: commands.to_owned(),
            service_notification_commands: service_command.to_owned(),
            host_notification_commands: host_command.to_owned(),
            ..NagiosOptions::default()
        }
    }
}

enum Running {
    Foreground(Child),
    Daemon(u32),
}

/// A private Nagios 4: its own dir with nagios.cfg, objects.cfg, the
/// command file, status.dat, the retention file and the log. Dropping it
/// stops Nagios and removes the dir.
pub struct Nagios {
    dir: tempfile::TempDir,
    opts: NagiosOptions,
    /// We are root: Nagios runs as `nagios`.
    root: bool,
    running: Mutex<Option<Running>>,
    started_in: Mutex<Duration>,
}

impl Nagios {
    /// Writes the configuration, verifies it (`nagios4 -v`), starts Nagios
    /// and waits until it reads its command file.
    #[track_caller]
    pub fn start(opts: NagiosOptions) -> Nagios {
        assert!(
            Path::new(NAGIOS_BIN).is_file(),
            "no {NAGIOS_BIN}: {NAGIOS_FIX}"
        );
        let root = is_root();
        let dir = tempfile::Builder::new()
            .prefix("esia-nagios-")
            .tempdir()
            .unwrap();
        let nagios = Nagios {
            dir,
            opts,
            root,
            running: Mutex::new(None),
            started_in: Mutex::new(Duration::ZERO),
        };
        std::fs::create_dir(nagios.path("checkresults")).unwrap();
        nagios.write_config();
        let verify = Command::new(NAGIOS_BIN)
            .arg("-v")
            .arg(nagios.path("nagios.cfg"))
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "nagios4 -v rejects the configuration:\n{}\n--- objects.cfg\n{}",
            String::from_utf8_lossy(&verify.stdout),
            std::fs::read_to_string(nagios.path("objects.cfg")).unwrap_or_default()
        );
        nagios.launch();
        nagios
    }

    /// The temp dir holding everything.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Where Nagios writes its status (every second): what `reconcile`
    /// reads.
    pub fn status_dat(&self) -> PathBuf {
        self.path("status.dat")
    }

    /// The retention file (written at shutdown and every minute).
    pub fn retention_file(&self) -> PathBuf {
        self.path("retention.dat")
    }

    /// The external command file (a FIFO).
    pub fn command_file(&self) -> PathBuf {
        self.path("nagios.cmd")
    }

    /// nagios.log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("nagios.log")).unwrap_or_default()
    }

    /// What the foreground process printed.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.path("nagios.out")).unwrap_or_default()
    }

    /// How long the last start took, from spawning Nagios until it read its
    /// command file.
    pub fn started_in(&self) -> Duration {
        *self.started_in.lock().unwrap()
    }

    /// The pid of the Nagios main process.
    pub fn pid(&self) -> Option<u32> {
        match self.running.lock().unwrap().as_ref()? {
            Running::Foreground(c) => Some(c.id()),
            Running::Daemon(pid) => Some(*pid),
        }
    }

    fn write_config(&self) {
        let o = &self.opts;
        let d = self.dir.path().display();
        let user = if self.root {
            ("nagios".to_owned(), "nagios".to_owned())
        } else {
            current_user_and_group()
        };
        let mut main = format!(
            "# esia-glpi tests: a private Nagios 4\n\
             log_file={d}/nagios.log\ncfg_file={d}/objects.cfg\n\
             object_cache_file={d}/objects.cache\nprecached_object_file={d}/objects.precache\n\
             resource_file={d}/resource.cfg\n\
             status_file={d}/status.dat\nstatus_update_interval=1\n\
             nagios_user={}\nnagios_group={}\n\
             check_external_commands=1\ncommand_file={d}/nagios.cmd\nquery_socket={d}/nagios.qh\n\
             lock_file={d}/nagios.pid\ntemp_file={d}/nagios.tmp\ntemp_path={d}\n\
             check_result_path={d}/checkresults\ncheck_result_reaper_frequency=1\n\
             max_check_result_reaper_time=2\n\
             retain_state_information=1\nstate_retention_file={d}/retention.dat\n\
             retention_update_interval=60\nuse_retained_program_state=1\n\
             use_retained_scheduling_info=1\n\
             use_syslog=0\nlog_notifications=1\nlog_passive_checks=1\nlog_external_commands=1\n\
             log_initial_states=0\nlog_current_states=1\nlog_service_retries=1\nlog_host_retries=1\n\
             interval_length=1\ncheck_for_updates=0\nbare_update_check=0\n\
             enable_notifications=1\nexecute_service_checks=1\nexecute_host_checks=1\n\
             accept_passive_service_checks=1\naccept_passive_host_checks=1\n\
             passive_host_checks_are_soft=0\ntranslate_passive_host_checks=0\n\
             check_service_freshness=0\ncheck_host_freshness=0\n\
             enable_event_handlers=0\nprocess_performance_data=0\n\
             enable_flap_detection={}\n\
             low_service_flap_threshold={low}\nhigh_service_flap_threshold={high}\n\
             low_host_flap_threshold={low}\nhigh_host_flap_threshold={high}\n\
             enable_environment_macros={}\nnotification_timeout=30\n\
             illegal_macro_output_chars={}\n\
             date_format=iso8601\ndebug_level=0\ndebug_file={d}/nagios.debug\n",
            user.0,
            user.1,
            u8::from(o.flap_detection),
            u8::from(o.environment_macros),
            o.illegal_macro_output_chars,
            low = o.flap_thresholds.0,
            high = o.flap_thresholds.1,
        );
        main.push_str(&o.extra_main);
        main.push('\n');
        std::fs::write(self.path("nagios.cfg"), main).unwrap();
        std::fs::write(
            self.path("resource.cfg"),
            "$USER1$=/usr/lib/nagios/plugins\n",
        )
        .unwrap();
        std::fs::write(self.path("objects.cfg"), self.objects()).unwrap();
        if self.root {
            chown_to_engine_user(self.dir.path());
        }
    }

    fn objects(&self) -> String {
        let o = &self.opts;
        let flap = u8::from(o.flap_detection);
        let (low, high) = o.flap_thresholds;
        let mut text = String::from(
            "# esia-glpi tests: a private Nagios 4's objects\n\
             define timeperiod {\n  timeperiod_name 24x7\n  alias 24x7\n\
             \x20 sunday 00:00-24:00\n  monday 00:00-24:00\n  tuesday 00:00-24:00\n\
             \x20 wednesday 00:00-24:00\n  thursday 00:00-24:00\n  friday 00:00-24:00\n\
             \x20 saturday 00:00-24:00\n}\n\
             define command {\n  command_name esia-test-passive\n  command_line /bin/true\n}\n",
        );
        if o.contacts == "esia" {
            let _ = write!(
                text,
                "define contact {{\n  contact_name esia\n  alias esia\n  email nobody@example.org\n\
                 \x20 service_notification_period 24x7\n  host_notification_period 24x7\n\
                 \x20 service_notification_options {}\n  host_notification_options {}\n\
                 \x20 service_notification_commands {}\n  host_notification_commands {}\n}}\n",
                o.service_notification_options,
                o.host_notification_options,
                o.service_notification_commands,
                o.host_notification_commands
            );
        }
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for h in &o.hosts {
            if let Some(g) = &h.group {
                groups.entry(g).or_default().push(&h.name);
            }
            let _ = write!(
                text,
                "define host {{\n  host_name {n}\n  alias {n}\n  address {a}\n\
                 \x20 check_command esia-test-passive\n  active_checks_enabled 0\n\
                 \x20 passive_checks_enabled 1\n  max_check_attempts 1\n  check_interval 60\n\
                 \x20 retry_interval 60\n  check_period 24x7\n  notification_interval {r}\n\
                 \x20 notification_period 24x7\n  notification_options {no}\n  contacts {c}\n\
                 \x20 flap_detection_enabled {flap}\n  low_flap_threshold {low}\n\
                 \x20 high_flap_threshold {high}\n}}\n",
                n = h.name,
                a = h.address,
                r = h.renotify,
                no = o.host_notification_options,
                c = o.contacts,
            );
            for s in &h.services {
                let _ = write!(
                    text,
                    "define service {{\n  host_name {h}\n  service_description {n}\n\
                     \x20 check_command esia-test-passive\n  active_checks_enabled 0\n\
                     \x20 passive_checks_enabled 1\n  max_check_attempts 1\n  check_interval 60\n\
                     \x20 retry_interval 60\n  check_period 24x7\n  notification_interval {r}\n\
                     \x20 notification_period 24x7\n  notification_options {no}\n  contacts {c}\n\
                     \x20 flap_detection_enabled {sflap}\n  low_flap_threshold {low}\n\
                     \x20 high_flap_threshold {high}\n}}\n",
                    h = h.name,
                    n = s.name,
                    r = s.renotify,
                    no = o.service_notification_options,
                    c = o.contacts,
                    sflap = u8::from(o.flap_detection && s.flapping),
                );
            }
        }
        for (g, members) in groups {
            let _ = write!(
                text,
                "define hostgroup {{\n  hostgroup_name {g}\n  alias {g}\n  members {}\n}}\n",
                members.join(",")
            );
        }
        text.push_str(&o.commands);
        text.push('\n');
        text.push_str(&o.extra_objects);
        text.push('\n');
        text
    }

    #[track_caller]
    fn launch(&self) {
        let mut running = self.running.lock().unwrap();
        assert!(running.is_none(), "Nagios is already running");
        let _ = std::fs::remove_file(self.command_file());
        let out = std::fs::File::create(self.path("nagios.out")).unwrap();
        let mut c = Command::new(NAGIOS_BIN);
        c.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        if self.opts.mode == NagiosMode::Daemon {
            c.arg("-d");
        }
        c.arg(self.path("nagios.cfg"));
        let t0 = Instant::now();
        let mut child = c.spawn().unwrap();
        let state = if self.opts.mode == NagiosMode::Daemon {
            // The launcher exits once the daemon is forked; the daemon
            // writes its pid to the lock file.
            let status = child.wait().unwrap();
            assert!(
                status.success(),
                "nagios4 -d failed ({status}):\n{}\n--- nagios.log\n{}",
                self.output(),
                self.log()
            );
            let pid = wait_until("Nagios' lock file", Duration::from_secs(20), || {
                std::fs::read_to_string(self.path("nagios.pid"))
                    .ok()
                    .and_then(|p| p.trim().parse::<u32>().ok())
            });
            Running::Daemon(pid)
        } else {
            Running::Foreground(child)
        };
        *running = Some(state);
        drop(running);
        // Ready when its command file worker reads the FIFO: opening it for
        // writing without blocking succeeds only then.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if open_fifo(&self.command_file()).is_ok() {
                break;
            }
            if let Some(Running::Foreground(c)) = self.running.lock().unwrap().as_mut()
                && let Some(status) = c.try_wait().unwrap()
            {
                panic!(
                    "Nagios exited at start ({status}):\n{}\n--- nagios.log\n{}",
                    self.output(),
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "Nagios did not open its command file within 30 s:\n{}\n--- nagios.log\n{}",
                self.output(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        *self.started_in.lock().unwrap() = t0.elapsed();
    }

    /// Stops Nagios (SIGTERM: it writes its retention file and exits), and
    /// waits until it is gone.
    #[track_caller]
    pub fn stop(&self) {
        let state = self.running.lock().unwrap().take();
        match state {
            Some(Running::Foreground(mut c)) => {
                signal(c.id(), "TERM");
                let deadline = Instant::now() + Duration::from_secs(30);
                while c.try_wait().unwrap().is_none() {
                    if Instant::now() > deadline {
                        let _ = c.kill();
                        let _ = c.wait();
                        panic!("Nagios did not stop within 30 s:\n{}", self.log());
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            Some(Running::Daemon(pid)) => {
                signal(pid, "TERM");
                wait_until("the Nagios daemon to exit", Duration::from_secs(30), || {
                    (!process_alive(pid)).then_some(())
                });
            }
            None => panic!("stop: Nagios is not running"),
        }
        // Its workers exit when the main process is gone.
        let _ = std::fs::remove_file(self.command_file());
    }

    /// Stops Nagios and starts it again: from its retention file, or with
    /// none ([`Retention::Drop`]: every object starts in its initial state,
    /// event and problem ids from the start).
    #[track_caller]
    pub fn restart(&self, retention: Retention) {
        self.stop();
        if retention == Retention::Drop {
            let _ = std::fs::remove_file(self.retention_file());
        }
        self.launch();
    }

    /// Starts a stopped Nagios again.
    #[track_caller]
    pub fn start_again(&self, retention: Retention) {
        if retention == Retention::Drop {
            let _ = std::fs::remove_file(self.retention_file());
        }
        self.launch();
    }

    /// Sends one external command (`[time] NAME;args`), through the
    /// command file.
    #[track_caller]
    pub fn command(&self, cmd: &str) {
        assert!(
            !cmd.contains('\n'),
            "an external command is one line: {cmd:?}"
        );
        let line = format!("[{}] {cmd}\n", unix_now());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match open_fifo(&self.command_file()) {
                Ok(mut f) => {
                    // One write below PIPE_BUF: atomic, never interleaved.
                    f.write_all(line.as_bytes()).unwrap();
                    return;
                }
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "Nagios' command file {} cannot be written ({e}): is Nagios running?\n{}",
                    self.command_file().display(),
                    self.log()
                ),
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A passive service result: state 0 OK, 1 WARNING, 2 CRITICAL,
    /// 3 UNKNOWN.
    #[track_caller]
    pub fn service_result(&self, host: &str, service: &str, state: u8, output: &str) {
        self.command(&format!(
            "PROCESS_SERVICE_CHECK_RESULT;{host};{service};{state};{output}"
        ));
    }

    /// A passive host result: 0 UP, 1 DOWN, 2 UNREACHABLE.
    #[track_caller]
    pub fn host_result(&self, host: &str, state: u8, output: &str) {
        self.command(&format!(
            "PROCESS_HOST_CHECK_RESULT;{host};{state};{output}"
        ));
    }

    /// Acknowledges a service problem (normal, notify, persistent comment).
    #[track_caller]
    pub fn acknowledge_service(&self, host: &str, service: &str, author: &str, comment: &str) {
        self.command(&format!(
            "ACKNOWLEDGE_SVC_PROBLEM;{host};{service};1;1;1;{author};{comment}"
        ));
    }

    #[track_caller]
    pub fn acknowledge_host(&self, host: &str, author: &str, comment: &str) {
        self.command(&format!(
            "ACKNOWLEDGE_HOST_PROBLEM;{host};1;1;1;{author};{comment}"
        ));
    }

    #[track_caller]
    pub fn remove_service_ack(&self, host: &str, service: &str) {
        self.command(&format!("REMOVE_SVC_ACKNOWLEDGEMENT;{host};{service}"));
    }

    #[track_caller]
    pub fn remove_host_ack(&self, host: &str) {
        self.command(&format!("REMOVE_HOST_ACKNOWLEDGEMENT;{host}"));
    }

    /// A custom notification (options 0: to the normal contacts).
    #[track_caller]
    pub fn custom_service_notification(
        &self,
        host: &str,
        service: &str,
        author: &str,
        comment: &str,
    ) {
        self.command(&format!(
            "SEND_CUSTOM_SVC_NOTIFICATION;{host};{service};0;{author};{comment}"
        ));
    }

    #[track_caller]
    pub fn custom_host_notification(&self, host: &str, author: &str, comment: &str) {
        self.command(&format!(
            "SEND_CUSTOM_HOST_NOTIFICATION;{host};0;{author};{comment}"
        ));
    }

    /// A fixed downtime of the service from now for `length` (whole
    /// seconds, at least 1).
    #[track_caller]
    pub fn schedule_service_downtime(
        &self,
        host: &str,
        service: &str,
        length: Duration,
        author: &str,
        comment: &str,
    ) {
        let now = unix_now();
        let secs = length.as_secs().max(1);
        self.command(&format!(
            "SCHEDULE_SVC_DOWNTIME;{host};{service};{now};{};1;0;{secs};{author};{comment}",
            now + secs
        ));
    }

    /// A fixed downtime of the host (not its services) from now.
    #[track_caller]
    pub fn schedule_host_downtime(
        &self,
        host: &str,
        length: Duration,
        author: &str,
        comment: &str,
    ) {
        let now = unix_now();
        let secs = length.as_secs().max(1);
        self.command(&format!(
            "SCHEDULE_HOST_DOWNTIME;{host};{now};{};1;0;{secs};{author};{comment}",
            now + secs
        ));
    }

    /// Cancels the downtimes of a service (`Some`) or of the host and all
    /// its services (`None`).
    #[track_caller]
    pub fn cancel_downtimes(&self, host: &str, service: Option<&str>) {
        match service {
            Some(s) => self.command(&format!("DEL_DOWNTIME_BY_HOST_NAME;{host};{s}")),
            None => self.command(&format!("DEL_DOWNTIME_BY_HOST_NAME;{host}")),
        }
    }

    /// Turns a service's notifications on or off.
    #[track_caller]
    pub fn set_service_notifications(&self, host: &str, service: &str, on: bool) {
        let verb = if on { "ENABLE" } else { "DISABLE" };
        self.command(&format!("{verb}_SVC_NOTIFICATIONS;{host};{service}"));
    }

    #[track_caller]
    pub fn set_host_notifications(&self, host: &str, on: bool) {
        let verb = if on { "ENABLE" } else { "DISABLE" };
        self.command(&format!("{verb}_HOST_NOTIFICATIONS;{host}"));
    }

    /// Turns notifications on or off program-wide.
    #[track_caller]
    pub fn set_notifications(&self, on: bool) {
        let verb = if on { "ENABLE" } else { "DISABLE" };
        self.command(&format!("{verb}_NOTIFICATIONS"));
    }

    /// status.dat as it is now.
    #[track_caller]
    pub fn status(&self) -> StatusDat {
        StatusDat::parse(
            &std::fs::read_to_string(self.status_dat())
                .unwrap_or_else(|e| panic!("{}: {e}", self.status_dat().display())),
        )
    }

    /// Waits (at most `timeout`) until status.dat satisfies `done`.
    #[track_caller]
    pub fn wait_status(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&StatusDat) -> bool,
    ) -> StatusDat {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(text) = std::fs::read_to_string(self.status_dat()) {
                let status = StatusDat::parse(&text);
                if done(&status) {
                    return status;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{what}: status.dat did not show it within {timeout:?}\n--- status.dat\n{}",
                std::fs::read_to_string(self.status_dat()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// [`Recorder::wait_for`], with Nagios' log in the failure message.
    #[track_caller]
    pub fn wait_calls(
        &self,
        rec: &Recorder,
        what: &str,
        timeout: Duration,
        done: impl FnMut(&[Call]) -> bool,
    ) -> Vec<Call> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rec.wait_for(what, timeout, done)
        })) {
            Ok(calls) => calls,
            Err(e) => panic!(
                "{}\n--- nagios.log (end)\n{}",
                panic_text(&*e),
                tail(&self.log(), 40)
            ),
        }
    }
}

impl Drop for Nagios {
    fn drop(&mut self) {
        match self.running.get_mut().ok().and_then(Option::take) {
            Some(Running::Foreground(mut c)) => {
                signal(c.id(), "TERM");
                let deadline = Instant::now() + Duration::from_secs(10);
                while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let _ = c.kill();
                let _ = c.wait();
            }
            Some(Running::Daemon(pid)) => {
                signal(pid, "TERM");
                let deadline = Instant::now() + Duration::from_secs(10);
                while process_alive(pid) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if process_alive(pid) {
                    signal(pid, "KILL");
                }
            }
            None => {}
        }
    }
}

/// Nagios' status.dat: its blocks (`info`, `programstatus`, `hoststatus`,
/// `servicestatus`, `contactstatus`, `hostcomment`, `servicecomment`,
/// `hostdowntime`, `servicedowntime`), each a map of its fields.
#[derive(Debug, Clone)]
pub struct StatusDat {
    pub blocks: Vec<(String, BTreeMap<String, String>)>,
}

impl StatusDat {
    pub fn parse(text: &str) -> StatusDat {
        let mut blocks = Vec::new();
        let mut current: Option<(String, BTreeMap<String, String>)> = None;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(kind) = line.strip_suffix('{') {
                current = Some((kind.trim().to_owned(), BTreeMap::new()));
            } else if line == "}" {
                if let Some(b) = current.take() {
                    blocks.push(b);
                }
            } else if let (Some((_, fields)), Some((k, v))) =
                (current.as_mut(), line.split_once('='))
            {
                fields.insert(k.to_owned(), v.to_owned());
            }
        }
        StatusDat { blocks }
    }

    /// The blocks of one kind.
    pub fn of(&self, kind: &str) -> Vec<&BTreeMap<String, String>> {
        self.blocks
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, f)| f)
            .collect()
    }

    /// The `servicestatus` block of `host`/`service`.
    pub fn service(&self, host: &str, service: &str) -> Option<&BTreeMap<String, String>> {
        self.of("servicestatus").into_iter().find(|f| {
            f.get("host_name").is_some_and(|h| h == host)
                && f.get("service_description").is_some_and(|s| s == service)
        })
    }

    /// The `hoststatus` block of `host`.
    pub fn host(&self, host: &str) -> Option<&BTreeMap<String, String>> {
        self.of("hoststatus")
            .into_iter()
            .find(|f| f.get("host_name").is_some_and(|h| h == host))
    }

    /// A field of a service's block.
    pub fn service_field(&self, host: &str, service: &str, field: &str) -> Option<&str> {
        self.service(host, service)?.get(field).map(String::as_str)
    }

    /// The `programstatus` block.
    pub fn program(&self) -> Option<&BTreeMap<String, String>> {
        self.of("programstatus").into_iter().next()
    }
}

// ---------------------------------------------------------------------------
// Icinga 2

/// The configuration of a private [`Icinga2`].
#[derive(Debug, Clone)]
pub struct Icinga2Options {
    pub hosts: Vec<HostSpec>,
    /// Object definitions the test gives: at least the `NotificationCommand`
    /// objects named below.
    pub commands: String,
    /// The `NotificationCommand` of the services' `apply Notification` rule.
    pub service_command: String,
    /// The `NotificationCommand` of the hosts' `apply Notification` rule.
    pub host_command: String,
    /// `types` of both rules (Icinga 2 syntax): every type by default.
    pub types: String,
    /// `states` of the service rule: every state by default.
    pub service_states: String,
    /// `states` of the host rule.
    pub host_states: String,
    /// `enable_flapping` of the application and of every object.
    pub flapping: bool,
    /// `flapping_threshold_low`, `flapping_threshold_high`: Icinga's
    /// defaults (25, 30).
    pub flapping_thresholds: (f64, f64),
    /// A `LivestatusListener` on a unix socket in the temp dir.
    pub livestatus: bool,
    /// Appended to icinga2.conf.
    pub extra: String,
}

impl Default for Icinga2Options {
    fn default() -> Icinga2Options {
        Icinga2Options {
            hosts: default_hosts(),
            commands: String::new(),
            service_command: String::new(),
            host_command: String::new(),
            types: "[ Problem, Recovery, Acknowledgement, Custom, DowntimeStart, DowntimeEnd, \
                    DowntimeRemoved, FlappingStart, FlappingEnd ]"
                .to_owned(),
            service_states: "[ OK, Warning, Critical, Unknown ]".to_owned(),
            host_states: "[ Up, Down ]".to_owned(),
            flapping: true,
            flapping_thresholds: (25.0, 30.0),
            livestatus: true,
            extra: String::new(),
        }
    }
}

impl Icinga2Options {
    /// The default objects, with `commands` defining the two
    /// `NotificationCommand`s named.
    pub fn with_commands(commands: &str, service_command: &str, host_command: &str) -> Self {
        Icinga2Options {
            commands: commands.to_owned(),
            service_command: service_command.to_owned(),
            host_command: host_command.to_owned(),
            ..Icinga2Options::default()
        }
    }
}

/// The node name of every private Icinga 2 (its API certificate's CN).
pub const ICINGA2_NODE: &str = "esia-icinga";

/// A private Icinga 2 in the foreground (`icinga2 daemon -c icinga2.conf
/// -DDataDir=… -DLogDir=… -DCacheDir=… -DSpoolDir=… -DInitRunDir=…`), with
/// its API on a free port of 127.0.0.1 (TLS with a certificate made in the
/// test, HTTP basic authentication) and, when asked, Livestatus on a unix
/// socket. Dropping it stops Icinga 2 and removes the dir.
pub struct Icinga2 {
    dir: tempfile::TempDir,
    opts: Icinga2Options,
    /// We are root: Icinga 2 runs as `nagios`.
    root: bool,
    port: Mutex<u16>,
    ca_pem: String,
    child: Mutex<Option<Child>>,
    started_in: Mutex<Duration>,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Icinga2 {
    /// Writes the configuration and the API certificate, validates the
    /// configuration (`icinga2 daemon -C`), starts Icinga 2 and waits until
    /// its API answers.
    #[track_caller]
    pub fn start(opts: Icinga2Options) -> Icinga2 {
        assert!(
            Path::new(ICINGA2_BIN).is_file(),
            "no {ICINGA2_BIN}: {ICINGA2_FIX}"
        );
        let root = is_root();
        let dir = tempfile::Builder::new()
            .prefix("esia-icinga2-")
            .tempdir()
            .unwrap();
        for sub in ["data/certs", "log", "cache", "spool", "run", "zones.d"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let ca_pem = write_api_certificate(&dir.path().join("data/certs"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            // A connection per request: Icinga 2 closes idle ones, and a
            // POST on a connection it just closed fails.
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let icinga = Icinga2 {
            dir,
            opts,
            root,
            port: Mutex::new(0),
            ca_pem,
            child: Mutex::new(None),
            started_in: Mutex::new(Duration::ZERO),
            rt,
            http,
        };
        // A port that was free a moment ago; another process may take it
        // before Icinga binds it, so try a few.
        let mut last = String::new();
        for attempt in 0..5 {
            *icinga.port.lock().unwrap() = free_port();
            icinga.write_config();
            if attempt == 0 {
                icinga.validate();
            }
            match icinga.launch() {
                Ok(()) => return icinga,
                Err(e) => last = e,
            }
        }
        panic!("Icinga 2 did not start:\n{last}");
    }

    /// The temp dir holding everything.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The API's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        *self.port.lock().unwrap()
    }

    /// The API's root URL, `https://127.0.0.1:PORT`.
    pub fn api_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port())
    }

    /// The API's certificate (self-signed, CN [`ICINGA2_NODE`], names
    /// `localhost` and `127.0.0.1`): what a client puts in `ca_file`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The same certificate, as a file.
    pub fn ca_file(&self) -> PathBuf {
        self.path("data/certs/ca.crt")
    }

    /// Livestatus' unix socket (when [`Icinga2Options::livestatus`]).
    pub fn livestatus_socket(&self) -> PathBuf {
        self.path("run/livestatus")
    }

    /// The state file (what [`Retention::Drop`] deletes).
    pub fn state_file(&self) -> PathBuf {
        self.path("data/icinga2.state")
    }

    /// icinga2.log so far (its `FileLogger`, severity information).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("log/icinga2.log")).unwrap_or_default()
    }

    /// What the process printed (its console log).
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.path("icinga2.out")).unwrap_or_default()
    }

    /// How long the last start took, from spawning Icinga 2 until its API
    /// answered.
    pub fn started_in(&self) -> Duration {
        *self.started_in.lock().unwrap()
    }

    fn defines(&self) -> Vec<String> {
        let d = self.dir.path().display();
        vec![
            format!("-DDataDir={d}/data"),
            format!("-DLogDir={d}/log"),
            format!("-DCacheDir={d}/cache"),
            format!("-DSpoolDir={d}/spool"),
            format!("-DInitRunDir={d}/run"),
            format!("-DZonesDir={d}/zones.d"),
        ]
    }

    fn command(&self) -> Command {
        let (user, group) = if self.root {
            ("nagios".to_owned(), "nagios".to_owned())
        } else {
            current_user_and_group()
        };
        let mut c = Command::new(ICINGA2_BIN);
        c.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .env("ICINGA2_USER", user)
            .env("ICINGA2_GROUP", group)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        c
    }

    #[track_caller]
    fn validate(&self) {
        let out = self
            .command()
            .arg("daemon")
            .arg("-C")
            .arg("-c")
            .arg(self.path("icinga2.conf"))
            .args(self.defines())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "icinga2 daemon -C rejects the configuration:\n{}{}\n--- icinga2.conf\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.path("icinga2.conf")).unwrap_or_default()
        );
    }

    fn write_config(&self) {
        let o = &self.opts;
        let d = self.dir.path().display();
        let (low, high) = o.flapping_thresholds;
        let flap = o.flapping;
        let mut text = format!(
            "// esia-glpi tests: a private Icinga 2\n\
             const NodeName = \"{ICINGA2_NODE}\"\nconst ZoneName = \"{ICINGA2_NODE}\"\n\
             include <itl>\n\n\
             object Endpoint NodeName {{ }}\n\
             object Zone ZoneName {{ endpoints = [ NodeName ] }}\n\
             object ApiListener \"api\" {{\n  bind_host = \"127.0.0.1\"\n  bind_port = {port}\n\
             \x20 accept_commands = false\n  accept_config = false\n}}\n\
             object ApiUser \"{ICINGA2_API_USER}\" {{\n  password = \"{ICINGA2_API_PASSWORD}\"\n\
             \x20 permissions = [ \"*\" ]\n}}\n\
             object IcingaApplication \"app\" {{\n  enable_notifications = true\n\
             \x20 enable_flapping = {flap}\n  enable_event_handlers = false\n\
             \x20 enable_perfdata = false\n}}\n\
             object CheckerComponent \"checker\" {{ }}\n\
             object NotificationComponent \"notification\" {{ }}\n\
             object FileLogger \"main-log\" {{\n  severity = \"information\"\n\
             \x20 path = LogDir + \"/icinga2.log\"\n}}\n\
             object CheckCommand \"esia-test-passive\" {{ command = [ \"/bin/true\" ] }}\n\
             object User \"esia\" {{\n  enable_notifications = true\n  email = \"nobody@example.org\"\n}}\n",
            port = self.port(),
        );
        if o.livestatus {
            let _ = write!(
                text,
                "object LivestatusListener \"livestatus\" {{\n  socket_type = \"unix\"\n\
                 \x20 socket_path = \"{d}/run/livestatus\"\n}}\n"
            );
        }
        let mut groups: Vec<&str> = o.hosts.iter().filter_map(|h| h.group.as_deref()).collect();
        groups.sort_unstable();
        groups.dedup();
        for g in groups {
            let _ = writeln!(text, "object HostGroup \"{g}\" {{ }}");
        }
        for h in &o.hosts {
            let groups = h
                .group
                .as_ref()
                .map(|g| format!("  groups = [ \"{g}\" ]\n"))
                .unwrap_or_default();
            let _ = write!(
                text,
                "object Host \"{n}\" {{\n  address = \"{a}\"\n{groups}\
                 \x20 check_command = \"esia-test-passive\"\n  enable_active_checks = false\n\
                 \x20 enable_passive_checks = true\n  max_check_attempts = 1\n\
                 \x20 enable_flapping = {flap}\n  flapping_threshold_low = {low}\n\
                 \x20 flapping_threshold_high = {high}\n  vars.esia_renotify = {r}\n}}\n",
                n = h.name,
                a = h.address,
                r = h.renotify,
            );
            for s in &h.services {
                let _ = write!(
                    text,
                    "object Service \"{n}\" {{\n  host_name = \"{h}\"\n\
                     \x20 check_command = \"esia-test-passive\"\n  enable_active_checks = false\n\
                     \x20 enable_passive_checks = true\n  max_check_attempts = 1\n\
                     \x20 enable_flapping = {sflap}\n  flapping_threshold_low = {low}\n\
                     \x20 flapping_threshold_high = {high}\n  vars.esia_renotify = {r}\n}}\n",
                    h = h.name,
                    n = s.name,
                    r = s.renotify,
                    sflap = flap && s.flapping,
                );
            }
        }
        // The test's own rules, unless `commands` brings its own (the
        // shipped wiring).
        if !o.service_command.is_empty() {
            let _ = write!(
                text,
                "apply Notification \"esia-service\" to Service {{\n  command = \"{}\"\n\
             \x20 users = [ \"esia\" ]\n  interval = service.vars.esia_renotify\n\
             \x20 types = {}\n  states = {}\n  assign where true\n}}\n\
             apply Notification \"esia-host\" to Host {{\n  command = \"{}\"\n\
             \x20 users = [ \"esia\" ]\n  interval = host.vars.esia_renotify\n\
             \x20 types = {}\n  states = {}\n  assign where true\n}}\n",
                o.service_command,
                o.types,
                o.service_states,
                o.host_command,
                o.types,
                o.host_states
            );
        }
        text.push_str(&o.commands);
        text.push('\n');
        text.push_str(&o.extra);
        text.push('\n');
        std::fs::write(self.path("icinga2.conf"), text).unwrap();
        if self.root {
            chown_to_engine_user(self.dir.path());
        }
    }

    fn launch(&self) -> Result<(), String> {
        let mut slot = self.child.lock().unwrap();
        assert!(slot.is_none(), "Icinga 2 is already running");
        let out = std::fs::File::create(self.path("icinga2.out")).unwrap();
        let t0 = Instant::now();
        let mut child = self
            .command()
            .arg("daemon")
            .arg("-c")
            .arg(self.path("icinga2.conf"))
            .args(self.defines())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Err(format!(
                    "icinga2 exited at start ({status}):\n{}",
                    self.output()
                ));
            }
            if let Ok((200, _)) = self.try_api("GET", "/v1/status/IcingaApplication", None) {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the API did not answer within a minute:\n{}",
                    self.output()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        *self.started_in.lock().unwrap() = t0.elapsed();
        *slot = Some(child);
        Ok(())
    }

    /// Stops Icinga 2 (SIGTERM: it writes its state file and exits) and
    /// waits until it is gone.
    #[track_caller]
    pub fn stop(&self) {
        let mut child = self
            .child
            .lock()
            .unwrap()
            .take()
            .expect("stop: Icinga 2 is not running");
        signal(child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("Icinga 2 did not stop within 30 s:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops Icinga 2 and starts it again, from its state file or with none
    /// ([`Retention::Drop`]: the state file and the modified attributes are
    /// deleted; downtimes and comments made through the API are config
    /// objects of the `_api` package under `data/api` and survive).
    #[track_caller]
    pub fn restart(&self, retention: Retention) {
        self.stop();
        self.start_again(retention);
    }

    /// Starts a stopped Icinga 2 again (same port).
    #[track_caller]
    pub fn start_again(&self, retention: Retention) {
        if retention == Retention::Drop {
            let _ = std::fs::remove_file(self.state_file());
            let _ = std::fs::remove_file(self.path("data/modified-attributes.conf"));
        }
        if let Err(e) = self.launch() {
            panic!("Icinga 2 did not start again:\n{e}");
        }
    }

    /// One API request; its status and JSON body (Null when not JSON).
    pub fn try_api(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, serde_json::Value), String> {
        let url = format!("{}{path}", self.api_url());
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut req = self
            .http
            .request(method.clone(), &url)
            .basic_auth(ICINGA2_API_USER, Some(ICINGA2_API_PASSWORD))
            .header("Accept", "application/json");
        if method != reqwest::Method::GET {
            // Icinga 2 wants POST for actions and object changes; a GET
            // with a body is answered like one without.
            req = req.json(body.unwrap_or(&serde_json::json!({})));
        }
        self.rt.block_on(async {
            let resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
            let status = resp.status().as_u16();
            let text = resp.text().await.map_err(|e| format!("{url}: {e}"))?;
            Ok((
                status,
                serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            ))
        })
    }

    /// An API request (`"GET"`, `"POST"`, …) that must succeed (2xx); its
    /// JSON body.
    #[track_caller]
    pub fn api(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> serde_json::Value {
        match self.try_api(method, path, body) {
            Ok((status, v)) if (200..300).contains(&status) => v,
            Ok((status, v)) => panic!(
                "{method} {path} {body:?}: HTTP {status}\n{v:#}\n--- icinga2.log (end)\n{}",
                tail(&self.log(), 30)
            ),
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    /// POST /v1/actions/<action> for the objects of `type` matching
    /// `filter`, with `body`'s other fields.
    #[track_caller]
    pub fn action(
        &self,
        action: &str,
        target: &Target,
        mut body: serde_json::Value,
    ) -> serde_json::Value {
        let obj = body.as_object_mut().unwrap();
        obj.insert("type".into(), target.kind().into());
        obj.insert("filter".into(), target.filter().into());
        let v = self.api("POST", &format!("/v1/actions/{action}"), Some(&body));
        let results = v["results"].as_array().cloned().unwrap_or_default();
        assert!(
            !results.is_empty() && results.iter().all(|r| r["code"].as_f64() == Some(200.0)),
            "{action} on {target:?}: {v:#}"
        );
        v
    }

    /// A passive service result (`process-check-result`): exit status 0 OK,
    /// 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    #[track_caller]
    pub fn service_result(&self, host: &str, service: &str, exit_status: u8, output: &str) {
        self.action(
            "process-check-result",
            &Target::service(host, service),
            serde_json::json!({ "exit_status": exit_status, "plugin_output": output }),
        );
    }

    /// A passive host result: 0 UP, 1 DOWN.
    #[track_caller]
    pub fn host_result(&self, host: &str, state: u8, output: &str) {
        self.action(
            "process-check-result",
            &Target::host(host),
            serde_json::json!({ "exit_status": state, "plugin_output": output }),
        );
    }

    /// Acknowledges a problem (not sticky, notify).
    #[track_caller]
    pub fn acknowledge(&self, target: &Target, author: &str, comment: &str) {
        self.action(
            "acknowledge-problem",
            target,
            serde_json::json!({ "author": author, "comment": comment, "notify": true }),
        );
    }

    #[track_caller]
    pub fn remove_acknowledgement(&self, target: &Target) {
        self.action("remove-acknowledgement", target, serde_json::json!({}));
    }

    /// A custom notification (`force`: even if notifications are off).
    #[track_caller]
    pub fn custom_notification(&self, target: &Target, author: &str, comment: &str) {
        self.action(
            "send-custom-notification",
            target,
            serde_json::json!({ "author": author, "comment": comment }),
        );
    }

    /// A fixed downtime from now for `length`; its name (for
    /// [`Icinga2::remove_downtime`]).
    #[track_caller]
    pub fn schedule_downtime(
        &self,
        target: &Target,
        length: Duration,
        author: &str,
        comment: &str,
    ) -> String {
        let now = unix_now();
        let v = self.action(
            "schedule-downtime",
            target,
            serde_json::json!({
                "start_time": now, "end_time": now + length.as_secs().max(1),
                "fixed": true, "author": author, "comment": comment,
            }),
        );
        v["results"][0]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Removes (cancels) the downtimes of `target`.
    #[track_caller]
    pub fn remove_downtimes(&self, target: &Target) {
        self.action("remove-downtime", target, serde_json::json!({}));
    }

    /// Turns an object's notifications on or off (its
    /// `enable_notifications`, a modified attribute).
    #[track_caller]
    pub fn set_notifications_of(&self, target: &Target, on: bool) {
        let path = match target {
            Target::Service { host, service } => format!("/v1/objects/services/{host}!{service}"),
            Target::Host { host } => format!("/v1/objects/hosts/{host}"),
        };
        self.api(
            "POST",
            &path,
            Some(&serde_json::json!({ "attrs": { "enable_notifications": on } })),
        );
    }

    /// Turns notifications on or off program-wide.
    #[track_caller]
    pub fn set_notifications(&self, on: bool) {
        self.api(
            "POST",
            "/v1/objects/icingaapplications/app",
            Some(&serde_json::json!({ "attrs": { "enable_notifications": on } })),
        );
    }

    /// The attributes of a service (`/v1/objects/services/HOST!SERVICE`).
    #[track_caller]
    pub fn service_attrs(&self, host: &str, service: &str) -> serde_json::Value {
        let v = self.api(
            "GET",
            &format!("/v1/objects/services/{host}!{service}"),
            None,
        );
        v["results"][0]["attrs"].clone()
    }

    /// The attributes of a host.
    #[track_caller]
    pub fn host_attrs(&self, host: &str) -> serde_json::Value {
        let v = self.api("GET", &format!("/v1/objects/hosts/{host}"), None);
        v["results"][0]["attrs"].clone()
    }

    /// Sends a Livestatus query (its lines, without the final empty line)
    /// and returns the answer.
    #[track_caller]
    pub fn livestatus(&self, query: &str) -> String {
        use std::os::unix::net::UnixStream;
        let mut s = UnixStream::connect(self.livestatus_socket())
            .unwrap_or_else(|e| panic!("Livestatus {}: {e}", self.livestatus_socket().display()));
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(format!("{}\n\n", query.trim_end()).as_bytes())
            .unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    }

    /// [`Recorder::wait_for`], with Icinga's log in the failure message.
    #[track_caller]
    pub fn wait_calls(
        &self,
        rec: &Recorder,
        what: &str,
        timeout: Duration,
        done: impl FnMut(&[Call]) -> bool,
    ) -> Vec<Call> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rec.wait_for(what, timeout, done)
        })) {
            Ok(calls) => calls,
            Err(e) => panic!(
                "{}\n--- icinga2.log (end)\n{}",
                panic_text(&*e),
                tail(&self.log(), 40)
            ),
        }
    }
}

impl Drop for Icinga2 {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.get_mut().ok().and_then(Option::take) {
            signal(c.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An Icinga 2 host or service, for the API's actions.
#[derive(Debug, Clone)]
pub enum Target {
    Host { host: String },
    Service { host: String, service: String },
}

impl Target {
    pub fn host(host: &str) -> Target {
        Target::Host {
            host: host.to_owned(),
        }
    }

    pub fn service(host: &str, service: &str) -> Target {
        Target::Service {
            host: host.to_owned(),
            service: service.to_owned(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Target::Host { .. } => "Host",
            Target::Service { .. } => "Service",
        }
    }

    fn filter(&self) -> String {
        match self {
            Target::Host { host } => format!("host.name=={}", json_str(host)),
            Target::Service { host, service } => format!(
                "host.name=={} && service.name=={}",
                json_str(host),
                json_str(service)
            ),
        }
    }
}

fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// A self-signed certificate for the API (ECDSA P-256, CN the node name,
/// names `localhost` and `127.0.0.1`), written as `<node>.crt`, `<node>.key`
/// and `ca.crt` in `certs` (Icinga's `DataDir/certs`); its PEM.
fn write_api_certificate(certs: &Path) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, ICINGA2_NODE);
    let cert = params.self_signed(&key).unwrap();
    let pem = cert.pem();
    std::fs::write(certs.join(format!("{ICINGA2_NODE}.crt")), &pem).unwrap();
    std::fs::write(certs.join("ca.crt"), &pem).unwrap();
    let key_path = certs.join(format!("{ICINGA2_NODE}.key"));
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    set_mode(&key_path, 0o600);
    pem
}

// ---------------------------------------------------------------------------
// Helpers

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The user and group names we run as (`id -un`, `id -gn`).
fn current_user_and_group() -> (String, String) {
    let id = |flag: &str| {
        let out = Command::new("id").arg(flag).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    (id("-un"), id("-gn"))
}

/// Gives `path` (recursively) to the `nagios` user, which runs both
/// engines when we are root.
#[track_caller]
fn chown_to_engine_user(path: &Path) {
    let out = Command::new("chown")
        .args(["-R", "nagios:nagios"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chown nagios {}: {} (as root the engines run as the `nagios` system user, which \
         Debian's nagios4-common and icinga2-common packages create: {NAGIOS_FIX})",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Opens a FIFO for writing without blocking: fails (ENXIO) while no
/// process reads it.
fn open_fifo(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits().cast_signed())
        .open(path)
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Whether `pid` is a live process (not gone, not a zombie nobody reaped).
fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // pid (comm) STATE ...: the state follows the last ')'.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X')
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}
