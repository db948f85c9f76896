//! Nagios 4 / Naemon `status.dat`: blocks `name {` … `}` of `key=value`
//! lines, rewritten whole by the engine every `status_update_interval`
//! (through a temporary file and a rename: a reader sees the old file or
//! the new one). Read: `info { created }` (when it was written: its age),
//! `programstatus { program_start }`, and per `hoststatus` / `servicestatus`
//! block `current_state`, `state_type` (1 hard), `has_been_checked`,
//! `last_hard_state_change`, `scheduled_downtime_depth`,
//! `problem_has_been_acknowledged`, `is_flapping` and `plugin_output`.
//! `status.dat` names neither the hosts' addresses nor their groups.
//!
//! [`parse`] is pure (the fuzz target and the unit tests use it); a value
//! is everything after the first `=` (an output may hold `=`), and a byte
//! that is not UTF-8 (a Latin-1 output) is replaced, never fatal.

use std::path::Path;

use jiff::Timestamp;

use super::{MonitorError, Object, Snapshot, epoch, finish, host_state, service_state};
use crate::core::Key;
use crate::core::reconcile::Observed;

/// Reads and parses the file at `path`.
pub(super) fn read(path: &Path) -> Result<Snapshot, MonitorError> {
    let bytes = std::fs::read(path).map_err(|source| MonitorError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    parse(
        &String::from_utf8_lossy(&bytes),
        &format!("status.dat {}", path.display()),
    )
}

/// One block's fields, in the file's order.
type Fields<'a> = Vec<(&'a str, &'a str)>;

fn field<'a>(fields: &Fields<'a>, name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
}

fn number(fields: &Fields<'_>, name: &str) -> Option<i64> {
    field(fields, name)?.trim().parse().ok()
}

/// The state of `status.dat`'s text; `what` names it in errors.
pub(crate) fn parse(text: &str, what: &str) -> Result<Snapshot, MonitorError> {
    let malformed = |reason: String| MonitorError::Malformed {
        what: what.to_owned(),
        reason,
    };
    let mut created: Option<Timestamp> = None;
    let mut program_start = None;
    let mut objects = Vec::new();
    let mut skipped = 0usize;
    let mut block: Option<(&str, Fields<'_>)> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match &mut block {
            None => {
                let Some(name) = line.strip_suffix('{') else {
                    return Err(malformed(format!(
                        "line {} is outside any block and opens none",
                        n + 1
                    )));
                };
                block = Some((name.trim(), Vec::new()));
            }
            Some(_) if line.trim_end() == "}" => {
                let Some((name, fields)) = block.take() else {
                    continue;
                };
                match name {
                    "info" => {
                        created =
                            number(&fields, "created").and_then(|s| Timestamp::from_second(s).ok());
                    }
                    "programstatus" => {
                        program_start = number(&fields, "program_start")
                            .and_then(|s| Timestamp::from_second(s).ok());
                    }
                    "hoststatus" | "servicestatus" => match object(&fields, name == "hoststatus") {
                        Some(o) => objects.push(o),
                        None => skipped += 1,
                    },
                    _ => {}
                }
            }
            Some((name, fields)) => {
                if matches!(
                    *name,
                    "info" | "programstatus" | "hoststatus" | "servicestatus"
                ) && let Some((k, v)) = line.split_once('=')
                {
                    fields.push((k.trim_end(), v));
                }
            }
        }
    }
    if block.is_some() {
        return Err(malformed("it ends inside a block (cut short)".into()));
    }
    let Some(taken) = created else {
        return Err(malformed("no info { created= } block".into()));
    };
    if skipped > 0 {
        tracing::warn!(
            "{what}: {skipped} host or service block(s) without a name or state skipped"
        );
    }
    Ok(Snapshot {
        source: what.to_owned(),
        taken,
        program_start,
        objects: finish(objects),
        reads: 1,
        written: true,
    })
}

