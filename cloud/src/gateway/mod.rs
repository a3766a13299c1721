//! API Gateway REST (v1) emulation for `stackgen local`: one loopback HTTP server per REST
//! API of the model, serving its routes with API Gateway's semantics.
//!
//! `sam local start-api` cannot run Cognito authorizers or service integrations and needs
//! Docker; this serves exactly what the model declares, from the same typed model the
//! templates are rendered from:
//!
//! - **Routing** ([`routes`]): `/<stage>/<path>`, literal segments before `{param}`s before
//!   greedy `{param+}`; an unknown path or method is 403 `Missing Authentication Token`.
//!   OPTIONS on a known path is the CORS preflight the rendered mock answers: 200 with
//!   [`stackgen::render::preflight_headers`], no authorizer, no body.
//! - **Authorizers** ([`authorizer`]): the Lambda TOKEN authorizer (invoked through the local
//!   runtime, its IAM policy cached by token and evaluated per request by [`policy`]) and the
//!   Cognito user pool authorizer (ID tokens checked against the pool's JWKS on the AWS
//!   endpoint).
//! - **Request validation**: a route's body model (JSON Schema draft 4) is checked before any
//!   integration runs; a body that fails it is 400 `Invalid request body`.
//! - **Proxy integrations** ([`proxy`]): the full v1 proxy event to the function, its
//!   response back as HTTP; a function error or a malformed response is 502.
//! - **Service integrations** ([`integration`]): EventBridge `PutEvents` and SQS
//!   `SendMessage` with exactly the meaning of the rendered mapping templates, sent with the
//!   SDK clients of [`GatewayContext`], and answered as the rendered integration responses
//!   answer: 200 `{}`, 400 `{"message": ..}` when the service refused the request (SQS's
//!   character rule is applied here, as moto does not), 500 when it failed.
//!
//! Gateway responses (the gateway's own errors) are `{"message":..}` with
//! `Access-Control-Allow-Origin: *`, as the rendered `DEFAULT_4XX`/`DEFAULT_5XX` responses
//! make them, plus `x-amzn-ErrorType`. Every response carries `x-amzn-RequestId`.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo(runtime: std::sync::Arc<stackgen_runtime::Runtime>, api: &stackgen::model::Api)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use stackgen_cloud::gateway::{self, GatewayContext, UserPool};
//!
//! let mut ctx = GatewayContext::new(runtime);
//! ctx.user_pools.insert(
//!     "UserPoolArn".into(),
//!     UserPool::new("http://127.0.0.1:5000", "us-east-1_abc", "client-1"),
//! );
//! let running = gateway::serve("OrdersApi", api, ctx).await?;
//! println!("OrdersApi: {}", running.url());
//! running.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Performance
//!
//! Everything that can be prepared is prepared in [`serve`]: the route table, compiled
//! validators, resolved names, authorizers with their caches, one HTTP client for JWKS.
//! Per request there is one linear scan of the routes, a cache lookup for the authorizer and
//! one serialization of the event. Accepted sockets get `TCP_NODELAY`, so a small response
//! never waits for a delayed ACK.

pub mod authorizer;
pub mod integration;
pub mod policy;
pub mod proxy;
pub mod routes;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::serve::ListenerExt as _;
use bytes::Bytes;
use serde_json::Value;
use stackgen_runtime::{InvokeError, InvokeOutcome};
use tokio::sync::oneshot;

use stackgen::app::{self, RouteAuth};
use stackgen::model::{Api, Authorizer, Integration, RouteSpec};
use stackgen::render::preflight_headers;
use stackgen::vtl::CallerSource;

use authorizer::{CognitoAuthorizer, Identity, Rejection, TokenAuthorizer};
use integration::{RequestValues, ServiceTarget};

/// Largest request body API Gateway accepts (10 MB).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Runs a function: the local runtime, or a stand-in in tests.
pub trait Invoker: Send + Sync + 'static {
    /// Invokes `function` with `payload` (JSON text) and waits for its outcome.
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<InvokeOutcome, InvokeError>> + Send + 'a>>;
}

