//! The handle callers hold: start functions, invoke them, stop them.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use axum::serve::ListenerExt;
use bytes::Bytes;
use serde::Serialize;
use tokio::{
    net::TcpListener,
    sync::{Mutex, mpsc, oneshot, watch},
    task::JoinHandle,
};

use crate::{
    FunctionSpec, InstanceInfo, InvokeError, InvokeOutcome, LOCAL_ACCOUNT_ID, LogSink,
    MAX_PAYLOAD_BYTES, StartError,
    api::{self, ApiState, ChannelSpec},
    instance::{Instance, Shared},
    invocation::Invocation,
    process::{ChildRegistry, Launcher, Spawner},
};

/// Host variables passed to every process unless [`RuntimeBuilder::inherit_env`]
/// says otherwise: they change diagnostics only, never behaviour against AWS.
const DEFAULT_INHERITED: [&str; 4] = ["PATH", "RUST_LOG", "RUST_BACKTRACE", "RUST_LIB_BACKTRACE"];

/// How long a process may take from start to its first `/next`: Lambda's init limit.
const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`Runtime::shutdown`] waits after `SIGTERM`: Lambda's shutdown phase for
/// a function without extensions.
const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Configures and starts a [`Runtime`].
///
/// ```no_run
/// # async fn demo() -> Result<(), stackgen_runtime::StartError> {
/// use stackgen_runtime::{FunctionSpec, LogSink, Runtime};
///
/// let runtime = Runtime::builder()
///     .region("eu-west-1")
///     .log_sink(LogSink::Stderr)
///     .function(FunctionSpec::new("Echo", "target/debug/examples/echo"))
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `start` is awaited"]
pub struct RuntimeBuilder {
    functions: Vec<FunctionSpec>,
    region: Option<String>,
    sink: LogSink,
    inherit_env: Vec<String>,
    init_timeout: Duration,
    shutdown_grace: Duration,
    eager: bool,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        Self {
            functions: Vec::new(),
            region: None,
            sink: LogSink::default(),
            inherit_env: DEFAULT_INHERITED.map(String::from).to_vec(),
            init_timeout: DEFAULT_INIT_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            eager: true,
        }
    }
}

impl RuntimeBuilder {
    /// Adds a function.
    pub fn function(mut self, spec: FunctionSpec) -> Self {
        self.functions.push(spec);
        self
    }

    /// Adds several functions.
    pub fn functions(mut self, specs: impl IntoIterator<Item = FunctionSpec>) -> Self {
        self.functions.extend(specs);
        self
    }

    /// The region in function ARNs and in `AWS_REGION`. Defaults to the host's
    /// `AWS_REGION`, then `us-east-1`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Where the functions' output goes (default: standard error, prefixed).
    pub fn log_sink(mut self, sink: LogSink) -> Self {
        self.sink = sink;
        self
    }

    /// The host variables passed through to every process (default: `PATH`,
    /// `RUST_LOG`, `RUST_BACKTRACE`, `RUST_LIB_BACKTRACE`). A function's own
    /// variables override them.
    pub fn inherit_env(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.inherit_env = names.into_iter().map(Into::into).collect();
        self
    }

    /// How long a new process may take to ask for its first event (default 10 s,
    /// Lambda's init limit).
    pub fn init_timeout(mut self, timeout: Duration) -> Self {
        self.init_timeout = timeout;
        self
    }

    /// How long [`Runtime::shutdown`] waits between `SIGTERM` and `SIGKILL`
    /// (default 500 ms).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Whether processes start with the runtime (the default, so the first invoke is
    /// warm) or only when their first invocation arrives, as a Lambda cold start.
    pub fn eager(mut self, eager: bool) -> Self {
        self.eager = eager;
        self
    }

