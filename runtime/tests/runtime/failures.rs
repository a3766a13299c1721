//! Functions that fail, and how each failure reaches the caller.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::json;
use stackgen_runtime::{InvokeError, InvokeOutcome, LogSink, LogStream, MAX_PAYLOAD_BYTES};

use crate::support::{PATIENCE, echo, quiet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_error_is_an_outcome_with_its_type_and_message() {
    let runtime = quiet().function(echo("Failing")).start().await.unwrap();

    let outcome = tokio::time::timeout(
        PATIENCE,
        runtime.invoke("Failing", &json!({"echo": "error"})),
    )
    .await
    .unwrap()
    .unwrap();

    let InvokeOutcome::Error(error) = outcome else {
        panic!("expected a function error, got {outcome:?}");
    };
    assert_eq!(error.error_type, "EchoError");
    assert!(
        error.error_message.starts_with("asked to fail request "),
        "{error:?}"
    );
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_a_function_error_and_the_process_keeps_serving() {
    let runtime = quiet().function(echo("Panicky")).start().await.unwrap();

    let outcome = tokio::time::timeout(
        PATIENCE,
        runtime.invoke("Panicky", &json!({"echo": "panic"})),
    )
    .await
    .unwrap()
    .unwrap();
    let after = tokio::time::timeout(PATIENCE, runtime.invoke("Panicky", &json!({"ok": true})))
        .await
        .unwrap()
        .unwrap();

    let InvokeOutcome::Error(error) = outcome else {
        panic!("expected a function error, got {outcome:?}");
    };
    assert!(error.error_message.contains("asked to panic"), "{error:?}");
    assert_eq!(after, InvokeOutcome::Response(json!({"ok": true})));
    assert_eq!(runtime.instances("Panicky").unwrap()[0].starts, 1);
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_enforced_and_the_next_invoke_gets_a_fresh_process() {
    let notes = Arc::new(Mutex::new(Vec::new()));
    let seen = notes.clone();
    let sink = LogSink::custom(move |line| {
        if line.stream == LogStream::Runtime {
            seen.lock().unwrap().push(line.line.to_owned());
        }
    });
    let runtime = quiet()
        .log_sink(sink)
        .function(echo("Slow").timeout(Duration::from_secs(1)))
        .start()
        .await
        .unwrap();
    let first = runtime.wait_ready("Slow", PATIENCE).await.unwrap()[0]
        .pid
        .unwrap();

    let result = tokio::time::timeout(
        PATIENCE,
        runtime.invoke("Slow", &json!({"echo": "sleep", "ms": 120_000})),
    )
    .await
    .expect("the timeout should end the invoke long before the sleep does");
    let after = tokio::time::timeout(
        PATIENCE,
        runtime.invoke("Slow", &json!({"after": "timeout"})),
    )
    .await
    .unwrap()
    .unwrap();

    let Err(error @ InvokeError::Timeout { .. }) = result else {
        panic!("expected a timeout, got {result:?}");
    };
    let lambda = error.to_function_error().unwrap();
    assert_eq!(lambda.error_type, "Sandbox.Timedout");
    assert!(
        lambda
            .error_message
            .ends_with("Task timed out after 1.00 seconds"),
        "{lambda:?}"
    );
    assert_eq!(after, InvokeOutcome::Response(json!({"after": "timeout"})));
    let instance = &runtime.instances("Slow").unwrap()[0];
    assert_eq!(instance.starts, 2);
    assert_ne!(instance.pid, Some(first));
    assert!(
        crate::support::all_dead(&[first]).await,
        "the timed-out process was not killed"
    );
    let notes = notes.lock().unwrap().clone();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Task timed out after 1.00 seconds")),
        "the function's log says nothing of the timeout: {notes:?}"
    );
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_exiting_mid_invocation_is_reported_and_replaced() {
    let runtime = quiet().function(echo("Crashy")).start().await.unwrap();

    let result = tokio::time::timeout(
        PATIENCE,
        runtime.invoke("Crashy", &json!({"echo": "exit", "code": 3})),
    )
    .await
    .unwrap();
    let after = tokio::time::timeout(PATIENCE, runtime.invoke("Crashy", &json!({"n": 1})))
        .await
        .unwrap()
        .unwrap();

    let Err(error @ InvokeError::Exited { .. }) = result else {
        panic!("expected an exit, got {result:?}");
    };
    assert!(error.to_string().contains("exit status: 3"), "{error}");
    assert_eq!(
        error.to_function_error().unwrap().error_type,
        "Runtime.ExitError"
    );
    assert_eq!(after, InvokeOutcome::Response(json!({"n": 1})));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_init_error_posted_by_the_runtime_fails_the_invoke_with_it() {
    let runtime = quiet()
        .function(echo("BadInit").env("ECHO_INIT", "post-error"))
        .start()
        .await
        .unwrap();

    // Twice: the first meets the eagerly started process, the second a fresh one.
    for _ in 0..2 {
        let result = tokio::time::timeout(PATIENCE, runtime.invoke("BadInit", &json!({})))
            .await
            .unwrap();
        let Err(InvokeError::Init { error, .. }) = result else {
            panic!("expected an init error, got {result:?}");
        };
        assert_eq!(error.error_type, "EchoInitError");
        assert_eq!(error.error_message, "asked to fail init");
    }
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_exiting_during_init_fails_the_invoke_with_an_exit_error() {
    let runtime = quiet()
        .eager(false)
        .function(echo("NoConfig").env("ECHO_INIT", "exit"))
        .start()
        .await
        .unwrap();

    let result = tokio::time::timeout(PATIENCE, runtime.invoke("NoConfig", &json!({})))
        .await
        .unwrap();

    let Err(InvokeError::Init { error, .. }) = result else {
        panic!("expected an init error, got {result:?}");
    };
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert!(error.error_message.contains("exit status: 2"), "{error:?}");
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_never_asks_for_an_event_fails_at_the_init_timeout() {
    let runtime = quiet()
        .init_timeout(Duration::from_millis(500))
        .function(echo("Hangs").env("ECHO_INIT", "hang"))
        .start()
        .await
        .unwrap();

    let result = tokio::time::timeout(PATIENCE, runtime.invoke("Hangs", &json!({})))
        .await
        .unwrap();

    let Err(InvokeError::Init { error, .. }) = result else {
        panic!("expected an init error, got {result:?}");
    };
    assert_eq!(error.error_type, "Sandbox.Timedout");
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_over_the_limit_are_refused_both_ways() {
    let runtime = quiet().function(echo("Big")).start().await.unwrap();

    let too_big = json!({"pad": "x".repeat(MAX_PAYLOAD_BYTES)});
    let request = runtime.invoke("Big", &too_big).await;
    let response = tokio::time::timeout(
        PATIENCE,
        runtime.invoke(
            "Big",
            &json!({"echo": "big", "bytes": MAX_PAYLOAD_BYTES + 1}),
        ),
    )
    .await
    .unwrap();
    let after = tokio::time::timeout(
        PATIENCE,
        runtime.invoke("Big", &json!({"echo": "big", "bytes": 3})),
    )
    .await
    .unwrap()
    .unwrap();

    assert!(
        matches!(request, Err(InvokeError::PayloadTooLarge { .. })),
        "{request:?}"
    );
    let Err(error) = response else {
        panic!("expected an oversized response to fail, got {response:?}");
    };
    assert_eq!(
        error.to_function_error().unwrap().error_type,
        "Function.ResponseSizeTooLarge"
    );
    assert_eq!(after, InvokeOutcome::Response(json!("xxx")));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_function_is_an_error_of_the_caller() {
    let runtime = quiet().function(echo("Known")).start().await.unwrap();

    let result = runtime.invoke("Unknown", &json!({})).await;

    assert!(matches!(&result, Err(InvokeError::UnknownFunction(name)) if name == "Unknown"));
    runtime.shutdown().await;
}