impl Invoker for stackgen_runtime::Runtime {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<InvokeOutcome, InvokeError>> + Send + 'a>> {
        Box::pin(self.invoke_bytes(function, payload))
    }
}

/// A user pool a Cognito authorizer checks tokens against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPool {
    /// The pool id, `<region>_<id>`.
    pub id: String,
    /// App clients whose ID tokens are accepted (their `aud`).
    pub client_ids: Vec<String>,
    /// Where the pool's signing keys are.
    pub jwks_url: String,
    /// The issuer its tokens name: `https://cognito-idp.<region>.amazonaws.com/<pool id>`.
    pub issuer: String,
}

impl UserPool {
    /// The pool `id` on the AWS endpoint `endpoint` (moto serves the keys at
    /// `<endpoint>/<pool id>/.well-known/jwks.json`), accepting tokens of `client_id`.
    pub fn new(endpoint: &str, id: &str, client_id: &str) -> Self {
        let region = id.split_once('_').map_or("us-east-1", |(r, _)| r);
        Self {
            id: id.to_owned(),
            client_ids: vec![client_id.to_owned()],
            jwks_url: format!(
                "{}/{id}/.well-known/jwks.json",
                endpoint.trim_end_matches('/')
            ),
            issuer: format!("https://cognito-idp.{region}.amazonaws.com/{id}"),
        }
    }
}

/// What an API needs at run time besides its model.
///
/// Names are keyed as the API's model writes them: a route's `bus:` and `queue:`, an
/// authorizer's `user_pool:` (an import such as `UserPoolArn` or a pool of the service) and
/// function names. [`serve`] checks that every name it needs is there.
pub struct GatewayContext {
    /// Runs the functions (integrations and TOKEN authorizers).
    pub invoker: Arc<dyn Invoker>,
    /// The runtime's name of a model function, where it differs from the model's name.
    pub function_names: BTreeMap<String, String>,
    /// Physical bus names by model name.
    pub buses: BTreeMap<String, String>,
    /// Queue URLs by model name.
    pub queues: BTreeMap<String, String>,
    /// User pools by the name a Cognito authorizer's `user_pool` gives.
    pub user_pools: BTreeMap<String, UserPool>,
    /// For `PutEvents` integrations (pointed at the AWS endpoint).
    pub events: Option<aws_sdk_eventbridge::Client>,
    /// For `SendMessage` integrations (pointed at the AWS endpoint).
    pub sqs: Option<aws_sdk_sqs::Client>,
    /// Region in method ARNs.
    pub region: String,
    /// Account id in method ARNs and events.
    pub account_id: String,
    /// The API id in method ARNs and events; by default derived from the API's name.
    pub api_id: Option<String>,
    /// Where to listen; by default `127.0.0.1:0` (a free port).
    pub addr: SocketAddr,
}

impl GatewayContext {
    /// A context with `invoker`, region `us-east-1`, the local account id, no resources and
    /// no SDK clients.
    pub fn new(invoker: Arc<dyn Invoker>) -> Self {
        Self {
            invoker,
            function_names: BTreeMap::new(),
            buses: BTreeMap::new(),
            queues: BTreeMap::new(),
            user_pools: BTreeMap::new(),
            events: None,
            sqs: None,
            region: "us-east-1".into(),
            account_id: stackgen_runtime::LOCAL_ACCOUNT_ID.into(),
            api_id: None,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        }
    }
}

