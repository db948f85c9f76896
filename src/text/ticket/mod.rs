//! The texts written into GLPI: title, content, follow-ups, solution — in
//! French (default) or English — and the stable marker of a key.

use std::fmt::Write as _;

use super::html::{escape_html, html_lines, one_line};
use crate::core::{Event, Key, Lang, Note, NotificationType, Remote, Solution, State};
use crate::template::{self, Vars};

/// GLPI's ticket title column is varchar(255).
pub(crate) const TITLE_MAX_CHARS: usize = 255;
/// Longest check output copied into GLPI; the rest is cut with a visible note.
pub(crate) const OUTPUT_MAX_BYTES: usize = 64 * 1024;

/// GLPI ticket priority 1..=6 (SPEC `-L`), in words.
pub(crate) fn priority_label(priority: u8, lang: Lang) -> &'static str {
    match (lang, priority) {
        (Lang::Fr, 1) => "très basse",
        (Lang::Fr, 2) => "basse",
        (Lang::Fr, 3) => "moyenne",
        (Lang::Fr, 4) => "haute",
        (Lang::Fr, 5) => "très haute",
        (Lang::Fr, _) => "majeure",
        (Lang::En, 1) => "very low",
        (Lang::En, 2) => "low",
        (Lang::En, 3) => "medium",
        (Lang::En, 4) => "high",
        (Lang::En, 5) => "very high",
        (Lang::En, _) => "major",
    }
}

/// The marker that lets us find the open ticket of a key again in GLPI
/// (search on the description field). Hex keeps it free of characters that
/// GLPI encodes or that SQL LIKE interprets; the brackets stop a key from
/// matching a longer one.
pub(crate) fn marker(key: &Key) -> String {
    let hex = |s: &str| {
        s.bytes()
            .fold(String::with_capacity(s.len() * 2), |mut acc, b| {
                let _ = write!(acc, "{b:02x}");
                acc
            })
    };
    format!("[esia-glpi:{}:{}]", hex(&key.node), hex(&key.service))
}

/// The key's identity in GLPI 11's `externalid`: `esia-glpi:` and the
/// SHA-256 of its marker in hexadecimal — fixed length (names may be far
/// longer than the column's 255 characters), searched for by equality. A
/// ticket found by it is still checked against its description's marker.
pub(crate) fn external_id(key: &Key) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, marker(key).as_bytes());
    digest
        .as_ref()
        .iter()
        .fold(String::from(EXTERNAL_ID_PREFIX), |mut acc, b| {
            let _ = write!(acc, "{b:02x}");
            acc
        })
}

/// The start every marker shares, for searching all of them.
pub(crate) const MARKER_PREFIX: &str = "[esia-glpi:";

/// The start every `externalid` esia-glpi gives shares.
pub(crate) const EXTERNAL_ID_PREFIX: &str = "esia-glpi:";

