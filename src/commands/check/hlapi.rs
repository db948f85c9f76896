//! `check` over GLPI 11's high-level API (`api = "v2"`): the OAuth client
//! and the user (a password grant, nothing kept), the high-level API
//! switch and the token's scope (`GET session`), the active profile's
//! rights (GLPI gives them in the session), the entity (through the legacy
//! login when it is configured: the session does not list sub-entities),
//! the category and the requester; then which of the two APIs are on, and
//! the legacy login the asset link uses when it is configured.
//!
//! A grant made here is never written into the token cache: `check` tries
//! the credentials as they are in the file, not a token an earlier run kept.

use super::network::{tls_ok, tls_problem};
use super::report::{Report, class_of, explain};
use super::rights::{
    check_category, check_entity as check_legacy_entity, check_requester, check_rights,
};
use crate::config::Config;
use crate::core::Failure;
use crate::glpi::{Client, ErrorCode, GlpiError, HIGH_LEVEL_NOT_FOUND, Session, V2Session};

pub(super) async fn v2_steps(r: &mut Report, client: &Client, config: &Config) {
    if !password_grant(r, client, config).await {
        return;
    }
    let session = match client.open().await {
        Ok(s) => s,
        Err(e) => {
            r.fail("high-level API", class_of(&e), explain(&e));
            return;
        }
    };
    let info = match session.v2_session().await {
        Ok(info) => info,
        Err(e) => {
            session_failure(r, client, &e).await;
            return;
        }
    };
    r.ok(
        "high-level API",
        format!(
            "enabled at {}, session as \"{}\" (user {})",
            crate::config::without_userinfo(&config.v2_url()),
            info.me.login,
            info.me.id
        ),
    );
    r.ok(
        "GLPI",
        "version 11 or later (the high-level API answers): tickets carry the key's identity in \
         externalid",
    );
    check_rights(r, &info.profile, config);
    // Opened now, said after the requester: with it, the entity is checked
    // like over the legacy API (the v2 session does not list sub-entities).
    let opened = client.open_legacy().await;
    match &opened {
        Ok(Some(l)) if config.entity.is_some() => check_legacy_entity(r, l, config).await,
        _ => check_entity(r, &info, config),
    }
    check_requester(r, &session, config).await;
    let legacy = legacy_side(r, client, config, opened).await;
    match &legacy {
        Some(l) => check_category(r, l, config).await,
        None => category_unverified(r, config),
    }
    if let Some(l) = legacy {
        l.close().await;
    }
}

/// The OAuth client and the user: one password grant, nothing kept.
/// False (said) when the next steps are pointless.
async fn password_grant(r: &mut Report, client: &Client, config: &Config) -> bool {
    let https = config.v2_url().to_ascii_lowercase().starts_with("https://");
    let token_url = crate::config::without_userinfo(&config.token_url());
    match client.try_password_grant().await {
        Ok(()) => {
            tls_ok(r, config, https);
            let user = config.oauth.as_ref().map_or("", |o| o.username.as_str());
            r.ok(
                "OAuth client",
                format!("password grant accepted for \"{user}\" at {token_url}"),
            );
        }
        Err(GlpiError::Unavailable { reason, .. }) => {
            match https.then(|| tls_problem(&reason, config)).flatten() {
                Some(problem) => r.fail("TLS", Failure::Unavailable, problem),
                None => r.fail(
                    "high-level API",
                    Failure::Unavailable,
                    format!(
                        "no usable answer from {token_url} ({reason}): check that GLPI runs; \
                         raise timeout if it is only slow"
                    ),
                ),
            }
            return false;
        }
        Err(GlpiError::NotFound { .. }) => {
            tls_ok(r, config, https);
            r.fail(
                "high-level API",
                Failure::Config,
                format!(
                    "no GLPI high-level API answers at {token_url} (HTTP 404 Not Found): \
                     {HIGH_LEVEL_NOT_FOUND}"
                ),
            );
            return false;
        }
        Err(GlpiError::Protocol { detail, .. }) => {
            tls_ok(r, config, https);
            r.fail(
                "high-level API",
                Failure::Config,
                format!(
                    "{token_url} is not GLPI 11's token endpoint ({detail}): GLPI 10 has no \
                     high-level API, use api = \"legacy\" with it; otherwise set `host` to the \
                     GLPI root URL (the client adds /api.php/v2/ and /api.php/token)"
                ),
            );
            return false;
        }
        Err(e @ GlpiError::Setup { .. }) => {
            r.fail("configuration", Failure::Config, explain(&e));
            return false;
        }
        Err(e) => {
            tls_ok(r, config, https);
            grant_failure(r, &e);
            return false;
        }
    }
    true
}

