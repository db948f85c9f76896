//! `check`, once logged in: the GLPI version, the active profile's rights
//! (glpi-api.md §9.5) and asset rights, the entity, the category and the
//! requester.

use super::report::{Report, class_of, explain};
use crate::config::{Config, TicketType};
use crate::core::Failure;
use crate::glpi::{ItemLookup, Profile, Session, UserMatch};

pub(super) async fn after_login(r: &mut Report, session: &Session<'_>, config: &Config) {
    match session.glpi_config().await {
        Ok(cfg) => {
            let version = cfg.version.unwrap_or_default();
            let major = version.split('.').next().unwrap_or_default().to_string();
            match major.as_str() {
                "10" => r.ok(
                    "GLPI",
                    format!(
                        "version {version}, legacy REST API (apirest.php), GLPI 10 text encoding"
                    ),
                ),
                "11" => r.ok(
                    "GLPI",
                    format!("version {version}, legacy REST API (apirest.php), raw text"),
                ),
                _ => r.warn(
                    "GLPI",
                    format!(
                        "version {version:?} is not one esia-glpi was built for (10.0 and 11): \
                         run a notify test before relying on it"
                    ),
                ),
            }
            r.glpi_version = Some(version).filter(|v| !v.is_empty());
        }
        Err(e) => r.warn("GLPI", format!("version unknown: {}", explain(&e))),
    }
    match session.active_profile().await {
        Ok(profile) => check_rights(r, &profile, config),
        Err(e) => r.fail("rights", class_of(&e), explain(&e)),
    }
    check_entity(r, session, config).await;
    check_category(r, session, config).await;
    check_requester(r, session, config).await;
}

// glpi-api.md §9.2–§9.3.
const READMY: u64 = 1;
const UPDATE: u64 = 2;
const CREATE: u64 = 4;
const READALL: u64 = 1024;
const READGROUP: u64 = 2048;
const READASSIGN: u64 = 4096;
const OWN: u64 = 32_768;
const CHANGEPRIORITY: u64 = 65_536;
const FOLLOWUP_ADDMY: u64 = 4;
const FOLLOWUP_ADDALL: u64 = 4096;
const READ: u64 = 1;

/// The GLPI right name of an asset itemtype.
fn asset_right(itemtype: &str) -> &'static str {
    match itemtype {
        "NetworkEquipment" => "networking",
        "Printer" => "printer",
        "Phone" => "phone",
        "Peripheral" => "peripheral",
        "Monitor" => "monitor",
        _ => "computer",
    }
}

/// The active profile against the matrix of glpi-api.md §9.5.
pub(super) fn check_rights(r: &mut Report, p: &Profile, config: &Config) {
    let ticket = p.right("ticket");
    let followup = p.right("followup");
    let mut missing: Vec<(&str, &str)> = Vec::new();
    if ticket & CREATE == 0 {
        missing.push(("create tickets", "Assistance > Tickets > Create"));
    }
    if ticket & (READMY | UPDATE | READALL | READGROUP | READASSIGN | OWN) == 0 {
        missing.push((
            "read the tickets it wrote",
            "Assistance > Tickets > See my tickets",
        ));
    }
    if ticket & UPDATE == 0 {
        missing.push((
            "update tickets (priority changes and solutions)",
            "Assistance > Tickets > Update",
        ));
    }
    if followup & (FOLLOWUP_ADDMY | FOLLOWUP_ADDALL) == 0 {
        missing.push((
            "add follow-ups to its tickets",
            "Assistance > Followups > Add to my tickets",
        ));
    }
    if (1..=4).any(|from| p.forbids_transition(from, 5)) {
        missing.push((
            "solve tickets (its life cycle forbids moving them to Solved)",
            "Life cycles > Life cycle of tickets, column Solved",
        ));
    }
    let needs_users = config.user_name.is_some();
    if needs_users && p.right("user") & READ == 0 {
        missing.push((
            "read users (to find the requester user_name)",
            "Administration > Users > Read",
        ));
    }
    let name = &p.name;
    if missing.is_empty() {
        r.ok(
            "rights",
            format!(
                "profile \"{name}\" may create, read, update, follow up and solve tickets{}",
                if needs_users { ", and read users" } else { "" }
            ),
        );
    }
    // The user_token advice is the legacy login's: a v2 session comes from
    // an OAuth token, which check has just been granted.
    let stale = if config.api == crate::config::Api::V2 {
        ""
    } else {
        " (regenerate the user_token if GLPI keeps the old rights)"
    };
    for (what, right) in missing {
        r.fail(
            "rights",
            Failure::Refused,
            format!(
                "profile \"{name}\" cannot {what}: grant {right} in Administration > Profiles > \
                 {name}{stale}"
            ),
        );
    }
    if p.interface.as_deref() == Some("helpdesk") {
        r.warn(
            "rights",
            format!(
                "profile \"{name}\" uses the simplified (helpdesk) interface: give the API user a \
                 profile with the standard interface"
            ),
        );
    }
    if ticket & CHANGEPRIORITY == 0 {
        r.warn(
            "priority",
            format!(
                "profile \"{name}\" lacks Assistance > Tickets > Change priority: GLPI computes \
                 the priority from urgency and impact, which esia-glpi sets to match -L 1 to 5; \
                 -L 6 (major) becomes 5 (very high)"
            ),
        );
    }
    check_assets(r, p, config);
}

