//! The supervisor of one function instance: one listener, at most one process at a
//! time, one invocation at a time.
//!
//! The loop has three phases, each a `select!` that also watches for shutdown and for
//! the process exiting:
//!
//! 1. **Idle**: wait for an invocation from the function's queue, recording the
//!    process's `/next` when it comes (that is the end of its init).
//! 2. **Ready**: make sure a process is running and has asked for an event, starting
//!    one if needed; an init error, an exit or the init timeout fails the invocation.
//! 3. **Busy**: hand the event over and wait for `/response` or `/error`, the
//!    deadline, or the process's exit.
//!
//! A process that fails during an invocation (timeout, exit) is replaced at once, so
//! the next invoke finds a warm process; one that fails to initialise is replaced only
//! when the next invocation arrives, so a broken bootstrap does not spin.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use tokio::sync::{Mutex, mpsc, oneshot, watch};

use crate::{
    FunctionError, InvokeError, InvokeOutcome, MAX_PAYLOAD_BYTES,
    api::{ApiState, Completion, NextEvent, Pending},
    process::{Launcher, Process, ProcessEvent},
    spec::{EnvContext, FunctionSpec},
};

/// An invocation waiting in a function's queue.
pub(crate) struct Invocation {
    pub payload: Bytes,
    pub reply: oneshot::Sender<Result<InvokeOutcome, InvokeError>>,
}

/// A function's queue, drained by all of its instances.
pub(crate) type Queue = Arc<Mutex<mpsc::UnboundedReceiver<Invocation>>>;

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
    pub info: watch::Sender<InstanceInfo>,
}

/// Why the ready phase gave up on the invocation it held.
enum NotReady {
    /// The invocation was answered (with an error); take the next one.
    Answered,
    /// The runtime is shutting down.
    Shutdown(Invocation),
}

impl Instance {
    pub async fn run(mut self) {
        let mut process = None;
        if self.shared.eager {
            process = self.start_process().await.ok();
        }
        let mut carried: Option<Invocation> = None;
        loop {
            let invocation = match carried.take() {
                Some(invocation) => invocation,
                None => match self.idle(&mut process).await {
                    Some(invocation) => invocation,
                    None => break,
                },
            };
            if invocation.reply.is_closed() {
                // The caller gave up while the invocation was queued.
                continue;
            }
            let waiter = match self.ready(&mut process, invocation).await {
                Ok(ready) => ready,
                Err(NotReady::Answered) => continue,
                Err(NotReady::Shutdown(invocation)) => {
                    let _ = invocation.reply.send(Err(InvokeError::ShutDown));
                    break;
                }
            };
            let (waiter, invocation) = waiter;
            match self.busy(&mut process, waiter, invocation).await {
                Busy::Done => {}
                Busy::Retry(invocation) => carried = Some(invocation),
                Busy::Shutdown => break,
            }
        }
        if let Some(invocation) = carried {
            let _ = invocation.reply.send(Err(InvokeError::ShutDown));
        }
        if let Some(process) = process {
            process.terminate(self.shared.shutdown_grace).await;
        }
        self.info.send_modify(|info| {
            info.pid = None;
            info.ready = false;
        });
    }

    /// Phase 1: wait for work. `None` means shut down.
    async fn idle(&mut self, process: &mut Option<Process>) -> Option<Invocation> {
        loop {
            let queue = self.queue.clone();
            tokio::select! {
                biased;
                _ = self.stopping() => return None,
                event = event_of(process) => self.on_idle_event(process, event).await,
                invocation = async { queue.lock().await.recv().await } => return invocation,
            }
        }
    }

    async fn on_idle_event(&mut self, process: &mut Option<Process>, event: ProcessEvent) {
        match event {
            ProcessEvent::Next(waiter) => self.mark_ready(process, waiter),
            ProcessEvent::InitError(error) => {
                tracing::warn!(function = %self.spec.name(), error.type = %error.error_type, error.message = %error.error_message, "init failed; retrying at the next invocation");
                self.discard(process).await;
            }
            ProcessEvent::Exited(status) => {
                tracing::warn!(function = %self.spec.name(), %status, "process exited while idle; starting a new one at the next invocation");
                self.forget(process);
            }
        }
    }

