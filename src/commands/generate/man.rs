//! The command pages (`esia-glpi`(1), one per visible command, and the two
//! alert programs): what the clap model says (NAME, SYNOPSIS, the command
//! lists, OPTIONS through `clap_mangen`, the variables options read), the
//! exit-status table of `cli::EXIT_STATUS_HELP` (the one `--help` prints),
//! and the prose of `prose/`. Pure: returns the pages' text.

use std::fmt::Write as _;

use clap::{Arg, ArgAction, Command};
use clap_mangen::roff::{Inline, bold, italic, roman};

use super::prose::{
    COMMANDS, COMMON_ENVIRONMENT, COMMON_FILES, CommandDoc, Invoked, MACRO_DOCS, MACROS_INTRO,
};
use super::roff::Page;
use crate::cli::EXIT_STATUS_HELP;

/// Every command page: (file name, text).
pub(super) fn pages(cli: &Command) -> Vec<(String, String)> {
    let mut root = cli.clone();
    root.build();
    COMMANDS
        .iter()
        .map(|doc| (format!("{}.1", doc.page), page(&root, doc)))
        .collect()
}

/// The subcommand a page documents, as built (global options propagated).
fn command<'a>(root: &'a Command, doc: &CommandDoc) -> &'a Command {
    if doc.command.is_empty() {
        return root;
    }
    root.find_subcommand(doc.command)
        .unwrap_or_else(|| panic!("no command {:?} in the clap model", doc.command))
}

/// The visible subcommands of `cmd`, without clap's own `help`.
pub(super) fn visible_subcommands(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

fn page(root: &Command, doc: &CommandDoc) -> String {
    let cmd = command(root, doc);
    let mut page = Page::new(doc.page, "1");
    let summary = doc.summary.map_or_else(|| about(cmd), str::to_owned);
    page.name(doc.page, &summary);

    page.section("SYNOPSIS");
    synopsis(&mut page, doc, cmd);

    page.section("DESCRIPTION");
    page.prose(doc.description);

    if doc.invoked != Invoked::Alias && visible_subcommands(cmd).next().is_some() {
        page.section("COMMANDS");
        commands(&mut page, doc, cmd);
    }

    // OPTIONS, and GLOBAL OPTIONS (those every command takes) apart.
    let mut options = cmd.clone();
    if doc.invoked != Invoked::Root {
        options = options.mut_args(|a| {
            if a.is_global_set() {
                a.help_heading("GLOBAL OPTIONS")
            } else {
                a
            }
        });
    }
    let man = clap_mangen::Man::new(options);
    page.clap(|out| man.render_options_section(out));

    page.section("EXIT STATUS");
    if !doc.exit.is_empty() {
        page.prose(doc.exit);
    }
    exit_status(&mut page);

    page.section("ENVIRONMENT");
    environment(&mut page, doc, cmd);

    page.section("FILES");
    page.prose(COMMON_FILES);
    if !doc.files.is_empty() {
        page.prose(doc.files);
    }

    page.section("EXAMPLES");
    page.prose(doc.examples);

    page.section("SEE ALSO");
    see_also(
        &mut page,
        doc.see_also.iter().filter(|p| !p.starts_with(doc.page)),
    );
    page.finish()
}

fn about(cmd: &Command) -> String {
    cmd.get_about().map(ToString::to_string).unwrap_or_default()
}

/// A sentence: the text, ending with a full stop.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with('.') {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// `esia-glpi [GLOBAL OPTIONS] notify [-L N] [--node NODE] ...`, from the
/// model: one line per form.
fn synopsis(page: &mut Page, doc: &CommandDoc, cmd: &Command) {
    let globals = || vec![roman(" ["), italic("GLOBAL OPTIONS"), roman("] ")];
    let mut lines = Vec::new();
    match doc.invoked {
        Invoked::Root => {
            let mut line = vec![bold("esia-glpi"), roman(" ")];
            line.extend(arguments(cmd, false));
            line.extend([
                roman(" "),
                italic("COMMAND"),
                roman(" ["),
                italic("ARGS"),
                roman("]"),
            ]);
            lines.push(line);
        }
        Invoked::Alias => {
            let mut line = vec![bold(doc.page)];
            line.extend(globals());
            line.extend(arguments(cmd, true));
            lines.push(line);
        }
        Invoked::Command => {
            let subs: Vec<&Command> = visible_subcommands(cmd).collect();
            let forms: Vec<(String, &Command)> = if subs.is_empty() {
                vec![(cmd.get_name().to_owned(), cmd)]
            } else {
                subs.iter()
                    .map(|sub| (format!("{} {}", cmd.get_name(), sub.get_name()), *sub))
                    .collect()
            };
            for (name, form) in forms {
                let mut line = vec![bold("esia-glpi")];
                line.extend(globals());
                line.push(bold(name));
                let args = arguments(form, true);
                if !args.is_empty() {
                    line.push(roman(" "));
                    line.extend(args);
                }
                lines.push(line);
            }
        }
    }
    page.lines(lines);
}

/// The synopsis of `cmd`'s visible arguments (without `--help` and
/// `--version`, and without the global ones when `own_only`).
fn arguments(cmd: &Command, own_only: bool) -> Vec<Inline> {
    let mut out = Vec::new();
    let hidden = |a: &Arg| a.is_hide_set() || (own_only && a.is_global_set());
    let automatic = |a: &Arg| {
        matches!(
            a.get_action(),
            ArgAction::Help | ArgAction::HelpLong | ArgAction::Version
        )
    };
    let args = cmd.get_arguments().filter(|a| !hidden(a) && !automatic(a));
    let (positionals, options): (Vec<&Arg>, Vec<&Arg>) = args.partition(|a| a.is_positional());
    for arg in options {
        out.push(roman("["));
        let flag = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("-{s}|--{l}"),
            (Some(s), None) => format!("-{s}"),
            (None, Some(l)) => format!("--{l}"),
            (None, None) => continue,
        };
        out.push(bold(flag));
        if takes_value(arg) {
            out.push(roman(" "));
            out.push(italic(value_name(arg)));
        }
        out.push(roman("]"));
        if matches!(arg.get_action(), ArgAction::Count | ArgAction::Append) {
            out.push(roman("..."));
        }
        out.push(roman(" "));
    }
    for arg in positionals {
        if arg.is_required_set() {
            out.push(italic(value_name(arg)));
        } else {
            out.extend([roman("["), italic(value_name(arg)), roman("]")]);
        }
        out.push(roman(" "));
    }
    if let Some(Inline::Roman(last)) = out.last()
        && last == " "
    {
        out.pop();
    }
    out
}

