//! The model's functions as local processes: building their binaries with cargo, and
//! describing each one for the runtime ([`FunctionSpec`]) with the environment the
//! rendered template gives it, pointed at the local endpoint.
//!
//! Local runs build binaries with the debug profile ([`Profile::Debug`]): a local run
//! rebuilds often and never measures speed, and the release profile's LTO costs minutes
//! on a small machine. Benchmarks build what `sam build` deploys ([`Profile::Release`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use stackgen_runtime::FunctionSpec;

use super::endpoint;
use super::resources::{Physical, Resolved};
use stackgen::app::{App, Binding, ENDPOINT_VARIABLE, Function, JWKS_VARIABLE};

/// Why a function could not be built or described.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    /// No function of that name in the model.
    #[error("no function `{name}` in the model; declared functions: {declared}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names there are.
        declared: String,
    },
    /// cargo could not be run.
    #[error("cannot run `{command}`: {source}")]
    Cargo {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// cargo ran and failed.
    #[error("`{command}` failed ({status})")]
    CargoFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
    },
    /// `cargo metadata` printed something we cannot read.
    #[error("cannot read the target directory from `cargo metadata`: {0}")]
    Metadata(String),
    /// An environment variable refers to something that was not created.
    #[error(
        "function `{function}`: variable {variable} refers to `{reference}`, which is not in the endpoint"
    )]
    Unresolved {
        /// The function.
        function: String,
        /// The variable.
        variable: String,
        /// The logical name it refers to.
        reference: String,
    },
}

/// One function of the model.
#[derive(Debug, Clone, Copy)]
pub struct ModelFunction<'a> {
    /// Its service.
    pub service: &'a str,
    /// Its logical name, also its name in the local runtime.
    pub name: &'a str,
    /// Its declaration.
    pub function: &'a Function,
}