/// Without a legacy session the category is not read: GLPI 11.0's
/// high-level API is not known to serve ITIL categories to this client.
fn category_unverified(r: &mut Report, config: &Config) {
    if let Some(id) = config.category {
        r.warn(
            "category",
            format!(
                "category {id} not verified (read through the legacy REST API, which is not \
                 configured): check that Setup > Dropdowns > ITIL categories lists it"
            ),
        );
    }
}

/// The token endpoint refused the grant: which setting to fix, and where.
fn grant_failure(r: &mut Report, e: &GlpiError) {
    let step = match e.code() {
        Some(ErrorCode::InvalidGrant) => "user",
        _ => "OAuth client",
    };
    match (e.code(), e.hint()) {
        (Some(ErrorCode::InvalidClient), Some(h)) => r.fail(
            step,
            Failure::Refused,
            format!("GLPI refused client_id / client_secret (invalid_client): {h}"),
        ),
        (Some(ErrorCode::InvalidGrant), Some(h)) => r.fail(
            step,
            Failure::Refused,
            format!("GLPI refused the password grant (invalid_grant): {h}"),
        ),
        (
            Some(
                c @ (ErrorCode::UnauthorizedClient
                | ErrorCode::UnsupportedGrantType
                | ErrorCode::InvalidScope),
            ),
            Some(h),
        ) => {
            r.fail(step, Failure::Refused, format!("GLPI answered {c}: {h}"));
        }
        _ => r.fail(step, class_of(e), explain(e)),
    }
}

/// `GET session` failed with a token in hand: the switch, the scope, or
/// the token itself.
async fn session_failure(r: &mut Report, client: &Client, e: &GlpiError) {
    let message = e.to_string();
    if message.contains("High-Level API is disabled") {
        r.fail(
            "high-level API",
            Failure::Refused,
            "disabled in GLPI (the token endpoint answers, the API does not): tick Enable the \
             high-level API under Setup > General > API",
        );
        say_legacy_state(r, client, false).await;
    } else if e.code() == Some(&ErrorCode::RightMissing) && message.contains("scope") {
        r.fail(
            "OAuth client",
            Failure::Refused,
            "the token was granted without the scope api: add api under Scopes in Setup > OAuth \
             clients > (the client)",
        );
    } else {
        r.fail("high-level API", class_of(e), explain(e));
    }
}

/// Whether the legacy REST API is on (it is not needed with `api = "v2"`,
/// except for linking assets).
async fn say_legacy_state(r: &mut Report, client: &Client, needed: bool) {
    match client.probe_root().await {
        Ok(()) => r.ok(
            "legacy REST API",
            if needed {
                "enabled too (it links tickets to assets)"
            } else {
                "enabled (api = \"legacy\" would work meanwhile)"
            },
        ),
        Err(e) if e.to_string().contains("API disabled") => {
            let detail = "disabled (Setup > General > API > Enable Rest API)";
            if needed {
                r.warn(
                    "legacy REST API",
                    format!(
                        "{detail}: tickets are created but not linked to their asset; enable \
                         it, or remove app_token / user_token and asset_types"
                    ),
                );
            } else {
                r.ok(
                    "legacy REST API",
                    format!("{detail}: not used by api = \"v2\""),
                );
            }
        }
        Err(e) => r.warn("legacy REST API", format!("not reachable: {}", explain(&e))),
    }
}

