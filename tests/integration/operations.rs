//! Operations: the man pages and completions generated from the clap model
//! (the completions run in the real shells: `completions.rs`), the Debian
//! package's contents (`dpkg-deb`), its postinst (run with `$DPKG_ROOT` a
//! temporary directory and stand-ins for the commands that change users,
//! owners and units), and logging to syslog / journald on request.
//!
//! The man-page render (`man -l`) and the .deb checks need man-db, dpkg-deb
//! and a .deb built by `pkg/build-deb.sh`: the README's test command
//! (`bash tests/run.sh`) installs and builds them first. A missing one is a
//! failure, never a skip.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::glpi_sim::{Fault, FaultKind};
use crate::support::{BIN, Env};

/// Fails: `what` is missing (never a skip).
#[track_caller]
pub(crate) fn missing(what: &str, why: &str) -> ! {
    panic!(
        "{what} is missing ({why}): run the tests with the README's test command, \
         bash tests/run.sh, which installs and builds what they need"
    )
}

pub(crate) fn has_tool(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub(crate) fn generate() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("generate")
        .arg(dir.path())
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    dir
}

/// Every man page `generate` writes: section 1 for the program, each
/// visible command and the two alert programs, section 5 for the file.
pub(crate) const MAN_PAGES: [&str; 11] = [
    "esia-glpi.1",
    "esia-glpi-notify.1",
    "esia-glpi-check.1",
    "esia-glpi-flush.1",
    "esia-glpi-state.1",
    "esia-glpi-render.1",
    "esia-glpi-health.1",
    "esia-glpi-reconcile.1",
    "SEND_TICKET_GLPI.1",
    "SEND_TICKET_GLPI_MAIL.1",
    "glpi.conf.5",
];

/// The sections every page has, in this order.
const SECTIONS: [&str; 8] = [
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "EXIT STATUS",
    "ENVIRONMENT",
    "FILES",
    "EXAMPLES",
    "SEE ALSO",
];

#[test]
fn man_pages_and_completions_come_from_the_cli_model() {
    let dir = generate();
    let mut written: Vec<String> = std::fs::read_dir(dir.path().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = MAN_PAGES.iter().map(|p| (*p).to_owned()).collect();
    expected.sort();
    assert_eq!(
        written, expected,
        "one page per visible command (none for the hidden packaging command)"
    );
    let bash = std::fs::read_to_string(dir.path().join("completions/esia-glpi.bash")).unwrap();
    for word in ["notify", "flush", "--mail", "--priority", "--log"] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(dir.path().join("completions/esia-glpi.bash"))
        .status()
        .unwrap();
    assert!(syntax.success());
    for other in ["_esia-glpi", "esia-glpi.fish"] {
        let text = std::fs::read_to_string(dir.path().join("completions").join(other)).unwrap();
        assert!(text.contains("mail") && text.contains("notify"), "{other}");
    }
}

/// `man --warnings -l PAGE` at 80 columns, as an administrator's terminal
/// shows it: (text, warnings).
fn render_man(page: &Path) -> (String, String) {
    let out = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(page)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    assert!(out.status.success(), "man -l {}: {out:?}", page.display());
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A page rendered (`path`, plain or gzipped), checked for warnings,
/// sections and width: its words, whitespace collapsed (filled text is
/// justified).
fn check_page(page: &str, path: &Path) -> String {
    if !has_tool("man") {
        missing("man (man-db)", "apt-get install man-db");
    }
    let (text, warnings) = render_man(path);
    assert!(
        warnings.trim().is_empty(),
        "man/groff warnings for {page}: {warnings}"
    );
    // Section headings start in the first column; the header and footer
    // lines carry the page's name.
    let headings: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with(|c: char| c.is_ascii_uppercase()) && !l.contains("esia-glpi manual")
        })
        .filter(|l| !l.starts_with("esia-glpi "))
        .collect();
    let order: Vec<&str> = headings
        .iter()
        .copied()
        .filter(|h| SECTIONS.contains(h))
        .collect();
    assert_eq!(order, SECTIONS, "{page}: sections {headings:?}");
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "{page}: a line wider than 80 columns: {line:?}"
        );
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every page `generate` writes, checked.
fn render_all() -> std::collections::HashMap<&'static str, String> {
    let dir = generate();
    MAN_PAGES
        .iter()
        .map(|page| (*page, check_page(page, &dir.path().join("man").join(page))))
        .collect()
}

