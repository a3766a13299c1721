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
    /// Compare the templates the model renders with `generated/` at a git ref, resource
    /// by resource, and flag replacements, orphans, wider permissions, removed outputs
    /// and routes.
    Diff(commands::diff::Args),
    /// Moved to `stackgen-cloud`; answers with the command to run instead.
    #[command(hide = true)]
    Local(Moved),
    /// Moved to `stackgen-cloud`; answers with the command to run instead.
    #[command(hide = true)]
    Invoke(Moved),
}

/// The arguments of a command that now lives in `stackgen-cloud`, kept to repeat them.
#[derive(Debug, clap::Args)]
struct Moved {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Tells a user of the old `stackgen local` / `stackgen invoke` where the command is now.
fn moved(command: &str, args: &Moved) -> ExitCode {
    let mut line = format!("cargo run -p stackgen-cloud -- {command}");
    for arg in &args.args {
        line.push(' ');
        line.push_str(arg);
    }
    eprintln!(
        "error: `{command}` is a command of `stackgen-cloud`, which runs the app locally and \
         keeps the AWS SDK out of the generator; run:\n  {line}"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Render(args) => commands::render::run(args),
        Command::Validate(args) => commands::validate::run(args),
        Command::Schema(args) => commands::schema::run(args),
        Command::Diff(args) => commands::diff::run(args),
        Command::Local(args) => return moved("local", args),
        Command::Invoke(args) => return moved("invoke", args),
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
