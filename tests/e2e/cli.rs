//! The `stackgen local` command itself: it prints the APIs, serves them, and on Ctrl-C
//! stops every process it started.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the process that plays `stackgen local`.
const SERVE: &str = "E2E_SERVE_STACKGEN_LOCAL";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `stackgen local` (the subcommand's `run`, as `main` calls it) when this test
/// binary is started with [`SERVE`] set; otherwise does nothing. It lets the test below
/// drive the command as a process of its own without building the `stackgen` binary
/// a second time with another feature set.
#[test]
fn serve_stackgen_local_when_asked() {
    if std::env::var_os(SERVE).is_none() {
        return;
    }
    let args = stackgen_cloud::commands::local::Args {
        aws_endpoint: None,
        no_build: true,
        port_base: 0,
        retry_delay: Default::default(),
        watch: false,
        demo_users: true,
        root: Some(root()),
        environment: stackgen::model::Ident::new(stackgen_cloud::resources::LOCAL_ENVIRONMENT)
            .expect("an environment name"),
    };
    let outcome = stackgen_cloud::commands::local::run(&args);
    assert!(
        matches!(outcome, Ok(stackgen::commands::Outcome::Ok)),
        "{outcome:?}"
    );
}

/// The process playing `stackgen local`; a test that fails stops it like a Ctrl-C
/// would, so it never outlives the test.
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = Command::new("kill")
                .args(["-INT", &self.0.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while let Ok(None) = self.0.try_wait() {
                if Instant::now() > deadline {
                    let _ = self.0.kill();
                    let _ = self.0.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Resolves each rendered function's environment as `sam local invoke --env-vars FILE`
/// does (SAM CLI's own code: it sets only variables the template declares) and prints it
/// as JSON, by function.
const SAM_RESOLVE_ENV: &str = r#"
import json, sys
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
env_vars = json.load(open(sys.argv[1]))
out = {}
for template in sys.argv[2:]:
    stacks, _ = SamLocalStackProvider.get_stacks(template)
    provider = SamFunctionProvider(stacks)
    runner = LocalLambdaRunner(local_runtime=None, function_provider=provider, cwd=".",
                               real_path=".", env_vars_values=env_vars)
    for f in provider.get_all():
        env = runner._make_env_vars(f).resolve()
        declared = f.environment["Variables"]
        out[f.name] = {k: v for k, v in env.items() if k in declared}
print(json.dumps(out))
"#;

/// The `--env-vars` file the run wrote gives every function, as SAM resolves it, the run's
/// endpoint as a container reaches it and the run's own resources, not the template's
/// logical ids.
fn sam_local_invoke_reaches_the_run(env_vars: &Path) {
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env_vars).expect("stackgen local wrote the --env-vars file"),
    )
    .expect("the --env-vars file is JSON");
    let python = stackgen_cloud::endpoint::moto_server_path(&root())
        .expect("the tools' virtualenv")
        .with_file_name("python");
    let templates = ["users", "orders", "userprofile", "orderstatus"]
        .map(|s| root().join("generated").join(format!("{s}.yaml")));
    let output = Command::new(python)
        .arg("-c")
        .arg(SAM_RESOLVE_ENV)
        .arg(env_vars)
        .args(&templates)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let resolved: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the resolved environments");
    let functions = resolved.as_object().expect("by function");
    assert_eq!(functions.len(), 14, "{resolved:#}");
    for (function, env) in functions {
        assert_eq!(env, &written[function], "{function}: as SAM resolves it");
        let endpoint = env["AWS_ENDPOINT_URL"].as_str().unwrap_or_default();
        assert!(
            endpoint.starts_with("http://host.docker.internal:"),
            "{function}: {endpoint}"
        );
    }
    assert_eq!(resolved["UsersFunction"]["USERS_TABLE"], "users-UsersTable");
    let keys = resolved["AuthorizerFunction"]["JWKS_URL"]
        .as_str()
        .unwrap_or_default();
    assert!(
        keys.starts_with("http://host.docker.internal:")
            && keys.ends_with("/.well-known/jwks.json"),
        "{keys}"
    );
}

/// Every live descendant of `pid`, from `/proc`.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents = vec![pid];
    let mut found = Vec::new();
    while let Some(parent) = parents.pop() {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            break;
        };
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if parent_of(&entry.path()) == Some(parent) && !found.contains(&child) {
                found.push(child);
                parents.push(child);
            }
        }
    }
    found
}

