//! Errors of starting the runtime and of invoking a function.

use std::{io, path::PathBuf, time::Duration};

use crate::FunctionError;

/// Why [`RuntimeBuilder::start`](crate::RuntimeBuilder::start) failed. Nothing is
/// left running when it does.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A function's settings cannot work (bad name, zero timeout, ...).
    #[error("function `{function}`: {reason}")]
    InvalidFunction {
        /// The function's name.
        function: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two functions have the same name.
    #[error("function `{0}` is declared twice")]
    DuplicateFunction(String),
    /// A function's bootstrap cannot be read.
    #[error("function `{function}`: cannot use the bootstrap {}: {source}", path.display())]
    Bootstrap {
        /// The function's name.
        function: String,
        /// The path given for its bootstrap.
        path: PathBuf,
        /// Why it cannot be used.
        source: io::Error,
    },
    /// No loopback port could be bound for a function's Runtime API.
    #[error("function `{function}`: cannot listen on 127.0.0.1 for its Runtime API: {source}")]
    Bind {
        /// The function's name.
        function: String,
        /// The socket error.
        source: io::Error,
    },
    /// The thread that spawns the function processes could not be started.
    #[error("cannot start the process spawner thread: {0}")]
    Spawner(io::Error),
    /// `start` was called outside a Tokio runtime.
    #[error("the local runtime must be started from within a Tokio runtime")]
    NoTokioRuntime,
}

/// Why an invocation did not produce an [`InvokeOutcome`](crate::InvokeOutcome).
///
/// [`InvokeError::to_function_error`] gives what Lambda's `Invoke` would have
/// returned for the same failure.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// No function of that name was started.
    #[error("no function named `{0}`")]
    UnknownFunction(String),
    /// The payload could not be serialized to JSON.
    #[error("the payload is not serializable to JSON: {0}")]
    Payload(#[source] serde_json::Error),
    /// The payload is over Lambda's limit for synchronous invocations.
    #[error("the payload of {size} bytes is over the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The payload's size in bytes.
        size: usize,
        /// [`MAX_PAYLOAD_BYTES`](crate::MAX_PAYLOAD_BYTES).
        limit: usize,
    },
    /// The process could not be started.
    #[error("function `{function}`: cannot start {}: {source}", path.display())]
    Spawn {
        /// The function's name.
        function: String,
        /// The bootstrap's path.
        path: PathBuf,
        /// The error from `exec`.
        source: io::Error,
    },
    /// The process failed to initialise: it posted `/init/error`, exited before
    /// asking for its first event, or did not ask within the init timeout.
    #[error("function `{function}` failed to initialize: {error}")]
    Init {
        /// The function's name.
        function: String,
        /// The error the runtime posted, or one describing the exit or the timeout.
        error: FunctionError,
    },
    /// The invocation ran past the function's timeout; the process was replaced.
    #[error("function `{function}` timed out after {timeout:?} (request {request_id})")]
    Timeout {
        /// The function's name.
        function: String,
        /// The invocation's request id.
        request_id: String,
        /// The function's timeout.
        timeout: Duration,
    },
    /// The process exited while handling the invocation; a new one was started.
    #[error("function `{function}` exited during request {request_id}: {status}")]
    Exited {
        /// The function's name.
        function: String,
        /// The invocation's request id.
        request_id: String,
        /// How the process ended, such as `exit status: 101` or `signal: 9 (SIGKILL)`.
        status: String,
    },
    /// The function's response was not valid JSON or was over the payload limit.
    #[error("function `{function}` returned an invalid response: {error}")]
    InvalidResponse {
        /// The function's name.
        function: String,
        /// The error Lambda would report.
        error: FunctionError,
    },
    /// The runtime was shut down before the invocation finished.
    #[error("the local runtime is shut down")]
    ShutDown,
}

impl InvokeError {
    /// What Lambda's `Invoke` would have returned for this failure, for the errors
    /// Lambda reports as function errors (timeouts, crashes, init failures, invalid
    /// responses). `None` for the errors of the caller or of this runtime.
    pub fn to_function_error(&self) -> Option<FunctionError> {
        match self {
            Self::Init { error, .. } | Self::InvalidResponse { error, .. } => Some(error.clone()),
            Self::Timeout {
                request_id,
                timeout,
                ..
            } => Some(FunctionError::new(
                "Sandbox.Timedout",
                format!(
                    "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                    timeout.as_secs_f64()
                ),
            )),
            Self::Exited {
                request_id, status, ..
            } => Some(FunctionError::new(
                "Runtime.ExitError",
                format!("RequestId: {request_id} Error: Runtime exited with error: {status}"),
            )),
            Self::UnknownFunction(_)
            | Self::Payload(_)
            | Self::PayloadTooLarge { .. }
            | Self::Spawn { .. }
            | Self::ShutDown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_reads_like_lambdas() {
        let error = InvokeError::Timeout {
            function: "F".into(),
            request_id: "r-1".into(),
            timeout: Duration::from_millis(1500),
        }
        .to_function_error()
        .unwrap();
        assert_eq!(error.error_type, "Sandbox.Timedout");
        assert_eq!(
            error.error_message,
            "RequestId: r-1 Error: Task timed out after 1.50 seconds"
        );
    }

    #[test]
    fn errors_of_the_caller_are_not_function_errors() {
        assert!(
            InvokeError::UnknownFunction("F".into())
                .to_function_error()
                .is_none()
        );
    }
}
