//! The user pool's signing keys (JWKS), fetched once per container and cached.
//!
//! Cognito rotates keys rarely, and a token naming a key we do not know is either signed
//! by a new key or forged. So an unknown `kid` triggers one refetch, but at most one per
//! [`JwksCache::min_refetch_interval`]: a stream of forged tokens with random key ids
//! cannot turn the authorizer into a load generator against the JWKS endpoint.
//!
//! A failed fetch is not repeated by every request: the next one waits for a backoff
//! (1 s, doubling up to 30 s by default), and meanwhile a cache without keys answers
//! [`JwksError::Unavailable`] at once, so an outage of the JWKS endpoint is a quick,
//! bounded failure rather than every request waiting for its own timeout. A failed
//! refresh keeps the keys already loaded.

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
    /// A fetch failed a moment ago and the cache has no keys; the next try waits.
    #[error(
        "the JWKS at {url} is unavailable after {failures} failed fetch(es); next try in {retry_in:?}"
    )]
    Unavailable {
        /// The JWKS URL.
        url: String,
        /// Failed fetches in a row.
        failures: u32,
        /// How long until a request may fetch again.
        retry_in: Duration,
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
    backoff: Backoff,
    state: Mutex<State>,
}

/// How long to wait after failed fetches: `first`, doubled per failure, at most `max`.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    first: Duration,
    max: Duration,
}

impl Backoff {
    fn after(self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        self.first.saturating_mul(1 << doublings).min(self.max)
    }
}

#[derive(Default)]
struct State {
    keys: HashMap<String, DecodingKey>,
    last_fetch: Option<Instant>,
    /// Failed fetches in a row, and when the next fetch may start.
    failures: u32,
    retry_at: Option<Instant>,
}

