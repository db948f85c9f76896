//! esia-glpi turns monitoring alerts (Esia, Nagios family) into GLPI tickets.
//!
//! `main.rs` only forwards to [`run`]. Pure modules (`cli`, `event`,
//! `template`, `text`, `lifecycle`) never touch the network, the filesystem
//! or the clock; edge modules (`config`, `glpi`, `state`, `output`,
//! `logging`) do the I/O; `commands` joins the two. `error` maps every
//! failure to SPEC's exit statuses in one place.

mod cli;
mod commands;
mod config;
mod error;
mod event;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod glpi;
mod lifecycle;
mod logging;
mod mail;
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
    match commands::dispatch(cli) {
        Ok(()) => error::ExitStatus::Handled.into(),
        Err(e) => {
            report(&e);
            e.exit_status().into()
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
    let mut line = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    let line = output::sanitize(&line);
    // The system log, when asked for (--log), gets the final error too.
    tracing::error!(target: logging::REPORT_TARGET, "{line}");
    eprintln!("esia-glpi: error: {line}");
    if let Some(hint) = e.hint() {
        eprintln!("hint: {hint}");
    }
}
