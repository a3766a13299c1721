//! AuthorizerFunction: the users API's Lambda TOKEN authorizer (Cognito ID tokens).

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use users::authorizer::{AuthorizerConfig, authorize};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    let config = AuthorizerConfig::from_env()?;
    // One verifier per container: its JWKS cache outlives every invocation.
    let verifier = config.verifier()?;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayCustomAuthorizerRequest>| authorize(&verifier, event.payload),
    ))
    .await
}