    /// Binds a Runtime API listener per instance and starts the supervisors (and,
    /// when eager, the processes). Must run inside a Tokio runtime, which then owns
    /// the processes; nothing is left running if it fails.
    pub async fn start(self) -> Result<Runtime, StartError> {
        let handle =
            tokio::runtime::Handle::try_current().map_err(|_| StartError::NoTokioRuntime)?;
        let mut names = BTreeMap::new();
        let mut functions = Vec::with_capacity(self.functions.len());
        for spec in self.functions {
            let spec = spec.resolve()?;
            if names.insert(spec.name().to_owned(), ()).is_some() {
                return Err(StartError::DuplicateFunction(spec.name().to_owned()));
            }
            functions.push(spec);
        }
        let region = self
            .region
            .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
            .unwrap_or_else(|| "us-east-1".to_owned());
        let log_width = functions.iter().map(|f| f.name().len()).max().unwrap_or(0);

        // Bind everything before starting anything, so a failure leaves nothing behind.
        let mut listeners = Vec::new();
        for spec in &functions {
            let mut bound = Vec::new();
            for _ in 0..spec.processes() {
                let listener = TcpListener::bind(("127.0.0.1", 0))
                    .await
                    .map_err(|source| StartError::Bind {
                        function: spec.name().to_owned(),
                        source,
                    })?;
                let addr = listener.local_addr().map_err(|source| StartError::Bind {
                    function: spec.name().to_owned(),
                    source,
                })?;
                bound.push((listener, addr));
            }
            listeners.push(bound);
        }

        let spawner = Arc::new(Spawner::start(handle).map_err(StartError::Spawner)?);
        let registry = Arc::new(ChildRegistry::default());
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            region: region.clone(),
            inherit_env: self.inherit_env,
            init_timeout: self.init_timeout,
            shutdown_grace: self.shutdown_grace,
            eager: self.eager,
        });

        let specs = functions;
        let mut functions = BTreeMap::new();
        let mut supervisors = Vec::new();
        let mut servers = Vec::new();
        for (spec, bound) in specs.into_iter().zip(listeners) {
            let spec = Arc::new(spec);
            let arn = format!(
                "arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{}",
                spec.name()
            );
            let (queue_tx, queue_rx) = mpsc::unbounded_channel();
            let queue = Arc::new(Mutex::new(queue_rx));
            let (reload, _) = watch::channel(0);
            let mut instances = Vec::new();
            for (listener, addr) in bound {
                let (info, info_rx) = watch::channel(InstanceInfo::new(addr));
                instances.push(info_rx);
                let channel_spec = ChannelSpec {
                    function: Arc::from(spec.name()),
                    timeout: spec.timeout_duration(),
                    queue: queue.clone(),
                    requeue: queue_tx.clone(),
                };
                let api = ApiState::new(&arn, channel_spec, info);
                let mut stop = shutdown.subscribe();
                let listener = listener.tap_io(|stream| {
                    // Without it a small response can wait for the peer's delayed ACK.
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!(%error, "cannot set TCP_NODELAY");
                    }
                });
                let router = api::router(api.clone());
                servers.push(tokio::spawn(async move {
                    let served = axum::serve(listener, router)
                        .with_graceful_shutdown(async move {
                            let _ = stop.wait_for(|stop| *stop).await;
                        })
                        .await;
                    if let Err(error) = served {
                        tracing::error!(%error, "runtime API server failed");
                    }
                }));
                let instance = Instance {
                    spec: spec.clone(),
                    shared: shared.clone(),
                    api,
                    addr,
                    launcher: Launcher {
                        spawner: spawner.clone(),
                        registry: registry.clone(),
                        sink: self.sink.clone(),
                        log_width,
                        function: Arc::from(spec.name()),
                    },
                    queue: queue.clone(),
                    shutdown: shutdown.subscribe(),
                    reload: reload.subscribe(),
                    stale: false,
                };
                supervisors.push(tokio::spawn(instance.run()));
            }
            functions.insert(
                spec.name().to_owned(),
                Function {
                    queue: queue_tx,
                    instances,
                    reload,
                },
            );
        }

        Ok(Runtime {
            functions,
            region,
            shutdown,
            supervisors: std::sync::Mutex::new(supervisors),
            servers: std::sync::Mutex::new(servers),
            spawner,
            registry,
        })
    }
}

/// A set of functions running locally behind the Lambda Runtime API.
///
/// Invoke them with [`Runtime::invoke`] from any task (it takes `&self`; share the
/// runtime in an `Arc`). Stop them with [`Runtime::shutdown`], or by dropping the
/// runtime, which kills every process at once.
#[derive(Debug)]
pub struct Runtime {
    functions: BTreeMap<String, Function>,
    region: String,
    shutdown: watch::Sender<bool>,
    supervisors: std::sync::Mutex<Vec<JoinHandle<()>>>,
    servers: std::sync::Mutex<Vec<JoinHandle<()>>>,
    spawner: Arc<Spawner>,
    registry: Arc<ChildRegistry>,
}

#[derive(Debug)]
struct Function {
    queue: mpsc::UnboundedSender<Invocation>,
    instances: Vec<watch::Receiver<InstanceInfo>>,
    /// Counts the reloads asked for; each supervisor watches it.
    reload: watch::Sender<u64>,
}

impl Runtime {
    /// A builder with the defaults.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// Starts `functions` with the defaults (see [`RuntimeBuilder`]).
    pub async fn start(
        functions: impl IntoIterator<Item = FunctionSpec>,
    ) -> Result<Self, StartError> {
        Self::builder().functions(functions).start().await
    }

