//! Command-line syntax: clap derive types and value parsers only.
//!
//! Stage one of parsing (STYLE rule 3): no I/O, no resolution. What the
//! options gave is handed over as a [`Given`]; turning it into an
//! [`Event`](crate::core::Event) happens in `core::resolve`. Also the argv[0]
//! rewriting that makes `SEND_TICKET_GLPI[_MAIL]` behave as `notify`.
//! Imports only `core` (the state values).

#![allow(
    clippy::doc_markdown,
    reason = "clap shows these doc comments verbatim in --help"
)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand};

use crate::core::resolve::os_text;
use crate::core::{Given, Key, State};

/// The exit-status table, shown by `--help` and pinned by a test against
/// `error::ExitStatus`.
pub(crate) const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  handled (including \"nothing to do\")
  2  invalid command line
  3  invalid or unreadable configuration
  4  GLPI refused the request (tokens, rights, validation); the event is kept
  5  GLPI unreachable, timing out or failing (5xx), or the run interrupted
     (SIGTERM, SIGINT); the event is kept
  6  local state unusable (state directory not writable or not safe, lock not
     obtained in time, state database unreachable: the event is then kept in
     the state directory until a run or flush reaches the database), or
     standard output not writable
  7  the ticket action succeeded but the notification mail (--mail,
     SEND_TICKET_GLPI_MAIL) could not be sent; when the ticket action itself
     failed, its status (4, 5, 6) wins and the mail failure is only logged
  8  reconcile: the engine's state source is stale, unreadable or unreachable;
     nothing was changed
  9  flush: events kept for another GLPI are left (`esia-glpi state adopt`
     hands them to this one, `state forget` drops them)";

#[derive(Debug, Parser)]
#[command(
    name = "esia-glpi",
    version,
    about = "Turns monitoring alerts (Esia, Nagios family) into GLPI tickets",
    after_long_help = EXIT_STATUS_HELP
)]
pub(crate) struct Cli {
    /// Configuration file [default: /etc/esia/glpi.conf]
    #[arg(long, global = true, env = "ESIA_GLPI_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// State directory, an absolute path (overrides `state_dir` of the
    /// configuration)
    #[arg(long, global = true, value_name = "DIR", value_parser = clap::builder::PathBufValueParser::new().try_map(absolute))]
    pub(crate) state_dir: Option<PathBuf>,
    /// More log output on standard error (-v info, -vv debug, -vvv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on standard error
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// One JSON object on standard output instead of a line of text
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Where logs go besides standard error: journald, or syslog (/dev/log)
    #[arg(
        long,
        global = true,
        env = "ESIA_GLPI_LOG",
        value_enum,
        value_name = "SINK",
        default_value = "stderr"
    )]
    pub(crate) log: LogSink,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Handle one state change (what the alert programs run)
    Notify(NotifyArgs),
    /// Deliver the events that were kept because GLPI could not take them
    Flush,
    /// Verify the configuration, the connection, both tokens and the rights
    /// of the API user, and say precisely what is wrong (exit 0: notify will work)
    Check,
    /// Print the title and content a notify would send, contacting nothing
    Render(NotifyArgs),
    /// A check for the monitoring engine itself (plugin exit codes 0 OK,
    /// 1 WARNING, 2 CRITICAL, 3 UNKNOWN; one line with performance data):
    /// events kept too long, kept for another GLPI, keys whose delivery
    /// keeps failing, the age of the last successful flush
    Health(HealthArgs),
    /// Make GLPI mirror the engine's current state, read from the source of
    /// the [reconcile] table: solve the ticket of what recovered without a
    /// recovery notification, open one for a problem that has none
    Reconcile(ReconcileArgs),
    /// Inspect or edit the state (the state directory, or the state database)
    #[command(subcommand)]
    State(StateCommand),
    /// Write the man pages and shell completions, generated from this
    /// command-line model, into DIR (used to build the .deb)
    #[command(hide = true)]
    Generate {
        /// Output directory (created if missing)
        dir: PathBuf,
    },
}

