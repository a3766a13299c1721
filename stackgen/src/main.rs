//! The `stackgen` command line: parses arguments, runs one subcommand, prints its error
//! once and picks the exit code (0 ok, 1 findings or drift, 2 anything else).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stackgen::commands::{self, Outcome};

/// Checks the app's service model and renders its AWS SAM templates.
#[derive(Debug, Parser)]
#[command(name = "stackgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render the SAM templates from `model/` into `generated/` (or check they are current).
    Render(commands::render::Args),
    /// Check the model and report every problem, without rendering.
    Validate(commands::validate::Args),
    /// Print the JSON Schema of the model files.
    Schema(commands::schema::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Render(args) => commands::render::run(args),
        Command::Validate(args) => commands::validate::run(args),
        Command::Schema(args) => commands::schema::run(args),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {:#}", anyhow::Error::from(e));
            ExitCode::from(2)
        }
    }
}
