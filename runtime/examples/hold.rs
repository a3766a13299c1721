//! Starts the local runtime with two processes of the echo function (its path is the
//! argument) that hang in init, prints their pids and `ready`, then waits forever.
//!
//! The tests kill it with `SIGKILL`, which runs no destructor, and check that the
//! kernel took the function processes down with it. They hang so that nothing else
//! ends them: a function waiting on `/next` would also exit when its connection to
//! the dead parent breaks.

use std::{io::Write, time::Duration};

use stackgen_runtime::{FunctionSpec, LogSink, Runtime};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let echo = std::env::args()
        .nth(1)
        .ok_or("usage: hold <echo bootstrap>")?;
    let runtime = Runtime::builder()
        .log_sink(LogSink::Discard)
        .function(
            FunctionSpec::new("Held", echo)
                .env("ECHO_INIT", "hang")
                .concurrency(2),
        )
        .start()
        .await?;
    let started = tokio::time::timeout(Duration::from_secs(60), async {
        while runtime.pids().len() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    started.await.map_err(|_| "the processes did not start")?;
    let mut out = std::io::stdout().lock();
    for pid in runtime.pids() {
        writeln!(out, "{pid}")?;
    }
    writeln!(out, "ready")?;
    out.flush()?;
    drop(out);
    std::future::pending::<()>().await;
    Ok(())
}
