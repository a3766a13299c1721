//! `invoke_once`, the work behind `stackgen invoke`.

use std::io::Write;

use serde_json::{Value, json};
use stackgen_runtime::{InvokeOnceError, invoke_once, read_event};

use crate::support::{echo, quiet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_once_prints_the_response_of_an_event_file() {
    let file = tempfile_with(r#"{"httpMethod": "GET", "path": "/orders/o-1"}"#);
    let event = read_event(file.path()).unwrap();
    let mut out = Vec::new();

    let outcome = invoke_once(quiet(), echo("Once"), &event, &mut out)
        .await
        .unwrap();

    assert!(outcome.is_success());
    let printed: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(printed, json!({"httpMethod": "GET", "path": "/orders/o-1"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_once_prints_lambdas_error_document_for_a_failure() {
    let mut out = Vec::new();

    let result = invoke_once(
        quiet(),
        echo("Once").env("ECHO_INIT", "exit"),
        &json!({}),
        &mut out,
    )
    .await;

    assert!(
        matches!(result, Err(InvokeOnceError::Invoke(_))),
        "{result:?}"
    );
    let printed: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(printed["errorType"], "Runtime.ExitError");
}

#[test]
fn an_event_file_that_is_not_json_names_the_file() {
    let file = tempfile_with("{ not json");

    let error = read_event(file.path()).unwrap_err();

    assert!(
        error
            .to_string()
            .contains(&file.path().display().to_string()),
        "{error}"
    );
}

/// A temporary file holding `text`; removed when dropped.
fn tempfile_with(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}
