//! CreateOrderFunction: POST /orders, idempotent by `orderId` per caller.

use std::sync::Arc;

use lambda_http::{Error, service_fn};
use orders::clock::SystemClock;
use orders::config::CreateConfig;
use orders::idempotency::{Idempotency, IdempotencyConfig};
use orders::metrics::Metrics;
use orders::store::OrderStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    let config = CreateConfig::from_env()?;
    let dynamodb = aws_sdk_dynamodb::Client::new(&handler_common::aws::load_config().await);
    let idempotency = IdempotencyConfig {
        ttl: config.idempotency_ttl,
        ..IdempotencyConfig::default()
    };
    let clock = Arc::new(SystemClock);
    let svc = orders::CreateOrder::new(
        OrderStore::new(dynamodb.clone(), config.orders_table),
        Idempotency::new(
            dynamodb,
            config.idempotency_table,
            idempotency,
            clock.clone(),
        ),
        clock,
    );
    let metrics = Metrics::new(config.metrics_namespace, config.service_name);
    let (svc, metrics) = (&svc, &metrics);
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, Error>(orders::http::create_order(svc, metrics, req).await)
    }))
    .await
}
