//! What the high-level API's OAuth2 flow works with, apart from the flow
//! itself (`oauth.rs`): the client and user settings, the tokens as kept
//! between runs, and the [`TokenStore`] interface the engine implements in
//! the state directory. Imports nothing of the client.

use secrecy::SecretString;

/// The high-level API and its OAuth2 client.
#[derive(Debug, Clone)]
pub(crate) struct V2Settings {
    /// `…/api.php/token`.
    pub(crate) token_url: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) username: String,
    pub(crate) password: SecretString,
}

impl V2Settings {
    /// What kept tokens are bound to: the token endpoint, the client, the
    /// user.
    pub(crate) fn binding(&self) -> String {
        format!("{} {} {}", self.token_url, self.client_id, self.username)
    }
}

/// Tokens as kept between runs.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    /// [`V2Settings::binding`] of the configuration they were granted for.
    pub(crate) bound_to: String,
    pub(crate) access: SecretString,
    pub(crate) refresh: Option<SecretString>,
    /// Unix time (s) after which the access token is renewed before use.
    pub(crate) renew_after: i64,
    /// The client authenticated with HTTP Basic rather than in the body.
    pub(crate) basic_auth: bool,
}

/// Where the tokens are kept between runs, and the lock under which one run
/// renews them.
pub(crate) trait TokenStore: std::fmt::Debug {
    /// The kept tokens; `None` when there are none or they cannot be read.
    fn load(&self) -> Option<Tokens>;
    /// Keeps `tokens` (failures are the store's to log).
    fn save(&self, tokens: &Tokens);
    /// Forgets the kept tokens.
    fn discard(&self);
    /// The renewal lock, if no other run holds it; released when dropped.
    fn try_lock(&self) -> Option<Box<dyn std::any::Any>>;
}