    /// Phase 2: a process that has asked for an event, or the invocation answered.
    async fn ready(
        &mut self,
        process: &mut Option<Process>,
        invocation: Invocation,
    ) -> Result<(oneshot::Sender<NextEvent>, Invocation), NotReady> {
        if process.is_none() {
            match self.start_process().await {
                Ok(started) => *process = Some(started),
                Err(error) => {
                    let _ = invocation.reply.send(Err(error));
                    return Err(NotReady::Answered);
                }
            }
        }
        let init_deadline = tokio::time::Instant::now() + self.shared.init_timeout;
        loop {
            if let Some(waiter) = process.as_mut().and_then(|p| p.waiter.take()) {
                if !waiter.is_closed() {
                    return Ok((waiter, invocation));
                }
                // That `/next` connection is gone; the process will ask again.
                continue;
            }
            let failure = tokio::select! {
                biased;
                _ = self.stopping() => return Err(NotReady::Shutdown(invocation)),
                event = event_of(process) => match event {
                    ProcessEvent::Next(waiter) => {
                        self.mark_ready(process, waiter);
                        continue;
                    }
                    ProcessEvent::InitError(error) => {
                        self.discard(process).await;
                        error
                    }
                    ProcessEvent::Exited(status) => {
                        self.forget(process);
                        FunctionError::new(
                            "Runtime.ExitError",
                            format!("Error: Runtime exited with error: {status}"),
                        )
                    }
                },
                _ = tokio::time::sleep_until(init_deadline) => {
                    self.discard(process).await;
                    FunctionError::new(
                        "Sandbox.Timedout",
                        format!(
                            "Error: the process did not ask for an event within {:.2} seconds of starting",
                            self.shared.init_timeout.as_secs_f64()
                        ),
                    )
                }
            };
            tracing::warn!(function = %self.spec.name(), error.type = %failure.error_type, error.message = %failure.error_message, "init failed");
            self.count_invocation();
            let _ = invocation.reply.send(Err(InvokeError::Init {
                function: self.spec.name().to_owned(),
                error: failure,
            }));
            return Err(NotReady::Answered);
        }
    }

    /// Phase 3: run the invocation on the process.
    async fn busy(
        &mut self,
        process: &mut Option<Process>,
        waiter: oneshot::Sender<NextEvent>,
        invocation: Invocation,
    ) -> Busy {
        let Some(proc_ref) = process.as_mut() else {
            return Busy::Retry(invocation);
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let timeout = self.spec.timeout_duration();
        let deadline = tokio::time::Instant::now() + timeout;
        let (done_tx, mut done_rx) = oneshot::channel();
        *proc_ref
            .channels
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Pending {
            request_id: request_id.clone(),
            done: done_tx,
        });
        let event = NextEvent {
            request_id: request_id.clone(),
            deadline_ms: epoch_millis(SystemTime::now() + timeout),
            trace_id: trace_id(),
            payload: invocation.payload.clone(),
        };
        if waiter.send(event).is_err() {
            // The `/next` went away between the check and the send; the process is
            // either asking again or dying, and the next round finds out which.
            proc_ref.channels.take_pending(None);
            return Busy::Retry(invocation);
        }
        self.info.send_modify(|info| info.busy = true);

        let function = self.spec.name().to_owned();
        let result = loop {
            tokio::select! {
                biased;
                completion = &mut done_rx => break match completion {
                    Ok(completion) => self.outcome(completion),
                    Err(_) => Err(InvokeError::ShutDown),
                },
                event = event_of(process) => match event {
                    ProcessEvent::Next(waiter) => {
                        // A `/next` before the answer breaks the protocol; park it so the
                        // process gets its next event once this one is settled.
                        if let Some(p) = process.as_mut() {
                            p.waiter = Some(waiter);
                        }
                    }
                    ProcessEvent::InitError(error) => {
                        tracing::warn!(%function, error.type = %error.error_type, "init error reported during an invocation; ignored");
                    }
                    ProcessEvent::Exited(status) => {
                        self.forget(process);
                        // An answer posted just before the exit still counts.
                        let result = match done_rx.try_recv() {
                            Ok(completion) => self.outcome(completion),
                            Err(_) => Err(InvokeError::Exited { function: function.clone(), request_id: request_id.clone(), status }),
                        };
                        self.restart(process).await;
                        break result;
                    }
                },
                _ = tokio::time::sleep_until(deadline) => {
                    let pending = process.as_ref().and_then(|p| p.channels.take_pending(None));
                    if pending.is_none() {
                        // The answer was taken just now and is on its way: it won the race.
                        break match (&mut done_rx).await {
                            Ok(completion) => self.outcome(completion),
                            Err(_) => Err(InvokeError::ShutDown),
                        };
                    }
                    tracing::warn!(%function, %request_id, ?timeout, "invocation timed out; replacing the process");
                    self.discard(process).await;
                    self.restart(process).await;
                    break Err(InvokeError::Timeout { function: function.clone(), request_id: request_id.clone(), timeout });
                }
                _ = self.stopping() => {
                    let _ = invocation.reply.send(Err(InvokeError::ShutDown));
                    return Busy::Shutdown;
                }
            }
        };
        self.count_invocation();
        let _ = invocation.reply.send(result);
        Busy::Done
    }

