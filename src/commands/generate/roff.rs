//! A man page being written: roff through the `roff` crate that
//! `clap_mangen` re-exports (so every text is escaped the one way), plus
//! the sections `clap_mangen` renders from the clap model, spliced in.
//!
//! The hand-written texts use a small markup, so that they read as text in
//! the source:
//!
//! - a blank line separates paragraphs;
//! - a paragraph whose first line starts with `: ` is a tagged paragraph
//!   (`.TP`): that line is the tag, the next lines the body;
//! - a paragraph whose lines all start with four spaces is an example,
//!   shown as written (no filling), indented; at most 67 characters wide,
//!   to fit in 80 columns;
//! - inline, `` `text` `` is bold (what is typed: commands, options, keys,
//!   paths) and `{text}` italic (what the reader replaces).
//!
//! Pure: builds a string; the caller writes it.

use std::fmt::Write as _;

use clap_mangen::roff::{Inline, Roff, bold, italic, roman};

/// A man page under construction.
pub(super) struct Page {
    text: String,
    /// Nothing written since the last `.SH`: a paragraph needs no `.PP`.
    fresh: bool,
}

impl Page {
    /// `.TH`: `title` in capitals by convention, `section` "1" or "5".
    /// No date, so that the same sources give the same page.
    pub(super) fn new(title: &str, section: &str) -> Page {
        let mut text = preamble();
        let _ = writeln!(
            text,
            ".TH \"{}\" \"{section}\" \"\" \"esia-glpi {}\" \"esia-glpi manual\"",
            title.to_uppercase(),
            env!("CARGO_PKG_VERSION")
        );
        Page { text, fresh: true }
    }

    /// `.SH NAME`: the `name \- summary` line `whatis` and `apropos` read.
    pub(super) fn name(&mut self, name: &str, summary: &str) {
        self.section("NAME");
        self.roff(|r| {
            r.text([roman(format!("{name} - {summary}"))]);
        });
    }

    pub(super) fn section(&mut self, title: &str) {
        self.roff(|r| {
            r.control("SH", [title]);
        });
        self.fresh = true;
    }

    /// Hand-written text in the markup above.
    pub(super) fn prose(&mut self, text: &str) {
        let fresh = self.fresh;
        self.roff(|r| prose(r, text, fresh));
    }

    /// A tagged paragraph whose tag is built by the caller (from the clap
    /// model, say) and whose body is markup.
    pub(super) fn tagged(&mut self, tag: Vec<Inline>, body: &str) {
        self.roff(|r| {
            r.control("TP", []);
            r.text(tag);
            body_lines(r, body);
        });
    }

    /// Lines of text (the forms of a synopsis, say) kept apart by `.br`,
    /// as one paragraph.
    pub(super) fn lines(&mut self, lines: Vec<Vec<Inline>>) {
        let fresh = self.fresh;
        self.roff(|r| {
            if !fresh {
                r.control("PP", []);
            }
            for (i, line) in lines.into_iter().enumerate() {
                if i > 0 {
                    r.control("br", []);
                }
                r.text(line);
            }
        });
    }

    /// A section rendered by `clap_mangen` (`Man::render_*_section`).
    pub(super) fn clap(&mut self, render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = render(&mut out);
        self.splice(&String::from_utf8_lossy(&out));
    }

    fn roff(&mut self, build: impl FnOnce(&mut Roff)) {
        let mut r = Roff::new();
        build(&mut r);
        self.splice(&r.render());
        self.fresh = false;
    }

    /// Appends rendered roff, without the preamble each rendering repeats.
    fn splice(&mut self, rendered: &str) {
        let preamble = preamble();
        self.text
            .push_str(rendered.strip_prefix(&preamble).unwrap_or(rendered));
    }

    pub(super) fn finish(self) -> String {
        self.text
    }
}

/// What `roff` puts before every document (the apostrophe string).
fn preamble() -> String {
    Roff::new().render()
}

/// `fresh`: right after `.SH`, where the first paragraph needs no `.PP`.
fn prose(r: &mut Roff, text: &str, fresh: bool) {
    for (i, block) in blocks(text).into_iter().enumerate() {
        let lines: Vec<&str> = block.lines().collect();
        if lines.iter().all(|l| l.starts_with("    ")) {
            r.control("PP", []);
            r.control("RS", ["2"]);
            r.control("nf", []);
            for l in &lines {
                r.text([roman(&l[4..])]);
            }
            r.control("fi", []);
            r.control("RE", []);
        } else if let Some(tag) = lines[0].strip_prefix(": ") {
            r.control("TP", []);
            r.text(inline(tag));
            body_lines(r, &lines[1..].join("\n"));
        } else {
            if i > 0 || !fresh {
                r.control("PP", []);
            }
            body_lines(r, &block);
        }
    }
}

/// The body of a paragraph: its lines joined, one roff text line.
fn body_lines(r: &mut Roff, body: &str) {
    let joined = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if !joined.is_empty() {
        r.text(inline(&joined));
    }
}

/// Paragraphs: runs of non-blank lines, the indentation of the source (the
/// `const` they are written in) removed.
fn blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(current.join("\n"));
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current.join("\n"));
    }
    out
}

/// `` `bold` `` and `{italic}`, the rest roman.
pub(super) fn inline(text: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let next = rest.find(['`', '{']);
        let Some(at) = next else {
            out.push(roman(rest));
            break;
        };
        let close = if rest[at..].starts_with('`') {
            '`'
        } else {
            '}'
        };
        let Some(len) = rest[at + 1..].find(close) else {
            out.push(roman(rest));
            break;
        };
        if at > 0 {
            out.push(roman(&rest[..at]));
        }
        let inner = &rest[at + 1..at + 1 + len];
        out.push(if close == '`' {
            bold(inner)
        } else {
            italic(inner)
        });
        rest = &rest[at + 2 + len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str) -> String {
        let mut page = Page::new("x", "1");
        page.prose(text);
        page.finish()
            .split_once("manual\"\n")
            .map(|(_, body)| body.to_owned())
            .unwrap()
    }

    #[test]
    fn markup() {
        assert_eq!(
            render(
                "First `esia-glpi` {FILE}\n  goes on.\n\n\
                 : `--node` {NAME}\n  The node.\n\n\
                 \x20   $ esia-glpi check\n\
                 \x20   .dot\n\n\
                 Last."
            ),
            "First \\fBesia\\-glpi\\fR \\fIFILE\\fR goes on.\n\
             .TP\n\\fB\\-\\-node\\fR \\fINAME\\fR\nThe node.\n\
             .PP\n.RS 2\n.nf\n$ esia\\-glpi check\n\\&.dot\n.fi\n.RE\n\
             .PP\nLast.\n"
        );
    }

    #[test]
    fn unclosed_markers_stay_text() {
        assert_eq!(render("a `b and {c"), "a `b and {c\n");
    }

    #[test]
    fn one_preamble() {
        let mut page = Page::new("esia-glpi", "1");
        page.name("esia-glpi", "it");
        page.section("DESCRIPTION");
        page.prose("Text.");
        let text = page.finish();
        assert_eq!(text.matches(".ds Aq").count(), 2, "{text}");
        assert!(text.contains(".TH \"ESIA-GLPI\" \"1\" \"\" \"esia-glpi "));
    }
}
