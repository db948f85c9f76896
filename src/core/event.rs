//! The event a monitoring engine hands us, resolved from what the command
//! line gave ([`Given`]) and the Nagios-style environment macros
//! ([`MonitorEnv`]); the key ([`Key`]) an event belongs to.
//!
//! Pure: no filesystem, no network, no clock. The caller captures the
//! environment once and passes it in, so resolution is a plain function of
//! its inputs (precedence: explicit option > `NAGIOS_*` > `ICINGA_*`).

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A service state, as recorded and as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
    Ack,
    Unack,
}

impl State {
    /// Parses every spelling SPEC accepts: the English names (any case), the
    /// Esia French labels, the Nagios numbers 0..3 and the host states.
    pub(crate) fn parse(text: &str) -> Option<State> {
        let t = text.trim().to_lowercase();
        Some(match t.as_str() {
            "ok" | "0" | "up" => State::Ok,
            "warning" | "warn" | "1" | "alerte" => State::Warning,
            "critical" | "crit" | "2" | "critique" | "down" => State::Critical,
            "unknown" | "3" | "inconnu" | "unreachable" => State::Unknown,
            "ack" | "acknowledgement" | "acknowledged" | "acquittement" => State::Ack,
            "unack" | "unacknowledgement" | "unacknowledged" => State::Unack,
            _ => return None,
        })
    }

    /// WARNING, CRITICAL or UNKNOWN: the states that open a ticket.
    pub(crate) fn is_problem(self) -> bool {
        matches!(self, State::Warning | State::Critical | State::Unknown)
    }

    /// The upper-case label written in tickets and logs.
    pub(crate) fn label(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
            State::Ack => "ACK",
            State::Unack => "UNACK",
        }
    }

    /// The value of the `state` field of the JSON output (SPEC "Command line").
    pub(crate) fn json_name(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Warning => "warning",
            State::Critical => "critical",
            State::Unknown => "unknown",
            State::Ack => "acknowledged",
            State::Unack => "unacknowledged",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The identity of a monitored thing: one ticket at most is open per key.
/// Built once, from the event or from what a stored file names, and passed
/// along; serialised as the two fields `node` and `service`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct Key {
    pub(crate) node: String,
    /// Empty for a host-level alert.
    pub(crate) service: String,
}

impl Key {
    pub(crate) fn new(node: impl Into<String>, service: impl Into<String>) -> Key {
        Key {
            node: node.into(),
            service: service.into(),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.service.is_empty() {
            write!(f, "{}", self.node)
        } else {
            write!(f, "{}/{}", self.node, self.service)
        }
    }
}

/// One state change, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Event {
    pub(crate) key: Key,
    pub(crate) group: String,
    pub(crate) address: String,
    pub(crate) state: State,
    pub(crate) output: String,
    pub(crate) priority: u8,
    pub(crate) ack_author: String,
    pub(crate) ack_comment: String,
    pub(crate) vars: Vec<(String, String)>,
    /// When the engine handed us the event (RFC 3339); a replayed event keeps it.
    pub(crate) time: jiff::Timestamp,
    /// Where the event stands in the engine's own numbering, when the engine
    /// gives it (Nagios-family macros).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) order: Option<EngineOrder>,
    /// When this host started the run that received the event, for the
    /// order of events the engine does not number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) started: Option<HostStamp>,
}

/// A moment on this host's monotonic clock: the kernel's boot id and the
/// nanoseconds since that boot (`CLOCK_BOOTTIME`). Two stamps of one boot
/// compare whatever the wall clock does; stamps of two boots do not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HostStamp {
    pub(crate) boot: String,
    pub(crate) ns: u64,
}

impl HostStamp {
    /// How long after `other` this stamp is, when both are of one boot.
    pub(crate) fn since(&self, other: &HostStamp) -> Option<std::time::Duration> {
        (self.boot == other.boot)
            .then(|| std::time::Duration::from_nanos(self.ns.saturating_sub(other.ns)))
    }
}

#[cfg(test)]
impl Event {
    /// An event of `node`/`service` in `state`, priority 3, at the epoch,
    /// everything else empty: tests change what they need.
    pub(crate) fn sample(node: &str, service: &str, state: State) -> Event {
        Event {
            key: Key::new(node, service),
            group: String::new(),
            address: String::new(),
            state,
            output: String::new(),
            priority: 3,
            ack_author: String::new(),
            ack_comment: String::new(),
            vars: Vec::new(),
            time: jiff::Timestamp::UNIX_EPOCH,
            order: None,
            started: None,
        }
    }
}

