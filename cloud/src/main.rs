//! The `stackgen-cloud` command line: the app of the model on this machine (`local`) or
//! one of its functions run once (`invoke`), without AWS or Docker. Prints its error once
//! and picks the exit code (0 ok, 1 findings or a failed invocation, 2 anything else).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stackgen::commands::Outcome;
use stackgen_cloud::commands;

/// Runs the app's model locally: functions, APIs, queues and buses against moto server.
#[derive(Debug, Parser)]
#[command(name = "stackgen-cloud", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one function once with an event file and print its response (no Docker).
    Invoke(commands::invoke::Args),
    /// Run the whole app locally (functions, APIs, queues, buses) against moto server.
    Local(commands::local::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Invoke(args) => commands::invoke::run(args),
        Command::Local(args) => commands::local::run(args),
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
