//! The two authorizers of the model: a Lambda TOKEN authorizer and a Cognito user pool
//! authorizer, each deciding whether a request goes on and what the integration sees of the
//! caller (`requestContext.authorizer`).
//!
//! TOKEN authorizer, as API Gateway runs it:
//! - The token is the `Authorization` header as sent; without one, or one that does not match
//!   the authorizer's identity validation (`token_shape`, by default a JWT), the answer is
//!   401 and the function is not called.
//! - The function gets `{"type":"TOKEN","authorizationToken":..,"methodArn":..}`. An error
//!   whose message is `Unauthorized` means 401; any other failure, or an answer without a
//!   `principalId` and a valid `policyDocument`, means 500 (`{"message":null}` on AWS).
//! - The answer is cached by token for `result_ttl_seconds` (0: not cached) for every route
//!   of the API, and the cached policy is evaluated against each request's method ARN: a
//!   policy that does not allow it means 403.
//! - `principalId` and the `context` map (values as strings) become
//!   `requestContext.authorizer`.
//!
//! Cognito authorizer: the `Authorization` header (`Bearer ` accepted too) must be an ID
//! token of the pool: RS256, signed by a key of the pool's JWKS (fetched from the endpoint
//! once, again when an unknown key id shows up, at most every few seconds), issuer
//! `https://cognito-idp.<region>.amazonaws.com/<pool id>`, audience one of the app clients,
//! not expired, `token_use` `id`. Anything else is 401. A verified token is remembered until
//! its `exp`, so its signature is checked once rather than on every request (the answer
//! cannot change before then: the pool's keys stay as they are for a local run). The claims become
//! `requestContext.authorizer.claims`, rendered as API Gateway renders them: strings, `exp`
//! and `iat` as Java dates (`Tue Apr 04 18:39:39 UTC 2023`), lists (`cognito:groups`) joined
//! with commas.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use stackgen_runtime::InvokeOutcome;

use stackgen::model::TokenShape;

use super::Invoker;
use super::policy::Policy;

/// Who the caller is, once an authorizer let the request through.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// `requestContext.authorizer`.
    pub context: Value,
    /// The caller's `sub` as the route's integrations read it: `principalId` for a Lambda
    /// authorizer, `claims.sub` for a Cognito one.
    pub caller: Option<String>,
}

/// Why an authorizer stopped a request; each is one gateway response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// 401 `Unauthorized`.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403: the policy does not allow the method.
    #[error("the policy does not allow {0}")]
    Denied(String),
    /// 500: the authorizer failed or answered something unusable.
    #[error("authorizer failed: {0}")]
    Failed(String),
}

struct Cached {
    until: Instant,
    policy: Arc<(Policy, Arc<Identity>)>,
}

/// A Lambda TOKEN authorizer with its policy cache.
pub struct TokenAuthorizer {
    function: String,
    ttl: Duration,
    token_shape: TokenShape,
    cache: Mutex<HashMap<String, Cached>>,
}

/// Cached tokens kept before expired ones are swept.
const CACHE_SWEEP_AT: usize = 4096;

impl TokenAuthorizer {
    /// An authorizer invoking `function` (its name in the local runtime), caching for `ttl`.
    pub fn new(function: impl Into<String>, ttl: Duration) -> Self {
        Self {
            function: function.into(),
            ttl,
            token_shape: TokenShape::Any,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Refuses (401) tokens not of `shape` without calling the function, as API Gateway's
    /// identity validation expression does.
    pub fn with_token_shape(mut self, shape: TokenShape) -> Self {
        self.token_shape = shape;
        self
    }

    /// Authorizes a request for `method_arn` carrying `token` (the `Authorization` header).
    pub async fn authorize(
        &self,
        invoker: &dyn Invoker,
        token: Option<&str>,
        method_arn: &str,
    ) -> Result<Arc<Identity>, Rejection> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Rejection::Unauthorized("no Authorization header".into()))?;
        if !self.token_shape.admits(token) {
            return Err(Rejection::Unauthorized(format!(
                "the token is not shaped as the authorizer's {:?} identity validation asks",
                self.token_shape
            )));
        }
        let policy = match self.cached(token) {
            Some(policy) => policy,
            None => {
                let policy = Arc::new(self.call(invoker, token, method_arn).await?);
                if !self.ttl.is_zero() {
                    self.remember(token, policy.clone());
                }
                policy
            }
        };
        let (policy, identity) = &*policy;
        if policy.allows(method_arn) {
            Ok(identity.clone())
        } else {
            Err(Rejection::Denied(method_arn.to_owned()))
        }
    }

