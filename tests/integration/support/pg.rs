//! A private PostgreSQL server for one test (or one benchmark): its own
//! cluster in a temp dir (`initdb`), listening on 127.0.0.1 on a free port
//! with its unix socket in the same dir, a role `esia` with a password and a
//! database `esia` it owns — what a site gives the program (SPEC
//! "Configuration", `[state]`). Real server binaries from Debian's
//! `postgresql` package, never a mock; `tests/run.sh` installs them, and a
//! missing server is a loud failure with the fix, never a skip.
//!
//! Run as root (CI), the server binaries run as the `postgres` system user
//! through `runuser` (`initdb` and `postgres` refuse root), the temp dir
//! chowned to it; as a normal user they run directly.
//!
//! [`Pg::kill`] stops the server the way a crash does (`pg_ctl stop -m
//! immediate`: no checkpoint, every connection cut), [`Pg::restart`] starts
//! it again on the same data dir and port. Dropping a [`Pg`] stops the server
//! and removes the dir.
//!
//! Shared with `examples/storm.rs` through `#[path]`: std and tempfile only.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::unused_self)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

/// The password of the role `esia`: distinctive, so that a test can prove it
/// never appears in any output.
pub const PASSWORD: &str = "pg-Secr3t-7f19c2d4e8a6";

/// The role and the database the program uses.
pub const USER: &str = "esia";
pub const DATABASE: &str = "esia";

/// What to run when the server binaries are missing.
const FIX: &str = "install Debian's PostgreSQL server: `bash tests/run.sh` does it \
                   (or `apt-get install -y postgresql`); or point ESIA_TEST_PG_BIN at \
                   the directory holding initdb, pg_ctl and psql";

/// One private PostgreSQL cluster, running until [`Pg::kill`] or drop.
pub struct Pg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Run the server binaries as the `postgres` system user (we are root).
    as_postgres: bool,
    running: Mutex<bool>,
}

