//! The users API's Lambda TOKEN authorizer: verifies the caller's Cognito ID token and
//! answers with the IAM policy of what that caller may do.
//!
//! API Gateway answers 401 when the authorizer fails with the error message
//! `Unauthorized`, so every refused token ends as exactly that error (the reason goes to
//! the log, never to the caller). Failures that are not the token's fault (the JWKS cannot
//! be fetched, a malformed `methodArn`) are other errors, which the gateway answers with 500.

mod jwks;
mod policy;
mod token;

use std::time::Duration;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerResponse,
};
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};

use handler_common::{ConfigError, env_var};

pub use jwks::{JwksCache, JwksError};
pub use policy::{ApiStageArn, MethodArnError, policy_for};
pub use token::{Identity, Sub, TokenError, TokenVerifier};

/// The authorizer's settings, read from the environment once at init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerConfig {
    /// The user pool id (`USER_POOL_ID`), e.g. `us-east-1_AbC123`.
    pub user_pool_id: String,
    /// The app client id (`APP_CLIENT_ID`): the `aud` every ID token must carry.
    pub app_client_id: String,
    /// The admin group's name (`ADMIN_GROUP_NAME`).
    pub admin_group: String,
    /// Where the pool's keys are (`JWKS_URL`, default `<issuer>/.well-known/jwks.json`).
    pub jwks_url: String,
    /// The issuer every token must name: `https://cognito-idp.<region>.amazonaws.com/<pool>`.
    pub issuer: String,
}

/// The authorizer's configuration is incomplete or wrong.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizerConfigError {
    /// A required variable is missing.
    #[error(transparent)]
    Missing(#[from] ConfigError),
    /// The pool id does not start with its region.
    #[error("USER_POOL_ID {0:?} is not a user pool id (<region>_<id>)")]
    PoolId(String),
}

impl AuthorizerConfig {
    /// The settings for `user_pool_id`; the issuer always is the real Cognito one (local
    /// Cognito emulators name it in their tokens too), the JWKS URL may point elsewhere.
    pub fn new(
        user_pool_id: &str,
        app_client_id: &str,
        admin_group: &str,
        jwks_url: Option<String>,
    ) -> Result<Self, AuthorizerConfigError> {
        let region = user_pool_id
            .split_once('_')
            .map(|(region, _)| region)
            .filter(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            .ok_or_else(|| AuthorizerConfigError::PoolId(user_pool_id.to_owned()))?;
        let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}");
        let jwks_url = jwks_url.unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json"));
        Ok(AuthorizerConfig {
            user_pool_id: user_pool_id.to_owned(),
            app_client_id: app_client_id.to_owned(),
            admin_group: admin_group.to_owned(),
            jwks_url,
            issuer,
        })
    }

    /// Reads `USER_POOL_ID`, `APP_CLIENT_ID`, `ADMIN_GROUP_NAME` and optional `JWKS_URL`.
    pub fn from_env() -> Result<Self, AuthorizerConfigError> {
        Self::new(
            &env_var("USER_POOL_ID")?,
            &env_var("APP_CLIENT_ID")?,
            &env_var("ADMIN_GROUP_NAME")?,
            env_var("JWKS_URL").ok(),
        )
    }

    /// The verifier for this configuration, with its own HTTP client for the JWKS.
    pub fn verifier(&self) -> Result<TokenVerifier, reqwest::Error> {
        // Short: the JWKS is a small document in the pool's own region, and a request that
        // waits for keys holds its caller (API Gateway gives an authorizer 10 s at most).
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(2))
            .build()?;
        Ok(TokenVerifier::new(
            JwksCache::new(&self.jwks_url, http),
            &self.issuer,
            &self.app_client_id,
            &self.admin_group,
        ))
    }
}

/// What the authorizer passes on to the function, as `requestContext.authorizer.<key>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthorizerContext {
    /// The caller's `sub`.
    pub sub: String,
    /// The caller's email (empty when the token has none: context values cannot be null).
    pub email: String,
    /// `"true"` for members of the admin group, else `"false"`.
    #[serde(rename = "isAdmin")]
    pub is_admin: String,
}

/// The authorizer's answer.
pub type AuthorizerResponse = ApiGatewayCustomAuthorizerResponse<AuthorizerContext>;

/// Why the authorizer did not allow the call.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizerError {
    /// The token is missing or bad: API Gateway answers 401.
    #[error("Unauthorized")]
    Unauthorized(#[source] TokenError),
    /// The signing keys could not be fetched: API Gateway answers 500.
    #[error("signing keys unavailable")]
    KeysUnavailable(#[source] JwksError),
    /// The event's `methodArn` is malformed: API Gateway answers 500.
    #[error(transparent)]
    MethodArn(#[from] MethodArnError),
}

impl From<TokenError> for AuthorizerError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Key(err @ (JwksError::Fetch { .. } | JwksError::Unavailable { .. })) => {
                AuthorizerError::KeysUnavailable(err)
            }
            other => AuthorizerError::Unauthorized(other),
        }
    }
}

