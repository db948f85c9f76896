//! The monitoring engine's current state, read from where the engine keeps
//! it (README "Reconcile"): Nagios 4 / Naemon `status.dat`
//! (`status_dat.rs`), a Livestatus unix socket (`livestatus.rs`), Icinga
//! 2's REST API (`icinga2/`). Each gives one [`Snapshot`]: every host and
//! service with what `core::reconcile` needs ([`Observed`]) and what a
//! ticket opened for it shows (output, address, host groups), and the
//! moment that state describes.
//!
//! A bottom layer beside `glpi` and `state`: it reads, it never writes, and
//! it knows nothing of GLPI or of the lifecycle. Imports only `core`'s data
//! types and `net` (shared with the GLPI client); the caller passes the [`Source`] (built from `[reconcile]`).
//! Every failure is a [`MonitorError`] (exit 8, `error.rs`), and whether the
//! state is too old to act upon is [`fresh`]'s to say.

mod icinga2;
mod livestatus;
mod status_dat;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use secrecy::SecretString;

use crate::core::Key;
use crate::core::reconcile::Observed;

/// Where to read the engine's state, and how.
#[derive(Debug)]
pub(crate) enum Source {
    /// Nagios 4 / Naemon `status.dat`.
    StatusFile(PathBuf),
    /// A Livestatus unix socket.
    Livestatus(PathBuf),
    /// Icinga 2's REST API.
    Icinga2(Icinga2Settings),
}

/// Icinga 2's REST API: where, who, and the TLS roots to add.
#[derive(Debug)]
pub(crate) struct Icinga2Settings {
    /// `https://HOST:PORT`, no trailing `/`.
    pub(crate) url: String,
    pub(crate) user: String,
    pub(crate) password: SecretString,
    pub(crate) ca_file: Option<PathBuf>,
}

/// How long the reads may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) connect_timeout: Duration,
    /// One request (or the whole read of a file or a socket answer).
    pub(crate) timeout: Duration,
}

/// One host (empty service) or service, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Object {
    pub(crate) key: Key,
    pub(crate) observed: Observed,
    /// The last check's output.
    pub(crate) output: String,
    /// The host's address (empty when the source does not say).
    pub(crate) address: String,
    /// The host's groups (empty when the source does not say: `status.dat`).
    pub(crate) groups: Vec<String>,
}

/// The engine's state, read once.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    /// What was read, for people (`status.dat /var/lib/nagios4/status.dat`).
    pub(crate) source: String,
    /// The moment this state describes: when `status.dat` was written, or
    /// when a live source answered.
    pub(crate) taken: Timestamp,
    /// When the engine last started, when it says.
    pub(crate) program_start: Option<Timestamp>,
    /// Every host and service, hosts first.
    pub(crate) objects: Vec<Object>,
    /// Requests made to read it (a file: 1).
    pub(crate) reads: u32,
    /// True for a file written by the engine from time to time; false for
    /// an answer from the engine's memory.
    pub(crate) written: bool,
}

impl Snapshot {
    /// The objects by key.
    pub(crate) fn index(&self) -> HashMap<&Key, &Object> {
        self.objects.iter().map(|o| (&o.key, o)).collect()
    }
}

/// Why the engine's state could not be read (exit 8: nothing was changed).
#[derive(Debug, thiserror::Error)]
pub(crate) enum MonitorError {
    #[error("cannot read the engine's state {}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// It was read, but it is not what the engine writes.
    #[error("{what} is not the engine's state: {reason}")]
    Malformed { what: String, reason: String },
    /// The engine did not answer (socket, network, TLS, timeout, 5xx).
    #[error("{what} did not answer: {reason}")]
    Unreachable { what: String, reason: String },
    /// The engine answered, and refused (credentials, permissions).
    #[error("{what} refused the request: {reason}")]
    Refused { what: String, reason: String },
    /// Older than `max_age`: acting on it would act on old news.
    #[error("{what} is stale: written {age} s ago, more than max_age ({max} s)")]
    Stale { what: String, age: u64, max: u64 },
    /// The HTTP client could not be set up (an unreadable `ca_file`, an
    /// `icinga2_url` that is not a URL).
    #[error("cannot set up the connection to the engine: {reason}")]
    Setup { reason: String },
}

