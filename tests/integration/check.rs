//! `check` against the simulator set up to produce each failure it must name:
//! the checklist line, the actionable sentence and the exit status (0 when
//! notify will work, 3 configuration, 4 GLPI refuses, 5 unreachable).

use serde_json::json;

use crate::support::glpi_sim::{
    Fault, FaultKind, SIM_OAUTH_CLIENT_ID, SIM_OAUTH_CLIENT_SECRET, SIM_USER_PASSWORD, Sim,
    SimOptions,
};
use crate::support::tls::{SelfSigned, TlsFront};
use crate::support::{APP_TOKEN, Env, Run, Transport, USER_TOKEN, write_private};

/// Replaces the line `key=…` of the configuration (or appends it).
fn set_key(env: &Env, key: &str, value: &str) {
    let text = std::fs::read_to_string(&env.config).unwrap();
    let mut found = false;
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{key}=")) || l.starts_with(&format!("{key} =")) {
                found = true;
                format!("{key}={value}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    if !found {
        lines.push(format!("{key}={value}"));
    }
    write_private(&env.config, &(lines.join("\n") + "\n"));
}

fn check(env: &Env) -> Run {
    env.esia(&["check"])
}

/// The checklist line of `step`, asserting it carries `mark`.
#[track_caller]
fn line<'a>(run: &'a Run, mark: &str, step: &str) -> &'a str {
    let prefix = format!("{mark} {step}: ");
    run.stdout
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in\n{}\n{}", run.stdout, run.stderr))
}

#[track_caller]
fn no_line(run: &Run, mark: &str) {
    assert!(
        !run.stdout.lines().any(|l| l.starts_with(mark)),
        "unexpected {mark} line in\n{}",
        run.stdout
    );
}

/// Run as root (CI), check adds one warning on the state directory: root's
/// runs would create it as root's, and the engine's user's would then be
/// refused it (see `the_state_directory_as_the_user_running_check`).
fn as_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn counted(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The summary line of a check with no problem and `warnings` warnings
/// (besides the one of a run as root).
fn will_work(warnings: usize) -> String {
    match warnings + usize::from(as_root()) {
        0 => "→ notify will work".to_owned(),
        w => format!("→ notify will work ({})", counted(w, "warning")),
    }
}

/// The summary line of a check with `problems` problems and no warning
/// (besides the one of a run as root).
fn will_not_work(problems: usize) -> String {
    let problems = counted(problems, "problem");
    if as_root() {
        format!("→ notify will not work: {problems}, 1 warning")
    } else {
        format!("→ notify will not work: {problems}")
    }
}

/// No `!` line, but for the state directory's of a run as root.
#[track_caller]
fn no_warning(run: &Run) {
    let warnings: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with('!')).collect();
    if as_root() {
        assert_eq!(warnings.len(), 1, "{}", run.stdout);
        assert!(
            warnings[0].starts_with("! state directory: ") && warnings[0].contains("as root"),
            "{}",
            run.stdout
        );
    } else {
        assert!(warnings.is_empty(), "{}", run.stdout);
    }
}

/// Every secret the configurations hold (over v2, the OAuth client's and
/// the user's too).
fn secrets() -> [&'static str; 4] {
    [
        APP_TOKEN,
        USER_TOKEN,
        SIM_OAUTH_CLIENT_SECRET,
        SIM_USER_PASSWORD,
    ]
}

