//! The app under test, and what a client of a deployed stack would do with it.
//!
//! One app serves every test of this binary: `stackgen local` (through its library entry
//! point) with its own moto server, started on first use from a thread that lives as
//! long as the test process, so its processes die with it. Tests discover the APIs, the
//! bus and queue names through the SSM output parameters, as a client of a deployed stack
//! does, and only use names of their own (fresh users, order ids, restaurant ids), so
//! they can run side by side.
//!
//! Every wait is bounded ([`eventually`]) with room for a loaded 2-core machine.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, MessageActionType};
use serde_json::Value;
use stackgen_cloud::endpoint::Clients;

/// How long asynchronous effects (a bus, a queue, a redrive) may take to show.
pub const ASYNC_WAIT: Duration = Duration::from_secs(60);

/// The running app, as its clients see it.
pub struct App {
    /// The AWS endpoint (moto).
    pub endpoint: String,
    /// Each service's published outputs, read from SSM.
    pub outputs: BTreeMap<String, BTreeMap<String, String>>,
}

impl App {
    /// A published output of a service.
    pub fn output(&self, service: &str, name: &str) -> &str {
        self.outputs
            .get(service)
            .and_then(|o| o.get(name))
            .unwrap_or_else(|| panic!("no output {name} in the {service} service's parameter"))
    }

    /// SDK clients for the endpoint (created per test: each test has its own runtime).
    pub async fn clients(&self) -> Clients {
        Clients::new(&self.endpoint).await
    }

    /// An API's base URL, without a trailing slash.
    pub fn api(&self, service: &str, output: &str) -> String {
        self.output(service, output)
            .trim_end_matches('/')
            .to_owned()
    }
}

/// The shared app, started on first use.
pub fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("stackgen-runtime".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                runtime.block_on(async move {
                    let running = start().await;
                    let endpoint = running.endpoint_url().to_owned();
                    let project = running.resolved().project().to_owned();
                    tx.send((endpoint, project)).expect("the test is waiting");
                    // Keep everything running until the test process exits.
                    std::future::pending::<()>().await;
                    drop(running);
                });
            })
            .expect("a thread for the app");
        let (endpoint, project) = rx.recv().expect("stackgen local started");
        std::thread::spawn(move || {
            let outputs = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime")
                .block_on(read_outputs(&endpoint, &project));
            App { endpoint, outputs }
        })
        .join()
        .expect("reading the outputs did not panic")
    })
}

async fn start() -> stackgen_cloud::Running {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = stackgen::model::load(&root.join("model")).expect("the model parses");
    let app = stackgen::app::App::check(model).expect("the model passes its checks");
    stackgen_cloud::start(&app, options(ENVIRONMENT))
        .await
        .unwrap_or_else(|e| panic!("stackgen local did not start: {e}"))
}

/// The options of an app under test, running as `environment`: free ports, the handler
/// binaries the workspace build made when `E2E_PREBUILT` is set, logs only with `E2E_LOGS`.
pub fn options(environment: &str) -> stackgen_cloud::Options {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut options = stackgen_cloud::Options::new(&root);
    options.port_base = 0;
    // `cargo test --workspace` builds every package's binaries before any test runs;
    // building them again here with only the handler crates selected would unify other
    // features and compile the SDK crates a second time.
    options.no_build = std::env::var_os("E2E_PREBUILT").is_some();
    if std::env::var_os("E2E_LOGS").is_none() {
        options.log_sink = stackgen_runtime::LogSink::Discard;
    }
    options.environment = stackgen::model::Ident::new(environment).expect("an environment name");
    options
}

/// The environment the shared app runs as: not the default `local`, so every test also
/// shows the outputs go where `--environment` says.
const ENVIRONMENT: &str = "e2e";

/// Reads `/<project>/e2e/outputs/service/<service>` for every service, as a client of a
/// deployed stack would (under the environment's name).
async fn read_outputs(endpoint: &str, project: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let clients = Clients::new(endpoint).await;
    let prefix = stackgen::model::outputs_parameter_name(project, ENVIRONMENT, "");
    let mut outputs = BTreeMap::new();
    let mut pages = clients
        .ssm
        .get_parameters_by_path()
        .path(&prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.expect("the SSM parameters are readable");
        for p in page.parameters() {
            let (Some(name), Some(value)) = (p.name(), p.value()) else {
                continue;
            };
            let service = name.trim_start_matches(&prefix).to_owned();
            let value: BTreeMap<String, String> =
                serde_json::from_str(value).expect("an output parameter is a JSON object");
            outputs.insert(service, value);
        }
    }
    assert!(
        !outputs.is_empty(),
        "no output parameters under {prefix} in {endpoint}"
    );
    outputs
}

/// Polls `check` until it returns `Some`, for at most `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not seen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every test user's password (it meets the pool's password policy).
pub const PASSWORD: &str = "Passw0rd-e2e";

/// A signed-in user of the user pool.
pub struct User {
    /// The ID token, for the `Authorization` header.
    pub token: String,
    /// The user's `sub`.
    pub sub: String,
    /// The email (username).
    pub email: String,
}