/// The asset link goes through the legacy API when a `user_token` is
/// configured; without one, tickets are not linked. `opened` is the
/// attempt to open the legacy session; returns the session when it opened.
async fn legacy_side<'c>(
    r: &mut Report,
    client: &'c Client,
    config: &Config,
    opened: Result<Option<Session<'c>>, GlpiError>,
) -> Option<Session<'c>> {
    if !client.has_legacy_login() {
        if !config.asset_types.is_empty() {
            r.warn(
                "assets",
                "the high-level API of GLPI 11.0 has no call to link a ticket to an asset, and \
                 no user_token is configured for the legacy REST API: tickets are not linked; \
                 set app_token / user_token (Setup > General > API), or empty asset_types",
            );
        }
        say_legacy_state(r, client, false).await;
        return None;
    }
    match opened {
        Ok(legacy) => {
            r.ok(
                "legacy REST API",
                "session opened with user_token: tickets get linked to their asset through it",
            );
            legacy
        }
        Err(e) if e.to_string().contains("API disabled") => {
            say_legacy_state(r, client, true).await;
            None
        }
        Err(e) => {
            r.warn(
                "legacy REST API",
                format!(
                    "no session with user_token, so tickets are not linked to their asset: {}",
                    explain(&e)
                ),
            );
            None
        }
    }
}

/// The entity among the active profile's entities (the session lists
/// them; a recursive one reaches its sub-entities, which the session does
/// not name).
fn check_entity(r: &mut Report, info: &V2Session, config: &Config) {
    let Some(wanted) = config.entity else {
        r.ok("entity", "tickets go to the API user's active entity");
        return;
    };
    if let Some((e, _)) = info.entities.iter().find(|(e, _)| e.id == wanted) {
        r.ok(
            "entity",
            format!("tickets go to entity {wanted} \"{}\"", e.name),
        );
        return;
    }
    let recursive: Vec<String> = info
        .entities
        .iter()
        .filter(|(_, rec)| *rec)
        .map(|(e, _)| format!("{} \"{}\"", e.id, e.name))
        .collect();
    if recursive.is_empty() {
        let reachable: Vec<String> = info
            .entities
            .iter()
            .take(10)
            .map(|(e, _)| format!("{} \"{}\"", e.id, e.name))
            .collect();
        r.fail(
            "entity",
            Failure::Refused,
            format!(
                "entity {wanted} is not among the profile's entities (it reaches: {}): fix \
                 `entity`, or give the user a profile in that entity",
                reachable.join(", ")
            ),
        );
    } else {
        r.ok(
            "entity",
            format!(
                "entity {wanted} is reached if it lies under {} (recursive)",
                recursive.join(", ")
            ),
        );
    }
}

/// Whether GLPI 11's high-level API is on, for a `legacy` configuration
/// (`GET api.php/v2/`, no token). Silent on a GLPI without one.
pub(super) async fn say_v2_state(r: &mut Report, client: &Client, legacy_on: bool) {
    match client.probe_v2_root().await {
        Ok(()) => r.ok(
            "high-level API",
            if legacy_on {
                "enabled too (api = \"v2\" would use it with an OAuth client, see README)"
            } else {
                "enabled: with the legacy REST API off, set api = \"v2\" and an OAuth client \
                 (README, GLPI 11) rather than enabling the legacy one"
            },
        ),
        Err(e) if e.to_string().contains("High-Level API is disabled") => r.ok(
            "high-level API",
            "disabled (Setup > General > API): not used by api = \"legacy\"",
        ),
        Err(_) => {}
    }
}
