//! UsersFunction: the users API's CRUD routes over the users table.

use lambda_http::{Error, service_fn};
use users::UsersConfig;
use users::store::DynamoUserStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    let config = UsersConfig::from_env()?;
    // aws-config honours AWS_ENDPOINT_URL, which is how local runs reach moto.
    let sdk = handler_common::aws::load_config().await;
    let store = DynamoUserStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table);
    lambda_http::run(service_fn(|req| async {
        Ok::<_, std::convert::Infallible>(users::api::handle(&store, req).await)
    }))
    .await
}
