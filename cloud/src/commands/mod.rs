//! The `stackgen-cloud` subcommands, one module each with its `Args` and `run`: they load
//! and check the model as `stackgen` does, then run the app (or one function) locally.

pub mod invoke;
pub mod local;

/// Errors that stop a local command.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The repository or model could not be read.
    #[error(transparent)]
    Generator(#[from] stackgen::commands::CommandError),
    /// The local run or invocation failed.
    #[error(transparent)]
    Local(#[from] crate::LocalError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// The multi-thread async runtime the `local` and `invoke` subcommands run on.
fn async_runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CommandError::Runtime)
}
