//! The notification mail (`--mail`, `SEND_TICKET_GLPI_MAIL`) against a real
//! SMTP server on 127.0.0.1 (`support/smtp.rs`: mailin-embedded in the test
//! process, each message decoded into a JSON record with mail-parser).
//! GLPI up and GLPI down (simulator fault injection), mail failures and their
//! exit status, the sendmail transport, custom templates.

use std::net::TcpListener;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::glpi_sim::{Fault, FaultKind};
use crate::support::smtp::SmtpSink;
use crate::support::{BIN, Env, Run};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `SEND_TICKET_GLPI_MAIL` (a symlink to the binary in the test's directory),
/// as the engine runs it: cleared environment plus `envs`.
fn alert_program(env: &Env, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let link = env.dir.path().join("SEND_TICKET_GLPI_MAIL");
    if !link.exists() {
        std::os::unix::fs::symlink(BIN, &link).unwrap();
    }
    let mut c = Command::new(&link);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TZ", "UTC")
        .envs(envs.iter().copied())
        .arg("--config")
        .arg(&env.config)
        .arg("--json")
        .args(args)
        .stdin(Stdio::null());
    env.run(&mut c)
}

fn rcpt(m: &Value) -> Vec<&str> {
    m["rcpt_tos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn s<'a>(m: &'a Value, field: &str) -> &'a str {
    m[field].as_str().unwrap_or_default()
}

#[test]
fn mail_option_sends_the_ticket_and_its_url_glpi_up() {
    let smtp = SmtpSink::start();
    let env = Env::with_config(&smtp.config(""));
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
            "connection <refused>",
            "--mail",
            "ops@example.org",
            "--mail",
            "Jeanne <jeanne@example.org>, n2@example.org",
        ],
    );
    let j = run.ok().json();
    assert_eq!(j["action"], "created");
    let id = j["ticket_id"].as_u64().unwrap();
    let url = format!("{}/front/ticket.form.php?id={id}", env.sim.base_url());

    let m = smtp.one_more(0);
    assert_eq!(
        rcpt(&m),
        ["ops@example.org", "jeanne@example.org", "n2@example.org"]
    );
    assert_eq!(s(&m, "mail_from"), "esia@example.org");
    assert_eq!(s(&m, "from"), "Esia <esia@example.org>");
    assert!(s(&m, "to").contains("Jeanne <jeanne@example.org>"), "{m:#}");
    assert_eq!(
        s(&m, "subject"),
        format!("[GLPI #{id}] CRITICAL srv-web-01:HTTP")
    );
    assert_eq!(s(&m, "content_type"), "multipart/alternative");
    let plain = s(&m, "plain");
    assert!(
        plain.starts_with(&format!("Ticket GLPI {id} créé.\n{url}\n")),
        "{plain}"
    );
    assert!(plain.contains("Nœud : srv-web-01"), "{plain}");
    assert!(plain.contains("Priorité : haute"), "{plain}");
    assert!(plain.contains("Sortie :\nconnection <refused>"), "{plain}");
    let html = s(&m, "html");
    assert!(html.contains(&format!("<a href=\"{url}\">")), "{html}");
    assert!(html.contains("connection &lt;refused&gt;"), "{html}");
    assert!(
        !run.stderr.contains("error"),
        "a sent mail is no error: {}",
        run.stderr
    );
}

