//! The event a monitoring engine hands us and the key ([`Key`]) it belongs
//! to: its state ([`State`], host states kept as such), the kind of
//! notification ([`NotificationType`]) and where it stands in the engine's
//! own numbering ([`EngineOrder`]). How an event is resolved from the
//! command line and the environment is `resolve.rs`.
//!
//! Pure: no filesystem, no network, no clock.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A service or host state, as recorded and as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
    /// Host states, kept as such: they act as OK, CRITICAL and UNKNOWN.
    Up,
    Down,
    Unreachable,
    Ack,
    Unack,
}

impl State {
    /// Parses every spelling SPEC accepts: the English names (any case), the
    /// Esia French labels, the Nagios service numbers 0..3 and the host
    /// states.
    pub(crate) fn parse(text: &str) -> Option<State> {
        let t = text.trim().to_lowercase();
        Some(match t.as_str() {
            "ok" | "0" => State::Ok,
            "warning" | "warn" | "1" | "alerte" => State::Warning,
            "critical" | "crit" | "2" | "critique" => State::Critical,
            "unknown" | "3" | "inconnu" => State::Unknown,
            "up" => State::Up,
            "down" => State::Down,
            "unreachable" => State::Unreachable,
            "ack" | "acknowledgement" | "acknowledged" | "acquittement" => State::Ack,
            "unack" | "unacknowledgement" | "unacknowledged" => State::Unack,
            _ => return None,
        })
    }

    /// A host's state: its numbers are Nagios's host numbers (0 UP,
    /// 1 DOWN, 2 UNREACHABLE); names as [`State::parse`].
    pub(crate) fn parse_host(text: &str) -> Option<State> {
        match text.trim() {
            "0" => Some(State::Up),
            "1" => Some(State::Down),
            "2" => Some(State::Unreachable),
            _ => State::parse(text),
        }
    }

    /// What a host state acts as: UP = OK, DOWN = CRITICAL, UNREACHABLE =
    /// UNKNOWN; every other state is itself.
    pub(crate) fn acts_as(self) -> State {
        match self {
            State::Up => State::Ok,
            State::Down => State::Critical,
            State::Unreachable => State::Unknown,
            s => s,
        }
    }

    /// WARNING, CRITICAL, UNKNOWN, DOWN or UNREACHABLE: the states that
    /// open a ticket.
    pub(crate) fn is_problem(self) -> bool {
        matches!(
            self.acts_as(),
            State::Warning | State::Critical | State::Unknown
        )
    }

    /// OK or UP: a recovery.
    pub(crate) fn is_ok(self) -> bool {
        self.acts_as() == State::Ok
    }

    /// The upper-case label written in tickets and logs.
    pub(crate) fn label(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
            State::Up => "UP",
            State::Down => "DOWN",
            State::Unreachable => "UNREACHABLE",
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
            State::Up => "up",
            State::Down => "down",
            State::Unreachable => "unreachable",
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

/// What kind of notification the engine sends (Nagios
/// `$NOTIFICATIONTYPE$`, Icinga 2's `notification.type`): it decides what
/// the event means; the state it carries decides the rest (SPEC
/// "Notification types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum NotificationType {
    Problem,
    Recovery,
    Acknowledgement,
    FlappingStart,
    /// FLAPPINGSTOP (Nagios), FLAPPINGEND (Icinga 2).
    FlappingStop,
    FlappingDisabled,
    DowntimeStart,
    DowntimeEnd,
    /// DOWNTIMECANCELLED (Nagios), DOWNTIMEREMOVED (Icinga 2).
    DowntimeCancelled,
    Custom,
    /// Not the engine's: `esia-glpi reconcile` read the engine's state and
    /// found GLPI out of step (an OK with a ticket open, a problem without
    /// one). Never parsed from the command line.
    Reconcile,
}

impl NotificationType {
    /// Every type, for tests that go through all of them.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) const ALL: [NotificationType; 11] = [
        NotificationType::Problem,
        NotificationType::Recovery,
        NotificationType::Acknowledgement,
        NotificationType::FlappingStart,
        NotificationType::FlappingStop,
        NotificationType::FlappingDisabled,
        NotificationType::DowntimeStart,
        NotificationType::DowntimeEnd,
        NotificationType::DowntimeCancelled,
        NotificationType::Custom,
        NotificationType::Reconcile,
    ];

