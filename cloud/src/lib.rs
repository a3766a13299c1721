//! The local cloud: the whole app from the checked app model on one machine, with the real
//! handler binaries, without AWS or Docker (`stackgen-cloud local`, `stackgen-cloud invoke`).
//!
//! Its own crate so the generator (`stackgen`) stays free of the AWS SDK, the HTTP stack and
//! the async runtime: it depends on `stackgen`'s [`App`], never the other way.
//!
//! One module per job: [`endpoint`] (the AWS endpoint: ours or the caller's),
//! [`resources`] (what the model declares, created there), [`functions`] (the handler
//! binaries and their environment), [`triggers`] (queues and rules invoking functions),
//! [`gateway`] (the REST APIs), [`watch`] (rebuilding and reloading the functions when
//! their sources change); this module wires them together.

#![warn(missing_docs)]

pub mod commands;
pub mod demo;
pub mod endpoint;
pub mod functions;
pub mod gateway;
pub mod resources;
pub mod triggers;
pub mod watch;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use stackgen_runtime::{LogSink, Runtime};

use endpoint::{Clients, Endpoint};
use functions::Profile;
use resources::{Physical, Resolved};
use stackgen::app::App;
use stackgen::model::{Authorizer, Ident, Integration};
use triggers::Triggers;

