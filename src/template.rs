//! The `%`-variable engine used for ticket titles, contents and mails (SPEC
//! "Configuration", `tpl_title`).
//!
//! Pure: no I/O, no clock, no environment. Every value (the date included) is
//! passed in through [`Vars`]. Rules: at each `%`, the longest known variable
//! name that the following text starts with wins (`%node.group.name` is never
//! `%node.group` + `.name`); `%%` is a literal `%`; an unknown `%name` is left
//! as written and returned in [`Rendered::unknown`] so the caller can warn; a
//! `%` followed by no name character stays as written, silently. The `encode`
//! function (HTML escaping for ticket content, identity for titles) is applied
//! to substituted values only, never to the template's own text.
//!
//! Imports nothing from the crate.

use std::collections::BTreeMap;

/// Template variables: name (without the `%`) → value, ordered by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Vars {
    map: BTreeMap<String, String>,
    /// Length in bytes of the longest name, to bound the prefix search.
    longest: usize,
}

impl Vars {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Sets (or replaces) a variable. An empty name never matches.
    pub(crate) fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.longest = self.longest.max(name.len());
        self.map.insert(name, value.into());
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// The longest non-empty name that `text` starts with, and its value.
    fn longest_prefix<'a>(&'a self, text: &str) -> Option<(&'a str, &'a str)> {
        let limit = self.longest.min(text.len());
        // Candidate prefixes end on char boundaries, longest first; each is a
        // map lookup, and names are short.
        (1..=limit)
            .rev()
            .filter(|&end| text.is_char_boundary(end))
            .find_map(|end| self.map.get_key_value(&text[..end]))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The result of [`render`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub(crate) text: String,
    /// Unknown variable names as written (without `%`), each once, in order
    /// of first appearance.
    pub(crate) unknown: Vec<String>,
}

/// Characters of a variable name, for reporting unknown ones.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Substitutes the variables of `template`; `encode` is applied to each
/// substituted value.
pub(crate) fn render(template: &str, vars: &Vars, encode: impl Fn(&str) -> String) -> Rendered {
    let mut text = String::with_capacity(template.len());
    let mut unknown: Vec<String> = Vec::new();
    let mut rest = template;

    while let Some(at) = rest.find('%') {
        text.push_str(&rest[..at]);
        let after = &rest[at + 1..];

        if let Some(tail) = after.strip_prefix('%') {
            text.push('%');
            rest = tail;
        } else if let Some((name, value)) = vars.longest_prefix(after) {
            text.push_str(&encode(value));
            rest = &after[name.len()..];
        } else {
            let run = after
                .find(|c: char| !is_name_char(c))
                .map_or(after, |end| &after[..end]);
            let name = run.trim_end_matches('.');
            text.push('%');
            text.push_str(name);
            if !name.is_empty() && !unknown.iter().any(|u| u == name) {
                unknown.push(name.to_owned());
            }
            rest = &after[name.len()..];
        }
    }
    text.push_str(rest);

    Rendered { text, unknown }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        let mut vars = Vars::new();
        for &(name, value) in pairs {
            vars.set(name, value);
        }
        vars
    }

    fn plain(template: &str, vars: &Vars) -> Rendered {
        render(template, vars, str::to_owned)
    }

    fn esia() -> Vars {
        vars(&[
            ("node.name", "srv-web1"),
            ("node.group", "GROUP-ONLY"),
            ("node.group.name", "Web"),
            ("service.name", "HTTP"),
            ("service.state", "CRITICAL"),
        ])
    }

    #[test]
    fn esia_title() {
        let r = plain("( %node.group.name ) %node.name:%service.name", &esia());
        assert_eq!(r.text, "( Web ) srv-web1:HTTP");
        assert!(r.unknown.is_empty());
    }

    #[test]
    fn longest_name_wins() {
        let r = plain("%node.group.name|%node.group|%node.group.x", &esia());
        assert_eq!(r.text, "Web|GROUP-ONLY|GROUP-ONLY.x");
        assert!(r.unknown.is_empty());
    }

    #[test]
    fn trailing_dot_follows_the_value() {
        let r = plain("Service %service.name.", &esia());
        assert_eq!(r.text, "Service HTTP.");
        let r = plain("see %nothing.here.", &esia());
        assert_eq!(r.text, "see %nothing.here.");
        assert_eq!(r.unknown, ["nothing.here"]);
    }

    #[test]
    fn double_percent_is_a_literal_percent() {
        let r = plain("100%% of %%node.name is %node.name", &esia());
        assert_eq!(r.text, "100% of %node.name is srv-web1");
        assert!(r.unknown.is_empty());
        assert_eq!(plain("%%%node.name", &esia()).text, "%srv-web1");
        assert_eq!(plain("%%%%", &esia()).text, "%%");
    }

    #[test]
    fn unknown_names_are_left_as_written_and_reported_once() {
        let r = render("%foo <%bar_2> %foo %node.name %Foo", &esia(), |v| {
            format!("[{v}]")
        });
        assert_eq!(r.text, "%foo <%bar_2> %foo [srv-web1] %Foo");
        assert_eq!(r.unknown, ["foo", "bar_2", "Foo"]);
    }

    #[test]
    fn adjacent_variables() {
        let r = plain("%node.name%service.name", &esia());
        assert_eq!(r.text, "srv-web1HTTP");
        let r = plain("%node.name%unknown%service.name", &esia());
        assert_eq!(r.text, "srv-web1%unknownHTTP");
        assert_eq!(r.unknown, ["unknown"]);
    }

    #[test]
    fn lone_percent_stays_and_is_not_reported() {
        for template in ["50%", "%", "50% done", "a % b", "%-x", "%."] {
            let r = plain(template, &esia());
            assert_eq!(r.text, template);
            assert!(r.unknown.is_empty(), "{template}: {:?}", r.unknown);
        }
    }

    #[test]
    fn empty_template() {
        let r = plain("", &esia());
        assert_eq!(r.text, "");
        assert!(r.unknown.is_empty());
        assert_eq!(plain("no variables", &Vars::new()).text, "no variables");
    }

    #[test]
    fn utf8_values_and_templates() {
        let v = vars(&[("service.name", "Débit réseau ↯"), ("état", "Critique")]);
        let r = plain("Hôte « %service.name » — %état — %inconnu·x — %", &v);
        assert_eq!(
            r.text,
            "Hôte « Débit réseau ↯ » — Critique — %inconnu·x — %"
        );
        assert_eq!(r.unknown, ["inconnu"]);
        // A multi-byte character right after '%' and near name boundaries.
        let r = plain("%é%%ü", &v);
        assert_eq!(r.text, "%é%ü");
        assert!(r.unknown.is_empty());
    }

    #[test]
    fn encode_applies_to_values_only() {
        let v = vars(&[("service.output", "<b>x & y</b>")]);
        let escape = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let r = render("<p>%service.output</p> & %bogus<", &v, escape);
        assert_eq!(r.text, "<p>&lt;b&gt;x &amp; y&lt;/b&gt;</p> & %bogus<");
        assert_eq!(r.unknown, ["bogus"]);
    }

    #[test]
    fn names_outside_the_reporting_charset_still_match() {
        // `--var my-key=v` gives a variable whose name has a '-'.
        let v = vars(&[("my-key", "v"), ("my", "short")]);
        assert_eq!(plain("%my-key %my-other", &v).text, "v short-other");
    }

    #[test]
    fn vars_set_replaces_and_get_reads() {
        let mut v = Vars::new();
        v.set("a", "1");
        v.set(String::from("a"), String::from("2"));
        v.set("", "never matches");
        assert_eq!(v.get("a"), Some("2"));
        assert_eq!(v.get("b"), None);
        assert_eq!(plain("%a%", &v).text, "2%");
    }
}
