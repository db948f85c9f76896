//! Each command page's own prose: its description, its examples and, where
//! it has one, the note on its exit status. `mod.rs` says which page takes
//! which text.

pub(super) const ROOT: &str = "\
`esia-glpi` turns monitoring alerts into GLPI tickets. The monitoring engine
(Esia, or any engine of the Nagios family: Nagios 4, Naemon, Icinga 2) runs it
once per state change, as the alert program `SEND_TICKET_GLPI` or
`SEND_TICKET_GLPI_MAIL`; according to a small state kept per node and service,
it creates a GLPI ticket, adds a follow-up, or solves the ticket when the
service is OK again, through the GLPI REST API (GLPI 10, or GLPI 11's
high-level API).

: WARNING, CRITICAL, UNKNOWN (DOWN, UNREACHABLE)
No ticket open for the node and service: create one. A ticket open: add a
follow-up \"status changed\" with the output, and update the priority if it
changed. The same state again writes nothing (a re-notification).

: OK (UP)
A ticket open: add a solution (the ticket becomes solved) and forget it, so
that the next problem opens a new ticket. None open: nothing to do.

: ACK, UNACK
A ticket open: a follow-up naming who acknowledged (or removed the
acknowledgement) and why. None open: nothing to do.

The notification type (`--type`) decides what an event means: an
acknowledgement, the start or end of a downtime or of flapping, a custom
notification (see `esia-glpi-notify`(1)). It never writes into a ticket a
technician solved or closed: the next problem opens a new ticket, which names
the old one. It never prints a token, and says what to do when GLPI refuses.

An event GLPI cannot take (down, refusing, too slow) is kept in the state
directory before anything else, and delivered in order by the next run for
the same node and service or by `esia-glpi flush`, which the package's timer
runs every minute: nothing is lost, nothing doubled.

Start with `esia-glpi check`, run as the monitoring engine's user: it walks
the path a notification takes and says precisely what is wrong. Standard
output carries one line per run (with `--json`, one JSON object); logs go to
standard error, and on request to the journal or syslog (`--log`).";

pub(super) const ROOT_EXAMPLES: &str = "\
Check the set-up, as the user the engine runs alert programs as:

    $ sudo -u nagios esia-glpi check

Open a test ticket, then solve it:

    $ esia-glpi notify -L 3 --node test-node --service HTTP \\
          --state CRITICAL --output \"test\"
    created ticket 42 https://glpi.example.org/front/ticket.form.php?id=42
    $ esia-glpi notify --node test-node --service HTTP --state OK
    solved ticket 42 https://glpi.example.org/front/ticket.form.php?id=42

See what is kept, and deliver it:

    $ esia-glpi state list
    $ esia-glpi flush";

pub(super) const NOTIFY: &str = "\
`esia-glpi notify` handles one state change of a node and service: what the
alert programs `SEND_TICKET_GLPI` and `SEND_TICKET_GLPI_MAIL` run. The
context comes from the options, else from the engine's environment macros
(see ENVIRONMENT); `--node` (or `NAGIOS_HOSTNAME`) is required, and a state
or a type. Every value may start with `-` (`--output \"-5 degrees\"`), and an
empty value is an empty value (`--group \"\"`: an empty macro in quotes).

: WARNING, CRITICAL, UNKNOWN (DOWN, UNREACHABLE)
No ticket open for the node and service: create one, with the priority of
`-L` (default `default_priority`, 3), linked to the asset named like the node
and to the requester `user_name`. A ticket open: a follow-up \"status
changed X to Y\" with the output; the priority is updated if it changed
(`update_priority`).

: OK (UP)
A ticket open: a solution; the ticket becomes solved and is forgotten, so
that the next problem opens a new one. None open: nothing to do.

: ACK, UNACK
A ticket open: a follow-up naming who acknowledged (or removed it) and why.

The same state as the one recorded is a re-notification: nothing is written
into GLPI (`ignored`). A ticket a technician solved, closed or deleted is
never written into: a problem opens a new ticket that names it.

