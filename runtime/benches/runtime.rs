//! How fast the local runtime is, with the trivial echo function built in release.
//!
//! Reports, against the targets of issue 6:
//! - the Runtime API round trip of sequential invokes (p50 ≤ 0.5 ms, p99 ≤ 1 ms),
//!   measured around `Runtime::invoke`, so it includes JSON encoding, the queue, both
//!   HTTP exchanges with the process and the handler itself;
//! - init time, process start to first `/next` (≤ 10 ms), over several cold starts;
//! - peak RSS of the function process, `VmHWM` after the round trips (≤ 16 MiB).
//!
//! `cargo bench -p stackgen-runtime --bench runtime`; `ROUNDS=N` changes the number of
//! measured invokes (default 5000), `COLD_STARTS=N` the number of cold starts (30).

#[path = "support/stats.rs"]
mod stats;
#[path = "../tests/runtime/support.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use stackgen_runtime::{InvokeOutcome, LogSink, Runtime};
use stats::{env_number, ms, peak_rss_kib, percentile, verdicts};

const WARMUP: usize = 500;

fn main() {
    let rounds = env_number("ROUNDS", 5000);
    let cold_starts = env_number("COLD_STARTS", 30);
    println!("echo function: {}", support::echo_bin().display());
    println!(
        "machine: {} CPUs available",
        std::thread::available_parallelism().map_or(0, usize::from)
    );

    machine_floor(rounds);

    // The scheduler `stackgen local` runs on. (A current-thread scheduler has fewer
    // context switches but a worse tail on a busy machine: when its one thread is
    // preempted, the whole round trip waits.)
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    // On a worker, as the gateway's request tasks will run, not on the main thread.
    runtime
        .block_on(runtime.spawn(round_trips(rounds)))
        .expect("the round trips run to the end");
    if cold_starts > 0 {
        runtime.block_on(cold_start_times(cold_starts));
    }
}

async fn round_trips(rounds: usize) {
    let runtime = start().await;
    let ready = runtime
        .wait_ready("Echo", support::PATIENCE)
        .await
        .expect("the echo function starts");
    let pid = ready[0].pid.expect("a running process");
    let payload = json!({"hello": "world", "n": 1});

    for _ in 0..WARMUP {
        invoke(&runtime, &payload).await;
    }
    let mut samples = Vec::with_capacity(rounds);
    let switches_before = (context_switches("self"), context_switches(&pid.to_string()));
    let started = Instant::now();
    for _ in 0..rounds {
        let t = Instant::now();
        invoke(&runtime, &payload).await;
        samples.push(t.elapsed());
    }
    let total = started.elapsed();
    let switches_after = (context_switches("self"), context_switches(&pid.to_string()));
    samples.sort();

    let p50 = percentile(&samples, 50.0);
    let p99 = percentile(&samples, 99.0);
    println!("round trip over {rounds} sequential invokes (after {WARMUP} warm-up):");
    println!(
        "  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
        ms(p50),
        ms(percentile(&samples, 90.0)),
        ms(p99),
        ms(percentile(&samples, 99.9)),
        ms(samples[samples.len() - 1]),
    );
    println!(
        "  {:.0} invokes/s; {}",
        rounds as f64 / total.as_secs_f64(),
        verdicts(&[
            ("p50 ≤ 0.5 ms", p50 <= Duration::from_micros(500)),
            ("p99 ≤ 1 ms", p99 <= Duration::from_millis(1)),
        ])
    );
    println!(
        "  context switches per invoke: {:.1} in this process, {:.1} in the function",
        (switches_after.0 - switches_before.0) as f64 / rounds as f64,
        (switches_after.1 - switches_before.1) as f64 / rounds as f64,
    );
    match peak_rss_kib(pid) {
        Some(kib) => println!(
            "peak RSS of the function process (VmHWM): {:.1} MiB; {}",
            kib as f64 / 1024.0,
            verdicts(&[("≤ 16 MiB", kib <= 16 * 1024)])
        ),
        None => println!("peak RSS: /proc/{pid}/status unreadable"),
    }
    runtime.shutdown().await;
}

async fn cold_start_times(starts: usize) {
    let mut samples = Vec::with_capacity(starts);
    for _ in 0..starts {
        let runtime = start().await;
        let ready = runtime
            .wait_ready("Echo", support::PATIENCE)
            .await
            .expect("the echo function starts");
        samples.push(ready[0].init_duration.expect("an init time once ready"));
        runtime.shutdown().await;
    }
    samples.sort();
    let p50 = percentile(&samples, 50.0);
    println!("init (process start → first /next) over {starts} cold starts:");
    println!(
        "  min {}  p50 {}  max {}; {}",
        ms(samples[0]),
        ms(p50),
        ms(samples[samples.len() - 1]),
        verdicts(&[("p50 ≤ 10 ms", p50 <= Duration::from_millis(10))])
    );
}

/// The same number of 64-byte ping-pongs between two threads over loopback TCP with
/// `TCP_NODELAY`: the least a request/response can cost on this machine right now.
/// A tail here comes from the scheduler (other work on the cores), not the runtime.
fn machine_floor(rounds: usize) {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local address");
    let echo = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        let mut buf = [0u8; 64];
        while stream.read_exact(&mut buf).is_ok() {
            if stream.write_all(&buf).is_err() {
                break;
            }
        }
    });
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut buf = [7u8; 64];
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..WARMUP + rounds {
        let t = Instant::now();
        stream.write_all(&buf).expect("write");
        stream.read_exact(&mut buf).expect("read");
        if i >= WARMUP {
            samples.push(t.elapsed());
        }
    }
    drop(stream);
    let _ = echo.join();
    samples.sort();
    println!(
        "machine floor, one loopback TCP round trip between two threads: p50 {}  p99 {}  max {}",
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 99.0)),
        ms(samples[samples.len() - 1]),
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average while measuring: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}

async fn start() -> Runtime {
    Runtime::builder()
        .log_sink(LogSink::Discard)
        .function(support::echo("Echo"))
        .start()
        .await
        .expect("the runtime starts")
}

async fn invoke(runtime: &Runtime, payload: &serde_json::Value) {
    match runtime.invoke("Echo", payload).await {
        Ok(InvokeOutcome::Response(_)) => {}
        other => panic!("the echo function failed: {other:?}"),
    }
}

/// Voluntary and involuntary context switches of all threads of a process.
fn context_switches(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}
