//! SPEC's lifecycle table, end to end: the real binary against the simulator.

use crate::support::glpi_sim::{Fault, FaultKind};
use crate::support::{APP_TOKEN, Env, USER_TOKEN};

fn writes(env: &Env) -> Vec<String> {
    env.sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn create_follow_up_ack_solve() {
    let env = Env::new();
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
    assert_ne!(j["ticket_id"].as_u64(), Some(id));
    assert_eq!(env.sim.open_sessions(), 0, "every session is closed");
}

#[test]
fn ok_without_open_ticket_writes_nothing() {
    let env = Env::new();
    let run = env.notify("web01", "HTTP", "OK", &[]);
    let j = run.ok().json();
    assert_eq!(j["action"], "ignored");
    assert!(j["ticket_id"].is_null());
    assert!(
        writes(&env)
            .iter()
            .all(|w| w.ends_with("killSession") || w.contains("initSession")),
        "{:?}",
        writes(&env)
    );
    assert!(env.sim.tickets().is_empty());
    // It looked once for a ticket carrying the key's marker.
    let searches = env
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/search/Ticket"))
        .count();
    assert_eq!(searches, 1);
}

#[test]
fn ok_with_lost_record_solves_the_ticket_found_by_its_marker() {
    let env = Env::new();
    let id = env.notify("web01", "HTTP", "CRITICAL", &[]).ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    std::fs::remove_dir_all(env.state.join("records")).unwrap();
    let j = env.notify("web01", "HTTP", "OK", &[]).ok().json();
    assert_eq!(j["action"], "solved");
    assert_eq!(j["ticket_id"].as_u64(), Some(id));
    assert_eq!(env.sim.ticket(id).unwrap().status, 5);
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

    // OK for web01/HTTP with no record: nothing of its own is open.
    let run = env.notify("web01", "HTTP", "OK", &[]);
    assert_eq!(run.ok().json()["action"], "ignored");
    assert!(
        run.stderr.contains("only quotes the marker"),
        "{}",
        run.stderr
    );
    // Its own ticket, record lost: the OK solves that one, not the other.
    let own = env.notify("web01", "HTTP", "CRITICAL", &[]).ok().json()["ticket_id"]
        .as_u64()
        .unwrap();
    std::fs::remove_dir_all(env.state.join("records")).unwrap();
    let j = env.notify("web01", "HTTP", "OK", &[]).ok().json();
    assert_eq!(j["action"], "solved");
    assert_eq!(j["ticket_id"].as_u64(), Some(own));
    assert_eq!(env.sim.ticket(own).unwrap().status, 5);
    assert_ne!(
        env.sim.ticket(other).unwrap().status,
        5,
        "never solved by another key's OK"
    );
}

#[test]
fn ack_and_unack_without_ticket_do_nothing() {
    let env = Env::new();
    for state in ["ACK", "UNACK"] {
        let j = env.notify("web01", "HTTP", state, &[]).ok().json();
        assert_eq!(j["action"], "ignored");
    }
    assert!(env.sim.requests().is_empty(), "no GLPI request at all");
}

#[test]
fn ticket_closed_by_a_human_is_never_written_into() {
    for (how, act) in [
        ("solved", 0usize),
        ("closed", 1),
        ("trashed", 2),
        ("purged", 3),
    ] {
        let env = Env::new();
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

#[test]
fn recovery_of_a_ticket_solved_by_hand_writes_nothing() {
    let env = Env::new();
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

#[test]
fn ambiguous_or_unknown_asset_is_not_linked() {
    let env = Env::new();
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

#[test]
fn requester_and_assets_are_looked_up_once_then_cached() {
    let env = Env::new();
    env.notify("srv-web-01", "HTTP", "CRITICAL", &[]).ok();
    env.notify("srv-web-01", "DISK", "CRITICAL", &[]).ok();
    let searches: Vec<String> = env
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/search/"))
        .map(|r| r.path)
        .collect();
    assert_eq!(
        searches,
        vec![
            // Each creation first looks for the key's open ticket (a lost
            // state directory never doubles a ticket), then the requester
            // and the asset, once.
            "/apirest.php/search/Ticket",
            "/apirest.php/search/User",
            "/apirest.php/search/AllAssets",
            "/apirest.php/search/Ticket",
        ],
        "second creation uses the cache"
    );
}

#[test]
fn script_in_output_never_reaches_glpi_unescaped() {
    let env = Env::new();
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
    let check_bodies = || {
        for r in env.sim.requests() {
            let Ok(body) = serde_json::from_str::<serde_json::Value>(&r.body) else {
                continue;
            };
            let content = body["input"]["content"].as_str().unwrap_or_default();
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

#[test]
fn host_level_alert_has_no_service() {
    let env = Env::new();
    let j = env
        .notify("srv-db-01", "", "DOWN", &["--output", "no ping"])
        .ok()
        .json();
    assert_eq!(j["action"], "created");
    assert_eq!(j["service"], "");
    assert_eq!(j["state"], "critical");
    let t = env.sim.ticket(j["ticket_id"].as_u64().unwrap()).unwrap();
    assert_eq!(t.items, vec![("Computer".to_string(), 2)]);
    let j = env.notify("srv-db-01", "", "UP", &[]).ok().json();
    assert_eq!(j["action"], "solved");
}

#[test]
fn nagios_environment_macros_feed_the_event() {
    let env = Env::new();
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

#[test]
fn human_output_is_one_line_with_the_url() {
    let env = Env::new();
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

#[test]
fn wrong_user_token_exits_4_without_printing_a_token() {
    let env = Env::new();
    let bad = "WRONG-user-token-424242";
    env.write_config("");
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

#[test]
fn glpi_unreachable_exits_5() {
    let env = Env::new();
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
}

#[test]
fn server_error_exits_5_and_still_closes_the_session() {
    let env = Env::new();
    env.sim.inject(Fault {
        method: Some("POST".into()),
        path_contains: "/Ticket".into(),
        kind: FaultKind::Status(500),
        times: None,
        probability: None,
    });
    env.notify("web01", "HTTP", "CRITICAL", &[]).code(5);
    assert_eq!(env.sim.open_sessions(), 0);
    assert!(
        env.sim
            .requests()
            .last()
            .unwrap()
            .path
            .ends_with("killSession"),
        "killSession is the last request"
    );
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

/// The requests each action takes, from the simulator's request log: with
/// warm caches, create 4 (the search for the key's open ticket first, so that
/// a lost state directory never opens a second ticket), follow-up and solve
/// 4. A follow-up that also changes the priority costs a fifth: GLPI 10's
/// legacy API has no one request that adds a follow-up and changes a ticket
/// field (bench/README.md).
#[test]
fn request_counts_per_action() {
    let env = Env::new();
    let run = |service: &str, state: &str, more: &[&str]| {
        let before = env.sim.requests().len();
        env.notify("srv-web-01", service, state, more).ok();
        env.sim.requests()[before..]
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.method,
                    r.path.trim_start_matches("/apirest.php/")
                )
            })
            .collect::<Vec<_>>()
    };
    let create_cold = run("HTTP", "CRITICAL", &[]);
    let create_warm = run("DISK", "CRITICAL", &[]);
    let follow = run("DISK", "WARNING", &[]);
    let follow_priority = run("HTTP", "WARNING", &["-L", "4"]);
    let solve = run("HTTP", "OK", &[]);
    println!(
        "requests: create cold {}, create warm {}, follow-up {}, follow-up + priority {}, solve {}",
        create_cold.len(),
        create_warm.len(),
        follow.len(),
        follow_priority.len(),
        solve.len()
    );
    assert_eq!(
        create_cold,
        [
            "GET initSession",
            // Once per cache_ttl: GLPI 11 tickets carry externalid.
            "GET getGlpiConfig",
            "GET search/Ticket",
            "GET search/User",
            "GET search/AllAssets",
            "POST Ticket",
            "GET killSession"
        ]
    );
    assert_eq!(
        create_warm,
        [
            "GET initSession",
            "GET search/Ticket",
            "POST Ticket",
            "GET killSession"
        ]
    );
    assert_eq!(
        follow,
        [
            "GET initSession",
            "GET Ticket/2",
            "POST ITILFollowup",
            "GET killSession"
        ],
        "same priority: no PUT"
    );
    assert_eq!(
        follow_priority,
        [
            "GET initSession",
            "GET Ticket/1",
            "POST ITILFollowup",
            "PUT Ticket/1",
            "GET killSession"
        ]
    );
    assert_eq!(
        solve,
        [
            "GET initSession",
            "GET Ticket/1",
            "POST ITILSolution",
            "GET killSession"
        ]
    );
}