#[test]
fn symlink_name_mails_the_contact_through_the_lifecycle() {
    let smtp = SmtpSink::start();
    let env = Env::with_config(&format!("lang = \"en\"\n{}", smtp.config("")));
    // As Esia / Nagios run it: context in macros, recipient in NAGIOS_CONTACTEMAIL.
    let macros = |state: &str, output: &str| {
        vec![
            ("NAGIOS_HOSTNAME", "db01".to_owned()),
            ("NAGIOS_SERVICEDESC", "MySQL".to_owned()),
            ("NAGIOS_SERVICESTATE", state.to_owned()),
            ("NAGIOS_SERVICEOUTPUT", output.to_owned()),
            ("NAGIOS_CONTACTEMAIL", "dba@example.org".to_owned()),
        ]
    };
    let run_with = |state: &str, output: &str| {
        let m = macros(state, output);
        let pairs: Vec<(&str, &str)> = m.iter().map(|(k, v)| (*k, v.as_str())).collect();
        alert_program(&env, &[], &pairs)
    };

    let j = run_with("CRITICAL", "too many connections").ok().json();
    assert_eq!(j["action"], "created");
    let id = j["ticket_id"].as_u64().unwrap();
    let url = format!("{}/front/ticket.form.php?id={id}", env.sim.base_url());
    let m = smtp.one_more(0);
    assert_eq!(rcpt(&m), ["dba@example.org"]);
    assert_eq!(
        s(&m, "subject"),
        format!("[GLPI #{id}] CRITICAL db01:MySQL")
    );
    assert!(s(&m, "plain").starts_with(&format!("GLPI ticket {id} created.\n{url}")));
    assert!(s(&m, "plain").contains("Output:\ntoo many connections"));

    let j = run_with("WARNING", "slow queries").ok().json();
    assert_eq!(j["action"], "followed_up");
    let m = smtp.one_more(1);
    assert_eq!(s(&m, "subject"), format!("[GLPI #{id}] WARNING db01:MySQL"));
    assert!(
        s(&m, "plain").starts_with(&format!("Follow-up added to GLPI ticket {id}.\n{url}")),
        "{m:#}"
    );

    let j = run_with("OK", "fine").ok().json();
    assert_eq!(j["action"], "solved");
    let m = smtp.one_more(2);
    assert!(s(&m, "plain").starts_with(&format!("GLPI ticket {id} solved.\n{url}")));

    // An explicit --mail wins over the contact macro.
    let run = alert_program(
        &env,
        &[
            "--node",
            "db01",
            "--service",
            "MySQL",
            "--state",
            "OK",
            "--mail",
            "boss@example.org",
        ],
        &[("NAGIOS_CONTACTEMAIL", "dba@example.org")],
    );
    assert_eq!(run.ok().json()["action"], "ignored");
    let m = smtp.one_more(3);
    assert_eq!(rcpt(&m), ["boss@example.org"]);
    assert_eq!(s(&m, "subject"), "[GLPI] OK db01:MySQL");
    assert!(s(&m, "plain").starts_with("No GLPI ticket is open for this node and service."));
}

#[test]
fn glpi_down_the_mail_still_goes_and_says_the_ticket_is_pending() {
    let smtp = SmtpSink::start();
    let env = Env::with_config(&smtp.config(""));
    env.sim
        .inject(Fault::new("/apirest.php/", FaultKind::Status(503)));

    // --mail, GLPI down: exit 5, the event is kept, and the mail says so.
    let run = env.notify(
        "srv-web-01",
        "HTTP",
        "CRITICAL",
        &[
            "--output",
            "connection refused",
            "--mail",
            "ops@example.org",
        ],
    );
    let j = run.code(5).json();
    assert_eq!(j["action"], "spooled");
    let m = smtp.one_more(0);
    assert_eq!(rcpt(&m), ["ops@example.org"]);
    assert_eq!(
        s(&m, "subject"),
        "[GLPI en attente] CRITICAL srv-web-01:HTTP"
    );
    let plain = s(&m, "plain");
    assert!(
        plain.starts_with("Ticket GLPI en attente : GLPI n'a pas pu prendre l'événement ("),
        "{plain}"
    );
    assert!(plain.contains("esia-glpi flush"), "{plain}");
    assert!(plain.contains("Sortie :\nconnection refused"), "{plain}");
    assert!(!plain.contains("ticket.form.php"), "no ticket yet: {plain}");
    assert!(
        run.stderr.starts_with("esia-glpi: error: "),
        "the ticket's error comes first: {}",
        run.stderr
    );

    // The alert program's name, GLPI still down: same.
    let run = alert_program(
        &env,
        &[
            "--node",
            "srv-web-01",
            "--service",
            "HTTP",
            "--state",
            "WARNING",
            "--mail",
            "n2@example.org",
        ],
        &[],
    );
    assert_eq!(run.code(5).json()["action"], "spooled");
    let m = smtp.one_more(1);
    assert_eq!(rcpt(&m), ["n2@example.org"]);
    assert!(
        s(&m, "subject").starts_with("[GLPI en attente] WARNING"),
        "{m:#}"
    );

    // GLPI back: the kept events are delivered, and the mail names the ticket.
    env.sim.clear_faults();
    let run = env.notify(
        "srv-web-01",
        "HTTP",
        "CRITICAL",
        &["--mail", "ops@example.org"],
    );
    let j = run.ok().json();
    let id = j["ticket_id"].as_u64().unwrap();
    let m = smtp.one_more(2);
    assert!(
        s(&m, "subject").starts_with(&format!("[GLPI #{id}]")),
        "{m:#}"
    );
    assert!(s(&m, "plain").contains(&format!("ticket.form.php?id={id}")));
}

