//! Livestatus on a unix socket (Naemon's and Checkmk's broker module, Icinga
//! 2's `LivestatusListener`): three queries, one connection each (the query,
//! an empty line, the socket shut for writing, then the answer read to its
//! end): `GET status` (`program_start`), `GET hosts` and `GET services`, with
//! `OutputFormat: json` (rows of arrays, in the order of `Columns:`) and
//! `ResponseHeader: fixed16` (`"200          14\n"`: the status code, the
//! body's length; another code's body is the error message).
//!
//! The columns asked for exist in both Livestatus implementations (seen on
//! Icinga 2.13.6; an unknown column fails the whole query with 452). Icinga
//! 2 answers `acknowledged` and `is_flapping` as JSON booleans where
//! Naemon's module answers 0 / 1: both are read.
//!
//! [`parse`] is pure (the unit tests use it with answers captured from a
//! real Icinga 2); [`read`] does the I/O, within [`Limits`].

use std::path::Path;

use jiff::Timestamp;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::{Limits, MonitorError, Object, Snapshot, epoch, finish, host_state, service_state};
use crate::core::Key;
use crate::core::reconcile::Observed;

/// The hosts' columns, in the order [`host`] reads them.
const HOST_COLUMNS: &str = "name state state_type last_hard_state_change has_been_checked \
     scheduled_downtime_depth acknowledged is_flapping plugin_output groups address";

/// The services' columns, in the order [`service`] reads them.
const SERVICE_COLUMNS: &str = "host_name description state state_type last_hard_state_change \
     has_been_checked scheduled_downtime_depth acknowledged is_flapping plugin_output \
     host_groups host_address";

/// No answer is read beyond this (a body of that size is not an answer to
/// these queries: a few hundred bytes per object).
const MAX_ANSWER: u64 = 512 * 1024 * 1024;

/// Reads the engine's state through the socket at `path`.
pub(super) async fn read(path: &Path, limits: Limits) -> Result<Snapshot, MonitorError> {
    let what = format!("Livestatus {}", path.display());
    let status = ask(path, "status", "program_start", limits, &what).await?;
    // The answers describe the engine's memory at this moment or later.
    let taken = Timestamp::now();
    let hosts = ask(path, "hosts", HOST_COLUMNS, limits, &what).await?;
    let services = ask(path, "services", SERVICE_COLUMNS, limits, &what).await?;
    let mut snapshot = parse(&status, &hosts, &services, &what)?;
    snapshot.taken = taken;
    Ok(snapshot)
}

/// One query on its own connection; the answer's body (status 200).
async fn ask(
    path: &Path,
    table: &str,
    columns: &str,
    limits: Limits,
    what: &str,
) -> Result<String, MonitorError> {
    let unreachable = |reason: String| MonitorError::Unreachable {
        what: what.to_owned(),
        reason,
    };
    let stream = match tokio::time::timeout(limits.connect_timeout, UnixStream::connect(path)).await
    {
        Err(_) => {
            return Err(unreachable(format!(
                "no connection within {} s (connect_timeout)",
                limits.connect_timeout.as_secs_f64()
            )));
        }
        Ok(Err(e)) => return Err(connect_error(path, what, e)),
        Ok(Ok(s)) => s,
    };
    let query =
        format!("GET {table}\nColumns: {columns}\nOutputFormat: json\nResponseHeader: fixed16\n\n");
    let answer = match tokio::time::timeout(limits.timeout, exchange(stream, &query)).await {
        Err(_) => {
            return Err(unreachable(format!(
                "GET {table}: no whole answer within {} s (timeout)",
                limits.timeout.as_secs_f64()
            )));
        }
        Ok(Err(e)) => return Err(unreachable(format!("GET {table}: {e}"))),
        Ok(Ok(a)) => a,
    };
    decode(&answer, table, what)
}

/// Sends `query`, shuts the socket for writing (no `KeepAlive`: the engine
/// answers, then closes), reads the answer to its end.
async fn exchange(mut stream: UnixStream, query: &str) -> std::io::Result<Vec<u8>> {
    stream.write_all(query.as_bytes()).await?;
    stream.shutdown().await?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER + 1).read_to_end(&mut answer).await?;
    Ok(answer)
}

