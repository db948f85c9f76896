//! The order in which a key's kept events are delivered — the rule, pure.
//! The engine does all the waiting it implies (`engine/order.rs`).
//!
//! Events are delivered in the order they *happened*, not the order their
//! runs reached the key:
//! - when the engine numbers its events (Nagios-family `SERVICEEVENTID`,
//!   …), its numbering wins over arrival ([`next_in_order`]), and an event
//!   whose previous state change is newer than the key's last delivered one
//!   shows an earlier event still on its way ([`gap`]);
//! - otherwise the run this host started first goes first, within one boot
//!   ([`next_in_order`]); an event is written into GLPI no earlier than
//!   [`SETTLE`] after its run started ([`settle_left`]), so that a run
//!   started a little earlier but scheduled later can keep its event first.

use std::time::Duration;

use super::event::{Event, HostStamp};

/// How long after its run started an event the engine does not number may
/// be written into GLPI, at the earliest.
pub(crate) const SETTLE: Duration = Duration::from_millis(15);

/// The index of the event to deliver next among a key's kept events, given
/// in arrival order as `(place in arrival order, event)`: the oldest to
/// arrive — unless it is numbered by the engine and the engine numbered
/// another kept event earlier, which then goes first; or, not numbered,
/// another one's run was started earlier by this host (same boot): two runs
/// of one key may reach the queue in the other order. Ties keep arrival
/// order. `None` for an empty queue.
pub(crate) fn next_in_order<'a>(
    queue: impl IntoIterator<Item = (u64, &'a Event)> + Clone,
) -> Option<usize> {
    let (_, first) = queue.clone().into_iter().next()?;
    if first.order.is_none() {
        // Not numbered: the one whose run this host started first, among
        // those of the same boot as the oldest to arrive.
        let Some(boot) = first.started.as_ref().map(|s| &s.boot) else {
            return Some(0);
        };
        return Some(
            queue
                .into_iter()
                .enumerate()
                .filter(|(_, (_, e))| e.order.is_none())
                .filter_map(|(i, (seq, e))| {
                    let s = e.started.as_ref().filter(|s| s.boot == *boot)?;
                    Some((s.ns, seq, i))
                })
                .min()
                .map_or(0, |(_, _, i)| i),
        );
    }
    Some(
        queue
            .into_iter()
            .enumerate()
            .filter_map(|(i, (seq, e))| e.order.map(|o| (o.id, seq, i)))
            .min()
            .map_or(0, |(_, _, i)| i),
    )
}

/// The engine id of a state change that precedes `next` but was not
/// delivered yet, when the engine's numbering shows one (`last`: the id of
/// the key's last delivered event).
pub(crate) fn gap(next: &Event, last: Option<u64>) -> Option<u64> {
    let order = next.order?;
    let last = last?;
    let previous = order.previous?;
    (previous > last && order.id > last && !order.after_soft).then_some(previous)
}

/// True when `event` is the one a [`gap`] after `last` waits for (or one
/// between): it arrived, the queue is to be read again.
pub(crate) fn fills_gap(event: &Event, last: Option<u64>, missing: u64) -> bool {
    event
        .order
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
