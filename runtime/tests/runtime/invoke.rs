//! Invocations that succeed, and what the function sees while running.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::{Value, json};
use stackgen_runtime::{InvokeOutcome, LogSink, LogStream};

use crate::support::{PATIENCE, echo, quiet};

fn response(outcome: InvokeOutcome) -> Value {
    match outcome {
        InvokeOutcome::Response(value) => value,
        InvokeOutcome::Error(error) => panic!("expected a response, got {error:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_function_returns_its_payload() {
    let runtime = quiet().function(echo("Echo")).start().await.unwrap();
    let payload = json!({"order": {"id": "o-1", "total": "12.50"}, "items": [1, 2, 3]});

    let outcome = tokio::time::timeout(PATIENCE, runtime.invoke("Echo", &payload))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(response(outcome), payload);
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_carries_the_request_id_deadline_arn_and_trace_id() {
    let timeout = Duration::from_secs(7);
    let runtime = quiet()
        .function(
            echo("Context")
                .timeout(timeout)
                .memory_mb(256)
                .env("ORDERS_TABLE", "orders-local"),
        )
        .start()
        .await
        .unwrap();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;

    let first = tokio::time::timeout(
        PATIENCE,
        runtime.invoke("Context", &json!({"echo": "context"})),
    )
    .await
    .unwrap()
    .unwrap();
    let second = tokio::time::timeout(
        PATIENCE,
        runtime.invoke("Context", &json!({"echo": "context"})),
    )
    .await
    .unwrap()
    .unwrap();

    let (first, second) = (response(first), response(second));
    let request_id = first["request_id"].as_str().unwrap();
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
    assert_ne!(first["request_id"], second["request_id"]);
    let deadline = first["deadline"].as_u64().unwrap();
    let timeout_ms = timeout.as_millis() as u64;
    assert!(
        deadline >= before + timeout_ms,
        "deadline {deadline} too early"
    );
    assert!(deadline <= before + timeout_ms + PATIENCE.as_millis() as u64);
    assert_eq!(
        first["invoked_function_arn"],
        "arn:aws:lambda:eu-west-1:000000000000:function:Context"
    );
    assert!(
        first["xray_trace_id"]
            .as_str()
            .unwrap()
            .starts_with("Root=1-")
    );
    assert_eq!(first["function_name"], "Context");
    assert_eq!(first["memory"], 256);
    assert_eq!(first["version"], "$LATEST");
    assert_eq!(first["log_group"], "/aws/lambda/Context");
    let env = &first["env"];
    assert_eq!(env["ORDERS_TABLE"], "orders-local");
    assert_eq!(env["AWS_REGION"], "eu-west-1");
    assert_eq!(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
    assert!(
        env.get("HOME").is_none(),
        "the host environment leaked: {env}"
    );
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_in_one_runtime_are_routed_by_name() {
    let runtime = quiet()
        .function(echo("Alpha").env("WHO", "alpha"))
        .function(echo("Beta").env("WHO", "beta"))
        .start()
        .await
        .unwrap();

    for name in ["Alpha", "Beta"] {
        let outcome =
            tokio::time::timeout(PATIENCE, runtime.invoke(name, &json!({"echo": "context"})))
                .await
                .unwrap()
                .unwrap();
        let seen = response(outcome);
        assert_eq!(seen["function_name"], name);
        assert_eq!(seen["env"]["WHO"], name.to_lowercase());
    }
    assert_eq!(runtime.functions().collect::<Vec<_>>(), ["Alpha", "Beta"]);
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invokes_of_one_process_are_queued_and_all_answered() {
    let runtime = Arc::new(quiet().function(echo("Queue")).start().await.unwrap());

    let calls = (0..20).map(|i| {
        let runtime = runtime.clone();
        tokio::spawn(async move {
            runtime
                .invoke("Queue", &json!({"echo": "sleep", "ms": 5, "i": i}))
                .await
        })
    });
    let results = tokio::time::timeout(PATIENCE, futures_join(calls))
        .await
        .unwrap();

    for (i, result) in results.into_iter().enumerate() {
        assert_eq!(response(result.unwrap())["i"], i);
    }
    let instances = runtime.instances("Queue").unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0].starts, 1, "one process served them all");
    assert_eq!(instances[0].invocations, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_of_two_runs_two_processes_on_two_ports() {
    let runtime = Arc::new(
        quiet()
            .function(echo("Pair").concurrency(2))
            .start()
            .await
            .unwrap(),
    );
    let ready = runtime.wait_ready("Pair", PATIENCE).await.unwrap();

    let calls = (0..2).map(|_| {
        let runtime = runtime.clone();
        tokio::spawn(async move {
            runtime
                .invoke("Pair", &json!({"echo": "sleep", "ms": 300}))
                .await
        })
    });
    for result in tokio::time::timeout(PATIENCE, futures_join(calls))
        .await
        .unwrap()
    {
        assert!(result.unwrap().is_success());
    }

    assert_eq!(ready.len(), 2);
    assert_ne!(ready[0].runtime_api, ready[1].runtime_api);
    assert_ne!(ready[0].pid, ready[1].pid);
    let served: u64 = runtime
        .instances("Pair")
        .unwrap()
        .iter()
        .map(|i| i.invocations)
        .sum();
    assert_eq!(served, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_output_line_is_tagged_with_its_function_and_stream() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    let sink = LogSink::custom(move |line| {
        if line.line.contains("hello") {
            seen.lock().unwrap().push((
                line.function.to_owned(),
                line.stream,
                line.line.to_owned(),
            ));
        }
    });
    let runtime = quiet()
        .log_sink(sink)
        .function(echo("Logger"))
        .start()
        .await
        .unwrap();

    tokio::time::timeout(
        PATIENCE,
        runtime.invoke("Logger", &json!({"echo": "log", "lines": ["hello"]})),
    )
    .await
    .unwrap()
    .unwrap();
    // The output pipes are read by their own tasks; give them a moment.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while lines.lock().unwrap().len() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut lines = lines.lock().unwrap().clone();
    lines.sort_by_key(|(_, _, text)| text.clone());
    assert_eq!(
        lines,
        [
            (
                "Logger".to_owned(),
                LogStream::Stderr,
                "err: hello".to_owned()
            ),
            (
                "Logger".to_owned(),
                LogStream::Stdout,
                "out: hello".to_owned()
            ),
        ]
    );
    runtime.shutdown().await;
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut results = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        results.push(handle.await.unwrap());
    }
    results
}
