//! The only writer of standard output: one human line, or one JSON object
//! with `--json` (SPEC "Command line"). Monitored-world text is stripped of
//! control characters before it reaches a terminal.

use std::fmt::Write as _;
use std::io::Write as _;

use serde::Serialize;

/// The result of a `notify` run.
#[derive(Debug, Serialize)]
pub(crate) struct NotifyReport {
    /// `created`, `followed_up`, `solved`, `acknowledged`, `ignored` or `spooled`
    pub(crate) action: &'static str,
    pub(crate) ticket_id: Option<u64>,
    pub(crate) url: Option<String>,
    pub(crate) node: String,
    pub(crate) service: String,
    pub(crate) state: &'static str,
    /// Why nothing was written, for `ignored`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// The ticket a human closed, replaced by this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) replaces: Option<u64>,
}

/// Replaces control characters (escape sequences included) by spaces.
pub(crate) fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl NotifyReport {
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

/// Prints one line of text or one JSON value.
pub(crate) fn emit<T: Serialize>(json: bool, value: &T, text: &str) {
    let rendered = if json {
        serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    } else {
        text.to_string()
    };
    let mut out = std::io::stdout().lock();
    // A closed stdout (engine not reading) must not turn a handled event into a failure.
    let _ = writeln!(out, "{rendered}");
    let _ = out.flush();
}

pub(crate) fn notify(json: bool, report: &NotifyReport) {
    emit(json, report, &report.line());
}

/// Free text for the `state` and `render` commands (already composed).
pub(crate) fn text<T: Serialize>(json: bool, value: &T, text: &str) {
    emit(json, value, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_line_names_action_ticket_and_url() {
        let r = NotifyReport {
            action: "created",
            ticket_id: Some(42),
            url: Some("https://glpi.example.org/glpi/front/ticket.form.php?id=42".into()),
            node: "n".into(),
            service: "s".into(),
            state: "critical",
            reason: None,
            replaces: None,
        };
        assert_eq!(
            r.line(),
            "created ticket 42 https://glpi.example.org/glpi/front/ticket.form.php?id=42"
        );
        let json = serde_json::to_value(&r).unwrap();
        for k in ["action", "ticket_id", "url", "node", "service", "state"] {
            assert!(json.get(k).is_some(), "{k}");
        }
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(sanitize("a\x1b[31mb\nc"), "a [31mb c");
    }
}