/// Where an event stands in the monitoring engine's sequence: Nagios-family
/// engines number every state change of the whole engine (`SERVICEEVENTID`,
/// `HOSTEVENTID`) and tell the id of the object's previous state change
/// (`LASTSERVICEEVENTID`), so that events of one key can be put back in the
/// order the engine produced them, and a missing earlier event noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EngineOrder {
    /// The id of the state change this notification is about.
    pub(crate) id: u64,
    /// The id of the previous state change of the same host or service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) previous: Option<u64>,
    /// The id of the problem (kept across WARNING ↔ CRITICAL of one problem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) problem: Option<u64>,
    /// The previous state change was the soft one into this same state: the
    /// engine never notifies it, so a gap to it is no missing event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) after_soft: bool,
}

/// Why an event could not be resolved (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum UsageError {
    #[error("no node name: give --node or set NAGIOS_HOSTNAME")]
    MissingNode,
    #[error("no state: give --state or set NAGIOS_SERVICESTATE")]
    MissingState,
    #[error("invalid state {value:?} in {origin}")]
    InvalidState { value: String, origin: &'static str },
    #[error("the {what} is {len} bytes long; at most {MAX_NAME_BYTES} are accepted")]
    TooLong { what: &'static str, len: usize },
}

/// The longest node or service name accepted, in bytes: both travel, hex
/// encoded, in the URL of GLPI searches, which web servers cap at 8 KiB.
pub(crate) const MAX_NAME_BYTES: usize = 512;

/// Text from the operating system (an argument, an environment variable)
/// that may not be UTF-8: valid UTF-8 stays as it is; each byte that is not
/// becomes U+FFFD followed by its two hex digits, and a U+FFFD that was
/// there becomes two — so distinct byte strings stay distinct texts (two
/// node names that differ only in an invalid byte are two keys), and the
/// alert still reaches GLPI.
pub(crate) fn os_text(value: &std::ffi::OsStr) -> String {
    use std::fmt::Write as _;
    use std::os::unix::ffi::OsStrExt as _;
    let mut out = String::with_capacity(value.len());
    for chunk in value.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            out.push(c);
            if c == char::REPLACEMENT_CHARACTER {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "{}{b:02X}", char::REPLACEMENT_CHARACTER);
        }
    }
    out
}

impl UsageError {
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            UsageError::InvalidState { .. } => Some(
                "accepted: OK, WARNING, CRITICAL, UNKNOWN, ACK, UNACK (any case), Alerte, \
                 Critique, Inconnu, Acquittement, 0..3, UP, DOWN, UNREACHABLE"
                    .into(),
            ),
            UsageError::TooLong { .. } => Some(
                "give the monitoring engine's short name of the node or service; the event was \
                 not kept"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// What the command line gave for one event (`notify` and `render`
/// options); `None` means "not given": the environment may supply it.
#[derive(Debug, Default, Clone)]
pub(crate) struct Given {
    pub(crate) priority: Option<u8>,
    pub(crate) node: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) service: Option<String>,
    pub(crate) state: Option<State>,
    pub(crate) output: Option<String>,
    pub(crate) address: Option<String>,
    pub(crate) ack_author: Option<String>,
    pub(crate) ack_comment: Option<String>,
    pub(crate) vars: Vec<(String, String)>,
}

/// The Nagios/Icinga macros of the environment, as the caller read them once.
#[derive(Debug, Default, Clone)]
pub(crate) struct MonitorEnv {
    vars: HashMap<String, String>,
}

/// The macros this program understands, without their `NAGIOS_` / `ICINGA_`
/// prefix.
pub(crate) const MACROS: &[&str] = &[
    "HOSTNAME",
    "SERVICEDESC",
    "SERVICESTATE",
    "SERVICEOUTPUT",
    "HOSTSTATE",
    "HOSTOUTPUT",
    "HOSTADDRESS",
    "HOSTGROUPNAME",
    "NOTIFICATIONTYPE",
    "NOTIFICATIONAUTHOR",
    "NOTIFICATIONCOMMENT",
    "CONTACTEMAIL",
    "SERVICEEVENTID",
    "LASTSERVICEEVENTID",
    "SERVICEPROBLEMID",
    "SERVICESTATETYPE",
    "LASTSERVICESTATE",
    "HOSTEVENTID",
    "LASTHOSTEVENTID",
    "HOSTPROBLEMID",
    "HOSTSTATETYPE",
    "LASTHOSTSTATE",
];

impl MonitorEnv {
    /// The macros among `vars` (name, value); others are ignored.
    pub(crate) fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> MonitorEnv {
        MonitorEnv {
            vars: vars
                .into_iter()
                .filter(|(name, _)| {
                    ["NAGIOS_", "ICINGA_"].iter().any(|prefix| {
                        name.strip_prefix(prefix)
                            .is_some_and(|rest| MACROS.contains(&rest))
                    })
                })
                .collect(),
        }
    }

    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> MonitorEnv {
        MonitorEnv::from_vars(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
        )
    }

