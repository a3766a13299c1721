//! Invokes one bootstrap once with an event file and prints the response, as
//! `stackgen invoke` does once it has looked the function up in the model:
//!
//! ```text
//! cargo run -p stackgen-runtime --example invoke -- \
//!     target/debug/get-order events/orders/get-order.json ORDERS_TABLE=orders
//! ```
//!
//! Arguments after the event file are `KEY=VALUE` environment variables. The exit
//! code is 0 for a response, 1 for a function error or failed invocation, 2 for a
//! usage or start error.

use std::{path::Path, process::ExitCode};

use stackgen_runtime::{FunctionSpec, InvokeOnceError, Runtime, invoke_once, read_event};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, event, vars @ ..] = args.as_slice() else {
        eprintln!("usage: invoke <bootstrap> <event.json> [KEY=VALUE ...]");
        return ExitCode::from(2);
    };
    let event = match read_event(Path::new(event)) {
        Ok(event) => event,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let name = Path::new(bootstrap)
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        })
        .unwrap_or_else(|| "Function".to_owned());
    let spec =
        FunctionSpec::new(name, bootstrap).envs(vars.iter().filter_map(|var| var.split_once('=')));
    match invoke_once(Runtime::builder(), spec, &event, &mut std::io::stdout()).await {
        Ok(outcome) if outcome.is_success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(InvokeOnceError::Invoke(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
