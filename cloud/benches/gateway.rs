//! What the API Gateway emulation adds to a request: `cargo bench -p stackgen-cloud --bench gateway`.
//!
//! The app's own APIs (from `model/`) are served with a stand-in runtime whose functions
//! answer at once, so the time measured is the gateway's: HTTP over loopback, routing, the
//! authorizer (a TOKEN authorizer's cache hit, or a Cognito ID token's verification), the
//! proxy event and the response mapping. The client is a keep-alive reqwest client; its own
//! cost is included, so the numbers are an upper bound.
//!
//! Reported: p50 and p99 of sequential requests per scenario, and requests per second for
//! `GET /orders/{orderId}` with a few concurrent clients. Issue 6 targets p99 ≤ 1 ms.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use stackgen_cloud::gateway::{self, GatewayContext, Invoker, UserPool};
use stackgen_runtime::{InvokeError, InvokeOutcome};
use stats::{ms, percentile, verdicts};

#[path = "../../runtime/benches/support/stats.rs"]
mod stats;

const POOL: &str = "us-east-1_bench";
const CLIENT: &str = "bench-client";
const SEQUENTIAL: usize = 3000;
const WARMUP: usize = 300;

/// Functions that answer at once: the authorizer allows everything, the others return a
/// small proxy response.
struct Instant0;

impl Invoker for Instant0 {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        _payload: Bytes,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<InvokeOutcome, InvokeError>> + Send + 'a>,
    > {
        let answer = if function == "AuthorizerFunction" {
            json!({
                "principalId": "u-1",
                "policyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}
                ]},
                "context": {"sub": "u-1", "isAdmin": "false", "email": "u@example.com"},
            })
        } else {
            json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{\"orderId\":\"o-1\"}"})
        };
        Box::pin(std::future::ready(Ok(InvokeOutcome::Response(answer))))
    }
}

async fn sequential(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(SEQUENTIAL);
    for i in 0..WARMUP + SEQUENTIAL {
        let mut request = http.get(url);
        if let Some(t) = token {
            request = request.header("authorization", t);
        }
        let started = Instant::now();
        let response = request.send().await.expect("the gateway answers");
        let status = response.status();
        let _ = response.bytes().await.expect("a body");
        let took = started.elapsed();
        assert!(status.is_success(), "{url}: {status}");
        if i >= WARMUP {
            times.push(took);
        }
    }
    times.sort();
    (percentile(&times, 50.0), percentile(&times, 99.0))
}

fn id_token() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let claims = json!({
        "sub": "c-1", "aud": CLIENT, "token_use": "id", "exp": now + 3600, "iat": now,
        "iss": format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL}"),
        "email": "c1@example.com", "cognito:groups": ["apiAdmins"],
    });
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("k1".into());
    let key = EncodingKey::from_rsa_pem(include_bytes!("../src/gateway/testdata/rsa.pem"))
        .expect("the key reads");
    jsonwebtoken::encode(&header, &claims, &key).expect("the token signs")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    // On a worker, as the gateway's own request tasks run, not on the main thread (whose
    // every wake-up would be a cross-thread hand-off).
    runtime
        .block_on(runtime.spawn(run()))
        .expect("the bench runs to the end");
}

async fn run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = stackgen::model::load(&root.join("model")).expect("the model parses");
    let app = stackgen::app::App::check(model).expect("the model checks");
    let api = |service: &str, name: &str| {
        app.service(service)
            .and_then(|s| s.source.file.apis.iter().find(|(n, _)| n.as_str() == name))
            .map(|(_, a)| a.clone())
            .expect("the API is in the model")
    };

    // The pool's keys, served as the endpoint would.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let jwks_addr = listener.local_addr().expect("addr");
    let keys = json!({"keys": [{
        "kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
        "n": include_str!("../src/gateway/testdata/rsa.n").trim(), "e": "AQAB",
    }]})
    .to_string();
    let router = axum::Router::new().route(
        &format!("/{POOL}/.well-known/jwks.json"),
        axum::routing::get(move || {
            let keys = keys.clone();
            async move { keys }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let invoker: Arc<dyn Invoker> = Arc::new(Instant0);
    let context = || {
        let mut ctx = GatewayContext::new(invoker.clone());
        ctx.user_pools.insert(
            "UserPoolArn".into(),
            UserPool::new(&format!("http://{jwks_addr}"), POOL, CLIENT),
        );
        ctx
    };
    let users = gateway::serve("UsersApi", &api("users", "UsersApi"), context())
        .await
        .expect("UsersApi serves");
    let orders = gateway::serve("OrdersApi", &api("orders", "OrdersApi"), context())
        .await
        .expect("OrdersApi serves");

    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(16)
        .build()
        .expect("a client");
    let token = id_token();
    let orders_url = format!("{}/orders/o-1", orders.url());
    println!(
        "gateway: added latency per request ({SEQUENTIAL} sequential requests, stand-in functions)"
    );
    let scenarios = [
        (
            "GET /users/{userid}, TOKEN authorizer cache hit",
            format!("{}/users/u-1", users.url()),
            "token-1".to_owned(),
        ),
        (
            "GET /orders/{orderId}, Cognito ID token",
            orders_url.clone(),
            format!("Bearer {token}"),
        ),
    ];
    for (what, url, auth) in &scenarios {
        let (p50, p99) = sequential(&http, url, Some(auth)).await;
        println!(
            "  {what:<50} p50 {:>9}  p99 {:>9}; {}",
            ms(p50),
            ms(p99),
            verdicts(&[("p99 ≤ 1 ms", p99 <= Duration::from_millis(1))])
        );
    }

    for clients in [1usize, 4] {
        let window = Duration::from_secs(2);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let http = http.clone();
            let url = orders_url.clone();
            let auth = format!("Bearer {token}");
            tasks.push(tokio::spawn(async move {
                let mut done = 0u64;
                while started.elapsed() < window {
                    let response = http
                        .get(&url)
                        .header("authorization", &auth)
                        .send()
                        .await
                        .expect("answers");
                    let status = response.status();
                    let _ = response.bytes().await;
                    assert!(status.is_success(), "{url}: {status}");
                    done += 1;
                }
                done
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap_or(0);
        }
        let rate = total as f64 / started.elapsed().as_secs_f64();
        println!("  GET /orders/{{orderId}}, {clients} client(s): {rate:>8.0} requests/s");
    }
    users.shutdown().await;
    orders.shutdown().await;
}
