//! An event resolved from what the command line gave ([`Given`]) and the
//! Nagios-style environment macros ([`MonitorEnv`]): precedence explicit
//! option > `NAGIOS_*` > `ICINGA_*`. Every engine must be able to pass
//! everything as arguments (Nagios ships with environment macros off,
//! Naemon has none, Icinga 2 passes arguments).
//!
//! The notification type decides what the event means, even when a state
//! is given (`--type ACKNOWLEDGEMENT --state CRITICAL` is an
//! acknowledgement). A malformed type or event number is ignored with a
//! warning, never an error: a run must not lose its alert to a malformed
//! macro.
//!
//! Pure: the caller captures the environment once and passes it in.

use std::collections::HashMap;

use super::event::{EngineOrder, Event, Key, NotificationType, State};

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

/// What a run lacking its context is told to do.
const WIRING: &str = "the monitoring engine passed no context: pass it as arguments (--node \
     \"$HOSTNAME$\" --service \"$SERVICEDESC$\" --state \"$SERVICESTATE$\" --type \
     \"$NOTIFICATIONTYPE$\" …, as the definitions in /usr/share/esia-glpi/engines/ do), or let \
     Nagios export its macros (enable_environment_macros=1 in nagios.cfg); README, \"Wiring \
     the monitoring engine\"";

impl UsageError {
    /// What to do about it.
    pub(crate) fn hint(&self) -> String {
        match self {
            UsageError::MissingNode | UsageError::MissingState => WIRING.into(),
            UsageError::InvalidState { .. } => {
                "accepted: OK, WARNING, CRITICAL, UNKNOWN, UP, DOWN, UNREACHABLE, ACK, UNACK \
                 (any case), Alerte, Critique, Inconnu, Acquittement, 0..3"
                    .into()
            }
            UsageError::TooLong { .. } => {
                "give the monitoring engine's short name of the node or service; the event was \
                 not kept"
                    .into()
            }
        }
    }
}

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

/// What the command line gave for one event (`notify` and `render`
/// options); `None` means "not given": the environment may supply it. The
/// engine's words (type, numbers, states) are kept as text and read here.
#[derive(Debug, Default, Clone)]
pub(crate) struct Given {
    pub(crate) priority: Option<u8>,
    pub(crate) node: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) service: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) output: Option<String>,
    pub(crate) address: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) author: Option<String>,
    pub(crate) comment: Option<String>,
    pub(crate) event_id: Option<String>,
    pub(crate) last_event_id: Option<String>,
    pub(crate) problem_id: Option<String>,
    pub(crate) last_problem_id: Option<String>,
    pub(crate) state_type: Option<String>,
    pub(crate) last_state: Option<String>,
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
    "LASTSERVICEPROBLEMID",
    "SERVICESTATETYPE",
    "LASTSERVICESTATE",
    "HOSTEVENTID",
    "LASTHOSTEVENTID",
    "HOSTPROBLEMID",
    "LASTHOSTPROBLEMID",
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

/// An event, and what was ignored in what the engine gave (warnings).
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) event: Event,
    pub(crate) warnings: Vec<String>,
}

/// A value given as an option, else from the environment; an empty option
/// counts as given (an engine's empty macro).
fn pick(opt: Option<&String>, env: &MonitorEnv, name: &str) -> Option<String> {
    opt.cloned().or_else(|| env.get(name).map(str::to_string))
}

