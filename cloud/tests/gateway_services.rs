//! The gateway emulation's service integrations against moto: what a `PutEvents` route puts
//! on the bus and what a `SendMessage` route puts on the queue, as another client sees it,
//! and the answers API Gateway gives (200 `{}`, 400 with a JSON message when the service
//! refuses the request, 500 when it cannot be reached, 415 for a body that is not JSON, 400
//! before anything is sent for a body failing its model). The app's own favorites routes
//! show what a restaurant id with a control character gets, in the body and in the path.

#[path = "../../stackgen/tests/common/mod.rs"]
mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use stackgen::model::{Api, Authorizer, Loc, Name, ServiceFile, Sp};
use stackgen::vtl::{self, Service};
use stackgen_cloud::gateway::{self, GatewayContext, Invoker, RunningApi};
use stackgen_runtime::{InvokeError, InvokeOutcome};

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
        token: { function: AuthFn, result_ttl_seconds: 300, token_shape: any }
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

/// The app's userprofile API as the model declares it, except that its Cognito authorizer
/// is a TOKEN authorizer of the same name ([`AllowAll`]): what is tested here is what comes
/// after the authorizer.
fn profile_api() -> Api {
    let path = common::repo().join("model/userprofile.yaml");
    let mut api = stackgen::model::parse_file::<ServiceFile>(&path)
        .expect("the userprofile model parses")
        .file
        .apis
        .into_iter()
        .find(|(name, _)| name.as_str() == "ProfileApi")
        .map(|(_, a)| a)
        .expect("the ProfileApi");
    for authorizer in api.authorizers.values_mut() {
        *authorizer = Authorizer::Token {
            function: Sp::new(Name::new("AuthFn").expect("a name"), Loc::default()),
            result_ttl_seconds: 300,
            token_shape: stackgen::model::TokenShape::Any,
        };
    }
    api
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
    async fn start(api: Api) -> App {
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
        let api = gateway::serve("ProfileApi", &api, ctx)
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

    /// Stops moto: the services can no longer be reached.
    fn stop_moto(&mut self) {
        let _ = self._moto.child.kill();
        let _ = self._moto.child.wait();
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
async fn service_integrations_reach_the_bus_and_the_queue_refusals_are_400_and_failures_500() {
    let mut app = App::start(api()).await;
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

    // The services refusing the call: moto answers 400 for a missing queue (as SQS does)
    // and a missing bus, and API Gateway selects its integration response by that status.
    for (path, service) in [
        ("/gone/x", Service::Sqs),
        ("/nobus/x", Service::EventBridge),
    ] {
        let (status, text) = app
            .send(reqwest::Method::DELETE, path, "application/json", "")
            .await;
        assert_eq!(
            (status, text),
            (400, vtl::rejected_response(service, &[])),
            "{path}"
        );
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

    // The services out of reach: 500, as for a 5xx of theirs.
    app.stop_moto();
    for path in ["/gone/x", "/nobus/x"] {
        let (status, text) = app
            .send(reqwest::Method::DELETE, path, "application/json", "")
            .await;
        assert_eq!(status, 500, "{path}");
        assert_eq!(text, r#"{"message": "Internal server error"}"#);
    }
}

#[tokio::test]
async fn a_restaurant_id_with_a_control_character_is_400_in_the_body_and_in_the_path() {
    let api = profile_api();
    let checks = stackgen::app::routes(&api)
        .into_iter()
        .find(|r| r.spec.route.value.to_string() == "DELETE /favorite/{restaurantId}")
        .expect("the route")
        .path_checks;
    assert_eq!(checks.len(), 1, "the model checks the restaurant id");
    let app = App::start(api).await;
    let invalid_body = (400, r#"{"message":"Invalid request body"}"#.to_string());
    let refused_at_the_door = (400, vtl::rejected_response(Service::Sqs, &checks));

    // In the body, the model refuses it before anything is sent: every control character,
    // also those SQS would take (tab, line feed), and an id over 256 characters.
    let ids = [
        "r\u{0}1",
        "\u{0}",
        "r\u{7}",
        "\u{1f}r",
        "r\u{7f}",
        "r\u{85}",
        "r\u{fffe}",
        "r\t1",
        "r\n",
    ];
    for id in ids.map(String::from).into_iter().chain(["r".repeat(257)]) {
        let body = json!({ "restaurantId": id }).to_string();
        let answer = app
            .send(
                reqwest::Method::POST,
                "/favorite",
                "application/json",
                &body,
            )
            .await;
        assert_eq!(answer, invalid_body, "{id:?}");
    }

    // In the path, the model's pattern refuses the same, and an id of only white space
    // (which the consumer would refuse, after retries, into the dead-letter queue).
    let long = format!("/favorite/{}", "r".repeat(257));
    for path in [
        "/favorite/r%001",
        "/favorite/%00",
        "/favorite/%07",
        "/favorite/r%1F",
        "/favorite/r%EF%BF%BE",
        "/favorite/r%091",
        "/favorite/r%0A",
        "/favorite/%20",
        "/favorite/%20%20%20",
        "/favorite/%E3%80%80",
        "/favorite/%C2%A0",
        long.as_str(),
    ] {
        let answer = app
            .send(reqwest::Method::DELETE, path, "application/json", "")
            .await;
        assert_eq!(answer, refused_at_the_door, "{path}");
    }
    assert!(app.receive(&app.favorites_url).await.is_empty());

    // What the pattern takes goes through: spaces inside the id, 256 characters, a plain id
    // in the body.
    let longest = format!("/favorite/{}", "r".repeat(256));
    let answer = app
        .send(reqwest::Method::DELETE, &longest, "application/json", "")
        .await;
    assert_eq!(answer, (200, "{}".to_string()));
    let answer = app
        .send(
            reqwest::Method::DELETE,
            "/favorite/r%201",
            "application/json",
            "",
        )
        .await;
    assert_eq!(answer, (200, "{}".to_string()));
    let body = json!({"restaurantId": "r-1 é"}).to_string();
    let answer = app
        .send(
            reqwest::Method::POST,
            "/favorite",
            "application/json",
            &body,
        )
        .await;
    assert_eq!(answer, (200, "{}".to_string()));
    let mut messages: Vec<(String, String)> = Vec::new();
    let started = Instant::now();
    while messages.len() < 3 && started.elapsed() < Duration::from_secs(10) {
        for m in app.receive(&app.favorites_url).await {
            let command = m
                .message_attributes()
                .and_then(|a| a.get("CommandName"))
                .and_then(|a| a.string_value())
                .unwrap_or_default()
                .to_owned();
            messages.push((m.body().unwrap_or_default().to_owned(), command));
        }
    }
    messages.sort();
    assert_eq!(
        messages,
        [
            ("r 1".to_string(), "DeleteFavorite".to_string()),
            ("r-1 é".to_string(), "AddFavorite".to_string()),
            ("r".repeat(256), "DeleteFavorite".to_string()),
        ]
    );
}
