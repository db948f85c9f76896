//! `check`, `reconcile`'s state source (the `[reconcile]` table): read once
//! as the user running check — the timer runs reconcile as the engine's
//! user, so run check as that user too: the file readable or the socket
//! answering, the API's credentials accepted, the state fresh. Said only
//! when the table is there. A problem here stops `reconcile`, not
//! `notify`: check then exits 8 when it is the first problem, as
//! `reconcile` would.

use std::path::Path;
use std::time::Duration;

use super::report::Report;
use crate::commands::reconcile::{limits, source};
use crate::config::Config;
use crate::monitor;

const STEP: &str = "reconcile source";

pub(super) async fn check_reconcile(r: &mut Report, config: &Config, path: &Path) {
    let Some(settings) = &config.reconcile else {
        return;
    };
    let source = match source(path, &settings.source) {
        Ok(source) => source,
        Err(e) => {
            let hint = e.hint().map_or_else(String::new, |h| format!(": {h}"));
            r.fail_reconcile(STEP, format!("{}{hint}", crate::text::error_line(&e)));
            return;
        }
    };
    let snapshot = match monitor::read(&source, limits(config)).await {
        Ok(snapshot) => snapshot,
        Err(e) => {
            r.fail_reconcile(
                STEP,
                format!("{}: {}", crate::text::error_line(&e), e.hint()),
            );
            return;
        }
    };
    let now = jiff::Timestamp::now();
    if let Err(e) = monitor::fresh(&snapshot, now, settings.max_age) {
        r.fail_reconcile(
            STEP,
            format!("{}: {}", crate::text::error_line(&e), e.hint()),
        );
        return;
    }
    let age = if snapshot.written {
        let secs = Duration::try_from(now.duration_since(snapshot.taken))
            .unwrap_or(Duration::ZERO)
            .as_secs();
        format!(
            ", written {secs} s ago (max_age {} s)",
            settings.max_age.as_secs()
        )
    } else {
        String::new()
    };
    r.ok(
        STEP,
        format!(
            "{}: {} hosts and services{age}",
            crate::output::sanitize(&snapshot.source),
            snapshot.objects.len()
        ),
    );
}
