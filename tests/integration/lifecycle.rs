//! SPEC's lifecycle table, end to end: the real binary against the simulator.

use crate::support::glpi_sim::{
    Fault, FaultKind, LoggedRequest, SIM_OAUTH_CLIENT_SECRET, SIM_USER_PASSWORD, Sim, SimOptions,
    form_decode,
};
use crate::support::{APP_TOKEN, Env, Transport, USER_TOKEN};

fn writes(env: &Env) -> Vec<String> {
    env.sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// The search requests of the log: the legacy `search/<itemtype>` ones, or
/// the v2 collections read with an RSQL filter.
fn searches(env: &Env) -> Vec<LoggedRequest> {
    env.sim
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "GET"
                && (r.path.contains("/search/")
                    || (r.path.starts_with("/api.php/v2/") && r.query.contains("filter=")))
        })
        .collect()
}

/// Over v2, the ticket carries the key's identity in `externalid`.
#[track_caller]
fn assert_external_id(t: Transport, env: &Env, id: u64) {
    if t == Transport::V2 {
        let ext = env.sim.ticket(id).unwrap().external_id;
        assert!(
            ext.as_deref().is_some_and(|e| e.starts_with("esia-glpi:")),
            "ticket {id}: externalid {ext:?}"
        );
    }
}

fn create_follow_up_ack_solve(tr: Transport) {
    let env = Env::over(tr, "");
    // CRITICAL: a ticket with the rendered title, priority, requester and asset.
    let run = env.notify(
        "srv-web-01",
        "HTTP",
        "CRITICAL",
        &[
            "--group",
            "Paris",
            "-L",
            "4",
            "--output",
            "connection refused",
        ],
    );
    run.ok();
    let j = run.json();
    assert_eq!(j["action"], "created");
    assert_eq!(j["state"], "critical");
    assert_eq!(j["node"], "srv-web-01");
    assert_eq!(j["service"], "HTTP");
    let id = j["ticket_id"].as_u64().unwrap();
    assert_eq!(
        j["url"],
        format!("{}/front/ticket.form.php?id={id}", env.sim.base_url())
    );
    let t = env.sim.ticket(id).unwrap();
    assert_eq!(t.name, "( Paris ) srv-web-01:HTTP");
    assert_eq!((t.priority, t.urgency, t.impact, t.status), (4, 4, 4, 1));
    assert_eq!(t.requesters, vec![7], "user_name esia is user 7");
    assert_eq!(t.items, vec![("Computer".to_string(), 1)]);
    assert!(t.content.contains("connection refused"));
    assert!(t.content.contains("[esia-glpi:"), "marker: {}", t.content);
    assert_external_id(tr, &env, id);

    // WARNING -L 2: a follow-up naming the transition, and the priority follows.
    let run = env.notify(
        "srv-web-01",
        "HTTP",
        "WARNING",
        &["-L", "2", "--output", "slow"],
    );
    assert_eq!(run.ok().json()["action"], "followed_up");
    let t = env.sim.ticket(id).unwrap();
    assert_eq!(t.followups.len(), 1);
    assert!(
        t.followups[0].contains("CRITICAL → WARNING"),
        "{:?}",
        t.followups
    );
    assert!(t.followups[0].contains("slow"));
    assert_eq!(t.priority, 2);

    // The same state again: a re-notification, nothing sent to GLPI at all.
    let before = env.sim.requests().len();
    let run = env.notify("srv-web-01", "HTTP", "WARNING", &["--output", "still slow"]);
    assert_eq!(run.ok().json()["action"], "ignored");
    assert_eq!(env.sim.requests().len(), before);

    // ACK: a follow-up naming who and why.
    let run = env.notify(
        "srv-web-01",
        "HTTP",
        "ACK",
        &["--ack-author", "Jeanne", "--ack-comment", "disk ordered"],
    );
    let j = run.ok().json();
    assert_eq!(j["action"], "acknowledged");
    assert_eq!(j["state"], "acknowledged");
    let t = env.sim.ticket(id).unwrap();
    assert!(t.followups[1].contains("Jeanne"), "{:?}", t.followups);
    assert!(t.followups[1].contains("disk ordered"));

    // OK: an ITILSolution, status 5, and the record is forgotten.
    let run = env.notify("srv-web-01", "HTTP", "OK", &["--output", "200 OK"]);
    let j = run.ok().json();
    assert_eq!(j["action"], "solved");
    assert_eq!(j["ticket_id"].as_u64(), Some(id));
    let t = env.sim.ticket(id).unwrap();
    assert_eq!(t.status, 5);
    assert_eq!(t.solutions.len(), 1);
    let show = env.esia(&["state", "show", "srv-web-01", "HTTP"]);
    assert!(show.ok().stdout.contains("no record"), "{}", show.stdout);

    // The next problem opens a new ticket.
    let run = env.notify("srv-web-01", "HTTP", "CRITICAL", &[]);
    let j = run.ok().json();
    assert_eq!(j["action"], "created");
    let second = j["ticket_id"].as_u64().unwrap();
    assert_ne!(second, id);
    assert_external_id(tr, &env, second);
    assert_eq!(env.sim.open_sessions(), 0, "every session is closed");
}