    fn cached(&self, token: &str) -> Option<Arc<(Policy, Arc<Identity>)>> {
        let cache = self.cache.lock().ok()?;
        cache
            .get(token)
            .filter(|c| c.until > Instant::now())
            .map(|c| c.policy.clone())
    }

    fn remember(&self, token: &str, policy: Arc<(Policy, Arc<Identity>)>) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        let now = Instant::now();
        if cache.len() >= CACHE_SWEEP_AT {
            cache.retain(|_, c| c.until > now);
        }
        cache.insert(
            token.to_owned(),
            Cached {
                until: now + self.ttl,
                policy,
            },
        );
    }

    async fn call(
        &self,
        invoker: &dyn Invoker,
        token: &str,
        method_arn: &str,
    ) -> Result<(Policy, Arc<Identity>), Rejection> {
        let event = serde_json::json!({
            "type": "TOKEN",
            "authorizationToken": token,
            "methodArn": method_arn,
        });
        let payload = serde_json::to_vec(&event).map_err(|e| Rejection::Failed(e.to_string()))?;
        let outcome = invoker
            .invoke(&self.function, Bytes::from(payload))
            .await
            .map_err(|e| Rejection::Failed(e.to_string()))?;
        match outcome {
            InvokeOutcome::Response(answer) => read_answer(&answer),
            InvokeOutcome::Error(e) if e.error_message == "Unauthorized" => Err(
                Rejection::Unauthorized("the authorizer said Unauthorized".into()),
            ),
            InvokeOutcome::Error(e) => Err(Rejection::Failed(e.to_string())),
        }
    }
}

/// Reads a TOKEN authorizer's answer: the policy and `requestContext.authorizer`.
pub fn read_answer(answer: &Value) -> Result<(Policy, Arc<Identity>), Rejection> {
    let failed = |why: &str| Rejection::Failed(why.to_owned());
    let principal = answer
        .get("principalId")
        .and_then(Value::as_str)
        .ok_or_else(|| failed("the answer has no principalId"))?;
    let document = answer
        .get("policyDocument")
        .ok_or_else(|| failed("the answer has no policyDocument"))?;
    let policy = Policy::parse(document).map_err(|e| Rejection::Failed(e.to_string()))?;
    let mut context = Map::new();
    match answer.get("context") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(failed("a context value is not a string, number or boolean")),
                };
                context.insert(k.clone(), Value::String(text));
            }
        }
        Some(_) => return Err(failed("context is not an object")),
    }
    context.insert("principalId".into(), Value::String(principal.to_owned()));
    Ok((
        policy,
        Arc::new(Identity {
            context: Value::Object(context),
            caller: Some(principal.to_owned()),
        }),
    ))
}

/// A Cognito user pool authorizer.
pub struct CognitoAuthorizer {
    jwks_url: String,
    http: reqwest::Client,
    validation: Validation,
    keys: tokio::sync::RwLock<Keys>,
    verified: Mutex<HashMap<String, (u64, Arc<Identity>)>>,
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    fetched: Option<Instant>,
}

/// Least time between two JWKS fetches caused by unknown key ids.
const REFETCH_INTERVAL: Duration = Duration::from_secs(5);

