//! The notification mail's texts (`--mail`, `SEND_TICKET_GLPI_MAIL`; SPEC
//! "Configuration", `[mail]`): subject, plain text and HTML alternative,
//! saying what became of the event ([`Outcome`]). Pure, like the rest of
//! `text`.

use std::fmt::Write as _;

use super::html::{escape_html, html_lines, one_line};
use super::ticket::{author_labels, cap_output, field_labels, priority_label};
use crate::core::{Event, Lang, NotificationType, Outcome};
use crate::template::{self, Vars};

/// The ticket side of a mail: what became of the event, and the ticket's web
/// page (`…/front/ticket.form.php?id=N`) when a ticket is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MailTicket {
    pub(crate) outcome: Outcome,
    pub(crate) url: Option<String>,
}

impl MailTicket {
    fn id(&self) -> Option<u64> {
        self.outcome.ticket()
    }

    fn pending(&self) -> bool {
        matches!(self.outcome, Outcome::Kept { .. })
    }
}

/// A rendered mail: subject (one line), plain text and HTML bodies, and the
/// unknown template variables met (for a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MailText {
    pub(crate) subject: String,
    pub(crate) plain: String,
    pub(crate) html: String,
    pub(crate) unknown: Vec<String>,
}

/// One sentence saying what became of the ticket (variable `%ticket.status`).
pub(crate) fn mail_status(ticket: &MailTicket, lang: Lang) -> String {
    let id = ticket.id();
    match (&ticket.outcome, lang, id) {
        (Outcome::Created { .. }, Lang::Fr, _) => format!("Ticket GLPI {} créé.", num(id)),
        (Outcome::Created { .. }, Lang::En, _) => format!("GLPI ticket {} created.", num(id)),
        (Outcome::FollowedUp { .. }, Lang::Fr, _) => {
            format!("Suivi ajouté au ticket GLPI {}.", num(id))
        }
        (Outcome::FollowedUp { .. }, Lang::En, _) => {
            format!("Follow-up added to GLPI ticket {}.", num(id))
        }
        (Outcome::Solved { .. }, Lang::Fr, _) => format!("Ticket GLPI {} résolu.", num(id)),
        (Outcome::Solved { .. }, Lang::En, _) => format!("GLPI ticket {} solved.", num(id)),
        (Outcome::Acknowledged { .. }, Lang::Fr, _) => {
            format!("Acquittement noté dans le ticket GLPI {}.", num(id))
        }
        (Outcome::Acknowledged { .. }, Lang::En, _) => {
            format!("Acknowledgement written into GLPI ticket {}.", num(id))
        }
        (Outcome::Ignored { .. }, Lang::Fr, Some(id)) => {
            format!("Ticket GLPI {id} : rien de nouveau à y écrire.")
        }
        (Outcome::Ignored { .. }, Lang::En, Some(id)) => {
            format!("GLPI ticket {id}: nothing new to write into it.")
        }
        (Outcome::Ignored { .. }, Lang::Fr, None) => {
            "Aucun ticket GLPI ouvert pour ce nœud et ce service.".to_owned()
        }
        (Outcome::Ignored { .. }, Lang::En, None) => {
            "No GLPI ticket is open for this node and service.".to_owned()
        }
        (Outcome::Kept { reason, .. }, Lang::Fr, _) => format!(
            "Ticket GLPI en attente{} : GLPI n'a pas pu prendre l'événement ({reason}). \
             L'événement est conservé et sera transmis à GLPI par la prochaine notification \
             de ce service ou par « esia-glpi flush ».",
            id.map(|id| format!(" (ticket {id})")).unwrap_or_default()
        ),
        (Outcome::Kept { reason, .. }, Lang::En, _) => format!(
            "GLPI ticket pending{}: GLPI could not take the event ({reason}). The event is \
             kept and will be delivered to GLPI by the next notification of this service or \
             by \"esia-glpi flush\".",
            id.map(|id| format!(" (ticket {id})")).unwrap_or_default()
        ),
    }
}

