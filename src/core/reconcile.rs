//! Reconcile's decision (SPEC "Reconcile"): what the engine's own state says
//! of one host or service ([`Observed`]), what the state and GLPI's listing
//! of open tickets say of its key's ticket, and the safety margin →
//! solve, create, nothing to change, or leave it alone and say why
//! ([`verdict`]). Which objects the configuration names for creation
//! ([`Scope`]) is decided here too.
//!
//! Pure: no I/O, no clock (`now` is passed in), so every case is a row of
//! the table below. What happens under the key's hold (a notification kept
//! or delivered meanwhile) is the engine's (`engine/reconcile.rs`), which
//! then goes through the lifecycle with a reconcile event.

use std::time::Duration;

use jiff::Timestamp;

use super::event::{Key, State};

/// What the engine says of one host or service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "the engine's own flags, one column each"
)]
pub(crate) struct Observed {
    /// Its current state: OK, WARNING, CRITICAL, UNKNOWN for a service; UP,
    /// DOWN, UNREACHABLE for a host.
    pub(crate) state: State,
    /// The state is hard (engines keep OK and UP hard).
    pub(crate) hard: bool,
    /// Checked since the engine knows it: an engine restarted without its
    /// retention (state) file has every object pending, its state a
    /// placeholder (Nagios OK, Icinga 2 UNKNOWN or DOWN).
    pub(crate) checked: bool,
    /// Since when it is in this hard state, when the engine says.
    pub(crate) since: Option<Timestamp>,
    /// In a scheduled downtime (its own or its host's).
    pub(crate) downtime: bool,
    pub(crate) acknowledged: bool,
    pub(crate) flapping: bool,
}

impl Observed {
    /// A checked host that is DOWN or UNREACHABLE: its services get no
    /// ticket of their own.
    fn host_down(&self) -> bool {
        self.checked && self.state.is_problem()
    }
}

/// The key's ticket, as GLPI's listing and the state say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ticket {
    /// GLPI lists this open ticket of the key (its oldest).
    Open(u64),
    /// GLPI lists none, and the key's record names this ticket: a human
    /// solved or closed it in GLPI (or it no longer carries the marker).
    ClosedInGlpi(u64),
    /// No open ticket, no record.
    None,
}

/// Everything the decision needs about one key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts<'a> {
    /// What the engine says of the object; `None`: the engine does not know it.
    pub(crate) object: Option<&'a Observed>,
    /// For a service, its host, when the engine knows it.
    pub(crate) host: Option<&'a Observed>,
    pub(crate) ticket: Ticket,
    /// This program has seen the key: a record, a trace of a ticket, a kept
    /// or delivered event, or a marker ticket.
    pub(crate) seen: bool,
    /// The configuration names the object for creation ([`Scope`]).
    pub(crate) named: bool,
}

/// The configuration's knobs of the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    /// Nothing acts on a state younger than this: its notification may be
    /// on its way.
    pub(crate) margin: Duration,
    /// Open a ticket for a problem that has none.
    pub(crate) create_missing: bool,
}

/// What reconcile does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The object is OK/UP in a hard state: solve this open ticket.
    Solve(u64),
    /// A hard problem, not in a downtime, with no ticket: open one.
    Create,
    /// The object is OK/UP in a hard state, and its record names a ticket
    /// GLPI's listing does not show: read it; solve it if it is open, else
    /// forget the record.
    Verify(u64),
    /// GLPI mirrors the engine already.
    Right,
    /// Left alone, for this reason.
    Leave(Why),
}

/// Why a key is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    /// A ticket is open but the engine does not know the object (renamed,
    /// removed): reported, never solved on that ground.
    UnknownToEngine,
    /// Not checked since the engine started: its state means nothing yet.
    NotChecked,
    /// A soft state: the engine has not decided yet.
    Soft,
    /// Its state is younger than the margin: a notification may be on its way.
    Recent,
    /// In a downtime (its own or its host's): a downtime never opens a
    /// ticket, and a recovery inside it is settled when it ends (the
    /// DOWNTIMEEND notification, or the next reconcile).
    Downtime,
    /// A service whose host is DOWN or UNREACHABLE (the host's own ticket
    /// says it).
    HostDown,
    /// A problem whose ticket a human solved or closed in GLPI: the next
    /// problem notification opens a new one, reconcile does not.
    ClosedInGlpi(u64),
    /// `create_missing = false`.
    CreateOff,
    /// Never seen by this program, and not named by the configuration.
    NotSeen,
    /// Found under the key's hold: a notification of the key is being
    /// delivered (the key is held) or is kept.
    Busy,
    /// Found under the key's hold: the key's record changed after the
    /// engine's state was read — newer news than the source.
    Newer,
}

