//! Not transcripts: the GLPI 11 simulator's OAuth 2 server, high-level API
//! and state API, driven with the contract module's raw client — what a
//! client of GLPI 11 will meet beyond the recorded exchanges (HTTP Basic
//! client authentication, expiry, RSQL, rights, `externalid`, both API
//! switches, faults on the token endpoint).

use serde_json::{Value, json};

use super::send;
use crate::support::glpi_sim::{
    ADMIN_PASSWORD, Fault, FaultKind, SIM_OAUTH_CLIENT_ID, SIM_OAUTH_CLIENT_SECRET,
    SIM_USER_PASSWORD, Sim, SimOptions, Version,
};

/// Percent-encodes everything but unreserved characters.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Standard base64, for an `Authorization: Basic` header.
fn base64(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in s.as_bytes().chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn form_headers() -> Vec<(String, String)> {
    vec![(
        "Content-Type".into(),
        "application/x-www-form-urlencoded".into(),
    )]
}

/// `POST /api.php/token` with the password grant; (status, body).
fn password_grant(
    sim: &Sim,
    client: (&str, &str),
    user: (&str, &str),
    scope: &str,
) -> (u16, Value) {
    let body = form(&[
        ("grant_type", "password"),
        ("client_id", client.0),
        ("client_secret", client.1),
        ("username", user.0),
        ("password", user.1),
        ("scope", scope),
    ]);
    let a = send(
        &sim.base_url(),
        "POST",
        "/api.php/token",
        &form_headers(),
        &body,
    );
    (
        a.status,
        serde_json::from_str(&a.body).unwrap_or(Value::Null),
    )
}

fn token(sim: &Sim) -> String {
    let (status, v) = password_grant(
        sim,
        (SIM_OAUTH_CLIENT_ID, SIM_OAUTH_CLIENT_SECRET),
        ("esia", SIM_USER_PASSWORD),
        "api",
    );
    assert_eq!(status, 200, "{v}");
    v["access_token"].as_str().unwrap().to_owned()
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![
        ("Authorization".into(), format!("Bearer {token}")),
        ("Content-Type".into(), "application/json".into()),
    ]
}

/// (status, JSON body or Null, headers)
fn call(
    sim: &Sim,
    method: &str,
    target: &str,
    token: &str,
    body: &str,
) -> (u16, Value, Vec<(String, String)>) {
    let mut headers = bearer(token);
    if body.is_empty() {
        // GLPI decodes any body sent as application/json, even an empty one
        // (Router::handleRequest): a GET with that header is a 400.
        headers.retain(|(k, _)| k != "Content-Type");
    }
    let a = send(&sim.base_url(), method, target, &headers, body);
    (
        a.status,
        serde_json::from_str(&a.body).unwrap_or(Value::Null),
        a.headers,
    )
}

fn content_range(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Range"))
        .map(|(_, v)| v.as_str())
}

#[test]
fn glpi11_oauth_token_endpoint() {
    let sim = Sim::start_with(SimOptions::glpi11());
    assert_eq!(sim.version(), Version::Glpi11);
    let base = sim.base_url();

    // HTTP Basic client authentication (RFC 6749 §2.3.1), JSON body.
    let basic = base64(&format!("{SIM_OAUTH_CLIENT_ID}:{SIM_OAUTH_CLIENT_SECRET}"));
    let json_body = r#"{"grant_type":"password","username":"esia","password":"sim-esia-password-0123456789","scope":"api"}"#;
    let headers = vec![
        ("Authorization".to_owned(), format!("Basic {basic}")),
        ("Content-Type".to_owned(), "application/json".to_owned()),
    ];
    let a = send(&base, "POST", "/api.php/token", &headers, json_body);
    assert_eq!(a.status, 200, "{}", a.body);
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(
        (v["token_type"].as_str(), v["expires_in"].as_u64()),
        (Some("Bearer"), Some(3600))
    );
    assert_eq!(v["access_token"].as_str().unwrap().split('.').count(), 3);
    // A wrong secret by Basic: 401 with the WWW-Authenticate league adds.
    let headers = vec![
        ("Authorization".to_owned(), "Basic YTpi".to_owned()),
        ("Content-Type".to_owned(), "application/json".to_owned()),
    ];
    let a = send(&base, "POST", "/api.php/token", &headers, json_body);
    assert_eq!(a.status, 401);
    assert!(
        a.headers
            .iter()
            .any(|(k, v)| k == "WWW-Authenticate" && v == "Basic realm=\"OAuth\"")
    );

    // Content-Type: application/json on a GET: GLPI decodes the empty body.
    let a = send(
        &base,
        "GET",
        "/api.php/v2/session",
        &bearer(v["access_token"].as_str().unwrap()),
        "",
    );
    assert!(
        a.status == 400 && a.body.contains("Invalid JSON body"),
        "{}",
        a.body
    );

    // Errors as league words them.
    let client = (SIM_OAUTH_CLIENT_ID, SIM_OAUTH_CLIENT_SECRET);
    let (status, v) = password_grant(&sim, client, ("esia", "wrong"), "api");
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_grant")));
    let (status, v) = password_grant(
        &sim,
        (SIM_OAUTH_CLIENT_ID, "wrong"),
        ("esia", SIM_USER_PASSWORD),
        "api",
    );
    assert_eq!((status, v["error"].as_str()), (401, Some("invalid_client")));
    let a = send(
        &base,
        "POST",
        "/api.php/token",
        &form_headers(),
        "grant_type=magic",
    );
    assert_eq!(a.status, 400);
    assert!(a.body.contains("unsupported_grant_type"), "{}", a.body);
    let a = send(
        &base,
        "POST",
        "/api.php/token",
        &form_headers(),
        "grant_type=password",
    );
    assert!(
        a.body.contains("Check the `client_id` parameter"),
        "{}",
        a.body
    );
    // A client without the password grant.
    let cc = sim.add_oauth_client("robot", &["client_credentials"], &["api"]);
    let (status, v) = password_grant(
        &sim,
        (&cc.client_id, &cc.client_secret),
        ("esia", SIM_USER_PASSWORD),
        "api",
    );
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    sim.set_oauth_client_active(&cc.client_id, false);
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &cc.client_id),
        ("client_secret", &cc.client_secret),
    ]);
    assert_eq!(
        send(&base, "POST", "/api.php/token", &form_headers(), &body).status,
        401
    );
}