impl MonitorError {
    /// The next action for the operator.
    pub(crate) fn hint(&self) -> String {
        match self {
            MonitorError::Unreadable { source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                "reconcile runs as the engine's user (the timer's drop-in \
                 /etc/systemd/system/esia-glpi-reconcile.service.d/user.conf): that user must be \
                 able to read the file, or to connect to the Livestatus socket; `esia-glpi \
                 check` run as that user says what it meets"
                    .into()
            }
            MonitorError::Unreadable { .. } => {
                "check [reconcile] status_file (nagios.cfg's status_file), and that the engine \
                 runs; nothing was changed"
                    .into()
            }
            MonitorError::Malformed { .. } => {
                "point [reconcile] at the engine's own status.dat, Livestatus socket or REST API; \
                 nothing was changed"
                    .into()
            }
            MonitorError::Unreachable { .. } => {
                "check that the engine runs and the [reconcile] source (the Livestatus socket, \
                 icinga2_url, ca_file); nothing was changed, the next run tries again"
                    .into()
            }
            MonitorError::Refused { .. } => {
                "check icinga2_user and icinga2_password_file against the ApiUser, whose \
                 permissions must include status/query, objects/query/Host and \
                 objects/query/Service; nothing was changed"
                    .into()
            }
            MonitorError::Stale { .. } => {
                "the engine does not write its state any more (stopped, hung, or \
                 status_update_interval longer than max_age): nothing was solved or opened on \
                 old news; restart the engine, or raise [reconcile] max_age"
                    .into()
            }
            MonitorError::Setup { .. } => {
                "check [reconcile] icinga2_url (https://HOST:PORT) and ca_file (a PEM file)".into()
            }
        }
    }
}

/// Every parser of an engine's answer, on the fuzzer's bytes: the first
/// byte chooses `status.dat` (0), Livestatus' three answers (1) or Icinga
/// 2's (2), separated by `0xFF`. Whatever the bytes, a parser returns a
/// snapshot or an error, never panics; a snapshot lists the hosts first.
#[cfg(feature = "fuzzing")]
pub(crate) fn parse_any(data: &[u8]) -> Option<Snapshot> {
    let (&which, rest) = data.split_first()?;
    let text = String::from_utf8_lossy(rest);
    let parts: Vec<&str> = text.split('\u{FFFD}').collect();
    let part = |n: usize| parts.get(n).copied().unwrap_or_default();
    let snapshot = match which % 3 {
        0 => status_dat::parse(&text, "status.dat"),
        1 => livestatus::parse(part(0), part(1), part(2), "Livestatus"),
        _ => {
            let json = |n: usize| serde_json::from_str(part(n)).unwrap_or_default();
            icinga2::parse(&json(0), &json(1), &json(2), "Icinga 2 API")
        }
    };
    let snapshot = snapshot.ok()?;
    let first_service = snapshot
        .objects
        .iter()
        .position(|o| !o.key.service.is_empty())
        .unwrap_or(snapshot.objects.len());
    assert!(
        snapshot.objects[first_service..]
            .iter()
            .all(|o| !o.key.service.is_empty()),
        "hosts first"
    );
    Some(snapshot)
}

/// Reads the engine's state from `source`.
pub(crate) async fn read(source: &Source, limits: Limits) -> Result<Snapshot, MonitorError> {
    match source {
        Source::StatusFile(path) => status_dat::read(path),
        Source::Livestatus(path) => livestatus::read(path, limits).await,
        Source::Icinga2(api) => icinga2::read(api, limits).await,
    }
}