#[track_caller]
fn no_secret_in(run: &Run, extra: &[&str]) {
    for s in secrets().iter().chain(extra) {
        assert!(
            !run.stdout.contains(s) && !run.stderr.contains(s),
            "{s} printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}

fn a_good_setup_passes_every_step_and_writes_nothing(tr: Transport) {
    let env = Env::over(tr, "");
    let run = check(&env);
    println!("{}", run.stdout);
    run.ok();
    let steps: &[&str] = match tr {
        Transport::Legacy => &[
            "configuration",
            "permissions",
            "DNS",
            "TCP",
            "REST API",
            "app_token",
            "user_token",
            "GLPI",
            "rights",
            "assets",
            "entity",
            "requester",
        ],
        Transport::V2 => &[
            "configuration",
            "permissions",
            "DNS",
            "TCP",
            "OAuth client",
            "high-level API",
            "GLPI",
            "rights",
            "assets",
            "entity",
            "requester",
            "legacy REST API",
        ],
    };
    for step in steps {
        line(&run, "✓", step);
    }
    no_line(&run, "✗");
    no_warning(&run);
    // The state directory, which the first run creates: said in order.
    let state = env.state.display().to_string();
    let l = line(&run, if as_root() { "!" } else { "✓" }, "state directory");
    assert!(l.contains(&format!("{state} does not exist yet")), "{l}");
    let at = |step: &str| run.stdout.find(&format!(" {step}: ")).unwrap();
    assert!(at("permissions") < at("state directory") && at("state directory") < at("DNS"));
    match tr {
        Transport::Legacy => {
            assert!(line(&run, "✓", "GLPI").contains("10.0.12"));
            assert!(line(&run, "✓", "user_token").contains("\"esia\" (user 7)"));
        }
        Transport::V2 => {
            assert!(line(&run, "✓", "GLPI").contains("version 11"));
            assert!(
                line(&run, "✓", "OAuth client").contains("password grant accepted for \"esia\"")
            );
            assert!(line(&run, "✓", "high-level API").contains("session as \"esia\" (user 7)"));
            assert!(line(&run, "✓", "legacy REST API").contains("linked to their asset"));
        }
    }
    assert!(run.stdout.trim_end().ends_with(&will_work(0)));
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    no_secret_in(&run, &[]);
    // Read-only (over v2, but for the one password grant), and the session
    // is closed.
    let writes: Vec<String> = env
        .sim
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    match tr {
        Transport::Legacy => assert!(writes.is_empty(), "{writes:?}"),
        Transport::V2 => assert_eq!(writes, ["POST /api.php/token"]),
    }
    assert_eq!(env.sim.open_sessions(), 0);
    assert!(env.sim.tickets().is_empty());
    // The state directory is not touched: no token kept over v2.
    assert!(env.state_bytes().is_empty());
    assert!(!env.state.join("cache/oauth-token.json").exists());
}

fn json_output_is_one_object_with_every_step(tr: Transport) {
    let env = Env::over(tr, "");
    let run = env.esia(&["--json", "check"]);
    run.ok();
    let j = run.json();
    assert_eq!(j["ok"], true);
    assert_eq!(j["problems"], 0);
    if tr == Transport::Legacy {
        // The high-level API does not tell GLPI's exact version.
        assert_eq!(j["glpi_version"], "10.0.12");
    }
    let checks = j["checks"].as_array().unwrap();
    let not_ok = checks.iter().filter(|c| c["status"] != "ok").count();
    assert_eq!(not_ok, usize::from(as_root()), "{j:#}");
    assert_eq!(j["warnings"], usize::from(as_root()), "{j:#}");
    assert!(checks.iter().any(|c| c["step"] == "rights"));
    assert_eq!(
        checks.iter().any(|c| c["step"] == "OAuth client"),
        tr == Transport::V2,
        "{j:#}"
    );

    // One problem: the address filter of the legacy API, the high-level
    // API switch over v2.
    let failing = match tr {
        Transport::Legacy => {
            env.sim.set_ip_allowed(false);
            "API client"
        }
        Transport::V2 => {
            env.sim.set_hlapi_enabled(false);
            "high-level API"
        }
    };
    let run = env.esia(&["--json", "check"]);
    run.code(4);
    let j = run.json();
    assert_eq!(j["ok"], false);
    assert_eq!(j["problems"], 1);
    let bad: Vec<_> = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert_eq!(bad[0]["step"], failing);
}

#[test]
fn wrong_app_token() {
    let env = Env::new();
    set_key(&env, "app_token", "\"not-the-right-one\"");
    let run = check(&env);
    run.code(4);
    let l = line(&run, "✗", "app_token");
    assert!(l.contains("ERROR_WRONG_APP_TOKEN_PARAMETER"), "{l}");
    assert!(l.contains("Setup > General > API"), "{l}");
    line(&run, "✓", "REST API");
    assert!(run.stdout.trim_end().ends_with(&will_not_work(1)));
    // The first stderr line stands alone for engines that keep only it.
    let first = run.stderr.lines().next().unwrap();
    assert!(first.starts_with("esia-glpi: error: check found 1 problem(s); the first: app_token"));
}

#[test]
fn missing_app_token() {
    let env = Env::new();
    set_key(&env, "app_token", "\"\"");
    let run = check(&env);
    run.code(4);
    let l = line(&run, "✗", "app_token");
    assert!(l.contains("ERROR_APP_TOKEN_PARAMETERS_MISSING"), "{l}");
    assert!(l.contains("into app_token"), "{l}");
}

#[test]
fn app_token_left_empty_is_fine_when_the_api_client_has_none() {
    let env = Env::with_options(
        SimOptions {
            app_token: None,
            ..SimOptions::default()
        },
        "",
    );
    set_key(&env, "app_token", "\"\"");
    let run = check(&env);
    run.ok();
    assert!(line(&run, "✓", "app_token").contains("needs none"));
}

#[test]
fn address_not_allowed() {
    let env = Env::new();
    env.sim.set_ip_allowed(false);
    let run = check(&env);
    run.code(4);
    let l = line(&run, "✗", "API client");
    assert!(l.contains("ERROR_NOT_ALLOWED_IP"), "{l}");
    assert!(l.contains("IPv4 range"), "{l}");
    assert!(l.contains("127.0.0.1 as seen from here"), "{l}");
    // Found by the token-less probe: no token was sent to find it.
    assert!(
        env.sim
            .requests()
            .iter()
            .all(|r| r.header("app-token").is_none())
    );
}

#[test]
fn api_disabled() {
    let env = Env::new();
    env.sim.set_api_enabled(false);
    let run = check(&env);
    run.code(4);
    assert!(line(&run, "✗", "REST API").contains("Enable Rest API"));
    // GLPI 10 has no high-level API to point to.
    assert!(!run.stdout.contains("high-level API"), "{}", run.stdout);
}

#[test]
fn wrong_user_token() {
    let env = Env::with_options(
        SimOptions {
            user_token: "another-token".into(),
            ..SimOptions::default()
        },
        "",
    );
    let run = check(&env);
    run.code(4);
    line(&run, "✓", "app_token");
    let l = line(&run, "✗", "user_token");
    assert!(l.contains("ERROR_GLPI_LOGIN_USER_TOKEN"), "{l}");
    assert!(l.contains("Remote access keys"), "{l}");
    assert!(
        l.contains("after every change of that user's profile"),
        "{l}"
    );
}

#[test]
fn authorization_header_stripped_falls_back_to_the_query_with_a_warning() {
    let env = Env::new();
    env.sim.set_strip_authorization(true);
    let run = check(&env);
    run.ok();
    line(&run, "✓", "user_token");
    let l = line(&run, "!", "Authorization header");
    assert!(l.contains("access log"), "{l}");
    assert!(l.contains("SetEnvIf Authorization"), "{l}");
    let inits: Vec<_> = env
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("initSession"))
        .collect();
    assert_eq!(inits.len(), 2);
    assert_eq!(inits[0].status, 400);
    assert!(!inits[0].query.contains("user_token"));
    assert_eq!(inits[1].status, 200);
    assert!(inits[1].query.contains("user_token="));

    // notify takes the same path, and says so at every run.
    env.sim.clear_requests();
    let run = env.notify("srv-web-01", "HTTP", "CRITICAL", &[]);
    run.ok();
    assert_eq!(run.json()["action"], "created");
    assert!(run.stderr.contains("strips it"), "{}", run.stderr);
}

#[test]
fn stripped_header_and_a_wrong_token_say_both() {
    let env = Env::with_options(
        SimOptions {
            user_token: "another-token".into(),
            ..SimOptions::default()
        },
        "",
    );
    env.sim.set_strip_authorization(true);
    let run = check(&env);
    run.code(4);
    line(&run, "!", "Authorization header");
    line(&run, "✗", "user_token");
}

fn profile_without_the_needed_rights(tr: Transport) {
    let env = Env::over(tr, "");
    // Self-Service: READMY + CREATE only, follow-ups on own tickets.
    env.sim.set_profile_right("ticket", json!(5));
    env.sim.set_profile_right("user", json!(0));
    let run = check(&env);
    run.code(4);
    let fails: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("✗ rights: "))
        .collect();
    assert_eq!(fails.len(), 2, "{}", run.stdout);
    assert!(fails[0].contains("cannot update tickets"), "{}", fails[0]);
    assert!(fails[0].contains("Administration > Profiles > API Integration"));
    assert!(fails[1].contains("cannot read users"), "{}", fails[1]);
    // Regenerating the user_token is the legacy login's fix only.
    assert_eq!(
        fails[0].contains("regenerate the user_token"),
        tr == Transport::Legacy,
        "{}",
        fails[0]
    );
    assert!(line(&run, "!", "priority").contains("Change priority"));
}

#[test]
fn a_life_cycle_that_forbids_solving_and_unreadable_assets() {
    let env = Env::new();
    env.sim
        .set_profile_right("ticket_status", json!({"2": {"5": 0}}));
    env.sim.set_profile_right("printer", json!(0));
    let run = check(&env);
    run.code(4);
    assert!(line(&run, "✗", "rights").contains("solve tickets"));
    assert!(line(&run, "!", "assets").contains("Printer"));
}

/// A profile without *CHANGEPRIORITY*: `check` warns but says `notify`
/// will work, and it does — the ticket is created, followed up, and its
/// priority follows through urgency and impact; with `update_priority =
/// false` a state change is a follow-up and no priority `PUT`.
#[test]
fn without_change_priority_notify_still_works() {
    let env = Env::new();
    env.sim.set_change_priority_right(false);
    let run = check(&env);
    run.ok();
    line(&run, "!", "priority");
    assert!(run.stdout.trim_end().ends_with(&will_work(1)));

    let notify = |state: &str, priority: &str| {
        let before = env.sim.requests().len();
        let run = env.notify("web01", "HTTP", state, &["-L", priority]);
        let sent: Vec<String> = env.sim.requests()[before..]
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        (run.ok().json(), sent)
    };
    let (created, _) = notify("CRITICAL", "4");
    assert_eq!(created["action"], "created");
    let id = created["ticket_id"].as_u64().unwrap();
    let t = env.sim.ticket(id).unwrap();
    assert_eq!((t.priority, t.urgency, t.impact), (4, 4, 4));

    let (followed, requests) = notify("WARNING", "2");
    assert_eq!(followed["action"], "followed_up");
    assert!(
        requests.contains(&format!("PUT /apirest.php/Ticket/{id}")),
        "{requests:?}"
    );
    let t = env.sim.ticket(id).unwrap();
    assert_eq!((t.priority, t.urgency, t.impact), (2, 2, 2));
    assert_eq!(t.followups.len(), 1);

    set_key(&env, "update_priority", "false");
    let (followed, requests) = notify("CRITICAL", "5");
    assert_eq!(followed["action"], "followed_up");
    assert_eq!(
        requests,
        [
            "GET /apirest.php/initSession".to_owned(),
            format!("GET /apirest.php/Ticket/{id}"),
            "POST /apirest.php/ITILFollowup".to_owned(),
            "GET /apirest.php/killSession".to_owned(),
        ]
    );
    let t = env.sim.ticket(id).unwrap();
    assert_eq!((t.priority, t.urgency, t.impact), (2, 2, 2));
    assert_eq!(t.followups.len(), 2);
    assert!(
        t.followups[1].contains("WARNING → CRITICAL"),
        "{:?}",
        t.followups
    );
}

/// A requester notify cannot use (inactive, duplicated, unknown): the
/// ticket is created without requester, so check warns (exit 0) and says
/// where to fix it; notify then does create the ticket, without requester.
fn inactive_requester(tr: Transport) {
    let env = Env::over(tr, "");
    let id = env.sim.add_user("bob", false);
    set_key(&env, "user_name", "\"bob\"");
    let run = check(&env);
    run.ok();
    let l = line(&run, "!", "requester");
    assert!(l.contains(&format!("(user {id}) is inactive")), "{l}");
    assert!(l.contains("created without requester"), "{l}");
    assert!(l.contains("Administration > Users > bob"), "{l}");
    without_requester(&env);
}

fn duplicated_requester(tr: Transport) {
    let env = Env::over(tr, "");
    env.sim.add_user("twin", true);
    env.sim.add_user("twin", true);
    set_key(&env, "user_name", "\"twin\"");
    let run = check(&env);
    run.ok();
    let l = line(&run, "!", "requester");
    assert!(l.contains("2 GLPI users have the login \"twin\""), "{l}");
    assert!(l.contains("created without requester"), "{l}");
    without_requester(&env);
}

fn unknown_requester_and_no_requester(tr: Transport) {
    let env = Env::over(tr, "");
    set_key(&env, "user_name", "\"nobody\"");
    let run = check(&env);
    run.ok();
    let l = line(&run, "!", "requester");
    assert!(l.contains("no GLPI user has the login \"nobody\""), "{l}");
    assert!(l.contains("tickets are created without requester"), "{l}");
    assert!(l.contains("Administration > Users > Add"), "{l}");
    assert!(l.contains("cache_ttl (3600 s)"), "{l}");
    assert!(
        run.stdout.trim_end().ends_with(&will_work(1)),
        "{}",
        run.stdout
    );
    without_requester(&env);
    set_key(&env, "user_name", "\"\"");
    let run = check(&env);
    run.ok();
    assert!(line(&run, "✓", "requester").contains("none configured"));
}

/// What check promised: notify creates the ticket (exit 0), with no
/// requester.
#[track_caller]
fn without_requester(env: &Env) {
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    let j = run.ok().json();
    assert_eq!(j["action"], "created");
    let t = env.sim.ticket(j["ticket_id"].as_u64().unwrap()).unwrap();
    assert!(t.requesters.is_empty(), "{t:?}");
    assert!(run.stderr.contains("without requester"), "{}", run.stderr);
}

/// Over v2 with the legacy login configured, the entity and the category
/// are verified through it, as over the legacy API (pure v2: see
/// `pure_v2_setup_cannot_verify_the_category_nor_link_assets`).
fn entity_and_category_must_exist(tr: Transport) {
    let env = Env::over(tr, "");
    env.sim.set_profile_right("itilcategory", json!(1));
    let cat = env.sim.add_category("Monitoring");
    set_key(&env, "entity", "0");
    set_key(&env, "category", &cat.to_string());
    let run = check(&env);
    run.ok();
    assert!(line(&run, "✓", "entity").contains("entity 0 \"Root entity\""));
    assert!(line(&run, "✓", "category").contains("\"Monitoring\""));

    set_key(&env, "entity", "42");
    set_key(&env, "category", "999");
    let run = check(&env);
    run.code(4);
    assert!(line(&run, "✗", "entity").contains("fix `entity`"));
    assert!(line(&run, "✗", "category").contains("category 999 does not exist"));

    // A profile that may not read categories: not verified, not blocking.
    env.sim.set_profile_right("itilcategory", json!(0));
    set_key(&env, "entity", "0");
    let run = check(&env);
    run.ok();
    assert!(line(&run, "!", "category").contains("not verified"));
}

#[test]
fn configuration_problems_exit_3() {
    let env = Env::with_config("colour = \"blue\"");
    let run = check(&env);
    run.code(3);
    let l = line(&run, "✗", "configuration");
    assert!(l.contains("unknown key `colour`"), "{l}");
    assert!(
        l.contains("/usr/share/doc/esia-glpi/examples/glpi.conf lists the accepted keys"),
        "{l}"
    );
    assert!(env.sim.requests().is_empty());

    let env = Env::with_config("ca_file = \"/nonexistent/ca.pem\"");
    check(&env).code(3);
}

#[test]
fn world_readable_configuration_is_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let run = check(&env);
    assert!(line(&run, "✓", "permissions").contains("0600"));
    std::fs::set_permissions(&env.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = check(&env);
    run.ok();
    assert!(line(&run, "!", "permissions").contains("chmod 0640"));
}

fn unreachable_glpi_exits_5(tr: Transport) {
    // Nothing listens on the port of a stopped simulator.
    let port = {
        let sim = Sim::start();
        sim.base_url().rsplit(':').next().unwrap().to_owned()
    };
    let env = Env::over(tr, "");
    set_key(&env, "host", &format!("\"http://127.0.0.1:{port}\""));
    let run = check(&env);
    run.code(5);
    assert!(line(&run, "✗", "TCP").contains("firewall"));

    set_key(&env, "host", "\"http://glpi.invalid\"");
    let run = check(&env);
    run.code(5);
    assert!(line(&run, "✗", "DNS").contains("cannot resolve glpi.invalid"));
    no_secret_in(&run, &[]);
}

#[test]
fn failing_or_foreign_server() {
    let env = Env::new();
    env.sim
        .inject(Fault::new("/apirest.php", FaultKind::Status(503)));
    let run = check(&env);
    run.code(5);
    assert!(line(&run, "✗", "REST API").contains("503"));

    let env = Env::new();
    set_key(
        &env,
        "host",
        &format!("\"{}/not-glpi\"", env.sim.base_url()),
    );
    let run = check(&env);
    run.code(3);
    assert!(line(&run, "✗", "REST API").contains("set `host` to the GLPI root URL"));
}

#[test]
fn a_redirect_is_named_and_never_followed() {
    // A web server sending every http:// request to https://.
    let env = Env::new();
    env.sim.inject(Fault::new(
        "/apirest.php",
        FaultKind::Redirect("https://glpi.example.org/glpi"),
    ));
    let run = check(&env);
    run.code(3);
    assert!(
        line(&run, "✗", "REST API")
            .contains("a redirect to https://glpi.example.org/glpi/apirest.php/: set `host`"),
        "{}",
        run.stdout
    );

    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    run.code(5);
    assert_eq!(run.json()["action"], "spooled");
    assert!(
        run.stderr
            .contains("redirect to https://glpi.example.org/glpi/apirest.php/initSession"),
        "{}",
        run.stderr
    );
    // Nothing followed the redirect (the simulator saw one request per run).
    assert!(env.sim.requests().iter().all(|r| r.status == 301));
}

/// An environment whose `host` is `https://<name>:<port>` in front of its simulator.
fn tls_env(cert: &SelfSigned, name: &str) -> (Env, TlsFront) {
    let env = Env::new();
    let front = TlsFront::start(cert, &env.sim.base_url());
    set_key(
        &env,
        "host",
        &format!("\"https://{name}:{}\"", front.port()),
    );
    (env, front)
}

fn use_ca_file(env: &Env, cert: &SelfSigned) {
    let ca = env.dir.path().join("glpi-ca.pem");
    std::fs::write(&ca, &cert.pem).unwrap();
    set_key(env, "ca_file", &format!("{:?}", ca.display().to_string()));
}

#[test]
fn self_signed_certificate_without_and_with_ca_file() {
    let cert = SelfSigned::new(&["localhost", "127.0.0.1"], false);
    let (env, _front) = tls_env(&cert, "127.0.0.1");
    let run = check(&env);
    run.code(5);
    let l = line(&run, "✗", "TLS");
    assert!(l.contains("unknown authority"), "{l}");
    assert!(l.contains("set ca_file"), "{l}");

    use_ca_file(&env, &cert);
    let run = check(&env);
    run.ok();
    assert!(line(&run, "✓", "TLS").contains("ca_file"));
    line(&run, "✓", "requester");

    // And notify works through it.
    let run = env.notify("srv-web-01", "HTTP", "CRITICAL", &[]);
    assert_eq!(run.ok().json()["action"], "created");
}

#[test]
fn expired_and_misnamed_certificates_are_named() {
    let expired = SelfSigned::new(&["127.0.0.1"], true);
    let (env, _front) = tls_env(&expired, "127.0.0.1");
    use_ca_file(&env, &expired);
    let run = check(&env);
    run.code(5);
    assert!(line(&run, "✗", "TLS").contains("expired"));

    let other = SelfSigned::new(&["glpi.example.org"], false);
    let (env, _front) = tls_env(&other, "127.0.0.1");
    use_ca_file(&env, &other);
    let run = check(&env);
    run.code(5);
    assert!(line(&run, "✗", "TLS").contains("does not name"));
}

#[test]
fn unverified_tls_is_a_warning_on_every_run() {
    let cert = SelfSigned::new(&["127.0.0.1"], false);
    let (env, _front) = tls_env(&cert, "127.0.0.1");
    set_key(&env, "tls_verify", "false");
    let run = check(&env);
    run.ok();
    assert!(line(&run, "!", "TLS").contains("NOT verified"));
    let run = env.notify("srv-web-01", "HTTP", "CRITICAL", &[]);
    run.ok();
    assert!(run.stderr.contains("tls_verify = false"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------
// GLPI 11: the high-level API (api = "v2"), and which API is on.

/// A v2 environment whose configuration uses another OAuth client.
fn with_client(env: &Env, client_id: &str, client_secret: &str) {
    set_key(env, "client_id", &format!("{client_id:?}"));
    set_key(env, "client_secret", &format!("{client_secret:?}"));
}

#[test]
fn v2_high_level_api_disabled() {
    let env = Env::over(Transport::V2, "");
    env.sim.set_hlapi_enabled(false);
    let run = check(&env);
    run.code(4);
    // The token endpoint still answers: the client and user are fine.
    line(&run, "✓", "OAuth client");
    let l = line(&run, "✗", "high-level API");
    assert!(l.contains("Setup > General > API"), "{l}");
    assert!(l.contains("high-level API"), "{l}");
    // And the state of the legacy REST API, which would work meanwhile.
    let l = line(&run, "✓", "legacy REST API");
    assert!(l.contains("enabled"), "{l}");
    assert!(l.contains("api = \"legacy\""), "{l}");
    assert!(
        run.stderr
            .starts_with("esia-glpi: error: check found 1 problem(s); the first: high-level API"),
        "{}",
        run.stderr
    );
    no_secret_in(&run, &[]);

    // Both off: the legacy line says so.
    env.sim.set_api_enabled(false);
    let run = check(&env);
    run.code(4);
    line(&run, "✗", "high-level API");
    let l = line(&run, "✓", "legacy REST API");
    assert!(l.contains("disabled"), "{l}");
    assert!(l.contains("Enable Rest API"), "{l}");
}

#[test]
fn v2_wrong_client_secret() {
    let env = Env::over(Transport::V2, "");
    let bad = "WRONG-client-secret-5150";
    set_key(&env, "client_secret", &format!("{bad:?}"));
    let run = check(&env);
    run.code(4);
    let l = line(&run, "✗", "OAuth client");
    assert!(l.contains("invalid_client"), "{l}");
    assert!(l.contains("Setup > OAuth clients"), "{l}");
    assert!(l.contains("client_secret"), "{l}");
    no_line(&run, "✓ high-level API");
    no_secret_in(&run, &[bad]);
    // Only the token endpoint was asked.
    assert!(
        env.sim
            .requests()
            .iter()
            .all(|r| r.path == "/api.php/token"),
        "{:?}",
        env.sim.requests()
    );

    // An inactive client is refused alike.
    let env = Env::over(Transport::V2, "");
    env.sim.set_oauth_client_active(SIM_OAUTH_CLIENT_ID, false);
    let run = check(&env);
    run.code(4);
    assert!(line(&run, "✗", "OAuth client").contains("check the client is active"));
}

#[test]
fn v2_wrong_password() {
    let env = Env::over(Transport::V2, "");
    let bad = "WRONG-password-5150";
    write_private(&env.password_file(), &format!("{bad}\n"));
    let run = check(&env);
    run.code(4);
    let l = line(&run, "✗", "user");
    assert!(l.contains("invalid_grant"), "{l}");
    assert!(l.contains("username"), "{l}");
    assert!(l.contains("password"), "{l}");
    no_line(&run, "✓ OAuth client");
    no_secret_in(&run, &[bad]);

    // The password changed in GLPI, not in the file: the same.
    let env = Env::over(Transport::V2, "");
    env.sim.set_user_password("esia", "changed-in-glpi-5150");
    let run = check(&env);
    run.code(4);
    assert!(line(&run, "✗", "user").contains("invalid_grant"));
    no_secret_in(&run, &["changed-in-glpi-5150"]);
}

#[test]
fn v2_client_without_the_password_grant() {
    let env = Env::over(Transport::V2, "");
    let c = env.sim.add_oauth_client(
        "machines only",
        &["client_credentials", "authorization_code"],
        &["api", "user"],
    );
    with_client(&env, &c.client_id, &c.client_secret);
    let run = check(&env);
    run.code(4);
    let l = line(&run, "✗", "OAuth client");
    assert!(l.contains("password grant"), "{l}");
    assert!(l.contains("tick Password under Grants"), "{l}");
    assert!(l.contains("Setup > OAuth clients"), "{l}");
    no_secret_in(&run, &[&c.client_secret]);
}

#[test]
fn v2_client_without_scope_api() {
    let env = Env::over(Transport::V2, "");
    let c = env
        .sim
        .add_oauth_client("no api", &["password"], &["user", "email"]);
    with_client(&env, &c.client_id, &c.client_secret);
    let run = check(&env);
    run.code(4);
    // The grant is accepted; the token cannot be used.
    line(&run, "✓", "OAuth client");
    let l = line(&run, "✗", "OAuth client");
    assert!(l.contains("scope api"), "{l}");
    assert!(l.contains("Scopes"), "{l}");
    assert!(l.contains("Setup > OAuth clients"), "{l}");
    no_line(&run, "✓ high-level API");
    no_secret_in(&run, &[&c.client_secret]);
}

#[test]
fn v2_user_without_rights() {
    let env = Env::over(Transport::V2, "");
    env.sim.set_profile_right("ticket", json!(0));
    env.sim.set_profile_right("followup", json!(0));
    let run = check(&env);
    run.code(4);
    line(&run, "✓", "high-level API");
    let fails: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("✗ rights: "))
        .collect();
    assert_eq!(fails.len(), 4, "{}", run.stdout);
    assert!(fails[0].contains("cannot create tickets"), "{}", fails[0]);
    assert!(
        fails[0].contains("Assistance > Tickets > Create"),
        "{}",
        fails[0]
    );
    assert!(fails[3].contains("cannot add follow-ups"), "{}", fails[3]);
    assert!(
        fails[3].contains("Assistance > Followups > Add to my tickets"),
        "{}",
        fails[3]
    );
    assert!(
        fails
            .iter()
            .all(|l| l.contains("Administration > Profiles > API Integration")),
        "{fails:?}"
    );
    assert!(run.stderr.contains("the first: rights: "), "{}", run.stderr);
}

/// Pure v2 (no `app_token` / `user_token`): notify works, but tickets are not
/// linked to assets and the category cannot be read; both are warnings.
#[test]
fn pure_v2_setup_cannot_verify_the_category_nor_link_assets() {
    let env = Env::over(Transport::V2, "");
    env.without_legacy_login();
    env.sim.set_profile_right("itilcategory", json!(1));
    let cat = env.sim.add_category("Monitoring");
    set_key(&env, "category", &cat.to_string());
    set_key(&env, "entity", "0");
    let run = check(&env);
    run.ok();
    let l = line(&run, "!", "assets");
    assert!(l.contains("not linked"), "{l}");
    assert!(l.contains("app_token / user_token"), "{l}");
    let l = line(&run, "!", "category");
    assert!(l.contains(&format!("category {cat} not verified")), "{l}");
    assert!(!l.contains("  "), "{l}");
    assert!(line(&run, "✓", "entity").contains("entity 0 \"Root entity\""));
    let l = line(&run, "✓", "legacy REST API");
    assert!(l.contains("api = \"legacy\" would work"), "{l}");
    assert!(
        run.stdout.trim_end().ends_with(&will_work(2)),
        "{}",
        run.stdout
    );
    // No legacy login: no legacy session, only the token-less probe of
    // its root.
    let legacy: Vec<String> = env
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/apirest.php"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(legacy, ["GET /apirest.php/"]);
    assert!(
        env.sim
            .requests()
            .iter()
            .all(|r| r.header("app-token").is_none()),
    );
    // Without asset types there is nothing to link: no warning.
    set_key(&env, "asset_types", "[]");
    let text = std::fs::read_to_string(&env.config).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("category="))
        .collect();
    write_private(&env.config, &(kept.join("\n") + "\n"));
    let run = check(&env);
    run.ok();
    no_warning(&run);
    assert!(line(&run, "✓", "assets").contains("no asset_types configured"));
}

/// A legacy configuration against GLPI 11 whose legacy REST API is off and
/// high-level API on: check says the latter is there and suggests it.
#[test]
fn legacy_config_on_glpi_11_points_to_the_high_level_api() {
    let env = Env::with_options(SimOptions::glpi11(), "");
    env.sim.set_api_enabled(false);
    let run = check(&env);
    run.code(4);
    assert!(line(&run, "✗", "REST API").contains("Enable Rest API"));
    let l = line(&run, "✓", "high-level API");
    assert!(l.contains("enabled"), "{l}");
    assert!(l.contains("api = \"v2\""), "{l}");
    assert!(l.contains("OAuth client"), "{l}");

    // Both on: the legacy configuration works, and the other API is named.
    env.sim.set_api_enabled(true);
    let run = check(&env);
    run.ok();
    assert!(line(&run, "✓", "GLPI").contains("11.0"));
    assert!(line(&run, "✓", "high-level API").contains("enabled too"));

    // High-level API off: said, not a problem for api = "legacy".
    env.sim.set_hlapi_enabled(false);
    let run = check(&env);
    run.ok();
    assert!(line(&run, "✓", "high-level API").contains("disabled"));
}

crate::over_both_transports!(
    a_good_setup_passes_every_step_and_writes_nothing,
    json_output_is_one_object_with_every_step,
    profile_without_the_needed_rights,
    inactive_requester,
    duplicated_requester,
    unknown_requester_and_no_requester,
    entity_and_category_must_exist,
    unreachable_glpi_exits_5,
);

/// A missing `password_file` is the password file's problem, named with
/// its fix — not "cannot read configuration file" with a `--config` hint.
#[test]
fn a_missing_password_file_is_named_with_its_fix() {
    let env = Env::over(Transport::V2, "");
    std::fs::remove_file(env.password_file()).unwrap();
    let shown = format!(
        "cannot use password_file {} (set in {}): it does not exist",
        env.password_file().display(),
        env.config.display()
    );
    let run = check(&env);
    run.code(3);
    let l = line(&run, "✗", "configuration");
    assert!(
        l.starts_with(&format!("✗ configuration: {shown}: create ")),
        "{l}"
    );
    assert!(
        l.contains("with the GLPI user's password on its first line"),
        "{l}"
    );
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    run.code(3);
    assert_eq!(
        run.stderr.lines().next(),
        Some(format!("esia-glpi: error: {shown}").as_str())
    );
    assert!(
        run.stderr.lines().nth(1).is_some_and(
            |h| h.starts_with(&format!("hint: create {}", env.password_file().display()))
        ),
        "{}",
        run.stderr
    );
    assert!(env.sim.requests().is_empty());
}

/// The shipped example values (host, both tokens) are recognised without
/// contacting anything: check names the keys, notify exits 3 with the same
/// message, and nothing reaches GLPI or the network.
#[test]
fn the_shipped_example_values_are_named_without_any_network_call() {
    let env = Env::new();
    set_key(
        &env,
        "app_token",
        "\"REPLACE_WITH_THE_API_CLIENT_APP_TOKEN\"",
    );
    set_key(&env, "user_token", "\"REPLACE_WITH_THE_API_USER_TOKEN\"");
    let error = format!(
        "{} still holds example values instead of your GLPI's: app_token, user_token",
        env.config.display()
    );
    let run = check(&env);
    run.code(3);
    let l = line(&run, "✗", "configuration");
    assert!(
        l.starts_with(&format!("✗ configuration: {error}: edit ")),
        "{l}"
    );
    assert!(l.contains("Setup > General > API"), "{l}");
    assert!(l.contains("Remote access keys"), "{l}");
    // No network step was taken.
    assert!(!run.stdout.contains("DNS"), "{}", run.stdout);
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    run.code(3);
    assert_eq!(
        run.stderr.lines().next(),
        Some(format!("esia-glpi: error: {error}").as_str())
    );
    // A configuration mistake like the others: the event is kept for the
    // fixed file.
    assert_eq!(run.json()["action"], "spooled");
    assert!(env.sim.requests().is_empty());

    // The example host too: its name is never even resolved.
    set_key(&env, "host", "\"https://monserveurglpi.com/glpi\"");
    let run = check(&env);
    run.code(3);
    assert!(
        line(&run, "✗", "configuration")
            .contains("example values instead of your GLPI's: host, app_token, user_token")
    );
    assert!(!run.stdout.contains("DNS"), "{}", run.stdout);
    let run = env.esia(&["flush"]);
    run.code(3);
    assert!(
        run.stderr.contains("host, app_token, user_token"),
        "{}",
        run.stderr
    );
}

/// `http://` to another machine is a warning (the tokens travel in clear),
/// from check and at every notify; to this machine (the simulator at
/// 127.0.0.1, see the good set-up) it is not.
#[test]
fn plain_http_to_another_machine_is_a_warning() {
    let env = Env::new();
    // Named like a loopback address, yet a name DNS sends anywhere.
    set_key(&env, "host", "\"http://127.0.0.1.invalid/glpi\"");
    let run = check(&env);
    let l = line(&run, "!", "configuration");
    assert!(
        l.contains("http:// to another machine than this one: app_token, user_token"),
        "{l}"
    );
    assert!(l.ends_with("use https://"), "{l}");
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    assert!(run.stderr.contains("travel in clear"), "{}", run.stderr);
}

/// `https://` on a port that speaks plain HTTP: named as such (not a
/// certificate matter, no `ca_file` advice), by check and by notify's hint.
#[test]
fn https_on_a_plain_http_port_is_named() {
    let env = Env::new();
    let plain = env.sim.base_url().replacen("http://", "https://", 1);
    set_key(&env, "host", &format!("{plain:?}"));
    let run = check(&env);
    run.code(5);
    let l = line(&run, "✗", "TLS");
    assert!(l.contains("this port speaks plain HTTP"), "{l}");
    assert!(l.contains("http://") && l.contains("443"), "{l}");
    assert!(!l.contains("ca_file"), "{l}");
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    run.code(5);
    // notify cannot probe the port: its hint says what such a cut means.
    let hint = run
        .stderr
        .lines()
        .find(|l| l.starts_with("hint: "))
        .unwrap();
    assert!(hint.contains("a port that speaks plain HTTP"), "{hint}");
    assert!(hint.contains("443"), "{hint}");
    assert!(!hint.contains("ca_file"), "{hint}");
}

/// Over `api = "v2"`, a 404 names the high-level API's path and the GLPI
/// setting that enables it — never the legacy /apirest.php/.
#[test]
fn v2_not_found_names_the_high_level_api() {
    let env = Env::over(Transport::V2, "");
    set_key(
        &env,
        "host",
        &format!("\"{}/not-glpi\"", env.sim.base_url()),
    );
    let run = check(&env);
    run.code(3);
    let l = line(&run, "✗", "high-level API");
    assert!(l.contains("/api.php/v2/"), "{l}");
    assert!(l.contains("Enable the high-level API"), "{l}");
    assert!(!l.contains("apirest.php"), "{l}");
    let run = env.notify("web01", "HTTP", "CRITICAL", &[]);
    run.code(3);
    assert!(run.stderr.contains("HTTP 404 Not Found"), "{}", run.stderr);
    let hint = run
        .stderr
        .lines()
        .find(|l| l.starts_with("hint: "))
        .unwrap();
    assert!(hint.contains("/api.php/v2/"), "{hint}");
    assert!(
        hint.contains("Setup > General > API > Enable the high-level API"),
        "{hint}"
    );
    assert!(!hint.contains("apirest.php"), "{hint}");
}
