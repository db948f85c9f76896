//! Logging through `tracing`. Standard error always: `esia-glpi: <level>:
//! <msg>` in normal mode, timestamps and targets from `-vv` on. `-q` keeps
//! errors only; `RUST_LOG` overrides both. Started before the configuration
//! is read, so configuration problems are visible.
//!
//! On request (`--log journald|syslog`, or `ESIA_GLPI_LOG`), the same events
//! also go to the systemd journal (tracing-journald, structured fields) or to
//! the local syslog daemon (`/dev/log`, RFC 3164 datagrams, facility daemon),
//! plus the reporter's final `error:` line, which stderr already carries
//! directly. A system log that cannot be reached is said once on stderr and
//! the run goes on: logging never fails a run.
//!
//! Imports `cli` (the sink) and `text` (one line per syslog message).

use std::fmt::Write as _;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use tracing::field::{Field, Visit};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::format::{FmtSpan, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::cli::LogSink;

/// Target of the reporter's final error line: sent to the system log only
/// (stderr gets it from the reporter itself).
pub(crate) const REPORT_TARGET: &str = "esia_glpi::report";

/// The syslog socket; `ESIA_GLPI_SYSLOG_SOCKET` overrides it (tests).
const SYSLOG_SOCKET: &str = "/dev/log";
/// The identifier every system log line carries, whatever argv[0] was.
const IDENTIFIER: &str = "esia-glpi";

struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = event.metadata().level().as_str().to_lowercase();
        write!(writer, "esia-glpi: {level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

type Base = Registry;
type BoxedLayer = Box<dyn Layer<Base> + Send + Sync>;

/// The filter directive for a level: our crate at `level`, dependencies at
/// `warn` (below `-vvv`, where everything is at `trace`).
fn directive(level: &str, everything: bool) -> String {
    if everything {
        level.to_string()
    } else {
        format!("warn,esia_glpi={level}")
    }
}

/// `RUST_LOG` when set, else `directive`.
fn filter(directive: &str) -> EnvFilter {
    EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(directive))
}

/// Installs the subscriber; `verbose` counts `-v`.
///
/// The system log, when asked for, gets at least `info`: the one structured
/// line of each run (key, event, decision, ticket, requests, latency, spool
/// depth) lands there without `-v`, while stderr stays quiet by default.
pub(crate) fn init(verbose: u8, quiet: bool, sink: LogSink) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let everything = verbose >= 3;
    let system_level = if verbose >= 1 && !quiet {
        level
    } else {
        "info"
    };

    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_span_events(FmtSpan::NONE);
    let stderr: BoxedLayer = if verbose >= 2 {
        stderr.with_target(true).boxed()
    } else {
        stderr.event_format(Plain).boxed()
    };
    let mut layers: Vec<BoxedLayer> = vec![
        stderr
            .with_filter(filter(&directive(level, everything)))
            .with_filter(filter_fn(|m| m.target() != REPORT_TARGET))
            .boxed(),
    ];
    let system_filter = || filter(&directive(system_level, everything));
    let mut problem = None;
    match sink {
        LogSink::Stderr => {}
        LogSink::Journald => match tracing_journald::layer() {
            Ok(layer) => layers.push(
                layer
                    .with_syslog_identifier(IDENTIFIER.into())
                    .with_filter(system_filter())
                    .boxed(),
            ),
            Err(e) => {
                problem = Some(format!(
                    "--log journald: the systemd journal is not reachable ({e}); logging to \
                     standard error only"
                ));
            }
        },
        LogSink::Syslog => match Syslog::connect() {
            Ok(layer) => layers.push(layer.with_filter(system_filter()).boxed()),
            Err((path, e)) => {
                problem = Some(format!(
                    "--log syslog: {} is not reachable ({e}); logging to standard error only",
                    path.display()
                ));
            }
        },
    }
    let _ = tracing_subscriber::registry().with(layers).try_init();
    if let Some(problem) = problem {
        tracing::warn!("{problem}");
    }
}

/// A minimal syslog sink: one datagram per event to the local daemon.
struct Syslog {
    socket: UnixDatagram,
    pid: u32,
}

/// syslog facility "daemon".
const FACILITY_DAEMON: u8 = 3;

impl Syslog {
    fn connect() -> Result<Syslog, (PathBuf, std::io::Error)> {
        let path = std::env::var_os("ESIA_GLPI_SYSLOG_SOCKET")
            .map_or_else(|| PathBuf::from(SYSLOG_SOCKET), PathBuf::from);
        let socket = UnixDatagram::unbound().map_err(|e| (path.clone(), e))?;
        socket.connect(&path).map_err(|e| (path.clone(), e))?;
        Ok(Syslog {
            socket,
            pid: std::process::id(),
        })
    }
}

impl<S: tracing::Subscriber> Layer<S> for Syslog {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut text = Fields::default();
        event.record(&mut text);
        let line = syslog_line(*event.metadata().level(), self.pid, &text.0);
        // A full or vanished socket must never fail the run.
        let _ = self.socket.send(line.as_bytes());
    }
}

/// `<PRI>esia-glpi[PID]: message`, on one line.
fn syslog_line(level: tracing::Level, pid: u32, message: &str) -> String {
    let severity: u8 = match level {
        tracing::Level::ERROR => 3,
        tracing::Level::WARN => 4,
        tracing::Level::INFO => 6,
        _ => 7,
    };
    format!(
        "<{}>{IDENTIFIER}[{pid}]: {}",
        FACILITY_DAEMON * 8 + severity,
        crate::text::one_line(message)
    )
}

/// The message, then ` key=value` for every other field.
#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}{rest}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_lines_carry_priority_identifier_and_one_line() {
        assert_eq!(
            syslog_line(tracing::Level::ERROR, 42, "boom\nagain"),
            "<27>esia-glpi[42]: boom again"
        );
        assert_eq!(
            syslog_line(tracing::Level::INFO, 1, "x"),
            "<30>esia-glpi[1]: x"
        );
    }
}
