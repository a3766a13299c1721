//! What the Runtime API's handlers, the instance supervisors and the processes share
//! about an invocation: the queued request, what a process reports, and how a
//! `/response` becomes the caller's outcome.
//!
//! Its own module so that `api`, `instance` and `process` each import it and none of
//! them imports another for these.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::{FunctionError, InvokeError, InvokeOutcome, MAX_PAYLOAD_BYTES};

/// An invocation waiting in a function's queue.
pub(crate) struct Invocation {
    pub payload: Bytes,
    pub reply: oneshot::Sender<Result<InvokeOutcome, InvokeError>>,
}

/// A function's queue, drained by the `/next` of all its instances.
pub(crate) type Queue = Arc<Mutex<mpsc::UnboundedReceiver<Invocation>>>;

/// What a process did that its supervisor must act on.
pub(crate) enum ApiEvent {
    /// Its first `/next`: initialisation is over.
    Ready,
    /// It posted `/init/error`.
    InitError(FunctionError),
}

/// What a `/response` body means for the caller.
pub(crate) fn response_outcome(function: &str, body: &[u8]) -> Result<InvokeOutcome, InvokeError> {
    let invalid = |error_type: &str, message: String| InvokeError::InvalidResponse {
        function: function.to_owned(),
        error: FunctionError::new(error_type, message),
    };
    if body.len() > MAX_PAYLOAD_BYTES {
        return Err(invalid(
            "Function.ResponseSizeTooLarge",
            format!(
                "Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes).",
                body.len()
            ),
        ));
    }
    serde_json::from_slice(body)
        .map(InvokeOutcome::Response)
        .map_err(|error| {
            invalid(
                "Runtime.InvalidResponse",
                format!("the response is not JSON: {error}"),
            )
        })
}

/// Milliseconds since the epoch, `after` from now: the `Lambda-Runtime-Deadline-Ms`.
pub(crate) fn epoch_millis_after(after: Duration) -> u64 {
    (SystemTime::now() + after)
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// An X-Ray trace header in the format Lambda sends, with fresh random ids.
pub(crate) fn trace_id() -> String {
    let epoch = epoch_millis_after(Duration::ZERO) / 1000;
    let random = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{epoch:08x}-{};Parent={};Sampled=0",
        &random[..24],
        &parent[..16]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_have_lambdas_shape() {
        let id = trace_id();
        let (root, parent) = id.split_once(';').unwrap();
        let root = root.strip_prefix("Root=1-").unwrap();
        let (time, random) = root.split_once('-').unwrap();
        assert_eq!(time.len(), 8);
        assert_eq!(random.len(), 24);
        assert!(parent.starts_with("Parent="));
        assert!(id.ends_with(";Sampled=0"));
    }

    #[test]
    fn a_response_that_is_not_json_is_an_invalid_response() {
        let error = response_outcome("F", b"not json").unwrap_err();
        let lambda = error.to_function_error().unwrap();
        assert_eq!(lambda.error_type, "Runtime.InvalidResponse");
    }
}