#[test]
fn the_man_pages_render() {
    let texts = render_all();
    let has = |page: &str, needles: &[&str]| {
        for needle in needles {
            assert!(
                texts[page].contains(needle),
                "man {page} lacks {needle:?}:\n{}",
                texts[page]
            );
        }
    };
    has(
        "esia-glpi.1",
        &[
            "esia-glpi - Turns monitoring alerts",
            "COMMANDS",
            "See esia-glpi-notify(1).",
            "GLPI refused the request",
            "ESIA_GLPI_CONFIG",
            "NAGIOS_HOSTNAME, ICINGA_HOSTNAME",
            "/usr/share/esia-glpi/engines/",
            "/usr/share/doc/esia-glpi/examples/glpi.conf",
            "glpi.conf(5)",
        ],
    );
    has(
        "esia-glpi-notify.1",
        &[
            "--mail <ADDR>",
            "--event-id",
            "GLOBAL OPTIONS",
            "NAGIOS_LASTSERVICEPROBLEMID",
            "7 the ticket action succeeded",
        ],
    );
    has(
        "esia-glpi-state.1",
        &[
            "state show NODE [SERVICE]",
            "state import",
            "forget NODE [SERVICE]",
        ],
    );
    has("esia-glpi-flush.1", &["esia-glpi-flush.timer", "user.conf"]);
    has(
        "esia-glpi-reconcile.1",
        &[
            "reconcile [--dry-run] [--status-file FILE]",
            "esia-glpi-reconcile.timer",
            "esia-glpi-reconcile.service.d/user.conf",
            "nagioscore#817",
            "create_names",
            "margin",
            "8 reconcile: the engine's state source is stale",
            "not configured",
            "would solve ticket 12",
            "unknown_to_engine",
            "glpi.conf(5)",
        ],
    );
    has(
        "SEND_TICKET_GLPI.1",
        &[
            "SEND_TICKET_GLPI [GLOBAL OPTIONS] [-L|--priority N]",
            "esia-glpi notify",
        ],
    );
    has(
        "SEND_TICKET_GLPI_MAIL.1",
        &["NAGIOS_CONTACTEMAIL", "[mail]", "exits 7"],
    );
    has(
        "glpi.conf.5",
        &[
            "GLPI.CONF(5)",
            "inventory_ttl = whole seconds",
            "THE [state] TABLE",
            "THE [mail] TABLE",
            "THE [reconcile] TABLE",
            "create_names = a list of patterns",
            "margin = whole seconds, 0 to 3600",
            "esia-glpi-reconcile(1)",
            "smtp_security",
            "%notification.author",
        ],
    );
    for page in MAN_PAGES {
        assert!(
            !texts[page].contains("send-mail"),
            "{page}: a hidden option"
        );
        assert!(
            !texts[page].split(' ').any(|w| w == "generate"),
            "{page}: the hidden command"
        );
    }
}

/// The README's exit-status table has the codes `--help` prints (8,
/// reconcile's, included), in the same order.
#[test]
fn the_readme_exit_table_is_the_help_one() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = &readme[readme
        .find("\n## Exit status\n")
        .expect("an Exit status section")..];
    let table = &table[..table[1..].find("\n## ").map_or(table.len(), |e| e + 1)];
    let readme_codes: Vec<u8> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| ")?.split_once(" |"))
        .filter_map(|(code, _)| code.trim().parse().ok())
        .collect();
    let help = Command::new(BIN)
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    assert!(help.status.success(), "{help:?}");
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let help_codes: Vec<u8> = help
        .lines()
        .filter_map(|l| l.strip_prefix("  ")?.split_once("  "))
        .filter_map(|(code, _)| code.parse().ok())
        .collect();
    assert_eq!(
        readme_codes, help_codes,
        "README:\n{table}\n--help:\n{help}"
    );
    assert!(readme_codes.contains(&8), "{table}");
}