The notification type (`--type`, Nagios `$NOTIFICATIONTYPE$`) decides what
the event means, the state it carries decides the rest: ACKNOWLEDGEMENT is an
acknowledgement whatever its state; FLAPPINGSTART opens a ticket for a
problem state and otherwise writes \"flapping started\", never solving;
FLAPPINGSTOP and FLAPPINGDISABLED carrying OK solve; DOWNTIMESTART never opens
a ticket; DOWNTIMEEND and DOWNTIMECANCELLED carrying OK solve (\"recovered
during the downtime\") and carrying a problem open one (it outlived the
maintenance); CUSTOM writes a follow-up into an open ticket. An unknown type
is read as no type, with a warning: a run never loses its alert to a
malformed macro.

Events are kept before anything else and delivered in the order they
happened (the engine's event numbers, `--event-id` and `--last-event-id`,
when it gives them; else the order the runs started). When GLPI cannot take
the event, it stays kept (`spooled`, exit 4, 5 or 6) for the next run of the
key or `esia-glpi flush`.

Standard output is one line naming the action, the ticket and its address
(`created ticket 42 https://...`, see EXAMPLES); with `--json`, one object with `action` (`created`, `followed_up`, `solved`,
`acknowledged`, `ignored`, `spooled`), `ticket_id`, `url`, `node`,
`service`, `state`, and `reason` when ignored or kept. With `--mail` (or as
`SEND_TICKET_GLPI_MAIL`) a notification mail follows the ticket action
(see `SEND_TICKET_GLPI_MAIL`(1)).";

pub(super) const NOTIFY_EXIT: &str = "\
An event GLPI could not take (4, 5) or that the state could not deliver (6)
is kept, and delivered by the next run for the same node and service or by
`esia-glpi flush`. The engine does not retry an alert program: that is
`flush`'s work.";

pub(super) const NOTIFY_EXAMPLES: &str = "\
A service problem, then its recovery, as Nagios passes them:

    $ esia-glpi notify -L 4 --type PROBLEM --node web01 --group Paris \\
          --service HTTP --state CRITICAL --output \"connection refused\"
    created ticket 42 https://glpi.example.org/front/ticket.form.php?id=42
    $ esia-glpi notify --type RECOVERY --node web01 --service HTTP \\
          --state OK --output \"HTTP OK\"
    solved ticket 42 https://glpi.example.org/front/ticket.form.php?id=42

An acknowledgement, whatever state it carries:

    $ esia-glpi notify --type ACKNOWLEDGEMENT --node web01 \\
          --service HTTP --state CRITICAL --author Jeanne \\
          --comment \"restarting Apache\"