    /// Invokes `function` with `payload` serialized as JSON, and waits for it to
    /// finish. Invocations of one function run one at a time per process, in the
    /// order they were made; the timeout counts from when the process takes the
    /// event.
    ///
    /// `Ok` means the function ran to the end: its response or the error it
    /// returned. `Err` means it did not (see [`InvokeError`]).
    pub async fn invoke<T: Serialize + ?Sized>(
        &self,
        function: &str,
        payload: &T,
    ) -> Result<InvokeOutcome, InvokeError> {
        let payload = serde_json::to_vec(payload).map_err(InvokeError::Payload)?;
        self.invoke_bytes(function, Bytes::from(payload)).await
    }

    /// Like [`Runtime::invoke`], for a payload that is already JSON text.
    pub async fn invoke_bytes(
        &self,
        function: &str,
        payload: Bytes,
    ) -> Result<InvokeOutcome, InvokeError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(InvokeError::PayloadTooLarge {
                size: payload.len(),
                limit: MAX_PAYLOAD_BYTES,
            });
        }
        let target = self
            .functions
            .get(function)
            .ok_or_else(|| InvokeError::UnknownFunction(function.to_owned()))?;
        let (reply, rx) = oneshot::channel();
        target
            .queue
            .send(Invocation { payload, reply })
            .map_err(|_| InvokeError::ShutDown)?;
        rx.await.unwrap_or(Err(InvokeError::ShutDown))
    }

    /// The names of the functions, sorted.
    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }

    /// The region in the functions' ARNs and environment.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// What each instance of `function` is doing, or `None` for an unknown name.
    pub fn instances(&self, function: &str) -> Option<Vec<InstanceInfo>> {
        let target = self.functions.get(function)?;
        Some(
            target
                .instances
                .iter()
                .map(|rx| rx.borrow().clone())
                .collect(),
        )
    }

    /// Waits until every instance of `function` has a process that asked for its
    /// first event, and returns their state; `None` for an unknown name or when
    /// `timeout` passes first. Only meaningful for an eager runtime, or after an
    /// invocation.
    pub async fn wait_ready(&self, function: &str, timeout: Duration) -> Option<Vec<InstanceInfo>> {
        let target = self.functions.get(function)?;
        let all = async {
            for rx in &target.instances {
                let mut rx = rx.clone();
                rx.wait_for(|info| info.ready).await.ok()?;
            }
            Some(())
        };
        tokio::time::timeout(timeout, all).await.ok()??;
        self.instances(function)
    }

    /// Replaces every function's processes with new ones started from their
    /// bootstraps, to run binaries rebuilt since they started. Returns at once; the
    /// replacement never fails an invocation:
    ///
    /// - an idle process is replaced now (for a lazy runtime, the new one starts
    ///   with the next invocation);
    /// - a busy one finishes its invocation, takes no other, and is replaced right
    ///   after it answers; queued invocations go to the new process;
    /// - an instance left without a process by an init failure tries the bootstrap
    ///   again (once, if the runtime is eager), and a new bootstrap that fails its
    ///   init fails like any other.
    pub fn reload(&self) {
        for function in self.functions.values() {
            function.reload.send_modify(|generation| *generation += 1);
        }
    }

    /// Like [`Runtime::reload`], for the processes of `function` only; `false` for an
    /// unknown name.
    pub fn reload_function(&self, function: &str) -> bool {
        let Some(target) = self.functions.get(function) else {
            return false;
        };
        target.reload.send_modify(|generation| *generation += 1);
        true
    }

    /// The pids of all live function processes.
    pub fn pids(&self) -> Vec<u32> {
        self.registry.pids()
    }

    /// Stops every process (`SIGTERM`, then `SIGKILL` after the grace period), fails
    /// queued and running invocations with [`InvokeError::ShutDown`], and closes the
    /// listeners. Takes `&self` so a runtime shared by several tasks can be stopped
    /// by any of them; later calls, and invokes after it, find nothing to do.
    pub async fn shutdown(&self) {
        self.shutdown.send_replace(true);
        for supervisor in take(&self.supervisors) {
            let _ = supervisor.await;
        }
        // Connections close as their processes die; do not wait on a stuck one.
        for server in take(&self.servers) {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(1), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        self.spawner.stop();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        self.registry.kill_all();
        for task in take(&self.supervisors)
            .into_iter()
            .chain(take(&self.servers))
        {
            task.abort();
        }
        self.spawner.stop();
    }
}

fn take(tasks: &std::sync::Mutex<Vec<JoinHandle<()>>>) -> Vec<JoinHandle<()>> {
    std::mem::take(
        &mut *tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}