/// Why a local run or invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The endpoint could not be set up.
    #[error(transparent)]
    Endpoint(#[from] endpoint::EndpointError),
    /// A resource could not be created.
    #[error(transparent)]
    Resource(#[from] resources::ResourceError),
    /// A function could not be built or described.
    #[error(transparent)]
    Function(#[from] functions::FunctionError),
    /// The event file could not be used.
    #[error(transparent)]
    Event(#[from] stackgen_runtime::EventFileError),
    /// The functions could not be started.
    #[error(transparent)]
    Start(#[from] stackgen_runtime::StartError),
    /// A single invocation failed without an outcome.
    #[error(transparent)]
    Invoke(#[from] stackgen_runtime::InvokeOnceError),
    /// A trigger could not be set up.
    #[error(transparent)]
    Trigger(#[from] triggers::TriggerError),
    /// An API could not be served.
    #[error(transparent)]
    Gateway(#[from] gateway::GatewayError),
    /// The handler sources could not be watched.
    #[error(transparent)]
    Watch(#[from] watch::WatchError),
    /// A port number past 65535 was asked for.
    #[error("--port-base {base} leaves no port for API number {index}")]
    PortRange {
        /// The base.
        base: u16,
        /// The API's index.
        index: usize,
    },
    /// A blocking task (build, moto start) did not finish.
    #[error("a background task failed: {0}")]
    Task(String),
}

/// How to run the app.
#[derive(Debug, Clone)]
pub struct Options {
    /// The repository root (the cargo workspace; `.venv` for moto).
    pub root: PathBuf,
    /// An AWS endpoint to use instead of starting moto server.
    pub aws_endpoint: Option<String>,
    /// Skip `cargo build` of the handler binaries.
    pub no_build: bool,
    /// The first API's port; the others follow in order (service, then API name). 0
    /// picks free ports.
    pub port_base: u16,
    /// Where the functions' output goes.
    pub log_sink: LogSink,
    /// How the triggers poll and retry.
    pub triggers: triggers::Options,
    /// Rebuild and reload the functions when their sources change (only [`run`]
    /// watches).
    pub watch: bool,
    /// Show cargo's own build output and one line per start-up step with its duration
    /// on standard error (the command line does; tests keep quiet).
    pub progress: bool,
    /// After start-up, sign in a demo admin and a demo user in every user pool and print
    /// their ID tokens (only [`run`] does).
    pub demo_users: bool,
    /// The environment the services' outputs are published under
    /// (`/<project>/<environment>/outputs/service/<service>`).
    pub environment: Ident,
}

impl Options {
    /// The defaults for the repository at `root`: moto, build, ports from 3000, logs on
    /// standard error.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            aws_endpoint: None,
            no_build: false,
            port_base: 3000,
            log_sink: LogSink::Stderr,
            triggers: triggers::Options::default(),
            watch: false,
            progress: false,
            demo_users: false,
            environment: Ident::new(resources::LOCAL_ENVIRONMENT)
                .expect("`local` is an environment name"),
        }
    }
}

/// One REST API being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedApi {
    /// Its service.
    pub service: String,
    /// Its name in the model.
    pub name: String,
    /// Its base URL, as its endpoint output gives it.
    pub url: String,
}

/// The app running locally; [`Running::stop`] stops everything it started.
#[derive(Debug)]
pub struct Running {
    endpoint: Endpoint,
    runtime: Arc<Runtime>,
    triggers: Triggers,
    apis: Vec<(ServedApi, gateway::RunningApi)>,
    resolved: Resolved,
}

impl Running {
    /// The AWS endpoint's URL.
    pub fn endpoint_url(&self) -> &str {
        self.endpoint.url()
    }

    /// The APIs and their URLs, in port order.
    pub fn apis(&self) -> impl Iterator<Item = &ServedApi> {
        self.apis.iter().map(|(api, _)| api)
    }

    /// What the model's names became in the endpoint.
    pub fn resolved(&self) -> &Resolved {
        &self.resolved
    }

    /// The `--env-vars` file that points `sam local invoke` of `app`'s functions at this
    /// run (see [`functions::sam_env_vars`]), the endpoint as a container reaches it.
    pub fn sam_env_vars(&self, app: &App) -> Result<serde_json::Value, LocalError> {
        let endpoint = endpoint::from_container(self.endpoint_url());
        Ok(functions::sam_env_vars(
            &functions::all(app),
            &self.resolved,
            &endpoint,
        )?)
    }

    /// The function runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// One line per trigger.
    pub fn triggers(&self) -> &[String] {
        self.triggers.descriptions()
    }

    /// Stops the triggers, the APIs, the functions, then moto (when ours), in that order,
    /// so nothing runs against a stopped dependency.
    pub async fn stop(self) {
        let Running {
            endpoint,
            runtime,
            triggers,
            apis,
            ..
        } = self;
        triggers.stop().await;
        for (_, api) in apis {
            api.shutdown().await;
        }
        runtime.shutdown().await;
        drop(runtime);
        let _ = tokio::task::spawn_blocking(move || drop(endpoint)).await;
    }
}

/// Starts the whole app: the endpoint, the handler binaries (built first unless
/// `no_build`), every resource, the functions, the APIs, the SSM outputs and the
/// triggers. On error, what was started is stopped again.
pub async fn start(app: &App, options: Options) -> Result<Running, LocalError> {
    let progress = Progress::new(options.progress);
    let functions = functions::all(app);
    let build = {
        let root = options.root.clone();
        let functions: Vec<_> = functions
            .iter()
            .map(|f| f.function.krate.to_string())
            .collect();
        let no_build = options.no_build;
        let quiet = !options.progress;
        tokio::task::spawn_blocking(move || {
            if !no_build {
                functions::build_crates(&root, &functions, Profile::Debug, quiet)?;
                progress.step(&format!(
                    "built the bootstraps of {} functions",
                    functions.len()
                ));
            }
            functions::bin_dir(&root, Profile::Debug)
        })
    };
    let endpoint = {
        let root = options.root.clone();
        let url = options.aws_endpoint.clone();
        tokio::task::spawn_blocking(move || Endpoint::from_option(url.as_deref(), &root))
    };
    let (build, endpoint) = tokio::join!(build, endpoint);
    let endpoint = endpoint.map_err(|e| LocalError::Task(e.to_string()))??;
    let bin_dir = build.map_err(|e| LocalError::Task(e.to_string()))??;
    progress.step(&format!("AWS endpoint {} ready", endpoint.url()));

    let clients = Clients::new(endpoint.url()).await;
    let mut resolved = resources::create(app, &clients).await?;
    progress.step("created the model's tables, queues, buses, rules and user pool");
    let specs = functions
        .iter()
        .map(|f| functions::spec(*f, &resolved, endpoint.url(), &bin_dir))
        .collect::<Result<Vec<_>, _>>()?;
    let runtime = Arc::new(
        Runtime::builder()
            .region(endpoint::REGION)
            .log_sink(options.log_sink.clone())
            .functions(specs)
            .start()
            .await?,
    );
    progress.step(&format!("started {} functions", functions.len()));
    let apis = serve_apis(
        app,
        &resolved,
        &clients,
        &runtime,
        &endpoint,
        options.port_base,
    )
    .await;
    let apis = match apis {
        Ok(apis) => apis,
        Err(e) => {
            runtime.shutdown().await;
            return Err(e);
        }
    };
    for (api, _) in &apis {
        resolved.set_api_url(&api.service, &api.name, api.url.clone());
    }
    progress.step(&format!("serving {} APIs", apis.len()));
    let started = async {
        resources::publish_outputs(&resolved, options.environment.as_str(), &clients).await?;
        Ok::<_, LocalError>(Triggers::start(
            app,
            &resolved,
            &clients,
            runtime.clone(),
            options.triggers.clone(),
        )?)
    };
    match started.await {
        Ok(triggers) => Ok(Running {
            endpoint,
            runtime,
            triggers,
            apis,
            resolved,
        }),
        Err(e) => {
            for (_, api) in apis {
                api.shutdown().await;
            }
            runtime.shutdown().await;
            Err(e)
        }
    }
}

/// Signs in the demo users and prints their tokens as shell assignments on standard
/// output; a failure is reported and the app keeps running.
async fn print_demo_users(running: &Running) {
    let clients = Clients::new(running.endpoint_url()).await;
    match demo::create(running.resolved(), &clients).await {
        Ok(users) => {
            for user in users {
                eprintln!(
                    "stackgen local: demo {} of the {} pool: {} (sub {}), password {}",
                    user.role,
                    user.service,
                    user.email,
                    user.sub,
                    demo::PASSWORD
                );
                println!(
                    "{}_{}_TOKEN={}",
                    user.service.to_uppercase(),
                    user.role.to_uppercase(),
                    user.id_token
                );
            }
        }
        Err(e) => eprintln!("stackgen local: no demo users: {e}"),
    }
}

/// One line per start-up step on standard error, with the time since the previous one,
/// so a first run's minutes of building are not minutes of silence.
#[derive(Debug, Clone, Copy)]
struct Progress {
    since: Option<std::time::Instant>,
}

impl Progress {
    fn new(enabled: bool) -> Progress {
        Progress {
            since: enabled.then(std::time::Instant::now),
        }
    }

    /// Prints `what` with the time since the run started.
    fn step(&self, what: &str) {
        if let Some(since) = self.since {
            eprintln!(
                "stackgen local: {what} ({:.1} s)",
                since.elapsed().as_secs_f64()
            );
        }
    }
}

/// Serves every API of the model, in order of service and name, on consecutive ports
/// from `port_base` (or free ports when it is 0).
async fn serve_apis(
    app: &App,
    resolved: &Resolved,
    clients: &Clients,
    runtime: &Arc<Runtime>,
    endpoint: &Endpoint,
    port_base: u16,
) -> Result<Vec<(ServedApi, gateway::RunningApi)>, LocalError> {
    let mut all: Vec<_> = app
        .services
        .iter()
        .flat_map(|s| {
            s.file()
                .apis
                .iter()
                .map(move |(name, api)| (s.name(), name.as_str(), api))
        })
        .collect();
    all.sort_by_key(|(service, name, _)| (*service, *name));
    let mut out = Vec::new();
    for (index, (service, name, api)) in all.into_iter().enumerate() {
        let port = if port_base == 0 {
            0
        } else {
            u16::try_from(usize::from(port_base) + index).map_err(|_| LocalError::PortRange {
                base: port_base,
                index,
            })?
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let running = serve_api(
            service, name, api, resolved, clients, runtime, endpoint, addr,
        )
        .await?;
        out.push((
            ServedApi {
                service: service.to_owned(),
                name: name.to_owned(),
                url: running.url().to_owned(),
            },
            running,
        ));
    }
    Ok(out)
}

/// Serves one API with the gateway: its functions through the runtime, its service
/// integrations and user pools in the endpoint.
#[allow(clippy::too_many_arguments)]
async fn serve_api(
    service: &str,
    name: &str,
    api: &stackgen::model::Api,
    resolved: &Resolved,
    clients: &Clients,
    runtime: &Arc<Runtime>,
    endpoint: &Endpoint,
    addr: SocketAddr,
) -> Result<gateway::RunningApi, LocalError> {
    let mut ctx = gateway::GatewayContext::new(runtime.clone());
    for route in &api.routes {
        match &route.integration.value {
            Integration::Function(_) => {}
            Integration::PutEvents(p) => {
                if let Some(bus) = resolved.value(service, p.bus.as_str()) {
                    ctx.buses.insert(p.bus.to_string(), bus);
                }
            }
            Integration::SendMessage(m) => {
                if let Some(url) = resolved.value(service, m.queue.as_str()) {
                    ctx.queues.insert(m.queue.to_string(), url);
                }
            }
        }
    }
    for authorizer in api.authorizers.values() {
        if let Authorizer::Cognito { user_pool } = authorizer
            && let Some(Physical::UserPool { id, client_id, .. }) =
                resolved.resource(service, user_pool.as_str())
        {
            ctx.user_pools.insert(
                user_pool.to_string(),
                gateway::UserPool::new(endpoint.url(), id, client_id),
            );
        }
    }
    ctx.events = Some(clients.eventbridge.clone());
    ctx.sqs = Some(clients.sqs.clone());
    ctx.region = endpoint::REGION.to_owned();
    ctx.addr = addr;
    Ok(gateway::serve(name, api, ctx).await?)
}

/// Runs the app until Ctrl-C (or `SIGTERM`), printing one line per API with its URL
/// on standard output, then stops everything it started. With `options.watch`, it
/// rebuilds and reloads the functions whenever their sources change meanwhile.
pub async fn run(app: &App, options: Options) -> Result<(), LocalError> {
    let root = options.root.clone();
    // Watching from before the first build, so an edit made during it is not missed.
    let watcher = if options.watch {
        let crates = functions::all(app)
            .into_iter()
            .map(|f| f.function.krate.as_str());
        let dirs = watch::source_dirs(&root, crates);
        Some(watch::SourceWatcher::new(&root, dirs, watch::DEBOUNCE)?)
    } else {
        None
    };
    let demo_users = options.demo_users;
    let running = start(app, options).await?;
    eprintln!("stackgen local: AWS endpoint {}", running.endpoint_url());
    for trigger in running.triggers() {
        eprintln!("stackgen local: {trigger}");
    }
    for api in running.apis() {
        println!("{} ({}): {}", api.name, api.service, api.url);
    }
    write_sam_env_vars(app, &running, &root);
    if demo_users {
        print_demo_users(&running).await;
    }
    match watcher {
        None => {
            eprintln!("stackgen local: running; press Ctrl-C to stop");
            wait_for_stop_signal().await;
        }
        Some(watcher) => {
            let watched = watcher
                .dirs()
                .iter()
                .map(|dir| {
                    dir.strip_prefix(watcher.root())
                        .unwrap_or(dir)
                        .display()
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join(", ");
            eprintln!(
                "stackgen local: running; watching {watched} and the workspace's Cargo.toml and Cargo.lock; press Ctrl-C to stop"
            );
            match bootstraps(app, &root).await {
                Ok(bootstraps) => {
                    tokio::select! {
                        () = wait_for_stop_signal() => {}
                        () = rebuild_on_change(watcher, &root, &bootstraps, running.runtime()) => {}
                    }
                }
                Err(e) => {
                    running.stop().await;
                    return Err(e);
                }
            }
        }
    }
    eprintln!("stackgen local: stopping");
    running.stop().await;
    Ok(())
}

/// Where a local run writes the `--env-vars` file for `sam local invoke`, under the root.
pub const SAM_ENV_VARS_FILE: &str = ".stackgen/sam-local-env.json";

/// Writes [`SAM_ENV_VARS_FILE`] and says how to use it; a failure is reported and the
/// app keeps running, as nothing else depends on the file.
fn write_sam_env_vars(app: &App, running: &Running, root: &Path) {
    let path = root.join(SAM_ENV_VARS_FILE);
    let written = running
        .sam_env_vars(app)
        .map_err(|e| e.to_string())
        .and_then(|vars| {
            let text = serde_json::to_string_pretty(&vars).map_err(|e| e.to_string())?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
            std::fs::write(&path, text + "\n").map_err(|e| e.to_string())
        });
    match written {
        Ok(()) => eprintln!(
            "stackgen local: sam local invoke <Function> --env-vars {SAM_ENV_VARS_FILE} calls this run (docs/local.md)"
        ),
        Err(e) => eprintln!("stackgen local: could not write {}: {e}", path.display()),
    }
}

/// Every function's binary, as [`start`] runs it.
async fn bootstraps(app: &App, root: &Path) -> Result<Vec<watch::Bootstrap>, LocalError> {
    let bin_dir = {
        let root = root.to_path_buf();
        tokio::task::spawn_blocking(move || functions::bin_dir(&root, Profile::Debug))
            .await
            .map_err(|e| LocalError::Task(e.to_string()))??
    };
    Ok(functions::all(app)
        .into_iter()
        .map(|f| watch::Bootstrap {
            function: f.name.to_owned(),
            krate: f.function.krate.to_string(),
            path: functions::bootstrap_path(&bin_dir, &f),
        })
        .collect())
}

/// Rebuilds after each batch of source changes and reloads what changed, with one line
/// per rebuild; returns only if watching stops.
async fn rebuild_on_change(
    mut watcher: watch::SourceWatcher,
    root: &Path,
    bootstraps: &[watch::Bootstrap],
    runtime: &Runtime,
) {
    while let Some(changed) = watcher.next_batch().await {
        let first = changed.iter().next().map(|path| {
            path.strip_prefix(watcher.root())
                .unwrap_or(path)
                .display()
                .to_string()
        });
        let more = match changed.len() {
            0 | 1 => String::new(),
            n => format!(" and {} more", n - 1),
        };
        eprintln!(
            "stackgen local: {}{more} changed; rebuilding",
            first.unwrap_or_default()
        );
        let rebuilt = watch::rebuild(root, bootstraps, runtime).await;
        eprintln!("stackgen local: {rebuilt}");
    }
    eprintln!("stackgen local: the sources are no longer watched");
    std::future::pending::<()>().await;
}

async fn wait_for_stop_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
}