A host alert (an empty service), answered in JSON:

    $ esia-glpi --json notify -L 5 --node db02 --service \"\" --state DOWN
    {\"action\":\"created\",\"ticket_id\":43,...}";

pub(super) const CHECK: &str = "\
`esia-glpi check` walks the path a `notify` takes, in order, and prints one
line per step: a check mark when it is fine, `!` when it works but deserves
attention, a cross for a problem, with one sentence saying how to fix it;
then whether `notify` will work. It writes nothing into GLPI and does not
touch the state directory. Run it as the user the monitoring engine runs its
alert programs as: that user must read the configuration and own the state
directory.

The steps: the configuration (syntax, values, required keys) and its
permissions; DNS, TCP and TLS to `host` (an expired certificate, an unknown
authority or a name mismatch is named, with `ca_file` as the way out); the
REST API enabled; this address allowed and the `app_token`; the
`user_token`; GLPI's version and API; the rights of the API user's profile
(create, read, update, follow up and solve tickets, read users and each
asset type; the explicit priority right is a warning only); the entity and
category; the requester; with `[state] backend = \"postgres\"`, the state
database and its schema.

With `--json`, one object: `ok`, `problems`, `warnings`, `glpi_version`, and
`checks`, each with `step`, `status` and `message`.";

pub(super) const CHECK_EXAMPLES: &str = "\
As the engine's user, after installing or editing the configuration:

    $ sudo -u nagios esia-glpi check

A configuration being prepared, before it replaces the real one:

    $ esia-glpi --config /tmp/glpi.conf check

For a monitoring probe:

    $ esia-glpi --json check";

pub(super) const FLUSH: &str = "\
`esia-glpi flush` delivers the events that were kept because GLPI could not
take them (down, refusing, too slow) or because the state database was
unreachable: every node and service, each one's events oldest first, within
`run_timeout` for the whole run; what is not reached in time stays for the
next flush. A key whose delivery fails keeps its events, in order, behind the
first failure.

The package's timer (`esia-glpi-flush.timer`) runs it every minute, as the
monitoring engine's user. Run it by hand once GLPI is back, or after fixing
what GLPI refused; an event GLPI will never accept is set aside with
`esia-glpi state forget`.

Standard output is `nothing to flush`, or `flushed N event(s) for K key(s);
M still kept` followed by one line per key still holding events, with the
error that stopped it; with `--json`, one object (`delivered`, `kept`,
`keys`).";

pub(super) const FLUSH_EXAMPLES: &str = "\
    $ sudo -u nagios esia-glpi flush
    $ systemctl list-timers esia-glpi-flush.timer
    $ journalctl -u esia-glpi-flush.service --since today";

pub(super) const STATE: &str = "\
`esia-glpi state` inspects and edits the state by hand: the record of each
node and service (its open ticket, state and priority) and the events kept
for it. It acts on the state directory, or on the state database with
`[state] backend = \"postgres\"` in the configuration. `list`, `show` and
`forget` accept `--state-dir` without a configuration.

A node and service is a key: the service is empty for a host alert (omit it,
or give `\"\"`).";

pub(super) const STATE_EXAMPLES: &str = "\
What is open or kept, then one key in detail:

    $ esia-glpi state list
    $ esia-glpi state show web01 HTTP

Drop an event GLPI keeps refusing (it is moved to `dropped/`):

    $ esia-glpi state forget web01 HTTP

Hand the events kept for another GLPI (`flush` exits 9) to this one:

    $ esia-glpi state adopt

After losing the state directory:

    $ sudo -u nagios esia-glpi state rebuild

Switching to the PostgreSQL backend, as the database's owner:

    $ esia-glpi state migrate
    $ esia-glpi state import";

pub(super) const HEALTH: &str = "\
`esia-glpi health` is a check for the monitoring engine to run on the program
itself. It reads the state only, never GLPI, and prints one line with
performance data: the events kept for this configuration's GLPI (WARNING past
`--kept-warning`, CRITICAL past `--kept-critical` seconds), the keys whose
first kept event failed `--attempts` times (CRITICAL when GLPI refused it:
only a fix delivers it), the events kept for another GLPI (WARNING: `state
adopt` hands them over), and the age of the last successful `flush` (WARNING
when none succeeded yet or past `--flush-warning`, CRITICAL past
`--flush-critical`). With `--json`, one object.";

pub(super) const HEALTH_EXAMPLES: &str = "\
    $ sudo -u nagios esia-glpi health
    ESIA-GLPI OK - 0 event(s) kept; last flush 12 s ago | kept=0 ...
    $ esia-glpi health --kept-warning 120 --kept-critical 600

As a Nagios command:

    define command {
        command_name  check_esia_glpi
        command_line  /usr/bin/esia-glpi health
    }";

pub(super) const RENDER: &str = "\
`esia-glpi render` takes the options of `notify` and prints the title and the
HTML content a `notify` would send for a new ticket, contacting nothing
(neither GLPI nor the state directory): the way to try `tpl_title` and
`tpl_content`. Variables it does not know are reported (and left as written);
with `--json`, one object with `title`, `content` and `unknown_variables`.";

pub(super) const RENDER_EXAMPLES: &str = "\
    $ esia-glpi render --node web01 --group Paris --service HTTP \\
          --state CRITICAL --output \"connection refused\"
    $ esia-glpi --config /tmp/glpi.conf --json render --node web01 \\
          --state DOWN --service \"\" --var site=Lyon";

