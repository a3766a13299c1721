//! JSON logs for CloudWatch, one object per line.

use tracing::level_filters::LevelFilter;

/// Installs a JSON `tracing` subscriber at the level named by `RUST_LOG` (or
/// `AWS_LAMBDA_LOG_LEVEL`): `error`, `warn`, `info` (the default), `debug`, `trace` or `off`.
/// Safe to call more than once.
///
/// A plain level rather than `EnvFilter` directives: the filter's regex engine would
/// add about a megabyte to every bootstrap for per-module filtering no handler needs.
pub fn init_tracing() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .map(|l| parse_level(&l))
        .unwrap_or(LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_current_span(false)
        .with_target(false)
        .without_time() // CloudWatch stamps every line
        .try_init();
}

/// The level a `RUST_LOG`-style value names; unknown values fall back to `info`.
fn parse_level(value: &str) -> LevelFilter {
    value.trim().parse().unwrap_or(LevelFilter::INFO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_name_in_any_case_is_understood() {
        assert_eq!(parse_level("debug"), LevelFilter::DEBUG);
        assert_eq!(parse_level("WARN"), LevelFilter::WARN);
        assert_eq!(parse_level("off"), LevelFilter::OFF);
    }

    #[test]
    fn an_unknown_level_falls_back_to_info() {
        assert_eq!(parse_level("users=debug"), LevelFilter::INFO);
    }
}
