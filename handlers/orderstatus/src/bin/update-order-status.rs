//! UpdateOrderStatusFunction: applies `order.updated` events from the restaurant bus.

use lambda_runtime::{Error, service_fn};
use orderstatus::StatusStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    let table = handler_common::env_var("ORDERS_TABLE")?;
    let dynamodb = aws_sdk_dynamodb::Client::new(&handler_common::aws::load_config().await);
    let store = StatusStore::new(dynamodb, table);
    let store = &store;
    lambda_runtime::run(service_fn(move |event| orderstatus::handle(store, event))).await
}
