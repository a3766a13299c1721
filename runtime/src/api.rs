//! The Lambda Runtime API as one process sees it, served on that process's own
//! loopback port.
//!
//! The hot path never goes through the supervisor task, as in cargo-lambda: `/next`
//! takes the invocation from the function's queue itself, and `/response` or `/error`
//! answers the caller directly. The supervisor only learns what it must act on (the
//! first `/next`, an init error) and watches the deadline of the pending invocation
//! through shared state, so a sequential invoke costs two loopback HTTP exchanges and
//! no extra task wake-ups.
//!
//! Everything the handlers touch lives in the [`ProcessChannels`] of the *current*
//! process, replaced at each (re)start and closed when a process is discarded, so a
//! request still in flight from a killed process can neither take an invocation meant
//! for its successor nor complete one.

use std::sync::{
    Arc, Mutex, MutexGuard, PoisonError,
    atomic::{AtomicBool, Ordering},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use tokio::{
    sync::{Notify, mpsc, watch},
    time::{Duration, Instant},
};

use crate::{
    FunctionError, InstanceInfo, InvokeError, InvokeOutcome, MAX_PAYLOAD_BYTES,
    invocation::{self, ApiEvent, Invocation, Queue},
};

/// The invocation a process is working on.
pub(crate) struct Pending {
    pub request_id: String,
    pub deadline: Instant,
    pub reply: tokio::sync::oneshot::Sender<Result<InvokeOutcome, InvokeError>>,
}

/// The Runtime API's view of one process, shared with its supervisor.
pub(crate) struct ProcessChannels {
    function: Arc<str>,
    timeout: Duration,
    queue: Queue,
    /// Puts an invocation back when a closed process took it in a race.
    requeue: mpsc::UnboundedSender<Invocation>,
    /// An invocation reserved for this process: the one that made the supervisor
    /// start it. Its first `/next` takes this before looking at the queue.
    carried: Mutex<Option<Invocation>>,
    /// Whoever takes the entry first (a completion, the timeout, the exit) decides
    /// how the invocation ends.
    current: Mutex<Option<Pending>>,
    /// Wakes the supervisor when an invocation starts while it has no deadline to
    /// watch; while it has one, this only leaves a permit and wakes nobody.
    pub started: Notify,
    /// Wakes the supervisor when the pending invocation has been answered; it waits
    /// on this only to replace a process that was busy when a reload was asked for.
    pub finished: Notify,
    events: mpsc::UnboundedSender<ApiEvent>,
    polled: AtomicBool,
    closed: watch::Sender<bool>,
    /// Set when the process is to be replaced once it is idle: its `/next` takes
    /// nothing more and waits for the channels to close.
    draining: watch::Sender<bool>,
}

impl ProcessChannels {
    pub fn take_pending(&self, request_id: &str) -> Option<Pending> {
        let mut current = lock(&self.current);
        match &*current {
            Some(p) if p.request_id == request_id => current.take(),
            _ => None,
        }
    }

    /// Closes the channels (handlers stop serving this process) and takes back what
    /// the process held: its pending invocation and the one carried for it.
    pub fn close_and_take(&self) -> (Option<Pending>, Option<Invocation>) {
        self.close();
        (lock(&self.current).take(), self.take_carried())
    }

    /// Closes the channels unless an invocation is pending, and then returns the
    /// invocation carried for the process, if any; `None`, and nothing closed, while
    /// the process is handling an invocation.
    pub fn close_if_idle(&self) -> Option<Option<Invocation>> {
        let current = lock(&self.current);
        if current.is_some() {
            return None;
        }
        // Closed under the lock `/next` checks before it records an invocation, so
        // one it took meanwhile is put back in the queue, not lost.
        self.close();
        drop(current);
        Some(self.take_carried())
    }

    /// Lets the process finish its pending invocation but take no other.
    pub fn drain(&self) {
        self.draining.send_replace(true);
    }

    /// Takes the pending invocation if its deadline has passed.
    pub fn take_expired(&self, now: Instant) -> Option<Pending> {
        let mut current = lock(&self.current);
        match &*current {
            Some(p) if p.deadline <= now => current.take(),
            _ => None,
        }
    }

    /// The deadline of the pending invocation, if there is one.
    pub fn pending_deadline(&self) -> Option<Instant> {
        lock(&self.current).as_ref().map(|p| p.deadline)
    }

    pub fn carry(&self, invocation: Invocation) {
        *lock(&self.carried) = Some(invocation);
    }

    pub fn take_carried(&self) -> Option<Invocation> {
        lock(&self.carried).take()
    }

    /// Stops every handler still serving this process.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }
}

/// What the supervisor needs to build the channels of each new process.
pub(crate) struct ChannelSpec {
    pub function: Arc<str>,
    pub timeout: Duration,
    pub queue: Queue,
    pub requeue: mpsc::UnboundedSender<Invocation>,
}

/// State shared by the handlers of one instance's listener.
pub(crate) struct ApiState {
    function_arn: HeaderValue,
    spec: ChannelSpec,
    pub info: watch::Sender<InstanceInfo>,
    channels: Mutex<Arc<ProcessChannels>>,
}

impl ApiState {
    pub fn new(
        function_arn: &str,
        spec: ChannelSpec,
        info: watch::Sender<InstanceInfo>,
    ) -> Arc<Self> {
        let (channels, _) = Self::channels(&spec);
        channels.close();
        Arc::new(Self {
            // Names are checked to be `[A-Za-z0-9_-]`, so only a region with odd bytes
            // could fail here.
            function_arn: HeaderValue::from_str(function_arn)
                .unwrap_or_else(|_| HeaderValue::from_static("arn:aws:lambda:invalid")),
            spec,
            info,
            channels: Mutex::new(channels),
        })
    }

    fn channels(spec: &ChannelSpec) -> (Arc<ProcessChannels>, mpsc::UnboundedReceiver<ApiEvent>) {
        let (events, events_rx) = mpsc::unbounded_channel();
        let channels = Arc::new(ProcessChannels {
            function: spec.function.clone(),
            timeout: spec.timeout,
            queue: spec.queue.clone(),
            requeue: spec.requeue.clone(),
            carried: Mutex::new(None),
            current: Mutex::new(None),
            started: Notify::new(),
            finished: Notify::new(),
            events,
            polled: AtomicBool::new(false),
            closed: watch::Sender::new(false),
            draining: watch::Sender::new(false),
        });
        (channels, events_rx)
    }

    /// Points the API at a new process, closing the previous one's channels.
    pub fn replace_process(&self) -> (Arc<ProcessChannels>, mpsc::UnboundedReceiver<ApiEvent>) {
        let (channels, events) = Self::channels(&self.spec);
        let previous = std::mem::replace(&mut *lock(&self.channels), channels.clone());
        previous.close();
        (channels, events)
    }

    fn current(&self) -> Arc<ProcessChannels> {
        lock(&self.channels).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
    if !channels.polled.swap(true, Ordering::Relaxed) {
        let _ = channels.events.send(ApiEvent::Ready);
    }
    let Some(invocation) = take_invocation(&channels).await else {
        return api_error(
            StatusCode::GONE,
            "Runtime.Stopped",
            "this process is being replaced or stopped",
        );
    };

    let request_id = uuid::Uuid::new_v4().to_string();
    let deadline_ms = invocation::epoch_millis_after(channels.timeout);
    let Invocation { payload, reply } = invocation;
    {
        let mut current = lock(&channels.current);
        // Checked under the lock the supervisor takes after closing, so an invocation
        // is either seen by the supervisor or put back, never stranded.
        if channels.is_closed() {
            drop(current);
            let _ = channels.requeue.send(Invocation { payload, reply });
            return api_error(
                StatusCode::GONE,
                "Runtime.Stopped",
                "this process is being replaced or stopped",
            );
        }
        *current = Some(Pending {
            request_id: request_id.clone(),
            deadline: Instant::now() + channels.timeout,
            reply,
        });
    }
    channels.started.notify_one();
    state.info.send_modify(|info| info.busy = true);

    let mut response = Response::new(Body::from(payload));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let values = [
        (
            "lambda-runtime-aws-request-id",
            HeaderValue::from_str(&request_id),
        ),
        (
            "lambda-runtime-deadline-ms",
            Ok(HeaderValue::from(deadline_ms)),
        ),
        (
            "lambda-runtime-invoked-function-arn",
            Ok(state.function_arn.clone()),
        ),
        (
            "lambda-runtime-trace-id",
            HeaderValue::from_str(&invocation::trace_id()),
        ),
    ];
    for (name, value) in values {
        // Both generated values are hex digits, dashes and `=;`, always valid.
        if let Ok(value) = value {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// The invocation this `/next` answers with, or `None` once its process is closed.
async fn take_invocation(channels: &ProcessChannels) -> Option<Invocation> {
    let mut closed = channels.closed.subscribe();
    let mut draining = channels.draining.subscribe();
    loop {
        let invocation = match channels.take_carried() {
            Some(invocation) => invocation,
            None => {
                let taken = tokio::select! {
                    biased;
                    _ = closed.wait_for(|closed| *closed) => return None,
                    _ = draining.wait_for(|draining| *draining) => None,
                    invocation = async { channels.queue.lock().await.recv().await } => Some(invocation?),
                };
                match taken {
                    Some(invocation) => invocation,
                    None => {
                        // A process about to be replaced leaves the queue to its
                        // successor, and waits to be closed rather than exit while
                        // it is still current.
                        let _ = closed.wait_for(|closed| *closed).await;
                        return None;
                    }
                }
            }
        };
        if invocation.reply.is_closed() {
            // The caller gave up while it was queued.
            continue;
        }
        return Some(invocation);
    }
}

async fn response(
    State(state): State<Arc<ApiState>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> Response {
    let answered = complete(&state, &request_id, |function| {
        invocation::response_outcome(function, &body)
    });
    if !answered {
        unknown_request()
    } else if body.len() > MAX_PAYLOAD_BYTES {
        api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "the response is over the payload limit",
        )
    } else {
        accepted()
    }
}

async fn error(
    State(state): State<Arc<ApiState>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = FunctionError::from_posted(&body, error_type_header(&headers));
    if complete(&state, &request_id, |_| Ok(InvokeOutcome::Error(error))) {
        accepted()
    } else {
        unknown_request()
    }
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
    let _ = state.current().events.send(ApiEvent::InitError(error));
    accepted()
}

async fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "NotFound", "not a Runtime API path")
}

/// Answers the caller of the pending invocation `request_id` with what `outcome`
/// makes of it; `false` if no invocation with that id is pending.
fn complete(
    state: &ApiState,
    request_id: &str,
    outcome: impl FnOnce(&str) -> Result<InvokeOutcome, InvokeError>,
) -> bool {
    let channels = state.current();
    let Some(pending) = channels.take_pending(request_id) else {
        return false;
    };
    let result = outcome(&channels.function);
    // Counted before the caller hears back, so a caller that reads the counters
    // right after its invoke sees its own invocation.
    state.info.send_modify(|info| {
        info.invocations += 1;
        info.busy = false;
    });
    // The caller may have stopped waiting; the process still gets its acknowledgement.
    let _ = pending.reply.send(result);
    channels.finished.notify_one();
    true
}

fn unknown_request() -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        "no invocation with this request id is in progress",
    )
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