impl JwksCache {
    /// How long after one fetch an unknown `kid` may cause the next, by default.
    pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
    /// The wait after the first failed fetch, by default; doubled after each further one.
    pub const DEFAULT_FIRST_BACKOFF: Duration = Duration::from_secs(1);
    /// The longest wait between failed fetches, by default.
    pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);

    /// A cache over the JWKS at `url`; nothing is fetched until the first token arrives.
    pub fn new(url: impl Into<String>, http: reqwest::Client) -> Self {
        JwksCache {
            url: url.into(),
            http,
            min_refetch_interval: Self::DEFAULT_MIN_REFETCH_INTERVAL,
            backoff: Backoff {
                first: Self::DEFAULT_FIRST_BACKOFF,
                max: Self::DEFAULT_MAX_BACKOFF,
            },
            state: Mutex::new(State::default()),
        }
    }

    /// Sets the wait after a failed fetch (`first`, doubled per failure, at most `max`).
    pub fn with_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = Backoff { first, max };
        self
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
        let now = Instant::now();
        let backing_off = state.retry_at.filter(|&at| now < at);
        if let (true, Some(at)) = (state.keys.is_empty(), backing_off) {
            return Err(JwksError::Unavailable {
                url: self.url.clone(),
                failures: state.failures,
                retry_in: at - now,
            });
        }
        // Until keys were loaded once, every request may try (after any backoff): there is
        // nothing else to do.
        let may_fetch = backing_off.is_none()
            && (state.keys.is_empty()
                || state
                    .last_fetch
                    .is_none_or(|at| at.elapsed() >= self.min_refetch_interval));
        if !may_fetch {
            return Err(JwksError::UnknownKid(kid.to_owned()));
        }
        state.last_fetch = Some(now);
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(url = %self.url, keys = keys.len(), "fetched JWKS");
                (state.failures, state.retry_at) = (0, None);
                state.keys = keys;
            }
            Err(e) => {
                state.failures = state.failures.saturating_add(1);
                let wait = self.backoff.after(state.failures);
                state.retry_at = Some(Instant::now() + wait);
                tracing::warn!(url = %self.url, failures = state.failures, retry_in = ?wait, kept_keys = state.keys.len(), error = %e, "fetching the JWKS failed");
                return Err(e);
            }
        }
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

    /// A JWKS endpoint on loopback that answers 503 while `up` is false, and counts requests.
    struct Endpoint {
        url: String,
        up: std::sync::Arc<std::sync::atomic::AtomicBool>,
        requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Endpoint {
        async fn start(up: bool) -> Endpoint {
            use std::sync::Arc;
            use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
            use tokio::io::{AsyncReadExt, AsyncWriteExt};

            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
            let (up, requests) = (Arc::new(AtomicBool::new(up)), Arc::new(AtomicUsize::new(0)));
            let (is_up, count) = (up.clone(), requests.clone());
            tokio::spawn(async move {
                let body = r#"{"keys": [{"kty": "RSA", "kid": "a", "n": "sXch", "e": "AQAB"}]}"#;
                while let Ok((mut stream, _)) = listener.accept().await {
                    let mut request = [0u8; 1024];
                    let _ = stream.read(&mut request).await;
                    count.fetch_add(1, Ordering::SeqCst);
                    let response = if is_up.load(Ordering::SeqCst) {
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    } else {
                        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
                    };
                    let _ = stream.write_all(response.as_bytes()).await;
                }
            });
            Endpoint { url, up, requests }
        }

        fn set_up(&self, up: bool) {
            self.up.store(up, std::sync::atomic::Ordering::SeqCst);
        }

        fn requests(&self) -> usize {
            self.requests.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    const FIRST: Duration = Duration::from_millis(400);

    fn cache(endpoint: &Endpoint) -> JwksCache {
        JwksCache::new(&endpoint.url, reqwest::Client::new())
            .with_min_refetch_interval(Duration::ZERO)
            .with_backoff(FIRST, Duration::from_secs(5))
    }

    #[tokio::test]
    async fn while_the_jwks_is_down_requests_fail_at_once_and_a_fetch_is_retried_after_a_backoff() {
        let endpoint = Endpoint::start(false).await;
        let cache = cache(&endpoint);

        let first = cache.key("a").await.err().unwrap();
        assert!(matches!(first, JwksError::Fetch { .. }), "{first:?}");
        // The next requests do not reach the endpoint, and say when it is tried again.
        for _ in 0..20 {
            let err = cache.key("a").await.err().unwrap();
            assert!(
                matches!(err, JwksError::Unavailable { failures: 1, retry_in, .. } if retry_in <= FIRST),
                "{err:?}"
            );
        }
        assert_eq!(endpoint.requests(), 1);

        tokio::time::sleep(FIRST).await;
        let second = cache.key("a").await.err().unwrap();
        assert!(matches!(second, JwksError::Fetch { .. }), "{second:?}");
        assert_eq!(endpoint.requests(), 2);
        // The second failure doubles the wait.
        let err = cache.key("a").await.err().unwrap();
        assert!(
            matches!(err, JwksError::Unavailable { failures: 2, retry_in, .. } if retry_in > FIRST),
            "{err:?}"
        );

        endpoint.set_up(true);
        tokio::time::sleep(2 * FIRST).await;
        assert!(cache.key("a").await.is_ok());
        assert_eq!(endpoint.requests(), 3);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_the_keys_it_has() {
        let endpoint = Endpoint::start(true).await;
        let cache = cache(&endpoint);
        assert!(cache.key("a").await.is_ok());

        endpoint.set_up(false);
        // A new key id makes it refresh, which fails; the known key still verifies.
        let err = cache.key("new").await.err().unwrap();
        assert!(matches!(err, JwksError::Fetch { .. }), "{err:?}");
        assert!(cache.key("a").await.is_ok());
        // During the backoff an unknown key id is just unknown, without a fetch.
        let err = cache.key("new").await.err().unwrap();
        assert!(matches!(err, JwksError::UnknownKid(_)), "{err:?}");
        assert_eq!(endpoint.requests(), 2);
    }

    #[test]
    fn the_backoff_doubles_up_to_its_limit() {
        let backoff = Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(30),
        };
        let waits: Vec<u64> = (1..=7).map(|n| backoff.after(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff.after(u32::MAX), Duration::from_secs(30));
    }
}
