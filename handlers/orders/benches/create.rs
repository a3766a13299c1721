//! Round trips and latency of POST /orders against moto: a first create and a replay.
//!
//! Run with `cargo bench -p orders --bench create` (set `BENCH_N`, default 200, for more
//! samples). It starts its own moto server, counts every HTTP request the DynamoDB client
//! sends (an SDK interceptor, so retries would count too) and times the whole adapter:
//! event parsing, idempotency, the writes and the response.
//!
//! moto deep-copies every table a `TransactWriteItems` touches (its rollback), so first
//! creates get slower as the orders table grows; DynamoDB has no such cost. Compare the
//! replay line (one `PutItem`) with moto's `GetItem` floor of a few milliseconds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use orders::clock::SystemClock;
use orders::idempotency::{Idempotency, IdempotencyConfig};
use orders::metrics::Metrics;
use orders::store::OrderStore;
use serde_json::{Value, json};
use testkit::{Moto, create_table, unique_name};

const EVENT: &str = include_str!("../../../events/orders/create-order.json");

/// Records the DynamoDB operation of every request sent.
#[derive(Debug, Default)]
struct RoundTrips(Mutex<Vec<String>>);

impl RoundTrips {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("?")
            .trim_start_matches("DynamoDB_20120810.")
            .to_owned();
        self.0.lock().unwrap().push(target);
        Ok(())
    }
}

fn request(order_id: &str) -> lambda_http::Request {
    let mut event: Value = serde_json::from_str(EVENT).unwrap();
    let body = json!({
        "restaurantId": "rest-42", "orderId": order_id, "totalAmount": 19.97,
        "orderItems": [{"name": "Spaghetti", "price": 9.99, "quantity": 1},
                       {"name": "Pizza", "price": 4.99, "quantity": 2}]
    });
    event["body"] = json!(body.to_string());
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

struct Sample {
    latency: Duration,
    ops: Vec<String>,
}

fn report(name: &str, samples: &[Sample]) {
    let mut lat: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    let trips: Vec<usize> = samples.iter().map(|s| s.ops.len()).collect();
    let (min, max) = (trips.iter().min().unwrap(), trips.iter().max().unwrap());
    println!(
        "{name:<14} n={:<5} round trips/call {min}..{max} ({})  p50 {:>7.2} ms  p99 {:>7.2} ms",
        samples.len(),
        samples[0].ops.join(" + "),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let plain = aws_sdk_dynamodb::Client::new(&sdk);
    let (orders_table, idem_table) = (unique_name("orders"), unique_name("idempotency"));
    create_table(&plain, &orders_table, "userId", Some("orderId")).await;
    create_table(&plain, &idem_table, "id", None).await;

    let trips = Arc::new(RoundTrips::default());
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(SharedTrips(trips.clone()))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let clock = Arc::new(SystemClock);
    let svc = orders::CreateOrder::new(
        OrderStore::new(client.clone(), &orders_table),
        Idempotency::new(
            client,
            &idem_table,
            IdempotencyConfig::default(),
            clock.clone(),
        ),
        clock,
    );
    let metrics = Metrics::in_memory("Bench", "orders");

    // Warm up connections and moto's code paths.
    for i in 0..20 {
        orders::http::create_order(&svc, &metrics, request(&format!("warm-{i}"))).await;
    }
    trips.take();

    let mut first = Vec::with_capacity(n);
    for i in 0..n {
        let req = request(&format!("order-{i}"));
        let start = Instant::now();
        let resp = orders::http::create_order(&svc, &metrics, req).await;
        let latency = start.elapsed();
        assert_eq!(resp.status(), 200);
        first.push(Sample {
            latency,
            ops: trips.take(),
        });
    }
    let mut replay = Vec::with_capacity(n);
    for i in 0..n {
        let req = request(&format!("order-{i}"));
        let start = Instant::now();
        let resp = orders::http::create_order(&svc, &metrics, req).await;
        let latency = start.elapsed();
        assert_eq!(resp.status(), 200);
        replay.push(Sample {
            latency,
            ops: trips.take(),
        });
    }

    // Concurrent duplicates of one new order: one runs, the others wait and replay.
    let dups = 20;
    let start = Instant::now();
    let answers = futures::future::join_all(
        (0..dups).map(|_| orders::http::create_order(&svc, &metrics, request("concurrent"))),
    )
    .await;
    let wall = start.elapsed();
    let ops = trips.take();
    assert!(answers.iter().all(|r| r.status() == 200));
    let count = |op: &str| ops.iter().filter(|o| *o == op).count();

    println!(
        "POST /orders against moto ({}), {} build",
        moto.endpoint(),
        profile()
    );
    report("first create", &first);
    report("replay", &replay);
    println!(
        "{dups} concurrent duplicates: {:.1} ms wall, {} round trips \
         ({} PutItem, {} TransactWriteItems, {} GetItem)",
        wall.as_secs_f64() * 1e3,
        ops.len(),
        count("PutItem"),
        count("TransactWriteItems"),
        count("GetItem"),
    );
}

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// The interceptor as the SDK wants it: owned, `'static`, shared by reference count.
#[derive(Debug, Clone)]
struct SharedTrips(Arc<RoundTrips>);

impl Intercept for SharedTrips {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.read_before_transmit(context, rc, cfg)
    }
}
