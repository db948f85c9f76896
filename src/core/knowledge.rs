//! What the state knows of a key's ticket in GLPI without asking GLPI
//! ("know, do not search", SPEC "Cost"). Pure.
//!
//! Two things make the state know:
//! - the **inventory**: the open tickets the API user wrote that carry a
//!   marker, listed from GLPI once for a new, emptied, restored or replaced
//!   state (and again after `inventory_ttl`), with the key of each;
//! - each key's **trace**: the last ticket the state recorded for it and
//!   whether it was still open, kept apart from the record (a record
//!   deleted by hand leaves its trace, which then says the state lost it).
//!
//! [`knowledge`] tells, for a key with no usable record, whether GLPI has an
//! open ticket of it: a ticket to use, none for sure, or "ask GLPI" (one
//! indexed search).

use serde::{Deserialize, Serialize};

use super::identity::GlpiId;

/// The last ticket the state recorded for a key, and whether it was still
/// open when recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Trace {
    /// The GLPI it was recorded for.
    pub(crate) glpi: GlpiId,
    pub(crate) ticket: u64,
    pub(crate) open: bool,
}

/// How far the state's inventory of GLPI's open tickets can be trusted for
/// this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coverage {
    /// None for this GLPI, an old one (`inventory_ttl`), or one of a state
    /// restored or copied since: only GLPI knows.
    Unknown,
    /// A complete inventory: the key's open ticket when it was taken, if
    /// it had one.
    Complete { listed: Option<u64> },
}

/// What the state says of a key that has no usable record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Knowledge {
    /// The inventory lists this open ticket of the key: used as its record
    /// (read before anything is written into it, as every recorded ticket).
    Listed(u64),
    /// No ticket of the key is open in GLPI: nothing to search.
    NoneOpen,
    /// The state cannot tell (no complete inventory, a record lost, a trace
    /// of another GLPI): one indexed search in GLPI.
    Ask,
}

/// What the state knows of a key with no usable record, from its trace and
/// the inventory, for the GLPI `glpi`.
pub(crate) fn knowledge(trace: Option<&Trace>, coverage: Coverage, glpi: &GlpiId) -> Knowledge {
    let Coverage::Complete { listed } = coverage else {
        return Knowledge::Ask;
    };
    match (trace, listed) {
        (Some(t), _) if t.glpi != *glpi => Knowledge::Ask,
        // Never recorded since the inventory, which lists a ticket.
        (None, Some(ticket)) => Knowledge::Listed(ticket),
        // Recorded open, and the record is gone: lost, unless the inventory
        // names that very ticket.
        (Some(t), Some(ticket)) if t.open && t.ticket == ticket => Knowledge::Listed(ticket),
        (Some(t), _) if t.open => Knowledge::Ask,
        // Solved (or found closed) by this state, and the inventory lists
        // another ticket of the key.
        (Some(t), Some(ticket)) if ticket != t.ticket => Knowledge::Listed(ticket),
        // Never recorded and none listed, or solved by this state.
        (None | Some(_), _) => Knowledge::NoneOpen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glpi() -> GlpiId {
        GlpiId::new("https://glpi.example.org")
    }

    fn trace(ticket: u64, open: bool) -> Trace {
        Trace {
            glpi: glpi(),
            ticket,
            open,
        }
    }

    const fn complete(listed: Option<u64>) -> Coverage {
        Coverage::Complete { listed }
    }

    #[test]
    fn every_case() {
        let g = glpi();
        let rows: [(Option<Trace>, Coverage, Knowledge); 12] = [
            // Without a complete inventory only GLPI knows.
            (None, Coverage::Unknown, Knowledge::Ask),
            (Some(trace(4, false)), Coverage::Unknown, Knowledge::Ask),
            // Never seen since the inventory.
            (None, complete(None), Knowledge::NoneOpen),
            (None, complete(Some(9)), Knowledge::Listed(9)),
            // A record lost (its trace says open).
            (Some(trace(4, true)), complete(None), Knowledge::Ask),
            (Some(trace(4, true)), complete(Some(3)), Knowledge::Ask),
            (
                Some(trace(4, true)),
                complete(Some(4)),
                Knowledge::Listed(4),
            ),
            // Solved by this state.
            (Some(trace(4, false)), complete(None), Knowledge::NoneOpen),
            (
                Some(trace(4, false)),
                complete(Some(4)),
                Knowledge::NoneOpen,
            ),
            (
                Some(trace(4, false)),
                complete(Some(8)),
                Knowledge::Listed(8),
            ),
            (
                Some(trace(4, false)),
                complete(Some(2)),
                Knowledge::Listed(2),
            ),
            // A trace of another GLPI says nothing of this one.
            (
                Some(Trace {
                    glpi: GlpiId::new("https://other.example.org"),
                    ticket: 4,
                    open: false,
                }),
                complete(None),
                Knowledge::Ask,
            ),
        ];
        for (t, coverage, want) in rows {
            assert_eq!(
                knowledge(t.as_ref(), coverage, &g),
                want,
                "{t:?} {coverage:?}"
            );
        }
    }
}
