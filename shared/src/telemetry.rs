//! Logging. JSON lines (CloudWatch indexes the fields); `RUST_LOG` filters,
//! default `info`. Nothing secret is ever a field: codes, captcha answers,
//! passwords and tokens are not logged, and addresses only masked.

use tracing_subscriber::EnvFilter;

/// Initialises JSON logging for a Lambda function. Safe to call twice.
pub fn init_json() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Human-readable logs for the dev server.
pub fn init_pretty() {
    let _ = tracing_subscriber::fmt().with_env_filter(filter()).with_target(false).try_init();
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}