impl Why {
    /// The reason, for people and for `--json` (`reason`).
    pub(crate) fn code(self) -> &'static str {
        match self {
            Why::UnknownToEngine => "unknown_to_engine",
            Why::NotChecked => "not_checked",
            Why::Soft => "soft_state",
            Why::Recent => "within_margin",
            Why::Downtime => "in_downtime",
            Why::HostDown => "host_down",
            Why::ClosedInGlpi(_) => "closed_in_glpi",
            Why::CreateOff => "create_missing_off",
            Why::NotSeen => "not_seen",
            Why::Busy => "notification_in_progress",
            Why::Newer => "newer_than_source",
        }
    }

    /// A reason worth a line of its own in the report: every reason but
    /// those that only concern objects this program has nothing to do with
    /// (never seen, or creation off).
    pub(crate) fn reported(self) -> bool {
        !matches!(self, Why::NotSeen | Why::CreateOff)
    }
}

/// What reconcile does with one key (SPEC "Reconcile").
pub(crate) fn verdict(facts: &Facts<'_>, rules: Rules, now: Timestamp) -> Verdict {
    let Some(object) = facts.object else {
        return match facts.ticket {
            Ticket::Open(_) => Verdict::Leave(Why::UnknownToEngine),
            Ticket::ClosedInGlpi(_) | Ticket::None => Verdict::Right,
        };
    };
    let problem = object.state.is_problem();
    let open = match facts.ticket {
        Ticket::Open(id) => Some(id),
        Ticket::ClosedInGlpi(_) | Ticket::None => None,
    };
    // GLPI mirrors the engine: whatever the state's kind, nothing to do —
    // unless an OK object's record names a ticket the listing does not show
    // (solved or closed by a person, or open without the listing's mark, as
    // a ticket of an older version may be): it is read, and solved if open,
    // else the record goes.
    if problem == open.is_some() {
        return match facts.ticket {
            Ticket::ClosedInGlpi(id)
                if !problem
                    && !object.downtime
                    && unsettled(object, rules.margin, now).is_none() =>
            {
                Verdict::Verify(id)
            }
            _ => Verdict::Right,
        };
    }
    if problem {
        if !rules.create_missing {
            return Verdict::Leave(Why::CreateOff);
        }
        if !facts.seen && !facts.named {
            return Verdict::Leave(Why::NotSeen);
        }
    }
    if let Some(why) = unsettled(object, rules.margin, now) {
        return Verdict::Leave(why);
    }
    if object.downtime {
        return Verdict::Leave(Why::Downtime);
    }
    match open {
        Some(ticket) => Verdict::Solve(ticket),
        None if facts.host.is_some_and(Observed::host_down) => Verdict::Leave(Why::HostDown),
        None => match facts.ticket {
            Ticket::ClosedInGlpi(id) => Verdict::Leave(Why::ClosedInGlpi(id)),
            Ticket::Open(_) | Ticket::None => Verdict::Create,
        },
    }
}

/// Why the object's state cannot be acted upon yet, if it cannot.
fn unsettled(object: &Observed, margin: Duration, now: Timestamp) -> Option<Why> {
    if !object.checked {
        return Some(Why::NotChecked);
    }
    if !object.hard {
        return Some(Why::Soft);
    }
    let recent = object.since.is_some_and(|since| {
        Duration::try_from(now.duration_since(since)).map_or(true, |age| age < margin)
    });
    recent.then_some(Why::Recent)
}

/// The objects the configuration names for creation even if this program
/// never saw them: their host's groups, or a name pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scope {
    /// Host groups: every object of a host in one of them.
    pub(crate) groups: Vec<String>,
    /// `NODE` or `NODE/SERVICE` patterns, `*` for any text and `?` for one
    /// character: a pattern without `/` names a host and all its services.
    pub(crate) names: Vec<String>,
}

impl Scope {
    /// True when the object `key`, on a host in `groups`, is named.
    pub(crate) fn names(&self, key: &Key, groups: &[String]) -> bool {
        if groups.iter().any(|g| self.groups.contains(g)) {
            return true;
        }
        self.names
            .iter()
            .any(|pattern| match pattern.split_once('/') {
                None => glob(pattern, &key.node),
                Some((node, service)) => glob(node, &key.node) && glob(service, &key.service),
            })
    }
}

