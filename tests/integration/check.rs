//! `check` against the simulator set up to produce each failure it must name:
//! the checklist line, the actionable sentence and the exit status (0 when
//! notify will work, 3 configuration, 4 GLPI refuses, 5 unreachable).

use serde_json::json;

use crate::support::glpi_sim::{Fault, FaultKind, Sim, SimOptions};
use crate::support::tls::{SelfSigned, TlsFront};
use crate::support::{Env, Run, write_private};

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

#[test]
fn a_good_setup_passes_every_step_and_writes_nothing() {
    let env = Env::new();
    let run = check(&env);
    println!("{}", run.stdout);
    run.ok();
    for step in [
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
    ] {
        line(&run, "✓", step);
    }
    no_line(&run, "✗");
    no_line(&run, "!");
    assert!(line(&run, "✓", "GLPI").contains("10.0.12"));
    assert!(line(&run, "✓", "user_token").contains("\"esia\" (user 7)"));
    assert!(run.stdout.trim_end().ends_with("→ notify will work"));
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    // Read-only, and the session is closed.
    assert!(env.sim.requests().iter().all(|r| r.method == "GET"));
    assert_eq!(env.sim.open_sessions(), 0);
    assert!(env.sim.tickets().is_empty());
}

#[test]
fn json_output_is_one_object_with_every_step() {
    let env = Env::new();
    let run = env.esia(&["--json", "check"]);
    run.ok();
    let j = run.json();
    assert_eq!(j["ok"], true);
    assert_eq!(j["problems"], 0);
    assert_eq!(j["glpi_version"], "10.0.12");
    let checks = j["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["status"] == "ok"), "{j:#}");
    assert!(checks.iter().any(|c| c["step"] == "rights"));

    env.sim.set_ip_allowed(false);
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
    assert_eq!(bad[0]["step"], "API client");
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
    assert!(
        run.stdout
            .trim_end()
            .ends_with("→ notify will not work: 1 problem")
    );
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

#[test]
fn profile_without_the_needed_rights() {
    let env = Env::new();
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

#[test]
fn without_change_priority_notify_still_works() {
    let env = Env::new();
    env.sim.set_change_priority_right(false);
    let run = check(&env);
    run.ok();
    line(&run, "!", "priority");
    assert!(
        run.stdout
            .trim_end()
            .ends_with("→ notify will work (1 warning)")
    );
}

#[test]
fn inactive_requester() {
    let env = Env::new();
    let id = env.sim.add_user("bob", false);
    set_key(&env, "user_name", "\"bob\"");
    let run = check(&env);
    run.code(4);
    let l = line(&run, "✗", "requester");
    assert!(l.contains(&format!("(user {id}) is inactive")), "{l}");
}

#[test]
fn duplicated_requester() {
    let env = Env::new();
    env.sim.add_user("twin", true);
    env.sim.add_user("twin", true);
    set_key(&env, "user_name", "\"twin\"");
    let run = check(&env);
    run.code(4);
    assert!(line(&run, "✗", "requester").contains("2 GLPI users have the login \"twin\""));
}

#[test]
fn unknown_requester_and_no_requester() {
    let env = Env::new();
    set_key(&env, "user_name", "\"nobody\"");
    let run = check(&env);
    run.code(4);
    assert!(line(&run, "✗", "requester").contains("fix user_name"));
    set_key(&env, "user_name", "\"\"");
    let run = check(&env);
    run.ok();
    assert!(line(&run, "✓", "requester").contains("none configured"));
}

#[test]
fn entity_and_category_must_exist() {
    let env = Env::new();
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
    assert!(l.contains("conf/glpi.conf"), "{l}");
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

#[test]
fn unreachable_glpi_exits_5() {
    // Nothing listens on the port of a stopped simulator.
    let port = {
        let sim = Sim::start();
        sim.base_url().rsplit(':').next().unwrap().to_owned()
    };
    let env = Env::new();
    set_key(&env, "host", &format!("\"http://127.0.0.1:{port}\""));
    let run = check(&env);
    run.code(5);
    assert!(line(&run, "✗", "TCP").contains("firewall"));

    set_key(&env, "host", "\"http://glpi.invalid\"");
    let run = check(&env);
    run.code(5);
    assert!(line(&run, "✗", "DNS").contains("cannot resolve glpi.invalid"));
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
