//! Starting and stopping: bad specs fail early, and no process outlives its runtime.

use serde_json::json;
use stackgen_runtime::{FunctionSpec, InvokeError, StartError};

use crate::support::{PATIENCE, all_dead, echo, quiet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_runtime_kills_every_process() {
    let runtime = quiet()
        .function(echo("One"))
        .function(echo("Two").concurrency(2))
        .start()
        .await
        .unwrap();
    for name in ["One", "Two"] {
        runtime.wait_ready(name, PATIENCE).await.unwrap();
    }
    let pids = runtime.pids();
    assert_eq!(pids.len(), 3);

    drop(runtime);

    assert!(all_dead(&pids).await, "left behind: {pids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_every_process_and_fails_waiting_invokes() {
    let runtime = std::sync::Arc::new(quiet().function(echo("Busy")).start().await.unwrap());
    runtime.wait_ready("Busy", PATIENCE).await.unwrap();
    let pids = runtime.pids();
    let busy = {
        let runtime = runtime.clone();
        tokio::spawn(async move {
            runtime
                .invoke("Busy", &json!({"echo": "sleep", "ms": 60_000}))
                .await
        })
    };
    // Shut down only once the process holds the event, to meet a busy process.
    while !runtime.instances("Busy").unwrap()[0].busy {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    tokio::time::timeout(PATIENCE, runtime.shutdown())
        .await
        .unwrap();
    let after = runtime.invoke("Busy", &json!({})).await;

    let result = busy.await.unwrap();
    assert!(matches!(result, Err(InvokeError::ShutDown)), "{result:?}");
    assert!(matches!(after, Err(InvokeError::ShutDown)), "{after:?}");
    assert!(all_dead(&pids).await, "left behind: {pids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_runtime_starts_a_process_at_the_first_invoke() {
    let runtime = quiet()
        .eager(false)
        .function(echo("Lazy"))
        .start()
        .await
        .unwrap();
    assert!(runtime.pids().is_empty());

    let outcome = tokio::time::timeout(PATIENCE, runtime.invoke("Lazy", &json!(1)))
        .await
        .unwrap()
        .unwrap();

    assert!(outcome.is_success());
    let instance = &runtime.instances("Lazy").unwrap()[0];
    assert_eq!(instance.starts, 1);
    assert!(instance.init_duration.is_some());
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_specs_are_refused_before_anything_starts() {
    let missing = quiet()
        .function(FunctionSpec::new("Missing", "/nonexistent/bootstrap"))
        .start()
        .await;
    let twice = quiet()
        .function(echo("Twice"))
        .function(echo("Twice"))
        .start()
        .await;
    let bad_name = quiet().function(echo("not/valid")).start().await;

    assert!(
        matches!(missing, Err(StartError::Bootstrap { .. })),
        "{missing:?}"
    );
    assert!(
        matches!(twice, Err(StartError::DuplicateFunction(_))),
        "{twice:?}"
    );
    assert!(
        matches!(bad_name, Err(StartError::InvalidFunction { .. })),
        "{bad_name:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_processes_die_with_a_parent_killed_without_running_destructors() {
    use std::io::{BufRead, BufReader};

    let mut holder = std::process::Command::new(crate::support::hold_bin())
        .arg(crate::support::echo_bin())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = holder.stdout.take().unwrap();
    let pids = tokio::task::spawn_blocking(move || {
        let mut pids = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if line == "ready" {
                break;
            }
            pids.push(line.parse::<u32>().unwrap());
        }
        pids
    });
    let pids = tokio::time::timeout(PATIENCE, pids).await.unwrap().unwrap();
    assert_eq!(pids.len(), 2);

    holder.kill().unwrap(); // SIGKILL: no destructor, no shutdown, no Drop.
    holder.wait().unwrap();

    assert!(all_dead(&pids).await, "left behind: {pids:?}");
}
