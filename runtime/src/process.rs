//! Starting, watching and stopping function processes.
//!
//! Cleanup is layered, because each layer misses a case the next one covers:
//!
//! 1. [`Process::kill`] / [`Process::terminate`]: the supervisor stops a process and
//!    reaps it (timeouts, shutdown).
//! 2. [`ChildRegistry::kill_all`]: dropping the `Runtime` kills every live process
//!    synchronously, when no task can be awaited any more.
//! 3. `PR_SET_PDEATHSIG`: the kernel kills a child when the thread that forked it
//!    ends. All children are forked by one [`Spawner`] thread that lives exactly as
//!    long as the `Runtime`, so this also covers a parent that panics, is killed by a
//!    signal, or never runs its destructors.

use std::{
    collections::BTreeMap,
    io,
    path::Path,
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex, PoisonError, atomic::AtomicU64, atomic::Ordering},
    thread,
    time::{Duration, Instant},
};

use tokio::{
    process::{Child, Command},
    sync::{mpsc, oneshot},
};

use crate::{
    FunctionError,
    invocation::ApiEvent,
    logs::{self, LogSink, LogStream},
};

/// Pids of the live children, for killing them from `Drop`.
#[derive(Debug, Default)]
pub(crate) struct ChildRegistry {
    next_key: AtomicU64,
    pids: Mutex<BTreeMap<u64, u32>>,
}

impl ChildRegistry {
    fn add(&self, pid: u32) -> u64 {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(key, pid);
        key
    }

    fn remove(&self, key: u64) {
        self.lock().remove(&key);
    }

    /// Sends `SIGKILL` to every live child and its process group.
    pub fn kill_all(&self) {
        for pid in std::mem::take(&mut *self.lock()).into_values() {
            signal_group(pid, libc::SIGKILL);
        }
    }

