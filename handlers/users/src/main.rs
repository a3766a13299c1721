//! The users bootstrap: one binary for both functions of the users service; the
//! function's `Handler` (Lambda's `_HANDLER`) says which one this process serves.

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
use handler_common::bootstrap;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use users::UsersConfig;
use users::authorizer::{AuthorizerConfig, authorize};
use users::store::DynamoUserStore;

/// A function of the users service, by its handler name.
#[derive(Clone, Copy)]
enum Function {
    /// UsersFunction: the users API's CRUD routes over the users table.
    Users,
    /// AuthorizerFunction: the users API's TOKEN authorizer (Cognito ID tokens).
    Authorizer,
}

const FUNCTIONS: [(&str, Function); 2] = [
    ("users", Function::Users),
    ("authorizer", Function::Authorizer),
];

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    match bootstrap::select(&FUNCTIONS)? {
        Function::Users => users().await,
        Function::Authorizer => authorizer().await,
    }
}

async fn users() -> Result<(), Error> {
    let config = UsersConfig::from_env()?;
    // AWS_ENDPOINT_URL is how local runs reach moto.
    let sdk = handler_common::aws::load_config()?;
    let store = DynamoUserStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table);
    lambda_http::run(service_fn(|req| async {
        Ok::<_, std::convert::Infallible>(users::api::handle(&store, req).await)
    }))
    .await
}

async fn authorizer() -> Result<(), Error> {
    let config = AuthorizerConfig::from_env()?;
    // One verifier per container: its JWKS cache outlives every invocation.
    let verifier = config.verifier()?;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayCustomAuthorizerRequest>| authorize(&verifier, event.payload),
    ))
    .await
}
