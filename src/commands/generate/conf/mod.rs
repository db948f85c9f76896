//! `glpi.conf`(5): every key of the configuration file, with its type, its
//! default and its meaning, and the `[state]`, `[reconcile]` and `[mail]`
//! tables.
//!
//! The keys are written in `keys.rs`, beside the page, and `tests.rs` holds
//! them to the code: the names are exactly the fields of the raw form
//! (`config/raw.rs`, read as text), every default written as a value parses
//! to the same configuration as the key left out, and the shipped
//! `conf/glpi.conf` (also the example installed under
//! `/usr/share/doc/esia-glpi/examples/`) mentions every key. Pure.

use clap_mangen::roff::{bold, roman};

use super::roff::{Page, inline};

mod keys;
#[cfg(test)]
mod tests;

use keys::Fallback::{Value, Words};
use keys::GROUPS;

/// The template variables (a test renders each one).
pub(super) const VARIABLES: &[(&str, &str)] = &[
    ("node.name", "the node (host)"),
    ("node.group.name", "its group"),
    ("node.address", "its address"),
    ("service.name", "the service (empty for a host alert)"),
    ("service.state", "the state (CRITICAL, OK, DOWN, ...)"),
    (
        "service.previous_state",
        "the state recorded before this event",
    ),
    ("service.output", "the check's output (cut at 64 KiB)"),
    ("priority", "the priority, 1 to 6"),
    ("priority.label", "its name (very low to major), in `lang`"),
    ("date", "the date of the event"),
    (
        "notification.type",
        "the notification type, when the engine gave one",
    ),
    (
        "notification.author",
        "who acknowledged, set the downtime, sent the custom notification",
    ),
    ("notification.comment", "and why"),
];

/// The mail templates' variables, besides the ticket's.
pub(super) const MAIL_VARIABLES: &[(&str, &str)] = &[
    (
        "ticket.id",
        "the ticket's number (empty while none is known)",
    ),
    ("ticket.url", "its address (empty while none is known)"),
    (
        "ticket.status",
        "the sentence saying what became of it (pending, when GLPI was down)",
    ),
];

const DESCRIPTION: &str = "\
The configuration of `esia-glpi`(1) and of the alert programs
`SEND_TICKET_GLPI` and `SEND_TICKET_GLPI_MAIL`, read at every run from
`/etc/esia/glpi.conf`, or the file `--config` or `ESIA_GLPI_CONFIG` names.

The file is TOML: `key = value` lines, text values in double quotes, numbers
and true or false without; `#` starts a comment. The tables `[state]` and
`[mail]` come last: every key after a table's line belongs to it. Every key
below is optional unless it says otherwise; an unknown key, a missing
required key or a bad value stops every run with exit 3, naming the key and
its line, never echoing the line (it may hold a token).

The file holds the GLPI tokens: mode 0640, owned by root, group of the
monitoring engine's user (the package sets it so); a file every user can
read draws a warning at each run. `esia-glpi check` says what is wrong with
it, and then with GLPI.";

const TEMPLATES: &str = "\
`tpl_title`, `tpl_content`, `tpl_mail_subject` and `tpl_mail_body` are text
in which `%`{name} stands for a variable. The longest known name wins
(`%node.group.name` is not `%node.group` followed by `.name`); `%%` writes a
`%`; an unknown name is left as written and reported as a warning. Every
`--var` {KEY}`=`{VALUE} given to `notify` adds the variable `%`{KEY}.
`esia-glpi render` shows what a template gives. The variables:";

const EXAMPLES: &str = "\
The file the Esia documentation shows (the tokens replaced by yours):

    host=\"https://glpi.example.org/glpi\"
    app_token=\"vrFkHRcPTYt4Dt79zD78oPuiGKRYlAJGqsYr9kjv\"
    user_token=\"YjJC9qCUHSK8JKY1BSsJ2wDfg8IgBid1c1okKsrM\"
    user_name=\"esia\"
    tpl_title=\"( %node.group.name ) %node.name:%service.name\"

