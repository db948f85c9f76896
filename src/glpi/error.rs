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
    NotFound { what: String },
    /// PHP printed its own messages instead of GLPI's answer.
    #[error(
        "GLPI failed on {what}: its PHP printed an error, notice or warning instead of an answer"
    )]
    PhpOutput { what: String },
    /// The HTTP client could not be set up (e.g. an unreadable `ca_file`).
    #[error("cannot set up the connection to GLPI: {reason}")]
    Setup { reason: String },
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
            GlpiError::Refused { code, message, .. } => match code {
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
            },
            GlpiError::Unavailable { .. } => {
                "the event is kept; check that GLPI answers at `host`, or raise timeout / \
                 connect_timeout if it is only slow"
            }
            GlpiError::Protocol { .. } => {
                "check that `host` points at the GLPI root (the client adds /apirest.php/)"
            }
            GlpiError::Setup { .. } => "check ca_file and the TLS settings in the configuration",
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
