//! GLPI 11's OAuth2 server as the simulator plays it: OAuth clients, user
//! passwords, the token endpoint (`POST /api.php/token`, league/oauth2-server
//! 9 behind `Glpi\OAuth\Server`) and the bearer-token check the high-level
//! API runs before routing (`Router::handleAuth`).
//!
//! Sources, in this order: `glpi11-transcripts/02*`–`04*` and `13b`, then
//! GLPI's `src/Glpi/OAuth/` and league's `AbstractGrant`, `PasswordGrant`,
//! `RefreshTokenGrant` and `OAuthServerException`. Invariants worth keeping:
//! client authentication reads `client_id`/`client_secret` from the body
//! first and from HTTP Basic second (RFC 6749 §2.3.1); any scope name is
//! accepted and then silently reduced to the client's scopes (GLPI's
//! `ScopeRepository`), so no `scope` gives a token with no scope at all
//! (`02e`); a refresh token works once and revokes the access token it was
//! issued with (`03b`, `04c`); an expired access token is "could not be
//! verified" (a 400 like a garbage one, not a 401).
//!
//! Tokens are JWT-shaped (`header.payload.signature`, base64url) but the
//! signature is random bytes: the simulator checks a token by looking it up.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::{
    ADMIN_PROFILE_ID, Ctx, NO_PERMISSION, Req, Resp, Session, State, as_u64, truthy, xorshift,
};

/// What [`super::Sim::add_oauth_client`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClientCreds {
    /// The client's row id (`GET /apirest.php/OAuthClient/{id}`).
    pub id: u64,
    /// `client_id` (GLPI's `identifier`).
    pub client_id: String,
    pub client_secret: String,
}

/// Every scope GLPI knows (`Server::getAllowedScopes`).
pub(super) const ALL_SCOPES: [&str; 6] = ["email", "user", "api", "inventory", "status", "graphql"];

#[derive(Debug, Clone)]
pub(super) struct OAuthClient {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) identifier: String,
    pub(super) secret: String,
    pub(super) grants: Vec<String>,
    pub(super) scopes: Vec<String>,
    pub(super) active: bool,
    pub(super) confidential: bool,
    pub(super) redirect_uri: Vec<String>,
    pub(super) comment: Option<String>,
    pub(super) allowed_ips: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct AccessToken {
    pub(super) client_id: String,
    /// `None` for a client_credentials token (`sub` is then the client).
    pub(super) user_id: Option<u64>,
    pub(super) scopes: Vec<String>,
    pub(super) expires_at: Instant,
    pub(super) expired: bool,
    pub(super) revoked: bool,
}

#[derive(Debug, Clone)]
pub(super) struct RefreshToken {
    client_id: String,
    user_id: Option<u64>,
    scopes: Vec<String>,
    /// The access token issued with it, revoked when it is used.
    access_token: String,
    revoked: bool,
    pub(super) expired: bool,
}

/// Who a valid bearer token speaks for.
#[derive(Debug, Clone)]
pub(super) struct Bearer {
    pub(super) user_id: Option<u64>,
    pub(super) scopes: Vec<String>,
}

/// league's `OAuthServerException`, as GLPI renders it.
struct OAuthError {
    status: u16,
    error: &'static str,
    description: &'static str,
    hint: Option<String>,
}

impl OAuthError {
    fn invalid_request(parameter: &str) -> OAuthError {
        OAuthError {
            status: 400,
            error: "invalid_request",
            description: "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.",
            hint: Some(format!("Check the `{parameter}` parameter")),
        }
    }

    fn invalid_client() -> OAuthError {
        OAuthError {
            status: 401,
            error: "invalid_client",
            description: "Client authentication failed",
            hint: None,
        }
    }

    fn unauthorized_client() -> OAuthError {
        OAuthError {
            status: 400,
            error: "unauthorized_client",
            description: "The authenticated client is not authorized to use this authorization grant type.",
            hint: None,
        }
    }

    fn unsupported_grant_type() -> OAuthError {
        OAuthError {
            status: 400,
            error: "unsupported_grant_type",
            description: "The authorization grant type is not supported by the authorization server.",
            hint: Some("Check that all required parameters have been provided".to_owned()),
        }
    }

    /// Wrong username or password (`02c`).
    fn invalid_credentials() -> OAuthError {
        OAuthError {
            status: 400,
            error: "invalid_grant",
            description: "The user credentials were incorrect.",
            hint: None,
        }
    }