fn ok_without_open_ticket_writes_nothing(tr: Transport) {
    let env = Env::over(tr, "");
    let run = env.notify("web01", "HTTP", "OK", &[]);
    let j = run.ok().json();
    assert_eq!(j["action"], "ignored");
    assert!(j["ticket_id"].is_null());
    // Only logging in: a legacy session, or the OAuth token over v2.
    assert!(
        writes(&env).iter().all(|w| match tr {
            Transport::Legacy => w.ends_with("killSession") || w.contains("initSession"),
            Transport::V2 => w == "POST /api.php/token",
        }),
        "{:?}",
        writes(&env)
    );
    assert!(env.sim.tickets().is_empty());
    // A new state: it listed GLPI's open tickets once (the inventory), by
    // their writer — the API user — and their marker.
    let searches = searches(&env);
    assert_eq!(searches.len(), 1, "{searches:?}");
    let query = form_decode(&searches[0].query);
    match tr {
        Transport::Legacy => {
            assert_eq!(searches[0].path, "/apirest.php/search/Ticket");
            assert!(query.contains("[field]=22"), "{query}");
        }
        Transport::V2 => {
            assert_eq!(searches[0].path, "/api.php/v2/Assistance/Ticket");
            assert!(query.contains("user_recipient.id=="), "{query}");
        }
    }
    // Then the state knows: the next OK asks GLPI nothing.
    env.sim.clear_requests();
    let j = env.notify("web02", "HTTP", "OK", &[]).ok().json();
    assert_eq!(j["action"], "ignored");
    assert!(env.sim.requests().is_empty(), "{:?}", env.sim.requests());
}

fn ok_with_lost_record_solves_the_ticket_found_by_its_marker(tr: Transport) {
    let env = Env::over(tr, "");
    let id = env.notify("web01", "HTTP", "CRITICAL", &[]).ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    std::fs::remove_dir_all(env.state.join("records")).unwrap();
    env.sim.clear_requests();
    let j = env.notify("web01", "HTTP", "OK", &[]).ok().json();
    assert_eq!(j["action"], "solved");
    assert_eq!(j["ticket_id"].as_u64(), Some(id));
    assert_eq!(env.sim.ticket(id).unwrap().status, 5);
    if tr == Transport::V2 {
        // Found by its externalid: the one search filters on it, with the
        // very value the ticket carries.
        let ext = env.sim.ticket(id).unwrap().external_id.unwrap();
        assert!(ext.starts_with("esia-glpi:"), "{ext}");
        let searches = searches(&env);
        assert_eq!(searches.len(), 1, "{searches:?}");
        assert_eq!(searches[0].path, "/api.php/v2/Assistance/Ticket");
        let filter = form_decode(&searches[0].query);
        assert!(
            filter.contains(&format!("external_id==\"{ext}\"")),
            "{filter}"
        );
    }
}

/// Over v2 the key's open ticket is the one whose externalid is the key's:
/// a technician who clears it leaves the ticket to humans, and a lost
/// record then finds nothing to solve.
#[test]
fn v2_lost_record_finds_nothing_once_externalid_is_cleared() {
    let env = Env::over(Transport::V2, "");
    let id = env.notify("web01", "HTTP", "CRITICAL", &[]).ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    env.sim.set_ticket_external_id(id, None);
    std::fs::remove_dir_all(env.state.join("records")).unwrap();
    let j = env.notify("web01", "HTTP", "OK", &[]).ok().json();
    assert_eq!(j["action"], "ignored");
    assert_ne!(env.sim.ticket(id).unwrap().status, 5);
}

#[test]
fn a_marker_quoted_in_another_check_output_is_not_taken_for_the_key() {
    let env = Env::new();
    // The marker of web01/HTTP, quoted by the check output of web02/HTTP.
    let quoted = "[esia-glpi:7765623031:48545450]";
    let other = env
        .notify(
            "web02",
            "HTTP",
            "CRITICAL",
            &["--output", &format!("saw {quoted} in a log")],
        )
        .ok()
        .json()["ticket_id"]
        .as_u64()
        .unwrap();
    assert!(env.sim.ticket(other).unwrap().content.contains(quoted));

    // OK for web01/HTTP, never seen: the state knows nothing of it is open
    // (the inventory read the other ticket as web02's, its own marker being
    // the last of its description): nothing is searched, nothing solved.
    env.sim.clear_requests();
    let run = env.notify("web01", "HTTP", "OK", &[]);
    assert_eq!(run.ok().json()["action"], "ignored");
    assert!(searches(&env).is_empty(), "{:?}", searches(&env));
    // Its own ticket, then its record lost (its trace left): the OK asks
    // GLPI, which answers both tickets; the one that only quotes the marker
    // is not taken, the OK solves its own.
    let own = env.notify("web01", "HTTP", "CRITICAL", &[]).ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    std::fs::remove_file(env.state.join("records/web01~HTTP.json")).unwrap();
    let run = env.notify("web01", "HTTP", "OK", &[]);
    let j = run.ok().json();
    assert!(
        run.stderr.contains("only quotes the marker"),
        "{}",
        run.stderr
    );
    assert_eq!(j["action"], "solved");
    assert_eq!(j["ticket_id"].as_u64(), Some(own));
    assert_eq!(env.sim.ticket(own).unwrap().status, 5);
    assert_ne!(
        env.sim.ticket(other).unwrap().status,
        5,
        "never solved by another key's OK"
    );
}

