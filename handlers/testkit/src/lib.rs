//! Test support for the handler crates: a moto server (the AWS endpoint for offline tests)
//! on a free loopback port, and an `aws_config::SdkConfig` pointed at it, so tests go
//! through the real aws-sdk clients exactly as the deployed handlers do.
//!
//! moto comes from the project's setup script (`scripts/setup.sh`, into `.venv`). It is
//! found through `$MOTO_SERVER`, then `.venv/bin/moto_server` at the repository root, then
//! `PATH`.
#![warn(missing_docs)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

/// A running moto server; stopped when dropped.
pub struct Moto {
    endpoint: String,
    child: Mutex<Option<Child>>,
}

impl Moto {
    /// Starts a moto server of its own on a free loopback port and waits until it answers.
    pub fn start() -> Moto {
        let port = free_port();
        let server = moto_server_path();
        // PR_SET_PDEATHSIG: moto dies with the thread that started it, so a test process
        // that ends (or panics) never leaves a server behind.
        let launcher = "import ctypes, os, signal, sys\n\
                        ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n\
                        os.execv(sys.argv[1], sys.argv[1:])";
        let child = Command::new("python3")
            .args(["-c", launcher])
            .arg(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
        let endpoint = format!("http://127.0.0.1:{port}");
        wait_until_listening(port, &server);
        Moto {
            endpoint,
            child: Mutex::new(Some(child)),
        }
    }

    /// One moto server shared by every test of this test binary, started on first use.
    ///
    /// It is started from a thread that lives as long as the process, so it stays up
    /// across tests and still dies with the process. Tests sharing it use unique names.
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                tx.send(Moto::start()).expect("test thread is waiting");
                loop {
                    std::thread::park();
                }
            });
            rx.recv().expect("moto starter thread panicked")
        })
    }

    /// The server's base URL, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// SDK config for this server: its endpoint, region `us-east-1`, dummy credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "testing", "testing", None, None, "testkit",
            ))
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.lock().ok().and_then(|mut c| c.take()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A name no other test uses, for tables, queues and buses on a shared server.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Creates an on-demand table with a string partition key and optional string sort key.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    partition_key: &str,
    sort_key: Option<&str>,
) {
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attr, kind) in [
        (Some(partition_key), KeyType::Hash),
        (sort_key, KeyType::Range),
    ] {
        let Some(attr) = attr else { continue };
        req = req
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("attribute definition is complete"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attr)
                    .key_type(kind)
                    .build()
                    .expect("key schema element is complete"),
            );
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("create table {name}: {e:?}"));
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_until_listening(port: u16, server: &std::path::Path) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto server ({}) did not listen on port {port} within 30 s",
            server.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Where moto server is: `$MOTO_SERVER`, the project venv, or `PATH`.
fn moto_server_path() -> PathBuf {
    if let Some(p) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("moto_server"))
            .find(|p| p.exists())
    });
    on_path.unwrap_or_else(|| {
        panic!("moto_server not found: run scripts/setup.sh (it installs moto into .venv)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_table_created_on_moto_is_listed() {
        let moto = Moto::shared();
        let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
        let name = unique_name("t");
        create_table(&client, &name, "pk", Some("sk")).await;
        let tables = client.list_tables().send().await.unwrap();
        assert!(tables.table_names().contains(&name));
    }
}
