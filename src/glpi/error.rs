//! `GlpiError`: every way a GLPI exchange can fail, classified once into
//! "refused" (exit 4: tokens, rights, validation) or "unavailable" (exit 5:
//! unreachable, timeout, 5xx, an answer that is not GLPI's); and the hint
//! for each, chosen by GLPI's [`ErrorCode`].

use super::code::ErrorCode;

/// An error of the GLPI client. Display never contains a token: tokens travel
/// in headers only, never in URLs, and are never logged.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GlpiError {
    /// GLPI answered with its `["ERROR_CODE", "message"]` pair (4xx).
    #[error("GLPI refused {what}: {code} ({message})")]
    Refused {
        what: String,
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// Connection refused, DNS, TLS, timeout, reset, or a 5xx.
    #[error("GLPI is unavailable during {what}: {reason}")]
    Unavailable {
        what: String,
        reason: String,
        /// True when a write may have been applied although no answer came back.
        outcome_unknown: bool,
    },
    /// GLPI answered something we cannot read (not JSON, unexpected shape).
    #[error("unexpected answer from GLPI to {what}: {detail}")]
    Protocol { what: String, detail: String },
    /// A 404 that is not GLPI's: `host` points where GLPI's API is not.
    #[error("no GLPI API answers {what} there (HTTP 404 Not Found)")]
    NotFound {
        what: String,
        /// Asked of GLPI 11's high-level API (`api.php/`), not of the
        /// legacy `apirest.php/`.
        high_level: bool,
    },
    /// PHP printed its own messages instead of GLPI's answer.
    #[error(
        "GLPI failed on {what}: its PHP printed an error, notice or warning instead of an answer"
    )]
    PhpOutput { what: String },
    /// The HTTP client could not be set up (e.g. an unreadable `ca_file`).
    #[error("cannot set up the connection to GLPI: {reason}")]
    Setup { reason: String },
}

/// What to do when GLPI 11's high-level API is not found (`api = "v2"`).
pub(crate) const HIGH_LEVEL_NOT_FOUND: &str = "check `host`: it must be GLPI's root URL, the one \
     that shows GLPI's login page (the client adds /api.php/v2/ for the high-level API and \
     /api.php/token for its OAuth tokens); the high-level API is GLPI 11's (GLPI 10 has none: use \
     api = \"legacy\") and is enabled under Setup > General > API > Enable the high-level API";

/// Whether a transport error's `reason` says the server answered a TLS
/// handshake in plain HTTP: an `https://` host on an HTTP port (rustls
/// reads "HTTP/1.1 400" as a record of an invalid content type; OpenSSL
/// says "wrong version number").
pub(crate) fn plain_http_answer(reason: &str) -> bool {
    let lower = reason.to_ascii_lowercase();
    [
        "invalidcontenttype",
        "corrupt message",
        "wrong version number",
    ]
    .iter()
    .any(|s| lower.contains(s))
}

/// Whether a transport error's `reason` says the server closed the
/// connection in the middle of the TLS handshake (what an HTTP server does
/// with a handshake it cannot read; a TLS server refusing this client
/// does it too, so only a probe of the port can tell).
pub(crate) fn handshake_cut(reason: &str) -> bool {
    reason.to_ascii_lowercase().contains("handshake eof")
}