fn ack_and_unack_without_ticket_do_nothing(tr: Transport) {
    let env = Env::over(tr, "");
    for state in ["ACK", "UNACK"] {
        let j = env.notify("web01", "HTTP", state, &[]).ok().json();
        assert_eq!(j["action"], "ignored");
    }
    assert!(env.sim.requests().is_empty(), "no GLPI request at all");
}

fn ticket_closed_by_a_human_is_never_written_into(tr: Transport) {
    for (how, act) in [
        ("solved", 0usize),
        ("closed", 1),
        ("trashed", 2),
        ("purged", 3),
    ] {
        let env = Env::over(tr, "");
        let old = env.notify("web01", "HTTP", "WARNING", &[]).ok().json()["ticket_id"]
            .as_u64()
            .unwrap();
        match act {
            0 => env.sim.set_ticket_status(old, 5),
            1 => env.sim.set_ticket_status(old, 6),
            2 => env.sim.trash_ticket(old),
            _ => env.sim.purge_ticket(old),
        }
        let j = env.notify("web01", "HTTP", "CRITICAL", &[]).ok().json();
        assert_eq!(j["action"], "created", "{how}");
        let new = j["ticket_id"].as_u64().unwrap();
        assert_ne!(new, old, "{how}");
        assert_external_id(tr, &env, new);
        assert!(
            env.sim
                .ticket(new)
                .unwrap()
                .content
                .contains(&format!("ticket {old}")),
            "{how}: the new ticket names the old one"
        );
        match (act, env.sim.ticket(old)) {
            // Purged: GLPI no longer has it at all.
            (3, None) => {}
            (3, Some(t)) => panic!("{how}: ticket {old} should be gone: {t:?}"),
            (_, None) => panic!("{how}: ticket {old} vanished from GLPI"),
            (_, Some(t)) => {
                assert!(
                    t.followups.is_empty(),
                    "{how}: nothing written into the old ticket"
                );
                assert!(t.solutions.is_empty(), "{how}");
            }
        }
        // OK on the new ticket solves it; an OK for a closed one writes nothing.
        assert_eq!(
            env.notify("web01", "HTTP", "OK", &[]).ok().json()["action"],
            "solved"
        );
    }
}

fn recovery_of_a_ticket_solved_by_hand_writes_nothing(tr: Transport) {
    let env = Env::over(tr, "");
    let id = env.notify("web01", "HTTP", "CRITICAL", &[]).ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    env.sim.set_ticket_status(id, 5);
    let j = env.notify("web01", "HTTP", "OK", &[]).ok().json();
    assert_eq!(j["action"], "ignored");
    assert!(env.sim.ticket(id).unwrap().solutions.is_empty());
    assert!(
        env.esia(&["state", "show", "web01", "HTTP"])
            .ok()
            .stdout
            .contains("no record")
    );
}

fn ambiguous_or_unknown_asset_is_not_linked(tr: Transport) {
    let env = Env::over(tr, "");
    env.sim.add_asset("Computer", "twin");
    env.sim.add_asset("NetworkEquipment", "twin");
    let j = env.notify("twin", "PING", "CRITICAL", &[]).ok().json();
    let t = env.sim.ticket(j["ticket_id"].as_u64().unwrap()).unwrap();
    assert!(t.items.is_empty(), "{:?}", t.items);
    let j = env.notify("nowhere", "PING", "CRITICAL", &[]).ok().json();
    let t = env.sim.ticket(j["ticket_id"].as_u64().unwrap()).unwrap();
    assert!(t.items.is_empty());
    // A network device alone is linked with its own type.
    let sw = env.sim.add_asset("NetworkEquipment", "sw-core");
    let j = env.notify("sw-core", "PING", "CRITICAL", &[]).ok().json();
    let t = env.sim.ticket(j["ticket_id"].as_u64().unwrap()).unwrap();
    assert_eq!(t.items, vec![("NetworkEquipment".to_string(), sw)]);
    // Not a configured type: not linked.
    env.sim.add_asset("Monitor", "screen-1");
    let j = env.notify("screen-1", "PING", "CRITICAL", &[]).ok().json();
    let t = env.sim.ticket(j["ticket_id"].as_u64().unwrap()).unwrap();
    assert!(t.items.is_empty());
}