/// Where the log goes besides standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogSink {
    /// Standard error only
    Stderr,
    /// Standard error and the systemd journal
    Journald,
    /// Standard error and the local syslog daemon (/dev/log)
    Syslog,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StateCommand {
    /// List every key with an open ticket or kept events (with their number)
    List,
    /// Show the record of one node and service, and its kept events with their last error
    Show(KeyArgs),
    /// Forget one node and service: its record and kept events are moved to
    /// dropped/, never deleted
    Forget(KeyArgs),
    /// Hand the events kept for another GLPI (or by another configuration)
    /// to this configuration's GLPI: of one node and service, or of every key
    Adopt(AdoptArgs),
    /// Rebuild the records from GLPI: the open tickets that carry the marker
    /// and were written by the API user (existing records are kept)
    Rebuild,
    /// Create or upgrade the schema of the state database ([state] backend =
    /// "postgres"; also done on first use) and print its version
    Migrate,
    /// Copy the state directory's records, kept events (in order) and
    /// creation intents into the state database, for a site that switches to
    /// backend = "postgres"; keys the database already has a record for keep
    /// it; imported files are moved to imported/, never deleted
    Import,
}

/// `health`'s thresholds, in seconds (attempts for `--attempts`).
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct HealthArgs {
    /// WARNING when an event is kept longer than this
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub(crate) kept_warning: u64,
    /// CRITICAL when an event is kept longer than this
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub(crate) kept_critical: u64,
    /// A key whose delivery failed this many times in a row is failing
    /// (WARNING; CRITICAL when GLPI refused it: only a fix delivers it)
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub(crate) attempts: u32,
    /// WARNING when no flush succeeded for this long
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub(crate) flush_warning: u64,
    /// CRITICAL when no flush succeeded for this long
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub(crate) flush_critical: u64,
}

/// `reconcile`'s options.
#[derive(Debug, Clone, Args)]
pub(crate) struct ReconcileArgs {
    /// Print what it would solve and open, changing nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Read this Nagios 4 / Naemon status.dat instead of the [reconcile]
    /// source (an absolute path)
    #[arg(long, value_name = "FILE", value_parser = clap::builder::PathBufValueParser::new().try_map(absolute))]
    pub(crate) status_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct AdoptArgs {
    /// Node (host) name; every key when omitted
    pub(crate) node: Option<String>,
    /// Service name (omit or give "" for a host-level alert)
    #[arg(default_value = "", requires = "node")]
    pub(crate) service: String,
}

impl AdoptArgs {
    pub(crate) fn key(&self) -> Option<Key> {
        self.node
            .as_ref()
            .map(|node| Key::new(node.clone(), self.service.clone()))
    }
}

#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    /// Node (host) name
    pub(crate) node: String,
    /// Service name (omit or give "" for a host-level alert)
    #[arg(default_value = "")]
    pub(crate) service: String,
}