/// Reads the key back from the last marker found in a ticket's content:
/// [`content`] writes it after everything else, so a value of the monitored
/// world (a check output) that holds marker text comes before it (found by
/// fuzz/ `template`).
pub(crate) fn parse_marker(content: &str) -> Option<Key> {
    let start = content.rfind(MARKER_PREFIX)? + MARKER_PREFIX.len();
    let rest = &content[start..];
    let (inner, _) = rest.split_once(']')?;
    let (node, service) = inner.split_once(':')?;
    let unhex = |h: &str| -> Option<String> {
        if !h.len().is_multiple_of(2) {
            return None;
        }
        let bytes = (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        String::from_utf8(bytes).ok()
    };
    let key = Key {
        node: unhex(node)?,
        service: unhex(service)?,
    };
    (!key.node.is_empty()).then_some(key)
}

/// Cuts an over-long output on a character boundary, saying so.
pub(crate) fn cap_output(output: &str, lang: Lang) -> String {
    if output.len() <= OUTPUT_MAX_BYTES {
        return output.to_string();
    }
    let cut = (0..=OUTPUT_MAX_BYTES)
        .rev()
        .find(|i| output.is_char_boundary(*i))
        .unwrap_or(0);
    let note = match lang {
        Lang::Fr => format!("[… sortie tronquée : {} octets sur {}]", cut, output.len()),
        Lang::En => format!("[… output truncated: {} of {} bytes]", cut, output.len()),
    };
    format!("{}\n{note}", &output[..cut])
}

/// The template variables of an event (SPEC "Configuration", `tpl_title`).
pub(crate) fn vars(event: &Event, previous: Option<State>, date: &str, lang: Lang) -> Vars {
    let mut v = Vars::new();
    v.set("node.name", event.key.node.clone());
    v.set("node.group.name", event.group.clone());
    v.set("node.address", event.address.clone());
    v.set("service.name", event.key.service.clone());
    v.set("service.state", event.state.label());
    let recovered = if event.key.service.is_empty() {
        State::Up
    } else {
        State::Ok
    };
    v.set(
        "service.previous_state",
        previous.unwrap_or(recovered).label(),
    );
    v.set("service.output", cap_output(&event.output, lang));
    v.set("priority", event.priority.to_string());
    v.set("priority.label", priority_label(event.priority, lang));
    v.set("date", date);
    v.set(
        "notification.type",
        event.kind.map_or("", NotificationType::label),
    );
    v.set("notification.author", event.author.clone());
    v.set("notification.comment", event.comment.clone());
    for (name, value) in &event.vars {
        v.set(name.clone(), value.clone());
    }
    v
}

/// A rendered text and the unknown variables met (for a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text {
    pub(crate) text: String,
    pub(crate) unknown: Vec<String>,
}

/// The ticket title: plain text on one line, at most 255 characters. For a
/// host alert (no service) the separator written before `%service.name` goes
/// with it: `( Lyon ) srv-db-02`, not `( Lyon ) srv-db-02:`.
pub(crate) fn title(tpl: &str, vars: &Vars) -> Text {
    let tpl = if vars.get("service.name").is_none_or(str::is_empty) {
        drop_before_var(tpl, SERVICE_VAR)
    } else {
        tpl.to_string()
    };
    let r = template::render(&tpl, vars, str::to_string);
    let cut: String = one_line(&r.text)
        .trim()
        .chars()
        .take(TITLE_MAX_CHARS)
        .collect();
    // The cut may land just after a space (found by the property tests).
    let text = cut.trim_end().to_string();
    Text {
        text,
        unknown: r.unknown,
    }
}

const SERVICE_VAR: &str = "%service.name";

/// `tpl` without the separator (one of `:/|-`, and the blanks around it)
/// written just before each use of `var`.
fn drop_before_var(tpl: &str, var: &str) -> String {
    let mut out = String::with_capacity(tpl.len());
    let mut rest = tpl;
    while let Some(at) = rest.find(var) {
        let before = &rest[..at];
        let kept = before
            .trim_end()
            .strip_suffix([':', '/', '|', '-'])
            .map_or(before, str::trim_end);
        out.push_str(kept);
        out.push_str(var);
        rest = &rest[at + var.len()..];
    }
    out.push_str(rest);
    out
}

fn remote_label(remote: Remote, lang: Lang) -> &'static str {
    match (lang, remote) {
        (Lang::Fr, Remote::Solved) => "résolu",
        (Lang::Fr, Remote::Closed) => "clos",
        (Lang::Fr, Remote::Trashed) => "mis à la corbeille",
        (Lang::Fr, Remote::Gone) => "supprimé",
        (Lang::Fr, Remote::Open) => "ouvert",
        (Lang::En, Remote::Solved) => "solved",
        (Lang::En, Remote::Closed) => "closed",
        (Lang::En, Remote::Trashed) => "put in the trash",
        (Lang::En, Remote::Gone) => "purged",
        (Lang::En, Remote::Open) => "open",
    }
}