fn num(id: Option<u64>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// The mail's template variables: the ticket's plus `%ticket.id`,
/// `%ticket.url` (empty when unknown) and `%ticket.status`.
pub(crate) fn mail_vars(mut vars: Vars, ticket: &MailTicket, lang: Lang) -> Vars {
    vars.set("ticket.id", num(ticket.id()));
    vars.set("ticket.url", ticket.url.clone().unwrap_or_default());
    vars.set("ticket.status", mail_status(ticket, lang));
    vars
}

/// Subject, plain text and HTML of the notification mail. `tpl_subject` and
/// `tpl_body` are the administrator's templates (plain text), `None` for the
/// built-in texts. A pending ticket is always said, even with a custom body.
pub(crate) fn mail(
    tpl_subject: Option<&str>,
    tpl_body: Option<&str>,
    vars: &Vars,
    event: &Event,
    ticket: &MailTicket,
    date: &str,
    lang: Lang,
) -> MailText {
    let mut unknown = Vec::new();
    let subject = match tpl_subject {
        Some(tpl) => {
            let r = template::render(tpl, vars, str::to_string);
            unknown.extend(r.unknown);
            r.text
        }
        None => default_subject(event, ticket, lang),
    };
    // One line: a header never carries a line break from the monitored world.
    let subject = one_line(&subject).trim().to_owned();
    let (plain, html) = match tpl_body {
        Some(tpl) => {
            let r = template::render(tpl, vars, str::to_string);
            for name in r.unknown {
                if !unknown.contains(&name) {
                    unknown.push(name);
                }
            }
            let plain = if ticket.pending() {
                format!("{}\n\n{}", mail_status(ticket, lang), r.text)
            } else {
                r.text
            };
            let html = format!("<html><body><p>{}</p></body></html>", html_lines(&plain));
            (plain, html)
        }
        None => default_body(event, ticket, date, lang),
    };
    MailText {
        subject,
        plain,
        html,
        unknown,
    }
}

fn default_subject(event: &Event, ticket: &MailTicket, lang: Lang) -> String {
    let what = if event.key.service.is_empty() {
        event.key.node.clone()
    } else {
        format!("{}:{}", event.key.node, event.key.service)
    };
    let tag = match (ticket.pending(), ticket.id(), lang) {
        (true, Some(id), Lang::Fr) => format!("GLPI #{id} en attente"),
        (true, Some(id), Lang::En) => format!("GLPI #{id} pending"),
        (true, None, Lang::Fr) => "GLPI en attente".to_owned(),
        (true, None, Lang::En) => "GLPI pending".to_owned(),
        (false, Some(id), _) => format!("GLPI #{id}"),
        (false, None, _) => "GLPI".to_owned(),
    };
    format!("[{tag}] {} {what}", event.state)
}

fn default_body(event: &Event, ticket: &MailTicket, date: &str, lang: Lang) -> (String, String) {
    let labels = field_labels(lang);
    let colon = match lang {
        Lang::Fr => " :",
        Lang::En => ":",
    };
    let mut fields: Vec<(&str, String)> = vec![
        (labels[0], event.key.node.clone()),
        (labels[1], event.address.clone()),
        (labels[2], event.group.clone()),
        (labels[3], event.key.service.clone()),
        (labels[4], event.state.label().to_owned()),
        (labels[6], priority_label(event.priority, lang).to_owned()),
        (labels[7], date.to_owned()),
    ];
    fields.retain(|(_, v)| !v.is_empty());
    // What a flapping, downtime or custom notification adds; who and why
    // for every type that has them.
    if let Some(kind) = event
        .kind
        .filter(|k| !matches!(k, NotificationType::Problem | NotificationType::Recovery))
    {
        fields.push(("Notification", kind.label().to_owned()));
    }
    let (by, why) = author_labels(lang);
    for (label, v) in [(by, &event.author), (why, &event.comment)] {
        if !v.is_empty() {
            fields.push((label, v.clone()));
        }
    }
    let status = mail_status(ticket, lang);
    let output = cap_output(&event.output, lang);

    let mut plain = status.clone();
    if let Some(url) = &ticket.url {
        let _ = write!(plain, "\n{url}");
    }
    plain.push_str("\n\n");
    for (label, v) in &fields {
        let _ = writeln!(plain, "{label}{colon} {v}");
    }
    if !output.is_empty() {
        let _ = write!(plain, "\n{}{colon}\n{output}\n", labels[8]);
    }
    plain.push_str("\n-- \nesia-glpi\n");

    let mut html = format!("<html><body><p><b>{}</b>", escape_html(&status));
    if let Some(url) = &ticket.url {
        let url = escape_html(url);
        let _ = write!(html, "<br><a href=\"{url}\">{url}</a>");
    }
    html.push_str("</p><p>");
    for (i, (label, v)) in fields.iter().enumerate() {
        if i > 0 {
            html.push_str("<br>");
        }
        let _ = write!(
            html,
            "<b>{}</b>{colon} {}",
            escape_html(label),
            escape_html(v)
        );
    }
    html.push_str("</p>");
    if !output.is_empty() {
        let _ = write!(
            html,
            "<p><b>{}</b>{colon}<br>{}</p>",
            labels[8],
            html_lines(&output)
        );
    }
    html.push_str("<p>-- <br>esia-glpi</p></body></html>");
    (plain, html)
}
