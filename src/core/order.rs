//! The order in which a key's kept events are delivered — the rule, pure.
//! The engine does all the waiting it implies (`engine/order.rs`).
//!
//! Events are delivered in the order they *happened*, not the order their
//! runs reached the key:
//! - when the engine numbers its events (Nagios-family `SERVICEEVENTID`,
//!   …), its numbering wins over arrival — but only within one numbering
//!   ([`one_numbering`]): an engine restarted without its retained program
//!   state numbers from 1 again, and two engines of a fail-over pair number
//!   independently; and an event whose previous state change is newer than
//!   the key's last delivered one shows an earlier event still on its way
//!   ([`gap`]);
//! - otherwise the run this host started first goes first, within one boot;
//!   an event is written into GLPI no earlier than [`SETTLE`] after its run
//!   started ([`settle_left`]), so that a run started a little earlier but
//!   scheduled later can keep its event first;
//! - events of two hosts (or two boots) stay in the order they were kept.

use std::time::Duration;

use super::event::{EngineOrder, Event, HostStamp};

/// How long after its run started an event the engine does not number may
/// be written into GLPI, at the earliest.
pub(crate) const SETTLE: Duration = Duration::from_millis(15);

/// How far apart the runs of two numbered events may have started on this
/// host for their numbers to be compared. An engine starts the runs of its
/// notifications within milliseconds of numbering them (Nagios 4 hands them
/// to its workers at once); a restart takes longer than this, so events
/// further apart are ordered by when their runs started, whatever numbers
/// they carry.
pub(crate) const NUMBERING_SPAN: Duration = Duration::from_secs(2);

/// The index of the event to deliver next among a key's kept events, given
/// in arrival order as `(place in arrival order, event)`: the oldest to
/// arrive, unless a later one [`goes_before`] it. Ties keep arrival order.
/// `None` for an empty queue.
pub(crate) fn next_in_order<'a>(
    queue: impl IntoIterator<Item = (u64, &'a Event)>,
) -> Option<usize> {
    let events: Vec<&Event> = queue.into_iter().map(|(_, e)| e).collect();
    let runs: Vec<Run<'_>> = events.iter().map(|e| Run::of(e, &events)).collect();
    let mut at = 0;
    for (i, run) in runs.iter().enumerate().skip(1) {
        if run.goes_before(&runs[at]) {
            at = i;
        }
    }
    (!events.is_empty()).then_some(at)
}

/// A kept event, and the numbering it belongs to among the key's kept
/// events of its boot: how many of them start a new numbering
/// ([`EngineOrder::restarts`]) and ran no later than it.
struct Run<'a> {
    event: &'a Event,
    numbering: usize,
}