impl Event {
    /// Resolves the command line and the environment into an event.
    pub(crate) fn resolve(
        args: &Given,
        env: &MonitorEnv,
        default_priority: u8,
        now: jiff::Timestamp,
    ) -> Result<Resolved, UsageError> {
        let mut warnings = Vec::new();
        let node = pick(args.node.as_ref(), env, "HOSTNAME")
            .filter(|n| !n.trim().is_empty())
            .ok_or(UsageError::MissingNode)?;
        let service = pick(args.service.as_ref(), env, "SERVICEDESC").unwrap_or_default();
        for (what, name) in [("node name", &node), ("service name", &service)] {
            if name.len() > MAX_NAME_BYTES {
                return Err(UsageError::TooLong {
                    what,
                    len: name.len(),
                });
            }
        }
        let host_level = service.is_empty();
        let kind_text = pick(args.kind.as_ref(), env, "NOTIFICATIONTYPE");
        let kind = kind_text
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .and_then(|t| {
                let parsed = NotificationType::parse(t);
                if parsed.is_none() {
                    warnings.push(format!(
                        "unknown notification type {t:?}: read as a state change (PROBLEM, \
                     RECOVERY, ACKNOWLEDGEMENT, FLAPPINGSTART, FLAPPINGSTOP, FLAPPINGDISABLED, \
                     DOWNTIMESTART, DOWNTIMEEND, DOWNTIMECANCELLED, CUSTOM)"
                    ));
                }
                parsed
            });
        let state = match kind {
            Some(NotificationType::Acknowledgement) => State::Ack,
            _ => read_state(args, env, host_level)?,
        };
        let output = pick(
            args.output.as_ref(),
            env,
            if host_level {
                "HOSTOUTPUT"
            } else {
                "SERVICEOUTPUT"
            },
        )
        .unwrap_or_default();
        let order = engine_order(args, env, &node, &service, state, &mut warnings);
        Ok(Resolved {
            event: Event {
                key: Key::new(node, service),
                group: pick(args.group.as_ref(), env, "HOSTGROUPNAME").unwrap_or_default(),
                address: pick(args.address.as_ref(), env, "HOSTADDRESS").unwrap_or_default(),
                state,
                output,
                priority: args.priority.unwrap_or(default_priority),
                kind,
                author: pick(args.author.as_ref(), env, "NOTIFICATIONAUTHOR").unwrap_or_default(),
                comment: pick(args.comment.as_ref(), env, "NOTIFICATIONCOMMENT")
                    .unwrap_or_default(),
                vars: args.vars.clone(),
                time: now,
                order,
                started: None,
                default_priority: false,
            },
            warnings,
        })
    }
}

/// The state given as an option (a host's numbers are host numbers), else
/// the host's or the service's state macro.
fn read_state(args: &Given, env: &MonitorEnv, host_level: bool) -> Result<State, UsageError> {
    let parse = |text: &str| {
        if host_level {
            State::parse_host(text)
        } else {
            State::parse(text)
        }
    };
    if let Some(given) = &args.state {
        return parse(given).ok_or_else(|| UsageError::InvalidState {
            value: given.clone(),
            origin: "--state",
        });
    }
    let (name, origin) = if host_level {
        ("HOSTSTATE", "NAGIOS_HOSTSTATE")
    } else {
        ("SERVICESTATE", "NAGIOS_SERVICESTATE")
    };
    let value = env.get(name).ok_or(UsageError::MissingState)?;
    parse(value).ok_or_else(|| UsageError::InvalidState {
        value: value.to_string(),
        origin,
    })
}