impl Pg {
    /// A new cluster, started, with the role and database `esia`.
    #[track_caller]
    pub fn start() -> Pg {
        let bin = server_bin();
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("esia-pg-")
            .tempdir()
            .unwrap();
        if as_postgres {
            let chown = Command::new("chown")
                .arg("postgres:")
                .arg(dir.path())
                .output()
                .unwrap();
            assert!(
                chown.status.success(),
                "chown postgres {}: {} (as root the server runs as the `postgres` \
                 system user, which Debian's postgresql package creates: {FIX})",
                dir.path().display(),
                String::from_utf8_lossy(&chown.stderr)
            );
        }
        let mut pg = Pg {
            dir,
            bin,
            port: 0,
            as_postgres,
            running: Mutex::new(false),
        };
        let data = pg.data();
        pg.server_cmd("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .checked("initdb");
        // A port that was free a moment ago; another process may take it
        // before the server binds it, so try a few.
        let mut last = String::new();
        for _ in 0..5 {
            pg.port = free_port();
            pg.write_conf();
            match pg.try_start() {
                Ok(()) => {
                    pg.create_role_and_database();
                    return pg;
                }
                Err(e) => last = e,
            }
        }
        panic!("the PostgreSQL server did not start:\n{last}");
    }

    /// The port the server listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL the program is given: no password in it.
    pub fn url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// Writes the password, 0600, at `path` (the configuration's
    /// `password_file`).
    pub fn write_password_file(&self, path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, format!("{PASSWORD}\n")).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// The `[state]` table of a configuration using this database, its
    /// password in `password_file` (written by the caller).
    pub fn state_table(&self, password_file: &Path) -> String {
        format!(
            "[state]\nbackend = \"postgres\"\nurl = \"{}\"\npassword_file = \"{}\"\n",
            self.url(),
            password_file.display()
        )
    }

    /// Runs `sql` as the superuser over the unix socket, in `database`;
    /// the rows as `psql -At` prints them (`|` between columns).
    #[track_caller]
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = self.try_psql(database, sql);
        assert!(
            out.status.success(),
            "psql {sql:?}: {}\n--- server log\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// [`Pg::psql`] in the database `esia`.
    #[track_caller]
    pub fn query(&self, sql: &str) -> String {
        self.psql(DATABASE, sql)
    }

    /// `psql` as the superuser, its outcome whatever it is.
    pub fn try_psql(&self, database: &str, sql: &str) -> Output {
        let mut c = self.client_cmd();
        c.args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-U", "postgres"])
            .arg("-h")
            .arg(self.socket_dir())
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-d", database, "-c", sql]);
        c.output().unwrap()
    }

    /// `psql` as `esia` over TCP with its password, as the program connects.
    pub fn try_psql_as_esia(&self, sql: &str) -> Output {
        let mut c = self.client_cmd();
        c.env("PGPASSWORD", PASSWORD)
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", USER, "-d", DATABASE, "-c", sql]);
        c.output().unwrap()
    }

    /// The database `esia` as `pg_dump` prints it, restorable by `psql` as a
    /// role that owns the new database: no owners, no rights (the restoring
    /// role owns what it creates), no `\restrict` framing (its key is random
    /// per dump, and older psql versions do not know it).
    #[track_caller]
    pub fn dump(&self) -> String {
        self.pg_dump(&["--no-owner", "--no-privileges"])
    }

    /// Runs `psql -f dump` as `esia` over TCP, as a site restores a dump.
    #[track_caller]
    pub fn restore_as_esia(&self, dump: &Path) {
        let mut c = self.client_cmd();
        let out = c
            .env("PGPASSWORD", PASSWORD)
            .env("LC_ALL", "C")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", USER, "-d", DATABASE, "-f"])
            .arg(dump)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql -f {}: {}",
            dump.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The data of the database `esia`, as `pg_dump --data-only` prints it
    /// (every row of every table, whatever the schema).
    #[track_caller]
    pub fn dump_data(&self) -> String {
        self.pg_dump(&["--data-only", "--no-owner"])
    }

    /// The schema of the database `esia`, as `pg_dump --schema-only`
    /// prints it.
    #[track_caller]
    pub fn dump_schema(&self) -> String {
        self.pg_dump(&["--schema-only", "--no-owner"])
    }

    #[track_caller]
    fn pg_dump(&self, options: &[&str]) -> String {
        let mut c = Command::new(self.bin.join("pg_dump"));
        clean_env(&mut c);
        c.stdin(Stdio::null())
            .env("LC_ALL", "C")
            .args(options)
            .args(["-U", "postgres"])
            .arg("-h")
            .arg(self.socket_dir())
            .arg("-p")
            .arg(self.port.to_string())
            .arg(DATABASE);
        // Recent pg_dump versions frame the dump with `\restrict <random
        // key>` lines: not part of what was dumped.
        String::from_utf8_lossy(&c.checked("pg_dump").stdout)
            .lines()
            .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
            .fold(String::new(), |acc, l| acc + l + "\n")
    }

    /// Whether the server accepts connections.
    pub fn is_up(&self) -> bool {
        self.try_psql("postgres", "SELECT 1")
            .stdout
            .starts_with(b"1")
    }

    /// Stops the server as a crash would: `pg_ctl stop -m immediate` (the
    /// postmaster and every backend quit at once, no checkpoint; every
    /// client connection is cut).
    #[track_caller]
    pub fn kill(&self) {
        let mut running = self.running.lock().unwrap();
        assert!(*running, "kill: the server is not running");
        self.server_cmd("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["stop", "-m", "immediate", "-w", "-t", "30"])
            .checked("pg_ctl stop -m immediate");
        *running = false;
    }

    /// Stops the server cleanly (`-m fast`: clients cut, a checkpoint).
    #[track_caller]
    pub fn stop(&self) {
        let mut running = self.running.lock().unwrap();
        assert!(*running, "stop: the server is not running");
        self.server_cmd("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["stop", "-m", "fast", "-w", "-t", "30"])
            .checked("pg_ctl stop -m fast");
        *running = false;
    }

    /// Starts the stopped server again, same data dir, same port (crash
    /// recovery replays the WAL after [`Pg::kill`]).
    #[track_caller]
    pub fn restart(&self) {
        assert!(
            !*self.running.lock().unwrap(),
            "restart: the server is running"
        );
        // The port was ours until the kill; another process could have taken
        // it since, which is worth a clear message.
        if let Err(e) = self.try_start() {
            panic!(
                "the PostgreSQL server did not start again on port {}:\n{e}",
                self.port
            );
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The temp dir holding the cluster, its socket and its log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn socket_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The settings of this cluster, appended to its postgresql.conf (the
    /// last one wins): loopback only, its own socket dir, room for two
    /// storms of 24 runs and more, and no fsync: a killed server keeps what
    /// reached the kernel (only a machine crash would need fsync). Commits
    /// stay synchronous: with `synchronous_commit = off` a kill loses
    /// transactions the program was told were committed.
    fn write_conf(&self) {
        let path = self.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path).unwrap();
        let _ = write!(
            text,
            "\n# esia-glpi tests\nlisten_addresses = '127.0.0.1'\nport = {}\n\
             unix_socket_directories = '{}'\nmax_connections = 300\n\
             shared_buffers = 32MB\nfsync = off\nfull_page_writes = off\n\
             log_min_messages = warning\n\
             log_connections = off\n",
            self.port,
            self.socket_dir().display()
        );
        std::fs::write(&path, text).unwrap();
    }

    fn try_start(&self) -> Result<(), String> {
        let mut running = self.running.lock().unwrap();
        let out = self
            .server_cmd("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["start", "-w", "-t", "60"])
            .output()
            .unwrap();
        if out.status.success() {
            *running = true;
            Ok(())
        } else {
            // A failed start may leave nothing running; make sure.
            let _ = self
                .server_cmd("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["stop", "-m", "immediate", "-w"])
                .output();
            Err(format!(
                "{}{}\n--- server log\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log()
            ))
        }
    }

    fn create_role_and_database(&self) {
        self.psql(
            "postgres",
            &format!("CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'"),
        );
        // Not in one -c: CREATE DATABASE cannot run inside a transaction.
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {DATABASE} OWNER {USER}"),
        );
    }

    /// A server binary (`initdb`, `pg_ctl`), as the `postgres` user when we
    /// are root; a clean environment (no PG* variable of the developer).
    fn server_cmd(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        clean_env(&mut c);
        c.current_dir(self.dir.path());
        c
    }

    /// `psql` from the same bin dir, as ourselves.
    fn client_cmd(&self) -> Command {
        let mut c = Command::new(self.bin.join("psql"));
        clean_env(&mut c);
        c.stdin(Stdio::null());
        c
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let running = self.running.get_mut().map_or(true, |r| *r);
        if running {
            let _ = self
                .server_cmd("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["stop", "-m", "immediate", "-w", "-t", "30"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// PgBouncer in session pooling mode in front of a [`Pg`] — what a site
/// puts between many short runs and the database so that a run does not
/// cost the server a new process (README "Several monitoring servers").
/// It authenticates `esia` with the server's own SCRAM secret (copied from
/// `pg_authid`), listens on 127.0.0.1 on a free port, and resets each
/// server connection with `DISCARD ALL` when its client leaves (which
/// releases the client's advisory locks). Debian's `pgbouncer` package;
/// `tests/run.sh` installs it. Dropping it stops it.
pub struct Bouncer {
    dir: PathBuf,
    port: u16,
}

impl Pg {
    /// Starts PgBouncer (session pooling) in front of this server.
    #[track_caller]
    pub fn start_bouncer(&self) -> Bouncer {
        self.start_bouncer_in("session")
    }

    /// Starts PgBouncer with `pool_mode` (`session`, `transaction` or
    /// `statement`) in front of this server.
    #[track_caller]
    pub fn start_bouncer_in(&self, pool_mode: &str) -> Bouncer {
        self.start_bouncer_pool(pool_mode, 64)
    }

    /// Starts PgBouncer with `pool_mode` and at most `pool_size` server
    /// sessions for the database (`default_pool_size`).
    #[track_caller]
    pub fn start_bouncer_pool(&self, pool_mode: &str, pool_size: u32) -> Bouncer {
        let program = bouncer_bin();
        let dir = self.dir.path().join("bouncer");
        std::fs::create_dir_all(&dir).unwrap();
        let secret = self.psql(
            "postgres",
            &format!("SELECT rolpassword FROM pg_authid WHERE rolname = '{USER}'"),
        );
        std::fs::write(
            dir.join("users.txt"),
            format!("\"{USER}\" \"{}\"\n", secret.trim()),
        )
        .unwrap();
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let ini = format!(
                "[databases]\n{DATABASE} = host=127.0.0.1 port={} dbname={DATABASE}\n\
                 [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
                 unix_socket_dir =\nauth_type = scram-sha-256\n\
                 auth_file = {dir}/users.txt\npool_mode = {pool_mode}\n\
                 server_reset_query = DISCARD ALL\nmax_client_conn = 1000\n\
                 default_pool_size = {pool_size}\nlogfile = {dir}/pgbouncer.log\n\
                 pidfile = {dir}/pgbouncer.pid\nlog_connections = 0\n\
                 log_disconnections = 0\n",
                self.port,
                dir = dir.display()
            );
            std::fs::write(dir.join("pgbouncer.ini"), ini).unwrap();
            if self.as_postgres {
                Command::new("chown")
                    .args(["-R", "postgres:"])
                    .arg(&dir)
                    .checked("chown the PgBouncer dir");
            }
            let mut c = if self.as_postgres {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&program);
                c
            } else {
                Command::new(&program)
            };
            clean_env(&mut c);
            let out = c
                .arg("-d")
                .arg(dir.join("pgbouncer.ini"))
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let bouncer = Bouncer {
                dir: dir.clone(),
                port,
            };
            if out.status.success() && bouncer.wait_listening() {
                return bouncer;
            }
            last = format!(
                "{}{}\n--- pgbouncer log\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default()
            );
            drop(bouncer);
        }
        panic!("PgBouncer did not start:\n{last}");
    }
}

impl Bouncer {
    /// The URL the program is given: no password in it.
    pub fn url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The `[state]` table of a configuration reaching the database through
    /// this PgBouncer, its password in `password_file`.
    pub fn state_table(&self, password_file: &Path) -> String {
        format!(
            "[state]\nbackend = \"postgres\"\nurl = \"{}\"\npassword_file = \"{}\"\n",
            self.url(),
            password_file.display()
        )
    }

    fn pid(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("pgbouncer.pid"))
            .ok()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    }

    /// True once it accepts TCP connections (within 10 s).
    fn wait_listening(&self) -> bool {
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-INT", &pid])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The `pgbouncer` program: on PATH, or Debian's `/usr/sbin/pgbouncer`.
#[track_caller]
pub fn bouncer_bin() -> PathBuf {
    find_bouncer_bin().unwrap_or_else(|| {
        panic!(
            "no pgbouncer program found: install Debian's PgBouncer: `bash tests/run.sh` does \
             it (or `apt-get install -y pgbouncer`)"
        )
    })
}

/// [`bouncer_bin`] without the panic.
pub fn find_bouncer_bin() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("pgbouncer"))
        .find(|p| p.is_file())
}

/// Cleared environment but PATH and a locale: no `PGHOST`, `PGPORT`,
/// `PGPASSWORD`… of the developer reaches the server or psql.
fn clean_env(c: &mut Command) {
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LC_ALL", "C");
}

trait Checked {
    fn checked(&mut self, what: &str) -> Output;
}

impl Checked for Command {
    #[track_caller]
    fn checked(&mut self, what: &str) -> Output {
        let out = self.output().unwrap();
        assert!(
            out.status.success(),
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

/// The directory of the PostgreSQL server binaries: `ESIA_TEST_PG_BIN`, or
/// the newest `/usr/lib/postgresql/<version>/bin` (Debian keeps them off
/// PATH), or the directory of an `initdb` on PATH. Panics with the fix when
/// there is none.
#[track_caller]
pub fn server_bin() -> PathBuf {
    match find_server_bin() {
        Some(dir) => dir,
        None => panic!("no PostgreSQL server binaries (initdb, pg_ctl, psql) found: {FIX}"),
    }
}

/// [`server_bin`] without the panic.
pub fn find_server_bin() -> Option<PathBuf> {
    let complete = |d: &Path| {
        ["initdb", "pg_ctl", "postgres", "psql"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    if let Some(d) = std::env::var_os("ESIA_TEST_PG_BIN") {
        let d = PathBuf::from(d);
        return complete(&d).then_some(d);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            complete(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).find(|d| complete(d))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
