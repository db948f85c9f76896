//! The hand-written parts of the command pages: what the clap model cannot
//! say (descriptions, examples, the files and variables each command
//! reads). Options, synopses, command lists and the exit-status table come
//! from the model and `cli::EXIT_STATUS_HELP` (`man.rs`); this module holds
//! no flag that could drift, only prose naming them: here which page has
//! what, and the sections several pages share; each page's own texts in
//! `pages.rs`. Markup: `roff.rs`.

mod pages;

use pages::{
    CHECK, CHECK_EXAMPLES, FLUSH, FLUSH_EXAMPLES, HEALTH, HEALTH_EXAMPLES, NOTIFY, NOTIFY_EXAMPLES,
    NOTIFY_EXIT, RECONCILE, RECONCILE_EXAMPLES, RECONCILE_EXIT, RENDER, RENDER_EXAMPLES, ROOT,
    ROOT_EXAMPLES, SEND_TICKET_GLPI, SEND_TICKET_GLPI_EXAMPLES, SEND_TICKET_GLPI_MAIL,
    SEND_TICKET_GLPI_MAIL_EXAMPLES, STATE, STATE_EXAMPLES,
};

/// One page per visible command, plus the two alert programs.
pub(super) struct CommandDoc {
    /// File name and title: `esia-glpi-notify` gives `esia-glpi-notify.1`.
    pub(super) page: &'static str,
    /// The clap subcommand the page documents (`""`: the root).
    pub(super) command: &'static str,
    /// How it is started.
    pub(super) invoked: Invoked,
    /// The NAME line's summary; `None`: the command's `about`.
    pub(super) summary: Option<&'static str>,
    pub(super) description: &'static str,
    /// ENVIRONMENT lists the engine's macros (the commands that read an
    /// event).
    pub(super) macros: bool,
    /// FILES entries after the common ones.
    pub(super) files: &'static str,
    /// Said before the exit-status table.
    pub(super) exit: &'static str,
    pub(super) examples: &'static str,
    pub(super) see_also: &'static [&'static str],
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Invoked {
    /// `esia-glpi [OPTIONS] COMMAND`.
    Root,
    /// `esia-glpi [GLOBAL OPTIONS] COMMAND ...`.
    Command,
    /// A name the binary is started under (a symbolic link), behaving as
    /// `command`.
    Alias,
}

const ALL_PAGES: &[&str] = &[
    "esia-glpi(1)",
    "esia-glpi-notify(1)",
    "esia-glpi-check(1)",
    "esia-glpi-flush(1)",
    "esia-glpi-state(1)",
    "esia-glpi-render(1)",
    "esia-glpi-health(1)",
    "esia-glpi-reconcile(1)",
    "SEND_TICKET_GLPI(1)",
    "SEND_TICKET_GLPI_MAIL(1)",
    "glpi.conf(5)",
];