/// `notify` and `render`: every macro an engine can pass, as an argument.
/// A value may start with `-` (a negative reading, a hand-typed comment).
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct NotifyArgs {
    /// Ticket priority: 1 very low, 2 low, 3 medium, 4 high, 5 very high, 6 major
    #[arg(short = 'L', long = "priority", value_name = "N",
          value_parser = clap::value_parser!(u8).range(1..=6))]
    pub(crate) priority: Option<u8>,
    /// Node (host) name [env: NAGIOS_HOSTNAME, ICINGA_HOSTNAME]
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) node: Option<String>,
    /// The node's group [env: NAGIOS_HOSTGROUPNAME]
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) group: Option<String>,
    /// Service name, empty for a host-level alert [env: NAGIOS_SERVICEDESC]
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) service: Option<String>,
    /// OK, WARNING, CRITICAL, UNKNOWN, UP, DOWN, UNREACHABLE, ACK, UNACK (any
    /// case; also Alerte, Critique, Inconnu, Acquittement, 0..3 — a host's
    /// 0..2 are UP, DOWN, UNREACHABLE) [env: NAGIOS_SERVICESTATE, NAGIOS_HOSTSTATE]
    #[arg(long, value_parser = parse_state, allow_hyphen_values = true)]
    pub(crate) state: Option<String>,
    /// The check's output [env: NAGIOS_SERVICEOUTPUT, NAGIOS_HOSTOUTPUT]
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) output: Option<String>,
    /// The node's address [env: NAGIOS_HOSTADDRESS]
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) address: Option<String>,
    /// The notification type: PROBLEM, RECOVERY, ACKNOWLEDGEMENT, FLAPPINGSTART,
    /// FLAPPINGSTOP (FLAPPINGEND), FLAPPINGDISABLED, DOWNTIMESTART, DOWNTIMEEND,
    /// DOWNTIMECANCELLED, CUSTOM (any case; another word is ignored with a
    /// warning) [env: NAGIOS_NOTIFICATIONTYPE]
    #[arg(long = "type", value_name = "TYPE", allow_hyphen_values = true)]
    pub(crate) kind: Option<String>,
    /// Who: the acknowledgement's, the downtime's or the custom notification's
    /// author [env: NAGIOS_NOTIFICATIONAUTHOR]
    #[arg(long, alias = "ack-author", allow_hyphen_values = true)]
    pub(crate) author: Option<String>,
    /// Why: their comment [env: NAGIOS_NOTIFICATIONCOMMENT]
    #[arg(long, alias = "ack-comment", allow_hyphen_values = true)]
    pub(crate) comment: Option<String>,
    /// The engine's id of this state change [env: NAGIOS_SERVICEEVENTID, NAGIOS_HOSTEVENTID]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub(crate) event_id: Option<String>,
    /// The id of the object's previous state change [env: NAGIOS_LASTSERVICEEVENTID]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub(crate) last_event_id: Option<String>,
    /// The id of the problem (opaque: Naemon's are UUIDs) [env: NAGIOS_SERVICEPROBLEMID]
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub(crate) problem_id: Option<String>,
    /// The id of the previous problem [env: NAGIOS_LASTSERVICEPROBLEMID]
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub(crate) last_problem_id: Option<String>,
    /// SOFT or HARD [env: NAGIOS_SERVICESTATETYPE]
    #[arg(long, value_name = "TYPE", allow_hyphen_values = true)]
    pub(crate) state_type: Option<String>,
    /// The object's previous state [env: NAGIOS_LASTSERVICESTATE]
    #[arg(long, value_name = "STATE", allow_hyphen_values = true)]
    pub(crate) last_state: Option<String>,
    /// Also send the notification mail to ADDR (repeatable)
    #[arg(long = "mail", value_name = "ADDR")]
    pub(crate) mails: Vec<String>,
    /// Extra template variable %KEY (repeatable)
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var,
          allow_hyphen_values = true)]
    pub(crate) vars: Vec<(String, String)>,
    /// Set when started as SEND_TICKET_GLPI_MAIL
    #[arg(long, hide = true)]
    pub(crate) send_mail: bool,
}

impl KeyArgs {
    pub(crate) fn key(&self) -> Key {
        Key::new(self.node.clone(), self.service.clone())
    }
}

impl NotifyArgs {
    /// What the options gave for the event.
    pub(crate) fn given(&self) -> Given {
        Given {
            priority: self.priority,
            node: self.node.clone(),
            group: self.group.clone(),
            service: self.service.clone(),
            state: self.state.clone(),
            output: self.output.clone(),
            address: self.address.clone(),
            kind: self.kind.clone(),
            author: self.author.clone(),
            comment: self.comment.clone(),
            event_id: self.event_id.clone(),
            last_event_id: self.last_event_id.clone(),
            problem_id: self.problem_id.clone(),
            last_problem_id: self.last_problem_id.clone(),
            state_type: self.state_type.clone(),
            last_state: self.last_state.clone(),
            vars: self.vars.clone(),
        }
    }
}

/// `--state-dir`: absolute, like `state_dir` in the configuration (the
/// monitoring engine's working directory is unknown).
fn absolute(path: PathBuf) -> Result<PathBuf, String> {
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(format!(
            "{} is not an absolute path (the monitoring engine's working directory is unknown)",
            path.display()
        ))
    }
}