impl CognitoAuthorizer {
    /// An authorizer for the pool whose tokens name `issuer`, accepting `client_ids` as
    /// audience, with its keys at `jwks_url`.
    pub fn new(issuer: &str, client_ids: &[String], jwks_url: &str, http: reqwest::Client) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(client_ids);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        Self {
            jwks_url: jwks_url.to_owned(),
            http,
            validation,
            keys: tokio::sync::RwLock::new(Keys::default()),
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// Verifies the `Authorization` header's ID token.
    pub async fn authorize(&self, header: Option<&str>) -> Result<Arc<Identity>, Rejection> {
        let unauthorized = |why: String| Rejection::Unauthorized(why);
        let header = header.map(str::trim).unwrap_or_default();
        let token = match header.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("bearer ") => header[7..].trim(),
            _ => header,
        };
        if token.is_empty() {
            return Err(unauthorized("no Authorization header".into()));
        }
        let now = unix_now();
        if let Some(identity) = self.verified.lock().ok().and_then(|v| {
            v.get(token)
                .filter(|(exp, _)| *exp > now)
                .map(|(_, i)| i.clone())
        }) {
            return Ok(identity);
        }
        let jwt_header = jsonwebtoken::decode_header(token)
            .map_err(|e| unauthorized(format!("bad token header: {e}")))?;
        if jwt_header.alg != Algorithm::RS256 {
            return Err(unauthorized(format!("algorithm {:?}", jwt_header.alg)));
        }
        let kid = jwt_header
            .kid
            .ok_or_else(|| unauthorized("the token has no kid".into()))?;
        let key = self.key(&kid).await?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation)
            .map_err(|e| unauthorized(format!("invalid token: {e}")))?;
        let claims = data.claims;
        if claims.get("token_use").and_then(Value::as_str) != Some("id") {
            return Err(unauthorized("not an ID token".into()));
        }
        let caller = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
        let identity = Arc::new(Identity {
            context: serde_json::json!({ "claims": render_claims(&claims) }),
            caller,
        });
        if let (Some(exp), Ok(mut verified)) = (
            claims.get("exp").and_then(Value::as_u64),
            self.verified.lock(),
        ) {
            if verified.len() >= CACHE_SWEEP_AT {
                verified.retain(|_, (e, _)| *e > now);
            }
            verified.insert(token.to_owned(), (exp, identity.clone()));
        }
        Ok(identity)
    }

    async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, Rejection> {
        if let Some(key) = self.keys.read().await.by_kid.get(kid) {
            return Ok(key.clone());
        }
        let mut keys = self.keys.write().await;
        if let Some(key) = keys.by_kid.get(kid) {
            return Ok(key.clone());
        }
        if keys
            .fetched
            .is_some_and(|at| at.elapsed() < REFETCH_INTERVAL)
        {
            return Err(Rejection::Unauthorized(format!("unknown key id {kid}")));
        }
        keys.fetched = Some(Instant::now());
        let set: JwkSet = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| Rejection::Unauthorized(format!("cannot fetch {}: {e}", self.jwks_url)))?
            .json()
            .await
            .map_err(|e| Rejection::Unauthorized(format!("cannot read {}: {e}", self.jwks_url)))?;
        keys.by_kid = set
            .keys
            .iter()
            .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                Some((kid, Arc::new(DecodingKey::from_jwk(jwk).ok()?)))
            })
            .collect();
        keys.by_kid
            .get(kid)
            .cloned()
            .ok_or_else(|| Rejection::Unauthorized(format!("unknown key id {kid}")))
    }
}

/// Seconds since the epoch, as `exp` counts them.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Claims as API Gateway hands them to integrations: every value a string.
pub fn render_claims(claims: &Map<String, Value>) -> Value {
    let out: Map<String, Value> = claims
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) if k == "exp" || k == "iat" => {
                    n.as_i64().map(java_date).unwrap_or_else(|| n.to_string())
                }
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                Value::Object(_) => v.to_string(),
            };
            (k.clone(), Value::String(text))
        })
        .collect();
    Value::Object(out)
}