#[test]
fn mail_failure_alone_exits_7_after_the_ticket_is_done() {
    // Nothing listens on this port: the relay is down, GLPI is up.
    let port = free_port();
    let env = Env::with_config(&format!(
        "[mail]\nfrom = \"esia@example.org\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\nsmtp_security = \"none\"\n"
    ));
    let run = env.notify("web01", "HTTP", "CRITICAL", &["--mail", "ops@example.org"]);
    let j = run.code(7).json();
    assert_eq!(j["action"], "created", "the ticket action happened");
    let id = j["ticket_id"].as_u64().unwrap();
    assert!(env.sim.ticket(id).is_some());
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "esia-glpi: error: notification mail not sent through the SMTP relay 127.0.0.1:{port}"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);

    // The next event of the key is handled normally: the mail is not retried.
    let run = env.notify("web01", "HTTP", "OK", &[]);
    assert_eq!(run.ok().json()["action"], "solved");
}

#[test]
fn starttls_required_but_not_offered_is_a_mail_failure() {
    let smtp = SmtpSink::start();
    let env = Env::with_config(&format!(
        "[mail]\nfrom = \"esia@example.org\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\n",
        smtp.port
    ));
    let run = env.notify("web01", "HTTP", "CRITICAL", &["--mail", "ops@example.org"]);
    assert_eq!(run.code(7).json()["action"], "created");
    assert!(run.stderr.contains("smtp_security"), "{}", run.stderr);
    assert!(smtp.messages().is_empty(), "nothing sent in clear");
}

#[test]
fn without_mail_configuration_or_recipient_the_ticket_is_still_handled() {
    let env = Env::new();
    let run = env.notify("web01", "HTTP", "CRITICAL", &["--mail", "ops@example.org"]);
    assert_eq!(run.code(7).json()["action"], "created");
    assert!(
        run.stderr.contains("no [mail] table with `from`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: add a [mail] table"),
        "{}",
        run.stderr
    );

    let smtp = SmtpSink::start();
    env.write_config(&smtp.config(""));
    let run = alert_program(
        &env,
        &["--node", "web01", "--service", "HTTP", "--state", "WARNING"],
        &[],
    );
    assert_eq!(run.code(7).json()["action"], "followed_up");
    assert!(run.stderr.contains("no recipient"), "{}", run.stderr);

    let run = env.notify("web01", "HTTP", "OK", &["--mail", "not an address"]);
    assert_eq!(run.code(7).json()["action"], "solved");
    assert!(
        run.stderr
            .contains("invalid address \"not an address\" in --mail"),
        "{}",
        run.stderr
    );
    assert!(smtp.messages().is_empty());
}

#[test]
fn glpi_down_and_mail_down_the_ticket_status_wins() {
    let port = free_port();
    let env = Env::with_config(&format!(
        "[mail]\nfrom = \"esia@example.org\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\nsmtp_security = \"none\"\n"
    ));
    env.sim
        .inject(Fault::new("/apirest.php/", FaultKind::Status(503)));
    let run = env.notify("web01", "HTTP", "CRITICAL", &["--mail", "ops@example.org"]);
    assert_eq!(run.code(5).json()["action"], "spooled");
    assert!(
        run.stderr
            .contains("notification mail not sent through the SMTP relay"),
        "the mail failure is logged: {}",
        run.stderr
    );
}

#[test]
fn custom_templates_and_english() {
    let smtp = SmtpSink::start();
    let env = Env::with_config(&format!(
        "lang = \"en\"\n{}",
        smtp.config(
            "tpl_mail_subject = \"#%ticket.id %node.name is %service.state (%priority.label)\"\n\
             tpl_mail_body = \"Ticket %ticket.id: %ticket.url\\n%ticket.status\\nsite %site\"\n"
        )
    ));
    let run = env.notify(
        "web01",
        "",
        "DOWN",
        &["-L", "5", "--var", "site=Lyon", "--mail", "ops@example.org"],
    );
    let id = run.ok().json()["ticket_id"].as_u64().unwrap();
    let url = format!("{}/front/ticket.form.php?id={id}", env.sim.base_url());
    let m = smtp.one_more(0);
    assert_eq!(s(&m, "subject"), format!("#{id} web01 is DOWN (very high)"));
    assert_eq!(
        s(&m, "plain").trim_end(),
        format!("Ticket {id}: {url}\nGLPI ticket {id} created.\nsite Lyon")
    );
    assert!(
        s(&m, "html").contains(&format!("Ticket {id}: {url}<br>")),
        "{m:#}"
    );
}

#[test]
fn sendmail_transport_runs_the_program_with_the_envelope() {
    let env = Env::new();
    let script = env.dir.path().join("fake-sendmail");
    let out = env.dir.path().join("sendmail.out");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"ARGS: $*\" > '{0}'\ncat >> '{0}'\n",
            out.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    env.write_config(&format!(
        "[mail]\nfrom = \"esia@example.org\"\nsendmail = \"{}\"\n",
        script.display()
    ));
    let run = env.notify("web01", "HTTP", "CRITICAL", &["--mail", "ops@example.org"]);
    let id = run.ok().json()["ticket_id"].as_u64().unwrap();
    let got = std::fs::read_to_string(&out).unwrap();
    let args = got.lines().next().unwrap();
    assert!(args.contains("-f esia@example.org"), "{args}");
    assert!(args.ends_with("-- ops@example.org"), "{args}");
    assert!(
        got.contains(&format!("Subject: [GLPI #{id}] CRITICAL web01:HTTP")),
        "{got}"
    );
    assert!(got.contains("multipart/alternative"), "{got}");
}