fn requester_and_assets_are_looked_up_once_then_cached(tr: Transport) {
    let env = Env::over(tr, "");
    env.notify("srv-web-01", "HTTP", "CRITICAL", &[]).ok();
    env.notify("srv-web-01", "DISK", "CRITICAL", &[]).ok();
    let searches: Vec<String> = searches(&env).into_iter().map(|r| r.path).collect();
    // The first creation, on a new state, lists GLPI's open tickets once
    // (the inventory: a lost state directory never doubles a ticket), then
    // looks the requester and the asset up; the second searches nothing.
    let expected = match tr {
        Transport::Legacy => vec![
            "/apirest.php/search/Ticket",
            "/apirest.php/search/User",
            "/apirest.php/search/AllAssets",
        ],
        // v2 has no search across asset types: one per configured type
        // (the five default ones).
        Transport::V2 => vec![
            "/api.php/v2/Assistance/Ticket",
            "/api.php/v2/Administration/User",
            "/api.php/v2/Assets/Computer",
            "/api.php/v2/Assets/NetworkEquipment",
            "/api.php/v2/Assets/Printer",
            "/api.php/v2/Assets/Phone",
            "/api.php/v2/Assets/Peripheral",
        ],
    };
    assert_eq!(searches, expected, "second creation uses the cache");
}

fn script_in_output_never_reaches_glpi_unescaped(tr: Transport) {
    let env = Env::over(tr, "");
    let evil = "<script>alert('x')</script> & <b>bold</b>";
    let j = env
        .notify(
            "web01",
            "<img src=x onerror=alert(1)>",
            "CRITICAL",
            &["--output", evil],
        )
        .ok()
        .json();
    let id = j["ticket_id"].as_u64().unwrap();
    assert_external_id(tr, &env, id);
    let check_bodies = || {
        for r in env.sim.requests() {
            let Ok(body) = serde_json::from_str::<serde_json::Value>(&r.body) else {
                continue;
            };
            // The legacy API wraps the fields in `input`, v2 does not.
            let content = body["input"]["content"]
                .as_str()
                .or_else(|| body["content"].as_str())
                .unwrap_or_default();
            assert!(!content.contains("<script"), "raw markup sent: {content}");
            assert!(!content.contains("<img"), "raw markup sent: {content}");
            assert!(!content.contains("<b>bold"), "raw markup sent: {content}");
        }
    };
    check_bodies();
    let t = env.sim.ticket(id).unwrap();
    assert!(t.content.contains("&lt;script&gt;"), "{}", t.content);
    // The title is plain text: GLPI stores it as text, and it is not HTML.
    assert!(t.name.contains("<img src=x onerror=alert(1)>"));
    // A follow-up escapes too.
    env.notify(
        "web01",
        "<img src=x onerror=alert(1)>",
        "WARNING",
        &["--output", evil],
    )
    .ok();
    let t = env.sim.ticket(id).unwrap();
    assert!(t.followups[0].contains("&lt;script&gt;"));
    check_bodies();
}

fn host_level_alert_has_no_service(tr: Transport) {
    let env = Env::over(tr, "");
    let j = env
        .notify("srv-db-01", "", "DOWN", &["--output", "no ping"])
        .ok()
        .json();
    assert_eq!(j["action"], "created");
    assert_eq!(j["service"], "");
    // Host states are kept as such (SPEC "Command line").
    assert_eq!(j["state"], "down");
    let id = j["ticket_id"].as_u64().unwrap();
    assert_external_id(tr, &env, id);
    let t = env.sim.ticket(id).unwrap();
    assert_eq!(t.items, vec![("Computer".to_string(), 2)]);
    // A host alert reads as one: no dangling separator, DOWN as DOWN, no
    // empty line for the missing service, address or group.
    assert_eq!(t.name, "(  ) srv-db-01");
    assert!(t.content.contains("DOWN"), "{}", t.content);
    assert!(!t.content.contains("CRITICAL"), "{}", t.content);
    assert!(!t.content.contains("Service"), "{}", t.content);
    assert!(!t.content.contains("Adresse"), "{}", t.content);
    // UNREACHABLE is a state change, named as such.
    let j = env.notify("srv-db-01", "", "UNREACHABLE", &[]).ok().json();
    assert_eq!(
        (j["action"].as_str(), j["state"].as_str()),
        (Some("followed_up"), Some("unreachable"))
    );
    let t = env.sim.ticket(id).unwrap();
    assert!(
        t.followups[0].contains("DOWN → UNREACHABLE"),
        "{:?}",
        t.followups
    );
    let j = env.notify("srv-db-01", "", "UP", &[]).ok().json();
    assert_eq!(j["action"], "solved");
    assert_eq!(j["state"], "up");
    let t = env.sim.ticket(id).unwrap();
    assert!(
        t.solutions.iter().any(|s| s.contains("UP")),
        "{:?}",
        t.solutions
    );
}

