//! EditOrderFunction: PUT /orders/{orderId}: new content for a PLACED order.

use std::sync::Arc;

use lambda_http::{Error, service_fn};
use orders::clock::SystemClock;
use orders::config::OrdersConfig;
use orders::store::OrderStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    let config = OrdersConfig::from_env()?;
    let dynamodb = aws_sdk_dynamodb::Client::new(&handler_common::aws::load_config().await);
    let svc = orders::Orders::new(
        OrderStore::new(dynamodb, config.orders_table),
        Arc::new(SystemClock),
    );
    let svc = &svc;
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, Error>(orders::http::edit_order(svc, req).await)
    }))
    .await
}
