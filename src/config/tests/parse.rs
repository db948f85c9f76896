//! The keys and their defaults: the Esia-documented file and the shipped
//! `conf/glpi.conf` parse as they are, every optional key takes its default,
//! every key can be set, and the derived urgency and impact.

use std::path::Path;
use std::time::Duration;

use secrecy::ExposeSecret;

use super::{APP, ESIA_DOC, MINIMAL, SHIPPED, USER, ok, with};
use crate::config::types::DEFAULT_TPL_TITLE;
use crate::config::{SmtpSecurity, StateBackend, TicketType};
use crate::core::Lang;

#[test]
fn the_esia_documented_file_parses_unchanged() {
    let c = ok(ESIA_DOC);
    assert_eq!(c.host, "https://monserveurglpi.com/glpi");
    assert_eq!(
        c.app_token.as_ref().map(ExposeSecret::expose_secret),
        Some(APP)
    );
    assert_eq!(
        c.user_token.as_ref().map(ExposeSecret::expose_secret),
        Some(USER)
    );
    assert_eq!(c.user_name.as_deref(), Some("esia"));
    assert_eq!(c.tpl_title, DEFAULT_TPL_TITLE);
    assert_eq!(c.api_url(), "https://monserveurglpi.com/glpi/apirest.php/");
    assert_eq!(c.v2_url(), "https://monserveurglpi.com/glpi/api.php/v2/");
    // A host already ending in apirest.php: the high-level API lies beside it.
    let c = ok(&with("").replace(
        "https://glpi.example.org/glpi",
        "http://u:p@127.0.0.1:8080/apirest.php",
    ));
    assert_eq!(c.v2_url(), "http://u:p@127.0.0.1:8080/api.php/v2/");
}

#[test]
fn every_default() {
    let c = ok(MINIMAL);
    assert_eq!(c.user_name, None);
    assert_eq!(c.tpl_title, "( %node.group.name ) %node.name:%service.name");
    assert_eq!(c.tpl_content, None);
    assert_eq!(c.entity, None);
    assert_eq!(c.category, None);
    assert_eq!(c.ticket_type, TicketType::Incident);
    assert_eq!(c.ticket_type.glpi_id(), 1);
    assert_eq!((c.urgency, c.impact), (None, None));
    assert_eq!(c.default_priority, 3);
    assert!(c.update_priority);
    assert_eq!(
        c.asset_types,
        [
            "Computer",
            "NetworkEquipment",
            "Printer",
            "Phone",
            "Peripheral"
        ]
    );
    assert_eq!(c.state_dir, Path::new("/var/lib/esia-glpi"));
    assert_eq!(c.connect_timeout, Duration::from_secs(5));
    assert_eq!(c.request_timeout, Duration::from_secs(15));
    assert_eq!(c.run_timeout, Duration::from_secs(30));
    assert_eq!(c.retries, 2);
    assert_eq!(c.lock_timeout, Duration::from_secs(10));
    assert_eq!(c.order_wait, Duration::from_secs(1));
    assert_eq!(c.cache_ttl, Duration::from_hours(1));
    assert!(c.tls_verify);
    assert_eq!(c.ca_file, None);
    assert_eq!(c.lang, Lang::Fr);
    assert!(c.mail.is_none());

    let m = ok(&with("[mail]")).mail.expect("empty [mail] table");
    assert_eq!(m.from, None);
    assert_eq!(m.smtp_host, "localhost");
    assert_eq!(m.smtp_port, 25);
    assert_eq!(m.smtp_security, SmtpSecurity::StartTls);
    assert_eq!(m.smtp_user, None);
    assert!(m.smtp_password.is_none());
    assert_eq!(m.sendmail, None);
    assert_eq!(m.tpl_mail_subject, None);
    assert_eq!(m.tpl_mail_body, None);
}