    /// The pids of the live children.
    pub fn pids(&self) -> Vec<u32> {
        self.lock().values().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, u32>> {
        self.pids.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sends `signal` to the process group led by `pid` (each child leads its own), which
/// also reaches anything the bootstrap started itself.
fn signal_group(pid: u32, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) has no memory-safety preconditions. The group id is the pid of a
    // child we have not reaped yet, so it cannot have been reused by another process.
    unsafe {
        libc::kill(-pid, signal);
    }
}

struct SpawnRequest {
    command: Command,
    reply: oneshot::Sender<io::Result<Child>>,
}

/// The one thread that forks the function processes (see the module docs for why).
#[derive(Debug)]
pub(crate) struct Spawner {
    tx: Mutex<Option<std::sync::mpsc::Sender<SpawnRequest>>>,
    thread: Mutex<Option<thread::JoinHandle<()>>>,
}

impl Spawner {
    /// Starts the thread. `handle` is the Tokio runtime that will own the children
    /// (their exit is observed through its signal driver).
    pub fn start(handle: tokio::runtime::Handle) -> io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel::<SpawnRequest>();
        let thread = thread::Builder::new()
            .name("stackgen-runtime-spawner".into())
            .spawn(move || {
                let _runtime = handle.enter();
                for mut request in rx {
                    // The caller may have stopped waiting; `kill_on_drop` then ends the child.
                    let _ = request.reply.send(request.command.spawn());
                }
            })?;
        Ok(Self {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    async fn spawn(&self, command: Command) -> io::Result<Child> {
        let (reply, rx) = oneshot::channel();
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|tx| tx.send(SpawnRequest { command, reply }).is_ok());
        if sent != Some(true) {
            return Err(io::Error::other("the runtime is shutting down"));
        }
        rx.await
            .unwrap_or_else(|_| Err(io::Error::other("the spawner thread is gone")))
    }

    /// Ends the thread and waits for it, which makes the kernel kill every child it
    /// forked that is still alive.
    pub fn stop(&self) {
        drop(
            self.tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            // It only ever blocks in `recv` or a short `fork`; a panic there already
            // failed the spawn it was serving.
            let _ = thread.join();
        }
    }
}

impl Drop for Spawner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything needed to start processes of one function instance.
pub(crate) struct Launcher {
    pub spawner: Arc<Spawner>,
    pub registry: Arc<ChildRegistry>,
    pub sink: LogSink,
    pub log_width: usize,
    pub function: Arc<str>,
}

impl Launcher {
    /// Writes a line of the runtime's own about this function to the log sink.
    pub fn note(&self, line: &str) {
        self.sink.emit(
            self.log_width,
            logs::LogLine {
                function: &self.function,
                stream: LogStream::Runtime,
                line,
            },
        );
    }
}

/// What a process did, as seen by its supervisor.
pub(crate) enum ProcessEvent {
    /// It asked for its first event.
    Ready,
    /// It reported an initialisation error.
    InitError(FunctionError),
    /// It exited (or waiting for it failed).
    Exited(String),
}

/// One running `bootstrap`.
pub(crate) struct Process {
    child: Child,
    pid: u32,
    key: u64,
    registry: Arc<ChildRegistry>,
    events: mpsc::UnboundedReceiver<ApiEvent>,
    pub started: Instant,
    reaped: bool,
}

impl Process {
    /// Starts `bootstrap` with exactly `env`; `events` are what its Runtime API reports.
    pub async fn spawn(
        launcher: &Launcher,
        bootstrap: &Path,
        task_root: &Path,
        env: &BTreeMap<String, String>,
        events: mpsc::UnboundedReceiver<ApiEvent>,
    ) -> io::Result<Self> {
        let mut command = Command::new(bootstrap);
        command
            .env_clear()
            .envs(env)
            .current_dir(task_root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own group: a terminal's Ctrl-C goes to the parent only, which then
            // stops the children in order.
            .process_group(0);
        set_parent_death_signal(&mut command);

        let started = Instant::now();
        let mut child = launcher.spawner.spawn(command).await?;
        let Some(pid) = child.id() else {
            return Err(io::Error::other(
                "the process exited before it could be tracked",
            ));
        };
        let key = launcher.registry.add(pid);
        for (reader, stream) in [
            (child.stdout.take().map(boxed), LogStream::Stdout),
            (child.stderr.take().map(boxed), LogStream::Stderr),
        ] {
            if let Some(reader) = reader {
                tokio::spawn(logs::pump(
                    reader,
                    launcher.sink.clone(),
                    launcher.function.clone(),
                    launcher.log_width,
                    stream,
                ));
            }
        }
        Ok(Self {
            child,
            pid,
            key,
            registry: launcher.registry.clone(),
            events,
            started,
            reaped: false,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for the next thing the process does. Cancel-safe.
    pub async fn event(&mut self) -> ProcessEvent {
        tokio::select! {
            biased;
            Some(event) = self.events.recv() => match event {
                ApiEvent::Ready => ProcessEvent::Ready,
                ApiEvent::InitError(error) => ProcessEvent::InitError(error),
            },
            status = self.child.wait() => {
                self.mark_reaped();
                ProcessEvent::Exited(describe_exit(status))
            }
        }
    }

    /// Kills the process group at once and reaps the process.
    pub async fn kill(mut self) {
        self.stop(Duration::ZERO).await;
    }

    /// Asks the process group to stop with `SIGTERM`, then kills it after `grace`.
    pub async fn terminate(mut self, grace: Duration) {
        self.stop(grace).await;
    }

    async fn stop(&mut self, grace: Duration) {
        if self.reaped {
            return;
        }
        if !grace.is_zero() {
            signal_group(self.pid, libc::SIGTERM);
            if tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
                self.mark_reaped();
                return;
            }
        }
        signal_group(self.pid, libc::SIGKILL);
        // SIGKILL cannot be ignored, so this returns promptly.
        let _ = self.child.wait().await;
        self.mark_reaped();
    }

    fn mark_reaped(&mut self) {
        self.reaped = true;
        self.registry.remove(self.key);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if !self.reaped {
            // `kill_on_drop` kills the bootstrap; this also gets what it started.
            signal_group(self.pid, libc::SIGKILL);
            self.registry.remove(self.key);
        }
    }
}

fn boxed(
    reader: impl tokio::io::AsyncRead + Send + Unpin + 'static,
) -> Box<dyn tokio::io::AsyncRead + Send + Unpin> {
    Box::new(reader)
}

fn describe_exit(status: io::Result<ExitStatus>) -> String {
    match status {
        Ok(status) => status.to_string(),
        Err(error) => format!("cannot wait for the process: {error}"),
    }
}

#[cfg(target_os = "linux")]
fn set_parent_death_signal(command: &mut Command) {
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    // SAFETY: the closure runs between fork and exec, where only async-signal-safe
    // calls are allowed: prctl(2) and getppid(2) are, and building an io::Error from
    // an errno does not allocate.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl; no signal would come.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn set_parent_death_signal(_command: &mut Command) {}
