//! The keys of `glpi.conf`(5), by group: each key's name, what it takes,
//! its default and its meaning (markup). `mod.rs` renders them; its tests
//! hold them to the raw configuration forms.

/// A key's default.
#[derive(Clone, Copy)]
pub(super) enum Fallback {
    /// The value, written as in the file (a test parses it).
    Value(&'static str),
    /// What happens without the key, in words.
    Words(&'static str),
}

pub(super) struct Key {
    /// As in the file; `table.key` inside a table.
    pub(super) name: &'static str,
    /// What it takes (markup).
    pub(super) takes: &'static str,
    pub(super) default: Fallback,
    pub(super) meaning: &'static str,
}

pub(super) struct Group {
    pub(super) title: &'static str,
    pub(super) intro: &'static str,
    pub(super) keys: &'static [Key],
}

use Fallback::{Value, Words};

const SECONDS: &str = "whole seconds, 1 to 86400";

pub(super) const GROUPS: &[Group] = &[
    Group {
        title: "GLPI AND ITS API",
        intro: "\
The first five keys are the ones the Esia documentation shows; a file with only
them works. With GLPI 10's REST API (`api = \"legacy\"`, the default), `host`,
`app_token` and `user_token` are required.",
        keys: &[
            Key {
                name: "host",
                takes: "text, a URL",
                default: Words("none: required"),
                meaning: "GLPI's address as typed in a browser, e.g. \
                    `https://glpi.example.org/glpi`; `/apirest.php/` is added for the API, and an \
                    address already ending in `apirest.php` works too. `http://` draws a warning \
                    (the tokens would travel unencrypted) unless GLPI is on this machine. A \
                    `user:password@` for a basic authentication in front of GLPI is sent, never \
                    shown.",
            },
            Key {
                name: "app_token",
                takes: "text",
                default: Words("none: required with `api = \"legacy\"`"),
                meaning: "The token of GLPI's API client (Setup > General > API). Write \
                    `app_token = \"\"` when that API client has none: no App-Token header is sent \
                    then, but the key must be present.",
            },
            Key {
                name: "user_token",
                takes: "text",
                default: Words(
                    "none: required with `api = \"legacy\"`; optional with `\"v2\"`, where it only \
                     serves to link tickets to assets",
                ),
                meaning: "The API token of the GLPI user the tickets are written as (that \
                    user's preferences > Remote access keys). Regenerate it after every change of \
                    that user's profile.",
            },
            Key {
                name: "user_name",
                takes: "text, a GLPI login",
                default: Words("no requester"),
                meaning: "The GLPI user set as the tickets' requester; absent or `\"\"`: none.",
            },
            Key {
                name: "tpl_title",
                takes: "text, a template",
                default: Value("\"( %node.group.name ) %node.name:%service.name\""),
                meaning: "The ticket's title: plain text on one line (control characters \
                    become spaces), at most 255 characters. See TEMPLATES.",
            },
            Key {
                name: "api",
                takes: "\"legacy\" or \"v2\"",
                default: Value("\"legacy\""),
                meaning: "`\"legacy\"`: GLPI 10's REST API (`apirest.php`), also in GLPI 11. \
                    `\"v2\"`: GLPI 11's high-level API, through an OAuth client (Setup > OAuth \
                    clients, grant Password, scope api); then `client_id`, `client_secret`, \
                    `username` and `password` or `password_file` are required.",
            },
            Key {
                name: "client_id",
                takes: "text",
                default: Words("none: required with `api = \"v2\"`"),
                meaning: "The OAuth client's Client ID.",
            },
            Key {
                name: "client_secret",
                takes: "text",
                default: Words("none: required with `api = \"v2\"`"),
                meaning: "The OAuth client's secret.",
            },
            Key {
                name: "username",
                takes: "text, a GLPI login",
                default: Words("none: required with `api = \"v2\"`"),
                meaning: "The GLPI user the tickets are written as, with `api = \"v2\"`.",
            },
            Key {
                name: "password",
                takes: "text",
                default: Words("none; with `api = \"v2\"`, this or `password_file`"),
                meaning: "That user's password, written in the file. Prefer `password_file`; \
                    not both.",
            },
            Key {
                name: "password_file",
                takes: "text, an absolute path",
                default: Words("none; with `api = \"v2\"`, this or `password`"),
                meaning: "A file whose first line is that user's password (mode 0600 or \
                    0640, like the configuration; at most 4 KiB).",
            },
        ],
    },
    Group {
        title: "TICKETS",
        intro: "",
        keys: &[
            Key {
                name: "tpl_content",
                takes: "text, a template",
                default: Words("the built-in content, in the language of `lang`"),
                meaning: "The ticket's content. esia-glpi builds the HTML; every value from \
                    the monitored world is escaped. See TEMPLATES.",
            },
            Key {
                name: "entity",
                takes: "whole number, 0 or more",
                default: Words("the active entity of the API user's session"),
                meaning: "The GLPI entity id of the tickets (0 is the root entity).",
            },
            Key {
                name: "category",
                takes: "whole number, 1 or more",
                default: Words("no category"),
                meaning: "The ITIL category id of the tickets.",
            },
            Key {
                name: "ticket_type",
                takes: "\"incident\" or \"request\"",
                default: Value("\"incident\""),
                meaning: "The tickets' type.",
            },
            Key {
                name: "urgency",
                takes: "whole number, 1 to 5",
                default: Words("follows the priority: priority 1 to 5 gives the same, 6 gives 5"),
                meaning: "The tickets' urgency, from 1 (very low) to 5 (very high).",
            },
            Key {
                name: "impact",
                takes: "whole number, 1 to 5",
                default: Words("follows the priority, as `urgency`"),
                meaning: "The tickets' impact.",
            },
            Key {
                name: "default_priority",
                takes: "whole number, 1 to 6",
                default: Value("3"),
                meaning: "The priority when the alert program is given no `-L`: 1 very low, \
                    2 low, 3 medium, 4 high, 5 very high, 6 major.",
            },
            Key {
                name: "update_priority",
                takes: "true or false",
                default: Value("true"),
                meaning: "A state change (WARNING to CRITICAL, say) also updates the \
                    priority of the open ticket.",
            },
            Key {
                name: "asset_types",
                takes: "list of Computer, NetworkEquipment, Printer, Phone, Peripheral, Monitor",
                default: Value(
                    "[\"Computer\", \"NetworkEquipment\", \"Printer\", \"Phone\", \"Peripheral\"]",
                ),
                meaning: "The asset types searched for an asset named like the node; a single \
                    match is linked to the ticket. `[]` links none.",
            },
            Key {
                name: "lang",
                takes: "\"fr\" or \"en\"",
                default: Value("\"fr\""),
                meaning: "The language of the texts written into tickets and mails.",
            },
        ],
    },
    Group {
        title: "LOCAL STATE",
        intro: "",
        keys: &[
            Key {
                name: "state_dir",
                takes: "text, an absolute path",
                default: Value("\"/var/lib/esia-glpi\""),
                meaning: "The directory of the records, the kept events, the locks and the \
                    cache; it must belong to the monitoring engine's user. `--state-dir` \
                    overrides it.",
            },
            Key {
                name: "cache_ttl",
                takes: "whole seconds, 1 to 31536000",
                default: Value("3600"),
                meaning: "How long the ids looked up in GLPI (requester, assets) are kept.",
            },
            Key {
                name: "inventory_ttl",
                takes: SECONDS,
                default: Value("600"),
                meaning: "How long the state trusts what it knows of GLPI's open tickets. A \
                    new, emptied, restored or copied state, and after that delay any state, \
                    first lists the open tickets the API user wrote, so that a new problem needs \
                    no search in GLPI.",
            },
            Key {
                name: "lock_timeout",
                takes: SECONDS,
                default: Value("10"),
                meaning: "How long a run waits for another run handling the same node and \
                    service; past it, it exits 6 and its event stays kept.",
            },
            Key {
                name: "order_wait",
                takes: "whole seconds, 0 to 60",
                default: Value("1"),
                meaning: "How long to wait for an earlier event of a node and service that \
                    the engine numbered but that has not arrived yet (`--event-id`, \
                    `--last-event-id`). 0: do not wait.",
            },
        ],
    },
    Group {
        title: "CONNECTION TO GLPI",
        intro: "",
        keys: &[
            Key {
                name: "connect_timeout",
                takes: SECONDS,
                default: Value("5"),
                meaning: "To establish a connection to GLPI.",
            },
            Key {
                name: "timeout",
                takes: SECONDS,
                default: Value("15"),
                meaning: "For one HTTP request to GLPI (and one SMTP exchange).",
            },
            Key {
                name: "run_timeout",
                takes: SECONDS,
                default: Value("30"),
                meaning: "For a whole run; past it, the event is kept for later.",
            },
            Key {
                name: "retries",
                takes: "whole number, 0 to 10",
                default: Value("2"),
                meaning: "Extra attempts after a network failure or a GLPI 5xx answer.",
            },
            Key {
                name: "tls_verify",
                takes: "true or false",
                default: Value("true"),
                meaning: "Check the certificate of GLPI (and of the SMTP relay). Keep true \
                    (false draws a warning); use `ca_file` for an internal authority.",
            },
            Key {
                name: "ca_file",
                takes: "text, the path of a PEM file",
                default: Words("the system's authorities only"),
                meaning: "An extra certificate authority to trust for GLPI and the SMTP \
                    relay, added to the system's.",
            },
        ],
    },
    Group {
        title: "THE [state] TABLE",
        intro: "\
Where records, kept events and locks live. Without it, or with `backend =
\"files\"`, the state directory (single monitoring server: nothing to set).
With `backend = \"postgres\"`, every monitoring server naming the same
database shares records, kept events and locks: one ticket per problem
whichever server notifies, and after a fail-over. The state directory still
holds the cache, and keeps an event while the database is unreachable (exit
6; the next run or `flush` that reaches the database moves it there, in
order). The other keys are accepted only with `backend = \"postgres\"`.",
        keys: &[
            Key {
                name: "state.backend",
                takes: "\"files\" or \"postgres\"",
                default: Value("\"files\""),
                meaning: "Where the state lives. The database's schema is created or \
                    upgraded on first use, or by `esia-glpi state migrate`.",
            },
            Key {
                name: "state.url",
                takes: "text, postgres://USER@HOST:PORT/DATABASE",
                default: Words("none: required with `backend = \"postgres\"`"),
                meaning: "The database, never with a password in it. TLS when it ends in \
                    `?sslmode=require` (the server's certificate checked against the system's \
                    authorities and `ca_file`); without it, plain TCP, fit for a database on \
                    this machine or a unix socket \
                    (`postgres://esia@%2Frun%2Fpostgresql/esia_glpi`).",
            },
            Key {
                name: "state.password_file",
                takes: "text, an absolute path",
                default: Words("no password (peer or trust authentication)"),
                meaning: "A file whose first line is the database user's password (mode 0600 \
                    or 0640, owned by the engine's user).",
            },
            Key {
                name: "state.ca_file",
                takes: "text, the path of a PEM file",
                default: Words("the system's authorities only"),
                meaning: "An extra certificate authority for the database's TLS.",
            },
            Key {
                name: "state.tls_verify",
                takes: "true or false",
                default: Value("true"),
                meaning: "Check the database server's certificate (with `sslmode=require`).",
            },
        ],
    },
    Group {
        title: "THE [reconcile] TABLE",
        intro: "\
Where `esia-glpi reconcile` (see `esia-glpi-reconcile`(1)) reads the engine's
current state, and how it acts. Give exactly one source: `status_file`,
`livestatus`, or `icinga2_url` with `icinga2_user` and
`icinga2_password_file`. Without the table, `reconcile` says it is not
configured and exits 0. Keep it before `[mail]`: every key after a table line
belongs to that table. `notify` never reads the source nor the password file.",
        keys: &[
            Key {
                name: "reconcile.status_file",
                takes: "text, an absolute path",
                default: Words("none: one source is required"),
                meaning: "Nagios 4's or Naemon's `status.dat` (Debian's Nagios 4: \
                    `/var/lib/nagios4/status.dat`), read whole once per run; its \
                    `created` says how old it is.",
            },
            Key {
                name: "reconcile.livestatus",
                takes: "text, an absolute path",
                default: Words("none"),
                meaning: "A Livestatus unix socket (Naemon, Checkmk, Nagios with the \
                    livestatus broker module, Icinga 2 up to 2.17 with a `LivestatusListener`).",
            },
            Key {
                name: "reconcile.icinga2_url",
                takes: "text, https://HOST:PORT",
                default: Words("none"),
                meaning: "Icinga 2's REST API, e.g. `https://localhost:5665`; read with \
                    `/v1/status/IcingaApplication`, `/v1/objects/hosts` and \
                    `/v1/objects/services`. Its `ApiUser` needs the permissions \
                    `status/query`, `objects/query/Host` and `objects/query/Service`.",
            },
            Key {
                name: "reconcile.icinga2_user",
                takes: "text",
                default: Words("none: required with `icinga2_url`"),
                meaning: "The `ApiUser` reconcile logs in as (HTTP basic authentication).",
            },
            Key {
                name: "reconcile.icinga2_password_file",
                takes: "text, an absolute path",
                default: Words("none: required with `icinga2_url`"),
                meaning: "A file whose first line is that user's password (mode 0600 or \
                    0640, readable by the user reconcile runs as).",
            },
            Key {
                name: "reconcile.ca_file",
                takes: "text, the path of a PEM file",
                default: Words("the system's authorities only"),
                meaning: "The certificate authority of Icinga 2's API (its own: \
                    `/var/lib/icinga2/certs/ca.crt`), added to the system's.",
            },
            Key {
                name: "reconcile.create_missing",
                takes: "true or false",
                default: Value("true"),
                meaning: "Open a ticket for an object in a hard problem state, not in a \
                    downtime, whose host is not DOWN or UNREACHABLE, and that has none — if \
                    this program has seen it before (a record, a kept or delivered event, a \
                    ticket with its marker) or `create_groups` / `create_names` name it. Such a \
                    ticket takes `default_priority`.",
            },
            Key {
                name: "reconcile.create_groups",
                takes: "a list of host group names",
                default: Value("[]"),
                meaning: "Objects of hosts in these groups may get a ticket even if never \
                    seen. `status.dat` names no groups: with `status_file`, use \
                    `create_names`.",
            },
            Key {
                name: "reconcile.create_names",
                takes: "a list of patterns",
                default: Value("[]"),
                meaning: "`NODE` or `NODE/SERVICE` patterns (`*` any text, `?` one \
                    character, case-sensitive) of objects that may get a ticket even if never \
                    seen; a pattern without `/` names a host and all its services.",
            },
            Key {
                name: "reconcile.margin",
                takes: "whole seconds, 0 to 3600",
                default: Value("30"),
                meaning: "Nothing acts on a state younger than this: its notification may be \
                    on its way. Raise it to the engine's `first_notification_delay` when \
                    notifications are delayed.",
            },
            Key {
                name: "reconcile.max_age",
                takes: SECONDS,
                default: Value("60"),
                meaning: "A `status.dat` written longer ago than this is stale: nothing is \
                    changed and reconcile exits 8. The engine's `status_update_interval` (Nagios: \
                    10 s by default) must be below it. Livestatus and the REST API answer from the \
                    engine's memory: an answer is never old, no answer is exit 8.",
            },
        ],
    },
    Group {
        title: "THE [mail] TABLE",
        intro: "\
The notification mail of `SEND_TICKET_GLPI_MAIL` and `--mail` (see
`SEND_TICKET_GLPI_MAIL`(1)). Keep the table at the end of the file: every
key after a `[mail]` line belongs to it.",
        keys: &[
            Key {
                name: "mail.from",
                takes: "text, an address",
                default: Words("none: required to send mail"),
                meaning: "The sender, e.g. `\"Esia <esia@example.org>\"`.",
            },
            Key {
                name: "mail.smtp_host",
                takes: "text",
                default: Value("\"localhost\""),
                meaning: "The SMTP relay.",
            },
            Key {
                name: "mail.smtp_port",
                takes: "whole number, 1 to 65535",
                default: Value("25"),
                meaning: "Its port (587 for submission, 465 with `smtp_security = \"tls\"`).",
            },
            Key {
                name: "mail.smtp_security",
                takes: "\"none\", \"starttls\" or \"tls\"",
                default: Value("\"starttls\""),
                meaning: "`\"starttls\"`: the connection must be upgraded to TLS (not \
                    opportunistic); `\"tls\"`: TLS from the start; `\"none\"`: plain, for a local \
                    relay.",
            },
            Key {
                name: "mail.smtp_user",
                takes: "text",
                default: Words("no login"),
                meaning: "The SMTP login, when the relay requires one; with `smtp_password` \
                    (both, or neither).",
            },
            Key {
                name: "mail.smtp_password",
                takes: "text",
                default: Words("no login"),
                meaning: "Its password.",
            },
            Key {
                name: "mail.sendmail",
                takes: "text, a program's path",
                default: Words("SMTP"),
                meaning: "Send through this program instead of SMTP (run as \
                    {PROGRAM} `-i -f` {FROM} `--` {TO...}); the `smtp_*` keys are then unused.",
            },
            Key {
                name: "mail.tpl_mail_subject",
                takes: "text, a template",
                default: Words("the built-in subject, e.g. `[GLPI #42] CRITICAL web01:HTTP`"),
                meaning: "The mail's subject. See TEMPLATES.",
            },
            Key {
                name: "mail.tpl_mail_body",
                takes: "text, a template",
                default: Words("the built-in body"),
                meaning: "The mail's body, plain text (its HTML alternative is the same text, \
                    escaped); when the ticket is pending, the sentence saying so is put before \
                    it anyway.",
            },
        ],
    },
];
