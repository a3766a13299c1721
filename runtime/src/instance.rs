//! The supervisor of one function instance: one listener, at most one process at a
//! time, one invocation at a time.
//!
//! The Runtime API handlers run invocations on their own (see [`crate::api`]); the
//! supervisor handles everything else, in one `select!` loop:
//!
//! - the process's first `/next` marks the end of its init (and its init time);
//! - an init error, an exit, or no `/next` within the init timeout ends the process,
//!   failing the invocation it was started for, if any, with [`InvokeError::Init`];
//! - the pending invocation's deadline: when it passes, the caller gets
//!   [`InvokeError::Timeout`] and the process is replaced, as Lambda discards a
//!   timed-out sandbox;
//! - an exit during an invocation gives [`InvokeError::Exited`], and a replacement;
//! - with no process (lazy start, or after an init failure), the next queued
//!   invocation starts one and is carried to it;
//! - a reload (a new generation on the reload channel, after a rebuild) replaces the
//!   process with one started from the bootstrap again: at once when it is idle,
//!   right after it answers when it is busy (it takes no further invocation
//!   meanwhile). Lazy instances start the new process when the next invocation comes.
//!
//! A process that fails during an invocation is replaced at once, so the next invoke
//! finds a warm process; one that fails to initialise is replaced only when the next
//! invocation arrives, so a broken bootstrap never spins in a restart loop.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{sync::watch, time::Instant};

use crate::{
    FunctionError, InvokeError, InvokeOutcome,
    api::{ApiState, Pending, ProcessChannels},
    invocation::{Invocation, Queue},
    process::{Launcher, Process, ProcessEvent},
    spec::{EnvContext, FunctionSpec},
};

/// What one instance of a function is doing, for callers that report on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    /// The `AWS_LAMBDA_RUNTIME_API` address its processes talk to.
    pub runtime_api: SocketAddr,
    /// The pid of its current process, if one is running.
    pub pid: Option<u32>,
    /// Whether the current process has asked for its first event.
    pub ready: bool,
    /// Whether the current process is handling an invocation.
    pub busy: bool,
    /// How long the current process took from being started to its first `/next`.
    pub init_duration: Option<Duration>,
    /// How many processes this instance has started.
    pub starts: u32,
    /// How many invocations it has completed, successfully or not.
    pub invocations: u64,
}

impl InstanceInfo {
    pub(crate) fn new(runtime_api: SocketAddr) -> Self {
        Self {
            runtime_api,
            pid: None,
            ready: false,
            busy: false,
            init_duration: None,
            starts: 0,
            invocations: 0,
        }
    }
}

/// Settings every instance shares.
pub(crate) struct Shared {
    pub region: String,
    pub inherit_env: Vec<String>,
    pub init_timeout: Duration,
    pub shutdown_grace: Duration,
    pub eager: bool,
}

pub(crate) struct Instance {
    pub spec: Arc<FunctionSpec>,
    pub shared: Arc<Shared>,
    pub api: Arc<ApiState>,
    pub addr: SocketAddr,
    pub launcher: Launcher,
    pub queue: Queue,
    pub shutdown: watch::Receiver<bool>,
    /// A new value asks for the process to be replaced (see [`crate::Runtime::reload`]).
    pub reload: watch::Receiver<u64>,
    /// Whether a reload was asked for since the current process started.
    pub stale: bool,
}

/// The running process and the API state that belongs to it.
struct Current {
    process: Process,
    channels: Arc<ProcessChannels>,
    ready: bool,
}

impl Instance {
    pub async fn run(mut self) {
        let mut reload = self.reload.clone();
        let mut current = None;
        if self.shared.eager {
            current = self.start(None).await;
        }
        loop {
            let channels = current.as_ref().map(|c: &Current| c.channels.clone());
            let init_deadline = current
                .as_ref()
                .filter(|c| !c.ready)
                .map(|c| Instant::from_std(c.process.started) + self.shared.init_timeout);
            tokio::select! {
                biased;
                () = self.stopping() => break,
                event = event_of(&mut current) => self.on_event(&mut current, event).await,
                () = sleep_until(init_deadline) => self.on_init_timeout(&mut current).await,
                () = deadline_passed(channels.as_deref()) => self.on_deadline(&mut current).await,
                // Checked again below; the stale process may have answered.
                () = answered(channels.as_deref()), if self.stale => {}
                changed = reload.changed() => match changed {
                    Ok(()) => self.stale = true,
                    // The runtime is gone.
                    Err(_) => break,
                },
                invocation = self.next_queued(), if current.is_none() => match invocation {
                    Some(invocation) => current = self.start(Some(invocation)).await,
                    None => break,
                },
            }
            if self.stale && !*self.shutdown.borrow() {
                self.reload_if_idle(&mut current).await;
            }
        }
        self.stop(current).await;
    }

