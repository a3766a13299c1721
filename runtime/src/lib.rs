//! Runs the app's Lambda functions on one machine: a built-in implementation of the
//! [Lambda Runtime API] and a supervisor for the `bootstrap` processes behind it.
//!
//! This is the foundation of `stackgen local` and `stackgen invoke`. It knows nothing
//! about the service model: callers (the API Gateway emulation, the SQS and
//! EventBridge triggers, the `invoke` subcommand) describe each function with a
//! [`FunctionSpec`] (its `bootstrap` path, the environment the rendered template gives
//! it, its timeout and memory size) and drive it through [`Runtime::invoke`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use stackgen_runtime::{FunctionSpec, InvokeOutcome, Runtime};
//!
//! let runtime = Runtime::builder()
//!     .region("eu-west-1")
//!     .function(
//!         FunctionSpec::new("CreateOrder", "target/debug/create-order")
//!             .env("TABLE_NAME", "orders")
//!             .timeout(Duration::from_secs(10)),
//!     )
//!     .start()
//!     .await?;
//! match runtime.invoke("CreateOrder", &serde_json::json!({"body": "{}"})).await? {
//!     InvokeOutcome::Response(value) => println!("{value}"),
//!     InvokeOutcome::Error(error) => eprintln!("{}: {}", error.error_type, error.error_message),
//! }
//! runtime.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! The shape is cargo-lambda's `watch` runtime (an axum router for
//! `/2018-06-01/runtime/invocation/next`, `/{id}/response`, `/{id}/error` and
//! `/init/error`; a request queue per function; a oneshot channel per request id),
//! with these decisions of our own:
//!
//! - **One listener per function instance.** `AWS_LAMBDA_RUNTIME_API` is `host:port`
//!   on AWS, and every runtime client appends `/2018-06-01/...` to it. cargo-lambda
//!   multiplexes functions on one port with a path prefix in that variable, which
//!   `lambda_runtime` happens to accept but other runtimes need not. A loopback port
//!   per instance costs nothing, keeps the variable exactly as AWS shapes it, and
//!   tells the server *which process* is calling: a `/next` can only come from the one
//!   process behind that port. The supervisor therefore knows which request each
//!   process holds, which is what makes per-process timeouts and restarts exact.
//! - **One invocation per process at a time.** As on Lambda, a process gets the next
//!   queued invocation only when it asks for it with `/next`. Invokes of one function
//!   wait in its queue; [`FunctionSpec::concurrency`] adds instances (processes) that
//!   drain the same queue.
//! - **The supervisor is off the request path.** As in cargo-lambda, the `/next`
//!   handler takes the invocation from the queue itself and `/response` answers the
//!   caller directly. The supervisor task of each instance learns only what it acts
//!   on (the first `/next`, init errors, exits) and sleeps until the pending
//!   invocation's deadline, so a round trip wakes no extra task.
//! - **Timeouts and crashes end the process, not the runtime.** When the deadline
//!   passes the invoke gets [`InvokeError::Timeout`], the process is killed and a new
//!   one started, as Lambda discards a timed-out sandbox. A process that exits during
//!   an invocation gives [`InvokeError::Exited`]. A process that fails to initialise
//!   (posts `/init/error`, exits, or never calls `/next`) fails the invocation that
//!   was waiting for it with [`InvokeError::Init`], and the next invocation tries a
//!   fresh process, so a broken function never spins in a restart loop.
//! - **No process left behind.** Children are spawned from one dedicated thread with
//!   `PR_SET_PDEATHSIG` (Linux), so the kernel kills them when that thread ends: when
//!   the [`Runtime`] is dropped, or when the parent dies, even by `SIGKILL`. Each child
//!   also leads its own process group, so a terminal's Ctrl-C reaches the parent
//!   alone, which then stops the children in order instead of watching them "crash".
//!   [`Runtime::shutdown`] sends `SIGTERM`, waits briefly and then `SIGKILL`s, as
//!   Lambda's shutdown phase does; dropping a [`Runtime`] kills at once.
//! - **Low latency on a small machine.** Accepted connections get `TCP_NODELAY`, so a
//!   response never waits for a delayed ACK (the 40 ms tail of Nagle's algorithm).
//!   `benches/runtime.rs` measures the round trip; run the runtime on Tokio's
//!   multi-thread scheduler, whose tail holds up better on a busy machine.
//! - **A clean environment.** Processes start with an empty environment plus what the
//!   Lambda service sets (see [`FunctionSpec`]), a few host variables that only
//!   affect diagnostics (`PATH`, `RUST_LOG`, `RUST_BACKTRACE`), and the caller's
//!   variables. Host credentials and profiles never leak into a handler.
//!
//! Streaming responses are read to the end and returned whole; error trailers of
//! streamed responses are not interpreted. Processes are Linux processes of the host:
//! memory size is reported to the function but not enforced, and there is no
//! sandbox beyond the clean environment.
//!
//! [Lambda Runtime API]: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html

#![warn(missing_docs)]

mod api;
mod error;
mod instance;
mod invocation;
mod logs;
mod once;
mod outcome;
mod process;
mod runtime;
mod spec;

pub use error::{InvokeError, StartError};
pub use instance::InstanceInfo;
pub use logs::{LogLine, LogSink, LogStream};
pub use once::{EventFileError, InvokeOnceError, invoke_once, read_event};
pub use outcome::{FunctionError, InvokeOutcome};
pub use runtime::{Runtime, RuntimeBuilder};
pub use spec::FunctionSpec;

/// Largest request or response payload of a synchronous invocation, as on Lambda.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// The account id in function ARNs; the same placeholder moto and LocalStack use.
pub const LOCAL_ACCOUNT_ID: &str = "000000000000";

#[cfg(test)]
mod tests {
    #[test]
    fn a_runtime_can_be_shared_between_tasks() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<crate::Runtime>();
    }
}