pub(super) const RECONCILE: &str = "\
`esia-glpi reconcile` makes GLPI mirror the monitoring engine's current state.
Engines do not send every recovery: Nagios sends none for a state that changed
during a downtime (nagioscore#817), nor after flapping before Nagios 4.5.6
(nagioscore#91), nor for a problem it forgot in a restart without its
retention file, nor when `notification_options` lacks `r` or notifications
are disabled; Icinga 2 has the same holes (icinga2#9449, #10845, #7086,
#10631). Such a ticket would stay open for ever. `reconcile` asks the engine
what its state is, instead of waiting for what it says.

It reads the source of the `[reconcile]` table of the configuration (see
`glpi.conf`(5)) once and lists GLPI's open tickets once (indexed, paged: no
search per key). The keys with an open ticket are those of the records and
GLPI's open tickets written by the API user that carry the marker. Then, for
each node and service:

: a ticket open, the object OK or UP in a hard state
The ticket is solved; its solution says that the engine sent no recovery, and
since when the object is OK.

: a hard problem, no ticket open
A ticket is opened, with `default_priority` (`create_missing`, on by
default), if the object is not in a downtime, its host is not DOWN or
UNREACHABLE, and this program has seen it (a record, a kept or delivered
event, a ticket with its marker) or `create_groups` / `create_names` name it.
A ticket a human solved or closed in GLPI is never reopened by `reconcile`:
the next problem notification opens a new one.

: the object OK or UP, no open ticket listed, but a record naming one
That ticket is read: solved if it is open (one the listing misses), else the
record is forgotten.

: an open ticket whose object the engine no longer knows
Reported, left alone.

Nothing acts on a state younger than `margin` (30 s by default; raise it to
the engine's `first_notification_delay`): its notification may be on its way.
Nothing acts on an object the engine has not checked since it started, nor on
a soft state, nor on an object in a downtime (it keeps what it had: the
downtime's end settles it), nor on a key with kept events or held by a run:
`reconcile` takes each key's turn like a notification, so the two never race
into two tickets or a wrong solution. It keeps nothing for later: a change
GLPI does not take is reported as failed and decided again at the next run.

The sources: `status_file`, Nagios 4's or Naemon's `status.dat` (stale when
written more than `max_age` seconds ago, 60 by default: the engine's
`status_update_interval` must be below it; it names no host groups and no
address, so `create_groups` does not apply and the ticket's
`%node.group.name` and `%node.address` are empty); `livestatus`, a Livestatus
unix socket (Naemon, Checkmk, Nagios with its broker module, Icinga 2 up to
2.17); `icinga2_url`, Icinga 2's REST API. A live source answers from the
engine's memory. `--status-file` reads another `status.dat` instead. A source
that is stale, unreadable or unreachable changes nothing (exit 8). Without a
`[reconcile]` table (and no `--status-file`), `reconcile` says it is not
configured and exits 0. `esia-glpi check` verifies the source as the engine's
user.

Standard output: a first line naming the source, how old its state is and how
many tickets are open in GLPI (`reconcile: 42 objects from status.dat
/var/lib/nagios4/status.dat (written 3 s ago), 7 open tickets in GLPI`); one
line per key acted upon or left for a reason worth saying (`solved ticket 12
(srv-web-01 HTTP): OK since 2026-12-07 03:12, the engine sent no recovery`;
`opened ticket 31 (db01 Disk): CRITICAL, no ticket was open`; `left srv-old
PING (ticket 9): the engine does not know this object any more`); then the
counts (`→ solved 1, opened 1, left 1`). With `--dry-run`, nothing is changed
and the lines say `would solve ticket 12 (...)`, `would open a ticket (...)`.

With `--json`, one object: `configured` (alone, false, without a
`[reconcile]` table), `source`, `taken` (RFC 3339), `objects`,
`engine_started`, `open_tickets`, `dry_run`, `solved`, `opened`, `left`,
`failed`, `keys` (each with `node`, `service`, `action` — `solved`, `opened`,
`would_solve`, `would_open`, `left` or `failed` — `ticket`, `state`, `since`,
`reason`, `error`), `requests`, `source_requests`, `ms`. The reasons: `unknown_to_engine`, `not_checked`,
`soft_state`, `within_margin`, `in_downtime`, `host_down`, `closed_in_glpi`,
`notification_in_progress`, `newer_than_source`.

Esia offers no state file or API that `reconcile` can read: it does not apply
to an Esia site (see the README, \"Reconcile\").";

pub(super) const RECONCILE_EXIT: &str = "\
`reconcile` exits 0 when GLPI mirrors the engine or was made to, and when it
is not configured; 8 when the engine's state source is stale, unreadable or
unreachable: nothing was changed, and a hint says what to fix. Otherwise a
status of the table below: 3 the configuration; 4, 5 or 6 when GLPI or the
state failed, the keys concerned `failed` in the report. Under the timer, any
status but 0 is a failed unit.";

pub(super) const RECONCILE_EXAMPLES: &str = "\
What it would do, as the engine's user, changing nothing:

    $ sudo -u nagios esia-glpi reconcile --dry-run

A copy of Nagios's state, or an answer in JSON:

    $ sudo -u nagios esia-glpi reconcile --status-file /tmp/status.dat
    $ sudo -u nagios esia-glpi --json reconcile

The timer's runs:

    $ systemctl status esia-glpi-reconcile.timer
    $ journalctl -u esia-glpi-reconcile --since today

The table for Debian's Nagios 4, before `[mail]`:

    [reconcile]
    status_file = \"/var/lib/nagios4/status.dat\"
    create_names = [\"web-*\", \"db01/Disk*\"]
    margin = 30";

pub(super) const SEND_TICKET_GLPI: &str = "\
`SEND_TICKET_GLPI` is the alert program the monitoring engine runs once per
state change (a symbolic link to `esia-glpi`). Started under this name, the
binary behaves as `esia-glpi notify`: it creates the GLPI ticket of the node
and service, follows it up, or solves it (see `esia-glpi-notify`(1)).

Esia passes the priority with `-L` and the context as options, or as Nagios
environment macros. Nagios 4, Naemon and Icinga 2 pass everything as
arguments with the definitions in `/usr/share/esia-glpi/engines/`: every
notification type must be sent, flapping and downtimes included, or a
recovery that comes only as a DOWNTIMEEND or a FLAPPINGSTOP would leave its
ticket open.

The priority `-L`: 1 very low, 2 low, 3 medium (default: `default_priority`),
4 high, 5 very high, 6 major. The ticket is created with that priority and
the urgency and impact GLPI's default matrix maps to it (5 for major).";

pub(super) const SEND_TICKET_GLPI_EXAMPLES: &str = "\
Check the set-up by hand, as the engine's user, with a test node:

    $ sudo -u nagios SEND_TICKET_GLPI -L 3 --node test-node \\
          --service HTTP --state CRITICAL --output \"test\"
    $ sudo -u nagios SEND_TICKET_GLPI --node test-node \\
          --service HTTP --state OK

A Nagios command definition (the shipped one passes every macro):

    define command {
        command_name  notify-service-by-glpi
        command_line  /usr/bin/SEND_TICKET_GLPI -L 4
            --type \"$NOTIFICATIONTYPE$\" --node \"$HOSTNAME$\"
            --service \"$SERVICEDESC$\" --state \"$SERVICESTATE$\"
            --output \"$SERVICEOUTPUT$\" ...
    }";

pub(super) const SEND_TICKET_GLPI_MAIL: &str = "\
`SEND_TICKET_GLPI_MAIL` is the alert program that handles the GLPI ticket
like `SEND_TICKET_GLPI` (see `SEND_TICKET_GLPI`(1) and `esia-glpi-notify`(1)),
then sends a notification mail, like the engine's own SEND_MAIL, with the
ticket's link in it. Started under this name (a symbolic link to
`esia-glpi`), the binary behaves as `esia-glpi notify` with mail sending on.

The recipients are every `--mail` value (repeatable; one value may list
several addresses separated by commas), else the contact's address the
engine exports (`NAGIOS_CONTACTEMAIL`, `ICINGA_CONTACTEMAIL`). The `[mail]`
table of the configuration names at least the sender (`from`) and the relay
(`smtp_host`, or `sendmail`): see `glpi.conf`(5).

One mail per run, after the ticket action, whatever it was: created, followed
up, solved, acknowledged, nothing to do, or pending when GLPI could not take
the event (the mail says so: it is the fallback channel). The subject reads
`[GLPI #42] CRITICAL web01:HTTP`; the body says what became of the ticket,
its address, then the node, address, group, service, state, priority, date,
the acknowledgement's author and comment, and the output, in the
configuration's `lang`, as plain text with an HTML alternative.

A mail that cannot be sent never holds back the ticket action: when the
ticket action succeeded, the run exits 7; when it failed, its own status
wins and the mail failure is only logged. The mail is not retried.";

pub(super) const SEND_TICKET_GLPI_MAIL_EXAMPLES: &str = "\
    $ sudo -u nagios SEND_TICKET_GLPI_MAIL -L 4 --node test-node \\
          --service HTTP --state CRITICAL --output \"test\" \\
          --mail oncall@example.org,noc@example.org

The configuration's `[mail]` table, last in `/etc/esia/glpi.conf`:

    [mail]
    from = \"Esia <esia@example.org>\"
    smtp_host = \"smtp.example.org\"
    smtp_port = 587";
