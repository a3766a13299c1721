//! `stackgen validate`: parses and checks the model without rendering.

use std::path::PathBuf;

use super::{CommandError, Layout, Outcome};

/// Check the model and report every problem as `file:line:col: message`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repository root (holds `model/`); found from the working directory when omitted.
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// Runs the checks; `Failed` when the model has findings (already printed).
pub fn run(args: &Args) -> Result<Outcome, CommandError> {
    let layout = Layout::find(args.root.as_deref())?;
    match super::load_app(&layout) {
        Some(app) => {
            println!(
                "model ok: {} services in {}",
                app.services.len(),
                layout.model_dir().display()
            );
            Ok(Outcome::Ok)
        }
        None => Ok(Outcome::Failed),
    }
}