/// Every function of the model, sorted by service, then name.
pub fn all(app: &App) -> Vec<ModelFunction<'_>> {
    let mut out: Vec<_> = app
        .services
        .iter()
        .flat_map(|s| {
            s.functions.values().map(|function| ModelFunction {
                service: s.name(),
                name: &function.name,
                function,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.service, a.name).cmp(&(b.service, b.name)));
    out
}

/// The function named `name`.
pub fn find<'a>(app: &'a App, name: &str) -> Result<ModelFunction<'a>, FunctionError> {
    let functions = all(app);
    functions
        .iter()
        .find(|f| f.name == name)
        .copied()
        .ok_or_else(|| FunctionError::Unknown {
            name: name.to_owned(),
            declared: functions
                .iter()
                .map(|f| f.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The cargo profile function binaries are built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `dev`, for local runs: quick to rebuild.
    Debug,
    /// `release`, as deployed (LTO, optimised for size): for measuring.
    Release,
}

impl Profile {
    /// The folder of the target directory its binaries land in.
    fn dir(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn command_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds the bootstraps of `functions` with `profile` in the workspace at `root`;
/// cargo's progress goes to standard error unless `quiet`.
pub fn build(
    root: &Path,
    functions: &[ModelFunction<'_>],
    profile: Profile,
    quiet: bool,
) -> Result<(), FunctionError> {
    let crates: Vec<String> = functions
        .iter()
        .map(|f| f.function.krate.to_string())
        .collect();
    build_crates(root, &crates, profile, quiet)
}

/// Builds the bootstrap of each crate in `crates` (one binary per crate, named as the
/// crate, serving all of its functions) with `profile` in the workspace at `root`, in
/// one cargo run; cargo's progress goes to standard error unless `quiet`.
pub fn build_crates(
    root: &Path,
    crates: &[String],
    profile: Profile,
    quiet: bool,
) -> Result<(), FunctionError> {
    let mut command = cargo();
    command.current_dir(root).arg("build");
    if quiet {
        command.arg("--quiet");
    }
    if profile == Profile::Release {
        command.arg("--release");
    }
    let mut crates: Vec<&str> = crates.iter().map(String::as_str).collect();
    crates.sort_unstable();
    crates.dedup();
    for krate in crates {
        command.args(["-p", krate, "--bin", krate]);
    }
    command.stdin(Stdio::null()).stdout(Stdio::null());
    let line = command_line(&command);
    let status = command.status().map_err(|source| FunctionError::Cargo {
        command: line.clone(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(FunctionError::CargoFailed {
            command: line,
            status,
        })
    }
}

/// Where the binaries built with `profile` in the workspace at `root` are.
pub fn bin_dir(root: &Path, profile: Profile) -> Result<PathBuf, FunctionError> {
    Ok(target_dir(root)?.join(profile.dir()))
}

/// The bootstrap that serves `f`, in `bin_dir`: its crate's one binary.
pub fn bootstrap_path(bin_dir: &Path, f: &ModelFunction<'_>) -> PathBuf {
    bin_dir.join(f.function.krate.as_str())
}

/// The workspace's target directory, as cargo sees it (`CARGO_TARGET_DIR` included).
fn target_dir(root: &Path) -> Result<PathBuf, FunctionError> {
    let mut command = cargo();
    command
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let line = command_line(&command);
    let output = command.output().map_err(|source| FunctionError::Cargo {
        command: line.clone(),
        source,
    })?;
    if !output.status.success() {
        return Err(FunctionError::CargoFailed {
            command: line,
            status: output.status,
        });
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| FunctionError::Metadata(e.to_string()))?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| FunctionError::Metadata("no `target_directory`".into()))
}

/// The function's variables as the rendered template gives them (`RUST_LOG` and the
/// model's `environment`, references resolved in the endpoint), plus `JWKS_URL` for a
/// function that verifies tokens of a user pool: moto's tokens name the real Cognito
/// issuer, but moto serves the keys at `<endpoint>/<pool id>/.well-known/jwks.json`.
pub fn template_env(
    f: ModelFunction<'_>,
    resolved: &Resolved,
    endpoint_url: &str,
) -> Result<BTreeMap<String, String>, FunctionError> {
    let mut env = BTreeMap::new();
    for (variable, binding) in &f.function.environment {
        let value = match binding {
            Binding::Text(s) => s.clone(),
            Binding::Value(reference) => value(f, resolved, variable, &reference.name)?,
        };
        env.insert(variable.clone(), value);
    }
    if let Some(pool) = f.function.user_pool()
        && let Some(Physical::UserPool { id, .. }) = resolved.resource(f.service, &pool.name)
    {
        env.entry(JWKS_VARIABLE.to_owned())
            .or_insert_with(|| format!("{endpoint_url}/{id}/.well-known/jwks.json"));
    }
    Ok(env)
}

/// What `reference` became in the endpoint, as `variable` of `f` reads it.
fn value(
    f: ModelFunction<'_>,
    resolved: &Resolved,
    variable: &str,
    reference: &str,
) -> Result<String, FunctionError> {
    resolved
        .value(f.service, reference)
        .ok_or_else(|| FunctionError::Unresolved {
            function: f.name.to_owned(),
            variable: variable.to_owned(),
            reference: reference.to_owned(),
        })
}

/// The `--env-vars` file of `sam local invoke` for this run: per function, by logical id,
/// every variable its template declares with its value here, `AWS_ENDPOINT_URL` and
/// `JWKS_URL` as `endpoint_url` (the endpoint as a container reaches it) gives them.
pub fn sam_env_vars(
    functions: &[ModelFunction<'_>],
    resolved: &Resolved,
    endpoint_url: &str,
) -> Result<serde_json::Value, FunctionError> {
    let mut file = serde_json::Map::new();
    for f in functions {
        let mut env = template_env(*f, resolved, endpoint_url)?;
        env.insert(ENDPOINT_VARIABLE.to_owned(), endpoint_url.to_owned());
        file.insert(f.name.to_owned(), serde_json::json!(env));
    }
    Ok(serde_json::Value::Object(file))
}

/// The runtime's description of `f`: its binary in `bin_dir` (see [`bin_dir`]), its
/// template environment, the endpoint, region and dummy credentials, its timeout and
/// memory size.
pub fn spec(
    f: ModelFunction<'_>,
    resolved: &Resolved,
    endpoint_url: &str,
    bin_dir: &Path,
) -> Result<FunctionSpec, FunctionError> {
    Ok(FunctionSpec::new(f.name, bootstrap_path(bin_dir, &f))
        .handler(f.function.handler.as_str())
        .envs(template_env(f, resolved, endpoint_url)?)
        .envs(endpoint::aws_env(endpoint_url))
        .timeout(Duration::from_secs(u64::from(f.function.timeout_seconds)))
        .memory_mb(f.function.memory_mb))
}
