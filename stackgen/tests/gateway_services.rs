//! The gateway emulation's service integrations against moto: what a `PutEvents` route puts
//! on the bus and what a `SendMessage` route puts on the queue, as another client sees it,
//! and the answers API Gateway gives (200 `{}`, 500 when the service fails, 415 for a body
//! that is not JSON, 400 before anything is sent for a body failing its model).

mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use stackgen::local::gateway::{self, GatewayContext, Invoker, RunningApi};
use stackgen::model::{Api, ServiceFile};
use stackgen_local::{InvokeError, InvokeOutcome};

const API: &str = r#"
service: test
description: service integration tests
apis:
  ProfileApi:
    stage: Prod
    description: test
    auth: Token
    authorizers:
      Token:
        token: { function: AuthFn, result_ttl_seconds: 300 }
    models:
      AddressBody:
        $schema: http://json-schema.org/draft-04/schema#
        type: object
        required: [line1]
        properties:
          line1: { type: string }
      FavoriteBody:
        $schema: http://json-schema.org/draft-04/schema#
        type: object
        required: [restaurantId]
        properties:
          restaurantId: { type: string, minLength: 1 }
    routes:
      - route: "PUT /address/{addressId}"
        body: AddressBody
        integration:
          put_events:
            bus: AddressBus
            source: customer-profile
            detail_type: address.updated
            detail:
              userId: caller
              addressId: { path: addressId }
              line1: { body: line1 }
      - route: POST /favorite
        body: FavoriteBody
        integration:
          send_message:
            queue: FavoritesQueue
            body: { body: restaurantId }
            attributes:
              CommandName: { value: AddFavorite }
              UserId: caller
      - route: "DELETE /gone/{id}"
        integration:
          send_message:
            queue: GoneQueue
            body: { path: id }
      - route: "DELETE /nobus/{id}"
        integration:
          put_events:
            bus: GoneBus
            source: customer-profile
            detail_type: x
            detail:
              id: { path: id }
"#;

/// The caller every request is made as: a `sub` that needs escaping everywhere.
const SUB: &str = "u'1\"\\é😀";

fn api() -> Api {
    stackgen::model::parse_str::<ServiceFile>(Path::new("test.yaml"), API.into())
        .expect("the test API parses")
        .file
        .apis
        .into_iter()
        .next()
        .map(|(_, a)| a)
        .expect("one API")
}

/// A TOKEN authorizer allowing everything to [`SUB`].
struct AllowAll;

impl Invoker for AllowAll {
    fn invoke<'a>(
        &'a self,
        _function: &'a str,
        _payload: Bytes,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<InvokeOutcome, InvokeError>> + Send + 'a>,
    > {
        Box::pin(std::future::ready(Ok(InvokeOutcome::Response(json!({
            "principalId": SUB,
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}
            ]},
        })))))
    }
}