/// Why the socket could not be connected to.
fn connect_error(path: &Path, what: &str, e: std::io::Error) -> MonitorError {
    use std::io::ErrorKind;
    let reason = match e.kind() {
        // The socket is the engine's (Icinga 2: mode 0660, its user's): the
        // hint of `Unreadable` names the user reconcile must run as.
        ErrorKind::PermissionDenied => {
            return MonitorError::Unreadable {
                path: path.to_owned(),
                source: e,
            };
        }
        ErrorKind::NotFound => {
            "no socket there: is the engine running, with Livestatus enabled at this path?".into()
        }
        ErrorKind::ConnectionRefused => {
            "nothing listens on the socket (the engine is stopped, or was killed)".into()
        }
        _ => format!("cannot connect: {e}"),
    };
    MonitorError::Unreachable {
        what: what.to_owned(),
        reason,
    }
}

/// The body of a `fixed16` answer to `GET table`, when its status is 200.
fn decode(answer: &[u8], table: &str, what: &str) -> Result<String, MonitorError> {
    let malformed = |reason: String| MonitorError::Malformed {
        what: what.to_owned(),
        reason: format!("GET {table}: {reason}"),
    };
    if answer.len() as u64 > MAX_ANSWER {
        return Err(malformed(format!(
            "an answer of more than {MAX_ANSWER} bytes"
        )));
    }
    let Some((head, body)) = answer.split_first_chunk::<16>() else {
        return Err(malformed(format!(
            "an answer of {} bytes, without its 16-byte header (ResponseHeader: fixed16)",
            answer.len()
        )));
    };
    let Some((code, length)) = header(head) else {
        return Err(malformed(format!(
            "not a Livestatus answer (header {:?})",
            String::from_utf8_lossy(head)
        )));
    };
    if code != 200 {
        // Icinga 2 adds its stack trace after the message's first line.
        let body = String::from_utf8_lossy(body);
        let message = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let message: String = message.trim().chars().take(300).collect();
        return Err(malformed(format!("Livestatus answered {code}: {message}")));
    }
    if body.len() != length {
        return Err(malformed(format!(
            "the answer is cut short: {} bytes of the {length} announced",
            body.len()
        )));
    }
    // An output that is not UTF-8 (Latin-1) is replaced, never fatal.
    Ok(String::from_utf8_lossy(body).into_owned())
}

/// A `fixed16` header: 3 digits, a space, the length right-aligned in 11
/// characters, a newline.
fn header(head: &[u8; 16]) -> Option<(u16, usize)> {
    if head[3] != b' ' || head[15] != b'\n' {
        return None;
    }
    let code = std::str::from_utf8(&head[..3]).ok()?.parse().ok()?;
    let length = std::str::from_utf8(&head[4..15])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some((code, length))
}