    /// Replaces a process started before the last reload, unless it is handling an
    /// invocation: then it is told to take no other, and this runs again once it
    /// has answered.
    async fn reload_if_idle(&mut self, current: &mut Option<Current>) {
        let Some(c) = current.as_ref() else {
            // Nothing to replace; an eager instance (here after an init failure)
            // tries the new bootstrap now, once, a lazy one at its next invocation.
            self.stale = false;
            if self.shared.eager {
                *current = self.start(None).await;
            }
            return;
        };
        let Some(carried) = c.channels.close_if_idle() else {
            c.channels.drain();
            return;
        };
        tracing::debug!(function = %self.spec.name(), pid = c.process.pid(), "reloading");
        self.discard(current).await;
        self.stale = false;
        if carried.is_some() || self.shared.eager {
            *current = self.start(carried).await;
        }
    }

    async fn on_event(&mut self, current: &mut Option<Current>, event: ProcessEvent) {
        match event {
            ProcessEvent::Ready => {
                let Some(c) = current.as_mut() else { return };
                c.ready = true;
                let init = c.process.started.elapsed();
                tracing::debug!(function = %self.spec.name(), pid = c.process.pid(), ?init, "ready");
                self.api.info.send_modify(|info| {
                    info.ready = true;
                    info.init_duration = Some(init);
                });
            }
            ProcessEvent::InitError(error) => {
                self.note(format!("init failed: {error}"));
                let carried = self.discard(current).await.1;
                self.fail_init(carried, error);
            }
            ProcessEvent::Exited(status) => {
                let Some(c) = current.take() else { return };
                let (pending, carried) = c.channels.close_and_take();
                let was_ready = c.ready;
                drop(c);
                self.forget();
                if let Some(pending) = pending {
                    self.note(format!(
                        "RequestId: {} runtime exited with error: {status}; starting a new process",
                        pending.request_id
                    ));
                    let error = InvokeError::Exited {
                        function: self.spec.name().to_owned(),
                        request_id: pending.request_id.clone(),
                        status,
                    };
                    self.answer(pending, Err(error));
                    *current = self.restart().await;
                } else if carried.is_some() || !was_ready {
                    self.note(format!("init failed: runtime exited with error: {status}"));
                    let error = FunctionError::new(
                        "Runtime.ExitError",
                        format!("Error: Runtime exited with error: {status}"),
                    );
                    self.fail_init(carried, error);
                } else {
                    self.note(format!(
                        "runtime exited with error: {status} while idle; the next invocation starts a new process"
                    ));
                }
            }
        }
    }

    async fn on_init_timeout(&mut self, current: &mut Option<Current>) {
        let seconds = self.shared.init_timeout.as_secs_f64();
        self.note(format!(
            "init failed: no request for an event within {seconds:.2} seconds"
        ));
        let carried = self.discard(current).await.1;
        let error = FunctionError::new(
            "Sandbox.Timedout",
            format!(
                "Error: the process did not ask for an event within {seconds:.2} seconds of starting"
            ),
        );
        self.fail_init(carried, error);
    }

    async fn on_deadline(&mut self, current: &mut Option<Current>) {
        let Some(c) = current.as_ref() else { return };
        // The answer may have won the race; then there is nothing to do.
        let Some(pending) = c.channels.take_expired(Instant::now()) else {
            return;
        };
        let timeout = self.spec.timeout_duration();
        self.note(format!(
            "RequestId: {} Task timed out after {:.2} seconds; starting a new process",
            pending.request_id,
            timeout.as_secs_f64()
        ));
        let error = InvokeError::Timeout {
            function: self.spec.name().to_owned(),
            request_id: pending.request_id.clone(),
            timeout,
        };
        self.answer(pending, Err(error));
        self.discard(current).await;
        *current = self.restart().await;
    }

    /// Starts a process, with `carried` reserved for its first `/next`.
    async fn start(&mut self, carried: Option<Invocation>) -> Option<Current> {
        // Whatever started it, the new process runs the bootstrap as it is now.
        self.stale = false;
        let runtime_api = self.addr.to_string();
        let log_stream = log_stream_name();
        let env = self.spec.process_env(&EnvContext {
            region: &self.shared.region,
            runtime_api: &runtime_api,
            log_stream: &log_stream,
            inherit: &self.shared.inherit_env,
        });
        let (channels, events) = self.api.replace_process();
        if let Some(invocation) = carried {
            channels.carry(invocation);
        }
        let spawned = Process::spawn(
            &self.launcher,
            self.spec.bootstrap(),
            &self.spec.task_root(),
            &env,
            events,
        )
        .await;
        match spawned {
            Ok(process) => {
                tracing::debug!(function = %self.spec.name(), pid = process.pid(), "started");
                self.api.info.send_modify(|info| {
                    info.pid = Some(process.pid());
                    info.ready = false;
                    info.busy = false;
                    info.init_duration = None;
                    info.starts += 1;
                });
                Some(Current {
                    process,
                    channels,
                    ready: false,
                })
            }
            Err(source) => {
                self.note(format!(
                    "cannot start {}: {source}",
                    self.spec.bootstrap().display()
                ));
                let (_, carried) = channels.close_and_take();
                if let Some(invocation) = carried {
                    let _ = invocation.reply.send(Err(InvokeError::Spawn {
                        function: self.spec.name().to_owned(),
                        path: self.spec.bootstrap().to_path_buf(),
                        source,
                    }));
                }
                None
            }
        }
    }

