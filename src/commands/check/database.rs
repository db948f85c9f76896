//! `check`, the state database (`[state] backend = "postgres"`): reached
//! with the configured user, the schema's version against this program's,
//! the rights the runs need (and those a migration needs), and a key lock.
//! Read-only: nothing is created, migrated or written, and the local state
//! directory is not touched.

use super::report::Report;
use crate::commands::globals::pg_settings;
use crate::config::{Config, StateBackend};
use crate::core::Failure;
use crate::state::{LockProbe, PgProbe, StateError, probe_database};

pub(super) async fn check_database(r: &mut Report, config: &Config) {
    let StateBackend::Postgres(pg) = &config.state else {
        return;
    };
    let settings = pg_settings(config, pg);
    let url = settings.shown_url().to_owned();
    let budget = config.run_timeout;
    let probed = tokio::time::timeout(budget, probe_database(&settings)).await;
    match probed {
        Ok(Ok(probe)) => report(r, &url, &probe),
        Ok(Err(e)) => unreachable(r, &url, &e),
        Err(_) => r.fail(
            "state database",
            Failure::Local,
            format!(
                "{url} did not answer within run_timeout ({} s): check that the database server \
                 runs and is not overloaded",
                budget.as_secs()
            ),
        ),
    }
}

fn unreachable(r: &mut Report, url: &str, e: &StateError) {
    r.fail(
        "state database",
        Failure::Local,
        format!(
            "{url}: {e}: check that the server runs and accepts this host (pg_hba.conf), and the \
             [state] url, password_file and TLS settings; meanwhile runs keep their events \
             locally and exit 6"
        ),
    );
}

fn report(r: &mut Report, url: &str, p: &PgProbe) {
    let user = &p.user;
    r.ok("state database", format!("reached {url} as \"{user}\""));
    let migrate_fix = format!(
        "run `esia-glpi state migrate` as a user who may (the database owner), or grant it: \
         GRANT CREATE ON SCHEMA public TO {user}"
    );
    let Some(schema) = p.schema else {
        r.fail(
            "database rights",
            Failure::Local,
            format!(
                "\"{user}\" may not read and write the state tables: {}",
                grant(user)
            ),
        );
        lock_line(r, p);
        return;
    };
    match schema {
        v if v == p.latest => r.ok("schema", format!("version {v}, this esia-glpi's")),
        0 if p.can_migrate => r.ok(
            "schema",
            format!(
                "none yet: the first run creates it (version {}), or `esia-glpi state migrate`",
                p.latest
            ),
        ),
        0 => r.fail(
            "schema",
            Failure::Local,
            format!("none yet, and \"{user}\" may not create tables: {migrate_fix}"),
        ),
        v if v > p.latest => r.fail(
            "schema",
            Failure::Local,
            format!(
                "version {v}, newer than this esia-glpi knows ({}): a newer esia-glpi migrated \
                 it; install that version on this monitoring server too",
                p.latest
            ),
        ),
        v if p.can_migrate => r.warn(
            "schema",
            format!(
                "version {v}: the next run migrates it to {} (or `esia-glpi state migrate` now)",
                p.latest
            ),
        ),
        v => r.fail(
            "schema",
            Failure::Local,
            format!(
                "version {v}, older than this esia-glpi's ({}), and \"{user}\" may not migrate \
                 it: {migrate_fix}",
                p.latest
            ),
        ),
    }
    if schema > 0 && schema <= p.latest {
        if p.can_write {
            r.ok(
                "database rights",
                format!("\"{user}\" may read and write every state table"),
            );
        } else {
            r.fail(
                "database rights",
                Failure::Local,
                format!(
                    "\"{user}\" may not read and write every state table: {}",
                    grant(user)
                ),
            );
        }
    }
    lock_line(r, p);
}

/// The grants a run needs on the state tables, as SQL for the owner to run.
fn grant(user: &str) -> String {
    format!(
        "as the database owner, GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \
         public TO {user}; GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {user}"
    )
}

fn lock_line(r: &mut Report, p: &PgProbe) {
    match p.lock {
        LockProbe::Works => r.ok("database lock", "a node and service can be locked"),
        LockProbe::NotTaken => r.fail(
            "database lock",
            Failure::Local,
            "a node and service could not be locked (advisory locks): another check holds the \
             probe key, or the server refuses advisory locks; run check again",
        ),
        LockProbe::SharedSessions => r.fail(
            "database lock",
            Failure::Local,
            "the statements of one connection reach several database sessions: a connection \
             pooler in transaction or statement mode is between this host and PostgreSQL, and \
             the runs' locks would hold nothing; use session pooling (PgBouncer: pool_mode = \
             session) or connect to PostgreSQL directly",
        ),
    }
}
