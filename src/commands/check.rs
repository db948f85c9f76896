//! `check`: a preflight that says exactly which of the set-up steps is wrong
//! and how to fix it (issue 4). It walks the path a `notify` takes, in order,
//! and stops at the first step that blocks the next ones:
//!
//! configuration (syntax, values, file mode) → DNS → TCP → TLS → REST API
//! enabled (`GET apirest.php/`, no token) → address allowed → `app_token` →
//! `user_token` (`initSession`, with the `Authorization`-stripped fallback) →
//! GLPI version → the active profile's rights (glpi-api.md §9.5) → entity →
//! category → requester.
//!
//! Each step is one checklist line: ✓ done, ! works but deserves attention,
//! ✗ a problem, with one actionable sentence. The exit status is that of the
//! first problem's class ([`CheckFailure`], mapped in `error.rs`): 0 when
//! `notify` will work (warnings allowed). Nothing is written into GLPI and the
//! state directory is not touched.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;

use serde::Serialize;

use super::{Globals, glpi_settings};
use crate::config::{self, Config, TicketType};
use crate::error::{CheckFailure, Error};
use crate::glpi::{Client, GlpiError, ItemLookup, Me, Profile, Session, UserMatch};
use crate::output;

/// One checklist mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Mark {
    Ok,
    Warn,
    Fail,
}

impl Mark {
    fn symbol(self) -> &'static str {
        match self {
            Mark::Ok => "✓",
            Mark::Warn => "!",
            Mark::Fail => "✗",
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Serialize)]
struct Item {
    step: &'static str,
    status: Mark,
    message: String,
    #[serde(skip)]
    failure: Option<CheckFailure>,
}

/// The whole checklist, as printed (`--json`: this object).
#[derive(Debug, Serialize)]
struct Report {
    config: String,
    /// True when `notify` will work (warnings allowed).
    ok: bool,
    problems: usize,
    warnings: usize,
    glpi_version: Option<String>,
    checks: Vec<Item>,
}

impl Report {
    fn push(&mut self, step: &'static str, status: Mark, message: String) {
        self.checks.push(Item {
            step,
            status,
            message,
            failure: None,
        });
    }

    fn ok(&mut self, step: &'static str, message: impl Into<String>) {
        self.push(step, Mark::Ok, message.into());
    }

    fn warn(&mut self, step: &'static str, message: impl Into<String>) {
        self.push(step, Mark::Warn, message.into());
    }

    fn fail(&mut self, step: &'static str, kind: CheckFailure, message: impl Into<String>) {
        self.checks.push(Item {
            step,
            status: Mark::Fail,
            message: message.into(),
            failure: Some(kind),
        });
    }

    fn human(&self) -> String {
        let mut out = format!("esia-glpi check ({})\n", self.config);
        for i in &self.checks {
            out.push_str(&output::sanitize(&format!(
                "{} {}: {}",
                i.status.symbol(),
                i.step,
                i.message
            )));
            out.push('\n');
        }
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let summary = match (self.problems, self.warnings) {
            (0, 0) => "→ notify will work".to_string(),
            (0, w) => format!("→ notify will work ({})", plural(w, "warning")),
            (p, 0) => format!("→ notify will not work: {}", plural(p, "problem")),
            (p, w) => format!(
                "→ notify will not work: {}, {}",
                plural(p, "problem"),
                plural(w, "warning")
            ),
        };
        out.push_str(&summary);
        out
    }
}

pub(crate) fn run(globals: &Globals) -> Result<(), Error> {
    let mut report = Report {
        config: globals.config_path.display().to_string(),
        ok: false,
        problems: 0,
        warnings: 0,
        glpi_version: None,
        checks: Vec::new(),
    };
    if let Some(config) = check_config(&mut report, &globals.config_path) {
        check_glpi(&mut report, &config)?;
    }
    report.problems = report
        .checks
        .iter()
        .filter(|i| i.status == Mark::Fail)
        .count();
    report.warnings = report
        .checks
        .iter()
        .filter(|i| i.status == Mark::Warn)
        .count();
    report.ok = report.problems == 0;
    output::text(globals.json, &report, &report.human());
    match report.checks.iter().find(|i| i.status == Mark::Fail) {
        None => Ok(()),
        Some(first) => Err(Error::Check {
            problems: report.problems,
            first: format!("{}: {}", first.step, first.message),
            kind: first.failure.unwrap_or(CheckFailure::Refused),
        }),
    }
}

// ---------------------------------------------------------------------------
// Configuration