pub(super) const COMMANDS: &[CommandDoc] = &[
    CommandDoc {
        page: "esia-glpi",
        command: "",
        invoked: Invoked::Root,
        summary: None,
        description: ROOT,
        macros: true,
        files: "\
: `/usr/bin/SEND_TICKET_GLPI`, `/usr/bin/SEND_TICKET_GLPI_MAIL`
Symbolic links to `esia-glpi`: the alert programs (see `SEND_TICKET_GLPI`(1)).",
        exit: "",
        examples: ROOT_EXAMPLES,
        see_also: ALL_PAGES,
    },
    CommandDoc {
        page: "esia-glpi-notify",
        command: "notify",
        invoked: Invoked::Command,
        summary: None,
        description: NOTIFY,
        macros: true,
        files: "",
        exit: NOTIFY_EXIT,
        examples: NOTIFY_EXAMPLES,
        see_also: &[
            "esia-glpi(1)",
            "SEND_TICKET_GLPI(1)",
            "esia-glpi-render(1)",
            "esia-glpi-flush(1)",
            "esia-glpi-state(1)",
            "glpi.conf(5)",
        ],
    },
    CommandDoc {
        page: "esia-glpi-check",
        command: "check",
        invoked: Invoked::Command,
        summary: None,
        description: CHECK,
        macros: false,
        files: "",
        exit: "\
`check` exits 0 when `notify` will work (warnings allowed); otherwise with the
class of the first problem: 3 the configuration, 4 a refusal or a missing right
in GLPI, 5 GLPI unreachable, 6 the state database (`[state] backend =
\"postgres\"`).",
        examples: CHECK_EXAMPLES,
        see_also: &["esia-glpi(1)", "glpi.conf(5)", "esia-glpi-notify(1)"],
    },
    CommandDoc {
        page: "esia-glpi-flush",
        command: "flush",
        invoked: Invoked::Command,
        summary: None,
        description: FLUSH,
        macros: false,
        files: "\
: `esia-glpi-flush.timer`, `esia-glpi-flush.service`
The systemd units that run `esia-glpi flush` every minute.

: `/etc/systemd/system/esia-glpi-flush.service.d/user.conf`
The drop-in naming the user `flush` runs as: the monitoring engine's, the owner
of the state directory. Written at installation.",
        exit: "\
`flush` exits 0 when nothing is left kept; otherwise with the worst status of
the keys it handled (6 before 5 before 4), or 5 when `run_timeout` ran out
before every key was reached, then 9 while events kept for another GLPI are
left (`esia-glpi state adopt` hands them to this one).",
        examples: FLUSH_EXAMPLES,
        see_also: &[
            "esia-glpi(1)",
            "esia-glpi-state(1)",
            "esia-glpi-notify(1)",
            "systemd.timer(5)",
        ],
    },
    CommandDoc {
        page: "esia-glpi-state",
        command: "state",
        invoked: Invoked::Command,
        summary: None,
        description: STATE,
        macros: false,
        files: "",
        exit: "",
        examples: STATE_EXAMPLES,
        see_also: &["esia-glpi(1)", "esia-glpi-flush(1)", "glpi.conf(5)"],
    },
    CommandDoc {
        page: "esia-glpi-render",
        command: "render",
        invoked: Invoked::Command,
        summary: None,
        description: RENDER,
        macros: true,
        files: "",
        exit: "`render` contacts nothing: it fails only on the command line (2) or the \
configuration (3).",
        examples: RENDER_EXAMPLES,
        see_also: &["esia-glpi-notify(1)", "glpi.conf(5)"],
    },
    CommandDoc {
        page: "esia-glpi-health",
        command: "health",
        invoked: Invoked::Command,
        summary: None,
        description: HEALTH,
        macros: false,
        files: "",
        exit: "\
`health` is a monitoring plugin: it exits 0 OK, 1 WARNING, 2 CRITICAL or 3
UNKNOWN (an unreadable configuration or state), its line saying why. The
table below is the other commands'.",
        examples: HEALTH_EXAMPLES,
        see_also: &["esia-glpi(1)", "esia-glpi-flush(1)", "esia-glpi-state(1)"],
    },
    CommandDoc {
        page: "esia-glpi-reconcile",
        command: "reconcile",
        invoked: Invoked::Command,
        summary: None,
        description: RECONCILE,
        macros: false,
        files: "\
: `esia-glpi-reconcile.timer`, `esia-glpi-reconcile.service`
The systemd units that run `esia-glpi reconcile` every 5 minutes (up to 30 s
late), independent of `flush`'s: a failing flush does not stop them. Exit 8
shows as a failed unit: `systemctl status esia-glpi-reconcile.timer`,
`journalctl -u esia-glpi-reconcile`.

: `/etc/systemd/system/esia-glpi-reconcile.service.d/user.conf`
The drop-in naming the user `reconcile` runs as: the same as `flush`'s, the
monitoring engine's, owner of the state directory and reader of the engine's
state. Written at installation.

: `/var/lib/nagios4/status.dat`
Debian's Nagios 4 status file, the usual `status_file`.",
        exit: RECONCILE_EXIT,
        examples: RECONCILE_EXAMPLES,
        see_also: &[
            "esia-glpi(1)",
            "glpi.conf(5)",
            "esia-glpi-check(1)",
            "esia-glpi-state(1)",
            "esia-glpi-flush(1)",
            "systemd.timer(5)",
        ],
    },
    CommandDoc {
        page: "SEND_TICKET_GLPI",
        command: "notify",
        invoked: Invoked::Alias,
        summary: Some("the alert program: open, follow up or solve the GLPI ticket of an alert"),
        description: SEND_TICKET_GLPI,
        macros: true,
        files: "",
        exit: NOTIFY_EXIT,
        examples: SEND_TICKET_GLPI_EXAMPLES,
        see_also: &[
            "SEND_TICKET_GLPI_MAIL(1)",
            "esia-glpi-notify(1)",
            "esia-glpi(1)",
            "glpi.conf(5)",
        ],
    },
    CommandDoc {
        page: "SEND_TICKET_GLPI_MAIL",
        command: "notify",
        invoked: Invoked::Alias,
        summary: Some(
            "the alert program with mail: handle the GLPI ticket of an alert, then mail it",
        ),
        description: SEND_TICKET_GLPI_MAIL,
        macros: true,
        files: "",
        exit: NOTIFY_EXIT,
        examples: SEND_TICKET_GLPI_MAIL_EXAMPLES,
        see_also: &[
            "SEND_TICKET_GLPI(1)",
            "esia-glpi-notify(1)",
            "esia-glpi(1)",
            "glpi.conf(5)",
        ],
    },
];

/// FILES of every command page.
pub(super) const COMMON_FILES: &str = "\
: `/etc/esia/glpi.conf`
The configuration (see `glpi.conf`(5)): GLPI's address and the API tokens,
hence mode 0640, group of the monitoring engine's user. `--config` or
`ESIA_GLPI_CONFIG` name another file.