GLPI 11's high-level API, tickets in entity 3, in English, with mail:

    host = \"https://glpi.example.org\"
    api = \"v2\"
    client_id = \"2b1f0c3e...\"
    client_secret = \"...\"
    username = \"esia\"
    password_file = \"/etc/esia/glpi.password\"
    entity = 3
    lang = \"en\"

    [mail]
    from = \"Esia <esia@example.org>\"
    smtp_host = \"smtp.example.org\"
    smtp_port = 587

Two monitoring servers sharing their state:

    [state]
    backend = \"postgres\"
    url = \"postgres://esia@db.example.org:5432/esia_glpi?sslmode=require\"
    password_file = \"/etc/esia/state-db.password\"

Reconcile with Debian's Nagios 4, with a Livestatus socket, or with Icinga 2's
REST API (one of the three):

    [reconcile]
    status_file = \"/var/lib/nagios4/status.dat\"
    create_names = [\"web-*\", \"db01/Disk*\"]

    [reconcile]
    livestatus = \"/var/run/icinga2/cmd/livestatus\"

    [reconcile]
    icinga2_url = \"https://localhost:5665\"
    icinga2_user = \"esia-glpi\"
    icinga2_password_file = \"/etc/esia/icinga2-api.password\"
    ca_file = \"/var/lib/icinga2/certs/ca.crt\"";

/// The page `glpi.conf.5`.
pub(super) fn page() -> String {
    let mut page = Page::new("glpi.conf", "5");
    page.name(
        "glpi.conf",
        "configuration of esia-glpi, the GLPI ticket maker of Esia and Nagios-family engines",
    );
    page.section("SYNOPSIS");
    page.prose("`/etc/esia/glpi.conf`");
    page.section("DESCRIPTION");
    page.prose(DESCRIPTION);
    for group in GROUPS {
        page.section(group.title);
        if !group.intro.is_empty() {
            page.prose(group.intro);
        }
        for key in group.keys {
            let shown = key.name.split_once('.').map_or(key.name, |(_, k)| k);
            let mut tag = vec![bold(shown), roman(" = ")];
            tag.extend(inline(key.takes));
            let default = match key.default {
                Value(v) => format!("Default: `{v}`."),
                Words(w) => format!("Default: {w}."),
            };
            page.tagged(tag, &format!("{} {default}", key.meaning));
        }
    }
    page.section("TEMPLATES");
    page.prose(TEMPLATES);
    for (name, meaning) in VARIABLES {
        page.tagged(
            vec![bold(format!("%{name}"))],
            &format!("{}.", capital(meaning)),
        );
    }
    page.prose("The mail templates have the ticket's too:");
    for (name, meaning) in MAIL_VARIABLES {
        page.tagged(
            vec![bold(format!("%{name}"))],
            &format!("{}.", capital(meaning)),
        );
    }
    page.section("EXIT STATUS");
    page.prose(
        "Every command of `esia-glpi`(1) that reads the file exits 3 when it is missing, \
         unreadable, not a regular file, larger than 256 KiB or invalid; the error names the \
         key and its line, and `esia-glpi check` says how to fix it.",
    );
    page.section("ENVIRONMENT");
    page.prose(
        ": `ESIA_GLPI_CONFIG`\nThe configuration file to read instead of \
         `/etc/esia/glpi.conf` (`--config` wins over it).",
    );
    page.section("FILES");
    page.prose(
        ": `/etc/esia/glpi.conf`\nThe configuration (a conffile of the package).\n\n\
         : `/usr/share/doc/esia-glpi/examples/glpi.conf`\nThe file as shipped: the five keys of \
         the Esia documentation, then every optional key commented out with its default.\n\n\
         : `/var/lib/esia-glpi/`\nThe default `state_dir`.",
    );
    page.section("EXAMPLES");
    page.prose(EXAMPLES);
    page.section("SEE ALSO");
    page.lines(vec![vec![
        bold("esia-glpi"),
        roman("(1), "),
        bold("esia-glpi-check"),
        roman("(1), "),
        bold("esia-glpi-render"),
        roman("(1), "),
        bold("esia-glpi-reconcile"),
        roman("(1), "),
        bold("SEND_TICKET_GLPI_MAIL"),
        roman("(1)"),
    ]]);
    page.prose(
        "`/usr/share/doc/esia-glpi/README.md`: the whole manual (GLPI 11, several monitoring \
         servers, durability, troubleshooting).",
    );
    page.finish()
}

fn capital(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}