/// moto on a free loopback port; killed when dropped (and with this process).
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let launcher = "import ctypes, os, signal, sys\n\
                        ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n\
                        os.execv(sys.argv[1], sys.argv[1:])";
        let child = Command::new("python3")
            .args(["-c", launcher])
            .arg(common::tool("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let started = Instant::now();
        while TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct App {
    api: RunningApi,
    http: reqwest::Client,
    sqs: aws_sdk_sqs::Client,
    capture_url: String,
    favorites_url: String,
    _moto: Moto,
}

impl App {
    async fn start() -> App {
        let moto = Moto::start();
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&moto.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let events = aws_sdk_eventbridge::Client::new(&config);
        let bus = "local-AddressBus";
        events
            .create_event_bus()
            .name(bus)
            .send()
            .await
            .expect("bus");
        let capture_url = queue(&sqs, "capture").await;
        let favorites_url = queue(&sqs, "favorites").await;
        let capture_arn = sqs
            .get_queue_attributes()
            .queue_url(&capture_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .expect("the queue's ARN");
        events
            .put_rule()
            .name("capture")
            .event_bus_name(bus)
            .event_pattern(r#"{"source": ["customer-profile"]}"#)
            .send()
            .await
            .expect("rule");
        events
            .put_targets()
            .rule("capture")
            .event_bus_name(bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("capture")
                    .arn(capture_arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("targets");
        let mut ctx = GatewayContext::new(Arc::new(AllowAll));
        ctx.buses.insert("AddressBus".into(), bus.into());
        ctx.buses.insert("GoneBus".into(), "no-such-bus".into());
        ctx.queues
            .insert("FavoritesQueue".into(), favorites_url.clone());
        ctx.queues.insert(
            "GoneQueue".into(),
            format!("{}/000000000000/no-such-queue", moto.endpoint),
        );
        ctx.events = Some(events);
        ctx.sqs = Some(sqs.clone());
        let api = gateway::serve("ProfileApi", &api(), ctx)
            .await
            .expect("the API serves");
        App {
            api,
            http: reqwest::Client::new(),
            sqs,
            capture_url,
            favorites_url,
            _moto: moto,
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> (u16, String) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.api.url()))
            .header("authorization", "token")
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .expect("the gateway answers");
        let status = response.status().as_u16();
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        (status, response.text().await.expect("a body"))
    }

    /// The messages on a queue, waiting up to a few seconds for the first.
    async fn receive(&self, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let started = Instant::now();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive");
            let messages = out.messages().to_vec();
            if !messages.is_empty() || started.elapsed() > Duration::from_secs(5) {
                return messages;
            }
        }
    }
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("queue")
        .queue_url()
        .expect("a queue URL")
        .to_owned()
}

#[tokio::test]
async fn service_integrations_reach_the_bus_and_the_queue_and_failures_are_500() {
    let app = App::start().await;
    let line1 = "1 \"Main\" St\n\\ é 😀 </script>";

    // PutEvents: the event on the bus carries the caller, the path parameter and the field.
    let body = json!({"line1": line1, "userId": "evil"}).to_string();
    let (status, text) = app
        .send(
            reqwest::Method::PUT,
            "/address/a%2F1",
            "application/json",
            &body,
        )
        .await;
    assert_eq!((status, text.as_str()), (200, "{}"));
    let messages = app.receive(&app.capture_url).await;
    assert_eq!(messages.len(), 1);
    let event: Value =
        serde_json::from_str(messages[0].body().unwrap_or_default()).expect("the event is JSON");
    assert_eq!(event["source"], "customer-profile");
    assert_eq!(event["detail-type"], "address.updated");
    assert_eq!(
        event["detail"],
        json!({"userId": SUB, "addressId": "a/1", "line1": line1})
    );

    // SendMessage: the body and the string attributes.
    let body = json!({"restaurantId": "r&1=é", "UserId": "evil"}).to_string();
    let (status, text) = app
        .send(
            reqwest::Method::POST,
            "/favorite",
            "application/json; charset=utf-8",
            &body,
        )
        .await;
    assert_eq!((status, text.as_str()), (200, "{}"));
    let messages = app.receive(&app.favorites_url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body(), Some("r&1=é"));
    let attributes = messages[0].message_attributes().expect("attributes");
    let attribute = |name: &str| {
        attributes
            .get(name)
            .and_then(|a| a.string_value())
            .map(str::to_owned)
    };
    assert_eq!(attribute("CommandName").as_deref(), Some("AddFavorite"));
    assert_eq!(attribute("UserId").as_deref(), Some(SUB));
    assert_eq!(attributes.len(), 2);

    // The services failing: a missing queue, a missing bus.
    for (method, path) in [
        (reqwest::Method::DELETE, "/gone/x"),
        (reqwest::Method::DELETE, "/nobus/x"),
    ] {
        let (status, text) = app.send(method, path, "application/json", "").await;
        assert_eq!(status, 500, "{path}");
        assert_eq!(text, r#"{"message": "Internal server error"}"#);
    }

    // A body that is not JSON is refused before anything is sent; one failing its model too.
    let (status, _) = app
        .send(
            reqwest::Method::POST,
            "/favorite",
            "text/plain",
            r#"{"restaurantId": "r"}"#,
        )
        .await;
    assert_eq!(status, 415);
    let (status, text) = app
        .send(
            reqwest::Method::POST,
            "/favorite",
            "application/json",
            r#"{"restaurantId": ""}"#,
        )
        .await;
    assert_eq!(
        (status, text.as_str()),
        (400, r#"{"message":"Invalid request body"}"#)
    );
    assert!(app.receive(&app.favorites_url).await.is_empty());
}