fn takes_value(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append)
}

fn value_name(arg: &Arg) -> String {
    arg.get_value_names()
        .and_then(|names| names.first())
        .map_or_else(|| arg.get_id().as_str().to_uppercase(), ToString::to_string)
}

/// The root's commands (each with its page) or `state`'s (each in full).
fn commands(page: &mut Page, doc: &CommandDoc, cmd: &Command) {
    for sub in visible_subcommands(cmd) {
        if doc.invoked == Invoked::Root {
            let body = format!(
                "{} See `esia-glpi-{}`(1).",
                sentence(&about(sub)),
                sub.get_name()
            );
            page.tagged(vec![bold(sub.get_name())], &body);
        } else {
            let mut tag = vec![bold(sub.get_name())];
            let args = arguments(sub, true);
            if !args.is_empty() {
                tag.push(roman(" "));
                tag.extend(args);
            }
            let text = sub
                .get_long_about()
                .or_else(|| sub.get_about())
                .map(ToString::to_string)
                .unwrap_or_default();
            let mut body = sentence(&text.replace('\n', " "));
            for arg in sub.get_positionals().filter(|a| !a.is_hide_set()) {
                if let Some(help) = arg.get_help() {
                    let _ = write!(
                        body,
                        " {{{}}}: {}",
                        value_name(arg),
                        sentence(&help.to_string())
                    );
                }
            }
            page.tagged(tag, &body);
        }
    }
}

/// The exit-status table, parsed from the text `--help` prints.
fn exit_status(page: &mut Page) {
    for (code, meaning) in exit_statuses() {
        page.tagged(vec![bold(code.to_string())], &sentence(&meaning));
    }
}

/// `cli::EXIT_STATUS_HELP` as (code, meaning): an entry starts with two
/// spaces, the code and two spaces; deeper lines continue it.
pub(super) fn exit_statuses() -> Vec<(u8, String)> {
    let mut out: Vec<(u8, String)> = Vec::new();
    for line in EXIT_STATUS_HELP.lines().skip(1) {
        let text = line.trim_start();
        let entry = (line.len() - text.len() == 2)
            .then(|| text.split_once("  "))
            .flatten()
            .and_then(|(code, rest)| Some((code.parse::<u8>().ok()?, rest)));
        match (entry, out.last_mut()) {
            (Some((code, rest)), _) => out.push((code, rest.trim().to_owned())),
            (None, Some((_, meaning))) => {
                meaning.push(' ');
                meaning.push_str(text.trim());
            }
            (None, None) => panic!("EXIT_STATUS_HELP: {line:?} continues no entry"),
        }
    }
    out
}