/// The ticket content (HTML). `tpl` is the administrator's `tpl_content`
/// (HTML written by them; values escaped), or the built-in layout. The note
/// about a replaced ticket and the marker are always appended.
pub(crate) fn content(
    tpl: Option<&str>,
    vars: &Vars,
    lang: Lang,
    previous_ticket: Option<(u64, Remote)>,
    key: &Key,
) -> Text {
    let tpl = tpl.map_or_else(|| default_content_template(vars, lang), str::to_string);
    let r = template::render(&tpl, vars, html_lines);
    let mut text = r.text;
    if let Some((id, remote)) = previous_ticket {
        let _ = match lang {
            Lang::Fr => write!(
                text,
                "<p>Ce ticket remplace le ticket {id}, {} dans GLPI.</p>",
                remote_label(remote, lang)
            ),
            Lang::En => write!(
                text,
                "<p>This ticket replaces ticket {id}, which was {} in GLPI.</p>",
                remote_label(remote, lang)
            ),
        };
    }
    let _ = write!(text, "<p><small>{}</small></p>", marker(key));
    Text {
        text,
        unknown: r.unknown,
    }
}

/// The title and the content of a new ticket, and the unknown variables met
/// in either template (each once, for a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TicketText {
    pub(crate) title: String,
    pub(crate) content: String,
    pub(crate) unknown: Vec<String>,
}

/// The texts of a new ticket for `key`: `tpl_title` and `tpl_content` (the
/// configuration's) rendered with `vars`; `replaces` names the ticket a human
/// closed, if any.
pub(crate) fn ticket(
    tpl_title: &str,
    tpl_content: Option<&str>,
    vars: &Vars,
    lang: Lang,
    replaces: Option<(u64, Remote)>,
    key: &Key,
) -> TicketText {
    let title = title(tpl_title, vars);
    let content = content(tpl_content, vars, lang, replaces, key);
    let mut unknown = title.unknown;
    for name in content.unknown {
        if !unknown.contains(&name) {
            unknown.push(name);
        }
    }
    TicketText {
        title: title.text,
        content: content.text,
        unknown,
    }
}

/// The built-in layout: one line per field the event has a value for (a
/// host alert has no service line), then the output.
fn default_content_template(vars: &Vars, lang: Lang) -> String {
    let labels = field_labels(lang);
    let fields = [
        "node.name",
        "node.address",
        "node.group.name",
        "service.name",
        "service.state",
        "service.previous_state",
        "priority.label",
        "date",
    ];
    // French typography puts a space before the colon.
    let colon = match lang {
        Lang::Fr => " :",
        Lang::En => ":",
    };
    let mut lines = Vec::new();
    for (label, var) in labels.iter().zip(fields) {
        if vars.get(var).is_some_and(|v| !v.trim().is_empty()) {
            lines.push(format!("<b>{label}</b>{colon} %{var}"));
        }
    }
    let has = |var: &str| vars.get(var).is_some_and(|v| !v.trim().is_empty());
    // What a flapping, downtime or custom notification adds.
    if vars
        .get("notification.type")
        .is_some_and(|t| !matches!(t, "" | "PROBLEM" | "RECOVERY"))
    {
        lines.push(format!("<b>Notification</b>{colon} %notification.type"));
    }
    let (by, why) = author_labels(lang);
    for (label, var) in [(by, "notification.author"), (why, "notification.comment")] {
        if has(var) {
            lines.push(format!("<b>{label}</b>{colon} %{var}"));
        }
    }
    let mut out = format!("<p>{}</p>", lines.join("<br>"));
    if has("service.output") {
        let _ = write!(out, "<p><b>{}</b>{colon}<br>%service.output</p>", labels[8]);
    }
    out
}

