//! Whom a record or a kept event belongs to: [`GlpiId`], the GLPI it was
//! written for. Records and kept events carry it; a run for another GLPI
//! never uses the one nor delivers the other.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The identity of one GLPI: today its root URL, scheme and server in
/// lower case, without user information (`config::Config::glpi_identity`).
/// Serialised as that plain string, as records and kept events of earlier
/// versions hold it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct GlpiId(String);

impl GlpiId {
    pub(crate) fn new(id: impl Into<String>) -> GlpiId {
        GlpiId(id.into())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GlpiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