fn parent_of(proc_dir: &Path) -> Option<u32> {
    let stat = std::fs::read_to_string(proc_dir.join("stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    let state = fields.next()?;
    if state == "Z" {
        return None;
    }
    fields.next()?.parse().ok()
}

#[test]
fn stackgen_local_prints_its_apis_and_leaves_no_process_behind_on_ctrl_c() {
    // The shared app has built every handler binary.
    let _ = crate::helpers::app();
    let env_vars = root().join(stackgen_cloud::SAM_ENV_VARS_FILE);
    let _ = std::fs::remove_file(&env_vars);
    let mut served = Served(
        Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "--exact",
                "cli::serve_stackgen_local_when_asked",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SERVE, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("stackgen local starts"),
    );
    let pid = served.0.id();
    let stdout = served.0.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // The harness prints its own lines around the command's.
        let api_lines = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter(|l| l.contains("): http://") || l.contains("_TOKEN="))
            .map(|l| match l.rsplit_once(" ... ") {
                Some((_, api)) => api.to_owned(),
                None => l,
            });
        for line in api_lines {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut apis = Vec::new();
    let mut tokens = std::collections::BTreeMap::new();
    while apis.len() < 3 || tokens.len() < 2 {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => match line.split_once("_TOKEN=") {
                Some((who, token)) => {
                    let who = who.rsplit(' ').next().unwrap_or(who).to_owned();
                    tokens.insert(who, token.to_owned());
                }
                None => apis.push(line),
            },
            Err(e) => {
                panic!("stackgen local printed {apis:?} and {tokens:?}, then {e}");
            }
        }
    }
    assert_eq!(
        tokens.keys().collect::<Vec<_>>(),
        ["USERS_ADMIN", "USERS_USER"],
        "the demo users' tokens"
    );
    let names: Vec<&str> = apis.iter().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(names, ["OrdersApi", "ProfileApi", "UsersApi"], "{apis:?}");
    let url = apis[0].rsplit(' ').next().expect("a URL").to_owned();
    let status = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(async {
            let response = reqwest::get(format!("{url}/orders"))
                .await
                .expect("the API answers");
            response.status().as_u16()
        });
    assert_eq!(status, 401, "GET /orders without a token");
    // The printed demo tokens work as they are, as the README's curl example uses them.
    let users_url = apis[2].rsplit(' ').next().expect("a URL").to_owned();
    let (orders, users) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(async {
            let client = reqwest::Client::new();
            let orders = client
                .get(format!("{url}/orders"))
                .header("Authorization", &tokens["USERS_USER"])
                .send()
                .await
                .expect("the orders API answers");
            let users = client
                .get(format!("{users_url}/users"))
                .header("Authorization", &tokens["USERS_ADMIN"])
                .send()
                .await
                .expect("the users API answers");
            (orders.status().as_u16(), users.status().as_u16())
        });
    assert_eq!(
        (orders, users),
        (200, 200),
        "the demo user's orders, the admin's users"
    );
    sam_local_invoke_reaches_the_run(&env_vars);
    let started = descendants(pid);
    assert!(
        started.len() > 10,
        "moto and every function run: {started:?}"
    );

    let kill = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = served.0.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            panic!("stackgen local did not stop within 30 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
    let left: Vec<u32> = started
        .into_iter()
        .filter(|p| {
            Path::new(&format!("/proc/{p}")).exists()
                && parent_of(Path::new(&format!("/proc/{p}"))).is_some()
        })
        .collect();
    assert!(left.is_empty(), "processes left behind: {left:?}");
}