/// The newest .deb built by pkg/build-deb.sh.
fn built_deb() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("debian")),
        Some(root.join("target/debian")),
    ];
    dirs.into_iter()
        .flatten()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("esia-glpi_"))
                && p.extension().is_some_and(|x| x == "deb")
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let out = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .unwrap();
    assert!(out.status.success(), "dpkg-deb {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn info(deb: &Path, file: &str) -> String {
    let out = Command::new("dpkg-deb")
        .arg("-I")
        .arg(deb)
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "dpkg-deb -I {file}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The man pages (sections 1 and 5: exactly the pages `generate` writes,
/// each rendering cleanly with its sections), the example configuration
/// and the completions, as the package installs them under `tree`.
fn packaged_docs(listing: &str, tree: &Path) {
    let mut pages: Vec<String> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter_map(|p| p.strip_prefix("./usr/share/man/"))
        .filter(|p| !p.is_empty() && !p.ends_with('/'))
        .map(str::to_owned)
        .collect();
    pages.sort();
    let mut expected: Vec<String> = MAN_PAGES
        .iter()
        .map(|p| {
            let section = p.rsplit('.').next().unwrap();
            format!("man{section}/{p}.gz")
        })
        .collect();
    expected.sort();
    assert_eq!(pages, expected, "{listing}");
    for page in &pages {
        check_page(page, &tree.join("usr/share/man").join(page));
    }
    let example = tree.join("usr/share/doc/esia-glpi/examples/glpi.conf");
    assert_eq!(
        std::fs::read_to_string(&example).unwrap(),
        include_str!("../../conf/glpi.conf"),
        "the example is the shipped configuration"
    );
    let mode = std::fs::metadata(&example).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o644,
        "the example holds no token: readable by all"
    );
    let generated = generate();
    for (installed, name) in [
        (
            "usr/share/bash-completion/completions/esia-glpi",
            "esia-glpi.bash",
        ),
        ("usr/share/zsh/vendor-completions/_esia-glpi", "_esia-glpi"),
        (
            "usr/share/fish/vendor_completions.d/esia-glpi.fish",
            "esia-glpi.fish",
        ),
    ] {
        assert_eq!(
            std::fs::read_to_string(tree.join(installed)).unwrap(),
            std::fs::read_to_string(generated.path().join("completions").join(name)).unwrap(),
            "{installed} is not the completion the shells are tested with: rebuild the \
             package (bash pkg/build-deb.sh)"
        );
    }
}