/// Read on each configured asset type: without it, no link (not fatal).
fn check_assets(r: &mut Report, p: &Profile, config: &Config) {
    let name = &p.name;
    let unreadable: Vec<&str> = config
        .asset_types
        .iter()
        .map(String::as_str)
        .filter(|t| p.right(asset_right(t)) & READ == 0)
        .collect();
    if config.asset_types.is_empty() {
        r.ok(
            "assets",
            "no asset_types configured: tickets are not linked to assets",
        );
    } else if unreadable.is_empty() {
        r.ok(
            "assets",
            format!(
                "profile \"{name}\" may read {}",
                config.asset_types.join(", ")
            ),
        );
    } else {
        r.warn(
            "assets",
            format!(
                "profile \"{name}\" cannot read {}: alerts of such nodes are never linked to \
                 their asset; grant Read on them under Assets in the profile, or remove them \
                 from asset_types",
                unreadable.join(", ")
            ),
        );
    }
}

pub(super) async fn check_entity(r: &mut Report, session: &Session<'_>, config: &Config) {
    let Some(wanted) = config.entity else {
        r.ok("entity", "tickets go to the API user's active entity");
        return;
    };
    match session.my_entities().await {
        Ok(list) => match list.iter().find(|e| e.id == wanted) {
            Some(e) => r.ok(
                "entity",
                format!("tickets go to entity {wanted} \"{}\"", e.name),
            ),
            None => {
                let reachable: Vec<String> = list
                    .iter()
                    .take(10)
                    .map(|e| format!("{} \"{}\"", e.id, e.name))
                    .collect();
                r.fail(
                    "entity",
                    Failure::Refused,
                    format!(
                        "entity {wanted} does not exist or the API user has no profile in it \
                         (it reaches: {}): fix `entity`, or give the user a profile in that \
                         entity",
                        reachable.join(", ")
                    ),
                );
            }
        },
        Err(e) => r.fail("entity", class_of(&e), explain(&e)),
    }
}

pub(super) async fn check_category(r: &mut Report, session: &Session<'_>, config: &Config) {
    let Some(id) = config.category else {
        return;
    };
    match session.item("ITILCategory", id).await {
        Ok(ItemLookup::Found { name, fields }) => {
            let (flag, kind) = match config.ticket_type {
                TicketType::Incident => ("is_incident", "incidents"),
                TicketType::Request => ("is_request", "requests"),
            };
            let offered = fields
                .get(flag)
                .is_none_or(|v| v.as_u64().is_none_or(|n| n != 0));
            if offered {
                r.ok("category", format!("tickets get category {id} \"{name}\""));
            } else {
                r.warn(
                    "category",
                    format!(
                        "category {id} \"{name}\" is not offered for {kind}: tick \"Visible for \
                         {kind}\" on it, or choose another category"
                    ),
                );
            }
        }
        Ok(ItemLookup::Missing) => r.fail(
            "category",
            Failure::Refused,
            format!(
                "category {id} does not exist in GLPI: fix `category` (Setup > Dropdowns > ITIL \
                 categories shows the ids)"
            ),
        ),
        Ok(ItemLookup::NotReadable) => r.warn(
            "category",
            format!(
                "the profile may not read ITIL categories, so category {id} was not verified \
                 (notify does not need that right)"
            ),
        ),
        Err(e) => r.warn(
            "category",
            format!("category {id} not verified: {}", explain(&e)),
        ),
    }
}

