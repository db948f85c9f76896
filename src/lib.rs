//! esia-glpi turns monitoring alerts (Esia, Nagios family) into GLPI tickets.
//!
//! `main.rs` only forwards to [`run`]: parse (`cli`) → logging → the
//! runtime, started once → the subcommand (`commands`) → report. The layers, each importing only those
//! below it:
//!
//! - `commands`: thin subcommands (parse, call the engine, print);
//! - `engine`: the delivery of a key's events, look-ups, reconciliation,
//!   the runtime and the clock;
//! - `core` (event, key, record, lifecycle decision, outcome — pure),
//!   `glpi` (the REST client), `state` (records, kept events, intents,
//!   locks), `monitor` (the engine's current state, read for
//!   `reconcile`), `text` and `template` (every text, pure), `config`;
//! - beside them: `mail` (build and send), `net` (what the GLPI and Icinga 2
//!   HTTP clients share), `output` (the one stdout writer),
//!   `logging`, and `error`, which maps every failure to SPEC's exit
//!   statuses in one place.

mod cli;
mod commands;
mod config;
mod core;
mod engine;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod glpi;
#[cfg(any(test, feature = "fuzzing"))]
mod invariants;
mod logging;
mod mail;
mod monitor;
mod net;
mod output;
#[cfg(test)]
mod proptests;
mod state;
mod template;
mod text;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

/// Runs esia-glpi with these arguments (argv[0] first) and returns the exit
/// status SPEC documents.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    // First, before any work: the order of events the engine does not number.
    let started = engine::process_start();
    let args = cli::rewrite_alias(args.into_iter().collect());
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version on stdout and usage errors on stderr (exit 2).
            let _ = e.print();
            return u8::try_from(e.exit_code()).map_or(ExitCode::FAILURE, ExitCode::from);
        }
    };
    logging::init(cli.verbose, cli.quiet, cli.log);
    // The one runtime, built and started here for every command.
    let ran = engine::runtime()
        .map_err(error::Error::from)
        .and_then(|runtime| runtime.block_on(commands::dispatch(cli, started)));
    match ran {
        Ok(()) => error::ExitStatus::Handled.into(),
        Err(e) => {
            let (code, reported) = e.exit_code();
            if reported {
                report(&e);
            }
            code
        }
    }
}

/// `esia-glpi: error: <chain>` on the first line (engines often keep only
/// that one), then `hint: …`.
#[expect(
    clippy::print_stderr,
    reason = "the reporter is the one direct stderr writer"
)]
fn report(e: &error::Error) {
    let line = text::error_line(e);
    // The system log, when asked for (--log), gets the final error too.
    tracing::error!(target: logging::REPORT_TARGET, "{line}");
    eprintln!("esia-glpi: error: {line}");
    if let Some(hint) = e.hint() {
        eprintln!("hint: {hint}");
    }
}
