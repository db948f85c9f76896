//! Entry points of the coverage-guided fuzz targets in `fuzz/` (cargo-fuzz,
//! libFuzzer), compiled only with the `fuzzing` feature.
//!
//! Each function turns the fuzzer's bytes into the values the crate reads
//! (a configuration text; an event, its templates and a mail; a GLPI
//! answer) and hands them to the checks of `crate::invariants`, where every
//! invariant is stated once — the property tests (`src/proptests.rs`,
//! `src/glpi/proptests.rs`) call the same checks on random values. A broken
//! invariant panics, which libFuzzer reports as a crash:
//!
//! - [`config`]: the configuration parser and validator;
//! - [`template`]: the `%`-variable renderer and every ticket and mail text
//!   built on it;
//! - [`glpi_answer`]: every decoder of a GLPI answer and the classifier of
//!   an error answer;
//! - [`engine_state`]: the readers of the engine's state for `reconcile`
//!   (`status.dat`, Livestatus and Icinga 2 answers).

use reqwest::StatusCode;

use crate::core::{Event, Failure, Key, Lang, NotificationType, Outcome, Remote, Skip, State};
use crate::glpi::decode_error;
use crate::invariants;
use crate::text::{self, MailTicket};

/// The bytes as a configuration file's text (invalid UTF-8 replaced, as
/// `load` would refuse it before parsing); the tokens are found in the text
/// (`user_token = "…"` and the like).
pub fn config(data: &[u8]) {
    invariants::config::parse(&String::from_utf8_lossy(data), &[]);
}

const STATES: [State; 9] = [
    State::Ok,
    State::Warning,
    State::Critical,
    State::Unknown,
    State::Up,
    State::Down,
    State::Unreachable,
    State::Ack,
    State::Unack,
];
const REMOTES: [Remote; 5] = [
    Remote::Open,
    Remote::Solved,
    Remote::Closed,
    Remote::Trashed,
    Remote::Gone,
];

/// Two flag bytes, then parts separated by `0xFF` (never in UTF-8): the
/// title template (also the mail subject template), the content template
/// (also the mail body template), node, service, group, address, output,
/// acknowledgement author and comment, the event's time (seconds since
/// 1970), ticket URL, then name/value pairs of extra variables (`--var`).
///
/// Flags: bit 0 English, bits 1–3 state, bit 4 previous state known, bit 5 a
/// replaced ticket, bit 6 an administrator's content template, bit 7 mail
/// templates; second byte: priority, previous state, remote state, mail
/// action.
pub fn template(input: &[u8]) {
    let [flags, more, rest @ ..] = input else {
        return;
    };
    let (flags, more) = (*flags, *more);
    let parts: Vec<String> = rest
        .split(|&b| b == 0xFF)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let part = |i: usize| parts.get(i).map_or("", String::as_str);
    let lang = if flags & 1 == 0 { Lang::Fr } else { Lang::En };
    let previous = (flags & 0x10 != 0).then(|| STATES[usize::from(more >> 3 & 7) % STATES.len()]);
    let replaced = (flags & 0x20 != 0).then(|| {
        (
            u64::from(more),
            REMOTES[usize::from(more >> 5) % REMOTES.len()],
        )
    });
    let (title_tpl, content_tpl) = (part(0), part(1));
    let event = event_of(flags, more, &parts);
    // The date is always ours (the clock's, of the event's time), never text
    // from the monitored world.
    let date = &crate::engine::Clock::system().date(event.time);
    let vars = text::vars(&event, previous, date, lang);

    for p in &parts {
        invariants::text::escape_html(p);
    }
    invariants::text::render(title_tpl, &vars);
    invariants::text::title(title_tpl, &vars);
    let custom = (flags & 0x40 != 0).then_some(content_tpl);
    invariants::text::content(&vars, lang, &event.key, replaced, custom);
    invariants::text::notes(&event, previous, date, lang);

    let id = (flags & 0x20 != 0).then_some(u64::from(more));
    let ticket = MailTicket {
        outcome: match more >> 6 {
            0 => Outcome::Created {
                ticket: u64::from(more),
                replaces: None,
            },
            1 => Outcome::FollowedUp {
                ticket: u64::from(more),
            },
            2 => Outcome::Ignored {
                ticket: id,
                skip: Skip::NoTicket,
            },
            _ => Outcome::Kept {
                ticket: id,
                failure: Failure::Unavailable,
                reason: part(8).to_owned(),
            },
        },
        url: Some(part(10).to_owned()).filter(|u| !u.is_empty()),
    };
    let (subject_tpl, body_tpl) = if flags & 0x80 != 0 {
        (Some(title_tpl), Some(content_tpl))
    } else {
        (None, None)
    };
    let vars = text::mail::mail_vars(vars, &ticket, lang);
    let mail = text::mail::mail(subject_tpl, body_tpl, &vars, &event, &ticket, date, lang);
    invariants::text::mail(&mail);
}

/// The event of [`template`]'s parts, its variables through the parser of
/// `--var KEY=VALUE` (which refuses names with other characters than
/// letters, digits, '_' and '.').
fn event_of(flags: u8, more: u8, parts: &[String]) -> Event {
    let part = |i: usize| parts.get(i).map_or("", String::as_str);
    let seconds = part(9).trim().parse::<i64>().unwrap_or(1_795_000_000);
    let time = jiff::Timestamp::from_second(seconds.clamp(
        jiff::Timestamp::MIN.as_second(),
        jiff::Timestamp::MAX.as_second(),
    ))
    .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    Event {
        key: Key::new(part(2), part(3)),
        group: part(4).to_owned(),
        address: part(5).to_owned(),
        state: STATES[(usize::from(flags >> 1 & 7) + usize::from(more >> 6)) % STATES.len()],
        output: part(6).to_owned(),
        priority: 1 + more % 6,
        kind: NotificationType::parse(part(10)),
        author: part(7).to_owned(),
        comment: part(8).to_owned(),
        vars: parts
            .get(11..)
            .unwrap_or_default()
            .chunks(2)
            .filter_map(|pair| {
                let value = pair.get(1).map_or("", String::as_str);
                crate::cli::parse_var(&format!("{}={value}", pair[0])).ok()
            })
            .collect(),
        time,
        order: None,
        started: None,
        default_priority: false,
    }
}

/// The first byte picks an HTTP status (400 + byte % 100) for the error
/// classifier; the rest is the answer's body, read by every decoder.
pub fn glpi_answer(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let status =
        StatusCode::from_u16(400 + u16::from(first % 100)).unwrap_or(StatusCode::BAD_REQUEST);
    invariants::glpi::error_answer(status, body, decode_error("GET Ticket/1", status, body));
    invariants::glpi::answer(body);
}

/// The first byte chooses the parser (`status.dat`, Livestatus, Icinga 2),
/// the rest is its input, its answers separated by `0xFF`.
pub fn engine_state(data: &[u8]) {
    let _ = crate::monitor::parse_any(data);
}