/// The engine's numbering of this event: the options, else the
/// environment — only when the environment is about this node and service
/// (an option may name another one). No number (or zero): none. A number
/// that is not one is ignored with a warning.
fn engine_order(
    args: &Given,
    env: &MonitorEnv,
    node: &str,
    service: &str,
    state: State,
    warnings: &mut Vec<String>,
) -> Option<EngineOrder> {
    let same = |name, value: &str| env.get(name).is_none_or(|v| v == value);
    let env_ok = same("HOSTNAME", node) && same("SERVICEDESC", service);
    let kind = if service.is_empty() {
        "HOST"
    } else {
        "SERVICE"
    };
    let text = |opt: &Option<String>, name: String| -> Option<String> {
        opt.clone()
            .or_else(|| env_ok.then(|| env.get(&name).map(str::to_string)).flatten())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    let mut number = |opt: &Option<String>, name: String, what: &str| -> Option<u64> {
        let t = text(opt, name)?;
        match t.parse::<u64>() {
            Ok(n) => (n > 0).then_some(n),
            Err(_) => {
                warnings.push(format!(
                    "{what} {t:?} is not a number: ignored (the events of this key are \
                     delivered in the order they arrived)"
                ));
                None
            }
        }
    };
    let id = number(&args.event_id, format!("{kind}EVENTID"), "event id")?;
    let previous = number(
        &args.last_event_id,
        format!("LAST{kind}EVENTID"),
        "last event id",
    );
    // The problem the event is about: a recovery ends the one the engine
    // now calls the last (it sets the current one to 0).
    let nonzero = |p: &String| p != "0";
    let problem = text(&args.problem_id, format!("{kind}PROBLEMID"))
        .filter(nonzero)
        .or_else(|| {
            state
                .is_ok()
                .then(|| text(&args.last_problem_id, format!("LAST{kind}PROBLEMID")))
                .flatten()
                .filter(nonzero)
        });
    let hard = text(&args.state_type, format!("{kind}STATETYPE"))
        .is_some_and(|t| t.eq_ignore_ascii_case("HARD") || t == "1");
    let last_state = text(&args.last_state, format!("LAST{kind}STATE")).and_then(|t| {
        if service.is_empty() {
            State::parse_host(&t)
        } else {
            State::parse(&t)
        }
    });
    Some(EngineOrder {
        id,
        previous,
        problem,
        after_soft: hard && last_state.is_some_and(|l| l.acts_as() == state.acts_as()),
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

    fn resolve(a: &Given, env: &MonitorEnv) -> Result<Event, UsageError> {
        Event::resolve(a, env, 3, now()).map(|r| r.event)
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
        let e = resolve(&args(), &env).unwrap();
        assert_eq!(e.key.node, "nagios-node");
        assert_eq!(e.key.service, "icinga-svc");
        assert_eq!(e.state, State::Critical);
        assert_eq!(e.output, "boom");
        assert_eq!(e.priority, 3);

        let mut a = args();
        a.node = Some("cli-node".into());
        a.state = Some("OK".into());
        a.priority = Some(5);
        let e = resolve(&a, &env).unwrap();
        assert_eq!(e.key.node, "cli-node");
        assert_eq!(e.state, State::Ok);
        assert_eq!(e.priority, 5);
    }

    #[test]
    fn host_level_alert_uses_host_macros_and_host_states() {
        let env = MonitorEnv::from_pairs(&[
            ("NAGIOS_HOSTNAME", "n"),
            ("NAGIOS_HOSTSTATE", "DOWN"),
            ("NAGIOS_HOSTOUTPUT", "no ping"),
        ]);
        let e = resolve(&args(), &env).unwrap();
        assert_eq!(e.key.service, "");
        assert_eq!(e.state, State::Down);
        assert_eq!(e.output, "no ping");
        // Numbers are host numbers for a host.
        let mut a = args();
        a.node = Some("n".into());
        a.state = Some("2".into());
        assert_eq!(
            resolve(&a, &MonitorEnv::default()).unwrap().state,
            State::Unreachable
        );
    }

    #[test]
    fn missing_or_bad_context_is_a_usage_error_with_the_fix() {
        let env = MonitorEnv::default();
        let e = resolve(&args(), &env).unwrap_err();
        assert!(matches!(e, UsageError::MissingNode));
        assert!(e.hint().contains("enable_environment_macros=1"));
        let mut a = args();
        a.node = Some("n".into());
        assert!(matches!(resolve(&a, &env), Err(UsageError::MissingState)));
        let env =
            MonitorEnv::from_pairs(&[("NAGIOS_SERVICEDESC", "s"), ("NAGIOS_SERVICESTATE", "BAD")]);
        assert!(matches!(
            resolve(&a, &env),
            Err(UsageError::InvalidState { .. })
        ));
    }

    #[test]
    fn names_too_long_for_a_glpi_search_are_refused() {
        let mut a = args();
        a.node = Some("n".repeat(MAX_NAME_BYTES));
        a.state = Some("CRITICAL".into());
        assert!(resolve(&a, &MonitorEnv::default()).is_ok());
        a.service = Some("s".repeat(MAX_NAME_BYTES + 1));
        let e = resolve(&a, &MonitorEnv::default()).unwrap_err();
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
        assert_eq!(os_text(OsStr::new("Débit ↯")), "Débit ↯");
    }

    #[test]
    fn the_type_decides_even_when_a_state_is_given() {
        let env = MonitorEnv::from_pairs(&[
            ("NAGIOS_HOSTNAME", "n"),
            ("NAGIOS_SERVICEDESC", "s"),
            ("NAGIOS_SERVICESTATE", "CRITICAL"),
            ("NAGIOS_NOTIFICATIONTYPE", "ACKNOWLEDGEMENT"),
            ("NAGIOS_NOTIFICATIONAUTHOR", "bob"),
            ("NAGIOS_NOTIFICATIONCOMMENT", "on it"),
        ]);
        let e = resolve(&args(), &env).unwrap();
        assert_eq!(e.state, State::Ack);
        assert_eq!(e.kind, Some(NotificationType::Acknowledgement));
        assert_eq!((e.author.as_str(), e.comment.as_str()), ("bob", "on it"));
        // Arguments only: --type ACKNOWLEDGEMENT --state CRITICAL.
        let mut a = args();
        a.node = Some("n".into());
        a.state = Some("CRITICAL".into());
        a.kind = Some("Acknowledgement".into());
        assert_eq!(
            resolve(&a, &MonitorEnv::default()).unwrap().state,
            State::Ack
        );
        // Another type keeps the state it carries.
        a.kind = Some("FLAPPINGSTART".into());
        let e = resolve(&a, &MonitorEnv::default()).unwrap();
        assert_eq!(
            (e.state, e.kind),
            (State::Critical, Some(NotificationType::FlappingStart))
        );
    }

    #[test]
    fn a_malformed_type_or_number_is_a_warning_not_an_error() {
        let mut a = args();
        a.node = Some("n".into());
        a.service = Some("s".into());
        a.state = Some("CRITICAL".into());
        a.kind = Some("STATECHANGE".into());
        a.event_id = Some("12x".into());
        let r = Event::resolve(&a, &MonitorEnv::default(), 3, now()).unwrap();
        assert_eq!(r.event.kind, None);
        assert_eq!(r.event.order, None);
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    }

    #[test]
    fn numbers_come_from_the_options_or_the_environment() {
        let mut a = args();
        a.node = Some("n".into());
        a.service = Some("s".into());
        a.state = Some("CRITICAL".into());
        a.event_id = Some("12".into());
        a.last_event_id = Some("11".into());
        a.problem_id = Some("0b6c9a3e-9d1e-4b1f-8f0e-1d2c3b4a5f60".into());
        a.state_type = Some("HARD".into());
        a.last_state = Some("CRITICAL".into());
        let o = resolve(&a, &MonitorEnv::default()).unwrap().order.unwrap();
        assert_eq!((o.id, o.previous), (12, Some(11)));
        assert_eq!(o.problem.as_deref().map(str::len), Some(36));
        assert!(o.after_soft);
        // The same from Nagios's environment, about this node and service.
        let env = MonitorEnv::from_pairs(&[
            ("NAGIOS_HOSTNAME", "n"),
            ("NAGIOS_SERVICEDESC", "s"),
            ("NAGIOS_SERVICEEVENTID", "12"),
            ("NAGIOS_LASTSERVICEEVENTID", "11"),
        ]);
        let mut b = args();
        b.state = Some("WARNING".into());
        let o = resolve(&b, &env).unwrap().order.unwrap();
        assert_eq!((o.id, o.previous, o.after_soft), (12, Some(11), false));
        // About another node: not this event's.
        b.node = Some("other".into());
        assert_eq!(resolve(&b, &env).unwrap().order, None);
    }
}