#[test]
fn every_key_set() {
    let c = ok(&with(
        r#"user_name = "esia"
tpl_title = "%node.name"
tpl_content = "<p>%service.output</p>"
entity = 0
category = 12
ticket_type = "Request"
urgency = 4
impact = 2
default_priority = 6
update_priority = false
asset_types = ["computer", "Monitor", "Computer"]
state_dir = "/srv/esia-glpi"
connect_timeout = 1
timeout = 2
run_timeout = 3
retries = 0
lock_timeout = 4
order_wait = 0
cache_ttl = 60
tls_verify = false
ca_file = "/etc/ssl/ca.pem"
lang = "en"
[mail]
from = "esia@example.org"
smtp_host = "smtp.example.org"
smtp_port = 465
smtp_security = "tls"
smtp_user = "esia"
smtp_password = "pw"
sendmail = "/usr/sbin/sendmail"
tpl_mail_subject = "s"
tpl_mail_body = "b""#,
    ));
    assert_eq!(c.tpl_content.as_deref(), Some("<p>%service.output</p>"));
    assert_eq!((c.entity, c.category), (Some(0), Some(12)));
    assert_eq!(c.ticket_type, TicketType::Request);
    assert_eq!(c.ticket_type.glpi_id(), 2);
    assert_eq!(
        (c.urgency, c.impact, c.default_priority),
        (Some(4), Some(2), 6)
    );
    assert!(!c.update_priority);
    assert_eq!(c.asset_types, ["Computer", "Monitor"]);
    assert_eq!(c.state_dir, Path::new("/srv/esia-glpi"));
    assert_eq!(
        [
            c.connect_timeout,
            c.request_timeout,
            c.run_timeout,
            c.lock_timeout,
            c.cache_ttl
        ],
        [1, 2, 3, 4, 60].map(Duration::from_secs)
    );
    assert_eq!(c.retries, 0);
    assert_eq!(c.order_wait, Duration::ZERO);
    assert!(!c.tls_verify);
    assert_eq!(c.ca_file.as_deref(), Some(Path::new("/etc/ssl/ca.pem")));
    assert_eq!(c.lang, Lang::En);
    let m = c.mail.expect("mail");
    assert_eq!(m.from.as_deref(), Some("esia@example.org"));
    assert_eq!(
        (m.smtp_host.as_str(), m.smtp_port),
        ("smtp.example.org", 465)
    );
    assert_eq!(m.smtp_security, SmtpSecurity::Tls);
    assert_eq!(m.smtp_user.as_deref(), Some("esia"));
    assert_eq!(
        m.smtp_password.as_ref().map(ExposeSecret::expose_secret),
        Some("pw")
    );
    assert_eq!(m.sendmail.as_deref(), Some(Path::new("/usr/sbin/sendmail")));
    assert_eq!(m.tpl_mail_subject.as_deref(), Some("s"));
    assert_eq!(m.tpl_mail_body.as_deref(), Some("b"));
}