pub(super) async fn check_requester(r: &mut Report, session: &Session<'_>, config: &Config) {
    let Some(login) = &config.user_name else {
        r.ok(
            "requester",
            "none configured (user_name is empty): tickets get no requester",
        );
        return;
    };
    match session.find_user(login).await {
        Ok(UserMatch::Found(id)) => {
            r.ok(
                "requester",
                format!("\"{login}\" is user {id}, active and unique"),
            );
        }
        // notify creates the ticket without requester in these three cases
        // (engine/lookup.rs): warnings, not problems.
        Ok(UserMatch::NotFound) => r.warn(
            "requester",
            format!(
                "no GLPI user has the login \"{login}\" (or the API user's entities do not \
                 include it), so tickets are created without requester: create that user under \
                 Administration > Users > Add, or set user_name to an existing login (the \
                 Login field, not the real name), or empty it{}",
                cached(config)
            ),
        ),
        Ok(UserMatch::Inactive(id)) => r.warn(
            "requester",
            format!(
                "user \"{login}\" (user {id}) is inactive, so tickets are created without \
                 requester: set Active to Yes under Administration > Users > {login}, or change \
                 user_name{}",
                cached(config)
            ),
        ),
        Ok(UserMatch::Ambiguous(n)) => r.warn(
            "requester",
            format!(
                "{n} GLPI users have the login \"{login}\", so tickets are created without \
                 requester: rename or delete the duplicates under Administration > Users{}",
                cached(config)
            ),
        ),
        Err(e) => r.fail("requester", class_of(&e), explain(&e)),
    }
}

/// notify remembers a requester look-up for `cache_ttl`.
fn cached(config: &Config) -> String {
    format!(
        "; runs see the change within cache_ttl ({} s)",
        config.cache_ttl.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::super::report::Mark;
    use super::super::test_support::{config, report};
    use super::*;

    fn profile(json: &str) -> Profile {
        serde_json::from_str(json).unwrap()
    }

    fn marks(r: &Report) -> Vec<(&'static str, Mark)> {
        r.checks.iter().map(|i| (i.step, i.status)).collect()
    }

    /// The checklist of the rights of a profile (JSON) under a configuration
    /// with `extra` lines.
    fn rights(json: &str, extra: &str) -> Report {
        let mut r = report();
        check_rights(&mut r, &profile(json), &config(extra));
        r
    }

    #[test]
    fn super_admin_rights_pass() {
        let r = rights(
            r#"{"name":"Super-Admin","interface":"central","ticket":261151,"followup":31767,
                "user":127,"computer":127,"networking":127,"printer":127,"phone":127,"peripheral":127}"#,
            "",
        );
        assert_eq!(marks(&r), vec![("rights", Mark::Ok), ("assets", Mark::Ok)]);
    }

    #[test]
    fn technician_lacks_only_change_priority() {
        let r = rights(
            r#"{"name":"Technician","interface":"central","ticket":166919,"followup":13319,
                "user":1,"computer":1,"networking":1,"printer":1,"phone":1,"peripheral":1}"#,
            "",
        );
        assert_eq!(
            marks(&r),
            vec![
                ("rights", Mark::Ok),
                ("priority", Mark::Warn),
                ("assets", Mark::Ok)
            ]
        );
    }

    #[test]
    fn self_service_misses_every_needed_right() {
        let r = rights(
            r#"{"name":"Self-Service","interface":"helpdesk","ticket":5,"followup":5,
                "ticket_status":{"1":{"5":0}}}"#,
            "asset_types=[\"Computer\"]",
        );
        let fails: Vec<&str> = r
            .checks
            .iter()
            .filter(|i| i.status == Mark::Fail)
            .map(|i| i.message.as_str())
            .collect();
        assert_eq!(fails.len(), 3, "{fails:#?}");
        assert!(fails[0].contains("update tickets"));
        assert!(fails[1].contains("solve tickets"));
        assert!(fails[2].contains("read users"));
        assert!(
            r.checks
                .iter()
                .any(|i| i.step == "assets" && i.status == Mark::Warn)
        );
    }
}