/// A follow-up (HTML), dated with the event's time.
pub(crate) fn followup(note: &Note, event: &Event, date: &str, lang: Lang) -> String {
    let by = |fr: &str, en: &str| {
        let who = &event.author;
        match (lang, who.is_empty()) {
            (Lang::Fr, true) => fr.to_string(),
            (Lang::En, true) => en.to_string(),
            (Lang::Fr, false) => format!("{fr} par {who}"),
            (Lang::En, false) => format!("{en} by {who}"),
        }
    };
    let head = match (note, lang) {
        (
            Note::StateChange {
                from: Some(from),
                to,
            },
            Lang::Fr,
        ) => {
            format!("Changement d'état : {from} → {to}")
        }
        (
            Note::StateChange {
                from: Some(from),
                to,
            },
            Lang::En,
        ) => {
            format!("Status changed {from} → {to}")
        }
        (Note::StateChange { from: None, to }, Lang::Fr) => format!("État : {to}"),
        (Note::StateChange { from: None, to }, Lang::En) => format!("Status: {to}"),
        (Note::Ack, _) => by("Acquitté", "Acknowledged"),
        (Note::Unack, _) => by("Acquittement retiré", "Acknowledgement removed"),
        (Note::Notification { kind, from, to }, _) => {
            let what = notification_head(*kind, lang, &by);
            let state = match (from, lang) {
                (Some(from), Lang::Fr) if from != to => format!("état : {from} → {to}"),
                (Some(from), Lang::En) if from != to => format!("status {from} → {to}"),
                (_, Lang::Fr) => format!("état : {to}"),
                (_, Lang::En) => format!("status: {to}"),
            };
            format!("{what} — {state}")
        }
    };
    // The author comes from the monitored world: like the content, the
    // follow-up carries no control character (found by fuzz/ `template`).
    let head = one_line(&head);
    let output = cap_output(&event.output, lang);
    let body: Vec<&str> = match note {
        Note::StateChange { .. } => vec![&output],
        Note::Ack | Note::Unack => vec![&event.comment],
        Note::Notification { .. } => vec![&event.comment, &output],
    };
    let mut out = format!(
        "<p><b>{}</b> ({})</p>",
        escape_html(&head),
        escape_html(date)
    );
    for part in body.into_iter().filter(|p| !p.is_empty()) {
        let _ = write!(out, "<p>{}</p>", html_lines(part));
    }
    // Last: the event's tag, by which a retried delivery finds it (plain
    // text, no character HTML or GLPI 10's encoding changes).
    let _ = write!(out, "<p>{}</p>", event_tag(event));
    out
}

/// What a flapping, downtime or custom notification says first; `by`
/// names its author when it has one.
fn notification_head(
    kind: NotificationType,
    lang: Lang,
    by: &dyn Fn(&str, &str) -> String,
) -> String {
    use NotificationType as T;
    let (fr, en) = match kind {
        T::FlappingStart => ("Bagotement détecté", "Flapping started"),
        T::FlappingStop => ("Fin du bagotement", "Flapping stopped"),
        T::FlappingDisabled => (
            "Détection du bagotement désactivée",
            "Flapping detection disabled",
        ),
        T::DowntimeStart => return by("Maintenance commencée", "Downtime started"),
        T::DowntimeEnd => ("Fin de maintenance", "Downtime ended"),
        T::DowntimeCancelled => return by("Maintenance annulée", "Downtime cancelled"),
        T::Custom => return by("Notification personnalisée", "Custom notification"),
        T::Problem => ("Problème", "Problem"),
        T::Recovery => ("Rétablissement", "Recovery"),
        T::Acknowledgement => return by("Acquitté", "Acknowledged"),
        T::Reconcile => (
            "Rapprochement avec l'état du moteur",
            "Reconciled with the engine's state",
        ),
    };
    match lang {
        Lang::Fr => fr.to_string(),
        Lang::En => en.to_string(),
    }
}

/// The start of every event tag.
const EVENT_TAG_PREFIX: &str = "[esia-glpi event ";

