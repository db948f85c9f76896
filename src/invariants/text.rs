//! Invariants of the `%`-variable renderer ([`crate::template::render`]) and
//! of every text built on it: the ticket title, content, follow-ups and
//! solution, and the notification mail. Values come from the monitored
//! world: they never bring markup into a ticket or a mail, nor a control
//! character into a ticket text or a header; the title is one short plain
//! line; the marker reads back as the ticket's own key.

use crate::core::{Event, Key, Lang, Note, NotificationType, Remote, Solution, State};
use crate::template::{self, Vars};
use crate::text::{self, MailText};

/// All the markup of the ticket texts (content, follow-ups, solution).
const TICKET_TAGS: [&str; 7] = ["<p>", "</p>", "<br>", "<b>", "</b>", "<small>", "</small>"];

/// The markup a mail's HTML adds to [`TICKET_TAGS`]: the page and the
/// ticket's link.
const MAIL_TAGS: [&str; 7] = [
    "<html>",
    "</html>",
    "<body>",
    "</body>",
    "<a href=\"",
    "\">",
    "</a>",
];

/// [`template::render`]: without variables only `%%` changes; unknown names
/// are reported as written, each once; an HTML-escaped value brings no
/// markup into a template that has none.
pub(crate) fn render(tpl: &str, vars: &Vars) {
    let bare = template::render(tpl, &Vars::new(), str::to_owned);
    assert_eq!(bare.text, tpl.replace("%%", "%"));
    for (i, name) in bare.unknown.iter().enumerate() {
        assert!(!name.is_empty());
        assert!(tpl.contains(&format!("%{name}")), "{name:?} not in {tpl:?}");
        assert!(!bare.unknown[..i].contains(name), "{name:?} twice");
    }
    let escaped = template::render(tpl, vars, text::escape_html);
    if !tpl.contains(['<', '>', '"', '\'']) {
        assert!(
            !escaped.text.contains(['<', '>', '"', '\'']),
            "markup from a value: {:?}",
            escaped.text
        );
    }
}

/// [`text::escape_html`] leaves no markup character, and can be undone.
pub(crate) fn escape_html(s: &str) {
    let e = text::escape_html(s);
    assert!(!e.contains(['<', '>', '"', '\'']), "{e:?}");
    let back = e
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    assert_eq!(back, s);
}

/// The title is one plain line, trimmed, of at most 255 characters.
pub(crate) fn title(tpl: &str, vars: &Vars) {
    let title = text::title(tpl, vars).text;
    assert!(
        title.chars().count() <= text::TITLE_MAX_CHARS,
        "title of {} characters",
        title.chars().count()
    );
    assert!(
        !title.chars().any(char::is_control),
        "control character in the title: {title:?}"
    );
    assert_eq!(title.trim(), title, "title not trimmed");
}

/// The ticket contents of an event (its variables `vars`): the built-in
/// one, and the one of an administrator's `tpl_content` when `custom` is
/// given. Only our tags, no `<script` from the values, no control character
/// but tabs, and the marker names the ticket's own `key`. An
/// administrator's template may hold markup and control characters of its
/// own: then only the unknown names are checked (each is written in it).
pub(crate) fn content(
    vars: &Vars,
    lang: Lang,
    key: &Key,
    replaced: Option<(u64, Remote)>,
    custom: Option<&str>,
) {
    ticket_content(
        &text::content(None, vars, lang, replaced, key).text,
        key,
        true,
    );
    let Some(tpl) = custom else {
        return;
    };
    let content = text::content(Some(tpl), vars, lang, replaced, key);
    for name in &content.unknown {
        assert!(tpl.contains(&format!("%{name}")), "{name:?}");
    }
    if !tpl.contains(['<', '>']) {
        let plain = !tpl.chars().any(|c| c.is_control() && c != '\t');
        ticket_content(&content.text, key, plain);
    }
}

/// Only our tags, no `<script`, no control character but tabs (`plain`),
/// and the marker read back is `key`.
fn ticket_content(content: &str, key: &Key, plain: bool) {
    assert!(
        !content.to_ascii_lowercase().contains("<script"),
        "<script in {content:?}"
    );
    html(content, &TICKET_TAGS, plain);
    if !key.node.is_empty() {
        assert_eq!(
            text::parse_marker(content).as_ref(),
            Some(key),
            "the marker read back from {content:?}"
        );
    }
}

/// The follow-ups of a state change (from `previous`), of an
/// acknowledgement and of its withdrawal, of every notification type, and
/// every solution: only our tags,
/// no control character but tabs.
pub(crate) fn notes(event: &Event, previous: Option<State>, date: &str, lang: Lang) {
    for note in [
        Note::StateChange {
            from: previous,
            to: event.state,
        },
        Note::Ack,
        Note::Unack,
    ]
    .into_iter()
    .chain(
        NotificationType::ALL
            .into_iter()
            .map(|kind| Note::Notification {
                kind,
                from: previous,
                to: event.state,
            }),
    ) {
        html(
            &text::followup(&note, event, date, lang),
            &TICKET_TAGS,
            true,
        );
    }
    for why in [
        Solution::Recovered,
        Solution::FlappingStopped,
        Solution::RecoveredInDowntime,
    ] {
        html(&text::solution(event, why, date, lang), &TICKET_TAGS, true);
    }
}

/// A mail: the subject is one trimmed line without control characters; the
/// body template is text, so all of the HTML's markup is ours.
pub(crate) fn mail(mail: &MailText) {
    assert!(
        !mail.subject.chars().any(char::is_control),
        "control character in the subject: {:?}",
        mail.subject
    );
    assert_eq!(mail.subject.trim(), mail.subject, "subject not trimmed");
    let tags: Vec<&str> = TICKET_TAGS.iter().chain(&MAIL_TAGS).copied().collect();
    html(&mail.html, &tags, false);
}

/// Once `tags` are removed, no `<` or `>` is left; with `plain_only`, no
/// control character but tabs either.
fn html(html: &str, tags: &[&str], plain_only: bool) {
    let mut stripped = html.to_owned();
    for tag in tags {
        stripped = stripped.replace(tag, "");
    }
    assert!(
        !stripped.contains(['<', '>']),
        "markup from a value: {html:?}"
    );
    if plain_only {
        assert!(
            !html.chars().any(|c| c.is_control() && c != '\t'),
            "control character in {html:?}"
        );
    }
}