    /// `NAGIOS_<name>` first, then `ICINGA_<name>`; empty values count as unset.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        ["NAGIOS_", "ICINGA_"].iter().find_map(|prefix| {
            self.vars
                .get(&format!("{prefix}{name}"))
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        })
    }
}

impl Event {
    /// Resolves the command line and the environment into an event.
    pub(crate) fn resolve(
        args: &Given,
        env: &MonitorEnv,
        default_priority: u8,
        now: jiff::Timestamp,
    ) -> Result<Event, UsageError> {
        let pick = |opt: &Option<String>, name: &str| -> Option<String> {
            opt.clone().or_else(|| env.get(name).map(str::to_string))
        };
        let node = pick(&args.node, "HOSTNAME")
            .filter(|n| !n.trim().is_empty())
            .ok_or(UsageError::MissingNode)?;
        let service = pick(&args.service, "SERVICEDESC").unwrap_or_default();
        for (what, name) in [("node name", &node), ("service name", &service)] {
            if name.len() > MAX_NAME_BYTES {
                return Err(UsageError::TooLong {
                    what,
                    len: name.len(),
                });
            }
        }
        let host_level = service.is_empty();

        let state = match args.state {
            Some(s) => s,
            None => {
                let notification = env.get("NOTIFICATIONTYPE").map(str::to_uppercase);
                match notification.as_deref() {
                    Some("ACKNOWLEDGEMENT") => State::Ack,
                    _ => {
                        let macro_name = if host_level {
                            "HOSTSTATE"
                        } else {
                            "SERVICESTATE"
                        };
                        let value = env.get(macro_name).ok_or(UsageError::MissingState)?;
                        State::parse(value).ok_or_else(|| UsageError::InvalidState {
                            value: value.to_string(),
                            origin: if host_level {
                                "NAGIOS_HOSTSTATE"
                            } else {
                                "NAGIOS_SERVICESTATE"
                            },
                        })?
                    }
                }
            }
        };
        let output = pick(
            &args.output,
            if host_level {
                "HOSTOUTPUT"
            } else {
                "SERVICEOUTPUT"
            },
        )
        .unwrap_or_default();

        let order = engine_order(env, &node, &service);
        Ok(Event {
            key: Key::new(node, service),
            group: pick(&args.group, "HOSTGROUPNAME").unwrap_or_default(),
            address: pick(&args.address, "HOSTADDRESS").unwrap_or_default(),
            state,
            output,
            priority: args.priority.unwrap_or(default_priority),
            ack_author: pick(&args.ack_author, "NOTIFICATIONAUTHOR").unwrap_or_default(),
            ack_comment: pick(&args.ack_comment, "NOTIFICATIONCOMMENT").unwrap_or_default(),
            vars: args.vars.clone(),
            time: now,
            order,
            started: None,
        })
    }
}

