//! The validated configuration, its defaults and bounds.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::core::Lang;

/// Where the configuration is read from when neither `--config` nor
/// `ESIA_GLPI_CONFIG` says otherwise (SPEC "Configuration").
pub(crate) const DEFAULT_PATH: &str = "/etc/esia/glpi.conf";

/// The commented example of every key with its default, as the package
/// installs it (`conf/glpi.conf` in the source tree): the file hints point
/// to, since the source tree is not on the monitoring server.
pub(crate) const EXAMPLE_PATH: &str = "/usr/share/doc/esia-glpi/examples/glpi.conf";

/// Title template used when `tpl_title` is absent (the Esia documentation's).
pub(crate) const DEFAULT_TPL_TITLE: &str = "( %node.group.name ) %node.name:%service.name";

/// Asset types linked when `asset_types` is absent.
pub(crate) const DEFAULT_ASSET_TYPES: [&str; 5] = [
    "Computer",
    "NetworkEquipment",
    "Printer",
    "Phone",
    "Peripheral",
];

/// Every asset type `asset_types` accepts (GLPI itemtypes that carry a name
/// and can be linked to a ticket).
pub(crate) const ALLOWED_ASSET_TYPES: [&str; 6] = [
    "Computer",
    "NetworkEquipment",
    "Printer",
    "Phone",
    "Peripheral",
    "Monitor",
];

/// Upper bound for the timeouts: larger values make no sense for a program
/// run once per alert, and keep `Instant + Duration` far from overflow.
pub(super) const MAX_TIMEOUT_SECS: u64 = 86_400;
/// Upper bound for `cache_ttl` (one year).
pub(super) const MAX_CACHE_TTL_SECS: u64 = 365 * 86_400;

/// A configuration file read and validated, plus what the operator should be
/// told about it (world-readable file, tokens sent in clear, ...). The caller
/// logs each warning once.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) config: Config,
    pub(crate) warnings: Vec<String>,
}

/// GLPI ticket type (`type` field of a Ticket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum TicketType {
    /// GLPI type 1.
    #[default]
    Incident,
    /// GLPI type 2.
    Request,
}

impl TicketType {
    /// The number GLPI expects in the ticket's `type` field.
    pub(crate) fn glpi_id(self) -> u8 {
        match self {
            Self::Incident => 1,
            Self::Request => 2,
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SmtpSecurity {
    /// Plain SMTP (a local relay).
    None,
    /// Plain connection upgraded with STARTTLS (required, not opportunistic).
    #[default]
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// The validated configuration. `Debug` is safe to log: tokens are redacted.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// GLPI URL as written, trailing `/` removed; may end in `apirest.php`.
    pub(crate) host: String,
    /// Which of GLPI's APIs the tickets go through.
    pub(crate) api: Api,
    /// `None` when the file says `app_token = ""`: no App-Token header is
    /// sent (GLPI API clients may be defined without one).
    pub(crate) app_token: Option<SecretString>,
    /// Always there with `api = "legacy"`; with `"v2"`, only when the legacy
    /// API is to be used for what v2 cannot do (linking an asset).
    pub(crate) user_token: Option<SecretString>,
    /// The OAuth2 client and user of `api = "v2"`.
    pub(crate) oauth: Option<OAuth>,
    /// Requester login; `None` (key absent or empty) = no requester.
    pub(crate) user_name: Option<String>,
    pub(crate) tpl_title: String,
    /// `None` = the built-in content.
    pub(crate) tpl_content: Option<String>,
    /// `entities_id`; `None` = the API user's active entity. 0 is the root entity.
    pub(crate) entity: Option<u64>,
    /// `itilcategories_id`; `None` = no category.
    pub(crate) category: Option<u64>,
    pub(crate) ticket_type: TicketType,
    /// 1..=5; `None` = derived from the priority, see [`Config::urgency_impact`].
    pub(crate) urgency: Option<u8>,
    /// 1..=5; `None` = derived from the priority, see [`Config::urgency_impact`].
    pub(crate) impact: Option<u8>,
    /// 1..=6, used when the event carries no `-L`.
    pub(crate) default_priority: u8,
    /// Whether a state change updates the priority of the open ticket.
    pub(crate) update_priority: bool,
    /// Canonical GLPI itemtypes, deduplicated, in the order written.
    pub(crate) asset_types: Vec<String>,
    pub(crate) state_dir: PathBuf,
    pub(crate) connect_timeout: Duration,
    /// Key `timeout`: one HTTP request.
    pub(crate) request_timeout: Duration,
    /// Total time budget of one run.
    pub(crate) run_timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) lock_timeout: Duration,
    /// How long to wait for an earlier event the engine numbered but that
    /// has not arrived (0: do not wait).
    pub(crate) order_wait: Duration,
    pub(crate) cache_ttl: Duration,
    /// How long the state trusts its inventory of GLPI's open tickets
    /// (`core::knowledge`) before it lists them again.
    pub(crate) inventory_ttl: Duration,
    pub(crate) tls_verify: bool,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) lang: Lang,
    /// The `[mail]` table (`--mail`, `SEND_TICKET_GLPI_MAIL`); `None` when
    /// the file has none.
    pub(crate) mail: Option<MailConfig>,
    /// Where records, kept events and locks live (the `[state]` table).
    pub(crate) state: StateBackend,
    /// Where `reconcile` reads the engine's state, and how it acts (the
    /// `[reconcile]` table); `None` when the file has none.
    pub(crate) reconcile: Option<super::ReconcileConfig>,
}

/// The state backend (`[state]`, key `backend`).
#[derive(Debug, Clone, Default)]
pub(crate) enum StateBackend {
    /// The state directory (the default).
    #[default]
    Files,
    /// A PostgreSQL database shared by several monitoring servers.
    Postgres(Box<PgConfig>),
}

/// `[state]` with `backend = "postgres"`. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub(crate) struct PgConfig {
    /// `postgres://user@host:port/database[?options]`, without a password.
    pub(crate) url: String,
    /// The URL says `sslmode=require`: TLS, certificate checked.
    pub(crate) tls: bool,
    /// Every host of the URL is this machine (loopback or a unix socket).
    pub(crate) local: bool,
    pub(crate) password_file: Option<PathBuf>,
    /// Read from `password_file` by `load`.
    pub(crate) password: Option<SecretString>,
    /// PEM file of an extra certificate authority for the database's TLS.
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) tls_verify: bool,
}

