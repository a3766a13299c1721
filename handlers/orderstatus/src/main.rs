//! The orderstatus bootstrap: UpdateOrderStatusFunction, which applies `order.updated`
//! events from the restaurant bus. Like every handler crate's bootstrap it checks the
//! function's `Handler` (Lambda's `_HANDLER`), so a miswired template fails at init.

use handler_common::bootstrap;
use lambda_runtime::{Error, service_fn};
use orderstatus::StatusStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    bootstrap::select(&[("update-order-status", ())])?;
    let table = handler_common::env_var("ORDERS_TABLE")?;
    let dynamodb = aws_sdk_dynamodb::Client::new(&handler_common::aws::load_config()?);
    let store = StatusStore::new(dynamodb, table);
    let store = &store;
    lambda_runtime::run(service_fn(move |event| orderstatus::handle(store, event))).await
}