    /// Every spelling of Nagios, Naemon and Icinga 2, any case; `None` for
    /// another word.
    pub(crate) fn parse(text: &str) -> Option<NotificationType> {
        let t: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .collect::<String>()
            .to_ascii_uppercase();
        Some(match t.as_str() {
            "PROBLEM" => NotificationType::Problem,
            "RECOVERY" => NotificationType::Recovery,
            "ACKNOWLEDGEMENT" | "ACKNOWLEDGMENT" => NotificationType::Acknowledgement,
            "FLAPPINGSTART" => NotificationType::FlappingStart,
            "FLAPPINGSTOP" | "FLAPPINGEND" => NotificationType::FlappingStop,
            "FLAPPINGDISABLED" => NotificationType::FlappingDisabled,
            "DOWNTIMESTART" => NotificationType::DowntimeStart,
            "DOWNTIMEEND" => NotificationType::DowntimeEnd,
            "DOWNTIMECANCELLED" | "DOWNTIMECANCELED" | "DOWNTIMEREMOVED" => {
                NotificationType::DowntimeCancelled
            }
            "CUSTOM" => NotificationType::Custom,
            _ => return None,
        })
    }

    /// The name Nagios gives it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            NotificationType::Problem => "PROBLEM",
            NotificationType::Recovery => "RECOVERY",
            NotificationType::Acknowledgement => "ACKNOWLEDGEMENT",
            NotificationType::FlappingStart => "FLAPPINGSTART",
            NotificationType::FlappingStop => "FLAPPINGSTOP",
            NotificationType::FlappingDisabled => "FLAPPINGDISABLED",
            NotificationType::DowntimeStart => "DOWNTIMESTART",
            NotificationType::DowntimeEnd => "DOWNTIMEEND",
            NotificationType::DowntimeCancelled => "DOWNTIMECANCELLED",
            NotificationType::Custom => "CUSTOM",
            NotificationType::Reconcile => "RECONCILE",
        }
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
    /// The kind of notification, when the engine said (`None`: a state
    /// change, as Esia sends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<NotificationType>,
    /// Who and why, for the notifications that carry them (an
    /// acknowledgement, a downtime, a custom notification); written
    /// `ack_author` / `ack_comment` by earlier versions.
    #[serde(alias = "ack_author")]
    pub(crate) author: String,
    #[serde(alias = "ack_comment")]
    pub(crate) comment: String,
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
    /// Kept without `-L` by a run whose configuration could not be read:
    /// the run that delivers it gives it its configuration's
    /// `default_priority`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) default_priority: bool,
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
            kind: None,
            author: String::new(),
            comment: String::new(),
            vars: Vec::new(),
            time: jiff::Timestamp::UNIX_EPOCH,
            order: None,
            started: None,
            default_priority: false,
        }
    }
}

/// Where an event stands in the monitoring engine's sequence: Nagios-family
/// engines number every state change of the whole engine (`SERVICEEVENTID`,
/// `HOSTEVENTID`) and tell the id of the object's previous state change
/// (`LASTSERVICEEVENTID`), so that events of one key can be put back in the
/// order the engine produced them, and a missing earlier event noticed.
/// Numbers are compared only within one numbering (`core::order`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EngineOrder {
    /// The id of the state change this notification is about.
    pub(crate) id: u64,
    /// The id of the previous state change of the same host or service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) previous: Option<u64>,
    /// The id of the problem (kept across WARNING ↔ CRITICAL of one
    /// problem): opaque text — Naemon numbers problems with UUIDs (earlier
    /// versions wrote a number).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "number_or_text"
    )]
    pub(crate) problem: Option<String>,
    /// The previous state change was the soft one into this same state: the
    /// engine never notifies it, so a gap to it is no missing event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) after_soft: bool,
}

impl EngineOrder {
    /// True for the first event of a new numbering: numbered no higher than
    /// the previous state change of its own host or service, which only an
    /// engine whose counter started again from 1 does.
    pub(crate) fn restarts(&self) -> bool {
        self.previous.is_some_and(|p| p >= self.id)
    }
}