/// The engine's numbering of this event, from the environment — only when
/// the environment is about this node and service (an option may name
/// another one) and gives a non-zero event id.
fn engine_order(env: &MonitorEnv, node: &str, service: &str) -> Option<EngineOrder> {
    let same = |name, value: &str| env.get(name).is_none_or(|v| v == value);
    if !same("HOSTNAME", node) || !same("SERVICEDESC", service) {
        return None;
    }
    let kind = if service.is_empty() {
        "HOST"
    } else {
        "SERVICE"
    };
    let number = |name: &str| {
        env.get(name)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
    };
    let id = number(&format!("{kind}EVENTID"))?;
    let hard = env
        .get(&format!("{kind}STATETYPE"))
        .is_some_and(|t| t.eq_ignore_ascii_case("HARD"));
    let state = env.get(&format!("{kind}STATE"));
    let last_state = env.get(&format!("LAST{kind}STATE"));
    Some(EngineOrder {
        id,
        previous: number(&format!("LAST{kind}EVENTID")),
        problem: number(&format!("{kind}PROBLEMID")),
        after_soft: hard && state.is_some() && state == last_state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> Given {
        Given::default()
    }

    fn now() -> jiff::Timestamp {
        jiff::Timestamp::UNIX_EPOCH
    }

    #[test]
    fn every_documented_state_spelling_parses() {
        for (text, state) in [
            ("OK", State::Ok),
            ("ok", State::Ok),
            ("0", State::Ok),
            ("UP", State::Ok),
            ("Warning", State::Warning),
            ("1", State::Warning),
            ("Alerte", State::Warning),
            ("CRITICAL", State::Critical),
            ("2", State::Critical),
            ("Critique", State::Critical),
            ("DOWN", State::Critical),
            ("unknown", State::Unknown),
            ("3", State::Unknown),
            ("Inconnu", State::Unknown),
            ("UNREACHABLE", State::Unknown),
            ("ACK", State::Ack),
            ("Acquittement", State::Ack),
            ("unack", State::Unack),
        ] {
            assert_eq!(State::parse(text), Some(state), "{text}");
        }
        for bad in ["", "4", "CRIT1CAL", "-1"] {
            assert_eq!(State::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn options_win_over_nagios_which_win_over_icinga() {
        let env = MonitorEnv::from_pairs(&[
            ("NAGIOS_HOSTNAME", "nagios-node"),
            ("ICINGA_HOSTNAME", "icinga-node"),
            ("ICINGA_SERVICEDESC", "icinga-svc"),
            ("NAGIOS_SERVICESTATE", "CRITICAL"),
            ("NAGIOS_SERVICEOUTPUT", "boom"),
        ]);
        let e = Event::resolve(&args(), &env, 3, now()).unwrap();
        assert_eq!(e.key.node, "nagios-node");
        assert_eq!(e.key.service, "icinga-svc");
        assert_eq!(e.state, State::Critical);
        assert_eq!(e.output, "boom");
        assert_eq!(e.priority, 3);

        let mut a = args();
        a.node = Some("cli-node".into());
        a.state = Some(State::Ok);
        a.priority = Some(5);
        let e = Event::resolve(&a, &env, 3, now()).unwrap();
        assert_eq!(e.key.node, "cli-node");
        assert_eq!(e.state, State::Ok);
        assert_eq!(e.priority, 5);
    }

    #[test]
    fn host_level_alert_uses_host_macros() {
        let env = MonitorEnv::from_pairs(&[
            ("NAGIOS_HOSTNAME", "n"),
            ("NAGIOS_HOSTSTATE", "DOWN"),
            ("NAGIOS_HOSTOUTPUT", "no ping"),
        ]);
        let e = Event::resolve(&args(), &env, 3, now()).unwrap();
        assert_eq!(e.key.service, "");
        assert_eq!(e.state, State::Critical);
        assert_eq!(e.output, "no ping");
    }

    #[test]
    fn missing_or_bad_context_is_a_usage_error() {
        let env = MonitorEnv::default();
        assert!(matches!(
            Event::resolve(&args(), &env, 3, now()),
            Err(UsageError::MissingNode)
        ));
        let mut a = args();
        a.node = Some("n".into());
        assert!(matches!(
            Event::resolve(&a, &env, 3, now()),
            Err(UsageError::MissingState)
        ));
        let env =
            MonitorEnv::from_pairs(&[("NAGIOS_SERVICEDESC", "s"), ("NAGIOS_SERVICESTATE", "BAD")]);
        assert!(matches!(
            Event::resolve(&a, &env, 3, now()),
            Err(UsageError::InvalidState { .. })
        ));
    }

    #[test]
    fn names_too_long_for_a_glpi_search_are_refused() {
        let mut a = args();
        a.node = Some("n".repeat(MAX_NAME_BYTES));
        a.state = Some(State::Critical);
        assert!(Event::resolve(&a, &MonitorEnv::default(), 3, now()).is_ok());
        a.service = Some("s".repeat(MAX_NAME_BYTES + 1));
        let e = Event::resolve(&a, &MonitorEnv::default(), 3, now()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the service name is 513 bytes long; at most 512 are accepted"
        );
    }

    #[test]
    fn distinct_byte_strings_stay_distinct_texts() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt as _;
        let texts: Vec<String> = [
            &b"caf\xe9"[..],
            b"caf\xe8",
            "caf\u{FFFD}".as_bytes(),
            "caf\u{FFFD}E9".as_bytes(),
            b"caf",
        ]
        .iter()
        .map(|b| os_text(OsStr::from_bytes(b)))
        .collect();
        for (i, a) in texts.iter().enumerate() {
            for b in &texts[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(texts[0], "caf\u{FFFD}E9");
        assert_eq!(os_text(OsStr::new("Débit ↯")), "Débit ↯");
    }

    #[test]
    fn acknowledgement_notification_type_means_ack() {
        let env = MonitorEnv::from_pairs(&[
            ("NAGIOS_HOSTNAME", "n"),
            ("NAGIOS_SERVICEDESC", "s"),
            ("NAGIOS_SERVICESTATE", "CRITICAL"),
            ("NAGIOS_NOTIFICATIONTYPE", "ACKNOWLEDGEMENT"),
            ("NAGIOS_NOTIFICATIONAUTHOR", "bob"),
            ("NAGIOS_NOTIFICATIONCOMMENT", "on it"),
        ]);
        let e = Event::resolve(&args(), &env, 3, now()).unwrap();
        assert_eq!(e.state, State::Ack);
        assert_eq!(e.ack_author, "bob");
        assert_eq!(e.ack_comment, "on it");
    }
}