/// Creates a confirmed user (an admin when `admin`) and signs them in with
/// USER_PASSWORD_AUTH, as the app's clients do.
pub async fn sign_up(app: &App, admin: bool) -> User {
    let clients = app.clients().await;
    let cognito = &clients.cognito;
    let pool = app.output("users", "UserPool");
    let client_id = app.output("users", "UserPoolClient");
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let password = PASSWORD;
    cognito
        .admin_create_user()
        .user_pool_id(pool)
        .username(&email)
        .user_attributes(attribute("email", &email))
        .user_attributes(attribute("name", "E2E User"))
        .user_attributes(attribute("email_verified", "true"))
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .expect("admin_create_user");
    cognito
        .admin_set_user_password()
        .user_pool_id(pool)
        .username(&email)
        .password(password)
        .permanent(true)
        .send()
        .await
        .expect("admin_set_user_password");
    if admin {
        cognito
            .admin_add_user_to_group()
            .user_pool_id(pool)
            .username(&email)
            .group_name(app.output("users", "UserPoolAdminGroupName"))
            .send()
            .await
            .expect("admin_add_user_to_group");
    }
    let user = cognito
        .admin_get_user()
        .user_pool_id(pool)
        .username(&email)
        .send()
        .await
        .expect("admin_get_user");
    let sub = user
        .user_attributes()
        .iter()
        .find(|a| a.name() == "sub")
        .and_then(|a| a.value())
        .expect("a user has a sub")
        .to_owned();
    let auth = cognito
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", &email)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .expect("initiate_auth");
    let token = auth
        .authentication_result()
        .and_then(|r| r.id_token())
        .expect("an ID token")
        .to_owned();
    User { token, sub, email }
}

fn attribute(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("an attribute has a name")
}

/// A response: status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The body, parsed.
    pub body: Value,
    /// The `Access-Control-Allow-Origin` header.
    pub cors: Option<String>,
    /// Every response header.
    pub headers: reqwest::header::HeaderMap,
}

/// POST /orders on the orders API at `api` as `user`.
pub async fn post_order(api: &str, user: &User, body: &Value) -> Response {
    call(
        reqwest::Method::POST,
        &format!("{api}/orders"),
        Some(&user.token),
        Some(body),
    )
    .await
}

/// Sends a request with an optional `Authorization` token and JSON body.
pub async fn call(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Response {
    // A client per call: pooled connections belong to the runtime that opened them, and
    // every test has its own.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let mut request = client.request(method.clone(), url);
    if let Some(token) = token {
        request = request.header("Authorization", token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status().as_u16();
    let cors = response
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    crate::documented::check(method.as_str(), url, status, &body);
    Response {
        status,
        body,
        cors,
        headers,
    }
}

/// The URL of the dead-letter queue of the queue at `queue_url`, from its redrive
/// policy.
pub async fn dead_letter_queue(clients: &Clients, queue_url: &str) -> String {
    let attributes = clients
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .expect("get_queue_attributes");
    let policy = attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy))
        .expect("the queue has a redrive policy");
    let policy: Value = serde_json::from_str(policy).expect("a redrive policy is JSON");
    let arn = policy["deadLetterTargetArn"]
        .as_str()
        .expect("the policy names its queue");
    let name = arn.rsplit(':').next().unwrap_or(arn);
    clients
        .sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .expect("get_queue_url")
        .queue_url
        .expect("a queue URL")
}

/// The bodies of the messages on a queue right now, left on it.
pub async fn peek(clients: &Clients, queue_url: &str) -> Vec<String> {
    let messages = peek_dead_letters(clients, queue_url).await;
    messages.into_iter().map(|(body, _)| body).collect()
}

/// The messages in a dead-letter queue, each with the `ERROR_CODE` it was sent with,
/// leaving them there.
pub async fn peek_dead_letters(clients: &Clients, queue_url: &str) -> Vec<(String, String)> {
    let out = clients
        .sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .message_attribute_names("ERROR_CODE")
        .send()
        .await
        .expect("receive_message");
    out.messages()
        .iter()
        .map(|m| {
            let code = m
                .message_attributes()
                .and_then(|a| a.get("ERROR_CODE"))
                .and_then(|v| v.string_value())
                .unwrap_or_default();
            (m.body().unwrap_or_default().to_owned(), code.to_owned())
        })
        .collect()
}

/// Puts an `order.updated` event with `detail` on the restaurant bus, as a restaurant's
/// own SDK client does; the bus must accept it.
pub async fn put_order_updated(app: &App, clients: &Clients, detail: &serde_json::Value) {
    let put = clients
        .eventbridge
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name(app.output("orderstatus", "RestaurantBusName"))
                .source("restaurant")
                .detail_type("order.updated")
                .detail(detail.to_string())
                .build(),
        )
        .send()
        .await
        .expect("put_events");
    assert_eq!(put.failed_entry_count(), 0);
}