fn nagios_environment_macros_feed_the_event(tr: Transport) {
    let env = Env::over(tr, "");
    let run = env.run(
        env.cmd()
            .args(["--json", "notify", "-L", "5"])
            .env("NAGIOS_HOSTNAME", "srv-web-01")
            .env("NAGIOS_HOSTGROUPNAME", "Lyon")
            .env("NAGIOS_SERVICEDESC", "HTTPS")
            .env("NAGIOS_SERVICESTATE", "CRITICAL")
            .env("NAGIOS_SERVICEOUTPUT", "certificate expired")
            .env("ICINGA_HOSTNAME", "ignored-because-nagios-wins"),
    );
    let j = run.ok().json();
    assert_eq!(j["node"], "srv-web-01");
    let t = env.sim.ticket(j["ticket_id"].as_u64().unwrap()).unwrap();
    assert_eq!(t.name, "( Lyon ) srv-web-01:HTTPS");
    assert!(t.content.contains("certificate expired"));
    assert_eq!(t.priority, 5);
    // An explicit option wins over the environment.
    let run = env.run(
        env.cmd()
            .args(["--json", "notify", "--state", "OK"])
            .env("NAGIOS_HOSTNAME", "srv-web-01")
            .env("NAGIOS_SERVICEDESC", "HTTPS")
            .env("NAGIOS_SERVICESTATE", "CRITICAL"),
    );
    assert_eq!(run.ok().json()["action"], "solved");
}

fn human_output_is_one_line_with_the_url(tr: Transport) {
    let env = Env::over(tr, "");
    let run = env.esia(&[
        "notify",
        "--node",
        "web01",
        "--service",
        "HTTP",
        "--state",
        "CRITICAL",
    ]);
    run.ok();
    let expected = format!(
        "created ticket 1 {}/front/ticket.form.php?id=1\n",
        env.sim.base_url()
    );
    assert_eq!(run.stdout, expected);
}

/// Refused credentials exit 4 and name what to fix, without printing a
/// secret: the user token over the legacy API; over v2 the client secret,
/// then the user's password.
fn wrong_credentials_exit_4_without_printing_secrets(tr: Transport) {
    match tr {
        Transport::Legacy => {
            let env = Env::over(tr, "");
            let bad = "WRONG-user-token-424242";
            let text = std::fs::read_to_string(&env.config)
                .unwrap()
                .replace(USER_TOKEN, bad);
            crate::support::write_private(&env.config, &text);
            let run = env.notify("web01", "HTTP", "CRITICAL", &["-vvv"]);
            run.code(4);
            assert!(
                run.stderr.contains("ERROR_GLPI_LOGIN_USER_TOKEN"),
                "{}",
                run.stderr
            );
            assert!(run.stderr.contains("Remote access keys"), "{}", run.stderr);
            for secret in [bad, APP_TOKEN] {
                assert!(
                    !run.stdout.contains(secret) && !run.stderr.contains(secret),
                    "{secret} leaked"
                );
            }
            assert!(env.sim.tickets().is_empty());
        }
        Transport::V2 => {
            let bad_secret = "WRONG-client-secret-424242";
            let bad_password = "WRONG-password-424242";
            for (what, code, hint) in [
                ("client_secret", "invalid_client", "OAuth clients"),
                ("password", "invalid_grant", "password"),
            ] {
                let env = Env::over(tr, "");
                if what == "client_secret" {
                    let text = std::fs::read_to_string(&env.config)
                        .unwrap()
                        .replace(SIM_OAUTH_CLIENT_SECRET, bad_secret);
                    crate::support::write_private(&env.config, &text);
                } else {
                    crate::support::write_private(
                        &env.password_file(),
                        &format!("{bad_password}\n"),
                    );
                }
                let run = env.notify("web01", "HTTP", "CRITICAL", &["-vvv"]);
                run.code(4);
                assert!(run.stderr.contains(code), "{what}: {}", run.stderr);
                assert!(run.stderr.contains(hint), "{what}: {}", run.stderr);
                // The token endpoint was asked, and refused.
                let tokens = env.sim.token_requests();
                assert!(!tokens.is_empty(), "{what}");
                assert!(tokens.iter().all(|r| r.status >= 400), "{what}");
                let state = String::from_utf8_lossy(&env.state_bytes()).into_owned();
                for secret in [
                    bad_secret,
                    bad_password,
                    SIM_OAUTH_CLIENT_SECRET,
                    SIM_USER_PASSWORD,
                    APP_TOKEN,
                    USER_TOKEN,
                ] {
                    assert!(
                        !run.stdout.contains(secret)
                            && !run.stderr.contains(secret)
                            && !state.contains(secret),
                        "{what}: {secret} leaked"
                    );
                }
                assert!(
                    !run.stderr.contains("Bearer ") && !state.contains("access_token"),
                    "{what}: a token leaked"
                );
                assert!(env.sim.tickets().is_empty(), "{what}");
                // Nothing but the token endpoint was asked.
                assert!(
                    env.sim
                        .requests()
                        .iter()
                        .all(|r| r.path == "/api.php/token"),
                    "{what}: {:?}",
                    env.sim.requests()
                );
            }
        }
    }
}

