//! `stackgen local`: the whole app from the checked model on one machine, with the real handler
//! binaries, without AWS or Docker.
//!
//! One module per job: [`endpoint`] (the AWS endpoint: ours or the caller's),
//! [`resources`] (what the model declares, created there), [`functions`] (the handler
//! binaries and their environment), [`triggers`] (queues and rules invoking functions),
//! [`gateway`] (the REST APIs); this module wires them together.

pub mod endpoint;
pub mod functions;
pub mod gateway;
pub mod resources;

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
    Event(#[from] stackgen_local::EventFileError),
    /// The functions could not be started.
    #[error(transparent)]
    Start(#[from] stackgen_local::StartError),
    /// A single invocation failed without an outcome.
    #[error(transparent)]
    Invoke(#[from] stackgen_local::InvokeOnceError),
}