    /// Starts a replacement after a failure during an invocation, unless stopping.
    async fn restart(&mut self) -> Option<Current> {
        if *self.shutdown.borrow() {
            return None;
        }
        self.start(None).await
    }

    /// Closes the current process's API, kills it, and returns what it held.
    async fn discard(
        &mut self,
        current: &mut Option<Current>,
    ) -> (Option<Pending>, Option<Invocation>) {
        let Some(c) = current.take() else {
            return (None, None);
        };
        let held = c.channels.close_and_take();
        c.process.kill().await;
        self.forget();
        held
    }

    /// Tells the user what happened to the function, in its log stream, as Lambda
    /// writes timeouts and runtime exits to the function's log group.
    fn note(&self, line: String) {
        tracing::debug!(function = %self.spec.name(), "{line}");
        self.launcher.note(&line);
    }

    /// Records that no process is running.
    fn forget(&self) {
        self.api.info.send_modify(|info| {
            info.pid = None;
            info.ready = false;
            info.busy = false;
        });
    }

    /// Fails the invocation a process was started for, if it had not taken it yet.
    fn fail_init(&self, carried: Option<Invocation>, error: FunctionError) {
        if let Some(invocation) = carried {
            self.count();
            let _ = invocation.reply.send(Err(InvokeError::Init {
                function: self.spec.name().to_owned(),
                error,
            }));
        }
    }

    fn answer(&self, pending: Pending, result: Result<InvokeOutcome, InvokeError>) {
        self.count();
        let _ = pending.reply.send(result);
    }

    fn count(&self) {
        self.api.info.send_modify(|info| {
            info.invocations += 1;
            info.busy = false;
        });
    }

    /// Ends the process and fails everything still waiting on this instance.
    async fn stop(&mut self, current: Option<Current>) {
        if let Some(c) = current {
            let (pending, carried) = c.channels.close_and_take();
            if let Some(pending) = pending {
                let _ = pending.reply.send(Err(InvokeError::ShutDown));
            }
            if let Some(invocation) = carried {
                let _ = invocation.reply.send(Err(InvokeError::ShutDown));
            }
            c.process.terminate(self.shared.shutdown_grace).await;
        }
        self.forget();
        // Every instance closes its process's API first, so no `/next` keeps the
        // queue locked for long; the bound is for a stuck one all the same.
        if let Ok(mut queue) = tokio::time::timeout(Duration::from_secs(1), self.queue.lock()).await
        {
            queue.close();
            while let Ok(invocation) = queue.try_recv() {
                let _ = invocation.reply.send(Err(InvokeError::ShutDown));
            }
        }
    }

    /// Completes when shutdown is requested. Owns its receiver, so it borrows nothing
    /// from `self` while a `select!` branch body needs `&mut self`.
    fn stopping(&self) -> impl Future<Output = ()> + use<> {
        let mut rx = self.shutdown.clone();
        async move {
            // An error means the runtime is gone, which is a shutdown too.
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }

    /// The next queued invocation; `None` once the queue is closed.
    fn next_queued(&self) -> impl Future<Output = Option<Invocation>> + use<> {
        let queue = self.queue.clone();
        async move { queue.lock().await.recv().await }
    }
}

/// The next event of the current process, or never if there is none.
async fn event_of(current: &mut Option<Current>) -> ProcessEvent {
    match current {
        Some(c) => c.process.event().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Completes when `channels`' process answers an invocation, or never if there is
/// no process.
async fn answered(channels: Option<&ProcessChannels>) {
    match channels {
        Some(channels) => channels.finished.notified().await,
        None => std::future::pending().await,
    }
}

/// Completes when the pending invocation of `channels` is past its deadline.
///
/// It sleeps until the deadline of whatever is pending and re-checks, and waits for
/// the `started` notification only when nothing is pending. Under a steady stream of
/// invocations the supervisor thus wakes about once per timeout, not once per invoke.
async fn deadline_passed(channels: Option<&ProcessChannels>) {
    let Some(channels) = channels else {
        return std::future::pending().await;
    };
    loop {
        match channels.pending_deadline() {
            Some(deadline) if deadline <= Instant::now() => return,
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => channels.started.notified().await,
        }
    }
}

/// A log stream name shaped like Lambda's: `YYYY/MM/DD/[$LATEST]<32 hex digits>`.
fn log_stream_name() -> String {
    let today = time::OffsetDateTime::now_utc().date();
    format!(
        "{:04}/{:02}/{:02}/[$LATEST]{}",
        today.year(),
        u8::from(today.month()),
        today.day(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_stream_names_have_lambdas_shape() {
        let name = log_stream_name();
        assert_eq!(name.len(), "2026/01/01/[$LATEST]".len() + 32, "{name}");
        assert!(name.contains("/[$LATEST]"));
    }
}