: `/var/lib/esia-glpi/`
The state directory (`state_dir`), mode 0700, owned by the monitoring engine's
user: `records/` (one record per node and service), `spool/` (the events kept
until GLPI takes them), `intents/` (ticket creations in flight), `known/`,
`locks/`, `cache/`, and `dropped/` (what `state forget` and corruption set
aside, never deleted). Kept when the package is purged: it may hold events not
yet delivered.

: `/usr/share/esia-glpi/engines/`
Ready-made notification commands: `nagios4.cfg` (Nagios 4, Naemon) and
`icinga2.conf` (Icinga 2), which pass everything as arguments.

: `/usr/share/doc/esia-glpi/examples/glpi.conf`
The configuration as shipped, every optional key commented out with its
default; `diff` it with yours to see what you changed.";

/// ENVIRONMENT, before the engine's macros.
pub(super) const MACROS_INTRO: &str = "\
With its environment macros on (Nagios: `enable_environment_macros=1`), the
engine exports the context of a notification as variables; each one below
stands for the option beside it when that option is not given. An option
given wins over `NAGIOS_`{NAME}, which wins over `ICINGA_`{NAME}; an empty
variable counts as unset. The shipped definitions
(`/usr/share/esia-glpi/engines/`) pass everything as arguments instead:
Nagios ships with the macros off, Naemon has none, Icinga 2 passes arguments.";

/// ENVIRONMENT of every command page, after the variables of the options.
pub(super) const COMMON_ENVIRONMENT: &str = "\
: `RUST_LOG`
A log filter (`esia_glpi=debug`, `trace`) that replaces the level `-v` and
`-q` set.

: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`
The HTTP proxy the connection to GLPI goes through, and the hosts it does not
(lower-case names too).

: `TZ`
The time zone of the dates written in tickets and mails (default: the
system's, `/etc/localtime`).";

/// The engine's macros (`core::resolve::MACROS`, without their `NAGIOS_` /
/// `ICINGA_` prefix), each group with the option it stands for and what it
/// says. A unit test checks they are exactly the macros read, and that each
/// option exists.
pub(super) const MACRO_DOCS: &[(&[&str], Option<&str>, &str)] = &[
    (&["HOSTNAME"], Some("node"), "The node (host) name."),
    (
        &["SERVICEDESC"],
        Some("service"),
        "The service name; unset or empty: a host alert, read from the `HOST` macros below.",
    ),
    (&["SERVICESTATE"], Some("state"), "A service alert's state."),
    (
        &["HOSTSTATE"],
        Some("state"),
        "A host alert's state: UP, DOWN, UNREACHABLE (0, 1, 2).",
    ),
    (
        &["SERVICEOUTPUT"],
        Some("output"),
        "A service check's output.",
    ),
    (&["HOSTOUTPUT"], Some("output"), "A host check's output."),
    (&["HOSTADDRESS"], Some("address"), "The node's address."),
    (&["HOSTGROUPNAME"], Some("group"), "The node's group."),
    (
        &["NOTIFICATIONTYPE"],
        Some("type"),
        "The notification type: PROBLEM, RECOVERY, ACKNOWLEDGEMENT, FLAPPINGSTART, ...",
    ),
    (
        &["NOTIFICATIONAUTHOR"],
        Some("author"),
        "Who acknowledged, set the downtime or sent the custom notification.",
    ),
    (&["NOTIFICATIONCOMMENT"], Some("comment"), "And why."),
    (
        &["SERVICEEVENTID", "HOSTEVENTID"],
        Some("event-id"),
        "The engine's number of this state change. The numbers are read from the \
         environment only when it names the same node and service as the event.",
    ),
    (
        &["LASTSERVICEEVENTID", "LASTHOSTEVENTID"],
        Some("last-event-id"),
        "The number of the object's previous state change.",
    ),
    (
        &["SERVICEPROBLEMID", "HOSTPROBLEMID"],
        Some("problem-id"),
        "The id of the problem (opaque text: Naemon's are UUIDs).",
    ),
    (
        &["LASTSERVICEPROBLEMID", "LASTHOSTPROBLEMID"],
        Some("last-problem-id"),
        "The id of the previous problem.",
    ),
    (
        &["SERVICESTATETYPE", "HOSTSTATETYPE"],
        Some("state-type"),
        "SOFT or HARD.",
    ),
    (
        &["LASTSERVICESTATE", "LASTHOSTSTATE"],
        Some("last-state"),
        "The object's previous state.",
    ),
    (
        &["CONTACTEMAIL"],
        None,
        "The notification mail's recipients when no `--mail` is given (with \
         `SEND_TICKET_GLPI_MAIL`, or `--mail` on another run).",
    ),
];
