//! `check`: a preflight that says exactly which of the set-up steps is wrong
//! and how to fix it (issue 4). It walks the path a `notify` takes, in order,
//! and stops at the first step that blocks the next ones:
//!
//! configuration (syntax, values, file mode) → the state directory, as the
//! user running check meets it → DNS → TCP → TLS → REST API
//! enabled (`GET apirest.php/`, no token) → address allowed → `app_token` →
//! `user_token` (`initSession`, with the `Authorization`-stripped fallback) →
//! GLPI version → the active profile's rights (glpi-api.md §9.5) → entity →
//! category → requester; then, with `[state] backend = "postgres"`, the
//! state database (reached, schema version, rights, a lock); then, with a
//! `[mail]` table, the notification mail (sender, relay or sendmail); then,
//! with a `[reconcile]` table, reconcile's source of the engine's state.
//!
//! Each step is one checklist line: ✓ done, ! works but deserves attention,
//! ✗ a problem, with one actionable sentence. The exit status is that of the
//! first problem's class ([`Failure`], mapped in `error.rs`; 7 when it
//! stops only the mail, 8 only reconcile): 0 when `notify` will work
//! (warnings allowed).
//! Nothing is written into GLPI nor into the state directory.
//!
//! By concern: the checklist and the configuration step here; DNS, TCP and
//! TLS in `network.rs`; the GLPI API, its address filter and both tokens in
//! `api.rs`; the version, rights, entity, category and requester in
//! `rights.rs`; the high-level API in `hlapi.rs`; the state directory in
//! `local.rs`; the state database in `database.rs`; the mail in `mail.rs`;
//! reconcile's source in `reconcile.rs`.
//! Imports `config`, `core`, `engine` (the GLPI settings), `glpi`, `mail`,
//! `monitor` (through `commands::reconcile`),
//! `state` (the directory's inspection, the database probe) and `output`.

mod api;
mod database;
mod hlapi;
mod local;
mod mail;
mod network;
mod reconcile;
mod report;
mod rights;

use std::path::Path;

use super::globals::Globals;
use crate::config::{self, Config};
use crate::core::Failure;
use crate::error::Error;
use crate::output;
use report::Report;

pub(crate) async fn run(globals: &Globals) -> Result<(), Error> {
    let mut report = Report::new(globals.config_path.display().to_string());
    if let Some(config) = check_config(&mut report, &globals.config_path) {
        // A run keeps its event in the state before it contacts GLPI.
        local::check_state_dir(&mut report, globals.state_root(&config));
        // Example values cannot reach a GLPI: not even tried.
        if placeholders(&mut report, &config, &globals.config_path) {
            api::check_glpi(&mut report, &config).await;
        }
        database::check_database(&mut report, &config).await;
        // After the ticket, as in a run.
        mail::check_mail(&mut report, &config);
        reconcile::check_reconcile(&mut report, &config, &globals.config_path).await;
    }
    report.tally();
    output::emit(globals.json, &report, &report.human())?;
    match report.first_problem() {
        None => Ok(()),
        Some((first, stops)) => Err(Error::Check {
            problems: report.problems(),
            first,
            stops,
        }),
    }
}

// ---------------------------------------------------------------------------
// Configuration

fn check_config(r: &mut Report, path: &Path) -> Option<Config> {
    let loaded = match config::load(path) {
        Ok(l) => l,
        Err(e) => {
            let hint = e.hint().map(|h| format!(": {h}")).unwrap_or_default();
            let error = crate::text::error_line(&e);
            r.fail("configuration", Failure::Config, format!("{error}{hint}"));
            return None;
        }
    };
    r.ok("configuration", format!("{} is valid", path.display()));
    let shown = path.display().to_string();
    let mut mode_warned = false;
    for w in &loaded.warnings {
        // The file-mode warnings start with the path; the others are advisories.
        if w.starts_with(&shown) {
            mode_warned = true;
            r.warn("permissions", w.clone());
        } else {
            r.warn("configuration", w.clone());
        }
    }
    if !mode_warned && let Some(mode) = file_mode(path) {
        r.ok(
            "permissions",
            format!("mode {mode:04o}: other users cannot read the tokens"),
        );
    }
    Some(loaded.config)
}

/// False (said) when keys still hold the shipped example values, which
/// `notify` refuses too (exit 3) without contacting GLPI.
fn placeholders(r: &mut Report, config: &Config, path: &Path) -> bool {
    match config::require_real(config, path) {
        Ok(()) => true,
        Err(e) => {
            let hint = e.hint().map(|h| format!(": {h}")).unwrap_or_default();
            r.fail("configuration", Failure::Config, format!("{e}{hint}"));
            false
        }
    }
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> Option<u32> {
    None
}

#[cfg(test)]
pub(super) mod test_support {
    use super::*;

    pub(in crate::commands::check) fn config(extra: &str) -> Config {
        let text = format!(
            "host=\"https://glpi.example.org/glpi\"\napp_token=\"a\"\nuser_token=\"u\"\n\
             user_name=\"esia\"\n{extra}\n"
        );
        config::parse(&text, Path::new("t.conf")).unwrap()
    }

    pub(in crate::commands::check) fn report() -> Report {
        Report::new("t.conf".into())
    }
}