impl<'a> Run<'a> {
    fn of(event: &'a Event, all: &[&Event]) -> Run<'a> {
        let numbering = event.started.as_ref().map_or(0, |at| {
            all.iter()
                .filter(|e| e.order.as_ref().is_some_and(EngineOrder::restarts))
                .filter_map(|e| e.started.as_ref())
                .filter(|s| s.boot == at.boot && s.ns <= at.ns)
                .count()
        });
        Run { event, numbering }
    }

    /// True when this event (kept after `earlier`) happened before it:
    /// - both runs started on this host in one boot: an older numbering
    ///   first; in one numbering, the engine's numbers decide when both
    ///   carry them and their runs started within [`NUMBERING_SPAN`] of
    ///   each other ([`one_numbering`]); otherwise the run started first;
    /// - neither run was stamped (kept by a version that did not stamp
    ///   runs): the engine's numbers decide when both carry them;
    /// - otherwise (two hosts, two boots): never — the order they were kept.
    fn goes_before(&self, earlier: &Run<'_>) -> bool {
        let (later, earlier_event) = (self.event, earlier.event);
        let numbers = later.order.as_ref().zip(earlier_event.order.as_ref());
        match (&later.started, &earlier_event.started) {
            (Some(a), Some(b)) if a.boot == b.boot => {
                if self.numbering != earlier.numbering {
                    return self.numbering < earlier.numbering;
                }
                match numbers {
                    Some((x, y)) if one_numbering(x, y, a.ns.abs_diff(b.ns)) => x.id < y.id,
                    _ => a.ns < b.ns,
                }
            }
            (None, None) => numbers.is_some_and(|(x, y)| x.id < y.id),
            _ => false,
        }
    }
}

/// True when the numbers of two events numbered by engines on this host,
/// whose runs started `apart_ns` apart, compare: their runs started within
/// [`NUMBERING_SPAN`] (an engine restarts slower than that), and neither is
/// the first of a new numbering — an event numbered no higher than the
/// previous state change of its own host or service, which an engine
/// restarted without its program state (but with its objects' retained
/// state) numbers from 1 again.
pub(crate) fn one_numbering(a: &EngineOrder, b: &EngineOrder, apart_ns: u64) -> bool {
    u128::from(apart_ns) < NUMBERING_SPAN.as_nanos() && !a.restarts() && !b.restarts()
}

/// The engine id of a state change that precedes `next` but was not
/// delivered yet, when the engine's numbering shows one (`last`: the id of
/// the key's last delivered event).
pub(crate) fn gap(next: &Event, last: Option<u64>) -> Option<u64> {
    let order = next.order.as_ref()?;
    let last = last?;
    let previous = order.previous?;
    (previous > last && order.id > last && !order.after_soft && !order.restarts())
        .then_some(previous)
}

/// True when `event` is the one a [`gap`] after `last` waits for (or one
/// between): it arrived, the queue is to be read again.
pub(crate) fn fills_gap(event: &Event, last: Option<u64>, missing: u64) -> bool {
    event
        .order
        .as_ref()
        .is_some_and(|o| last.is_none_or(|d| o.id > d) && o.id <= missing)
}

/// For an event the engine does not number: how much of the [`SETTLE`]
/// window is left at `now` since its run started; `None` when none is
/// (numbered, stamped on another boot, or old enough).
pub(crate) fn settle_left(event: &Event, now: Option<&HostStamp>) -> Option<Duration> {
    if event.order.is_some() {
        return None;
    }
    let age = now?.since(event.started.as_ref()?)?;
    SETTLE.checked_sub(age).filter(|left| !left.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{EngineOrder, State};

    fn numbered(order: Option<(u64, u64)>) -> Event {
        Event {
            order: order.map(|(id, previous)| EngineOrder {
                id,
                previous: Some(previous),
                problem: None,
                after_soft: false,
            }),
            ..Event::sample("n", "s", State::Critical)
        }
    }

    fn started(boot: &str, ns: u64) -> Event {
        Event {
            started: Some(HostStamp {
                boot: boot.to_string(),
                ns,
            }),
            ..Event::sample("n", "s", State::Critical)
        }
    }

    fn next(events: &[(u64, Event)]) -> Option<u64> {
        next_in_order(events.iter().map(|(seq, e)| (*seq, e))).map(|i| events[i].0)
    }

    #[test]
    fn arrival_order_unless_the_engine_numbered_an_earlier_event() {
        // No engine numbering: arrival order.
        assert_eq!(
            next(&[(1, numbered(None)), (2, numbered(Some((5, 4))))]),
            Some(1)
        );
        // The OK (10) arrived before the CRITICAL (9): the CRITICAL goes first.
        let q = [(1, numbered(Some((10, 9)))), (2, numbered(Some((9, 8))))];
        assert_eq!(next(&q), Some(2));
        // Same engine id (an acknowledgement of the same change): arrival order.
        let q = [(1, numbered(Some((9, 8)))), (2, numbered(Some((9, 8))))];
        assert_eq!(next(&q), Some(1));
        assert_eq!(next(&[]), None);
    }

    #[test]
    fn without_numbers_the_run_started_first_goes_first_within_one_boot() {
        // The OK's run (started at 50) reached the queue before the
        // WARNING's (started at 10): the WARNING goes first.
        assert_eq!(
            next(&[(1, started("b", 50)), (2, started("b", 10))]),
            Some(2)
        );
        // Stamps of another boot than the oldest to arrive: arrival order
        // (kept before a reboot, the older boot's events arrived first).
        assert_eq!(
            next(&[(1, started("old", 900)), (2, started("new", 10))]),
            Some(1)
        );
        // An event without stamp (an older version's) ahead: arrival order.
        assert_eq!(next(&[(1, numbered(None)), (2, started("b", 10))]), Some(1));
        // Equal stamps: arrival order.
        assert_eq!(next(&[(3, started("b", 7)), (4, started("b", 7))]), Some(3));
    }

    /// Numbered `(id, previous)`, its run started on `boot` at `ms`.
    fn run(id: u64, previous: u64, boot: &str, ms: u64) -> Event {
        Event {
            started: Some(HostStamp {
                boot: boot.to_string(),
                ns: ms * 1_000_000,
            }),
            ..numbered(Some((id, previous)))
        }
    }

    #[test]
    fn numbers_are_compared_only_within_one_numbering() {
        // One numbering, runs started out of order: the numbers win.
        let q = [(1, run(10, 9, "b", 1_000)), (2, run(9, 8, "b", 1_005))];
        assert_eq!(next(&q), Some(2));
        // The engine restarted and numbers from 1 again; its CRITICAL 5001
        // was kept during the outage, before the restart: it goes first.
        let q = [(1, run(5001, 5000, "b", 0)), (2, run(2, 1, "b", 60_000))];
        assert_eq!(next(&q), Some(1));
        // Even a quick restart: the first event of the new numbering is
        // numbered no higher than its service's previous change.
        let q = [(1, run(5001, 5000, "b", 0)), (2, run(1, 5001, "b", 500))];
        assert_eq!(next(&q), Some(1));
        // …and the events numbered after it, in the new numbering, come
        // after every event of the old one.
        let q = [
            (1, run(5001, 5000, "b", 0)),
            (2, run(1, 5001, "b", 500)),
            (3, run(2, 1, "b", 600)),
        ];
        assert_eq!(next(&q), Some(1));
        assert_eq!(next(&q[1..]), Some(2));
        let q = [(1, run(2, 1, "b", 600)), (2, run(1, 5001, "b", 500))];
        assert_eq!(next(&q), Some(2), "in one numbering, the numbers");
        // Two engines (a fail-over pair, two hosts): the order they were
        // kept in, whatever their numbers.
        let q = [(1, run(100_001, 100_000, "a", 0)), (2, run(60, 59, "b", 0))];
        assert_eq!(next(&q), Some(1));
        // Events an earlier version kept (no run stamps): its numbers.
        let q = [(1, numbered(Some((10, 9)))), (2, numbered(Some((9, 8))))];
        assert_eq!(next(&q), Some(2));
        // A numbered and a not numbered event of one boot: the run started
        // first.
        let q = [(1, run(7, 6, "b", 30)), (2, started("b", 20_000_000))];
        assert_eq!(next(&q), Some(2));
    }

    #[test]
    fn the_first_event_of_a_new_numbering_shows_no_gap() {
        let first = run(1, 5001, "b", 0);
        assert_eq!(gap(&first, Some(4000)), None);
        assert!(first.order.as_ref().is_some_and(EngineOrder::restarts));
        assert!(!run(5002, 5001, "b", 0).order.unwrap().restarts());
    }

    #[test]
    fn a_gap_is_a_newer_previous_change_than_the_last_delivered() {
        assert_eq!(gap(&numbered(Some((10, 9))), Some(8)), Some(9));
        assert_eq!(gap(&numbered(Some((10, 9))), Some(9)), None);
        assert_eq!(gap(&numbered(Some((10, 9))), None), None, "nothing known");
        assert_eq!(gap(&numbered(None), Some(3)), None);
        // An acknowledgement carries the id of the change it acknowledges.
        assert_eq!(gap(&numbered(Some((9, 8))), Some(9)), None);
        let mut after_soft = numbered(Some((10, 9)));
        after_soft.order.as_mut().unwrap().after_soft = true;
        assert_eq!(gap(&after_soft, Some(8)), None);
        // What fills it: an event numbered after the last delivered, up to
        // the missing one.
        assert!(fills_gap(&numbered(Some((9, 7))), Some(8), 9));
        assert!(!fills_gap(&numbered(Some((10, 9))), Some(8), 9));
        assert!(!fills_gap(&numbered(None), Some(8), 9));
    }

    #[test]
    fn the_settle_window_counts_from_the_run_start_on_one_boot() {
        let e = started("b", 1_000_000);
        let at = |ns| HostStamp {
            boot: "b".into(),
            ns,
        };
        assert_eq!(settle_left(&e, Some(&at(1_000_000))), Some(SETTLE));
        assert_eq!(
            settle_left(&e, Some(&at(6_000_000))),
            Some(Duration::from_millis(10))
        );
        assert_eq!(settle_left(&e, Some(&at(16_000_000))), None, "old enough");
        let other_boot = HostStamp {
            boot: "c".into(),
            ns: 0,
        };
        assert_eq!(settle_left(&e, Some(&other_boot)), None);
        assert_eq!(settle_left(&e, None), None);
        assert_eq!(settle_left(&numbered(Some((3, 2))), Some(&at(0))), None);
    }
}