    /// A refresh token that cannot be used (`03b`).
    fn invalid_refresh_token(hint: &str) -> OAuthError {
        OAuthError {
            status: 400,
            error: "invalid_grant",
            description: "The refresh token is invalid.",
            hint: Some(hint.to_owned()),
        }
    }

    /// A scope wider than the refreshed grant's (`03c`).
    fn invalid_scope(scope: &str) -> OAuthError {
        OAuthError {
            status: 400,
            error: "invalid_scope",
            description: "The requested scope is invalid, unknown, or malformed",
            hint: Some(format!("Check the `{scope}` scope")),
        }
    }

    fn into_resp(self, req: &Req) -> Resp {
        let mut body = json!({"error": self.error, "error_description": self.description});
        if let Some(h) = self.hint {
            body["hint"] = json!(h);
        }
        let mut headers = vec![
            ("Content-type".to_owned(), "application/json".to_owned()),
            ("X-Content-Type-Options".to_owned(), "nosniff".to_owned()),
            ("Cache-Control".to_owned(), "no-cache, private".to_owned()),
        ];
        // RFC 6749 §5.2, as league does it: only when the client tried the
        // Authorization header.
        if self.error == "invalid_client"
            && let Some(a) = req.header("Authorization").filter(|a| !a.is_empty())
        {
            let scheme = if a.starts_with("Bearer") {
                "Bearer"
            } else {
                "Basic"
            };
            headers.push((
                "WWW-Authenticate".to_owned(),
                format!("{scheme} realm=\"OAuth\""),
            ));
        }
        Resp {
            status: self.status,
            headers,
            body: serde_json::to_vec(&body).unwrap(),
        }
    }
}

/// league's `parseParam`: scalars become trimmed strings, an empty one is
/// absent; arrays and objects are an invalid request.
fn param(body: &Map<String, Value>, name: &str) -> Result<Option<String>, OAuthError> {
    let s = match body.get(name) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Bool(b)) => if *b { "1" } else { "" }.to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(OAuthError::invalid_request(name)),
    };
    Ok((!s.is_empty()).then_some(s))
}

/// `Authorization: Basic base64(id:secret)`, as league reads it.
fn basic_credentials(req: &Req) -> (Option<String>, Option<String>) {
    let Some(h) = req.header("Authorization") else {
        return (None, None);
    };
    if !h.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("Basic ")) {
        return (None, None);
    }
    let Some(decoded) = base64_decode(h[6..].trim()).and_then(|b| String::from_utf8(b).ok()) else {
        return (None, None);
    };
    match decoded.split_once(':') {
        Some((user, pass)) if !user.is_empty() => (Some(user.to_owned()), Some(pass.to_owned())),
        _ => (None, None),
    }
}

