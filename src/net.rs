//! What the two HTTP clients share — GLPI's (`glpi`) and Icinga 2's
//! (`monitor`): the certificates of a `ca_file`, and a transport error
//! said in one short line. A leaf: imports nothing of the crate.

use std::path::Path;

/// The certificates of the PEM file `path`, to add to the system's roots
/// (possibly none: the caller decides whether that is an error); `Err`
/// says why not, in words for a `Setup` error.
pub(crate) fn ca_certs(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        format!(
            "ca_file {} holds no usable PEM certificate: {e}",
            path.display()
        )
    })
}

/// A short reason for a transport error: its kind, then its causes,
/// without the URL (no secret is ever in a URL, but keep messages short
/// and stable).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut reason = kind.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    reason
}
