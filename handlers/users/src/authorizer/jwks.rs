//! The user pool's signing keys (JWKS), fetched once per container and cached.
//!
//! Cognito rotates keys rarely, and a token naming a key we do not know is either signed
//! by a new key or forged. So an unknown `kid` triggers one refetch, but at most one per
//! [`JwksCache::min_refetch_interval`]: a stream of forged tokens with random key ids
//! cannot turn the authorizer into a load generator against the JWKS endpoint.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse};
use tokio::sync::Mutex;

/// The signing keys could not be had.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The token names a key the pool does not publish (or not yet, within the refetch limit).
    #[error("no signing key with kid {0:?}")]
    UnknownKid(String),
    /// The JWKS endpoint could not be read.
    #[error("fetching the JWKS from {url} failed")]
    Fetch {
        /// The JWKS URL.
        url: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
}

/// A cache of a JWKS's RS256 keys by key id.
///
/// The interval counts from the last fetch of any kind, the first one included: keys
/// fetched a moment ago are current, so a kid missing from them is most likely forged.
pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    min_refetch_interval: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, DecodingKey>,
    last_fetch: Option<Instant>,
}

impl JwksCache {
    /// How long after one fetch an unknown `kid` may cause the next, by default.
    pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

    /// A cache over the JWKS at `url`; nothing is fetched until the first token arrives.
    pub fn new(url: impl Into<String>, http: reqwest::Client) -> Self {
        JwksCache {
            url: url.into(),
            http,
            min_refetch_interval: Self::DEFAULT_MIN_REFETCH_INTERVAL,
            state: Mutex::new(State::default()),
        }
    }

    /// Sets the least time between two fetches caused by unknown key ids.
    pub fn with_min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// The least time between two fetches caused by unknown key ids.
    pub fn min_refetch_interval(&self) -> Duration {
        self.min_refetch_interval
    }

    /// The JWKS URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The RS256 key with id `kid`, fetching the JWKS when it is not cached (and allowed to).
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, JwksError> {
        // Held across the fetch on purpose: concurrent callers wait for one fetch instead
        // of each starting their own.
        let mut state = self.state.lock().await;
        if let Some(key) = state.keys.get(kid) {
            return Ok(key.clone());
        }
        // Until keys were loaded once, every request may try: there is nothing else to do.
        let may_fetch = state.keys.is_empty()
            || state
                .last_fetch
                .is_none_or(|at| at.elapsed() >= self.min_refetch_interval);
        if !may_fetch {
            return Err(JwksError::UnknownKid(kid.to_owned()));
        }
        state.last_fetch = Some(Instant::now());
        let keys = self.fetch().await?;
        tracing::info!(url = %self.url, keys = keys.len(), "fetched JWKS");
        state.keys = keys;
        state
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| JwksError::UnknownKid(kid.to_owned()))
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, JwksError> {
        let failed = |source| JwksError::Fetch {
            url: self.url.clone(),
            source,
        };
        let set: JwkSet = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(failed)?
            .json()
            .await
            .map_err(failed)?;
        Ok(rs256_keys(&set))
    }
}

/// The keys of `set` that may verify RS256 signatures, by key id; others are skipped.
fn rs256_keys(set: &JwkSet) -> HashMap<String, DecodingKey> {
    set.keys
        .iter()
        .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
        .filter(|jwk| matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256)))
        .filter(|jwk| {
            matches!(
                jwk.common.public_key_use,
                None | Some(PublicKeyUse::Signature)
            )
        })
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, key))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rsa_signing_keys_with_an_id_are_kept() {
        let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "a", "alg": "RS256", "use": "sig", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "b", "alg": "RS256", "use": "enc", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "c", "alg": "RS512", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "alg": "RS256", "n": "sXch", "e": "AQAB"},
            {"kty": "oct", "kid": "d", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "e", "n": "sXch", "e": "AQAB"}
        ]}))
        .unwrap();
        let mut kids: Vec<_> = rs256_keys(&set).into_keys().collect();
        kids.sort();
        assert_eq!(kids, ["a", "e"]);
    }
}
