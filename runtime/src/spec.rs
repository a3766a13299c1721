//! What the runtime needs to know about one function, and the environment its
//! process gets.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use crate::error::StartError;

/// One function to run: its `bootstrap` binary and the settings the rendered template
/// gives it.
///
/// The process environment is built in this order, later entries winning:
///
/// 1. host variables that only affect diagnostics: `PATH`, `RUST_LOG`,
///    `RUST_BACKTRACE`, `RUST_LIB_BACKTRACE` (see [`RuntimeBuilder::inherit_env`]);
/// 2. what Lambda sets for every function: `AWS_REGION`, `AWS_DEFAULT_REGION`,
///    `AWS_LAMBDA_LOG_GROUP_NAME`, `AWS_LAMBDA_LOG_STREAM_NAME`,
///    `AWS_LAMBDA_INITIALIZATION_TYPE=on-demand`, `LAMBDA_TASK_ROOT` and
///    `LAMBDA_RUNTIME_DIR` (the bootstrap's directory, also the working directory),
///    `_HANDLER`, `TZ=:UTC`, `LANG=en_US.UTF-8`;
/// 3. [`FunctionSpec::env`]: the template's variables, the endpoint and credentials;
/// 4. the Runtime API contract, which nothing may override: `AWS_LAMBDA_RUNTIME_API`,
///    `AWS_LAMBDA_FUNCTION_NAME`, `AWS_LAMBDA_FUNCTION_VERSION` (`$LATEST`) and
///    `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
///
/// ```
/// use std::time::Duration;
/// use stackgen_runtime::FunctionSpec;
///
/// let spec = FunctionSpec::new("GetOrder", "target/release/get-order")
///     .env("ORDERS_TABLE", "orders")
///     .timeout(Duration::from_secs(5))
///     .memory_mb(256);
/// assert_eq!(spec.name(), "GetOrder");
/// ```
///
/// [`RuntimeBuilder::inherit_env`]: crate::RuntimeBuilder::inherit_env
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    name: String,
    bootstrap: PathBuf,
    env: BTreeMap<String, String>,
    timeout: Duration,
    memory_mb: u32,
    concurrency: usize,
    handler: String,
}

impl FunctionSpec {
    /// Lambda's default timeout, used when none is set.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
    /// Lambda's default memory size in MiB, used when none is set.
    pub const DEFAULT_MEMORY_MB: u32 = 128;

