//! Text for every medium: the one filter of control characters (for
//! terminals, titles, mail headers and log lines), an error on one line, and
//! HTML escaping of values from the monitored world.

/// Replaces control characters (escape sequences, NUL, BEL, line breaks…)
/// by spaces, except those listed in `keep`.
pub(crate) fn blank_controls(text: &str, keep: &[char]) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && !keep.contains(&c) {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// One line of plain text: every control character becomes a space. For
/// terminals, ticket titles, mail headers and system log lines.
pub(crate) fn one_line(text: &str) -> String {
    blank_controls(text, &[])
}

/// An error and its sources on one line, each said once, without control
/// characters (as the reporter prints it, and as a mail or a kept event
/// tells it).
pub(crate) fn error_line(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    one_line(&line)
}

/// Escapes the five HTML-significant characters.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Plain text → HTML paragraphs, escaped, newlines kept.
pub(crate) fn html_lines(text: &str) -> String {
    // Control characters (escape sequences, NUL, BEL…) have no business in a
    // ticket: they become spaces; line breaks become <br>.
    let text = blank_controls(&text.replace("\r\n", "\n"), &['\n', '\t']);
    escape_html(&text).replace('\n', "<br>")
}
