//! AWS SDK configuration for handlers, loaded once at init.

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// Loads the SDK config from the Lambda environment (region, credentials and
/// `AWS_ENDPOINT_URL`, which is how local runs reach moto) with a rustls + ring HTTP client.
///
/// The SDK's default client brings aws-lc; handlers already link ring (through reqwest and
/// rustls), so choosing it here keeps one crypto library per bootstrap: smaller binaries
/// and faster cold starts.
pub async fn load_config() -> aws_config::SdkConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client)
        .load()
        .await
}