/// The state the three answers' bodies describe; `what` names the socket.
/// `taken` is left at the Unix epoch: [`read`] sets it.
pub(super) fn parse(
    status: &str,
    hosts: &str,
    services: &str,
    what: &str,
) -> Result<Snapshot, MonitorError> {
    let rows = |table: &str, body: &str| -> Result<Vec<Vec<Value>>, MonitorError> {
        serde_json::from_str(body).map_err(|e| MonitorError::Malformed {
            what: what.to_owned(),
            reason: format!("GET {table}: not rows of JSON arrays ({e})"),
        })
    };
    let program_start = rows("status", status)?
        .first()
        .and_then(|r| r.first())
        .and_then(Value::as_f64)
        .and_then(epoch);
    let mut objects = Vec::new();
    let mut skipped = 0usize;
    for row in rows("hosts", hosts)? {
        match host(&row) {
            Some(o) => objects.push(o),
            None => skipped += 1,
        }
    }
    for row in rows("services", services)? {
        match service(&row) {
            Some(o) => objects.push(o),
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::warn!("{what}: {skipped} host or service row(s) without a name or state skipped");
    }
    Ok(Snapshot {
        source: what.to_owned(),
        taken: Timestamp::UNIX_EPOCH,
        program_start,
        objects: finish(objects),
        reads: 3,
        written: false,
    })
}

/// A number, or a boolean as 0 / 1 (Icinga 2's `acknowledged`).
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> &str {
    v.and_then(Value::as_str).unwrap_or("")
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A row of [`HOST_COLUMNS`].
fn host(row: &[Value]) -> Option<Object> {
    let name = row.first()?.as_str().filter(|n| !n.is_empty())?;
    object(Key::new(name, ""), &row[1..], true)
}

/// A row of [`SERVICE_COLUMNS`].
fn service(row: &[Value]) -> Option<Object> {
    let node = row.first()?.as_str().filter(|n| !n.is_empty())?;
    let service = row.get(1)?.as_str().filter(|n| !n.is_empty())?;
    object(Key::new(node, service), &row[2..], false)
}

/// The columns common to both tables, from `state` on: `state`,
/// `state_type`, `last_hard_state_change`, `has_been_checked`,
/// `scheduled_downtime_depth`, `acknowledged`, `is_flapping`,
/// `plugin_output`, the groups, the address.
fn object(key: Key, c: &[Value], is_host: bool) -> Option<Object> {
    let n = number(c.first())?;
    if n.fract() != 0.0 {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a whole number; out of range saturates, and no state is out of range"
    )]
    let n = n as i64;
    let state = if is_host {
        host_state(n)?
    } else {
        service_state(n)?
    };
    let flag = |i: usize| number(c.get(i)).is_some_and(|v| v > 0.0);
    Some(Object {
        key,
        observed: Observed {
            state,
            // Engines keep OK and UP hard.
            hard: number(c.get(1)) == Some(1.0) || n == 0,
            checked: flag(3),
            since: number(c.get(2)).and_then(epoch),
            downtime: flag(4),
            acknowledged: flag(5),
            flapping: flag(6),
        },
        output: text(c.get(7)).to_owned(),
        groups: strings(c.get(8)),
        address: text(c.get(9)).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::State;

    // Captured from Icinga 2.13.6's LivestatusListener (the test support's
    // private Icinga 2): srv-web-01's HTTP CRITICAL and acknowledged,
    // srv-down DOWN in a downtime with PING WARNING, srv-soft's DISK a soft
    // WARNING (max_check_attempts 3), srv-never never checked.
    const STATUS: &str = "[[1796656283]]";
    const HOSTS: &str = r#"[["srv-web-01",0,1,1796656283,1,0,false,false,"PING OK - rta 0.1 ms",["Paris"],"127.0.0.1"], ["srv-never",1,0,0,0,0,false,false,"",[],""], ["srv-soft",0,1,1796656283,1,0,false,false,"UP",["Lyon","Paris"],"10.0.0.5"], ["srv-down",1,1,1796656283,1,1,false,false,"DOWN - no answer",[],"127.0.0.1"]]"#;
    const SERVICES: &str = r#"[["srv-soft","DISK",1,0,0,1,0,false,false,"DISK WARNING - /var 91%",["Lyon","Paris"],"10.0.0.5"], ["srv-down","PING",1,1,1796656283,1,0,false,false,"WARN - loss 40%",[],"127.0.0.1"], ["srv-web-01","HTTP",2,1,1796656283,1,0,true,false,"CRITICAL - 503 \"Service\" Unavailable",["Paris"],"127.0.0.1"], ["srv-never","PING",3,0,0,0,0,false,false,"",[],""]]"#;
    /// Icinga 2's answer to an unknown column (its stack trace cut here).
    const UNKNOWN_COLUMN: &str = "452        1992\nError: Column 'nosuch' does not exist in table \
         'hosts'.\n\nStacktrace:\n 0# __cxa_throw in /usr/lib/x86_64-linux-gnu/icinga2/sbin/icinga2\n";

    fn fixed16(code: u16, body: &str) -> Vec<u8> {
        format!("{code} {:>11}\n{body}", body.len()).into_bytes()
    }

    #[test]
    fn reads_what_reconcile_needs() {
        let s = parse(STATUS, HOSTS, SERVICES, "Livestatus /s").unwrap();
        assert_eq!(s.program_start.unwrap().as_second(), 1_796_656_283);
        assert!(!s.written);
        assert_eq!(s.reads, 3);
        let keys: Vec<String> = s.objects.iter().map(|o| o.key.to_string()).collect();
        assert_eq!(
            keys,
            [
                "srv-down",
                "srv-never",
                "srv-soft",
                "srv-web-01",
                "srv-down/PING",
                "srv-never/PING",
                "srv-soft/DISK",
                "srv-web-01/HTTP"
            ]
        );
        let idx = s.index();
        let http = idx[&Key::new("srv-web-01", "HTTP")];
        assert_eq!(
            http.observed,
            Observed {
                state: State::Critical,
                hard: true,
                checked: true,
                since: Some(Timestamp::from_second(1_796_656_283).unwrap()),
                downtime: false,
                acknowledged: true,
                flapping: false,
            }
        );
        assert_eq!(http.output, "CRITICAL - 503 \"Service\" Unavailable");
        assert_eq!(http.address, "127.0.0.1");
        assert_eq!(http.groups, ["Paris"]);
        // A soft WARNING: not hard, no hard change yet.
        let disk = idx[&Key::new("srv-soft", "DISK")];
        assert!(!disk.observed.hard && disk.observed.checked);
        assert_eq!(disk.observed.since, None);
        assert_eq!(disk.groups, ["Lyon", "Paris"]);
        // A host DOWN in a downtime; its service in the downtime too.
        let down = idx[&Key::new("srv-down", "")];
        assert_eq!(down.observed.state, State::Down);
        assert!(down.observed.hard && down.observed.downtime);
        assert_eq!(down.output, "DOWN - no answer");
        let ping = idx[&Key::new("srv-down", "PING")];
        assert!(ping.observed.hard && ping.observed.downtime);
        // Never checked: Icinga 2 says DOWN and UNKNOWN, unchecked.
        let never = idx[&Key::new("srv-never", "")];
        assert!(!never.observed.checked && !never.observed.hard);
        let never = idx[&Key::new("srv-never", "PING")];
        assert_eq!(never.observed.state, State::Unknown);
        assert!(!never.observed.checked);
    }

    #[test]
    fn naemon_numbers_for_flags_are_read_too() {
        let hosts = r#"[["h",0,1,1796656283,1,0,0,0,"UP",["G"],"10.0.0.1"]]"#;
        let services = r#"[["h","S",1,1,1796656283,1,2,1,1,"W",["G"],"10.0.0.1"]]"#;
        let s = parse("[[0]]", hosts, services, "x").unwrap();
        assert_eq!(s.program_start, None);
        let o = &s.index()[&Key::new("h", "S")].observed;
        assert!(o.downtime && o.acknowledged && o.flapping);
    }

    #[test]
    fn answers_that_are_not_state_are_refused() {
        fn reason<T: std::fmt::Debug>(r: Result<T, MonitorError>) -> String {
            match r {
                Err(MonitorError::Malformed { reason, .. }) => reason,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            reason(decode(UNKNOWN_COLUMN.as_bytes(), "hosts", "x")),
            "GET hosts: Livestatus answered 452: Error: Column 'nosuch' does not exist in table \
             'hosts'."
        );
        assert_eq!(
            reason(decode(
                &fixed16(404, "Table 'x' does not exist.\n"),
                "x",
                "x"
            )),
            "GET x: Livestatus answered 404: Table 'x' does not exist."
        );
        assert_eq!(
            reason(decode(b"[[1]]", "status", "x")),
            "GET status: an answer of 5 bytes, without its 16-byte header (ResponseHeader: fixed16)"
        );
        assert_eq!(
            reason(decode(b"[[\"srv-web-01\",0], [\"srv\",1]]", "hosts", "x")),
            "GET hosts: not a Livestatus answer (header \"[[\\\"srv-web-01\\\",0\")"
        );
        assert_eq!(
            reason(decode(b"200          14\n[[17966", "status", "x")),
            "GET status: the answer is cut short: 7 bytes of the 14 announced"
        );
        assert_eq!(
            decode(&fixed16(200, STATUS), "status", "x").unwrap(),
            STATUS
        );
        // A Latin-1 output: the announced length is in bytes.
        let mut latin1 = b"200          10\n[[\"caf".to_vec();
        latin1.extend_from_slice(b"\xe9\"]]");
        assert_eq!(decode(&latin1, "x", "x").unwrap(), "[[\"caf\u{fffd}\"]]");
        assert!(reason(parse(STATUS, "[[\"h\",0", "[]", "x")).starts_with("GET hosts: not rows"));
        assert!(reason(parse("{}", "[]", "[]", "x")).starts_with("GET status: not rows"));
        // Rows without a name or a known state are skipped, never fatal.
        let s = parse(
            "[]",
            r#"[[], [""], ["a"], ["b", 7], ["c", 0.5], ["d", "0"], ["e", 0]]"#,
            r#"[["e"], ["e", "", 0], ["e", "S", null], ["e", "S", 4], ["e", "T", 0]]"#,
            "x",
        )
        .unwrap();
        let keys: Vec<String> = s.objects.iter().map(|o| o.key.to_string()).collect();
        assert_eq!(keys, ["e", "e/T"]);
    }

    /// A Livestatus server on a unix socket in a temp dir that answers each
    /// connection with the next of `answers`, keeping the queries.
    fn serve(
        answers: Vec<Vec<u8>>,
    ) -> (
        tempfile::TempDir,
        std::path::PathBuf,
        tokio::task::JoinHandle<Vec<String>>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let task = tokio::spawn(async move {
            let mut queries = Vec::new();
            for answer in answers {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut q = String::new();
                s.read_to_string(&mut q).await.unwrap();
                queries.push(q);
                s.write_all(&answer).await.unwrap();
            }
            queries
        });
        (dir, path, task)
    }

    const LIMITS: Limits = Limits {
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
    };

    #[tokio::test]
    async fn reads_a_socket() {
        let (_dir, path, task) = serve(vec![
            fixed16(200, STATUS),
            fixed16(200, HOSTS),
            fixed16(200, SERVICES),
        ]);
        let before = Timestamp::now();
        let s = read(&path, LIMITS).await.unwrap();
        assert_eq!(s.source, format!("Livestatus {}", path.display()));
        assert!(s.taken >= before && s.taken <= Timestamp::now());
        assert_eq!(s.objects.len(), 8);
        let queries = task.await.unwrap();
        assert_eq!(
            queries,
            [
                "GET status\nColumns: program_start\nOutputFormat: json\n\
                 ResponseHeader: fixed16\n\n"
                    .to_owned(),
                format!(
                    "GET hosts\nColumns: {HOST_COLUMNS}\nOutputFormat: json\n\
                     ResponseHeader: fixed16\n\n"
                ),
                format!(
                    "GET services\nColumns: {SERVICE_COLUMNS}\nOutputFormat: json\n\
                     ResponseHeader: fixed16\n\n"
                ),
            ]
        );
    }

    #[tokio::test]
    async fn an_error_status_fails_the_read() {
        let (_dir, path, _task) = serve(vec![
            fixed16(200, STATUS),
            UNKNOWN_COLUMN.as_bytes().to_vec(),
        ]);
        let e = read(&path, LIMITS).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Livestatus {} is not the engine's state: GET hosts: Livestatus answered 452: \
                 Error: Column 'nosuch' does not exist in table 'hosts'.",
                path.display()
            )
        );
    }

    #[tokio::test]
    async fn no_socket_or_no_answer_is_unreachable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live");
        let e = read(&path, LIMITS).await.unwrap_err();
        assert!(
            matches!(&e, MonitorError::Unreachable { reason, .. } if reason.starts_with("no socket there")),
            "{e:?}"
        );
        // A socket nobody listens on any more.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let e = read(&path, LIMITS).await.unwrap_err();
        assert!(
            matches!(&e, MonitorError::Unreachable { reason, .. } if reason.starts_with("nothing listens")),
            "{e:?}"
        );
        // A socket of the engine's user, mode 0660 (root connects anyway:
        // the mapping is checked on its own).
        let e = connect_error(
            &path,
            "x",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert!(matches!(e, MonitorError::Unreadable { .. }), "{e:?}");
        assert!(e.hint().contains("connect to the Livestatus socket"));
        // A listener that never answers.
        std::fs::remove_file(&path).unwrap();
        let _listener = tokio::net::UnixListener::bind(&path).unwrap();
        let limits = Limits {
            timeout: Duration::from_millis(100),
            ..LIMITS
        };
        let e = read(&path, limits).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Livestatus {} did not answer: GET status: no whole answer within 0.1 s (timeout)",
                path.display()
            )
        );
    }
}