impl GlpiError {
    /// GLPI's code, when GLPI refused the request.
    pub(crate) fn code(&self) -> Option<&ErrorCode> {
        match self {
            GlpiError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The next action for the operator.
    pub(crate) fn hint(&self) -> Option<String> {
        let hint = match self {
            GlpiError::Refused { code, message, .. } => refused_hint(code, message)?,
            GlpiError::Unavailable { reason, .. } if plain_http_answer(reason) => {
                "the event is kept; this port speaks plain HTTP, not TLS: write `host` with \
                 http:// (only towards this machine: the tokens would travel in clear), or with \
                 the port GLPI's web server serves HTTPS on (443 by default)"
            }
            GlpiError::Unavailable { reason, .. } if handshake_cut(reason) => {
                "the event is kept; the server closed the connection during the TLS handshake, \
                 as a port that speaks plain HTTP does: write `host` with the port GLPI's web \
                 server serves HTTPS on (443 by default), or http:// towards this machine; \
                 `esia-glpi check` says which"
            }
            GlpiError::Unavailable { .. } => {
                "the event is kept; check that GLPI answers at `host`, or raise timeout / \
                 connect_timeout if it is only slow"
            }
            GlpiError::Protocol { .. } => {
                "check that `host` points at the GLPI root (the client adds /apirest.php/)"
            }
            GlpiError::Setup { .. } => "check ca_file and the TLS settings in the configuration",
            GlpiError::NotFound {
                high_level: true, ..
            } => HIGH_LEVEL_NOT_FOUND,
            GlpiError::NotFound { .. } => {
                "check `host`: it must be GLPI's root URL, the one that shows GLPI's login page \
                 (the client adds /apirest.php/)"
            }
            GlpiError::PhpOutput { .. } => {
                "GLPI's web server shows PHP's messages to clients: turn display_errors off in \
                 its PHP configuration, and look in GLPI's and PHP's logs for the error"
            }
        };
        Some(hint.to_string())
    }
}

/// The next action after GLPI refused a request with `code`.
fn refused_hint(code: &ErrorCode, message: &str) -> Option<&'static str> {
    Some(match code {
        ErrorCode::GlpiLoginUserToken => {
            "GLPI refused the user_token: regenerate it under Administration → Users → \
             (the API user) → Remote access keys (API token), and again after every \
             change of that user's profile; also check that the user is active"
        }
        ErrorCode::WrongAppTokenParameter => {
            "GLPI refused the app_token: copy it from Setup → General → API → the API \
             client of this server"
        }
        ErrorCode::AppTokenParametersMissing => {
            "the API client of this server has an application token: set app_token"
        }
        ErrorCode::NotAllowedIp => {
            "no active API client accepts this server's address: add it to the IPv4 \
             range of an API client (Setup → General → API)"
        }
        ErrorCode::LoginParametersMissing => {
            "GLPI did not receive the user_token: the web server in front of GLPI \
             probably strips the Authorization header (Apache + PHP-FPM: add \
             `SetEnvIf Authorization \"(.*)\" HTTP_AUTHORIZATION=$1`)"
        }
        ErrorCode::InvalidClient => {
            "GLPI refused the OAuth client: copy its Client ID and secret from Setup > \
             OAuth clients into client_id and client_secret, and check the client is \
             active"
        }
        ErrorCode::InvalidGrant => {
            "GLPI refused the username or password: set username and password \
             (password_file) to those of an active GLPI user who may log in"
        }
        ErrorCode::UnauthorizedClient | ErrorCode::UnsupportedGrantType => {
            "the OAuth client does not allow the password grant: tick Password under \
             Grants in Setup > OAuth clients > (the client)"
        }
        ErrorCode::InvalidScope => {
            "the OAuth client does not allow the scope api: add api under Scopes in \
             Setup > OAuth clients > (the client)"
        }
        ErrorCode::RightMissing if message.contains("High-Level API is disabled") => {
            "enable the high-level API in GLPI: Setup > General > API > Enable the \
             high-level API"
        }
        ErrorCode::RightMissing if message.contains("scope") => {
            "the access token lacks the scope api: add api under Scopes in Setup > \
             OAuth clients > (the client)"
        }
        ErrorCode::Unauthenticated => {
            "GLPI refused the access token even once renewed: check that the OAuth \
             client in Setup > OAuth clients is active and still allows the password \
             grant"
        }
        ErrorCode::InvalidParameter if message.contains("OAuth token") => {
            "GLPI refused the access token as invalid: check that host is the GLPI \
             that granted it, and that the OAuth client in Setup > OAuth clients is \
             active"
        }
        ErrorCode::Generic if message.contains("API disabled") => {
            "enable the REST API in GLPI: Setup → General → API → Enable Rest API"
        }
        ErrorCode::RightMissing | ErrorCode::GlpiAdd | ErrorCode::GlpiUpdate
            if message.contains("permission") =>
        {
            "the API user's profile lacks a right: it needs ticket create/update, \
             follow-up add and user/asset read (see README, \"GLPI rights\")"
        }
        _ => return None,
    })
}