fn check_config(r: &mut Report, path: &Path) -> Option<Config> {
    let loaded = match config::load(path) {
        Ok(l) => l,
        Err(e) => {
            let hint = e.hint().map(|h| format!(": {h}")).unwrap_or_default();
            r.fail("configuration", CheckFailure::Config, format!("{e}{hint}"));
            return None;
        }
    };
    r.ok("configuration", format!("{} is valid", path.display()));
    let shown = path.display().to_string();
    let mut mode_warned = false;
    for w in &loaded.warnings {
        // The file-mode warnings start with the path; the others are advisories.
        if w.starts_with(&shown) {
            mode_warned = true;
            r.warn("permissions", w.clone());
        } else {
            r.warn("configuration", w.clone());
        }
    }
    if !mode_warned && let Some(mode) = file_mode(path) {
        r.ok(
            "permissions",
            format!("mode {mode:04o}: other users cannot read the tokens"),
        );
    }
    Some(loaded.config)
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> Option<u32> {
    None
}

// ---------------------------------------------------------------------------
// Network

/// True when a proxy may carry the requests, so that a direct TCP failure
/// does not mean GLPI is unreachable.
fn proxy_configured() -> bool {
    [
        "https_proxy",
        "HTTPS_PROXY",
        "http_proxy",
        "HTTP_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

/// What the network steps learnt.
struct Network {
    /// This machine's address on the way to GLPI, for the "address not
    /// allowed" advice (unknown through a proxy).
    local_ip: Option<IpAddr>,
}

/// DNS then TCP; `None` when the next steps are pointless.
fn check_network(r: &mut Report, config: &Config) -> Option<Network> {
    let api_url = config.api_url();
    let Ok(url) = reqwest::Url::parse(&api_url) else {
        r.fail(
            "configuration",
            CheckFailure::Config,
            format!(
                "host {:?} is not a URL: write it as https://glpi.example.org/glpi",
                config.host
            ),
        );
        return None;
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = if let Ok(ip) = bare.parse::<IpAddr>() {
        r.ok("DNS", format!("{host} is an address: no lookup needed"));
        vec![SocketAddr::new(ip, port)]
    } else {
        match (host.as_str(), port).to_socket_addrs() {
            Ok(a) => {
                let a: Vec<SocketAddr> = a.collect();
                let list: Vec<String> = a.iter().map(|s| s.ip().to_string()).collect();
                r.ok("DNS", format!("{host} → {}", list.join(", ")));
                a
            }
            Err(e) => {
                r.fail(
                    "DNS",
                    CheckFailure::Unreachable,
                    format!(
                        "cannot resolve {host} ({e}): check the spelling of `host` and this \
                         server's resolver (/etc/resolv.conf, /etc/hosts)"
                    ),
                );
                return None;
            }
        }
    };
    let mut last_error = String::from("no address");
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, config.connect_timeout) {
            Ok(stream) => {
                let local = stream.local_addr().ok().map(|a| a.ip());
                r.ok(
                    "TCP",
                    match local {
                        Some(ip) => format!("connected to {addr} from {ip}"),
                        None => format!("connected to {addr}"),
                    },
                );
                return Some(Network { local_ip: local });
            }
            Err(e) => last_error = format!("{addr}: {e}"),
        }
    }
    if proxy_configured() {
        r.warn(
            "TCP",
            format!(
                "no direct connection to {host}:{port} ({last_error}); a proxy is configured in \
                 the environment, so the next steps go through it"
            ),
        );
        return Some(Network { local_ip: None });
    }
    r.fail(
        "TCP",
        CheckFailure::Unreachable,
        format!(
            "cannot connect to {host} port {port} ({last_error}): check that GLPI's web server \
             listens there and that no firewall blocks this server; raise connect_timeout if the \
             network is only slow"
        ),
    );
    None
}

/// Names a certificate problem from the error chain of a failed request.
fn tls_problem(reason: &str, config: &Config) -> Option<String> {
    let lower = reason.to_ascii_lowercase();
    let certificate =
        lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake");
    if !certificate {
        return None;
    }
    let fix_ca = match &config.ca_file {
        Some(p) => format!(
            "ca_file {} does not hold the authority that signed GLPI's certificate: put that \
             authority's PEM certificate in it",
            p.display()
        ),
        None => "if GLPI's certificate comes from a private authority or is self-signed, set \
                 ca_file to that authority's (or that certificate's) PEM file"
            .to_string(),
    };
    Some(if lower.contains("expired") {
        "GLPI's certificate has expired: renew it on the GLPI server (check this server's clock too)"
            .to_string()
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        "GLPI's certificate does not name the host of `host`: write `host` with a name the \
         certificate carries, or issue a certificate for this name"
            .to_string()
    } else if lower.contains("unknownissuer")
        || lower.contains("unknown issuer")
        || lower.contains("self-signed")
        || lower.contains("self signed")
    {
        format!("GLPI's certificate is signed by an unknown authority: {fix_ca}")
    } else {
        format!("the TLS connection failed ({reason}): {fix_ca}")
    })
}

// ---------------------------------------------------------------------------
// GLPI

fn check_glpi(r: &mut Report, config: &Config) -> Result<(), Error> {
    let client = match Client::new(glpi_settings(config)) {
        Ok(c) => c,
        Err(e) => {
            let hint = e.hint().map(|h| format!(": {h}")).unwrap_or_default();
            r.fail("configuration", CheckFailure::Config, format!("{e}{hint}"));
            return Ok(());
        }
    };
    let Some(Network { local_ip }) = check_network(r, config) else {
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let budget = config.run_timeout;
    let finished = runtime.block_on(async {
        tokio::time::timeout(budget, glpi_steps(r, &client, config, local_ip))
            .await
            .is_ok()
    });
    if !finished {
        r.fail(
            "GLPI",
            CheckFailure::Unreachable,
            format!(
                "GLPI did not finish answering within run_timeout ({} s): it is overloaded or a \
                 proxy holds the requests; raise timeout / run_timeout if it is only slow",
                budget.as_secs()
            ),
        );
    }
    Ok(())
}

fn class_of(e: &GlpiError) -> CheckFailure {
    match e {
        GlpiError::Refused { .. } => CheckFailure::Refused,
        GlpiError::Setup { .. } => CheckFailure::Config,
        GlpiError::Unavailable { .. } | GlpiError::Protocol { .. } => CheckFailure::Unreachable,
    }
}

/// The error and its hint, as one sentence.
fn explain(e: &GlpiError) -> String {
    match e.hint() {
        Some(h) => format!("{e}: {h}"),
        None => e.to_string(),
    }
}

const STRIPPED_FIX: &str = "Apache + PHP-FPM: add SetEnvIf Authorization \"(.*)\" \
     HTTP_AUTHORIZATION=$1 to GLPI's virtual host; nginx: fastcgi_param HTTP_AUTHORIZATION \
     $http_authorization;";

async fn glpi_steps(r: &mut Report, client: &Client, config: &Config, local_ip: Option<IpAddr>) {
    let https = config
        .api_url()
        .to_ascii_lowercase()
        .starts_with("https://");
    match client.probe_root().await {
        Ok(()) => {
            tls_ok(r, config, https);
            r.ok("REST API", format!("enabled at {}", config.api_url()));
        }
        Err(GlpiError::Unavailable { reason, .. }) => {
            match https.then(|| tls_problem(&reason, config)).flatten() {
                Some(problem) => r.fail("TLS", CheckFailure::Unreachable, problem),
                None => r.fail(
                    "REST API",
                    CheckFailure::Unreachable,
                    format!(
                        "no usable answer from {} ({reason}): check that GLPI runs; raise timeout \
                         if it is only slow",
                        config.api_url()
                    ),
                ),
            }
            return;
        }
        Err(GlpiError::Protocol { detail, .. }) => {
            tls_ok(r, config, https);
            r.fail(
                "REST API",
                CheckFailure::Config,
                format!(
                    "{} is not GLPI's REST API ({detail}): set `host` to the GLPI root URL, the \
                     one that shows GLPI's login page (the client adds /apirest.php/)",
                    config.api_url()
                ),
            );
            return;
        }
        Err(e @ GlpiError::Setup { .. }) => {
            r.fail("configuration", CheckFailure::Config, explain(&e));
            return;
        }
        Err(e @ GlpiError::Refused { .. }) => {
            tls_ok(r, config, https);
            match e.code() {
                Some("ERROR_NOT_ALLOWED_IP") => {
                    r.ok("REST API", format!("enabled at {}", config.api_url()));
                    not_allowed_ip(r, local_ip);
                }
                Some("ERROR") if e.to_string().contains("API disabled") => r.fail(
                    "REST API",
                    CheckFailure::Refused,
                    "the REST API is disabled in GLPI: enable it under Setup > General > API > \
                     Enable Rest API",
                ),
                _ => r.fail("REST API", CheckFailure::Refused, explain(&e)),
            }
            return;
        }
    }

    let session = match client.open().await {
        Ok(s) => s,
        Err(e) => {
            login_failure(r, client, config, local_ip, &e);
            return;
        }
    };
    app_token_ok(r, config);
    let me = session.me().await.ok();
    r.ok(
        "user_token",
        match &me {
            Some(Me { id, login }) => format!("session opened as \"{login}\" (user {id})"),
            None => "session opened".to_string(),
        },
    );
    if client.auth_in_query() {
        stripped_warning(r);
    }
    after_login(r, &session, config).await;
    session.close().await;
}

/// The ✓ line of the `app_token`: GLPI got past its check.
fn app_token_ok(r: &mut Report, config: &Config) {
    r.ok(
        "app_token",
        if config.app_token.is_some() {
            "accepted by the API client of this address"
        } else {
            "none configured, and the API client of this address needs none"
        },
    );
}

fn tls_ok(r: &mut Report, config: &Config, https: bool) {
    if !https {
        return;
    }
    if !config.tls_verify {
        r.warn(
            "TLS",
            "the certificate is NOT verified (tls_verify = false): whoever sits on the path can \
             read the tokens; set ca_file to the authority that signed GLPI's certificate and \
             remove tls_verify",
        );
        return;
    }
    r.ok(
        "TLS",
        match &config.ca_file {
            Some(p) => format!(
                "certificate verified (system authorities and ca_file {})",
                p.display()
            ),
            None => "certificate verified (system authorities)".to_string(),
        },
    );
}

fn not_allowed_ip(r: &mut Report, local_ip: Option<IpAddr>) {
    let address = local_ip.map_or_else(String::new, |ip| format!(" ({ip} as seen from here)"));
    r.fail(
        "API client",
        CheckFailure::Refused,
        format!(
            "no active API client accepts this server's address{address} \
             (ERROR_NOT_ALLOWED_IP): add the address to the IPv4 range of the API client in \
             Setup > General > API, or create an API client for it"
        ),
    );
}

fn stripped_warning(r: &mut Report) {
    r.warn(
        "Authorization header",
        format!(
            "the web server in front of GLPI strips it, so the user_token is sent as a query \
             parameter and may appear in its access log: {STRIPPED_FIX}"
        ),
    );
}

/// Says which token `initSession` refused, and how to fix it.
fn login_failure(
    r: &mut Report,
    client: &Client,
    config: &Config,
    local_ip: Option<IpAddr>,
    e: &GlpiError,
) {
    match e.code() {
        Some("ERROR_WRONG_APP_TOKEN_PARAMETER") => r.fail(
            "app_token",
            CheckFailure::Refused,
            if config.app_token.is_some() {
                "GLPI refused it (ERROR_WRONG_APP_TOKEN_PARAMETER): copy the application token \
                 of this server's API client (Setup > General > API) into app_token"
            } else {
                "GLPI expects none to be sent, yet refused the request \
                 (ERROR_WRONG_APP_TOKEN_PARAMETER): copy the application token of this server's \
                 API client (Setup > General > API) into app_token"
            },
        ),
        Some("ERROR_APP_TOKEN_PARAMETERS_MISSING") => r.fail(
            "app_token",
            CheckFailure::Refused,
            "the API client of this address has an application token and none was sent \
             (ERROR_APP_TOKEN_PARAMETERS_MISSING): copy it from Setup > General > API into \
             app_token",
        ),
        Some("ERROR_NOT_ALLOWED_IP") => not_allowed_ip(r, local_ip),
        Some("ERROR_GLPI_LOGIN_USER_TOKEN") => {
            app_token_ok(r, config);
            if client.auth_in_query() {
                stripped_warning(r);
            }
            r.fail(
                "user_token",
                CheckFailure::Refused,
                "GLPI refused it (ERROR_GLPI_LOGIN_USER_TOKEN): regenerate the API token under \
                 Administration > Users > (the API user) > Remote access keys, copy it into \
                 user_token, and regenerate it again after every change of that user's profile; \
                 the user must be active and have a profile",
            );
        }
        Some("ERROR_LOGIN_PARAMETERS_MISSING") => {
            app_token_ok(r, config);
            r.fail(
                "user_token",
                CheckFailure::Refused,
                format!(
                    "GLPI received no user_token, neither in the Authorization header nor as a \
                     query parameter (ERROR_LOGIN_PARAMETERS_MISSING): a proxy or the web server \
                     removes it; {STRIPPED_FIX}"
                ),
            );
        }
        _ => r.fail("user_token", class_of(e), explain(e)),
    }
}

async fn after_login(r: &mut Report, session: &Session<'_>, config: &Config) {
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
fn check_rights(r: &mut Report, p: &Profile, config: &Config) {
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
    for (what, right) in missing {
        r.fail(
            "rights",
            CheckFailure::Refused,
            format!(
                "profile \"{name}\" cannot {what}: grant {right} in Administration > Profiles > \
                 {name} (regenerate the user_token if GLPI keeps the old rights)"
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

async fn check_entity(r: &mut Report, session: &Session<'_>, config: &Config) {
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
                    CheckFailure::Refused,
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

async fn check_category(r: &mut Report, session: &Session<'_>, config: &Config) {
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
            CheckFailure::Refused,
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

async fn check_requester(r: &mut Report, session: &Session<'_>, config: &Config) {
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
        Ok(UserMatch::NotFound) => r.fail(
            "requester",
            CheckFailure::Refused,
            format!(
                "no GLPI user has the login \"{login}\" (or the API user's entities do not \
                 include it): fix user_name, or leave it empty for tickets without requester"
            ),
        ),
        Ok(UserMatch::Inactive(id)) => r.fail(
            "requester",
            CheckFailure::Refused,
            format!(
                "user \"{login}\" (user {id}) is inactive, so tickets would get no requester: \
                 reactivate it under Administration > Users, or change user_name"
            ),
        ),
        Ok(UserMatch::Ambiguous(n)) => r.fail(
            "requester",
            CheckFailure::Refused,
            format!(
                "{n} GLPI users have the login \"{login}\", so tickets would get no requester: \
                 rename or delete the duplicates under Administration > Users"
            ),
        ),
        Err(e) => r.fail("requester", class_of(&e), explain(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            "host=\"https://glpi.example.org/glpi\"\napp_token=\"a\"\nuser_token=\"u\"\n\
             user_name=\"esia\"\n{extra}\n"
        );
        config::parse(&text, Path::new("t.conf")).unwrap()
    }

    fn report() -> Report {
        Report {
            config: "t.conf".into(),
            ok: false,
            problems: 0,
            warnings: 0,
            glpi_version: None,
            checks: Vec::new(),
        }
    }

    fn profile(json: &str) -> Profile {
        serde_json::from_str(json).unwrap()
    }

    fn marks(r: &Report) -> Vec<(&'static str, Mark)> {
        r.checks.iter().map(|i| (i.step, i.status)).collect()
    }

    #[test]
    fn super_admin_rights_pass() {
        let mut r = report();
        check_rights(
            &mut r,
            &profile(
                r#"{"name":"Super-Admin","interface":"central","ticket":261151,"followup":31767,
                    "user":127,"computer":127,"networking":127,"printer":127,"phone":127,"peripheral":127}"#,
            ),
            &config(""),
        );
        assert_eq!(marks(&r), vec![("rights", Mark::Ok), ("assets", Mark::Ok)]);
    }

    #[test]
    fn technician_lacks_only_change_priority() {
        let mut r = report();
        check_rights(
            &mut r,
            &profile(
                r#"{"name":"Technician","interface":"central","ticket":166919,"followup":13319,
                    "user":1,"computer":1,"networking":1,"printer":1,"phone":1,"peripheral":1}"#,
            ),
            &config(""),
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
        let mut r = report();
        check_rights(
            &mut r,
            &profile(
                r#"{"name":"Self-Service","interface":"helpdesk","ticket":5,"followup":5,
                        "ticket_status":{"1":{"5":0}}}"#,
            ),
            &config("asset_types=[\"Computer\"]"),
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

    #[test]
    fn certificate_problems_are_named() {
        let c = config("");
        let name = |reason: &str| tls_problem(reason, &c).unwrap();
        assert!(name("invalid peer certificate: UnknownIssuer").contains("unknown authority"));
        assert!(name("invalid peer certificate: UnknownIssuer").contains("ca_file"));
        assert!(
            name("invalid peer certificate: certificate expired: verification time")
                .contains("expired")
        );
        assert!(name("invalid peer certificate: NotValidForName").contains("does not name"));
        assert!(tls_problem("connection refused", &c).is_none());
    }

    #[test]
    fn summary_line_counts_problems_and_warnings() {
        let mut r = report();
        r.ok("a", "fine");
        r.warn("b", "hmm");
        r.warnings = 1;
        assert!(r.human().ends_with("→ notify will work (1 warning)"));
        r.fail("c", CheckFailure::Refused, "bad\x1b[31m");
        r.problems = 1;
        let h = r.human();
        assert!(h.contains("✗ c: bad [31m"), "{h}");
        assert!(h.ends_with("→ notify will not work: 1 problem, 1 warning"));
    }
}