#[test]
fn shipped_conf_parses_and_shows_the_defaults() {
    let c = ok(SHIPPED);
    assert_eq!(c.host, "https://monserveurglpi.com/glpi");
    assert_eq!(c.user_name.as_deref(), Some("esia"));
    assert_eq!(c.tpl_title, DEFAULT_TPL_TITLE);
    // Uncommenting every optional key must still give a valid file.
    let uncommented: String = SHIPPED
        .lines()
        .map(|line| {
            let rest = line.strip_prefix("# ").unwrap_or(line);
            let is_key = rest == "[mail]"
                || rest == "[state]"
                || rest.split_once(" = ").is_some_and(|(k, _)| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                });
            if is_key { rest } else { line }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(uncommented.contains("\n[mail]\n"), "{uncommented}");
    assert!(uncommented.contains("\n[state]\n"), "{uncommented}");
    let all = ok(&uncommented);
    assert!(all.mail.is_some());
    // The GLPI 11 block documents every key `api = "v2"` needs.
    assert_eq!(all.api, crate::config::Api::V2);
    assert!(all.oauth.is_some());
    // The values shown for keys with a default are those defaults.
    let d = ok(MINIMAL);
    assert_eq!(all.ticket_type, d.ticket_type);
    assert_eq!(all.default_priority, d.default_priority);
    assert_eq!(all.update_priority, d.update_priority);
    assert_eq!(all.asset_types, d.asset_types);
    assert_eq!(all.state_dir, d.state_dir);
    assert_eq!(
        [
            all.connect_timeout,
            all.request_timeout,
            all.run_timeout,
            all.lock_timeout,
            all.cache_ttl
        ],
        [
            d.connect_timeout,
            d.request_timeout,
            d.run_timeout,
            d.lock_timeout,
            d.cache_ttl
        ]
    );
    assert_eq!(all.retries, d.retries);
    assert_eq!(all.order_wait, d.order_wait);
    assert_eq!(all.tls_verify, d.tls_verify);
    assert_eq!(all.lang, d.lang);
    let StateBackend::Postgres(pg) = &all.state else {
        panic!("the shipped [state] documents backend = \"postgres\"")
    };
    assert!(pg.tls && pg.tls_verify && pg.password_file.is_some() && pg.ca_file.is_some());
    assert!(matches!(d.state, StateBackend::Files));
    let m = all.mail.expect("mail");
    assert_eq!((m.smtp_host.as_str(), m.smtp_port), ("localhost", 25));
    assert_eq!(m.smtp_security, SmtpSecurity::StartTls);
}

#[test]
fn urgency_and_impact_follow_the_priority_unless_set() {
    let c = ok(MINIMAL);
    let table: Vec<_> = (1..=6).map(|p| c.urgency_impact(p)).collect();
    assert_eq!(table, [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (5, 5)]);
    let c = ok(&with("urgency = 2"));
    assert_eq!(c.urgency_impact(4), (2, 4));
}

#[test]
fn empty_app_token_means_no_header_and_empty_user_name_no_requester() {
    let c =
        ok("host = \"https://g/glpi\"\napp_token = \"\"\nuser_token = \"U\"\nuser_name = \"\"\n");
    assert!(c.app_token.is_none());
    assert_eq!(c.user_name, None);
}

/// The shipped file and the Esia documentation's hold example values: said
/// without any network call; a real configuration holds none.
#[test]
fn example_values_are_recognised() {
    use crate::config::placeholders::placeholders;
    assert_eq!(
        placeholders(&ok(SHIPPED)),
        ["host", "app_token", "user_token"]
    );
    assert_eq!(
        placeholders(&ok(ESIA_DOC)),
        ["host", "app_token", "user_token"]
    );
    assert!(placeholders(&ok(MINIMAL)).is_empty());
    // One key left: only it is named; the host in any spelling.
    let text = SHIPPED
        .replace(
            "https://monserveurglpi.com/glpi",
            "https://glpi.example.net",
        )
        .replace("REPLACE_WITH_THE_API_CLIENT_APP_TOKEN", "real-app-token");
    assert_eq!(placeholders(&ok(&text)), ["user_token"]);
    let text = MINIMAL.replace(
        "https://glpi.example.org/glpi",
        "HTTP://MonServeurGLPI.com:8080/",
    );
    assert_eq!(placeholders(&ok(&text)), ["host"]);
    // The commented keys of the shipped file, uncommented as they are.
    let v2 = "host = \"https://g.example.org\"\napi = \"v2\"\nclient_id = \"...\"\n\
              client_secret = \"...\"\nusername = \"esia\"\npassword = \"...\"\n\
              [mail]\nfrom = \"a@b.org\"\nsmtp_user = \"esia\"\nsmtp_password = \"...\"\n";
    assert_eq!(
        placeholders(&ok(v2)),
        [
            "client_id",
            "client_secret",
            "password",
            "mail.smtp_password"
        ]
    );
    let e = crate::config::require_real(&ok(SHIPPED), std::path::Path::new("/etc/esia/glpi.conf"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/esia/glpi.conf still holds example values instead of your GLPI's: host, \
         app_token, user_token"
    );
    let hint = e.hint().unwrap();
    assert!(hint.contains("Setup > General > API"), "{hint}");
    assert!(hint.contains("Remote access keys"), "{hint}");
}