    fn outcome(&self, completion: Completion) -> Result<InvokeOutcome, InvokeError> {
        let invalid = |error_type: &str, message: String| InvokeError::InvalidResponse {
            function: self.spec.name().to_owned(),
            error: FunctionError::new(error_type, message),
        };
        match completion {
            Completion::Error(error) => Ok(InvokeOutcome::Error(error)),
            Completion::TooLarge(size) => Err(invalid(
                "Function.ResponseSizeTooLarge",
                format!(
                    "Response payload size ({size} bytes) exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."
                ),
            )),
            Completion::Response(body) => match serde_json::from_slice(&body) {
                Ok(value) => Ok(InvokeOutcome::Response(value)),
                Err(error) => Err(invalid(
                    "Runtime.InvalidResponse",
                    format!("the response is not JSON: {error}"),
                )),
            },
        }
    }

    async fn start_process(&mut self) -> Result<Process, InvokeError> {
        let runtime_api = self.addr.to_string();
        let log_stream = log_stream_name();
        let env = self.spec.process_env(&EnvContext {
            region: &self.shared.region,
            runtime_api: &runtime_api,
            log_stream: &log_stream,
            inherit: &self.shared.inherit_env,
        });
        let channels = self.api.replace_process();
        let spawned = Process::spawn(
            &self.launcher,
            self.spec.bootstrap(),
            &self.spec.task_root(),
            &env,
            channels,
        )
        .await;
        match spawned {
            Ok(process) => {
                tracing::debug!(function = %self.spec.name(), pid = process.pid(), "started");
                self.info.send_modify(|info| {
                    info.pid = Some(process.pid());
                    info.ready = false;
                    info.init_duration = None;
                    info.starts += 1;
                });
                Ok(process)
            }
            Err(source) => {
                tracing::error!(function = %self.spec.name(), error = %source, "cannot start the process");
                Err(InvokeError::Spawn {
                    function: self.spec.name().to_owned(),
                    path: self.spec.bootstrap().to_path_buf(),
                    source,
                })
            }
        }
    }

    /// Starts a replacement after a failure during an invocation, unless shutting down.
    async fn restart(&mut self, process: &mut Option<Process>) {
        if !*self.shutdown.borrow() {
            *process = self.start_process().await.ok();
        }
    }

    fn mark_ready(&mut self, process: &mut Option<Process>, waiter: oneshot::Sender<NextEvent>) {
        let Some(p) = process.as_mut() else { return };
        if p.ready_at.is_none() {
            let now = Instant::now();
            p.ready_at = Some(now);
            let init = now.duration_since(p.started);
            tracing::debug!(function = %self.spec.name(), pid = p.pid(), ?init, "ready");
            self.info.send_modify(|info| {
                info.ready = true;
                info.init_duration = Some(init);
            });
        }
        p.waiter = Some(waiter);
    }

    /// Kills the current process.
    async fn discard(&mut self, process: &mut Option<Process>) {
        if let Some(p) = process.take() {
            p.kill().await;
        }
        self.forget(process);
    }

    /// Forgets a process that is gone.
    fn forget(&mut self, process: &mut Option<Process>) {
        *process = None;
        self.info.send_modify(|info| {
            info.pid = None;
            info.ready = false;
        });
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

    fn count_invocation(&self) {
        self.info.send_modify(|info| {
            info.invocations += 1;
            info.busy = false;
        });
    }
}

enum Busy {
    Done,
    Retry(Invocation),
    Shutdown,
}

/// The next event of the process, or never if there is none.
async fn event_of(process: &mut Option<Process>) -> ProcessEvent {
    match process {
        Some(p) => p.event().await,
        None => std::future::pending().await,
    }
}

fn epoch_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// An X-Ray trace header in the format Lambda sends, with fresh random ids.
fn trace_id() -> String {
    let epoch = epoch_millis(SystemTime::now()) / 1000;
    let random = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{epoch:08x}-{};Parent={};Sampled=0",
        &random[..24],
        &parent[..16]
    )
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
    fn trace_ids_have_lambdas_shape() {
        let id = trace_id();
        let (root, parent) = id.split_once(';').unwrap();
        let root = root.strip_prefix("Root=1-").unwrap();
        let (time, random) = root.split_once('-').unwrap();
        assert_eq!(time.len(), 8);
        assert_eq!(random.len(), 24);
        assert!(parent.starts_with("Parent="));
        assert!(id.ends_with(";Sampled=0"));
    }

    #[test]
    fn log_stream_names_have_lambdas_shape() {
        let name = log_stream_name();
        assert_eq!(name.len(), "2026/01/01/[$LATEST]".len() + 32, "{name}");
        assert!(name.contains("/[$LATEST]"));
    }
}