/// The packaged postinst is `pkg/debian/postinst` plus cargo-deb's units
/// section; run (as `postinst_says_whom_it_chose_and_what_next` runs the
/// source), it says what it did and what to do next, and enables and
/// starts both timers.
fn packaged_postinst(deb: &Path) {
    let postinst = info(deb, "postinst");
    let source = include_str!("../../pkg/debian/postinst");
    let (ours, _) = source.split_once("#DEBHELPER#").unwrap();
    assert!(
        postinst.starts_with(ours),
        "the packaged postinst is not pkg/debian/postinst: rebuild the package \
         (bash pkg/build-deb.sh)"
    );
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("postinst");
    std::fs::write(&script, &postinst).unwrap();
    let run = Postinst::run(&script, &["configure", ""], "nagios", None, None);
    run.succeeded();
    run.says(
        "esia-glpi: /var/lib/esia-glpi (the state, mode 0700) now belongs to nagios: the first \
         existing of esia, nagios, icinga (set ESIA_GLPI_USER when installing to choose another).",
    );
    run.says("esia-glpi:     sudo -u nagios esia-glpi check");
    run.says(
        "esia-glpi: wiring the monitoring engine (Nagios 4, Naemon, Icinga 2): \
         /usr/share/esia-glpi/engines/",
    );
    run.did("install -d -m 0700 -o nagios -g nagiosgrp ROOT/var/lib/esia-glpi");
    run.did("chmod 0640 ROOT/etc/esia/glpi.conf");
    for timer in ["esia-glpi-flush.timer", "esia-glpi-reconcile.timer"] {
        run.did(&format!("deb-systemd-helper enable {timer}"));
        // Started (restarted on upgrade) only where systemd runs
        // (`/run/systemd/system`): read, not run.
        assert!(
            postinst
                .lines()
                .any(|l| l.trim_start().starts_with("deb-systemd-invoke ") && l.contains(timer)),
            "the postinst does not start {timer}:\n{postinst}"
        );
    }
    for service in ["esia-glpi-flush.service", "esia-glpi-reconcile.service"] {
        run.never(&format!("deb-systemd-helper enable {service}"));
    }
    assert_eq!(
        run.dropin("esia-glpi-reconcile"),
        run.dropin("esia-glpi-flush")
            .replace("flush runs as", "reconcile runs as flush, as"),
        "reconcile runs as flush does"
    );
}