impl From<AuthorizerError> for Diagnostic {
    fn from(err: AuthorizerError) -> Diagnostic {
        let error_type = match err {
            AuthorizerError::Unauthorized(_) => "Unauthorized",
            AuthorizerError::KeysUnavailable(_) => "KeysUnavailable",
            AuthorizerError::MethodArn(_) => "MethodArn",
        };
        // The message is exactly "Unauthorized" for refused tokens: that is what API
        // Gateway matches to answer 401.
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Verifies the request's token and answers with the caller's policy and context.
///
/// ```no_run
/// # async fn run() -> Result<(), lambda_runtime::Error> {
/// use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
/// use lambda_runtime::{LambdaEvent, service_fn};
/// let verifier = users::authorizer::AuthorizerConfig::from_env()?.verifier()?;
/// lambda_runtime::run(service_fn(|event: LambdaEvent<ApiGatewayCustomAuthorizerRequest>| {
///     users::authorizer::authorize(&verifier, event.payload)
/// }))
/// .await
/// # }
/// ```
#[tracing::instrument(skip_all)]
pub async fn authorize(
    verifier: &TokenVerifier,
    request: ApiGatewayCustomAuthorizerRequest,
) -> Result<AuthorizerResponse, AuthorizerError> {
    let result = decide(verifier, request).await;
    match &result {
        Ok(resp) => tracing::info!(
            principal = resp.principal_id.as_deref(),
            is_admin = %resp.context.is_admin,
            "token accepted"
        ),
        Err(AuthorizerError::Unauthorized(reason)) => {
            tracing::info!(reason = %reason, error.cause_chain = ?reason, "token refused");
        }
        Err(err) => {
            tracing::error!(error.message = %err, error.cause_chain = ?err, "authorizer failed")
        }
    }
    result
}

async fn decide(
    verifier: &TokenVerifier,
    request: ApiGatewayCustomAuthorizerRequest,
) -> Result<AuthorizerResponse, AuthorizerError> {
    let api = ApiStageArn::from_method_arn(request.method_arn.as_deref().unwrap_or_default())?;
    let token = request.authorization_token.unwrap_or_default();
    let identity = verifier.verify(&token).await?;
    let mut response = AuthorizerResponse::default();
    response.principal_id = Some(identity.sub.as_str().to_owned());
    response.policy_document = policy_for(&api, &identity);
    response.context = AuthorizerContext {
        sub: identity.sub.as_str().to_owned(),
        email: identity.email.unwrap_or_default(),
        is_admin: identity.is_admin.to_string(),
    };
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_and_jwks_url_derive_from_the_pool_id() {
        let c = AuthorizerConfig::new("eu-west-1_AbC123", "client", "admins", None).unwrap();
        assert_eq!(
            c.issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
        );
        assert_eq!(
            c.jwks_url,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/jwks.json"
        );
    }

    #[test]
    fn a_jwks_url_override_keeps_the_real_issuer() {
        let url = "http://127.0.0.1:5000/us-east-1_x/.well-known/jwks.json".to_owned();
        let c =
            AuthorizerConfig::new("us-east-1_x", "client", "admins", Some(url.clone())).unwrap();
        assert_eq!(c.jwks_url, url);
        assert_eq!(
            c.issuer,
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x"
        );
    }

    #[test]
    fn a_pool_id_without_a_region_is_refused_at_init() {
        for bad in ["pool", "_x", "a/b_x"] {
            assert!(AuthorizerConfig::new(bad, "c", "g", None).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_refused_token_is_the_runtime_error_unauthorized() {
        let d = Diagnostic::from(AuthorizerError::from(TokenError::Missing));
        assert_eq!(d.error_message, "Unauthorized");
        assert_eq!(d.error_type, "Unauthorized");
        let d = Diagnostic::from(AuthorizerError::from(TokenError::Key(
            JwksError::UnknownKid("k".into()),
        )));
        assert_eq!(d.error_message, "Unauthorized");
    }

    #[tokio::test]
    async fn a_request_without_a_token_is_unauthorized_before_any_key_is_fetched() {
        // Nothing listens on port 9: reaching for the JWKS would fail with another error.
        let config = AuthorizerConfig::new(
            "us-east-1_x",
            "c",
            "g",
            Some("http://127.0.0.1:9/jwks".into()),
        )
        .unwrap();
        let verifier = config.verifier().unwrap();
        let mut request = ApiGatewayCustomAuthorizerRequest::default();
        request.method_arn = Some("arn:aws:execute-api:us-east-1:1:api/Prod/GET/users".into());
        for token in [
            None,
            Some(""),
            Some("Bearer "),
            Some("garbage"),
            Some("a.b.c"),
        ] {
            request.authorization_token = token.map(str::to_owned);
            let err = authorize(&verifier, request.clone()).await.unwrap_err();
            assert!(
                matches!(err, AuthorizerError::Unauthorized(_)),
                "{token:?}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_unreachable_jwks_is_not_blamed_on_the_token() {
        let config = AuthorizerConfig::new(
            "us-east-1_x",
            "c",
            "g",
            Some("http://127.0.0.1:9/jwks".into()),
        )
        .unwrap();
        let verifier = config.verifier().unwrap();
        let mut request = ApiGatewayCustomAuthorizerRequest::default();
        request.method_arn = Some("arn:aws:execute-api:us-east-1:1:api/Prod/GET/users".into());
        // A well-formed RS256 header with a kid; the payload is never read.
        request.authorization_token =
            Some("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.e30.c2ln".into());
        let err = authorize(&verifier, request).await.unwrap_err();
        assert!(
            matches!(err, AuthorizerError::KeysUnavailable(_)),
            "{err:?}"
        );
        assert_ne!(Diagnostic::from(err).error_message, "Unauthorized");
    }
}