/// A state as the engine wrote it (read for a host or a service by
/// `core::resolve`), checked here.
fn parse_state(text: &str) -> Result<String, String> {
    State::parse(text).map(|_| text.to_owned()).ok_or_else(|| {
        format!(
            "unknown state {text:?}; accepted: OK, WARNING, CRITICAL, UNKNOWN, UP, DOWN, \
             UNREACHABLE, ACK, UNACK, Alerte, Critique, Inconnu, Acquittement, 0..3"
        )
    })
}

pub(crate) fn parse_var(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    let key = key.trim_start_matches('%');
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        return Err(format!(
            "invalid variable name {key:?}: use letters, digits, '_' and '.'"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// The alert-program names under which the binary behaves as `notify`.
pub(crate) const TICKET_ALIAS: &str = "SEND_TICKET_GLPI";
pub(crate) const MAIL_ALIAS: &str = "SEND_TICKET_GLPI_MAIL";

/// Rewrites `SEND_TICKET_GLPI[_MAIL] ARGS…` into `esia-glpi notify [--send-mail] ARGS…`.
///
/// Arguments that are not UTF-8 (a check output in Latin-1, say) are
/// converted ([`os_text`]: each invalid byte becomes U+FFFD and its hex
/// digits) rather than refused, so that such an alert still reaches GLPI and
/// two names that differ only there stay two; file paths (`--config`,
/// `--state-dir`) are kept as given.
pub(crate) fn rewrite_alias(args: Vec<OsString>) -> Vec<OsString> {
    let mut path_next = false;
    let mut args: Vec<OsString> = args
        .into_iter()
        .map(|a| {
            let is_path = std::mem::take(&mut path_next);
            let text = a.to_string_lossy();
            path_next = text == "--config" || text == "--state-dir";
            let path_inline = text.starts_with("--config=") || text.starts_with("--state-dir=");
            if is_path || path_inline {
                a
            } else {
                OsString::from(os_text(&a))
            }
        })
        .collect();
    let Some(first) = args.first() else {
        return args;
    };
    let name = Path::new(first)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extra: &[&str] = match name.as_str() {
        TICKET_ALIAS => &["notify"],
        MAIL_ALIAS => &["notify", "--send-mail"],
        _ => return args,
    };
    args[0] = OsString::from("esia-glpi");
    for (i, word) in extra.iter().enumerate() {
        args.insert(1 + i, OsString::from(word));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn clap_model_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn aliases_become_notify() {
        assert_eq!(
            rewrite_alias(os(&["/usr/bin/SEND_TICKET_GLPI", "-L", "4"])),
            os(&["esia-glpi", "notify", "-L", "4"])
        );
        assert_eq!(
            rewrite_alias(os(&["SEND_TICKET_GLPI_MAIL", "--node", "n"])),
            os(&["esia-glpi", "notify", "--send-mail", "--node", "n"])
        );
        assert_eq!(
            rewrite_alias(os(&["esia-glpi", "state", "list"])),
            os(&["esia-glpi", "state", "list"])
        );
    }

    #[test]
    fn priority_out_of_range_is_rejected() {
        for bad in ["0", "7", "x"] {
            assert!(Cli::try_parse_from(["esia-glpi", "notify", "-L", bad]).is_err());
        }
        let cli =
            Cli::try_parse_from(["esia-glpi", "notify", "-L", "6", "--state", "critique"]).unwrap();
        let Command::Notify(a) = cli.command else {
            panic!("not notify")
        };
        assert_eq!(a.priority, Some(6));
        assert_eq!(a.state.as_deref(), Some("critique"));
    }

    #[test]
    fn vars_are_key_value() {
        assert_eq!(
            parse_var("site=Paris").unwrap(),
            ("site".into(), "Paris".into())
        );
        assert_eq!(parse_var("%a.b=x=y").unwrap(), ("a.b".into(), "x=y".into()));
        assert!(parse_var("novalue").is_err());
        assert!(parse_var("bad key=1").is_err());
    }
}
