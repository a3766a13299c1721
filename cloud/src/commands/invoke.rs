//! `stackgen-cloud invoke`: runs one function of the model once with an event file and prints
//! its response, as `sam local invoke` does, without Docker: the real `bootstrap` binary
//! under the local Lambda Runtime API, with the environment the rendered template gives
//! it, against a local AWS endpoint.

use std::path::PathBuf;

use stackgen::commands::{Layout, Outcome, load_app};

use super::{CommandError, async_runtime};
use crate::endpoint::{self, Endpoint};
use crate::functions::{self, Profile};
use crate::{LocalError, resources};

/// Run one function once with an event file and print its response.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The function's name in the model (`CreateOrderFunction`).
    pub function: String,
    /// The event: a JSON file, such as one under `events/`.
    #[arg(long, short = 'e')]
    pub event: PathBuf,
    /// The AWS endpoint (for example a running `stackgen local`'s moto); without it a
    /// moto server is started for this invocation and stopped after it. The model's
    /// resources are created there unless they exist.
    #[arg(long, value_name = "URL")]
    pub aws_endpoint: Option<String>,
    /// Use the binary already built instead of running `cargo build` first.
    #[arg(long)]
    pub no_build: bool,
    /// Repository root (holds `model/`); found from the working directory when omitted.
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// Builds, invokes and prints; `Failed` when the function returned an error.
pub fn run(args: &Args) -> Result<Outcome, CommandError> {
    let layout = Layout::find(args.root.as_deref())?;
    let Some(app) = load_app(&layout) else {
        return Ok(Outcome::Failed);
    };
    let function = functions::find(&app, &args.function).map_err(LocalError::from)?;
    let event = stackgen_runtime::read_event(&args.event).map_err(LocalError::from)?;
    if !args.no_build {
        functions::build(&layout.root, &[function], Profile::Debug, false)
            .map_err(LocalError::from)?;
    }
    let bin_dir = functions::bin_dir(&layout.root, Profile::Debug).map_err(LocalError::from)?;
    let tokio = async_runtime()?;
    // Started outside the async runtime: moto's keeper thread is a plain thread.
    let endpoint = Endpoint::from_option(args.aws_endpoint.as_deref(), &layout.root)
        .map_err(LocalError::from)?;
    let outcome = tokio.block_on(async {
        let clients = endpoint::Clients::new(endpoint.url()).await;
        let resolved = resources::create(&app, &clients).await?;
        let spec = functions::spec(function, &resolved, endpoint.url(), &bin_dir)?;
        let builder = stackgen_runtime::Runtime::builder().region(endpoint::REGION);
        let outcome =
            stackgen_runtime::invoke_once(builder, spec, &event, &mut std::io::stdout()).await?;
        Ok::<_, LocalError>(outcome)
    });
    drop(endpoint);
    Ok(if outcome?.is_success() {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
