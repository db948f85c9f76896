//! The only writer of standard output: one human line, or one JSON object
//! with `--json` (SPEC "Command line"). Monitored-world text is stripped of
//! control characters before it reaches a terminal. Imports `core` and `text`.

use std::fmt::Write as _;
use std::io::Write as _;

use serde::Serialize;

use crate::core::{Event, Outcome, Remote, Skip, State};

/// The result of a `notify` run, as printed.
#[derive(Debug, Serialize)]
pub(crate) struct NotifyReport {
    /// `created`, `followed_up`, `solved`, `acknowledged`, `ignored` or `spooled`
    action: &'static str,
    ticket_id: Option<u64>,
    url: Option<String>,
    node: String,
    service: String,
    state: &'static str,
    /// Why nothing was written (`ignored`), or why the event is kept (`spooled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The ticket a human closed, replaced by this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<u64>,
}

/// Replaces control characters (escape sequences included) by spaces.
pub(crate) fn sanitize(text: &str) -> String {
    crate::text::one_line(text)
}

impl NotifyReport {
    /// The report of `event`'s `outcome`; `url` gives a ticket's web page.
    pub(crate) fn new(event: &Event, outcome: &Outcome, url: impl Fn(u64) -> String) -> Self {
        let reason = match outcome {
            Outcome::Ignored { skip, .. } => Some(skip_reason(*skip, event.state)),
            Outcome::Kept { reason, .. } => Some(format!(
                "kept for the next run or `esia-glpi flush`: {reason}"
            )),
            _ => None,
        };
        NotifyReport {
            action: outcome.action(),
            ticket_id: outcome.ticket(),
            url: outcome.ticket().map(url),
            node: event.key.node.clone(),
            service: event.key.service.clone(),
            state: event.state.json_name(),
            reason,
            replaces: outcome.replaces(),
        }
    }

    fn line(&self) -> String {
        let mut line = self.action.replace('_', " ");
        if let Some(id) = self.ticket_id {
            let _ = write!(line, " ticket {id}");
        }
        if let Some(url) = &self.url {
            line.push(' ');
            line.push_str(url);
        }
        if let Some(old) = self.replaces {
            let _ = write!(line, " (replaces ticket {old})");
        }
        if let Some(reason) = &self.reason {
            line.push_str(": ");
            line.push_str(reason);
        }
        sanitize(&line)
    }
}

/// Why nothing was written, for people.
fn skip_reason(skip: Skip, state: State) -> String {
    match skip {
        Skip::Renotification => format!("already recorded as {state}"),
        Skip::NoTicket => "no open ticket for this node and service".to_string(),
        Skip::Downtime => "a downtime never opens a ticket".to_string(),
        Skip::TicketOpen => "a ticket is open already".to_string(),
        Skip::ClosedInGlpi(id, remote) => {
            let how = match remote {
                Remote::Solved => "solved",
                Remote::Closed => "closed",
                Remote::Trashed => "put in the trash",
                Remote::Gone => "purged",
                Remote::Open => "open",
            };
            format!("ticket {id} was {how} in GLPI; nothing written into it")
        }
    }
}

/// Prints one line of text or one JSON value. A failed write (a closed
/// pipe, a full disk) is returned, never ignored: the caller says so.
pub(crate) fn emit<T: Serialize>(json: bool, value: &T, text: &str) -> std::io::Result<()> {
    let rendered = if json {
        serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    } else {
        text.to_string()
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{rendered}")?;
    out.flush()
}

pub(crate) fn notify(json: bool, report: &NotifyReport) -> std::io::Result<()> {
    emit(json, report, &report.line())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_line_names_action_ticket_and_url() {
        let event = Event::sample("n", "s", State::Critical);
        let r = NotifyReport::new(
            &event,
            &Outcome::Created {
                ticket: 42,
                replaces: None,
            },
            |id| format!("https://glpi.example.org/glpi/front/ticket.form.php?id={id}"),
        );
        assert_eq!(
            r.line(),
            "created ticket 42 https://glpi.example.org/glpi/front/ticket.form.php?id=42"
        );
        let json = serde_json::to_value(&r).unwrap();
        for k in ["action", "ticket_id", "url", "node", "service", "state"] {
            assert!(json.get(k).is_some(), "{k}");
        }
        assert_eq!(json["state"], "critical");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(sanitize("a\x1b[31mb\nc"), "a [31mb c");
    }
}