/// A `hoststatus` (`host`) or `servicestatus` block.
fn object(fields: &Fields<'_>, host: bool) -> Option<Object> {
    let node = field(fields, "host_name")?;
    let service = if host {
        ""
    } else {
        field(fields, "service_description")?
    };
    let n = number(fields, "current_state")?;
    let state = if host {
        host_state(n)?
    } else {
        service_state(n)?
    };
    let flag = |name| number(fields, name).is_some_and(|v| v > 0);
    Some(Object {
        key: Key::new(node, service),
        observed: Observed {
            state,
            // Engines keep OK and UP hard.
            hard: number(fields, "state_type") == Some(1) || n == 0,
            checked: flag("has_been_checked"),
            #[expect(clippy::cast_precision_loss, reason = "seconds since 1970 fit an f64")]
            since: number(fields, "last_hard_state_change").and_then(|s| epoch(s as f64)),
            downtime: flag("scheduled_downtime_depth"),
            acknowledged: flag("problem_has_been_acknowledged"),
            flapping: flag("is_flapping"),
        },
        output: field(fields, "plugin_output")
            .unwrap_or_default()
            .to_owned(),
        address: String::new(),
        groups: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::State;

    /// Trimmed from a status.dat Nagios 4.4.6 wrote in a test (blocks and
    /// fields as written, some fields left out).
    const SAMPLE: &str = "########################################
#          NAGIOS STATUS FILE
########################################

info {
\tcreated=1796655116
\tversion=4.4.6
\t}

programstatus {
\tnagios_pid=29171
\tprogram_start=1796655114
\tnext_event_id=2
\t}

hoststatus {
\thost_name=srv-web-01
\thas_been_checked=0
\tcurrent_state=0
\tlast_hard_state=0
\tplugin_output=
\tstate_type=1
\tlast_hard_state_change=0
\tproblem_has_been_acknowledged=0
\tis_flapping=0
\tscheduled_downtime_depth=0
\t}

hoststatus {
\thost_name=srv-down
\thas_been_checked=1
\tcurrent_state=1
\tplugin_output=DOWN - no answer
\tstate_type=1
\tlast_hard_state_change=1796655000
\tscheduled_downtime_depth=1
\t}

servicestatus {
\thost_name=srv-web-01
\tservice_description=HTTP
\thas_been_checked=1
\tcurrent_state=2
\tlast_hard_state=2
\tstate_type=1
\tlast_hard_state_change=1796655114
\tplugin_output=CRIT out: a=b == c
\tproblem_has_been_acknowledged=1
\tis_flapping=1
\tscheduled_downtime_depth=0
\t}

servicestatus {
\thost_name=srv-down
\tservice_description=PING
\thas_been_checked=1
\tcurrent_state=1
\tstate_type=0
\tlast_hard_state_change=1796655000
\tplugin_output=WARN
\tscheduled_downtime_depth=0
\t}

contactstatus {
\tcontact_name=esia
\t}
";

    #[test]
    fn reads_what_reconcile_needs() {
        let s = parse(SAMPLE, "status.dat /s").unwrap();
        assert_eq!(s.taken.as_second(), 1_796_655_116);
        assert_eq!(s.program_start.unwrap().as_second(), 1_796_655_114);
        assert!(s.written);
        let keys: Vec<String> = s.objects.iter().map(|o| o.key.to_string()).collect();
        assert_eq!(
            keys,
            ["srv-down", "srv-web-01", "srv-down/PING", "srv-web-01/HTTP"]
        );
        let idx = s.index();
        let host = idx[&Key::new("srv-web-01", "")];
        assert_eq!(
            host.observed,
            Observed {
                state: State::Up,
                hard: true,
                checked: false,
                since: None,
                downtime: false,
                acknowledged: false,
                flapping: false,
            }
        );
        let http = idx[&Key::new("srv-web-01", "HTTP")];
        assert_eq!(http.output, "CRIT out: a=b == c");
        assert_eq!(
            http.observed,
            Observed {
                state: State::Critical,
                hard: true,
                checked: true,
                since: Some(Timestamp::from_second(1_796_655_114).unwrap()),
                downtime: false,
                acknowledged: true,
                flapping: true,
            }
        );
        let down = idx[&Key::new("srv-down", "")];
        assert_eq!(down.observed.state, State::Down);
        assert!(down.observed.downtime);
        // A soft WARNING, on a host in a downtime: in a downtime too.
        let ping = idx[&Key::new("srv-down", "PING")];
        assert!(!ping.observed.hard && ping.observed.downtime);
    }

    #[test]
    fn what_is_not_a_status_dat_is_refused() {
        for (text, reason) in [
            ("", "no info { created= } block"),
            ("hello\n", "line 1 is outside any block and opens none"),
            (
                "info {\n\tcreated=5\n",
                "it ends inside a block (cut short)",
            ),
            (
                "programstatus {\n\tprogram_start=5\n\t}\n",
                "no info { created= } block",
            ),
        ] {
            match parse(text, "x") {
                Err(MonitorError::Malformed { reason: r, .. }) => assert_eq!(r, reason, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        // A block without a name or a state is skipped, the others kept.
        let s = parse(
            "info {\n\tcreated=5\n}\nservicestatus {\n\thost_name=a\n}\n\
             servicestatus {\n\thost_name=a\n\tservice_description=b\n\tcurrent_state=0\n}\n",
            "x",
        )
        .unwrap();
        assert_eq!(s.objects.len(), 1);
    }
}
