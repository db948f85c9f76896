//! [`ErrorCode`]: the codes GLPI names its refusals with, as typed values —
//! the legacy API's (`["ERROR_…", message]`, glpi-api.md §3), the
//! high-level API's (`{"status": "ERROR_…"}`, §11.3) and its OAuth2
//! server's (`{"error": "invalid_…"}`, RFC 6749 §5.2).
//!
//! Parsed once, where an error answer is decoded (`http.rs`); everything
//! else matches on the variants. This is the only place that knows the
//! codes' text, and it displays each code exactly as GLPI wrote it (an
//! unknown one too), because error messages quote it.

/// Declares [`ErrorCode`] and its text table, so that each code is written
/// once: the variant and GLPI's text side by side.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// A code GLPI refused a request with.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(crate) enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// A code not listed here, as GLPI wrote it. Never holds a listed
            /// code: build codes with [`ErrorCode::from`].
            Other(String),
        }

        impl ErrorCode {
            /// The code as GLPI writes it.
            pub(crate) fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                    ErrorCode::Other(code) => code,
                }
            }

            /// The listed code GLPI writes as `text`.
            fn listed(text: &str) -> Option<ErrorCode> {
                match text {
                    $($text => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    // The legacy REST API (glpi-api.md §3).
    /// `ERROR`: GLPI's generic code ("API disabled", a bad range, …).
    Generic = "ERROR",
    /// No active API client accepts the caller's address.
    NotAllowedIp = "ERROR_NOT_ALLOWED_IP",
    /// The API client has an application token and none was sent.
    AppTokenParametersMissing = "ERROR_APP_TOKEN_PARAMETERS_MISSING",
    /// The `App-Token` sent is not the API client's.
    WrongAppTokenParameter = "ERROR_WRONG_APP_TOKEN_PARAMETER",
    /// `initSession` received no usable `user_token`.
    LoginParametersMissing = "ERROR_LOGIN_PARAMETERS_MISSING",
    LoginWithCredentialsDisabled = "ERROR_LOGIN_WITH_CREDENTIALS_DISABLED",
    /// The `user_token` was refused.
    GlpiLoginUserToken = "ERROR_GLPI_LOGIN_USER_TOKEN",
    GlpiLogin = "ERROR_GLPI_LOGIN",
    SessionTokenMissing = "ERROR_SESSION_TOKEN_MISSING",
    /// GLPI forgot the session (or never had it).
    SessionTokenInvalid = "ERROR_SESSION_TOKEN_INVALID",
    JsonPayloadForbidden = "ERROR_JSON_PAYLOAD_FORBIDDEN",
    JsonPayloadInvalid = "ERROR_JSON_PAYLOAD_INVALID",
    UploadFileTooBigPostMaxSize = "ERROR_UPLOAD_FILE_TOO_BIG_POST_MAX_SIZE",
    ResourceMissing = "ERROR_RESOURCE_MISSING",
    ResourceNotFoundNorCommonDbtm = "ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM",
    ItemtypeNotFoundNorCommonDbtm = "ERROR_ITEMTYPE_NOT_FOUND_NOR_COMMONDBTM",
    FieldNotFound = "ERROR_FIELD_NOT_FOUND",
    /// 404: no such item (or a purged one).
    ItemNotFound = "ERROR_ITEM_NOT_FOUND",
    /// 403: a read refused (or, v2, the high-level API disabled, a scope
    /// missing).
    RightMissing = "ERROR_RIGHT_MISSING",
    BadArray = "ERROR_BAD_ARRAY",
    MethodNotAllowed = "ERROR_METHOD_NOT_ALLOWED",
    RangeExceedTotal = "ERROR_RANGE_EXCEED_TOTAL",
    Sql = "ERROR_SQL",
    /// A single add failed (a missing CREATE right among others).
    GlpiAdd = "ERROR_GLPI_ADD",
    GlpiPartialAdd = "ERROR_GLPI_PARTIAL_ADD",
    /// A single update failed (a missing UPDATE right among others).
    GlpiUpdate = "ERROR_GLPI_UPDATE",
    GlpiPartialUpdate = "ERROR_GLPI_PARTIAL_UPDATE",
    GlpiDelete = "ERROR_GLPI_DELETE",
    GlpiPartialDelete = "ERROR_GLPI_PARTIAL_DELETE",
    // The high-level API (glpi-api.md §11.3).
    /// 401: the access token refused.
    Unauthenticated = "ERROR_UNAUTHENTICATED",
    /// 400: a parameter missing or invalid (an unreadable access token too).
    InvalidParameter = "ERROR_INVALID_PARAMETER",
    AlreadyExists = "ERROR_ALREADY_EXISTS",
    // The OAuth2 token endpoint (RFC 6749 §5.2).
    InvalidRequest = "invalid_request",
    /// The client id or secret refused.
    InvalidClient = "invalid_client",
    /// The user's credentials, or the refresh token, refused.
    InvalidGrant = "invalid_grant",
    UnauthorizedClient = "unauthorized_client",
    UnsupportedGrantType = "unsupported_grant_type",
    InvalidScope = "invalid_scope",
    AccessDenied = "access_denied",
}

impl ErrorCode {
    /// True when the token endpoint refused the grant itself (a refresh
    /// token revoked, used already or expired; a scope), not the client:
    /// RFC 6749's `invalid_…` codes — and a server's own ones of that
    /// family — except `invalid_client`.
    pub(crate) fn refuses_grant(&self) -> bool {
        match self {
            ErrorCode::InvalidRequest | ErrorCode::InvalidGrant | ErrorCode::InvalidScope => true,
            ErrorCode::Other(code) => code.starts_with("invalid_"),
            // `invalid_client` among them.
            _ => false,
        }
    }
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> ErrorCode {
        ErrorCode::listed(code).unwrap_or_else(|| ErrorCode::Other(code.to_owned()))
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> ErrorCode {
        ErrorCode::listed(&code).unwrap_or(ErrorCode::Other(code))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_as_glpi_wrote_them() {
        for text in [
            "ERROR",
            "ERROR_ITEM_NOT_FOUND",
            "invalid_client",
            "ERROR_SOMETHING_NEW",
            "Error_Item_Not_Found",
            "",
        ] {
            assert_eq!(ErrorCode::from(text).to_string(), text);
            assert_eq!(ErrorCode::from(text.to_string()), ErrorCode::from(text));
        }
        assert_eq!(
            ErrorCode::from("ERROR_SESSION_TOKEN_INVALID"),
            ErrorCode::SessionTokenInvalid
        );
        // Codes are case-sensitive, as GLPI writes them.
        assert_eq!(
            ErrorCode::from("error_item_not_found"),
            ErrorCode::Other("error_item_not_found".into())
        );
    }

    #[test]
    fn a_refused_grant_is_not_a_refused_client() {
        let refuses = |code: &str| ErrorCode::from(code).refuses_grant();
        assert!(refuses("invalid_grant"));
        assert!(refuses("invalid_request"));
        assert!(refuses("invalid_scope"));
        assert!(refuses("invalid_credentials"));
        assert!(!refuses("invalid_client"));
        assert!(!refuses("access_denied"));
        assert!(!refuses("ERROR_UNAUTHENTICATED"));
    }
}
