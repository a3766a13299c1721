//! JSON logs for CloudWatch, one object per line.

/// Installs a JSON `tracing` subscriber; the level comes from `RUST_LOG`
/// (or `AWS_LAMBDA_LOG_LEVEL`), `info` by default. Safe to call more than once.
pub fn init_tracing() {
    let filter = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_lowercase()))
        .unwrap_or_else(|_| "info".to_owned());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_current_span(false)
        .with_target(false)
        .without_time() // CloudWatch stamps every line
        .try_init();
}
