//! AWS SDK configuration for handlers, read once at init from the Lambda environment.
//!
//! Lambda hands a function everything the SDK needs as environment variables: the
//! region, the execution role's credentials and, for local runs, `AWS_ENDPOINT_URL`.
//! Reading them directly instead of through aws-config's provider chains (profile files,
//! SSO, STS web identity, ECS and IMDS) leaves those chains, and the STS client they
//! carry, out of every bootstrap: smaller binaries and shorter release links.

use aws_credential_types::{Credentials, provider::SharedCredentialsProvider};
use aws_sdk_dynamodb::config::BehaviorVersion;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_types::{SdkConfig, region::Region};

use crate::config::{ConfigError, env_var};

/// The SDK config of a function: region, credentials and `AWS_ENDPOINT_URL` from the
/// environment, with a rustls + ring HTTP client.
///
/// The region is required (`AWS_REGION`, else `AWS_DEFAULT_REGION`). Credentials come from
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`; without them the
/// function still starts and a call to AWS fails, as with aws-config. The SDK's default
/// client brings aws-lc; handlers already link ring (through reqwest and rustls), so
/// choosing it here keeps one crypto library per bootstrap.
pub fn load_config() -> Result<SdkConfig, ConfigError> {
    from_env(|name| env_var(name).ok())
}

fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<SdkConfig, ConfigError> {
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .ok_or_else(|| ConfigError {
            name: "AWS_REGION".to_owned(),
        })?;
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .http_client(http_client);
    if let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        let credentials =
            Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "environment");
        config.set_credentials_provider(Some(SharedCredentialsProvider::new(credentials)));
    }
    config.set_endpoint_url(var("AWS_ENDPOINT_URL"));
    Ok(config.build())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_credential_types::provider::ProvideCredentials;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<SdkConfig, ConfigError> {
        let vars: HashMap<_, _> = vars.iter().copied().collect();
        from_env(|name| vars.get(name).map(|v| v.to_string()))
    }

    #[tokio::test]
    async fn lambdas_variables_give_region_credentials_and_endpoint() {
        let sdk = config(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ])
        .unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:5000"));
        let credentials = sdk
            .credentials_provider()
            .expect("credentials from the environment")
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(credentials.access_key_id(), "AKID");
        assert_eq!(credentials.secret_access_key(), "secret");
        assert_eq!(credentials.session_token(), Some("token"));
    }

    #[test]
    fn the_default_region_serves_when_aws_region_is_unset() {
        let sdk = config(&[("AWS_DEFAULT_REGION", "ap-south-1")]).unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("ap-south-1"));
        assert_eq!(sdk.endpoint_url(), None);
        assert!(sdk.credentials_provider().is_none());
    }

    #[test]
    fn no_region_is_an_init_error_naming_the_variable() {
        let err = config(&[("AWS_ACCESS_KEY_ID", "AKID")]).unwrap_err();
        assert_eq!(err.name, "AWS_REGION");
    }
}