#[test]
fn glpi11_oauth_scopes_passwords_refresh_and_faults() {
    let sim = Sim::start_with(SimOptions::glpi11());
    let base = sim.base_url();
    let client = (SIM_OAUTH_CLIENT_ID, SIM_OAUTH_CLIENT_SECRET);

    // Scopes: none asked, none given (403 on v2); unknown ones dropped.
    let (_, v) = password_grant(&sim, client, ("esia", SIM_USER_PASSWORD), "");
    let tok = v["access_token"].as_str().unwrap();
    let (status, v, _) = call(&sim, "GET", "/api.php/v2/session", tok, "");
    assert_eq!(
        (status, v["detail"].as_str()),
        (
            403,
            Some("You do not have the required scope(s) to access this endpoint.")
        )
    );
    let (status, _) = password_grant(&sim, client, ("esia", SIM_USER_PASSWORD), "api nonsense");
    assert_eq!(status, 200);

    // Passwords: the seeded admin's, then one set by the test.
    assert_eq!(
        password_grant(&sim, client, ("glpi", ADMIN_PASSWORD), "api").0,
        200
    );
    sim.set_user_password("alice.requester", "s3cret");
    assert_eq!(
        password_grant(&sim, client, ("ALICE.requester", "s3cret"), "api").0,
        200
    );

    // Refresh: once, and it revokes the access token it came with.
    let (_, v) = password_grant(&sim, client, ("esia", SIM_USER_PASSWORD), "api");
    let (old_access, refresh) = (
        v["access_token"].as_str().unwrap(),
        v["refresh_token"].as_str().unwrap(),
    );
    let refresh_body = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", client.0),
        ("client_secret", client.1),
    ]);
    let a = send(
        &base,
        "POST",
        "/api.php/v2/token",
        &form_headers(),
        &refresh_body,
    );
    assert_eq!(
        a.status, 200,
        "the token endpoint answers under a version prefix too"
    );
    let (status, v, _) = call(&sim, "GET", "/api.php/v2.2/session", old_access, "");
    assert_eq!(
        (status, v["detail"].as_str()),
        (400, Some("Access token has been revoked"))
    );
    let a = send(
        &base,
        "POST",
        "/api.php/token",
        &form_headers(),
        &refresh_body,
    );
    assert!(a.body.contains("Token has been revoked"), "{}", a.body);

    // Every token request is in the log; faults work on the token path.
    let before = sim.token_requests().len();
    sim.inject(Fault::new("/api.php/token", FaultKind::Status(503)).times(1));
    assert_eq!(
        password_grant(&sim, client, ("esia", SIM_USER_PASSWORD), "api").0,
        503
    );
    assert_eq!(sim.token_requests().len(), before + 1);
    assert_eq!(sim.token_requests().last().unwrap().status, 503);
}