/// Standard base64 with padding (RFC 4648 §4), strict like PHP's
/// `base64_decode($s, true)`.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// base64url without padding (RFC 7515 §2), for the JWT-shaped tokens.
pub(super) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=n {
            out.push(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn token_resp(body: &Value) -> Resp {
    Resp {
        status: 200,
        headers: vec![
            ("pragma".to_owned(), "no-cache".to_owned()),
            ("Cache-Control".to_owned(), "no-store, private".to_owned()),
            (
                "content-type".to_owned(),
                "application/json; charset=UTF-8".to_owned(),
            ),
            ("X-Content-Type-Options".to_owned(), "nosniff".to_owned()),
        ],
        body: serde_json::to_vec(body).unwrap(),
    }
}

impl State {
    fn random_bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.oauth_rng = xorshift(self.oauth_rng);
                (self.oauth_rng >> 24) as u8
            })
            .collect()
    }

    fn random_hex(&mut self, n: usize) -> String {
        use std::fmt::Write as _;
        self.random_bytes(n).iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    pub(super) fn add_oauth_client(
        &mut self,
        name: &str,
        grants: &[&str],
        scopes: &[&str],
    ) -> OAuthClientCreds {
        let identifier = self.random_hex(32);
        let secret = self.random_hex(32);
        self.insert_oauth_client(name, &identifier, &secret, grants, scopes)
    }

    pub(super) fn insert_oauth_client(
        &mut self,
        name: &str,
        identifier: &str,
        secret: &str,
        grants: &[&str],
        scopes: &[&str],
    ) -> OAuthClientCreds {
        let id = self.oauth_clients.iter().map(|c| c.id).max().unwrap_or(0) + 1;
        self.oauth_clients.push(OAuthClient {
            id,
            name: name.to_owned(),
            identifier: identifier.to_owned(),
            secret: secret.to_owned(),
            grants: grants.iter().map(|g| (*g).to_owned()).collect(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            active: true,
            confidential: true,
            redirect_uri: vec!["/api.php/oauth2/redirection".to_owned()],
            comment: None,
            allowed_ips: None,
        });
        OAuthClientCreds {
            id,
            client_id: identifier.to_owned(),
            client_secret: secret.to_owned(),
        }
    }

    pub(super) fn expire_access_tokens(&mut self) {
        for t in self.access_tokens.values_mut() {
            t.expired = true;
        }
    }

    pub(super) fn live_access_tokens(&self) -> usize {
        let now = Instant::now();
        self.access_tokens
            .values()
            .filter(|t| !t.revoked && !t.expired && t.expires_at > now)
            .count()
    }

    /// `POST /api.php/token`; `body` is the parsed request body (form or
    /// JSON): league reads nothing from the query string.
    pub(super) fn token_endpoint(&mut self, req: &Req, body: &Map<String, Value>) -> Resp {
        match self.grant(req, body) {
            Ok(v) => token_resp(&v),
            Err(e) => e.into_resp(req),
        }
    }

    fn grant(&mut self, req: &Req, body: &Map<String, Value>) -> Result<Value, OAuthError> {
        // AuthorizationServer::respondToAccessTokenRequest: the first enabled
        // grant whose identifier equals `grant_type` answers.
        let grant_type = match body.get("grant_type") {
            Some(Value::String(g)) => g.clone(),
            _ => return Err(OAuthError::unsupported_grant_type()),
        };
        match grant_type.as_str() {
            "password" | "client_credentials" | "refresh_token" | "authorization_code" => {}
            _ => return Err(OAuthError::unsupported_grant_type()),
        }
        let client = self.authenticate_client(req, body, &grant_type)?;
        match grant_type.as_str() {
            "password" => {
                let scopes = requested_scopes(body)?;
                let username = param(body, "username")?
                    .ok_or_else(|| OAuthError::invalid_request("username"))?;
                let password = param(body, "password")?
                    .ok_or_else(|| OAuthError::invalid_request("password"))?;
                let user = self
                    .check_password(&username, &password)
                    .ok_or_else(OAuthError::invalid_credentials)?;
                let scopes = finalize(&client, &scopes);
                Ok(self.issue(&client, Some(user), scopes, true))
            }
            "client_credentials" => {
                let scopes = finalize(&client, &requested_scopes(body)?);
                Ok(self.issue(&client, None, scopes, false))
            }
            "refresh_token" => {
                let presented = param(body, "refresh_token")?
                    .ok_or_else(|| OAuthError::invalid_request("refresh_token"))?;
                let old = self
                    .refresh_tokens
                    .get(&presented)
                    .cloned()
                    .ok_or_else(|| {
                        OAuthError::invalid_refresh_token("Cannot decrypt the refresh token")
                    })?;
                if old.client_id != client.identifier {
                    return Err(OAuthError::invalid_refresh_token(
                        "Token is not linked to client",
                    ));
                }
                if old.expired {
                    return Err(OAuthError::invalid_refresh_token("Token has expired"));
                }
                if old.revoked {
                    return Err(OAuthError::invalid_refresh_token("Token has been revoked"));
                }
                let requested = match param(body, "scope")? {
                    Some(s) => s
                        .split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    None => old.scopes.clone(),
                };
                if let Some(wider) = requested.iter().find(|s| !old.scopes.contains(s)) {
                    return Err(OAuthError::invalid_scope(wider));
                }
                let scopes = finalize(&client, &requested);
                if let Some(t) = self.access_tokens.get_mut(&old.access_token) {
                    t.revoked = true;
                }
                if let Some(t) = self.refresh_tokens.get_mut(&presented) {
                    t.revoked = true;
                }
                Ok(self.issue(&client, old.user_id, scopes, true))
            }
            // The authorize endpoint is not simulated: no code can be valid.
            _ => match param(body, "code")? {
                None => Err(OAuthError::invalid_request("code")),
                Some(_) => Err(OAuthError {
                    hint: Some("Cannot decrypt the authorization code".to_owned()),
                    ..OAuthError::invalid_request("code")
                }),
            },
        }
    }

    /// `AbstractGrant::validateClient` + GLPI's `ClientRepository`.
    fn authenticate_client(
        &self,
        req: &Req,
        body: &Map<String, Value>,
        grant_type: &str,
    ) -> Result<OAuthClient, OAuthError> {
        let (basic_user, basic_pass) = basic_credentials(req);
        let client_id = param(body, "client_id")?
            .or(basic_user)
            .ok_or_else(|| OAuthError::invalid_request("client_id"))?;
        let client = self
            .oauth_clients
            .iter()
            .find(|c| c.identifier == client_id && c.active)
            .cloned()
            .ok_or_else(OAuthError::invalid_client)?;
        if client.confidential {
            let secret = param(body, "client_secret")?
                .or(basic_pass)
                .unwrap_or_default();
            if secret.is_empty() {
                return Err(OAuthError::invalid_request("client_secret"));
            }
            if secret != client.secret {
                return Err(OAuthError::invalid_client());
            }
            if grant_type != "refresh_token" && !client.grants.iter().any(|g| g == grant_type) {
                return Err(OAuthError::unauthorized_client());
            }
        }
        Ok(client)
    }

    /// `Auth::validateLogin`: an active, not deleted user with that login
    /// (case-insensitive, as MySQL compares) and password.
    fn check_password(&self, login: &str, password: &str) -> Option<u64> {
        let id = self.user_by_login(login)?;
        let row = self.row("User", id)?;
        let usable = row.get("is_active").and_then(as_u64) == Some(1)
            && row.get("is_deleted").and_then(as_u64) == Some(0);
        (usable && self.passwords.get(&id).is_some_and(|p| p == password)).then_some(id)
    }

    fn issue(
        &mut self,
        client: &OAuthClient,
        user_id: Option<u64>,
        scopes: Vec<String>,
        with_refresh: bool,
    ) -> Value {
        let lifetime = self.token_lifetime;
        let now = jiff::Timestamp::now();
        #[allow(clippy::cast_precision_loss)]
        let iat = now.as_millisecond() as f64 / 1000.0;
        let exp = iat + lifetime.as_secs_f64();
        let jti = self.random_hex(40);
        let sub = user_id.map_or_else(|| client.identifier.clone(), |u| u.to_string());
        let payload = json!({
            "aud": client.identifier, "jti": jti, "iat": iat, "nbf": iat, "exp": exp,
            "sub": sub, "scopes": scopes,
        });
        let signature = self.random_bytes(256);
        let access = format!(
            "{}.{}.{}",
            base64url(br#"{"typ":"JWT","alg":"RS256"}"#),
            base64url(&serde_json::to_vec(&payload).unwrap()),
            base64url(&signature)
        );
        self.access_tokens.insert(
            access.clone(),
            AccessToken {
                client_id: client.identifier.clone(),
                user_id,
                scopes: scopes.clone(),
                expires_at: Instant::now() + lifetime,
                expired: false,
                revoked: false,
            },
        );
        let mut out = json!({
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "access_token": access,
        });
        if with_refresh {
            let refresh = format!("def50200{}", self.random_hex(256));
            self.refresh_tokens.insert(
                refresh.clone(),
                RefreshToken {
                    client_id: client.identifier.clone(),
                    user_id,
                    scopes,
                    access_token: access,
                    revoked: false,
                    expired: false,
                },
            );
            out["refresh_token"] = json!(refresh);
        }
        out
    }

    /// league's `BearerTokenValidator` on an `Authorization` header value;
    /// `Err` carries the hint GLPI shows as the error's `detail`.
    pub(super) fn validate_bearer(&self, header: &str) -> Result<Bearer, String> {
        let trimmed = header.trim_start();
        let jwt = trimmed
            .strip_prefix("Bearer")
            .filter(|r| r.starts_with([' ', '\t']))
            .map_or(trimmed, |r| &r[1..])
            .trim();
        if jwt.split('.').count() != 3 {
            return Err("The JWT string must have two dots".to_owned());
        }
        let Some(t) = self.access_tokens.get(jwt) else {
            return Err("Access token could not be verified".to_owned());
        };
        if t.expired || Instant::now() >= t.expires_at {
            return Err("Access token could not be verified".to_owned());
        }
        if t.revoked {
            return Err("Access token has been revoked".to_owned());
        }
        Ok(Bearer {
            user_id: t.user_id,
            scopes: t.scopes.clone(),
        })
    }

    // -- the legacy API's OAuthClient itemtype (01a, 01b) ---------------------

    pub(super) fn legacy_oauth_client(
        &mut self,
        ctx: &Ctx<'_>,
        segs: &[&str],
        session: &Session,
    ) -> Resp {
        let id = segs.get(1).map(|s| s.parse::<u64>());
        match (ctx.req.method.as_str(), id) {
            ("GET", None) => {
                let list: Vec<Value> = self.oauth_clients.iter().map(client_json).collect();
                super::json_resp(200, &Value::Array(list))
            }
            ("GET", Some(Ok(id))) => match self.oauth_clients.iter().find(|c| c.id == id) {
                Some(c) => super::json_resp(200, &client_json(c)),
                None => self.err(404, "ERROR_ITEM_NOT_FOUND", "Item not found", false),
            },
            ("POST", None) => {
                if session.profile_id != ADMIN_PROFILE_ID {
                    return self.err(401, "ERROR_RIGHT_MISSING", NO_PERMISSION, true);
                }
                let Some(Value::Object(input)) = ctx.body_value("input") else {
                    return self.err(
                        400,
                        "ERROR_BAD_ARRAY",
                        "input parameter must be an array of objects",
                        true,
                    );
                };
                let name = input.get("name").and_then(Value::as_str).unwrap_or("");
                if name.is_empty() {
                    return super::json_resp(400, &json!(["ERROR_GLPI_ADD", ""]));
                }
                let list = |k: &str| -> Vec<String> {
                    match input.get(k) {
                        Some(Value::Array(a)) => a
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect(),
                        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
                        _ => Vec::new(),
                    }
                };
                let grants = list("grants");
                let scopes = list("scopes");
                let grants: Vec<&str> = grants.iter().map(String::as_str).collect();
                let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                let creds = self.add_oauth_client(name, &grants, &scopes);
                let c = self.oauth_clients.last_mut().unwrap();
                c.active = input.get("is_active").is_none_or(|v| truthy(Some(v)));
                c.confidential = input.get("is_confidential").is_none_or(|v| truthy(Some(v)));
                c.comment = input
                    .get("comment")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let mut r = super::json_resp(
                    201,
                    &json!({"id": creds.id, "message": format!("Item successfully added: {name}")}),
                );
                r.headers.push((
                    "location".into(),
                    format!("{}/OAuthClient/{}", self.legacy_api_base(), creds.id),
                ));
                r
            }
            _ => self.err(
                400,
                "ERROR",
                &format!(
                    "glpi-sim: no route for {} {} (OAuthClient: GET and POST only)",
                    ctx.req.method, ctx.req.path
                ),
                false,
            ),
        }
    }
}

/// GLPI keeps only the requested scopes the client may use, in order.
fn finalize(client: &OAuthClient, requested: &[String]) -> Vec<String> {
    requested
        .iter()
        .filter(|s| client.scopes.contains(s))
        .cloned()
        .collect()
}

/// `scope` split on spaces. GLPI's `ScopeRepository` accepts any name here
/// (unknown ones are dropped by `finalize`), so this never fails on a name.
fn requested_scopes(body: &Map<String, Value>) -> Result<Vec<String>, OAuthError> {
    Ok(param(body, "scope")?
        .map(|s| {
            s.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

/// `GET /apirest.php/OAuthClient/{id}` (01b): the secret is never shown.
fn client_json(c: &OAuthClient) -> Value {
    json!({
        "identifier": c.identifier, "id": c.id, "name": c.name, "comment": c.comment,
        "redirect_uri": c.redirect_uri, "grants": c.grants, "scopes": c.scopes,
        "is_active": u8::from(c.active), "is_confidential": u8::from(c.confidential),
        "allowed_ips": c.allowed_ips,
    })
}

#[cfg(test)]
mod tests {
    use super::{base64_decode, base64url};

    #[test]
    fn base64_round_trips() {
        assert_eq!(
            base64url(br#"{"typ":"JWT","alg":"RS256"}"#),
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9"
        );
        assert_eq!(base64_decode("YTpi").unwrap(), b"a:b");
        assert_eq!(base64_decode("YTpiYw==").unwrap(), b"a:bc");
        assert!(base64_decode("a*b").is_none());
    }
}
