//! Shared by the tests and the bench: the echo function's binary and runtime helpers.

#![allow(dead_code)] // Each user of this module needs a different part of it.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
    time::Duration,
};

use stackgen_runtime::{FunctionSpec, LogSink, Runtime, RuntimeBuilder};

/// Generous bound for anything a test waits on: the machine is small and shared.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The echo example, built in the profile of the running test or bench.
pub fn echo_bin() -> PathBuf {
    examples_dir().join("echo")
}

/// The hold example (see `examples/hold.rs`).
pub fn hold_bin() -> PathBuf {
    examples_dir().join("hold")
}

/// Where this profile's examples are, built and up to date.
///
/// Integration tests cannot depend on an example. `cargo test` builds the examples
/// with the tests, but `cargo test --test runtime` and `cargo bench` do not, so when
/// a binary is missing or older than the crate's sources this asks cargo for them.
/// (Cargo releases its build lock before it runs tests, so this cannot deadlock with
/// the cargo that started us; it can wait for another build in the same target dir,
/// which is why it is skipped when the binaries are fresh.)
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("path of the test binary");
        // target/<profile>/deps/<test binary>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary under target/<profile>/deps");
        let dir = profile_dir.join("examples");
        if fresh(&[dir.join("echo"), dir.join("hold")]) {
            return dir;
        }
        let release = profile_dir
            .file_name()
            .is_some_and(|name| name == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "stackgen-runtime"]);
        build.args(["--example", "echo", "--example", "hold"]);
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo to build the examples");
        assert!(status.success(), "building the examples failed");
        dir
    })
}

/// Whether every binary exists and is newer than every source of this crate.
fn fresh(binaries: &[PathBuf]) -> bool {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = ["Cargo.toml", "src", "examples"].map(|p| newest(&crate_dir.join(p)));
    let Some(newest_source) = sources.into_iter().flatten().max() else {
        return false;
    };
    binaries.iter().all(|binary| {
        std::fs::metadata(binary)
            .and_then(|meta| meta.modified())
            .is_ok_and(|built| built > newest_source)
    })
}

/// The latest modification time of a file, or of the files under a directory.
fn newest(path: &Path) -> Option<std::time::SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|entry| newest(&entry.path()))
        .max()
}

/// A function named `name` running the echo example.
pub fn echo(name: &str) -> FunctionSpec {
    FunctionSpec::new(name, echo_bin())
}

/// A runtime builder that keeps the test output quiet unless asked.
pub fn quiet() -> RuntimeBuilder {
    let sink = if std::env::var_os("ECHO_LOGS").is_some() {
        LogSink::Stderr
    } else {
        LogSink::Discard
    };
    Runtime::builder().region("eu-west-1").log_sink(sink)
}

/// Whether `pid` is gone or a zombie: either way it runs nothing any more.
pub fn is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the parenthesised command name, which may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Waits until every pid in `pids` is dead, up to [`PATIENCE`].
pub async fn all_dead(pids: &[u32]) -> bool {
    let waited = tokio::time::timeout(PATIENCE, async {
        while !pids.iter().all(|&pid| is_dead(pid)) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    waited.is_ok()
}
