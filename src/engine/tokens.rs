//! Where the GLPI client keeps its OAuth2 tokens between runs (`api =
//! "v2"`): `cache/oauth-token.json` in the state directory (0600, never
//! followed through a link, owned by the running user like every state
//! file), and `cache/oauth-token.lock`, under which one run renews them.
//! A file that cannot be read as this schema is discarded, never trusted;
//! the client discards tokens bound to another GLPI, client or user.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::glpi::{TokenStore, Tokens};
use crate::state::Cache;

const FILE: &str = "oauth-token.json";
const LOCK: &str = "oauth-token";
const SCHEMA: u32 = 1;

/// The tokens file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    schema: u32,
    bound_to: String,
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    renew_after: i64,
    #[serde(default)]
    basic_auth: bool,
}

/// The tokens in the state directory's cache.
#[derive(Debug)]
pub(crate) struct CachedTokens {
    cache: Cache,
}

impl CachedTokens {
    pub(crate) fn new(cache: Cache) -> CachedTokens {
        CachedTokens { cache }
    }
}

impl TokenStore for CachedTokens {
    fn load(&self) -> Option<Tokens> {
        let bytes = self.cache.read_file(FILE)?;
        match serde_json::from_slice::<Stored>(&bytes) {
            Ok(s) if s.schema == SCHEMA && !s.access_token.is_empty() => Some(Tokens {
                bound_to: s.bound_to,
                access: SecretString::from(s.access_token),
                refresh: s.refresh_token.map(SecretString::from),
                renew_after: s.renew_after,
                basic_auth: s.basic_auth,
            }),
            _ => {
                tracing::warn!("the kept GLPI access token could not be read: discarded");
                self.discard();
                None
            }
        }
    }

    fn save(&self, tokens: &Tokens) {
        let stored = Stored {
            schema: SCHEMA,
            bound_to: tokens.bound_to.clone(),
            access_token: tokens.access.expose_secret().to_owned(),
            refresh_token: tokens
                .refresh
                .as_ref()
                .map(|r| r.expose_secret().to_owned()),
            renew_after: tokens.renew_after,
            basic_auth: tokens.basic_auth,
        };
        let result = serde_json::to_vec(&stored)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                self.cache
                    .write_file(FILE, &bytes)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = result {
            tracing::warn!("could not keep the GLPI access token for the next runs: {e}");
        }
    }

    fn discard(&self) {
        self.cache.remove_file(FILE);
    }

    fn try_lock(&self) -> Option<Box<dyn std::any::Any>> {
        match self.cache.try_lock(LOCK) {
            Ok(Some(lock)) => Some(Box::new(lock)),
            Ok(None) => None,
            Err(e) => {
                // Without the lock every run asks for its own token: more
                // requests, never a wrong one.
                tracing::warn!("{e}: renewing the GLPI access token without the lock");
                Some(Box::new(()))
            }
        }
    }
}
