//! `stackgen-cloud local`: runs the whole app on this machine, as the model describes it,
//! without an AWS account or Docker (see `docs/local.md`).

use std::path::PathBuf;
use std::time::Duration;

use stackgen::commands::{Layout, Outcome, load_app};
use stackgen::model::Ident;

use super::{CommandError, async_runtime};
use crate::Options;

/// Run the whole app locally: functions, APIs, queues and buses against moto server.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The AWS endpoint to create the resources in; without it a moto server is started
    /// on a free loopback port and stopped on exit.
    #[arg(long, value_name = "URL")]
    pub aws_endpoint: Option<String>,
    /// Use the handler binaries already built instead of running `cargo build` first.
    #[arg(long)]
    pub no_build: bool,
    /// Port of the first API; the others take the next ones (by service, then API name).
    /// 0 picks free ports.
    #[arg(long, value_name = "N", default_value_t = 3000)]
    pub port_base: u16,
    /// When a queue message a function failed is delivered again: after SECONDS, or
    /// `queue` for the queue's visibility timeout, as on Lambda (a poison message then
    /// takes minutes to reach its dead-letter queue).
    #[arg(long, value_name = "SECONDS|queue", default_value = "1", value_parser = parse_retry_delay)]
    pub retry_delay: RetryDelay,
    /// Repository root (holds `model/`); found from the working directory when omitted.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Watch the handler sources; on a change, rebuild the function binaries and reload
    /// the functions whose binary changed, keeping the endpoint's data, the APIs and
    /// the triggers running.
    #[arg(long)]
    pub watch: bool,
    /// Sign in a demo admin and a demo user in every user pool and print their ID tokens
    /// as `<SERVICE>_<ROLE>_TOKEN=...` lines, ready for `curl -H "Authorization: ..."`.
    #[arg(long)]
    pub demo_users: bool,
    /// The environment this run stands for: the services' outputs are published to
    /// `/<project>/<NAME>/outputs/service/<service>`, as a deployed environment's are, so
    /// clients written for one read a local run by its name.
    #[arg(long, value_name = "NAME", default_value = crate::resources::LOCAL_ENVIRONMENT, value_parser = parse_environment)]
    pub environment: Ident,
}

/// `--retry-delay`: a fixed delay, or `None` for the queue's visibility timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryDelay(pub Option<Duration>);

impl Default for RetryDelay {
    /// A local run's default, one second.
    fn default() -> Self {
        Self(crate::triggers::Options::default().retry_delay)
    }
}

fn parse_retry_delay(value: &str) -> Result<RetryDelay, String> {
    if value == "queue" {
        return Ok(RetryDelay(None));
    }
    value
        .parse::<u32>()
        .map(|s| RetryDelay(Some(Duration::from_secs(u64::from(s)))))
        .map_err(|_| format!("expected whole seconds or `queue`, got `{value}`"))
}

fn parse_environment(value: &str) -> Result<Ident, String> {
    Ident::new(value)
}

/// Runs until Ctrl-C.
pub fn run(args: &Args) -> Result<Outcome, CommandError> {
    let layout = Layout::find(args.root.as_deref())?;
    let Some(app) = load_app(&layout) else {
        return Ok(Outcome::Failed);
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .try_init();
    let mut options = Options::new(&layout.root);
    options.aws_endpoint = args.aws_endpoint.clone();
    options.no_build = args.no_build;
    options.port_base = args.port_base;
    options.triggers.retry_delay = args.retry_delay.0;
    options.watch = args.watch;
    options.progress = true;
    options.demo_users = args.demo_users;
    options.environment = args.environment.clone();
    let tokio = async_runtime()?;
    tokio.block_on(crate::run(&app, options))?;
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_is_seconds_or_the_queues_timeout() {
        assert_eq!(
            parse_retry_delay("5"),
            Ok(RetryDelay(Some(Duration::from_secs(5))))
        );
        assert_eq!(parse_retry_delay("queue"), Ok(RetryDelay(None)));
        assert_eq!(parse_retry_delay("1"), Ok(RetryDelay::default()));
        let error = parse_retry_delay("soon").unwrap_err();
        assert!(error.contains("`soon`"), "{error}");
        assert!(parse_retry_delay("-1").is_err());
    }

    #[test]
    fn the_environment_is_local_unless_named_and_a_bad_name_is_refused() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            local: Args,
        }
        let local = |argv: &[&str]| Cli::try_parse_from(argv).map(|c| c.local.environment);
        assert_eq!(local(&["local"]).unwrap().as_str(), "local");
        assert_eq!(
            local(&["local", "--environment", "dev-2"])
                .unwrap()
                .as_str(),
            "dev-2"
        );
        let error = local(&["local", "--environment", "Prod_1"]).unwrap_err();
        assert!(error.to_string().contains("Prod_1"), "{error}");
    }
}