/// Why an API could not be served.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A route or the API names an authorizer the API does not declare.
    #[error("api `{api}`: route `{route}` uses undefined authorizer `{name}`")]
    UnknownAuthorizer {
        /// The API.
        api: String,
        /// The route.
        route: String,
        /// The authorizer's name.
        name: String,
    },
    /// A route names a body model the API does not declare, or the model does not compile.
    #[error("api `{api}`: route `{route}`: body model `{name}`: {why}")]
    Model {
        /// The API.
        api: String,
        /// The route.
        route: String,
        /// The model's name.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// A bus, queue or user pool has no entry in the [`GatewayContext`].
    #[error("api `{api}`: no {kind} `{name}` in the gateway context")]
    Unresolved {
        /// The API.
        api: String,
        /// `bus`, `queue` or `user pool`.
        kind: &'static str,
        /// The model's name.
        name: String,
    },
    /// A service integration has no SDK client in the [`GatewayContext`].
    #[error("api `{api}`: route `{route}` needs an {service} client in the gateway context")]
    NoClient {
        /// The API.
        api: String,
        /// The route.
        route: String,
        /// `EventBridge` or `SQS`.
        service: &'static str,
    },
    /// The HTTP client for JWKS could not be built.
    #[error("cannot build the HTTP client for JWKS: {0}")]
    Http(#[from] reqwest::Error),
    /// The listening socket could not be bound.
    #[error("api `{api}`: cannot listen on {addr}: {source}")]
    Bind {
        /// The API.
        api: String,
        /// The address.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
}

/// A served API. Dropping it stops the server too (without waiting).
#[derive(Debug)]
pub struct RunningApi {
    addr: SocketAddr,
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningApi {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL including the stage, as an API's `endpoint` output: `http://127.0.0.1:<port>/Prod`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops accepting requests and waits for the ones in flight.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

enum AuthorizerImpl {
    Token(TokenAuthorizer),
    Cognito(Box<CognitoAuthorizer>),
}

enum Target {
    Function(String),
    Service(integration::ServiceTarget),
}

struct Route {
    spec: RouteSpec,
    resource_id: String,
    auth: Option<Arc<AuthorizerImpl>>,
    caller: Option<CallerSource>,
    validator: Option<jsonschema::Validator>,
    target: Target,
}

struct Gateway {
    name: String,
    stage: String,
    routes: routes::Table<Route>,
    invoker: Arc<dyn Invoker>,
    region: String,
    info: proxy::ApiInfo,
}

/// Serves `api` (named `name` in its service) on loopback until the returned handle is shut
/// down or dropped. Must be called within a Tokio runtime.
pub async fn serve(name: &str, api: &Api, ctx: GatewayContext) -> Result<RunningApi, GatewayError> {
    let listener = tokio::net::TcpListener::bind(ctx.addr)
        .await
        .map_err(|source| GatewayError::Bind {
            api: name.to_owned(),
            addr: ctx.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| GatewayError::Bind {
        api: name.to_owned(),
        addr: ctx.addr,
        source,
    })?;
    let gateway = Arc::new(build(name, api, &ctx, addr)?);
    let url = format!("http://{addr}/{}", gateway.stage);
    let listener = listener.tap_io(|stream| {
        // Without it a small response can wait for the client's delayed ACK.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(gateway)
        .into_make_service_with_connect_info::<SocketAddr>();
    let (stop, stopped) = oneshot::channel::<()>();
    let api_name = name.to_owned();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(api = %api_name, %error, "API server failed");
        }
    });
    Ok(RunningApi {
        addr,
        url,
        stop: Some(stop),
        task: Some(task),
    })
}

fn build(
    name: &str,
    api: &Api,
    ctx: &GatewayContext,
    addr: SocketAddr,
) -> Result<Gateway, GatewayError> {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .build()?;
    let function = |f: &str| {
        ctx.function_names
            .get(f)
            .cloned()
            .unwrap_or_else(|| f.to_owned())
    };
    let unresolved = |kind, n: &str| GatewayError::Unresolved {
        api: name.to_owned(),
        kind,
        name: n.to_owned(),
    };
    let mut authorizers: BTreeMap<&str, Arc<AuthorizerImpl>> = BTreeMap::new();
    for (aname, a) in &api.authorizers {
        let built = match a {
            Authorizer::Token {
                function: f,
                result_ttl_seconds,
                token_shape,
            } => AuthorizerImpl::Token(
                TokenAuthorizer::new(
                    function(f.as_str()),
                    Duration::from_secs(u64::from(*result_ttl_seconds)),
                )
                .with_token_shape(*token_shape),
            ),
            Authorizer::Cognito { user_pool } => {
                let pool = ctx
                    .user_pools
                    .get(user_pool.as_str())
                    .ok_or_else(|| unresolved("user pool", user_pool.as_str()))?;
                AuthorizerImpl::Cognito(Box::new(CognitoAuthorizer::new(
                    &pool.issuer,
                    &pool.client_ids,
                    &pool.jwks_url,
                    http.clone(),
                )))
            }
        };
        authorizers.insert(aname.as_str(), Arc::new(built));
    }
    let mut table = routes::Table::default();
    for app::Route {
        spec: route,
        auth,
        path_checks,
    } in app::routes(api)
    {
        let spec = route.route.value.clone();
        let route_name = spec.to_string();
        let (auth, caller) = match auth {
            RouteAuth::Public => (None, None),
            RouteAuth::Authorizer { name: a, caller } => {
                let imp =
                    authorizers
                        .get(a.as_str())
                        .ok_or_else(|| GatewayError::UnknownAuthorizer {
                            api: name.to_owned(),
                            route: route_name.clone(),
                            name: a.clone(),
                        })?;
                (Some(imp.clone()), Some(caller))
            }
        };
        let validator = match &route.body {
            None => None,
            Some(model) => {
                let model_error = |why: String| GatewayError::Model {
                    api: name.to_owned(),
                    route: route_name.clone(),
                    name: model.to_string(),
                    why,
                };
                let schema = api
                    .models
                    .iter()
                    .find(|(n, _)| n.value == model.value)
                    .map(|(_, s)| &s.value)
                    .ok_or_else(|| model_error("not declared".into()))?;
                Some(jsonschema::draft4::new(schema).map_err(|e| model_error(e.to_string()))?)
            }
        };
        let no_client = |service| GatewayError::NoClient {
            api: name.to_owned(),
            route: route_name.clone(),
            service,
        };
        let guards = || {
            integration::PathGuards::new(path_checks.clone()).map_err(|why| GatewayError::Model {
                api: name.to_owned(),
                route: route_name.clone(),
                name: "path_parameters".into(),
                why,
            })
        };
        let target = match &route.integration.value {
            Integration::Function(f) => Target::Function(function(f.as_str())),
            Integration::PutEvents(p) => Target::Service(ServiceTarget::PutEvents {
                bus: ctx
                    .buses
                    .get(p.bus.as_str())
                    .cloned()
                    .ok_or_else(|| unresolved("bus", p.bus.as_str()))?,
                client: ctx.events.clone().ok_or_else(|| no_client("EventBridge"))?,
                spec: p.clone(),
                guards: guards()?,
            }),
            Integration::SendMessage(s) => Target::Service(ServiceTarget::SendMessage {
                queue_url: ctx
                    .queues
                    .get(s.queue.as_str())
                    .cloned()
                    .ok_or_else(|| unresolved("queue", s.queue.as_str()))?,
                client: ctx.sqs.clone().ok_or_else(|| no_client("SQS"))?,
                spec: s.clone(),
                guards: guards()?,
            }),
        };
        let resource_id = short_id(&spec.path);
        table.insert(
            &spec.clone(),
            Route {
                spec,
                resource_id,
                auth,
                caller,
                validator,
                target,
            },
        );
    }
    Ok(Gateway {
        name: name.to_owned(),
        stage: api.stage.as_str().to_owned(),
        routes: table,
        invoker: ctx.invoker.clone(),
        region: ctx.region.clone(),
        info: proxy::ApiInfo {
            api_id: ctx.api_id.clone().unwrap_or_else(|| short_id(name)),
            stage: api.stage.as_str().to_owned(),
            account_id: ctx.account_id.clone(),
            domain_name: addr.to_string(),
        },
    })
}

/// A stable 10-character id (lower-case letters and digits), as API Gateway's ids look.
fn short_id(seed: &str) -> String {
    // FNV-1a: stable across runs and Rust versions, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..10)
        .map(|_| {
            let d = DIGITS[(hash % 36) as usize] as char;
            hash /= 36;
            d
        })
        .collect()
}

/// A gateway response: `{"message":..}` with the CORS header, as the rendered
/// `x-amazon-apigateway-gateway-responses` make them.
fn gateway_response(
    status: StatusCode,
    message: Option<&str>,
    error_type: &str,
    request_id: &str,
) -> Response {
    let body = match message {
        Some(m) => format!("{{\"message\":{}}}", Value::String(m.to_owned())),
        None => "{\"message\":null}".to_owned(),
    };
    let mut response = json_response(status, body, request_id);
    if let Ok(v) = HeaderValue::from_str(error_type) {
        response.headers_mut().insert("x-amzn-ErrorType", v);
    }
    response
}

fn json_response(status: StatusCode, body: impl Into<Body>, request_id: &str) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-RequestId", v);
    }
    response
}

/// The answer of the rendered OPTIONS mock integration: 200, the preflight headers, no body.
fn preflight<'a>(methods: impl IntoIterator<Item = &'a str>, request_id: &str) -> Response {
    let mut response = json_response(StatusCode::OK, Body::empty(), request_id);
    for (name, value) in preflight_headers(methods) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

fn missing_token(request_id: &str) -> Response {
    gateway_response(
        StatusCode::FORBIDDEN,
        Some("Missing Authentication Token"),
        "MissingAuthenticationTokenException",
        request_id,
    )
}

fn internal_error(request_id: &str) -> Response {
    gateway_response(
        StatusCode::BAD_GATEWAY,
        Some("Internal server error"),
        "InternalServerErrorException",
        request_id,
    )
}

/// What a service integration's response templates answer for its outcome; the failure is
/// logged (a refusal is the client's mistake, so only at `info`).
fn integration_response(
    gw: &Gateway,
    route: &Route,
    target: &ServiceTarget,
    outcome: &Result<(), integration::IntegrationError>,
    request_id: &str,
) -> Response {
    match outcome {
        Ok(()) => {}
        Err(error @ integration::IntegrationError::Rejected { .. }) => {
            tracing::info!(api = %gw.name, route = %route.spec, %error, "the service refused the request");
        }
        Err(error) => {
            tracing::warn!(api = %gw.name, route = %route.spec, error.cause_chain = ?error, "service integration failed");
        }
    }
    let (status, body) = integration::answer(target.service(), target.guards().checks(), outcome);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, body, request_id)
}

async fn handle(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let arrived = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let (parts, body) = request.into_parts();
    let full_path = parts.uri.path();
    let path = match full_path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(gw.stage.as_str()))
    {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => {
            return gateway_response(
                StatusCode::FORBIDDEN,
                Some("Forbidden"),
                "ForbiddenException",
                &request_id,
            );
        }
    };
    let method = parts.method.as_str();
    let Some(matched) = gw.routes.find(method, path) else {
        // The rendered API has an unauthenticated mock OPTIONS on every path.
        if parts.method == Method::OPTIONS
            && let Some(methods) = gw.routes.methods(path)
        {
            return preflight(methods.map(|m| m.as_str()), &request_id);
        }
        return missing_token(&request_id);
    };
    let route = matched.route;
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return gateway_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                Some("Request Too Long"),
                "RequestTooLongException",
                &request_id,
            );
        }
    };
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let identity: Option<Arc<Identity>> = match &route.auth {
        None => None,
        Some(auth) => {
            let result = match &**auth {
                AuthorizerImpl::Token(t) => {
                    let arn = format!(
                        "arn:aws:execute-api:{}:{}:{}/{}/{}{}",
                        gw.region, gw.info.account_id, gw.info.api_id, gw.stage, method, path
                    );
                    t.authorize(&*gw.invoker, authorization, &arn).await
                }
                AuthorizerImpl::Cognito(c) => c.authorize(authorization).await,
            };
            match result {
                Ok(identity) => Some(identity),
                Err(rejection) => return rejected(&gw, route, &rejection, &request_id),
            }
        }
    };
    let parsed: Option<Value> =
        if route.validator.is_some() || !matches!(route.target, Target::Function(_)) {
            serde_json::from_slice(&body).ok()
        } else {
            None
        };
    if let Some(validator) = &route.validator
        && !parsed.as_ref().is_some_and(|b| validator.is_valid(b))
    {
        return gateway_response(
            StatusCode::BAD_REQUEST,
            Some("Invalid request body"),
            "BadRequestException",
            &request_id,
        );
    }
    let caller = identity.as_ref().and_then(|i| match route.caller {
        Some(CallerSource::LambdaPrincipal) => i.context.get("principalId").and_then(Value::as_str),
        Some(CallerSource::CognitoClaims) => i
            .context
            .get("claims")
            .and_then(|c| c.get("sub"))
            .and_then(Value::as_str),
        None => None,
    });
    match &route.target {
        Target::Function(function) => {
            let source_ip = peer.ip().to_string();
            let event = proxy::event(&proxy::ProxyRequest {
                resource: &route.spec.path,
                resource_id: &route.resource_id,
                path,
                method,
                query: parts.uri.query(),
                headers: &parts.headers,
                body: &body,
                path_parameters: &matched.params,
                authorizer: identity.as_ref().map(|i| &i.context),
                source_ip: &source_ip,
                request_id: &request_id,
                request_time_epoch: arrived,
                api: &gw.info,
            });
            let event = match event {
                Ok(e) => Bytes::from(e),
                Err(error) => {
                    tracing::warn!(api = %gw.name, %error, "cannot serialize the proxy event");
                    return internal_error(&request_id);
                }
            };
            invoke_proxy(&gw, function, event, &request_id).await
        }
        Target::Service(target) => {
            if let Some(r) = unsupported_media_type(&parts.headers, &request_id) {
                return r;
            }
            let values = RequestValues {
                body: parsed.as_ref(),
                path: &matched.params,
                caller,
                request_id: &request_id,
                request_time_epoch: arrived,
            };
            let sent = target.send(&values).await;
            integration_response(&gw, route, target, &sent, &request_id)
        }
    }
}

