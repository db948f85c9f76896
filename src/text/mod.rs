//! Every text esia-glpi writes: into GLPI (`ticket`: title, content,
//! follow-ups, solution, the marker), into the notification mail (`mail`),
//! and the plain-text and HTML helpers both use (`html`), in French (default)
//! or English.
//!
//! Pure: values (the date included) are passed in. Every value that comes from
//! the monitored world is HTML-escaped before it reaches ticket content, so a
//! check output can never inject markup; the title is plain text.
//! Imports only `core` and `template`.

mod html;
pub(crate) mod mail;
mod ticket;

pub(crate) use html::{error_line, one_line};
pub(crate) use mail::{MailText, MailTicket};
pub(crate) use ticket::{
    EXTERNAL_ID_PREFIX, MARKER_PREFIX, TicketText, carries_tag, event_tag, external_id, followup,
    marker, parse_marker, solution, ticket, vars,
};
// The property tests and the fuzz targets check these directly.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use html::escape_html;
#[cfg(test)]
pub(crate) use ticket::{OUTPUT_MAX_BYTES, cap_output};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use ticket::{TITLE_MAX_CHARS, content, title};