fn glpi_unreachable_exits_5(tr: Transport) {
    let env = Env::over(tr, "");
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace(&env.sim.base_url(), &format!("http://127.0.0.1:{port}"));
    crate::support::write_private(&env.config, &text);
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    run.code(5);
    assert!(
        run.stderr
            .starts_with("esia-glpi: error: GLPI is unavailable"),
        "{}",
        run.stderr
    );
    assert!(env.sim.requests().is_empty());
}

fn server_error_exits_5_and_still_closes_the_session(tr: Transport) {
    let env = Env::over(tr, "");
    env.sim.inject(Fault {
        method: Some("POST".into()),
        path_contains: "/Ticket".into(),
        kind: FaultKind::Status(500),
        times: None,
        probability: None,
    });
    env.notify("web01", "HTTP", "CRITICAL", &[]).code(5);
    assert_eq!(env.sim.open_sessions(), 0);
    let requests = env.sim.requests();
    match tr {
        Transport::Legacy => assert!(
            requests.last().unwrap().path.ends_with("killSession"),
            "killSession is the last request"
        ),
        // No session to close over v2 (the legacy one only links assets,
        // after a creation): the refused creation, then the search for a
        // ticket it might have made all the same, end the run.
        Transport::V2 => {
            let tail: Vec<(&str, &str, u16)> = requests[requests.len() - 2..]
                .iter()
                .map(|r| (r.method.as_str(), r.path.as_str(), r.status))
                .collect();
            assert_eq!(
                tail,
                [
                    ("POST", "/api.php/v2/Assistance/Ticket", 500),
                    ("GET", "/api.php/v2/Assistance/Ticket", 200)
                ]
            );
            assert!(
                env.sim
                    .requests()
                    .iter()
                    .all(|r| !r.path.starts_with("/apirest.php/")),
                "no legacy session was opened"
            );
        }
    }
    assert!(env.sim.tickets().is_empty());
}

#[test]
fn expired_session_is_reopened_once() {
    let env = Env::new();
    let id = env.notify("web01", "HTTP", "CRITICAL", &[]).ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    // Expire the session as soon as the ticket is read: the follow-up meets a 401.
    env.sim.inject(Fault {
        method: Some("GET".into()),
        path_contains: format!("/Ticket/{id}"),
        kind: FaultKind::ExpireSessionsAfter,
        times: Some(1),
        probability: None,
    });
    let j = env.notify("web01", "HTTP", "WARNING", &[]).ok().json();
    assert_eq!(j["action"], "followed_up");
    let inits = env
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("initSession"))
        .count();
    assert_eq!(inits, 3, "one per run, plus one re-init");
    assert_eq!(env.sim.ticket(id).unwrap().followups.len(), 1);
}

/// The requests each action takes, from the simulator's request log.
///
/// Legacy API, with warm caches: create 4 (the search for the key's open
/// ticket first, so that a lost state directory never opens a second
/// ticket), follow-up and solve 4. A follow-up that also changes the
/// priority costs a fifth: GLPI 10's legacy API has no one request that adds
/// a follow-up and changes a ticket field (bench/README.md).
///
/// High-level API, with a warm token: create 3 (the search, the ticket, the
/// requester as a team member) plus the asset link through the legacy API
/// (3 more, as `app_token`/`user_token` are configured; the pure-v2 test counts
/// without them), follow-up 2, follow-up + priority 3, solve 2. The first
/// run also gets the token (then cached), asks which GLPI it reaches (the API
/// root; legacy: `getGlpiConfig`, which it asks for the version anyway), and
/// looks up the requester and the asset, one search per asset type.
fn request_counts_per_action(tr: Transport) {
    let env = Env::over(tr, "");
    let counted = counted_actions(&env, &[]);
    println!("requests ({tr:?}): {}", counted.summary());
    // Over v2 (with the legacy login configured) a creation also links the
    // asset through the legacy API.
    let link = [
        "GET apirest.php/initSession",
        "POST apirest.php/Item_Ticket",
        "GET apirest.php/killSession",
    ];
    let expected = match tr {
        Transport::Legacy => legacy_requests(),
        Transport::V2 => v2_requests(&link),
    };
    counted.assert_eq(&expected);
}

/// The requests of each action, in the order [`counted_actions`] runs them.
#[derive(Debug, PartialEq)]
struct Actions {
    create_cold: Vec<String>,
    create_warm: Vec<String>,
    follow: Vec<String>,
    follow_priority: Vec<String>,
    solve: Vec<String>,
}

impl Actions {
    fn summary(&self) -> String {
        format!(
            "create cold {}, create warm {}, follow-up {}, follow-up + priority {}, solve {}",
            self.create_cold.len(),
            self.create_warm.len(),
            self.follow.len(),
            self.follow_priority.len(),
            self.solve.len()
        )
    }

    #[track_caller]
    fn assert_eq(&self, expected: &Actions) {
        assert_eq!(self.create_cold, expected.create_cold, "create, cold");
        assert_eq!(self.create_warm, expected.create_warm, "create, warm");
        assert_eq!(self.follow, expected.follow, "same priority: no PUT/PATCH");
        assert_eq!(self.follow_priority, expected.follow_priority);
        assert_eq!(self.solve, expected.solve);
    }
}