fn rejected(gw: &Gateway, route: &Route, rejection: &Rejection, request_id: &str) -> Response {
    tracing::debug!(api = %gw.name, route = %route.spec, %rejection, "authorizer rejected the request");
    match rejection {
        Rejection::Unauthorized(_) => gateway_response(
            StatusCode::UNAUTHORIZED,
            Some("Unauthorized"),
            "UnauthorizedException",
            request_id,
        ),
        Rejection::Denied(_) => gateway_response(
            StatusCode::FORBIDDEN,
            Some("User is not authorized to access this resource"),
            "AccessDeniedException",
            request_id,
        ),
        Rejection::Failed(why) => {
            tracing::warn!(api = %gw.name, route = %route.spec, error = %why, "authorizer failed");
            gateway_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "AuthorizerConfigurationException",
                request_id,
            )
        }
    }
}

/// Service integrations only have an `application/json` template and never pass a body
/// through, so API Gateway refuses other content types with 415.
fn unsupported_media_type(headers: &axum::http::HeaderMap, request_id: &str) -> Option<Response> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().unwrap_or("?");
    let media = content_type.split(';').next().unwrap_or_default().trim();
    (!media.eq_ignore_ascii_case("application/json")).then(|| {
        gateway_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("Unsupported Media Type"),
            "UnsupportedMediaTypeException",
            request_id,
        )
    })
}