/// The `check` line of `step` carrying `mark`.
#[track_caller]
fn check_line<'a>(run: &'a Run, mark: &str, step: &str) -> &'a str {
    let prefix = format!("{mark} {step}: ");
    run.stdout
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in\n{}", run.stdout))
}

/// With `[mail]`, check says who mails come from and that the relay
/// answers (connection, EHLO, NOOP) — sending nothing; without `[mail]`,
/// it says nothing of mail.
#[test]
fn check_tries_the_mail_relay_without_sending() {
    let smtp = SmtpSink::start();
    let env = Env::with_config(&smtp.config(""));
    let run = env.esia(&["check"]);
    run.ok();
    assert_eq!(
        check_line(&run, "✓", "mail sender"),
        "✓ mail sender: mails come from Esia <esia@example.org>"
    );
    assert_eq!(
        check_line(&run, "✓", "mail relay"),
        format!(
            "✓ mail relay: 127.0.0.1:{} answered EHLO (no TLS); no message was sent",
            smtp.port
        )
    );
    assert!(smtp.messages().is_empty(), "{:?}", smtp.messages());

    // Through sendmail: a program this user may run, not run.
    let env = Env::with_config("[mail]\nfrom = \"esia@example.org\"\nsendmail = \"/bin/true\"");
    let run = env.esia(&["check"]);
    run.ok();
    assert!(check_line(&run, "✓", "mail relay").contains("/bin/true, a program this user may run"));

    let env = Env::new();
    let run = env.esia(&["check"]);
    run.ok();
    assert!(!run.stdout.contains(" mail "), "{}", run.stdout);
}

/// A mail set-up that cannot send: a ✗ line naming what and how to fix,
/// "notify will work, but not its mail", and exit 7 — what notify exits
/// when only its mail fails.
#[test]
fn check_names_a_broken_mail_setup_and_exits_7() {
    let down = free_port();
    let starttls = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let not_a_program = dir.path().join("sendmail");
    std::fs::write(&not_a_program, "#!/bin/sh\n").unwrap();
    let cases = [
        (
            format!(
                "[mail]\nfrom = \"esia@example.org\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {down}\nsmtp_security = \"none\""
            ),
            "mail relay",
            format!("notification mail not sent through the SMTP relay 127.0.0.1:{down}: "),
            "check [mail] smtp_host, smtp_port",
        ),
        (
            // The relay offers no STARTTLS, which is required by default.
            format!(
                "[mail]\nfrom = \"esia@example.org\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}",
                starttls.port
            ),
            "mail relay",
            format!(
                "notification mail not sent through the SMTP relay 127.0.0.1:{}: ",
                starttls.port
            ),
            "\"starttls\" needs a relay that offers STARTTLS",
        ),
        (
            "[mail]\nsendmail = \"/bin/true\"".to_owned(),
            "mail sender",
            "[mail] has no `from`".to_owned(),
            "add from = ",
        ),
        (
            "[mail]\nfrom = \"esia@example.org\"\nsendmail = \"/nonexistent/sendmail\"".to_owned(),
            "mail relay",
            "notification mail cannot be sent through /nonexistent/sendmail: no such file"
                .to_owned(),
            "install the mail system's sendmail program",
        ),
        (
            format!(
                "[mail]\nfrom = \"esia@example.org\"\nsendmail = \"{}\"",
                not_a_program.display()
            ),
            "mail relay",
            format!(
                "notification mail cannot be sent through {}: this user may not execute it",
                not_a_program.display()
            ),
            "sendmail",
        ),
    ];
    for (table, step, error, fix) in cases {
        let env = Env::with_config(&table);
        let run = env.esia(&["check"]);
        run.code(7);
        let l = check_line(&run, "✗", step);
        assert!(l.starts_with(&format!("✗ {step}: {error}")), "{l}");
        assert!(l.contains(fix), "{l}");
        assert!(!l.contains("The ticket itself was handled"), "{l}");
        assert!(
            run.stdout
                .contains("→ notify will work, but not its mail: 1 problem"),
            "{}",
            run.stdout
        );
        assert!(
            run.stderr.starts_with(&format!(
                "esia-glpi: error: check found 1 problem(s); the first: {step}: "
            )),
            "{}",
            run.stderr
        );
    }
    assert!(starttls.messages().is_empty());
}
