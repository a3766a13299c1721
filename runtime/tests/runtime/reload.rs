//! Reloading: every process is replaced by one started from the bootstrap again, and
//! no invocation is lost or failed on the way.

use std::{os::unix::fs::PermissionsExt, path::Path, sync::Arc, time::Duration};

use serde_json::{Value, json};
use stackgen_runtime::{FunctionSpec, InstanceInfo, InvokeError, InvokeOutcome, Runtime};

use crate::support::{PATIENCE, all_dead, echo, echo_bin, quiet};

/// Waits until the only instance of `function` satisfies `done`, and returns it.
async fn wait_for(
    runtime: &Runtime,
    function: &str,
    done: impl Fn(&InstanceInfo) -> bool,
) -> InstanceInfo {
    let waited = tokio::time::timeout(PATIENCE, async {
        loop {
            let info = runtime.instances(function).unwrap().remove(0);
            if done(&info) {
                return info;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    waited.unwrap_or_else(|_| {
        panic!(
            "{function} never got there: {:?}",
            runtime.instances(function)
        )
    })
}

/// The log stream of the process that handles this invocation: new at every start.
async fn log_stream(runtime: &Runtime, function: &str) -> String {
    let outcome = tokio::time::timeout(
        PATIENCE,
        runtime.invoke(function, &json!({"echo": "context"})),
    )
    .await
    .unwrap()
    .unwrap();
    let InvokeOutcome::Response(context) = outcome else {
        panic!("expected a response, got {outcome:?}");
    };
    context["log_stream"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_replaces_an_idle_process_with_a_ready_one() {
    let runtime = quiet().function(echo("Idle")).start().await.unwrap();
    let before = runtime
        .wait_ready("Idle", PATIENCE)
        .await
        .unwrap()
        .remove(0);
    let old_pid = before.pid.unwrap();

    runtime.reload();

    let after = wait_for(&runtime, "Idle", |i| {
        i.ready && i.pid.is_some_and(|pid| pid != old_pid)
    })
    .await;
    assert_eq!(after.starts, 2);
    assert!(all_dead(&[old_pid]).await, "{old_pid} still runs");
    let outcome = tokio::time::timeout(PATIENCE, runtime.invoke("Idle", &json!({"n": 1})))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, InvokeOutcome::Response(json!({"n": 1})));
    assert_eq!(runtime.instances("Idle").unwrap()[0].pid, after.pid);
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_in_flight_during_a_reload_completes_and_the_next_goes_to_the_new_process() {
    let runtime = Arc::new(quiet().function(echo("Busy")).start().await.unwrap());
    runtime.wait_ready("Busy", PATIENCE).await.unwrap();
    let old_stream = log_stream(&runtime, "Busy").await;
    let old_pid = runtime.instances("Busy").unwrap()[0].pid.unwrap();
    let slow = json!({"echo": "sleep", "ms": 2000});
    let in_flight = {
        let runtime = runtime.clone();
        let slow = slow.clone();
        tokio::spawn(async move { runtime.invoke("Busy", &slow).await })
    };
    wait_for(&runtime, "Busy", |i| i.busy).await;

    runtime.reload();
    // Queued behind the busy process: the new one must take it.
    let queued = {
        let runtime = runtime.clone();
        tokio::spawn(async move { log_stream(&runtime, "Busy").await })
    };

    let answered = tokio::time::timeout(PATIENCE, in_flight)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answered.unwrap(), InvokeOutcome::Response(slow));
    let new_stream = tokio::time::timeout(PATIENCE, queued)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(new_stream, old_stream);
    let after = runtime.instances("Busy").unwrap().remove(0);
    assert_ne!(after.pid, Some(old_pid));
    assert_eq!(after.starts, 2);
    assert!(all_dead(&[old_pid]).await, "{old_pid} still runs");
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_of_a_lazy_runtime_starts_the_new_process_at_the_next_invoke() {
    let runtime = quiet()
        .eager(false)
        .function(echo("Lazy"))
        .start()
        .await
        .unwrap();
    let first = tokio::time::timeout(PATIENCE, runtime.invoke("Lazy", &json!(1)))
        .await
        .unwrap()
        .unwrap();
    assert!(first.is_success());
    let old_pid = runtime.instances("Lazy").unwrap()[0].pid.unwrap();

    runtime.reload();

    let idle = wait_for(&runtime, "Lazy", |i| i.pid.is_none()).await;
    assert_eq!(idle.starts, 1);
    assert!(all_dead(&[old_pid]).await, "{old_pid} still runs");
    assert!(runtime.pids().is_empty(), "{:?}", runtime.pids());
    let second = tokio::time::timeout(PATIENCE, runtime.invoke("Lazy", &json!(2)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second, InvokeOutcome::Response(json!(2)));
    let after = runtime.instances("Lazy").unwrap().remove(0);
    assert_eq!(after.starts, 2);
    assert!(after.pid.is_some_and(|pid| pid != old_pid));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_bootstrap_that_fails_init_is_tried_once_and_a_fixed_one_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = dir.path().join("bootstrap");
    replace(&bootstrap, &std::fs::read(echo_bin()).unwrap());
    let runtime = quiet()
        .function(FunctionSpec::new("Rebuilt", &bootstrap))
        .start()
        .await
        .unwrap();
    let old_pid = runtime.wait_ready("Rebuilt", PATIENCE).await.unwrap()[0]
        .pid
        .unwrap();

    // A build that broke the function: it exits before asking for an event.
    replace(&bootstrap, b"#!/bin/sh\nexit 3\n");
    runtime.reload();

    let broken = wait_for(&runtime, "Rebuilt", |i| i.starts == 2 && i.pid.is_none()).await;
    assert!(!broken.ready);
    assert!(all_dead(&[old_pid]).await, "{old_pid} still runs");
    let failed = tokio::time::timeout(PATIENCE, runtime.invoke("Rebuilt", &json!({})))
        .await
        .unwrap();
    let Err(InvokeError::Init { error, .. }) = failed else {
        panic!("expected an init error, got {failed:?}");
    };
    assert_eq!(error.error_type, "Runtime.ExitError");
    // Only the invocation started another process: no restart loop.
    assert_eq!(runtime.instances("Rebuilt").unwrap()[0].starts, 3);

    replace(&bootstrap, &std::fs::read(echo_bin()).unwrap());
    runtime.reload();

    let fixed = wait_for(&runtime, "Rebuilt", |i| i.ready).await;
    assert_eq!(fixed.starts, 4);
    let outcome = tokio::time::timeout(PATIENCE, runtime.invoke("Rebuilt", &json!("ok")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, InvokeOutcome::Response(Value::from("ok")));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_one_function_leaves_the_others_running() {
    let runtime = quiet()
        .function(echo("Changed"))
        .function(echo("Unchanged"))
        .start()
        .await
        .unwrap();
    let changed = runtime.wait_ready("Changed", PATIENCE).await.unwrap()[0]
        .pid
        .unwrap();
    let unchanged = runtime.wait_ready("Unchanged", PATIENCE).await.unwrap()[0].clone();

    assert!(runtime.reload_function("Changed"));
    assert!(!runtime.reload_function("Unknown"));

    wait_for(&runtime, "Changed", |i| {
        i.ready && i.pid.is_some_and(|pid| pid != changed)
    })
    .await;
    assert_eq!(runtime.instances("Unchanged").unwrap()[0], unchanged);
    runtime.shutdown().await;
}

/// Puts `contents` at `path` as a new executable file, as a build replaces a binary
/// (a running process keeps the old one).
fn replace(path: &Path, contents: &[u8]) {
    let staged = path.with_extension("new");
    std::fs::write(&staged, contents).unwrap();
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&staged, path).unwrap();
}