/// Which of GLPI's APIs the tickets go through (key `api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Api {
    /// `apirest.php`, with `app_token` and `user_token` (GLPI 10 and 11).
    #[default]
    Legacy,
    /// GLPI 11's high-level API, `api.php/v2`, with OAuth2.
    V2,
}

/// The OAuth2 password grant of `api = "v2"`. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub(crate) struct OAuth {
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) username: String,
    /// Read from `password`, or from `password_file` by `load`.
    pub(crate) password: Option<SecretString>,
    pub(crate) password_file: Option<PathBuf>,
}

/// The `[mail]` table.
#[derive(Debug, Clone)]
pub(crate) struct MailConfig {
    /// Sender address; mail cannot be sent without it.
    pub(crate) from: Option<String>,
    pub(crate) smtp_host: String,
    pub(crate) smtp_port: u16,
    pub(crate) smtp_security: SmtpSecurity,
    /// Set together with `smtp_password` (validated).
    pub(crate) smtp_user: Option<String>,
    pub(crate) smtp_password: Option<SecretString>,
    /// When set, mail goes through this program instead of SMTP.
    pub(crate) sendmail: Option<PathBuf>,
    pub(crate) tpl_mail_subject: Option<String>,
    pub(crate) tpl_mail_body: Option<String>,
}

impl Config {
    /// The REST API base URL, always ending in `/apirest.php/`.
    pub(crate) fn api_url(&self) -> String {
        let host = self.host.trim_end_matches('/');
        if host.ends_with("apirest.php") {
            format!("{host}/")
        } else {
            format!("{host}/apirest.php/")
        }
    }

    /// GLPI's root URL: `host` without a trailing `/` nor `apirest.php`.
    fn root(&self) -> &str {
        let host = self.host.trim_end_matches('/');
        host.strip_suffix("apirest.php")
            .unwrap_or(host)
            .trim_end_matches('/')
    }

    /// The high-level API's base URL (GLPI 11), ending in `/api.php/v2/`.
    pub(crate) fn v2_url(&self) -> String {
        format!("{}/api.php/v2/", self.root())
    }

    /// The OAuth2 token endpoint of the high-level API.
    pub(crate) fn token_url(&self) -> String {
        format!("{}/api.php/token", self.root())
    }

    /// The REST API base URL as shown to people: without the user
    /// information a `host` may carry (basic authentication in front of
    /// GLPI), which is only ever sent in requests.
    pub(crate) fn shown_api_url(&self) -> String {
        without_userinfo(&self.api_url())
    }

    /// The web page of ticket `id`: `<glpi root>/front/ticket.form.php?id=N`,
    /// the root being `host` without a trailing `apirest.php` nor its user
    /// information.
    pub(crate) fn ticket_url(&self, id: u64) -> String {
        format!(
            "{}/front/ticket.form.php?id={id}",
            without_userinfo(self.root())
        )
    }

    /// The identity of the GLPI this configuration names: its root URL with
    /// scheme and server in lower case, without user information, trailing
    /// `/` or `apirest.php`. Records and kept events are bound to it.
    pub(crate) fn glpi_identity(&self) -> String {
        let root = self.root();
        let (scheme, rest) = root.split_once("://").unwrap_or(("", root));
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let server = authority.rsplit('@').next().unwrap_or(authority);
        format!(
            "{}://{}{path}",
            scheme.to_ascii_lowercase(),
            server.to_ascii_lowercase()
        )
    }

    /// Urgency and impact sent with a ticket of priority `priority` (1..=6).
    ///
    /// The configured `urgency` / `impact` win; an unset one follows the
    /// priority: priority p → urgency = impact = min(p, 5), so GLPI's own
    /// matrix agrees with the priority we send (6 "major" has no urgency 6).
    pub(crate) fn urgency_impact(&self, priority: u8) -> (u8, u8) {
        let derived = priority.clamp(1, 5);
        (
            self.urgency.unwrap_or(derived),
            self.impact.unwrap_or(derived),
        )
    }
}

/// `url` without the `user:password@` of its authority.
pub(crate) fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, server)) => format!("{scheme}://{server}{path}"),
        None => url.to_owned(),
    }
}
