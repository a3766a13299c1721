//! `stackgen schema`: prints the JSON Schema of the model files, derived from the Rust types,
//! so editors can complete and check them (e.g. with a `# yaml-language-server: $schema=`
//! comment).

use super::{CommandError, Outcome};
use crate::model::{AppFile, ServiceFile};

/// Print the JSON Schema of a model file.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which file: `service` (`model/<service>.yaml`) or `app` (`model/app.yaml`).
    #[arg(value_enum, default_value_t = Which::Service)]
    pub file: Which,
}

/// The kinds of model file.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Which {
    /// A service file.
    Service,
    /// `app.yaml`.
    App,
}

/// Prints the schema to stdout.
pub fn run(args: &Args) -> Result<Outcome, CommandError> {
    println!("{}", schema_json(args.file)?);
    Ok(Outcome::Ok)
}

/// The schema as pretty JSON.
pub fn schema_json(which: Which) -> Result<String, CommandError> {
    let schema = match which {
        Which::Service => schemars::schema_for!(ServiceFile),
        Which::App => schemars::schema_for!(AppFile),
    };
    Ok(serde_json::to_string_pretty(&schema)?)
}