/// Fails when `snapshot` describes a state older than `max_age` at `now`
/// (a `status.dat` the engine stopped writing). A live answer is as fresh
/// as the engine's memory.
pub(crate) fn fresh(
    snapshot: &Snapshot,
    now: Timestamp,
    max_age: Duration,
) -> Result<(), MonitorError> {
    if !snapshot.written {
        return Ok(());
    }
    let age = Duration::try_from(now.duration_since(snapshot.taken)).unwrap_or(Duration::ZERO);
    if age > max_age {
        return Err(MonitorError::Stale {
            what: snapshot.source.clone(),
            age: age.as_secs(),
            max: max_age.as_secs(),
        });
    }
    Ok(())
}

/// A timestamp from whole or fractional seconds since the epoch; `None`
/// for 0 or less (engines write 0 or -1 for "never").
fn epoch(secs: f64) -> Option<Timestamp> {
    if secs.is_nan() || secs <= 0.0 || secs > 1e11 {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a positive number of seconds below 1e11, in nanoseconds, fits an i128"
    )]
    let nanos = (secs * 1e9) as i128;
    Timestamp::from_nanosecond(nanos).ok()
}

/// A service state number (0..3) of a Nagios-family engine.
fn service_state(n: i64) -> Option<crate::core::State> {
    use crate::core::State;
    Some(match n {
        0 => State::Ok,
        1 => State::Warning,
        2 => State::Critical,
        3 => State::Unknown,
        _ => return None,
    })
}

/// A host state number (0 UP, 1 DOWN, 2 UNREACHABLE).
fn host_state(n: i64) -> Option<crate::core::State> {
    use crate::core::State;
    Some(match n {
        0 => State::Up,
        1 => State::Down,
        2 => State::Unreachable,
        _ => return None,
    })
}

/// Puts the hosts' downtimes on their services (an engine notifies no
/// service of a host in a downtime), hosts first, then sorted by key.
fn finish(mut objects: Vec<Object>) -> Vec<Object> {
    let hosts_down: std::collections::HashSet<String> = objects
        .iter()
        .filter(|o| o.key.service.is_empty() && o.observed.downtime)
        .map(|o| o.key.node.clone())
        .collect();
    for o in &mut objects {
        if !o.key.service.is_empty() && hosts_down.contains(&o.key.node) {
            o.observed.downtime = true;
        }
    }
    objects.sort_by(|a, b| {
        (!a.key.service.is_empty(), &a.key).cmp(&(!b.key.service.is_empty(), &b.key))
    });
    objects
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(written: bool, taken: i64) -> Snapshot {
        Snapshot {
            source: "status.dat /s".into(),
            taken: Timestamp::from_second(taken).unwrap(),
            program_start: None,
            objects: Vec::new(),
            reads: 1,
            written,
        }
    }

    #[test]
    fn a_written_state_older_than_max_age_is_stale() {
        let now = Timestamp::from_second(1_000_100).unwrap();
        let max = Duration::from_mins(1);
        assert!(fresh(&snapshot(true, 1_000_040), now, max).is_ok());
        let e = fresh(&snapshot(true, 1_000_039), now, max).unwrap_err();
        assert_eq!(
            e.to_string(),
            "status.dat /s is stale: written 61 s ago, more than max_age (60 s)"
        );
        // Written "in the future" (a clock stepped back): not stale.
        assert!(fresh(&snapshot(true, 1_000_200), now, max).is_ok());
        // A live answer is never stale.
        assert!(fresh(&snapshot(false, 0), now, max).is_ok());
    }

    #[test]
    fn epochs_and_state_numbers() {
        assert_eq!(epoch(0.0), None);
        assert_eq!(epoch(-1.0), None);
        assert_eq!(
            epoch(1_796_655_114.5).unwrap().as_millisecond(),
            1_796_655_114_500
        );
        assert_eq!(service_state(2), Some(crate::core::State::Critical));
        assert_eq!(service_state(4), None);
        assert_eq!(host_state(2), Some(crate::core::State::Unreachable));
    }
}
