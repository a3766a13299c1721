//! Faults: the AWS endpoint goes away in the middle of a request, then comes back.
//!
//! A second app runs behind a TCP proxy to its moto server. The proxy can be armed to cut
//! the endpoint off at the moment a chosen call goes out (every open connection dropped,
//! new ones refused), as if the endpoint had stopped, and restored later.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{App, call, post_order, sign_up};

/// A proxy in front of the endpoint that can play its outage.
struct Proxy {
    url: String,
    state: Arc<State>,
}

struct State {
    /// The call (an `X-Amz-Target` suffix) at which to cut the endpoint off.
    armed: std::sync::Mutex<Option<&'static str>>,
    /// Whether the endpoint is cut off now.
    cut: AtomicBool,
    /// Tells every open connection to drop when the endpoint is cut off.
    cuts: watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let state = Arc::new(State {
            armed: std::sync::Mutex::new(None),
            cut: AtomicBool::new(false),
            cuts: watch::channel(0).0,
        });
        let accepting = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if accepting.cut.load(Ordering::SeqCst) {
                    // Refused: the endpoint is down.
                    drop(client);
                    continue;
                }
                tokio::spawn(relay(client, upstream.clone(), accepting.clone()));
            }
        });
        Proxy { url, state }
    }

    /// Cuts the endpoint off when a request for `target` (e.g. `TransactWriteItems`) goes out.
    fn cut_at(&self, target: &'static str) {
        *self.state.armed.lock().unwrap() = Some(target);
    }

    fn is_cut(&self) -> bool {
        self.state.cut.load(Ordering::SeqCst)
    }

    fn restore(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

/// Copies one connection both ways until either side closes or the endpoint is cut off.
async fn relay(client: TcpStream, upstream: String, state: Arc<State>) {
    let Ok(server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let mut cuts = state.cuts.subscribe();
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = from_client.read(&mut buf).await.unwrap_or(0);
            if n == 0 || state.cut.load(Ordering::SeqCst) {
                return;
            }
            let armed = *state.armed.lock().unwrap();
            if let Some(target) = armed
                && contains(&buf[..n], format!(".{target}").as_bytes())
            {
                *state.armed.lock().unwrap() = None;
                state.cut.store(true, Ordering::SeqCst);
                state.cuts.send_modify(|n| *n += 1);
                return;
            }
            if to_server.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let down = tokio::io::copy(&mut from_server, &mut to_client);
    tokio::select! {
        () = up => {}
        _ = down => {}
        _ = cuts.changed() => {}
    }
    // Dropping both halves of both sockets closes them.
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn order(order_id: &str) -> serde_json::Value {
    json!({
        "restaurantId": 7,
        "orderId": order_id,
        "orderItems": [{"id": 1, "name": "Soup", "price": 4.5, "quantity": 1}],
        "totalAmount": 4.5,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_lost_mid_order_is_a_json_5xx_and_the_order_is_created_once_when_it_returns() {
    // Arrange: a second app whose every AWS call goes through the proxy.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let moto = {
        let root = root.clone();
        tokio::task::spawn_blocking(move || {
            stackgen_cloud::endpoint::Endpoint::from_option(None, &root)
        })
        .await
        .expect("the task ran")
        .expect("moto server starts")
    };
    let proxy = Proxy::start(moto.url().to_owned()).await;
    let model = stackgen::model::load(&root.join("model")).expect("the model parses");
    let model = stackgen::app::App::check(model).expect("the model passes its checks");
    let mut options = crate::helpers::options("faults");
    options.aws_endpoint = Some(proxy.url.clone());
    let running = stackgen_cloud::start(&model, options)
        .await
        .unwrap_or_else(|e| panic!("the app behind the proxy did not start: {e}"));
    let app = App {
        endpoint: moto.url().to_owned(),
        outputs: running
            .resolved()
            .services()
            .map(|s| (s.to_owned(), running.resolved().published_outputs(s)))
            .collect(),
    };
    let user = sign_up(&app, false).await;
    let api = app.api("orders", "OrdersServiceEndpoint");
    let orders_table = app.output("orders", "OrdersTable").to_owned();
    let warm = uuid::Uuid::new_v4().to_string();
    let placed = post_order(&api, &user, &order(&warm)).await;
    assert_eq!(placed.status, 200, "before the outage: {placed:?}");

    // Act: the endpoint stops once the order's idempotency lock is taken, as the order
    // and its stored response go out together.
    let id = uuid::Uuid::new_v4().to_string();
    proxy.cut_at("TransactWriteItems");
    let lost = post_order(&api, &user, &order(&id)).await;
    assert!(proxy.is_cut(), "the order's write reached the proxy");

    // Assert: a JSON 5xx, and no order written.
    assert!(lost.status >= 500, "{lost:?}");
    assert!(lost.body["message"].is_string(), "a JSON message: {lost:?}");
    let clients = app.clients().await;
    let stored = clients
        .dynamodb
        .get_item()
        .table_name(&orders_table)
        .key("userId", AttributeValue::S(user.sub.clone()))
        .key("orderId", AttributeValue::S(id.clone()))
        .consistent_read(true)
        .send()
        .await
        .expect("moto answers directly");
    assert!(stored.item().is_none(), "no partial order: {stored:?}");

    // Once the endpoint is back, the client's retry creates the order (after the lost
    // run's lock expires at its deadline), without restarting anything.
    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(90);
    let created = loop {
        let retry = post_order(&api, &user, &order(&id)).await;
        match retry.status {
            200 => break retry,
            409 | 500..=599 if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            _ => panic!("the retry after the outage: {retry:?}"),
        }
    };
    assert_eq!(created.body["orderId"], id.as_str());
    let listed = call(
        Method::GET,
        &format!("{api}/orders"),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let ids: Vec<&str> = listed.body["orders"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|o| o["orderId"].as_str())
        .collect();
    assert_eq!(
        ids.iter().filter(|o| **o == id).count(),
        1,
        "the order exists once: {ids:?}"
    );
    assert!(ids.contains(&warm.as_str()), "{ids:?}");
    running.stop().await;
}