/// The identity of an event, written as the last line of its follow-up:
/// `[esia-glpi event <12 hex digits>]`, the start of a SHA-256 of its key,
/// time, state, output, author and comment, engine id, and notification
/// type when one was given.
/// Stable across runs, servers and versions: a run retrying the event finds
/// the follow-up an earlier run wrote ([`carries_tag`]).
pub(crate) fn event_tag(event: &Event) -> String {
    let time = event.time.to_string();
    let state = event.state.to_string();
    let engine_id = event
        .order
        .as_ref()
        .map(|o| o.id.to_string())
        .unwrap_or_default();
    let fields: [&str; 8] = [
        &event.key.node,
        &event.key.service,
        &time,
        &state,
        &event.output,
        &event.author,
        &event.comment,
        &engine_id,
    ];
    // The type joins the fields only when given: an event kept by a version
    // that did not read types keeps its tag.
    let kind = event.kind.map(NotificationType::label);
    let mut bytes = Vec::new();
    for f in fields.into_iter().chain(kind) {
        // Length-prefixed: no two lists of fields give the same bytes.
        bytes.extend_from_slice(&(f.len() as u64).to_be_bytes());
        bytes.extend_from_slice(f.as_bytes());
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
    digest.as_ref()[..6]
        .iter()
        .fold(String::from(EVENT_TAG_PREFIX), |mut acc, b| {
            let _ = write!(acc, "{b:02x}");
            acc
        })
        + "]"
}

/// True when a follow-up's text (as GLPI gives it back, entities decoded)
/// carries the tag of `event`.
pub(crate) fn carries_tag(content: &str, event: &Event) -> bool {
    content.contains(&event_tag(event))
}

/// The solution added when a ticket is solved (HTML): why, and the output.
pub(crate) fn solution(event: &Event, why: Solution, date: &str, lang: Lang) -> String {
    let state = event.state;
    let head = match (why, lang) {
        (Solution::Recovered, Lang::Fr) => format!("Retour à l'état {state} ({date})"),
        (Solution::Recovered, Lang::En) => format!("Recovered: back to {state} ({date})"),
        (Solution::FlappingStopped, Lang::Fr) => {
            format!("Fin du bagotement : retour à l'état {state} ({date})")
        }
        (Solution::FlappingStopped, Lang::En) => {
            format!("Flapping stopped: back to {state} ({date})")
        }
        (Solution::RecoveredInDowntime, Lang::Fr) => format!(
            "Rétabli pendant la maintenance : état {state} à la fin de la maintenance ({date})"
        ),
        (Solution::RecoveredInDowntime, Lang::En) => {
            format!("Recovered during the downtime: {state} when the downtime ended ({date})")
        }
        (Solution::Reconciled, Lang::Fr) => format!(
            "Résolu par esia-glpi reconcile : le moteur de supervision n'a envoyé aucun \
             rétablissement ; son état indique {state} depuis le {date}"
        ),
        (Solution::Reconciled, Lang::En) => format!(
            "Solved by esia-glpi reconcile: the monitoring engine sent no recovery; its state \
             says {state} since {date}"
        ),
    };
    let mut out = format!("<p><b>{}</b></p>", escape_html(&head));
    let output = cap_output(&event.output, lang);
    if !output.is_empty() {
        let _ = write!(out, "<p>{}</p>", html_lines(&output));
    }
    out
}

/// The labels of who and why (acknowledgement, downtime, custom
/// notification), in the built-in ticket content and mail body.
pub(crate) fn author_labels(lang: Lang) -> (&'static str, &'static str) {
    match lang {
        Lang::Fr => ("Par", "Commentaire"),
        Lang::En => ("By", "Comment"),
    }
}

/// The field labels of the built-in ticket content and mail body.
pub(crate) fn field_labels(lang: Lang) -> [&'static str; 9] {
    match lang {
        Lang::Fr => [
            "Nœud",
            "Adresse",
            "Groupe",
            "Service",
            "État",
            "État précédent",
            "Priorité",
            "Date",
            "Sortie",
        ],
        Lang::En => [
            "Node",
            "Address",
            "Group",
            "Service",
            "State",
            "Previous state",
            "Priority",
            "Date",
            "Output",
        ],
    }
}

#[cfg(test)]
mod tests;