/// Whether `text` matches `pattern` (`*`: any text, `?`: one character),
/// whole, case-sensitively.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Iterative matching with one backtrack point (the last `*`).
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn at(secs_ago: i64) -> Timestamp {
        Timestamp::from_second(NOW - secs_ago).unwrap()
    }

    fn object(state: State) -> Observed {
        Observed {
            state,
            hard: true,
            checked: true,
            since: Some(at(600)),
            downtime: false,
            acknowledged: false,
            flapping: false,
        }
    }

    const RULES: Rules = Rules {
        margin: Duration::from_secs(30),
        create_missing: true,
    };

    fn not_seen(f: Facts<'_>) -> Facts<'_> {
        Facts { seen: false, ..f }
    }

    fn facts(object: Option<&Observed>, ticket: Ticket) -> Facts<'_> {
        Facts {
            object,
            host: None,
            ticket,
            seen: true,
            named: false,
        }
    }

    #[test]
    #[expect(
        clippy::too_many_lines,
        reason = "the decision's table, one row per case"
    )]
    fn every_case() {
        let ok = object(State::Ok);
        let up = object(State::Up);
        let crit = object(State::Critical);
        let down = object(State::Down);
        let soft = Observed {
            hard: false,
            ..object(State::Warning)
        };
        let pending_ok = Observed {
            checked: false,
            ..object(State::Ok)
        };
        let pending_unknown = Observed {
            checked: false,
            ..object(State::Unknown)
        };
        let fresh_ok = Observed {
            since: Some(at(10)),
            ..object(State::Ok)
        };
        let fresh_crit = Observed {
            since: Some(at(29)),
            ..object(State::Critical)
        };
        let old_enough = Observed {
            since: Some(at(30)),
            ..object(State::Ok)
        };
        let ahead_of_clock = Observed {
            since: Some(at(-5)),
            ..object(State::Ok)
        };
        let no_since = Observed {
            since: None,
            ..object(State::Ok)
        };
        let in_downtime = Observed {
            downtime: true,
            ..object(State::Critical)
        };
        let ok_in_downtime = Observed {
            downtime: true,
            ..object(State::Ok)
        };
        let acked = Observed {
            acknowledged: true,
            ..object(State::Warning)
        };
        let flapping_ok = Observed {
            flapping: true,
            ..object(State::Ok)
        };
        let unchecked_down_host = Observed {
            checked: false,
            ..object(State::Down)
        };
        let open = Ticket::Open(7);
        let closed = Ticket::ClosedInGlpi(5);
        let none = Ticket::None;

        let (ok, up, crit, down, soft) = (&ok, &up, &crit, &down, &soft);
        let (pending_ok, pending_unknown) = (&pending_ok, &pending_unknown);
        let (fresh_ok, fresh_crit, old_enough) = (&fresh_ok, &fresh_crit, &old_enough);
        let (ahead_of_clock, no_since) = (&ahead_of_clock, &no_since);
        let (in_downtime, ok_in_downtime, acked) = (&in_downtime, &ok_in_downtime, &acked);
        let (flapping_ok, unchecked_down_host) = (&flapping_ok, &unchecked_down_host);
        let rows: Vec<(&str, Facts<'_>, Verdict)> = vec![
            // Recovered, no recovery sent: solve.
            ("ok, open", facts(Some(ok), open), Verdict::Solve(7)),
            ("host up, open", facts(Some(up), open), Verdict::Solve(7)),
            (
                "flapping, ok",
                facts(Some(flapping_ok), open),
                Verdict::Solve(7),
            ),
            // A downtime keeps what the key had: its end (a notification,
            // or the next reconcile) settles it.
            (
                "ok in a downtime",
                facts(Some(ok_in_downtime), open),
                Verdict::Leave(Why::Downtime),
            ),
            ("no since", facts(Some(no_since), open), Verdict::Solve(7)),
            ("30 s old", facts(Some(old_enough), open), Verdict::Solve(7)),
            (
                "never seen, ok",
                not_seen(facts(Some(ok), open)),
                Verdict::Solve(7),
            ),
            // The mirror holds.
            ("ok, none", facts(Some(ok), none), Verdict::Right),
            // The record's ticket is not listed: read, solved if open.
            ("ok, closed", facts(Some(ok), closed), Verdict::Verify(5)),
            (
                "fresh ok, closed",
                facts(Some(fresh_ok), closed),
                Verdict::Right,
            ),
            (
                "ok in a downtime, closed",
                facts(Some(ok_in_downtime), closed),
                Verdict::Right,
            ),
            ("crit, open", facts(Some(crit), open), Verdict::Right),
            ("soft, open", facts(Some(soft), open), Verdict::Right),
            (
                "pending ok, none",
                facts(Some(pending_ok), none),
                Verdict::Right,
            ),
            ("unknown, closed", facts(None, closed), Verdict::Right),
            // A problem without a ticket: create.
            ("crit, none", facts(Some(crit), none), Verdict::Create),
            ("host down", facts(Some(down), none), Verdict::Create),
            ("acknowledged", facts(Some(acked), none), Verdict::Create),
            // Left alone, and why.
            (
                "unknown to the engine",
                facts(None, open),
                Verdict::Leave(Why::UnknownToEngine),
            ),
            (
                "restarted without retention: ok, pending",
                facts(Some(pending_ok), open),
                Verdict::Leave(Why::NotChecked),
            ),
            (
                "restarted without retention: unknown, pending",
                facts(Some(pending_unknown), none),
                Verdict::Leave(Why::NotChecked),
            ),
            ("soft", facts(Some(soft), none), Verdict::Leave(Why::Soft)),
            (
                "fresh ok",
                facts(Some(fresh_ok), open),
                Verdict::Leave(Why::Recent),
            ),
            (
                "fresh crit",
                facts(Some(fresh_crit), none),
                Verdict::Leave(Why::Recent),
            ),
            (
                "a clock behind the engine's",
                facts(Some(ahead_of_clock), open),
                Verdict::Leave(Why::Recent),
            ),
            (
                "in a downtime",
                facts(Some(in_downtime), none),
                Verdict::Leave(Why::Downtime),
            ),
            (
                "closed by a human",
                facts(Some(crit), closed),
                Verdict::Leave(Why::ClosedInGlpi(5)),
            ),
            (
                "never seen",
                not_seen(facts(Some(crit), none)),
                Verdict::Leave(Why::NotSeen),
            ),
            (
                "never seen but named",
                Facts {
                    named: true,
                    ..not_seen(facts(Some(crit), none))
                },
                Verdict::Create,
            ),
            (
                "host down",
                Facts {
                    host: Some(down),
                    ..facts(Some(crit), none)
                },
                Verdict::Leave(Why::HostDown),
            ),
            (
                "host never checked (Icinga 2 says DOWN)",
                Facts {
                    host: Some(unchecked_down_host),
                    ..facts(Some(crit), none)
                },
                Verdict::Create,
            ),
            (
                "host up",
                Facts {
                    host: Some(up),
                    ..facts(Some(crit), none)
                },
                Verdict::Create,
            ),
        ];
        for (what, f, want) in rows {
            assert_eq!(verdict(&f, RULES, at(0)), want, "{what}");
        }
        let off = Rules {
            create_missing: false,
            ..RULES
        };
        assert_eq!(
            verdict(&facts(Some(crit), none), off, at(0)),
            Verdict::Leave(Why::CreateOff)
        );
        // Creation off still solves.
        assert_eq!(
            verdict(&facts(Some(ok), open), off, at(0)),
            Verdict::Solve(7)
        );
    }

    #[test]
    fn only_reasons_about_our_objects_are_reported() {
        assert!(!Why::NotSeen.reported() && !Why::CreateOff.reported());
        assert!(Why::Recent.reported() && Why::Busy.reported());
        assert_eq!(Why::ClosedInGlpi(3).code(), "closed_in_glpi");
    }

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("web-*", "web-01", true),
            ("web-*", "db-01", false),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("w?b", "web", true),
            ("w?b", "wb", false),
            ("*-01", "web-01", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("*.example.org", "srv.example.org", true),
            ("Web*", "web", false),
        ] {
            assert_eq!(glob(p, t), want, "{p} {t}");
        }
    }

    #[test]
    fn scope_names_by_group_or_pattern() {
        let scope = Scope {
            groups: vec!["Paris".into()],
            names: vec!["db-*".into(), "web-01/HTTP*".into()],
        };
        let key = |n: &str, s: &str| Key::new(n, s);
        assert!(scope.names(&key("x", "y"), &["Lyon".into(), "Paris".into()]));
        assert!(!scope.names(&key("x", "y"), &["Lyon".into()]));
        assert!(scope.names(&key("db-02", "MySQL"), &[]));
        assert!(scope.names(&key("db-02", ""), &[]));
        assert!(scope.names(&key("web-01", "HTTPS"), &[]));
        assert!(!scope.names(&key("web-01", "SSH"), &[]));
        assert!(!scope.names(&key("web-01", ""), &[]));
        assert!(!Scope::default().names(&key("a", "b"), &["Paris".into()]));
    }
}
