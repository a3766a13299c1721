//! Summaries shared by the workspace's bench binaries (`#[path]`-included, so each bench
//! stays a plain `harness = false` binary).

#![allow(dead_code)] // Each bench uses its own subset.

use std::time::Duration;

/// The nearest-rank percentile `p` (0 to 100) of ascending `sorted` samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `d` in milliseconds with microsecond precision, as `0.123 ms`.
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// `target: met` / `target: MISSED` for each check, comma-separated.
pub fn verdicts(checks: &[(&str, bool)]) -> String {
    checks
        .iter()
        .map(|(target, met)| format!("{target}: {}", if *met { "met" } else { "MISSED" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A process's peak resident set size (`VmHWM`) in KiB, while it is alive.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A variable of the bench's environment as a number, or `default`.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