#[test]
fn the_deb_contents() {
    if !has_tool("dpkg-deb") {
        missing("dpkg-deb", "install dpkg");
    }
    let Some(deb) = built_deb() else {
        missing("target/debian/esia-glpi_*.deb", "run bash pkg/build-deb.sh");
    };
    eprintln!("checking {}", deb.display());
    let listing = dpkg_deb(&["-c"], &deb);
    // "mode owner/group size date time path [-> target]"
    let entry = |path: &str| -> (String, String, Option<String>) {
        listing
            .lines()
            .find_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let at = fields.iter().position(|f| *f == path)?;
                Some((
                    fields[0].to_owned(),
                    fields[1].to_owned(),
                    fields.get(at + 2).map(|t| (*t).to_owned()),
                ))
            })
            .unwrap_or_else(|| panic!("{path} not in the package:\n{listing}"))
    };
    // cargo-deb writes numeric owners: 0/0 is root/root.
    let root = |owner: &str| owner == "root/root" || owner == "0/0";
    let (mode, owner, _) = entry("./usr/bin/esia-glpi");
    assert_eq!(mode, "-rwxr-xr-x");
    assert!(root(&owner), "{owner}");
    for alias in ["SEND_TICKET_GLPI", "SEND_TICKET_GLPI_MAIL"] {
        let (mode, _, target) = entry(&format!("./usr/bin/{alias}"));
        assert!(mode.starts_with('l'), "{alias} is a symlink");
        assert_eq!(target.as_deref(), Some("esia-glpi"), "{alias}");
    }
    let (mode, owner, _) = entry("./etc/esia/glpi.conf");
    assert_eq!(mode, "-rw-r-----", "the conffile holds both tokens");
    assert!(root(&owner), "{owner}");
    let has = |suffix: &str| listing.lines().any(|l| l.trim_end().ends_with(suffix));
    for suffix in [
        "/bash-completion/completions/esia-glpi",
        "/zsh/vendor-completions/_esia-glpi",
        "/fish/vendor_completions.d/esia-glpi.fish",
        "/systemd/system/esia-glpi-flush.service",
        "/systemd/system/esia-glpi-flush.timer",
        "/systemd/system/esia-glpi-reconcile.service",
        "/systemd/system/esia-glpi-reconcile.timer",
    ] {
        assert!(has(suffix), "no {suffix} in the package:\n{listing}");
    }
    assert!(info(&deb, "conffiles").contains("/etc/esia/glpi.conf"));
    packaged_postinst(&deb);

    // The units as installed, and the packaged binary itself.
    let tree = tempfile::tempdir().unwrap();
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(tree.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    packaged_units(tree.path());
    packaged_docs(&listing, tree.path());
    let help = Command::new(tree.path().join("usr/bin/esia-glpi"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("  7  the ticket action succeeded"));
    // The engines' wiring, as the README quotes it and the engine tests load
    // it.
    crate::wiring::assert_installed(tree.path());
}

/// The systemd units as the package installs them under `tree`: flush's
/// timer every minute; reconcile's own oneshot unit every 5 minutes, bound
/// to nothing (a failing flush must not stop it), its failures (exit 8)
/// failures of the unit.
fn packaged_units(tree: &Path) {
    let unit = |name: &str| {
        ["lib/systemd/system", "usr/lib/systemd/system"]
            .iter()
            .find_map(|d| std::fs::read_to_string(tree.join(d).join(name)).ok())
            .unwrap_or_else(|| panic!("{name} not extracted"))
    };
    assert!(unit("esia-glpi-flush.service").contains("\nExecStart=/usr/bin/esia-glpi flush\n"));
    let timer = unit("esia-glpi-flush.timer");
    assert!(timer.contains("\nOnCalendar=minutely\n"), "{timer}");
    assert!(timer.contains("WantedBy=timers.target"), "{timer}");
    let service = unit("esia-glpi-reconcile.service");
    assert!(
        service.contains("\nExecStart=/usr/bin/esia-glpi reconcile\n"),
        "{service}"
    );
    assert!(service.contains("\nType=oneshot\n"), "{service}");
    for binding in [
        "Requires=",
        "BindsTo=",
        "PartOf=",
        "Requisite=",
        "SuccessExitStatus=",
    ] {
        assert!(
            !service.lines().any(|l| l.starts_with(binding)),
            "{binding} in {service}"
        );
    }
    // Its settings (not its comments) name no flush unit.
    let names_flush = |text: &str| {
        text.lines()
            .any(|l| !l.starts_with('#') && l.contains("esia-glpi-flush"))
    };
    assert!(!names_flush(&service), "{service}");
    let timer = unit("esia-glpi-reconcile.timer");
    assert!(timer.contains("\nOnCalendar=*:0/5\n"), "{timer}");
    assert!(timer.contains("\nRandomizedDelaySec="), "{timer}");
    assert!(timer.contains("WantedBy=timers.target"), "{timer}");
    assert!(!names_flush(&timer), "{timer}");
}

/// Stand-ins for the commands the postinst changes the system with: each
/// logs its arguments; the ones given a path refuse any path outside
/// `$DPKG_ROOT`, so the script can run on any machine, as any user.
/// `getent passwd` knows the users of `$FAKE_USERS`; a user's group is
/// `<user>grp`; `stat` says the state directory belongs to `$FAKE_OWNER`.
const POSTINST_STUBS: &[(&str, &str)] = &[
    (
        "getent",
        r#"[ "$1" = passwd ] || exit 2
for u in $FAKE_USERS; do [ "$u" = "$2" ] && { echo "$2:x:999:999::/:/bin/sh"; exit 0; }; done
exit 2"#,
    ),
    ("id", r#"[ "$1" = -gn ] && echo "${2}grp""#),
    ("useradd", ""),
    ("install", r#"inside "$@" && mkdir -p "$last""#),
    ("chown", r#"inside "$@""#),
    ("chmod", r#"inside "$@""#),
    ("stat", r#"inside "$@" && echo "$FAKE_OWNER""#),
    ("deb-systemd-helper", ""),
    ("deb-systemd-invoke", ""),
    ("systemctl", ""),
];

struct Postinst {
    out: std::process::Output,
    log: String,
    root: tempfile::TempDir,
}

impl Postinst {
    /// Runs `script ARGS` with `$DPKG_ROOT` a fresh directory (holding the
    /// state directory already when `owner` is given), the users `users`
    /// and `ESIA_GLPI_USER` = `chosen`.
    fn run(
        script: &Path,
        args: &[&str],
        users: &str,
        chosen: Option<&str>,
        owner: Option<&str>,
    ) -> Postinst {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("stubs");
        std::fs::create_dir_all(&bin).unwrap();
        let log = root.path().join("stubs.log");
        for (name, body) in POSTINST_STUBS {
            let text = format!(
                r#"#!/bin/sh
echo "{name} $*" >>"$STUB_LOG"
inside() {{
    last=$(eval echo \"\${{$#}}\")
    case "$DPKG_ROOT" in /?*) ;; *) echo "{name}: DPKG_ROOT unset" >&2; exit 99 ;; esac
    case "$last" in "$DPKG_ROOT"/*) ;; *) echo "{name}: $last is outside DPKG_ROOT" >&2; exit 99 ;; esac
}}
{body}
"#
            );
            let path = bin.join(name);
            std::fs::write(&path, text).unwrap();
            let mut mode = std::fs::metadata(&path).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
            std::fs::set_permissions(&path, mode).unwrap();
        }
        if owner.is_some() {
            std::fs::create_dir_all(root.path().join("var/lib/esia-glpi")).unwrap();
        }
        let mut cmd = Command::new("sh");
        cmd.arg(script)
            .args(args)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("DPKG_ROOT", root.path())
            .env("STUB_LOG", &log)
            .env("FAKE_USERS", users)
            .env("FAKE_OWNER", owner.unwrap_or("nobody"));
        if let Some(user) = chosen {
            cmd.env("ESIA_GLPI_USER", user);
        }
        let out = cmd.output().unwrap();
        let log = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .replace(&root.path().display().to_string(), "ROOT");
        Postinst { out, log, root }
    }

    #[track_caller]
    fn succeeded(&self) {
        assert!(self.out.status.success(), "{:?}\n{}", self.out, self.log);
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    /// Standard output has this line.
    #[track_caller]
    fn says(&self, line: &str) {
        let stdout = self.stdout();
        assert!(
            stdout.lines().any(|l| l == line),
            "postinst did not say {line:?}:\n{stdout}"
        );
    }

    /// The stand-ins' log has this line (paths under `$DPKG_ROOT` as ROOT).
    #[track_caller]
    fn did(&self, line: &str) {
        assert!(
            self.log.lines().any(|l| l == line),
            "postinst did not run {line:?}:\n{}",
            self.log
        );
    }

    #[track_caller]
    fn never(&self, prefix: &str) {
        assert!(
            !self.log.lines().any(|l| l.starts_with(prefix)),
            "postinst ran {prefix}:\n{}",
            self.log
        );
    }

    /// The drop-in naming the user of `unit` (`esia-glpi-flush`,
    /// `esia-glpi-reconcile`).
    fn dropin(&self, unit: &str) -> String {
        std::fs::read_to_string(
            self.root
                .path()
                .join(format!("etc/systemd/system/{unit}.service.d/user.conf")),
        )
        .unwrap()
    }
}

/// The postinst says which user it chose for the state directory and the
/// configuration's group, and why; then the command to run next and where
/// the engines' wiring is. Run with `$DPKG_ROOT` and stand-ins
/// (`POSTINST_STUBS`): nothing outside a temporary directory is touched.
#[test]
fn postinst_says_whom_it_chose_and_what_next() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pkg/debian/postinst");

    // The first existing of esia, nagios, icinga.
    let run = Postinst::run(&script, &["configure", ""], "icinga nagios", None, None);
    run.succeeded();
    run.says(
        "esia-glpi: /var/lib/esia-glpi (the state, mode 0700) now belongs to nagios: the first \
         existing of esia, nagios, icinga (set ESIA_GLPI_USER when installing to choose another).",
    );
    run.says(
        "esia-glpi: /etc/esia/glpi.conf (mode 0640) is readable by the group nagiosgrp, of nagios.",
    );
    run.says("esia-glpi: esia-glpi-flush (every minute) runs as nagios (/etc/systemd/system/esia-glpi-flush.service.d/user.conf).");
    run.says("esia-glpi: next: fill in host, app_token and user_token in /etc/esia/glpi.conf (man glpi.conf), then run:");
    run.says("esia-glpi:     sudo -u nagios esia-glpi check");
    run.says("esia-glpi: wiring the monitoring engine (Nagios 4, Naemon, Icinga 2): /usr/share/esia-glpi/engines/");
    run.did("install -d -m 0700 -o nagios -g nagiosgrp ROOT/var/lib/esia-glpi");
    run.did("chown root:nagiosgrp ROOT/etc/esia/glpi.conf");
    run.did("chmod 0640 ROOT/etc/esia/glpi.conf");
    run.never("useradd");
    for unit in ["esia-glpi-flush", "esia-glpi-reconcile"] {
        assert!(
            run.dropin(unit)
                .contains("\nUser=nagios\nGroup=nagiosgrp\n"),
            "{unit}: {}",
            run.dropin(unit)
        );
    }
    run.says(
        "esia-glpi: esia-glpi-reconcile (every 5 minutes, once [reconcile] is set in \
         /etc/esia/glpi.conf) runs as nagios \
         (/etc/systemd/system/esia-glpi-reconcile.service.d/user.conf).",
    );

    // ESIA_GLPI_USER wins.
    let run = Postinst::run(
        &script,
        &["configure", ""],
        "monitor nagios",
        Some("monitor"),
        None,
    );
    run.succeeded();
    run.says(
        "esia-glpi: /var/lib/esia-glpi (the state, mode 0700) now belongs to monitor: \
         ESIA_GLPI_USER was set at installation.",
    );
    run.says("esia-glpi:     sudo -u monitor esia-glpi check");

    // None of them: a system user is created, and the engine must use it.
    let run = Postinst::run(&script, &["configure", ""], "root", None, None);
    run.succeeded();
    run.did(
        "useradd --system --user-group --home-dir /var/lib/esia-glpi --no-create-home \
         --shell /usr/sbin/nologin esia-glpi",
    );
    run.says(
        "esia-glpi: /var/lib/esia-glpi (the state, mode 0700) now belongs to esia-glpi: none of \
         esia, nagios, icinga exists and ESIA_GLPI_USER was not set: created the system user \
         esia-glpi.",
    );
    run.says(
        "esia-glpi: the monitoring engine must run the alert programs as esia-glpi; if it runs \
         as another user, reinstall with ESIA_GLPI_USER set to that user.",
    );
    run.says("esia-glpi:     sudo -u esia-glpi esia-glpi check");

    // An ESIA_GLPI_USER that names no user: a clear failure, nothing done.
    let run = Postinst::run(&script, &["configure", ""], "nagios", Some("ghost"), None);
    assert_eq!(run.out.status.code(), Some(1), "{:?}", run.out);
    let stderr = String::from_utf8_lossy(&run.out.stderr);
    assert!(
        stderr.contains("ESIA_GLPI_USER=ghost names no user"),
        "{stderr}"
    );
    run.never("install");
    run.never("chown");

    // An upgrade: the state directory and the configuration are left as
    // they are, and the command to run is the owner's.
    let run = Postinst::run(
        &script,
        &["configure", "0.0.9"],
        "nagios",
        None,
        Some("icinga"),
    );
    run.succeeded();
    run.says("esia-glpi: /var/lib/esia-glpi (the state) belongs to icinga, kept as it was.");
    run.says("esia-glpi: next: check the upgraded set-up:");
    run.says("esia-glpi:     sudo -u icinga esia-glpi check");
    run.never("install");
    run.never("chown");
    run.never("chmod");
}

/// An upgrade from a version without reconcile: flush's drop-in is there
/// (its user changed by the administrator) and is kept; reconcile's is
/// written with the same user.
#[test]
fn postinst_gives_reconcile_the_user_of_flush() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pkg/debian/postinst");
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("postinst");
    std::fs::write(
        &wrapper,
        format!(
            "mkdir -p \"$DPKG_ROOT/etc/systemd/system/esia-glpi-flush.service.d\"\n\
             printf '%s\\n' '# edited' '[Service]' 'User=icinga' 'Group=icinga' \
             >\"$DPKG_ROOT/etc/systemd/system/esia-glpi-flush.service.d/user.conf\"\n\
             exec sh {} \"$@\"\n",
            script.display()
        ),
    )
    .unwrap();
    let run = Postinst::run(
        &wrapper,
        &["configure", "0.0.9"],
        "nagios icinga",
        None,
        Some("icinga"),
    );
    run.succeeded();
    assert_eq!(
        run.dropin("esia-glpi-flush"),
        "# edited\n[Service]\nUser=icinga\nGroup=icinga\n"
    );
    assert!(
        run.dropin("esia-glpi-reconcile")
            .ends_with("\n[Service]\nUser=icinga\nGroup=icinga\n"),
        "{}",
        run.dropin("esia-glpi-reconcile")
    );
    run.says(
        "esia-glpi: esia-glpi-reconcile (every 5 minutes, once [reconcile] is set in \
         /etc/esia/glpi.conf) runs as icinga \
         (/etc/systemd/system/esia-glpi-reconcile.service.d/user.conf).",
    );
    assert!(
        !run.stdout().contains("esia-glpi-flush (every minute)"),
        "flush's drop-in is kept"
    );
}

#[test]
fn logs_go_to_syslog_on_request() {
    let env = Env::new();
    env.sim
        .inject(Fault::new("/apirest.php/", FaultKind::Status(503)));
    let sock_path = env.dir.path().join("log.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_nonblocking(true).unwrap();
    let run = env.run(env.cmd().env("ESIA_GLPI_SYSLOG_SOCKET", &sock_path).args([
        "--log", "syslog", "notify", "--node", "web01", "--state", "CRITICAL",
    ]));
    run.code(5);
    let mut lines = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = sock.recv(&mut buf) {
        lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let error = lines
        .iter()
        .find(|l| l.starts_with("<27>esia-glpi["))
        .unwrap_or_else(|| panic!("no error line in syslog: {lines:#?}"));
    assert!(error.contains("GLPI is unavailable"), "{error}");
    // The run's structured line reaches the system log without -v (info,
    // severity 6), while stderr stays at warnings.
    let summary = lines
        .iter()
        .find(|l| l.starts_with("<30>esia-glpi[") && l.contains(": run key="))
        .unwrap_or_else(|| panic!("no run line in syslog: {lines:#?}"));
    for field in [
        "key=\"web01\"",
        "event=CRITICAL",
        "action=spooled",
        "requests=",
        "ms=",
        "spool=",
    ] {
        assert!(summary.contains(field), "{field} missing: {summary}");
    }
    assert!(!run.stderr.contains("run key="), "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("esia-glpi: error:").count(),
        1,
        "stderr keeps one error line: {}",
        run.stderr
    );

    // ESIA_GLPI_LOG does the same; a missing socket is said once, not fatal.
    let run = env.run(
        env.cmd()
            .env("ESIA_GLPI_LOG", "syslog")
            .env(
                "ESIA_GLPI_SYSLOG_SOCKET",
                env.dir.path().join("nothing.sock"),
            )
            .args(["state", "list"]),
    );
    run.ok();
    assert!(
        run.stderr.contains("--log syslog:") && run.stderr.contains("standard error only"),
        "{}",
        run.stderr
    );
}

#[test]
fn journald_on_request_never_fails_a_run() {
    let env = Env::new();
    let run = env.esia(&["--log", "journald", "state", "list"]);
    run.ok();
    if !Path::new("/run/systemd/journal/socket").exists() {
        assert!(run.stderr.contains("--log journald"), "{}", run.stderr);
    }
}
