//! The Lambda Runtime API as one process sees it, served on that process's own
//! loopback port.
//!
//! The handlers do no bookkeeping of their own: `/next` asks the instance's
//! supervisor for an event and waits; `/response` and `/error` complete the pending
//! request if the id matches; `/init/error` is passed to the supervisor. Everything
//! they talk to is in the [`ProcessChannels`] of the *current* process, replaced on
//! each (re)start, so a request still in flight from a killed process can never
//! complete an invocation that belongs to its successor.

use std::sync::{Arc, Mutex, PoisonError};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use tokio::sync::{mpsc, oneshot};

use crate::{FunctionError, MAX_PAYLOAD_BYTES};

/// An event handed to a process in answer to its `/next`.
pub(crate) struct NextEvent {
    pub request_id: String,
    pub deadline_ms: u64,
    pub trace_id: String,
    pub payload: Bytes,
}

/// How a process ended the invocation it was given.
pub(crate) enum Completion {
    Response(Bytes),
    Error(FunctionError),
    TooLarge(usize),
}

/// The invocation a process is working on.
pub(crate) struct Pending {
    pub request_id: String,
    pub done: oneshot::Sender<Completion>,
}

/// The supervisor's side of one process's Runtime API.
pub(crate) struct ProcessChannels {
    next: mpsc::UnboundedSender<oneshot::Sender<NextEvent>>,
    init_error: mpsc::UnboundedSender<FunctionError>,
    /// Shared with the supervisor, which takes the entry back out on a timeout:
    /// whoever takes it first decides how the invocation ends.
    pub current: Mutex<Option<Pending>>,
}

/// The receiving ends the supervisor keeps for one process.
pub(crate) struct ProcessReceivers {
    pub next: mpsc::UnboundedReceiver<oneshot::Sender<NextEvent>>,
    pub init_error: mpsc::UnboundedReceiver<FunctionError>,
}

impl ProcessChannels {
    pub fn new() -> (Arc<Self>, ProcessReceivers) {
        let (next_tx, next_rx) = mpsc::unbounded_channel();
        let (init_tx, init_rx) = mpsc::unbounded_channel();
        let channels = Arc::new(Self {
            next: next_tx,
            init_error: init_tx,
            current: Mutex::new(None),
        });
        let receivers = ProcessReceivers {
            next: next_rx,
            init_error: init_rx,
        };
        (channels, receivers)
    }

    /// Takes the pending invocation if `request_id` is the one being worked on.
    pub fn take_pending(&self, request_id: Option<&str>) -> Option<Pending> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match (&*current, request_id) {
            (Some(p), Some(id)) if p.request_id != id => None,
            _ => current.take(),
        }
    }
}

/// State shared by the handlers of one instance's listener.
pub(crate) struct ApiState {
    function_arn: HeaderValue,
    channels: Mutex<Arc<ProcessChannels>>,
}

impl ApiState {
    pub fn new(function_arn: &str) -> Arc<Self> {
        let (channels, _) = ProcessChannels::new();
        Arc::new(Self {
            // Names are checked to be `[A-Za-z0-9_-]` and regions are plain text, so
            // this only falls back on a region the caller made up with odd bytes.
            function_arn: HeaderValue::from_str(function_arn)
                .unwrap_or_else(|_| HeaderValue::from_static("arn:aws:lambda:invalid")),
            channels: Mutex::new(channels),
        })
    }

    /// Points the API at a new process; returns the ends its supervisor listens on.
    pub fn replace_process(&self) -> (Arc<ProcessChannels>, ProcessReceivers) {
        let (channels, receivers) = ProcessChannels::new();
        *self.channels.lock().unwrap_or_else(PoisonError::into_inner) = channels.clone();
        (channels, receivers)
    }

    fn current(&self) -> Arc<ProcessChannels> {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

const RUNTIME: &str = "/2018-06-01/runtime";

/// The router serving one instance.
pub(crate) fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route(&format!("{RUNTIME}/invocation/next"), get(next))
        .route(
            &format!("{RUNTIME}/invocation/{{request_id}}/response"),
            post(response),
        )
        .route(
            &format!("{RUNTIME}/invocation/{{request_id}}/error"),
            post(error),
        )
        .route(&format!("{RUNTIME}/init/error"), post(init_error))
        .fallback(not_found)
        // Bodies over the payload limit must reach the handler, which fails the
        // invocation as Lambda does; a 413 from the extractor would leave the
        // invoke waiting for its timeout.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

async fn next(State(state): State<Arc<ApiState>>) -> Response {
    let channels = state.current();
    let (tx, rx) = oneshot::channel();
    if channels.next.send(tx).is_err() {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Runtime.Stopped",
            "the instance is stopping",
        );
    }
    let Ok(event) = rx.await else {
        // The supervisor dropped this process's channels: it is being replaced.
        return api_error(
            StatusCode::GONE,
            "Runtime.Stopped",
            "this process is being replaced",
        );
    };
    let headers = [
        (
            "lambda-runtime-aws-request-id",
            HeaderValue::from_str(&event.request_id),
        ),
        (
            "lambda-runtime-deadline-ms",
            Ok(HeaderValue::from(event.deadline_ms)),
        ),
        (
            "lambda-runtime-invoked-function-arn",
            Ok(state.function_arn.clone()),
        ),
        (
            "lambda-runtime-trace-id",
            HeaderValue::from_str(&event.trace_id),
        ),
    ];
    let mut response = Response::new(Body::from(event.payload));
    let map = response.headers_mut();
    map.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in headers {
        // Both values are generated here from hex digits and dashes.
        if let Ok(value) = value {
            map.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

async fn response(
    State(state): State<Arc<ApiState>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> Response {
    let completion = if body.len() > MAX_PAYLOAD_BYTES {
        Completion::TooLarge(body.len())
    } else {
        Completion::Response(body)
    };
    complete(&state, &request_id, completion)
}

async fn error(
    State(state): State<Arc<ApiState>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = FunctionError::from_posted(&body, error_type_header(&headers));
    complete(&state, &request_id, Completion::Error(error))
}

async fn init_error(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = FunctionError::from_posted(
        &body,
        Some(error_type_header(&headers).unwrap_or("Runtime.InitError")),
    );
    // A send error means the process is already being replaced; nothing to report to.
    let _ = state.current().init_error.send(error);
    accepted()
}

async fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "NotFound", "not a Runtime API path")
}

fn complete(state: &ApiState, request_id: &str, completion: Completion) -> Response {
    let too_large = matches!(completion, Completion::TooLarge(_));
    let Some(pending) = state.current().take_pending(Some(request_id)) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "no invocation with this request id is in progress",
        );
    };
    // The supervisor may have given up waiting (shutdown); the process still gets
    // its acknowledgement.
    let _ = pending.done.send(completion);
    if too_large {
        api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "the response is over the payload limit",
        )
    } else {
        accepted()
    }
}

fn error_type_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    let body = serde_json::to_vec(&FunctionError::new(error_type, message)).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