/// Runs, for srv-web-01: HTTP CRITICAL (cold), DISK CRITICAL, DISK
/// WARNING, HTTP WARNING -L 4, HTTP OK, each with `more` options; returns
/// the requests of each (see [`short`]).
fn counted_actions(env: &Env, more: &[&str]) -> Actions {
    let run = |service: &str, state: &str, extra: &[&str]| {
        let before = env.sim.requests().len();
        let args: Vec<&str> = extra.iter().chain(more).copied().collect();
        env.notify("srv-web-01", service, state, &args).ok();
        env.sim.requests()[before..]
            .iter()
            .map(|r| short(env.transport, r))
            .collect::<Vec<_>>()
    };
    Actions {
        create_cold: run("HTTP", "CRITICAL", &[]),
        create_warm: run("DISK", "CRITICAL", &[]),
        follow: run("DISK", "WARNING", &[]),
        follow_priority: run("HTTP", "WARNING", &["-L", "4"]),
        solve: run("HTTP", "OK", &[]),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The legacy API's: a session per run.
fn legacy_requests() -> Actions {
    Actions {
        create_cold: strings(&[
            "GET initSession",
            // Once per cache_ttl: GLPI 11 tickets carry externalid.
            "GET getGlpiConfig",
            // A new state: the API user's id (then cached), and the
            // inventory of its open tickets (once per inventory_ttl).
            "GET getFullSession",
            "GET search/Ticket",
            "GET search/User",
            "GET search/AllAssets",
            "POST Ticket",
            "GET killSession",
        ]),
        // The state knows the key has no open ticket: no search.
        create_warm: strings(&["GET initSession", "POST Ticket", "GET killSession"]),
        follow: strings(&[
            "GET initSession",
            "GET Ticket/2",
            "POST ITILFollowup",
            "GET killSession",
        ]),
        follow_priority: strings(&[
            "GET initSession",
            "GET Ticket/1",
            "POST ITILFollowup",
            "PUT Ticket/1",
            "GET killSession",
        ]),
        solve: strings(&[
            "GET initSession",
            "GET Ticket/1",
            "POST ITILSolution",
            "GET killSession",
        ]),
    }
}

/// The high-level API's, `link` after each creation: no session, the
/// token got once (then cached), one asset search per asset type — none
/// without a legacy login (`link` empty), which alone can link an asset.
fn v2_requests(link: &[&str]) -> Actions {
    let with_link = |v: &[&str]| -> Vec<String> {
        let mut out = strings(v);
        out.extend(strings(link));
        out
    };
    let assets: &[&str] = if link.is_empty() {
        &[]
    } else {
        &[
            "GET Assets/Computer",
            "GET Assets/NetworkEquipment",
            "GET Assets/Printer",
            "GET Assets/Phone",
            "GET Assets/Peripheral",
        ]
    };
    let create_cold = [
        &[
            "POST token",
            // A new state: which GLPI this is (the API root lists its
            // endpoints, built from its own URL), the API user's id, and
            // the inventory.
            "GET ",
            "GET session",
            "GET Assistance/Ticket",
            "GET Administration/User",
        ][..],
        assets,
        &[
            "POST Assistance/Ticket",
            "POST Assistance/Ticket/1/TeamMember",
        ][..],
    ]
    .concat();
    Actions {
        create_cold: with_link(&create_cold),
        create_warm: with_link(&[
            "POST Assistance/Ticket",
            "POST Assistance/Ticket/2/TeamMember",
        ]),
        follow: strings(&[
            "GET Assistance/Ticket/2",
            "POST Assistance/Ticket/2/Timeline/Followup",
        ]),
        follow_priority: strings(&[
            "GET Assistance/Ticket/1",
            "POST Assistance/Ticket/1/Timeline/Followup",
            "PATCH Assistance/Ticket/1",
        ]),
        solve: strings(&[
            "GET Assistance/Ticket/1",
            "POST Assistance/Ticket/1/Timeline/Solution",
        ]),
    }
}

/// Pure v2 (no `app_token` / `user_token`): the whole lifecycle over the
/// high-level API alone, never a legacy request, and the ticket is not
/// linked to its asset (v2 has no call for it), which the log says at info
/// level (`-v`).
#[test]
fn pure_v2_lifecycle_never_touches_the_legacy_api() {
    let env = Env::over(Transport::V2, "");
    env.without_legacy_login();
    // -v: the info line about the link.
    let counted = counted_actions(&env, &["-v"]);
    println!("requests (pure v2): {}", counted.summary());
    counted.assert_eq(&v2_requests(&[]));
    for id in [1, 2] {
        let t = env.sim.ticket(id).unwrap();
        assert!(t.items.is_empty(), "ticket {id} linked: {:?}", t.items);
        assert_eq!(t.requesters, vec![7]);
        assert_external_id(Transport::V2, &env, id);
    }
    let t = env.sim.ticket(1).unwrap();
    assert_eq!((t.status, t.priority), (5, 4));
    assert_eq!((t.followups.len(), t.solutions.len()), (1, 1));
    assert_eq!(env.sim.ticket(2).unwrap().followups.len(), 1);

    // What is said of the link, at -v.
    let run = env.notify("srv-web-01", "PING", "CRITICAL", &["-v"]);
    let id = run.ok().json()["ticket_id"].as_u64().unwrap();
    let said = run
        .stderr
        .lines()
        .find(|l| l.contains("srv-web-01: the ticket is not linked to an asset"))
        .unwrap_or_else(|| panic!("no word of the link in\n{}", run.stderr));
    assert!(said.starts_with("esia-glpi: info: "), "{said}");
    assert!(said.contains("app_token and user_token"), "{said}");

    // ACK over v2 alone too.
    let run = env.notify(
        "srv-web-01",
        "PING",
        "ACK",
        &["--ack-author", "Jeanne", "--ack-comment", "on it"],
    );
    assert_eq!(run.ok().json()["action"], "acknowledged");
    assert!(env.sim.ticket(id).unwrap().followups[0].contains("Jeanne"));

    let legacy: Vec<String> = env
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/apirest.php/") || r.path.starts_with("/api.php/v1/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(legacy.is_empty(), "legacy requests: {legacy:?}");
    // One token for every run: the cache.
    assert_eq!(env.sim.token_requests().len(), 1);
    assert_eq!(env.sim.open_sessions(), 0);
}

/// `METHOD path` of a logged request, its API root trimmed: `/apirest.php/`
/// for the legacy API; over v2 `/api.php/v2/` and `/api.php/`, the legacy
/// calls (the asset link) keeping `apirest.php/`.
fn short(tr: Transport, r: &LoggedRequest) -> String {
    let path = match tr {
        Transport::Legacy => r.path.trim_start_matches("/apirest.php/"),
        Transport::V2 => r
            .path
            .strip_prefix("/api.php/v2/")
            .or_else(|| r.path.strip_prefix("/api.php/"))
            .unwrap_or_else(|| r.path.trim_start_matches('/')),
    };
    format!("{} {path}", r.method)
}

/// Every search of GLPI's tickets carries the ticket's writer (the API
/// user: search option 22, `user_recipient.id` over v2), a criterion GLPI's
/// database answers from an index on a table of any size — the inventory
/// of a new state, the search of a key whose record was lost, `state
/// rebuild`; on GLPI 10 and on GLPI 11 (by `externalid`).
fn every_ticket_search_carries_the_writer(tr: Transport) {
    // The high-level API is GLPI 11's.
    let versions: &[bool] = match tr {
        Transport::Legacy => &[false, true],
        Transport::V2 => &[true],
    };
    for &glpi11 in versions {
        let sim = if glpi11 {
            Sim::start_with(SimOptions::glpi11())
        } else {
            Sim::start()
        };
        let env = Env::with_sim_over(tr, sim, "");
        env.notify("web01", "HTTP", "CRITICAL", &[]).ok();
        env.notify("web02", "HTTP", "CRITICAL", &[]).ok();
        std::fs::remove_file(env.state.join("records/web02~HTTP.json")).unwrap();
        env.notify("web02", "HTTP", "WARNING", &[]).ok();
        std::fs::remove_dir_all(&env.state).unwrap();
        env.notify("web01", "HTTP", "OK", &[]).ok();
        env.esia(&["state", "rebuild"]).ok();
        let tickets: Vec<String> = searches(&env)
            .into_iter()
            .filter(|r| {
                r.path.ends_with("/search/Ticket") || r.path.ends_with("/Assistance/Ticket")
            })
            .map(|r| form_decode(&r.query))
            .collect();
        assert!(tickets.len() >= 4, "glpi11={glpi11}: {tickets:#?}");
        for q in &tickets {
            let writer = match tr {
                Transport::Legacy => q.contains("[field]=22") && q.contains("[value]=7"),
                Transport::V2 => q.contains("user_recipient.id==7"),
            };
            assert!(writer, "glpi11={glpi11}: a search without the writer: {q}");
        }
    }
}

crate::over_both_transports!(
    every_ticket_search_carries_the_writer,
    create_follow_up_ack_solve,
    ok_without_open_ticket_writes_nothing,
    ok_with_lost_record_solves_the_ticket_found_by_its_marker,
    ack_and_unack_without_ticket_do_nothing,
    ticket_closed_by_a_human_is_never_written_into,
    recovery_of_a_ticket_solved_by_hand_writes_nothing,
    ambiguous_or_unknown_asset_is_not_linked,
    requester_and_assets_are_looked_up_once_then_cached,
    script_in_output_never_reaches_glpi_unescaped,
    host_level_alert_has_no_service,
    nagios_environment_macros_feed_the_event,
    human_output_is_one_line_with_the_url,
    wrong_credentials_exit_4_without_printing_secrets,
    glpi_unreachable_exits_5,
    server_error_exits_5_and_still_closes_the_session,
    request_counts_per_action,
);
