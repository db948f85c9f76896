//! The checklist of `check`: one line per step (✓, !, ✗) with one sentence
//! each, printed as text or JSON, and how a GLPI error reads on such a line.

use serde::Serialize;

use crate::core::Failure;
use crate::error::Stops;
use crate::glpi::GlpiError;
use crate::output;

/// One checklist mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Mark {
    Ok,
    Warn,
    Fail,
}

impl Mark {
    fn symbol(self) -> &'static str {
        match self {
            Mark::Ok => "✓",
            Mark::Warn => "!",
            Mark::Fail => "✗",
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Serialize)]
pub(super) struct Item {
    pub(super) step: &'static str,
    pub(super) status: Mark,
    pub(super) message: String,
    #[serde(skip)]
    stops: Option<Stops>,
}

/// The whole checklist, as printed (`--json`: this object).
#[derive(Debug, Serialize)]
pub(super) struct Report {
    config: String,
    /// True when `notify` will work (warnings allowed).
    ok: bool,
    problems: usize,
    warnings: usize,
    pub(super) glpi_version: Option<String>,
    pub(super) checks: Vec<Item>,
}

impl Report {
    /// An empty checklist for the configuration file `config`.
    pub(super) fn new(config: String) -> Report {
        Report {
            config,
            ok: false,
            problems: 0,
            warnings: 0,
            glpi_version: None,
            checks: Vec::new(),
        }
    }

    /// Counts the problems and warnings, once every step is on the list.
    pub(super) fn tally(&mut self) {
        let count = |mark| self.checks.iter().filter(|i| i.status == mark).count();
        self.problems = count(Mark::Fail);
        self.warnings = count(Mark::Warn);
        self.ok = self.problems == 0;
    }

    pub(super) fn problems(&self) -> usize {
        self.problems
    }

    /// The first ✗ line ("step: message") and what it stops.
    pub(super) fn first_problem(&self) -> Option<(String, Stops)> {
        self.checks
            .iter()
            .find(|i| i.status == Mark::Fail)
            .map(|first| {
                (
                    format!("{}: {}", first.step, first.message),
                    first.stops.unwrap_or(Stops::Notify(Failure::Refused)),
                )
            })
    }

    fn push(&mut self, step: &'static str, status: Mark, message: String) {
        self.checks.push(Item {
            step,
            status,
            message,
            stops: None,
        });
    }

    pub(super) fn ok(&mut self, step: &'static str, message: impl Into<String>) {
        self.push(step, Mark::Ok, message.into());
    }

    pub(super) fn warn(&mut self, step: &'static str, message: impl Into<String>) {
        self.push(step, Mark::Warn, message.into());
    }

    pub(super) fn fail(&mut self, step: &'static str, kind: Failure, message: impl Into<String>) {
        self.checks.push(Item {
            step,
            status: Mark::Fail,
            message: message.into(),
            stops: Some(Stops::Notify(kind)),
        });
    }

    /// A problem of the notification mail alone: the ticket is unaffected.
    pub(super) fn fail_mail(&mut self, step: &'static str, message: impl Into<String>) {
        self.checks.push(Item {
            step,
            status: Mark::Fail,
            message: message.into(),
            stops: Some(Stops::Mail),
        });
    }

    /// A problem of `reconcile`'s state source alone: `notify` is unaffected.
    pub(super) fn fail_reconcile(&mut self, step: &'static str, message: impl Into<String>) {
        self.checks.push(Item {
            step,
            status: Mark::Fail,
            message: message.into(),
            stops: Some(Stops::Reconcile),
        });
    }

    pub(super) fn human(&self) -> String {
        let mut out = format!("esia-glpi check ({})\n", self.config);
        for i in &self.checks {
            out.push_str(&output::sanitize(&format!(
                "{} {}: {}",
                i.status.symbol(),
                i.step,
                i.message
            )));
            out.push('\n');
        }
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let stopped = |what: Stops| {
            self.checks
                .iter()
                .any(|i| i.status == Mark::Fail && i.stops == Some(what))
        };
        let notify_works = self
            .checks
            .iter()
            .filter(|i| i.status == Mark::Fail)
            .all(|i| matches!(i.stops, Some(Stops::Mail | Stops::Reconcile)));
        let verdict = match (
            notify_works,
            stopped(Stops::Mail),
            stopped(Stops::Reconcile),
        ) {
            (false, _, _) => "→ notify will not work",
            (true, true, true) => "→ notify will work, but not its mail, nor reconcile",
            (true, true, false) => "→ notify will work, but not its mail",
            (true, false, true) => "→ notify will work, but not reconcile",
            (true, false, false) => "→ notify will work",
        };
        let summary = match (self.problems, self.warnings) {
            (0, 0) => "→ notify will work".to_string(),
            (0, w) => format!("→ notify will work ({})", plural(w, "warning")),
            (p, 0) => format!("{verdict}: {}", plural(p, "problem")),
            (p, w) => format!(
                "{verdict}: {}, {}",
                plural(p, "problem"),
                plural(w, "warning")
            ),
        };
        out.push_str(&summary);
        out
    }
}

pub(super) fn class_of(e: &GlpiError) -> Failure {
    crate::engine::glpi_failure(e)
}

/// The error and its hint, as one sentence.
pub(super) fn explain(e: &GlpiError) -> String {
    match e.hint() {
        Some(h) => format!("{e}: {h}"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_counts_problems_and_warnings() {
        let mut r = Report::new("t.conf".into());
        r.ok("a", "fine");
        r.warn("b", "hmm");
        r.tally();
        assert!(r.human().ends_with("→ notify will work (1 warning)"));
        r.fail("c", Failure::Refused, "bad\x1b[31m");
        r.tally();
        let h = r.human();
        assert!(h.contains("✗ c: bad [31m"), "{h}");
        assert!(h.ends_with("→ notify will not work: 1 problem, 1 warning"));
    }

    #[test]
    fn a_mail_problem_alone_leaves_notify_working() {
        let mut r = Report::new("t.conf".into());
        r.ok("a", "fine");
        r.fail_mail("mail relay", "down");
        r.tally();
        assert!(
            r.human()
                .ends_with("→ notify will work, but not its mail: 1 problem")
        );
        assert_eq!(r.first_problem().map(|p| p.1), Some(Stops::Mail));
        r.fail_reconcile("reconcile source", "stale");
        r.tally();
        assert!(
            r.human()
                .ends_with("→ notify will work, but not its mail, nor reconcile: 2 problems")
        );
        r.fail("c", Failure::Unavailable, "down");
        r.tally();
        assert!(r.human().ends_with("→ notify will not work: 3 problems"));
        assert_eq!(r.first_problem().map(|p| p.1), Some(Stops::Mail));
    }
}
