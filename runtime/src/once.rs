//! One function, one event, one response: the work behind `stackgen invoke`, what
//! `sam local invoke` does without Docker.

use std::{
    io::{self, Write},
    path::{Path, PathBuf},
};

use crate::{FunctionSpec, InvokeError, InvokeOutcome, RuntimeBuilder, StartError};

/// Why an event file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EventFileError {
    /// The file could not be read.
    #[error("cannot read the event file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not JSON.
    #[error("the event file {} is not JSON: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why parsing failed.
        source: serde_json::Error,
    },
}

/// Why [`invoke_once`] could not report an outcome.
#[derive(Debug, thiserror::Error)]
pub enum InvokeOnceError {
    /// The function could not be started.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The invocation failed; Lambda's error document for it, if it has one, was
    /// already written to the output.
    #[error(transparent)]
    Invoke(#[from] InvokeError),
    /// Writing the result failed.
    #[error("cannot write the result: {0}")]
    Output(#[source] io::Error),
}

/// Reads an event file (such as the ones under `events/`) as JSON.
pub fn read_event(path: &Path) -> Result<serde_json::Value, EventFileError> {
    let text = std::fs::read(path).map_err(|source| EventFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| EventFileError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Starts `spec`'s process with `builder`'s settings, invokes it once with `event`,
/// writes the result to `out` as pretty JSON, and stops the process.
///
/// What is written is what Lambda's `Invoke` returns: the response, or the error
/// document (`{"errorType": ..., "errorMessage": ...}`) for a function error, a
/// timeout, a crash or a failed init. The function's own output goes to the
/// builder's [`LogSink`](crate::LogSink) (standard error by default), so `out` holds
/// only the result.
///
/// `Ok(outcome)` tells a caller choosing an exit code whether the function
/// succeeded; `Err` is for failures with no outcome to show.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::path::Path;
/// use stackgen_runtime::{FunctionSpec, Runtime, invoke_once, read_event};
///
/// let event = read_event(Path::new("events/create-order.json"))?;
/// let spec = FunctionSpec::new("CreateOrder", "target/debug/create-order")
///     .env("AWS_ENDPOINT_URL", "http://127.0.0.1:5000");
/// let outcome = invoke_once(Runtime::builder(), spec, &event, &mut std::io::stdout()).await?;
/// std::process::exit(if outcome.is_success() { 0 } else { 1 });
/// # }
/// ```
pub async fn invoke_once(
    builder: RuntimeBuilder,
    spec: FunctionSpec,
    event: &serde_json::Value,
    out: &mut (dyn Write + Send),
) -> Result<InvokeOutcome, InvokeOnceError> {
    let name = spec.name().to_owned();
    // Eager or not makes no difference for one invocation; lazy keeps the cold start
    // in the invocation, as on Lambda.
    let runtime = builder.eager(false).function(spec).start().await?;
    let result = runtime.invoke(&name, event).await;
    runtime.shutdown().await;

    let document = match &result {
        Ok(InvokeOutcome::Response(value)) => Some(value.clone()),
        Ok(InvokeOutcome::Error(error)) => serde_json::to_value(error).ok(),
        Err(error) => error
            .to_function_error()
            .and_then(|e| serde_json::to_value(e).ok()),
    };
    if let Some(document) = document {
        let text = serde_json::to_string_pretty(&document).unwrap_or_else(|_| document.to_string());
        writeln!(out, "{text}").map_err(InvokeOnceError::Output)?;
        out.flush().map_err(InvokeOnceError::Output)?;
    }
    Ok(result?)
}
