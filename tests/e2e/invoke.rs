//! `stackgen invoke` against the endpoint of the running app.

use std::path::PathBuf;

use stackgen::commands::Outcome;
use stackgen_cloud::commands::invoke;

use crate::helpers::app;

fn args(function: &str, event: &str) -> invoke::Args {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    invoke::Args {
        function: function.to_owned(),
        event: root.join("events").join(event),
        aws_endpoint: Some(app().endpoint.clone()),
        // The app under test built every binary.
        no_build: true,
        root: Some(root),
    }
}

#[test]
fn a_function_response_is_success_and_a_function_error_is_failure() {
    let found = invoke::run(&args("GetOrderFunction", "orders/get-order.json"));
    assert!(matches!(found, Ok(Outcome::Ok)), "{found:?}");

    // The event file's token is not signed by the app's user pool.
    let refused = invoke::run(&args("AuthorizerFunction", "users/authorizer.json"));
    assert!(matches!(refused, Ok(Outcome::Failed)), "{refused:?}");
}

#[test]
fn an_unknown_function_is_an_error_naming_the_declared_ones() {
    let error = invoke::run(&args("NoSuchFunction", "orders/get-order.json"))
        .expect_err("an unknown function is an error")
        .to_string();
    assert!(
        error.contains("NoSuchFunction") && error.contains("GetOrderFunction"),
        "{error}"
    );
}

#[test]
fn a_bootstrap_serves_only_the_functions_of_its_crate() {
    // The app under test built every crate's bootstrap.
    let _ = app();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin_dir =
        stackgen_cloud::functions::bin_dir(&root, stackgen_cloud::functions::Profile::Debug)
            .expect("the target directory");
    // The orders bootstrap does not serve the users function: it stops at init, before
    // any request, naming what it serves.
    let output = std::process::Command::new(bin_dir.join("orders"))
        .env("_HANDLER", "users")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the orders bootstrap runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "_HANDLER is `users`, but this bootstrap serves only create-order, get-order, list-orders, edit-order, cancel-order"
        ),
        "{stderr}"
    );
}
