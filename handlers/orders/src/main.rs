//! The orders bootstrap: one binary for every function of the orders service; the
//! function's `Handler` (Lambda's `_HANDLER`) says which one this process serves.

use std::sync::Arc;

use handler_common::bootstrap;
use lambda_http::{Body, Error, Request, Response, service_fn};
use orders::clock::SystemClock;
use orders::config::{CreateConfig, OrdersConfig};
use orders::idempotency::{Idempotency, IdempotencyConfig};
use orders::metrics::Metrics;
use orders::store::OrderStore;
use orders::{Orders, http};

/// A function of the orders service, by its handler name.
#[derive(Clone, Copy)]
enum Function {
    /// POST /orders, idempotent by `orderId` per caller.
    Create,
    /// Routes over one caller's existing orders (get, list, edit, cancel).
    Existing(Route),
}

/// One route over the caller's existing orders.
#[derive(Clone, Copy)]
enum Route {
    Get,
    List,
    Edit,
    Cancel,
}

impl Route {
    async fn handle(self, svc: &Orders, req: Request) -> Response<Body> {
        match self {
            Route::Get => http::get_order(svc, req).await,
            Route::List => http::list_orders(svc, req).await,
            Route::Edit => http::edit_order(svc, req).await,
            Route::Cancel => http::cancel_order(svc, req).await,
        }
    }
}

const FUNCTIONS: [(&str, Function); 5] = [
    ("create-order", Function::Create),
    ("get-order", Function::Existing(Route::Get)),
    ("list-orders", Function::Existing(Route::List)),
    ("edit-order", Function::Existing(Route::Edit)),
    ("cancel-order", Function::Existing(Route::Cancel)),
];

#[tokio::main]
async fn main() -> Result<(), Error> {
    handler_common::logging::init_tracing();
    match bootstrap::select(&FUNCTIONS)? {
        Function::Create => create_order().await,
        Function::Existing(route) => existing_orders(route).await,
    }
}

/// CreateOrderFunction: its idempotency record and its metrics besides the orders table.
async fn create_order() -> Result<(), Error> {
    let config = CreateConfig::from_env()?;
    let dynamodb = aws_sdk_dynamodb::Client::new(&handler_common::aws::load_config()?);
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
        Ok::<_, Error>(http::create_order(svc, metrics, req).await)
    }))
    .await
}

/// Get, list, edit and cancel: the orders table and the clock, one route each.
async fn existing_orders(route: Route) -> Result<(), Error> {
    let config = OrdersConfig::from_env()?;
    let dynamodb = aws_sdk_dynamodb::Client::new(&handler_common::aws::load_config()?);
    let svc = Orders::new(
        OrderStore::new(dynamodb, config.orders_table),
        Arc::new(SystemClock),
    );
    let svc = &svc;
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, Error>(route.handle(svc, req).await)
    }))
    .await
}