/// An optional id written as a number (earlier versions) or as text.
fn number_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    Ok(Option::<Id>::deserialize(d)?.map(|id| match id {
        Id::Number(n) => n.to_string(),
        Id::Text(t) => t,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_state_spelling_parses() {
        for (text, state) in [
            ("OK", State::Ok),
            ("ok", State::Ok),
            ("0", State::Ok),
            ("UP", State::Up),
            ("Warning", State::Warning),
            ("1", State::Warning),
            ("Alerte", State::Warning),
            ("CRITICAL", State::Critical),
            ("2", State::Critical),
            ("Critique", State::Critical),
            ("DOWN", State::Down),
            ("unknown", State::Unknown),
            ("3", State::Unknown),
            ("Inconnu", State::Unknown),
            ("UNREACHABLE", State::Unreachable),
            ("ACK", State::Ack),
            ("Acquittement", State::Ack),
            ("unack", State::Unack),
        ] {
            assert_eq!(State::parse(text), Some(state), "{text}");
        }
        for bad in ["", "4", "CRIT1CAL", "-1"] {
            assert_eq!(State::parse(bad), None, "{bad}");
        }
        // A host's numbers are Nagios's host numbers.
        assert_eq!(State::parse_host("1"), Some(State::Down));
        assert_eq!(State::parse_host("2"), Some(State::Unreachable));
        assert_eq!(State::parse_host("0"), Some(State::Up));
        assert_eq!(State::parse_host("3"), Some(State::Unknown));
    }

    #[test]
    fn host_states_act_as_service_states() {
        assert_eq!(State::Down.acts_as(), State::Critical);
        assert_eq!(State::Unreachable.acts_as(), State::Unknown);
        assert!(State::Up.is_ok() && !State::Up.is_problem());
        assert!(State::Down.is_problem() && State::Unreachable.is_problem());
        assert_eq!(State::Down.label(), "DOWN");
        assert_eq!(State::Unreachable.json_name(), "unreachable");
    }

    #[test]
    fn every_engine_spelling_of_a_notification_type_parses() {
        for (text, t) in [
            ("PROBLEM", NotificationType::Problem),
            ("Recovery", NotificationType::Recovery),
            ("acknowledgement", NotificationType::Acknowledgement),
            ("FLAPPINGSTART", NotificationType::FlappingStart),
            ("FlappingStart", NotificationType::FlappingStart),
            ("FLAPPINGSTOP", NotificationType::FlappingStop),
            ("FlappingEnd", NotificationType::FlappingStop),
            ("FLAPPINGDISABLED", NotificationType::FlappingDisabled),
            ("DowntimeStart", NotificationType::DowntimeStart),
            ("DOWNTIMEEND", NotificationType::DowntimeEnd),
            ("DOWNTIMECANCELLED", NotificationType::DowntimeCancelled),
            ("DowntimeRemoved", NotificationType::DowntimeCancelled),
            ("CUSTOM", NotificationType::Custom),
        ] {
            assert_eq!(NotificationType::parse(text), Some(t), "{text}");
        }
        assert_eq!(NotificationType::parse("STATECHANGE"), None);
        // Reconcile's own events never come from the command line.
        assert_eq!(NotificationType::parse("RECONCILE"), None);
        assert_eq!(NotificationType::parse(""), None);
    }

    #[test]
    fn events_of_earlier_versions_read_back() {
        let old = serde_json::json!({
            "key": {"node": "n", "service": "s"}, "group": "", "address": "",
            "state": "ACK", "output": "", "priority": 3,
            "ack_author": "jeanne", "ack_comment": "on it", "vars": [],
            "time": "2026-12-01T00:00:00Z",
            "order": {"id": 9, "previous": 8, "problem": 4}
        });
        let e: Event = serde_json::from_value(old).unwrap();
        assert_eq!((e.author.as_str(), e.comment.as_str()), ("jeanne", "on it"));
        assert_eq!(e.kind, None);
        assert_eq!(e.order.unwrap().problem.as_deref(), Some("4"));
        let uuid = serde_json::json!({"id": 9, "problem": "0b6c9a3e-9d1e-4b1f-8f0e-1d2c3b4a5f60"});
        let o: EngineOrder = serde_json::from_value(uuid).unwrap();
        assert_eq!(o.problem.unwrap().len(), 36);
    }
}