    /// A function named `name` (as in its ARN) whose process is the executable at
    /// `bootstrap`.
    pub fn new(name: impl Into<String>, bootstrap: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            bootstrap: bootstrap.into(),
            env: BTreeMap::new(),
            timeout: Self::DEFAULT_TIMEOUT,
            memory_mb: Self::DEFAULT_MEMORY_MB,
            concurrency: 1,
            handler: "bootstrap".to_owned(),
        }
    }

    /// Sets one environment variable of the process.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets several environment variables of the process.
    pub fn envs<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Sets the invocation timeout (Lambda's `Timeout`). When it passes, the invoke
    /// fails with [`InvokeError::Timeout`](crate::InvokeError::Timeout) and the
    /// process is replaced.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the memory size in MiB (Lambda's `MemorySize`). It is only reported to the
    /// function, not enforced.
    pub fn memory_mb(mut self, memory_mb: u32) -> Self {
        self.memory_mb = memory_mb;
        self
    }

    /// Sets how many processes serve this function's queue (default 1). Each one
    /// handles one invocation at a time, as one Lambda execution environment does.
    pub fn concurrency(mut self, processes: usize) -> Self {
        self.concurrency = processes;
        self
    }

    /// Sets `_HANDLER` (the template's `Handler`; `bootstrap` by default).
    pub fn handler(mut self, handler: impl Into<String>) -> Self {
        self.handler = handler.into();
        self
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path of the executable.
    pub fn bootstrap(&self) -> &Path {
        &self.bootstrap
    }

    /// The invocation timeout.
    pub fn timeout_duration(&self) -> Duration {
        self.timeout
    }

    /// The caller's environment variables (step 3 in the list above).
    pub fn env_vars(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    /// The memory size in MiB.
    pub fn memory(&self) -> u32 {
        self.memory_mb
    }

    /// How many processes serve this function.
    pub fn processes(&self) -> usize {
        self.concurrency
    }

    /// Checks what would otherwise fail later, and less clearly, at spawn time, and
    /// makes the bootstrap path absolute: the process starts in the bootstrap's
    /// directory, where a relative path would no longer lead to it.
    pub(crate) fn resolve(mut self) -> Result<Self, StartError> {
        self.validate()?;
        self.bootstrap =
            std::path::absolute(&self.bootstrap).map_err(|source| StartError::Bootstrap {
                function: self.name.clone(),
                path: self.bootstrap.clone(),
                source,
            })?;
        Ok(self)
    }

    fn validate(&self) -> Result<(), StartError> {
        let invalid = |reason: String| StartError::InvalidFunction {
            function: self.name.clone(),
            reason,
        };
        // Lambda's own rule; the name ends up in ARNs, log group names and log prefixes.
        if self.name.is_empty() || self.name.len() > 64 {
            return Err(invalid("a name must have 1 to 64 characters".into()));
        }
        if let Some(c) = self
            .name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(invalid(format!(
                "`{c}` is not allowed in a name (letters, digits, `-` and `_` are)"
            )));
        }
        if self.timeout.is_zero() {
            return Err(invalid("the timeout must be more than zero".into()));
        }
        if self.memory_mb == 0 {
            return Err(invalid("the memory size must be more than zero".into()));
        }
        if self.concurrency == 0 {
            return Err(invalid("the concurrency must be at least 1".into()));
        }
        match std::fs::metadata(&self.bootstrap) {
            Ok(meta) if meta.is_file() && !is_executable(&meta) => Err(invalid(format!(
                "the bootstrap {} is not executable",
                self.bootstrap.display()
            ))),
            Ok(meta) if meta.is_file() => Ok(()),
            Ok(_) => Err(invalid(format!(
                "the bootstrap {} is not a file",
                self.bootstrap.display()
            ))),
            Err(source) => Err(StartError::Bootstrap {
                function: self.name.clone(),
                path: self.bootstrap.clone(),
                source,
            }),
        }
    }

    /// The directory Lambda calls the task root: where the bootstrap lives.
    pub(crate) fn task_root(&self) -> PathBuf {
        match self.bootstrap.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The complete environment of one process of this function.
    pub(crate) fn process_env(&self, ctx: &EnvContext<'_>) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for key in ctx.inherit {
            if let Ok(value) = std::env::var(key) {
                env.insert(key.clone(), value);
            }
        }
        let task_root = self.task_root().display().to_string();
        let defaults = [
            ("AWS_REGION", ctx.region.to_owned()),
            ("AWS_DEFAULT_REGION", ctx.region.to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.name),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", ctx.log_stream.to_owned()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("LAMBDA_TASK_ROOT", task_root.clone()),
            ("LAMBDA_RUNTIME_DIR", task_root),
            ("_HANDLER", self.handler.clone()),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
        ];
        env.extend(defaults.map(|(k, v)| (k.to_owned(), v)));
        env.extend(self.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let contract = [
            ("AWS_LAMBDA_RUNTIME_API", ctx.runtime_api.to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME", self.name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.memory_mb.to_string(),
            ),
        ];
        env.extend(contract.map(|(k, v)| (k.to_owned(), v)));
        env
    }
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    true
}

/// What the environment of a process depends on besides its spec.
pub(crate) struct EnvContext<'a> {
    pub region: &'a str,
    pub runtime_api: &'a str,
    pub log_stream: &'a str,
    pub inherit: &'a [String],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> EnvContext<'static> {
        EnvContext {
            region: "eu-west-1",
            runtime_api: "127.0.0.1:9001",
            log_stream: "2026/01/01/[$LATEST]00",
            inherit: &[],
        }
    }

    #[test]
    fn the_runtime_api_contract_cannot_be_overridden_by_the_caller() {
        let spec = FunctionSpec::new("Echo", "/bin/true")
            .env("AWS_LAMBDA_RUNTIME_API", "elsewhere:1")
            .env("AWS_LAMBDA_FUNCTION_NAME", "Other");
        let env = spec.process_env(&ctx());
        assert_eq!(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "Echo");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    }

    #[test]
    fn caller_variables_override_lambda_defaults() {
        let spec = FunctionSpec::new("Echo", "/opt/fn/bootstrap").env("AWS_REGION", "us-west-2");
        let env = spec.process_env(&ctx());
        assert_eq!(env["AWS_REGION"], "us-west-2");
        assert_eq!(env["AWS_DEFAULT_REGION"], "eu-west-1");
        assert_eq!(env["LAMBDA_TASK_ROOT"], "/opt/fn");
        assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/Echo");
    }

    #[test]
    fn host_variables_are_not_inherited_unless_listed() {
        let env = FunctionSpec::new("Echo", "/bin/true").process_env(&ctx());
        assert!(!env.contains_key("HOME"));
        assert!(!env.contains_key("PATH"));
    }

    #[test]
    fn names_outside_lambdas_alphabet_are_rejected() {
        for name in ["", "has space", "slash/name", &"x".repeat(65)] {
            let err = FunctionSpec::new(name, "/bin/true").validate().unwrap_err();
            assert!(matches!(err, StartError::InvalidFunction { .. }), "{name}");
        }
    }

    #[test]
    fn a_bootstrap_that_is_not_executable_is_rejected() {
        let file = tempfile::NamedTempFile::new().unwrap();

        let err = FunctionSpec::new("Echo", file.path())
            .resolve()
            .unwrap_err();

        assert!(err.to_string().contains("is not executable"), "{err}");
    }

    #[test]
    fn a_relative_bootstrap_path_is_made_absolute() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::current_dir().unwrap();
        let file = tempfile::NamedTempFile::new_in(&dir).unwrap();
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let relative = file.path().strip_prefix(&dir).unwrap();

        let spec = FunctionSpec::new("Echo", relative).resolve().unwrap();

        assert_eq!(spec.bootstrap(), file.path());
        assert_eq!(spec.task_root(), dir);
    }

    #[test]
    fn a_missing_bootstrap_is_reported_with_its_path() {
        let err = FunctionSpec::new("Echo", "/nonexistent/bootstrap")
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/bootstrap"), "{err}");
    }
}