fn environment(page: &mut Page, doc: &CommandDoc, cmd: &Command) {
    // The options that read a variable, from the model.
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let (Some(var), Some(long)) = (arg.get_env(), arg.get_long()) else {
            continue;
        };
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        page.tagged(
            vec![bold(var.to_string_lossy())],
            &format!(
                "As `--{long}` (which wins over it): {}",
                sentence(&lower_first(&help))
            ),
        );
    }
    page.prose(COMMON_ENVIRONMENT);
    if doc.macros {
        page.prose(MACROS_INTRO);
        for (names, option, meaning) in MACRO_DOCS {
            let mut tag = Vec::new();
            for (i, name) in names.iter().enumerate() {
                for (j, prefix) in ["NAGIOS_", "ICINGA_"].iter().enumerate() {
                    if i + j > 0 {
                        tag.push(roman(", "));
                    }
                    tag.push(bold(format!("{prefix}{name}")));
                }
            }
            let body = match option {
                Some(long) => format!("As `--{long}`: {}", lower_first(meaning)),
                None => (*meaning).to_owned(),
            };
            page.tagged(tag, &body);
        }
    }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

fn see_also<'a>(page: &mut Page, pages: impl Iterator<Item = &'a &'a str>) {
    let mut line = Vec::new();
    for (i, reference) in pages.enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        match reference.split_once('(') {
            Some((name, section)) => {
                line.push(bold(name));
                line.push(roman(format!("({section}")));
            }
            None => line.push(bold(*reference)),
        }
    }
    page.lines(vec![line]);
    page.prose(
        "`/usr/share/doc/esia-glpi/README.md`: the whole manual (installation, wiring of \
         each engine, durability, troubleshooting).",
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use clap::CommandFactory as _;

    use super::*;
    use crate::cli::Cli;
    use crate::error::ExitStatus;

    #[test]
    fn the_exit_table_is_the_help_one() {
        let codes: Vec<u8> = exit_statuses().iter().map(|(c, _)| *c).collect();
        let known = [
            ExitStatus::Handled,
            ExitStatus::Usage,
            ExitStatus::Config,
            ExitStatus::Refused,
            ExitStatus::Unavailable,
            ExitStatus::State,
            ExitStatus::Mail,
            ExitStatus::Source,
            ExitStatus::Foreign,
        ]
        .map(|s| s as u8);
        assert_eq!(codes, known);
        let (_, six) = &exit_statuses()[5];
        assert!(six.starts_with("local state unusable"), "{six}");
        assert!(six.ends_with("or standard output not writable"), "{six}");
    }

    /// Every visible command has its page, and every page's command exists.
    #[test]
    fn every_command_has_a_page() {
        let cli = Cli::command();
        let documented: BTreeSet<&str> = COMMANDS
            .iter()
            .filter(|d| d.invoked == Invoked::Command)
            .map(|d| d.command)
            .collect();
        let visible: BTreeSet<&str> = visible_subcommands(&cli).map(Command::get_name).collect();
        assert_eq!(documented, visible);
        for doc in COMMANDS {
            assert_eq!(
                doc.invoked == Invoked::Command,
                doc.page == format!("esia-glpi-{}", doc.command)
            );
        }
    }

    /// The macros documented are the ones `core::resolve` reads, and each
    /// stands for a real option of `notify`.
    #[test]
    fn the_macros_are_the_ones_read() {
        let documented: BTreeSet<&str> = MACRO_DOCS
            .iter()
            .flat_map(|(names, _, _)| names.iter().copied())
            .collect();
        let read: BTreeSet<&str> = crate::core::resolve::MACROS.iter().copied().collect();
        assert_eq!(documented, read);
        let cli = Cli::command();
        let notify = cli.find_subcommand("notify").unwrap();
        for (_, option, _) in MACRO_DOCS {
            if let Some(long) = option {
                assert!(
                    notify.get_arguments().any(|a| a.get_long() == Some(long)),
                    "--{long}"
                );
            }
        }
    }

    #[test]
    fn synopsis_comes_from_the_model() {
        let pages = pages(&Cli::command());
        let (_, notify) = pages
            .iter()
            .find(|(n, _)| n == "esia-glpi-notify.1")
            .unwrap();
        assert!(
            notify.contains("[\\fB\\-L|\\-\\-priority\\fR \\fIN\\fR]"),
            "{notify}"
        );
        assert!(
            notify.contains("[\\fB\\-\\-mail\\fR \\fIADDR\\fR]..."),
            "{notify}"
        );
        assert!(!notify.contains("send\\-mail"), "hidden");
        let (_, state) = pages
            .iter()
            .find(|(n, _)| n == "esia-glpi-state.1")
            .unwrap();
        assert!(
            state.contains("\\fBstate show\\fR \\fINODE\\fR [\\fISERVICE\\fR]"),
            "{state}"
        );
    }
}
