//! The language of the texts written into tickets and mails.

/// Language of the texts written into tickets and mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lang {
    #[default]
    Fr,
    En,
}
