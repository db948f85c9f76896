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
mod tests {
    use super::*;

    fn event(output: &str) -> Event {
        Event {
            key: Key {
                node: "web<01>".into(),
                service: "HTTP".into(),
            },
            group: "Paris & co".into(),
            address: "10.0.0.1".into(),
            state: State::Critical,
            output: output.into(),
            priority: 4,
            kind: None,
            author: "<b>bob</b>".into(),
            comment: "it's \"fine\"".into(),
            vars: vec![("site".into(), "<x>".into())],
            time: jiff::Timestamp::UNIX_EPOCH,
            order: None,
            started: None,
            default_priority: false,
        }
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<script>alert("x&y")</script>'"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"
        );
    }

    #[test]
    fn content_escapes_every_monitored_value() {
        let e = event("<script>alert(1)</script>\nline2");
        let v = vars(&e, None, "2026-11-22 10:00:00", Lang::En);
        let c = content(None, &v, Lang::En, None, &e.key);
        assert!(!c.text.contains("<script>"), "{}", c.text);
        assert!(
            c.text
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;<br>line2")
        );
        assert!(c.text.contains("web&lt;01&gt;"));
        assert!(c.text.contains("Paris &amp; co"));
        assert!(c.text.contains(&marker(&e.key)));
        assert!(c.unknown.is_empty());
        let custom = content(Some("<p>%site %nope</p>"), &v, Lang::En, None, &e.key);
        assert!(custom.text.starts_with("<p>&lt;x&gt; %nope</p>"));
        assert_eq!(custom.unknown, vec!["nope".to_string()]);
    }

    #[test]
    fn title_is_one_plain_line_capped_at_255_chars() {
        let mut e = event("x");
        e.key.node = "é".repeat(300);
        let v = vars(&e, None, "d", Lang::Fr);
        let t = title("( %node.group.name ) %node.name:%service.name", &v);
        assert_eq!(t.text.chars().count(), 255);
        assert!(t.text.starts_with("( Paris & co ) éé"));
        let e = event("x");
        let v = vars(&e, None, "d", Lang::Fr);
        assert_eq!(title("a\nb\t%service.name\r", &v).text, "a b HTTP");
    }

    #[test]
    fn replaced_ticket_is_named() {
        let e = event("x");
        let v = vars(&e, None, "d", Lang::Fr);
        let c = content(None, &v, Lang::Fr, Some((12, Remote::Closed)), &e.key);
        assert!(c.text.contains("remplace le ticket 12, clos"));
        let c = content(None, &v, Lang::En, Some((12, Remote::Gone)), &e.key);
        assert!(c.text.contains("replaces ticket 12, which was purged"));
    }

    #[test]
    fn external_ids_are_fixed_length_and_distinct() {
        let a = external_id(&Key::new("web", "HTTP"));
        let b = external_id(&Key::new("web", "HTTPS"));
        assert!(a.starts_with("esia-glpi:"));
        assert_eq!(a.len(), "esia-glpi:".len() + 64);
        assert_ne!(a, b);
        let long = external_id(&Key::new("n".repeat(512), "s".repeat(512)));
        assert_eq!(long.len(), a.len());
        // Stable across versions: tickets already in GLPI carry it.
        assert_eq!(
            external_id(&Key::new("srv-web-01", "HTTP")),
            external_id(&Key::new("srv-web-01", "HTTP"))
        );
    }

    #[test]
    fn markers_read_back() {
        let key = Key {
            node: "web 01/é".into(),
            service: "]:[".into(),
        };
        let content = format!("<p>x</p><p><small>{}</small></p>", marker(&key));
        assert_eq!(parse_marker(&content), Some(key));
        let host = Key {
            node: "n".into(),
            service: String::new(),
        };
        assert_eq!(parse_marker(&marker(&host)), Some(host));
        for bad in [
            "",
            "[esia-glpi:zz:]",
            "[esia-glpi:6:]",
            "[esia-glpi::41]",
            "[esia-glpi:41",
        ] {
            assert_eq!(parse_marker(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_marker_read_back_is_the_ticket_s_own_after_marker_text_in_values() {
        // fuzz/ `template`, minimised: an output holding "[esia-glpi:" made
        // the ticket's marker unreadable (state rebuild skipped the ticket),
        // and a well-formed one gave another key.
        let forged = marker(&Key {
            node: "other".into(),
            service: "svc".into(),
        });
        for output in ["lin[esia-glpi:king at it", forged.as_str()] {
            let e = event(output);
            let v = vars(&e, None, "d", Lang::En);
            let c = content(None, &v, Lang::En, Some((76, Remote::Closed)), &e.key);
            assert_eq!(parse_marker(&c.text), Some(e.key.clone()), "{}", c.text);
            let custom = content(
                Some("[esia-glpi:%service.output"),
                &v,
                Lang::En,
                None,
                &e.key,
            );
            assert_eq!(parse_marker(&custom.text), Some(e.key), "{}", custom.text);
        }
    }

    #[test]
    fn markers_do_not_prefix_each_other() {
        let a = marker(&Key {
            node: "web".into(),
            service: String::new(),
        });
        let b = marker(&Key {
            node: "web01".into(),
            service: String::new(),
        });
        assert!(!b.contains(&a) && !a.contains(&b));
        assert_eq!(a, "[esia-glpi:776562:]");
    }

    #[test]
    fn followups_name_the_transition_and_the_author() {
        let e = event("disk <full>");
        let f = followup(
            &Note::StateChange {
                from: Some(State::Warning),
                to: State::Critical,
            },
            &e,
            "d",
            Lang::En,
        );
        assert!(f.contains("Status changed WARNING → CRITICAL"));
        assert!(f.contains("disk &lt;full&gt;"));
        assert!(f.ends_with(&format!("<p>{}</p>", event_tag(&e))), "{f}");
        let f = followup(&Note::Ack, &e, "d", Lang::Fr);
        assert!(f.contains("Acquitté par &lt;b&gt;bob&lt;/b&gt;"));
        assert!(f.contains("it&#39;s &quot;fine&quot;"));
        let ok = Event {
            state: State::Ok,
            ..e.clone()
        };
        let s = solution(&ok, Solution::Recovered, "d", Lang::Fr);
        assert!(s.contains("Retour à l&#39;état OK"));
    }

    #[test]
    fn notification_followups_say_what_happened_who_and_why() {
        let e = Event {
            kind: Some(NotificationType::DowntimeStart),
            author: "jeanne".into(),
            comment: "patching".into(),
            ..event("disk full")
        };
        let note = |kind, from| Note::Notification {
            kind,
            from,
            to: State::Critical,
        };
        let f = followup(
            &note(NotificationType::DowntimeStart, Some(State::Critical)),
            &e,
            "d",
            Lang::En,
        );
        assert!(
            f.contains("Downtime started by jeanne — status: CRITICAL"),
            "{f}"
        );
        assert!(f.contains("<p>patching</p><p>disk full</p>"), "{f}");
        let f = followup(
            &note(NotificationType::FlappingStart, Some(State::Warning)),
            &e,
            "d",
            Lang::Fr,
        );
        assert!(
            f.contains("Bagotement détecté — état : WARNING → CRITICAL"),
            "{f}"
        );
        let custom = Event {
            author: String::new(),
            comment: String::new(),
            output: String::new(),
            ..e.clone()
        };
        let f = followup(
            &note(NotificationType::Custom, None),
            &custom,
            "d",
            Lang::En,
        );
        assert!(
            f.starts_with(
                "<p><b>Custom notification — status: CRITICAL</b> (d)</p><p>[esia-glpi event "
            ),
            "no empty paragraph: {f}"
        );
        let ok = Event {
            state: State::Ok,
            ..e
        };
        let s = solution(&ok, Solution::RecoveredInDowntime, "d", Lang::En);
        assert!(
            s.contains("Recovered during the downtime: OK when the downtime ended"),
            "{s}"
        );
        let s = solution(&ok, Solution::FlappingStopped, "d", Lang::Fr);
        assert!(
            s.contains("Fin du bagotement : retour à l&#39;état OK"),
            "{s}"
        );
        // Reconcile: the engine sent no recovery, and since when it is OK.
        let s = solution(&ok, Solution::Reconciled, "2026-12-01 03:12", Lang::En);
        assert!(
            s.starts_with(
                "<p><b>Solved by esia-glpi reconcile: the monitoring engine sent no recovery; \
                 its state says OK since 2026-12-01 03:12</b></p>"
            ),
            "{s}"
        );
        let s = solution(&ok, Solution::Reconciled, "d", Lang::Fr);
        assert!(
            s.contains("aucun rétablissement ; son état indique OK depuis le d"),
            "{s}"
        );
    }

    #[test]
    fn the_type_joins_the_event_tag_only_when_given() {
        let e = event("x");
        let typed = Event {
            kind: Some(NotificationType::Custom),
            ..e.clone()
        };
        assert_ne!(event_tag(&e), event_tag(&typed));
        // The tag of an untyped event is the one earlier versions wrote
        // (a kept event retried after the upgrade finds its follow-up):
        // the SHA-256 of the length-prefixed fields, computed apart.
        assert_eq!(event_tag(&e), "[esia-glpi event af972ac2f407]");
    }

    #[test]
    fn a_host_alert_reads_as_one() {
        let host = Event {
            key: Key::new("srv-db-02", ""),
            group: "Lyon".into(),
            address: String::new(),
            state: State::Down,
            ..event("PING CRITICAL")
        };
        let v = vars(&host, None, "d", Lang::En);
        let tpl = "( %node.group.name ) %node.name:%service.name";
        assert_eq!(title(tpl, &v).text, "( Lyon ) srv-db-02");
        assert_eq!(
            title("%node.name - %service.name (%priority)", &v).text,
            "srv-db-02 (4)"
        );
        let service = Event {
            key: Key::new("srv-db-02", "HTTP"),
            ..host.clone()
        };
        assert_eq!(
            title(tpl, &vars(&service, None, "d", Lang::En)).text,
            "( Lyon ) srv-db-02:HTTP"
        );
        let c = content(None, &v, Lang::En, None, &host.key).text;
        assert!(c.contains("<b>State</b>: DOWN"), "{c}");
        assert!(c.contains("<b>Previous state</b>: UP"), "{c}");
        assert!(!c.contains("Service"), "no service line: {c}");
        assert!(!c.contains("Address"), "no line for a missing value: {c}");
        assert!(!c.contains(": <br>") && !c.contains(":</p>"), "{c}");
        let f = followup(
            &Note::StateChange {
                from: Some(State::Down),
                to: State::Unreachable,
            },
            &host,
            "d",
            Lang::En,
        );
        assert!(f.contains("Status changed DOWN → UNREACHABLE"), "{f}");
        let up = Event {
            state: State::Up,
            ..host
        };
        let s = solution(&up, Solution::Recovered, "d", Lang::En);
        assert!(s.contains("Recovered: back to UP"), "{s}");
    }

    #[test]
    fn followup_heads_carry_no_control_character() {
        // fuzz/ `template`, minimised: an acknowledgement author of "\u{5}"
        // reached the follow-up as is.
        let mut e = event("x");
        e.author = "\u{5}bob\n\u{1b}[31m".into();
        for (note, lang) in [(Note::Ack, Lang::En), (Note::Unack, Lang::Fr)] {
            let f = followup(&note, &e, "d", lang);
            assert!(!f.chars().any(char::is_control), "{f:?}");
            assert!(f.contains(" bob  [31m</b>"), "{f:?}");
        }
    }

    #[test]
    fn event_tags_are_stable_short_and_tell_events_apart() {
        let e = event("disk full");
        let tag = event_tag(&e);
        assert!(
            tag.starts_with("[esia-glpi event ") && tag.ends_with(']'),
            "{tag}"
        );
        let hex = &tag["[esia-glpi event ".len()..tag.len() - 1];
        assert_eq!(hex.len(), 12);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(event_tag(&e.clone()), tag, "stable");
        // Not a marker: the marker search never takes a follow-up for one.
        assert!(!tag.starts_with(MARKER_PREFIX));
        let mut later = e.clone();
        later.time += jiff::SignedDuration::from_secs(1);
        let mut other = e.clone();
        other.output = "disk fuller".into();
        let mut acked = e.clone();
        acked.comment = "on it".into();
        for different in [later, other, acked] {
            assert_ne!(event_tag(&different), tag);
        }
        // What GLPI 10 stores (entities) decodes back to a text carrying it.
        let f = followup(&Note::Ack, &e, "d", Lang::En);
        let stored = f.replace('<', "&#60;").replace('>', "&#62;");
        assert!(!carries_tag(&f.replace(&tag, ""), &e));
        assert!(
            carries_tag(&stored, &e),
            "brackets and hex survive: {stored}"
        );
    }

    #[test]
    fn huge_output_is_cut_with_a_note() {
        let big = "é".repeat(OUTPUT_MAX_BYTES);
        let capped = cap_output(&big, Lang::En);
        assert!(capped.len() < big.len());
        assert!(capped.ends_with(&format!("of {} bytes]", big.len())));
    }
}