#[test]
fn glpi11_token_expiry_and_api_switches() {
    let sim = Sim::start_with(SimOptions {
        token_lifetime: std::time::Duration::from_millis(300),
        ..SimOptions::glpi11()
    });
    let tok = token(&sim);
    assert_eq!(call(&sim, "GET", "/api.php/v2/session", &tok, "").0, 200);
    assert_eq!(sim.live_access_tokens(), 1);
    std::thread::sleep(std::time::Duration::from_millis(400));
    let (status, v, _) = call(&sim, "GET", "/api.php/v2/session", &tok, "");
    assert_eq!(
        (status, v["detail"].as_str()),
        (400, Some("Access token could not be verified"))
    );
    assert_eq!(sim.live_access_tokens(), 0);

    sim.set_token_lifetime(std::time::Duration::from_mins(10));
    let tok = token(&sim);
    sim.inject(Fault::new("/session", FaultKind::ExpireTokensAfter).times(1));
    assert_eq!(call(&sim, "GET", "/api.php/v2/session", &tok, "").0, 200);
    assert_eq!(call(&sim, "GET", "/api.php/v2/session", &tok, "").0, 400);
    let tok = token(&sim);
    sim.expire_access_tokens();
    assert_eq!(call(&sim, "GET", "/api.php/session", &tok, "").0, 400);

    // The HL API off: 403 everywhere but the token endpoint (13a, 13b).
    sim.set_hlapi_enabled(false);
    let tok = token(&sim);
    let (status, v, _) = call(&sim, "GET", "/api.php/v2/Assistance/Ticket", &tok, "");
    assert_eq!(
        (status, v["detail"].as_str()),
        (403, Some("The High-Level API is disabled"))
    );
    sim.set_hlapi_enabled(true);
    // The legacy API off: the HL API goes on, the legacy one refuses.
    sim.set_api_enabled(false);
    assert_eq!(
        call(&sim, "GET", "/api.php/v2/Assistance/Ticket", &tok, "").0,
        200
    );
    let a = send(&sim.base_url(), "GET", "/api.php/v1/initSession", &[], "");
    assert_eq!(
        (a.status, a.body.as_str()),
        (400, r#"["ERROR","API disabled"]"#)
    );
    // A fresh install has both off.
    let fresh = Sim::start_with(SimOptions {
        legacy_api_enabled: false,
        hlapi_enabled: false,
        ..SimOptions::glpi11()
    });
    assert_eq!(
        send(
            &fresh.base_url(),
            "GET",
            "/apirest.php/initSession",
            &[],
            ""
        )
        .status,
        400
    );
    assert_eq!(
        send(&fresh.base_url(), "GET", "/api.php/v2/session", &[], "").status,
        403
    );
    // GLPI 10 has no /api.php.
    assert_eq!(
        send(
            &Sim::start().base_url(),
            "GET",
            "/api.php/v2/session",
            &[],
            ""
        )
        .status,
        404
    );
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn glpi11_external_id_in_both_apis_and_rsql() {
    let sim = Sim::start_with(SimOptions::glpi11());
    let base = sim.base_url();
    let tok = token(&sim);

    // external_id at creation through v2; status as {id, name}.
    let body = json!({"name": "CRITICAL: web01 / HTTP", "content": "<p>a & b</p>", "urgency": 4,
        "impact": 4, "type": 1, "external_id": "esia:web01/HTTP"});
    let (status, v, headers) = call(
        &sim,
        "POST",
        "/api.php/v2/Assistance/Ticket",
        &tok,
        &body.to_string(),
    );
    assert_eq!(
        (status, v["href"].as_str()),
        (200, Some("/Assistance/Ticket/1"))
    );
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "Location" && v == "/Assistance/Ticket/1")
    );
    assert!(sim.trail().contains("externalid: esia:web01/HTTP"));
    let view = sim.ticket(1).unwrap();
    assert_eq!(
        (view.external_id.as_deref(), view.content.as_str()),
        (Some("esia:web01/HTTP"), "<p>a & b</p>")
    );
    // …and through the legacy API, read back and searchable as option 87.
    let auth = [
        (
            "App-Token".to_owned(),
            SimOptions::default().app_token.unwrap(),
        ),
        (
            "Authorization".to_owned(),
            format!("user_token {}", SimOptions::default().user_token),
        ),
    ];
    let init = send(&base, "GET", "/api.php/v1/initSession", &auth, "");
    let session: Value = serde_json::from_str(&init.body).unwrap();
    let legacy = vec![
        auth[0].clone(),
        (
            "Session-Token".to_owned(),
            session["session_token"].as_str().unwrap().to_owned(),
        ),
    ];
    let a = send(
        &base,
        "POST",
        "/apirest.php/Ticket",
        &legacy,
        r#"{"input":{"name":"WARNING: db01 / MySQL","content":"x","externalid":"esia:db01/MySQL"}}"#,
    );
    assert_eq!(a.status, 201, "{}", a.body);
    assert!(
        a.headers
            .iter()
            .any(|(k, v)| k == "location" && v.ends_with("/api.php/v1/Ticket/2"))
    );
    let a = send(&base, "GET", "/apirest.php/getGlpiConfig", &legacy, "");
    assert!(a.body.contains(r#""version":"11.0.6""#), "{}", a.body);
    let a = send(&base, "GET", "/apirest.php/Ticket/2", &legacy, "");
    assert!(
        a.body.contains(r#""externalid":"esia:db01/MySQL""#),
        "{}",
        a.body
    );
    let search = "/apirest.php/search/Ticket?criteria[0][field]=87&criteria[0][searchtype]=contains&criteria[0][value]=%5Eesia:db01/MySQL%24&forcedisplay[0]=2";
    let a = send(&base, "GET", search, &legacy, "");
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(
        (v["totalcount"].as_u64(), v["data"][0]["2"].as_u64()),
        (Some(1), Some(2)),
        "{}",
        a.body
    );
    let anchored_prefix = search.replace("%24", "");
    let a = send(
        &base,
        "GET",
        &anchored_prefix.replace("MySQL", "My"),
        &legacy,
        "",
    );
    assert!(
        a.body.contains(r#""totalcount":1"#),
        "^ anchors only the start: {}",
        a.body
    );
    // GLPI 10 has no option 87.
    assert!(Sim::start().version() == Version::Glpi10);

    // RSQL on external_id, status.id, is_deleted; 200/206 and Content-Range.
    let q = |filter: &str| format!("/api.php/v2/Assistance/Ticket?filter={}", enc(filter));
    let (status, v, h) = call(
        &sim,
        "GET",
        &q(r#"external_id=="esia:web01/HTTP";status.id=in=(1,2,3,4);is_deleted==false"#),
        &tok,
        "",
    );
    assert_eq!(
        (status, v.as_array().map(Vec::len), content_range(&h)),
        (200, Some(1), Some("0-0/1"))
    );
    let (_, v, _) = call(
        &sim,
        "GET",
        &q("external_id!=x,content=like=*a & b*"),
        &tok,
        "",
    );
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
    let (status, v, h) = call(
        &sim,
        "GET",
        "/api.php/v2/Assistance/Ticket?limit=1",
        &tok,
        "",
    );
    assert_eq!(
        (status, v.as_array().map(Vec::len), content_range(&h)),
        (206, Some(1), Some("0-0/2"))
    );
    let (status, _, h) = call(&sim, "GET", &q("name==nothing"), &tok, "");
    assert_eq!((status, content_range(&h)), (200, Some("0-0/0")));
    let (status, v, _) = call(&sim, "GET", &q("status.name==New"), &tok, "");
    assert_eq!(
        (status, v["status"].as_str()),
        (400, Some("ERROR_INVALID_PARAMETER"))
    );
    // A trashed ticket is still found: the HL API has no implicit is_deleted filter.
    sim.trash_ticket(2);
    let (_, v, _) = call(&sim, "GET", &q("external_id==esia:db01/MySQL"), &tok, "");
    assert_eq!(v[0]["is_deleted"], json!(true));
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn glpi11_team_timeline_users_and_assets() {
    let sim = Sim::start_with(SimOptions::glpi11());
    let tok = token(&sim);
    let body = json!({"name": "CRITICAL: web01 / HTTP", "content": "<p>down</p>"});
    let created = call(
        &sim,
        "POST",
        "/api.php/v2/Assistance/Ticket",
        &tok,
        &body.to_string(),
    );
    assert_eq!(created.0, 200);

    // Team, follow-up, solution.
    let (status, _, _) = call(
        &sim,
        "POST",
        "/api.php/v2/Assistance/Ticket/1/TeamMember",
        &tok,
        r#"{"type":"User","id":8,"role":"requester"}"#,
    );
    assert_eq!(status, 201);
    assert_eq!(sim.ticket(1).unwrap().requesters, vec![8]);
    let (status, _, _) = call(
        &sim,
        "POST",
        "/api.php/v2/Assistance/Ticket/1/TeamMember",
        &tok,
        r#"{"type":"User","id":8,"role":"requester"}"#,
    );
    assert_eq!(status, 400, "already a requester");
    let (status, _, _) = call(
        &sim,
        "POST",
        "/api.php/v2/Assistance/Ticket/1/Timeline/Followup",
        &tok,
        r#"{"content":"<p>still down</p>"}"#,
    );
    assert_eq!(status, 200);
    let (status, _, _) = call(
        &sim,
        "POST",
        "/api.php/v2/Assistance/Ticket/1/Timeline/Solution",
        &tok,
        r#"{"content":"<p>ok</p>"}"#,
    );
    assert_eq!(status, 200);
    let view = sim.ticket(1).unwrap();
    assert_eq!(
        (view.status, view.followups.len(), view.solutions.len()),
        (5, 1, 1)
    );
    let (status, v, _) = call(
        &sim,
        "GET",
        "/api.php/v2/Assistance/Ticket/1/Timeline",
        &tok,
        "",
    );
    assert_eq!(
        (status, v[0]["type"].as_str(), v[1]["type"].as_str()),
        (200, Some("Followup"), Some("Solution"))
    );
    let (status, v, _) = call(
        &sim,
        "PATCH",
        "/api.php/v2/Assistance/Ticket/1",
        &tok,
        r#"{"status":{"id":6}}"#,
    );
    assert_eq!(
        (status, v["status"]["name"].as_str()),
        (200, Some("Closed"))
    );

    assert!(
        sim.trail().contains("Ticket #1 [Closed]"),
        "{}",
        sim.trail()
    );

    // Users and assets.
    let (status, v, _) = call(
        &sim,
        "GET",
        "/api.php/v2/Administration/User?filter=username==alice.requester",
        &tok,
        "",
    );
    assert_eq!((status, v[0]["id"].as_u64()), (200, Some(8)));
    let (status, _, _) = call(
        &sim,
        "GET",
        "/api.php/v2/Administration/User/username/nobody",
        &tok,
        "",
    );
    assert_eq!(status, 404);
    sim.add_asset("NetworkEquipment", "sw-01");
    let (status, v, _) = call(
        &sim,
        "GET",
        "/api.php/v2/Assets/NetworkEquipment?filter=name==SW-01",
        &tok,
        "",
    );
    assert_eq!((status, v.as_array().map(Vec::len)), (200, Some(1)));

    // A route the simulator does not play is named in the 404.
    let (status, v, _) = call(&sim, "GET", "/api.php/v2/Assistance/Change", &tok, "");
    assert_eq!(status, 404);
    assert!(
        v["detail"].as_str().unwrap().contains("/Assistance/Change"),
        "{v}"
    );
}

#[test]
fn glpi11_rights_are_enforced() {
    let sim = Sim::start_with(SimOptions::glpi11());
    let tok = token(&sim);
    // Without ticket rights: 403 on reads and writes.
    sim.set_profile_right("ticket", json!(0));
    let (status, v, _) = call(&sim, "GET", "/api.php/v2/Assistance/Ticket", &tok, "");
    assert_eq!(
        (status, v["status"].as_str()),
        (403, Some("ERROR_RIGHT_MISSING"))
    );
    let (status, _, _) = call(
        &sim,
        "POST",
        "/api.php/v2/Assistance/Ticket",
        &tok,
        r#"{"name":"x","content":"y"}"#,
    );
    assert_eq!(status, 403);
    assert!(sim.tickets().is_empty());
    // The second profile (no CHANGEPRIORITY) by header: the matrix wins (09a).
    sim.set_profile_right("ticket", json!(494_599));
    let mut headers = vec![("GLPI-Profile".to_owned(), "10".to_owned())];
    headers.extend(bearer(&tok));
    let a = send(
        &sim.base_url(),
        "POST",
        "/api.php/v2/Assistance/Ticket",
        &headers,
        r#"{"name":"x","content":"y","urgency":3,"impact":3,"priority":5}"#,
    );
    assert_eq!(a.status, 200);
    assert_eq!(sim.ticket(1).unwrap().priority, 3);
    // A Self-Service user reads only their tickets and no assets.
    sim.set_user_password("alice.requester", "pw");
    let (_, v) = password_grant(
        &sim,
        (SIM_OAUTH_CLIENT_ID, SIM_OAUTH_CLIENT_SECRET),
        ("alice.requester", "pw"),
        "api",
    );
    let alice = v["access_token"].as_str().unwrap();
    let (status, _, _) = call(&sim, "GET", "/api.php/v2/Assistance/Ticket/1", alice, "");
    assert_eq!(status, 404, "not hers");
    let (status, _, _) = call(&sim, "GET", "/api.php/v2/Assets/Computer", alice, "");
    assert_eq!(status, 403);
    // Deleting needs DELETE; the admin has it.
    let (status, _, _) = call(&sim, "DELETE", "/api.php/v2/Assistance/Ticket/1", &tok, "");
    assert_eq!(status, 403);
    let (_, v) = password_grant(
        &sim,
        (SIM_OAUTH_CLIENT_ID, SIM_OAUTH_CLIENT_SECRET),
        ("glpi", ADMIN_PASSWORD),
        "api",
    );
    let admin = v["access_token"].as_str().unwrap();
    assert_eq!(
        call(
            &sim,
            "DELETE",
            "/api.php/v2/Assistance/Ticket/1?force=true",
            admin,
            ""
        )
        .0,
        204
    );
    assert!(sim.ticket(1).is_none());
}
