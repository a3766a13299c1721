//! A `lambda_runtime` function for exercising the local runtime: it echoes its
//! payload, and a few payloads make it misbehave on purpose.
//!
//! Payload `{"echo": MODE, ...}` selects what it does; any other payload comes back
//! unchanged (the trivial function of the benchmark):
//!
//! - `context`: returns what `lambda_runtime`'s `Context` and environment say;
//! - `sleep` with `ms`: sleeps, then echoes (timeouts);
//! - `error`: returns an `EchoError` function error;
//! - `panic`: panics in the handler (`lambda_runtime` reports it as an error);
//! - `exit` with `code`: exits the process mid-invocation;
//! - `log` with `lines`: writes each line to stdout and to stderr, then echoes;
//! - `big` with `bytes`: returns a string of that many bytes.
//!
//! `ECHO_INIT` makes initialisation fail: `post-error` reports to `/init/error` and
//! exits, as runtimes do; `exit` exits before asking for an event; `hang` never asks.
//!
//! Run it under the local runtime (`cargo run --example echo` alone has no Runtime API
//! to talk to).

use std::{io::Write, time::Duration};

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[derive(Debug)]
struct EchoError(String);

impl From<EchoError> for Diagnostic {
    fn from(error: EchoError) -> Self {
        Diagnostic {
            error_type: "EchoError".into(),
            error_message: error.0,
        }
    }
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, EchoError> {
    let (payload, context) = event.into_parts();
    let mode = payload.get("echo").and_then(Value::as_str).unwrap_or("");
    let number = |key: &str| payload.get(key).and_then(Value::as_u64).unwrap_or(0);
    match mode {
        "context" => Ok(json!({
            "request_id": context.request_id,
            "deadline": context.deadline,
            "invoked_function_arn": context.invoked_function_arn,
            "xray_trace_id": context.xray_trace_id,
            "function_name": context.env_config.function_name,
            "memory": context.env_config.memory,
            "version": context.env_config.version,
            "log_group": context.env_config.log_group,
            "log_stream": context.env_config.log_stream,
            "env": std::env::vars().collect::<std::collections::BTreeMap<_, _>>(),
            "cwd": std::env::current_dir().ok(),
        })),
        "sleep" => {
            tokio::time::sleep(Duration::from_millis(number("ms"))).await;
            Ok(payload)
        }
        "error" => Err(EchoError(format!(
            "asked to fail request {}",
            context.request_id
        ))),
        "panic" => panic!("asked to panic"),
        "exit" => std::process::exit(i32::try_from(number("code")).unwrap_or(1)),
        "log" => {
            for line in payload
                .get("lines")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let line = line.as_str().unwrap_or_default();
                println!("out: {line}");
                eprintln!("err: {line}");
            }
            Ok(payload)
        }
        "big" => Ok(Value::String(
            "x".repeat(usize::try_from(number("bytes")).unwrap_or(0)),
        )),
        _ => Ok(payload),
    }
}

/// Reports an init failure the way a runtime does, with a raw request: the client
/// in `lambda_runtime` only reports init errors of SnapStart hooks.
fn post_init_error() {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let body = r#"{"errorType":"EchoInitError","errorMessage":"asked to fail init"}"#;
    if let Ok(mut stream) = std::net::TcpStream::connect(&api) {
        let request = format!(
            "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
             Lambda-Runtime-Function-Error-Type: Runtime.EchoInit\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(request.as_bytes());
        let mut response = String::new();
        let _ = std::io::Read::read_to_string(&mut stream, &mut response);
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    match std::env::var("ECHO_INIT").as_deref() {
        Ok("post-error") => {
            post_init_error();
            std::process::exit(1);
        }
        Ok("exit") => {
            eprintln!("missing configuration, exiting");
            std::process::exit(2);
        }
        Ok("hang") => std::future::pending::<()>().await,
        _ => {}
    }
    lambda_runtime::run(service_fn(handle)).await
}