async fn invoke_proxy(gw: &Gateway, function: &str, event: Bytes, request_id: &str) -> Response {
    let outcome = match gw.invoker.invoke(function, event).await {
        Ok(InvokeOutcome::Response(value)) => value,
        Ok(InvokeOutcome::Error(error)) => {
            tracing::warn!(api = %gw.name, function, error = %error, "function error");
            return internal_error(request_id);
        }
        Err(error @ InvokeError::Timeout { .. }) => {
            tracing::warn!(api = %gw.name, function, %error, "function timed out");
            return gateway_response(
                StatusCode::GATEWAY_TIMEOUT,
                Some("Endpoint request timed out"),
                "IntegrationTimeoutException",
                request_id,
            );
        }
        Err(error) => {
            tracing::warn!(api = %gw.name, function, %error, "invocation failed");
            return internal_error(request_id);
        }
    };
    let mapped = match proxy::response(&outcome) {
        Ok(m) => m,
        Err(error) => {
            tracing::warn!(api = %gw.name, function, %error, "malformed proxy response");
            return internal_error(request_id);
        }
    };
    let mut response = Response::new(Body::from(mapped.body));
    *response.status_mut() = mapped.status;
    let headers = response.headers_mut();
    for (name, value) in mapped.headers {
        headers.append(name, value);
    }
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-RequestId", v);
    }
    response
}
