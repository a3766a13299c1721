//! The AWS endpoint of a local run: the URL given with `--aws-endpoint`, or a moto server
//! of our own on a free loopback port.
//!
//! A moto server we start must never outlive us, not even when we are killed with
//! `SIGKILL`. It is spawned from a thread that lives exactly as long as the [`Endpoint`],
//! with `PR_SET_PDEATHSIG`, so the kernel sends it `SIGTERM` when that thread ends (on
//! drop, or when the whole process dies). It also leads its own process group, so a
//! terminal's Ctrl-C reaches us alone and we stop it in order, after the functions that
//! still talk to it.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a fresh moto server may take to listen.
const MOTO_START_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the endpoint could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// No `moto_server` executable was found.
    #[error(
        "moto_server not found (looked at $MOTO_SERVER, {venv} and PATH); run `scripts/setup.sh` to install it into .venv, or pass `--aws-endpoint URL`"
    )]
    MotoNotFound {
        /// The project venv path that was tried.
        venv: String,
    },
    /// No free loopback port could be found.
    #[error("cannot find a free loopback port for moto server: {0}")]
    Port(#[source] std::io::Error),
    /// The process could not be started.
    #[error("cannot start {}: {source}", path.display())]
    Spawn {
        /// The executable.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It started but did not listen in time, or exited.
    #[error("moto server ({}) did not listen on port {port} within {timeout:?}", path.display())]
    NotListening {
        /// The executable.
        path: PathBuf,
        /// Its port.
        port: u16,
        /// How long we waited.
        timeout: Duration,
    },
}

/// An AWS-compatible endpoint; a moto server started for it stops when this is dropped.
#[derive(Debug)]
pub struct Endpoint {
    url: String,
    /// Dropping the sender wakes the keeper thread, which stops moto.
    keeper: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl Endpoint {
    /// An endpoint someone else runs.
    pub fn external(url: impl Into<String>) -> Self {
        Self {
            url: url.into().trim_end_matches('/').to_owned(),
            keeper: None,
        }
    }

    /// Uses `url` when given, else starts moto server (see [`Endpoint::start_moto`]).
    pub fn from_option(url: Option<&str>, root: &Path) -> Result<Self, EndpointError> {
        match url {
            Some(url) => Ok(Self::external(url)),
            None => Self::start_moto(root),
        }
    }

    /// Starts moto server on a free loopback port and waits until it listens. The
    /// executable is `$MOTO_SERVER`, `<root>/.venv/bin/moto_server`, or `moto_server`
    /// on `PATH`.
    pub fn start_moto(root: &Path) -> Result<Self, EndpointError> {
        let path = moto_server_path(root)?;
        let port = free_port().map_err(EndpointError::Port)?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread_path = path.clone();
        let keeper = std::thread::Builder::new()
            .name("moto-server".into())
            .spawn(move || keep_moto(&thread_path, port, ready_tx, stop_rx))
            .map_err(|source| EndpointError::Spawn {
                path: path.clone(),
                source,
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(source)) => {
                let _ = keeper.join();
                return Err(EndpointError::Spawn { path, source });
            }
            Err(_) => {
                let _ = keeper.join();
                return Err(EndpointError::Spawn {
                    path,
                    source: std::io::Error::other("the moto keeper thread ended"),
                });
            }
        }
        let endpoint = Self {
            url: format!("http://127.0.0.1:{port}"),
            keeper: Some((stop_tx, keeper)),
        };
        // `endpoint` stops moto if it never listens.
        wait_until_listening(port, MOTO_START_TIMEOUT)
            .then_some(())
            .ok_or(EndpointError::NotListening {
                path,
                port,
                timeout: MOTO_START_TIMEOUT,
            })?;
        Ok(endpoint)
    }

    /// The base URL, without a trailing slash (`http://127.0.0.1:40123`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this endpoint is a moto server we started.
    pub fn is_own(&self) -> bool {
        self.keeper.is_some()
    }

    /// Stops moto if we started it (also done on drop).
    pub fn stop(&mut self) {
        if let Some((stop, thread)) = self.keeper.take() {
            drop(stop);
            let _ = thread.join();
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs on the keeper thread: spawns moto (so its parent-death signal is tied to this
/// thread), reports the spawn, and waits for the stop signal.
fn keep_moto(
    path: &Path,
    port: u16,
    ready: mpsc::Sender<std::io::Result<()>>,
    stop: mpsc::Receiver<()>,
) {
    let mut command = Command::new(path);
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    // Linux only: elsewhere moto is stopped by the keeper alone, so a killed `stackgen
    // local` can leave it running.
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only the async-signal-safe `prctl` runs.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    // Returns when the sender is dropped.
    let _ = stop.recv();
    // SIGTERM first: moto (werkzeug) exits at once on it.
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: plain syscall on a pid we own and have not reaped yet.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Where moto server is: `$MOTO_SERVER`, the project venv, or `PATH`.
pub fn moto_server_path(root: &Path) -> Result<PathBuf, EndpointError> {
    find_moto_server(
        std::env::var_os("MOTO_SERVER"),
        root,
        std::env::var_os("PATH"),
    )
}

fn find_moto_server(
    explicit: Option<std::ffi::OsString>,
    root: &Path,
    path: Option<std::ffi::OsString>,
) -> Result<PathBuf, EndpointError> {
    if let Some(p) = explicit {
        return Ok(PathBuf::from(p));
    }
    let venv = root.join(".venv/bin/moto_server");
    if venv.is_file() {
        return Ok(venv);
    }
    path.and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("moto_server"))
            .find(|p| p.is_file())
    })
    .ok_or_else(|| EndpointError::MotoNotFound {
        venv: venv.display().to_string(),
    })
}

fn free_port() -> std::io::Result<u16> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
}

fn wait_until_listening(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// SDK configuration for `url`: region `us-east-1` and dummy credentials, as the
/// functions get them.
pub async fn sdk_config(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            DUMMY_KEY,
            DUMMY_KEY,
            None,
            None,
            "stackgen-runtime",
        ))
        .load()
        .await
}

/// The region of local runs.
pub const REGION: &str = "us-east-1";

/// The name a Docker container reaches its host by: Docker Desktop defines it, Linux
/// Docker with `--add-host host.docker.internal:host-gateway`.
pub const CONTAINER_HOST: &str = "host.docker.internal";

/// `url` as a container on this machine reaches it: a loopback host becomes
/// [`CONTAINER_HOST`]; any other host (or a URL that does not parse) stays as it is.
pub fn from_container(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return url.to_owned();
    };
    let loopback = parsed.host_str().is_some_and(|host| {
        host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    if !loopback || parsed.set_host(Some(CONTAINER_HOST)).is_err() {
        return url.to_owned();
    }
    // `Url` writes an empty path as `/`; keep the caller's form.
    let out = parsed.to_string();
    match out.strip_suffix('/') {
        Some(trimmed) if !url.ends_with('/') => trimmed.to_owned(),
        _ => out,
    }
}
/// The access key id and secret of local runs; moto accepts any.
pub const DUMMY_KEY: &str = "testing";

/// The variables that point a function's SDK clients at `url`.
pub fn aws_env(url: &str) -> [(&'static str, String); 5] {
    [
        (stackgen::app::ENDPOINT_VARIABLE, url.to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_DEFAULT_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", DUMMY_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", DUMMY_KEY.to_owned()),
    ]
}

/// The SDK clients `stackgen local` talks to the endpoint with.
#[derive(Debug, Clone)]
pub struct Clients {
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// EventBridge.
    pub eventbridge: aws_sdk_eventbridge::Client,
    /// Cognito user pools.
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    /// SSM parameters.
    pub ssm: aws_sdk_ssm::Client,
}

impl Clients {
    /// Clients for the endpoint at `url`.
    pub async fn new(url: &str) -> Self {
        let config = sdk_config(url).await;
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            eventbridge: aws_sdk_eventbridge::Client::new(&config),
            cognito: aws_sdk_cognitoidentityprovider::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_endpoint_is_reached_from_a_container_through_the_host_name() {
        for (url, expected) in [
            ("http://127.0.0.1:5000", "http://host.docker.internal:5000"),
            (
                "http://localhost:5000/",
                "http://host.docker.internal:5000/",
            ),
            ("http://[::1]:4566", "http://host.docker.internal:4566"),
            ("http://10.1.2.3:5000", "http://10.1.2.3:5000"),
            ("https://moto.example:443", "https://moto.example:443"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(from_container(url), expected, "{url}");
        }
    }

    #[test]
    fn a_missing_moto_server_says_how_to_install_it() {
        let root = Path::new("/nonexistent-repository");
        let error = find_moto_server(None, root, Some("/nonexistent-bin".into()))
            .expect_err("no moto_server there");
        let message = error.to_string();
        assert!(message.contains("scripts/setup.sh"), "{message}");
        assert!(message.contains("--aws-endpoint"), "{message}");
    }

    #[test]
    fn moto_server_from_the_environment_wins() {
        let found = find_moto_server(Some("/opt/moto".into()), Path::new("."), None).unwrap();
        assert_eq!(found, PathBuf::from("/opt/moto"));
    }

    #[test]
    fn an_external_endpoint_loses_its_trailing_slash_and_is_not_ours() {
        let endpoint = Endpoint::external("http://127.0.0.1:5000/");
        assert_eq!(endpoint.url(), "http://127.0.0.1:5000");
        assert!(!endpoint.is_own());
    }
}