/// Java's `Date.toString()` in UTC: `Tue Apr 04 18:39:39 UTC 2023`.
fn java_date(epoch_seconds: i64) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] UTC [year]"
    );
    time::OffsetDateTime::from_unix_timestamp(epoch_seconds)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| epoch_seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An authorizer function that allows everything, counting its calls.
    #[derive(Default)]
    struct Counting(std::sync::atomic::AtomicUsize);

    impl Invoker for Counting {
        fn invoke<'a>(
            &'a self,
            _function: &'a str,
            _payload: Bytes,
        ) -> std::pin::Pin<
            Box<
                dyn std::future::Future<
                        Output = Result<InvokeOutcome, stackgen_runtime::InvokeError>,
                    > + Send
                    + 'a,
            >,
        > {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async {
                Ok(InvokeOutcome::Response(json!({
                    "principalId": "sub-1",
                    "policyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}
                    ]}
                })))
            })
        }
    }

    #[tokio::test]
    async fn a_token_not_shaped_like_a_jwt_is_401_without_calling_the_function() {
        let invoker = Counting::default();
        let authorizer =
            TokenAuthorizer::new("AuthFn", Duration::ZERO).with_token_shape(TokenShape::Jwt);
        let arn = "arn:aws:execute-api:us-east-1:1:api/Prod/GET/users";

        for junk in ["garbage", "a.b", "Bearer", "a.b.c d"] {
            let err = authorizer
                .authorize(&invoker, Some(junk), arn)
                .await
                .unwrap_err();
            assert!(matches!(err, Rejection::Unauthorized(_)), "{junk}: {err:?}");
        }
        assert_eq!(invoker.0.load(std::sync::atomic::Ordering::SeqCst), 0);

        assert!(
            authorizer
                .authorize(&invoker, Some("Bearer a.b.c"), arn)
                .await
                .is_ok()
        );
        assert_eq!(invoker.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn claims_are_rendered_as_strings() {
        let claims = json!({
            "sub": "u-1", "exp": 1680633579, "iat": 1680629979, "auth_time": 1680629979,
            "email_verified": true, "cognito:groups": ["apiAdmins", "other"],
        });
        let rendered = render_claims(claims.as_object().unwrap());
        assert_eq!(
            rendered,
            json!({
                "sub": "u-1", "exp": "Tue Apr 04 18:39:39 UTC 2023", "iat": "Tue Apr 04 17:39:39 UTC 2023",
                "auth_time": "1680629979", "email_verified": "true", "cognito:groups": "apiAdmins,other",
            })
        );
    }

    #[test]
    fn an_answer_gives_the_policy_and_the_context_as_strings() {
        let (policy, identity) = read_answer(&json!({
            "principalId": "u-1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]},
            "context": {"sub": "u-1", "isAdmin": true, "n": 3},
        }))
        .unwrap();
        assert!(policy.allows("arn:aws:execute-api:r:a:api/Prod/GET/users"));
        assert_eq!(
            identity.context,
            json!({"principalId": "u-1", "sub": "u-1", "isAdmin": "true", "n": "3"})
        );
        assert_eq!(identity.caller.as_deref(), Some("u-1"));
    }

    #[test]
    fn an_answer_without_principal_or_policy_is_a_failure() {
        assert!(matches!(
            read_answer(&json!({"policyDocument": {"Statement": []}})),
            Err(Rejection::Failed(_))
        ));
        assert!(matches!(
            read_answer(&json!({"principalId": "x"})),
            Err(Rejection::Failed(_))
        ));
        assert!(matches!(
            read_answer(
                &json!({"principalId": "x", "policyDocument": {"Statement": []}, "context": {"a": {"b": 1}}})
            ),
            Err(Rejection::Failed(_))
        ));
    }
}
