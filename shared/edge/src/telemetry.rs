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
    filter_with("info")
}

/// `RUST_LOG` (else `default`), with the AWS SDK and HTTP stack held at
/// `info` whatever it says: at `debug`/`trace` they print whole requests
/// and responses, which hold table keys (addresses) and sealed codes.
pub fn filter_with(default: &str) -> EnvFilter {
    let wanted = std::env::var("RUST_LOG").unwrap_or_else(|_| default.to_string());
    let mut filter = EnvFilter::try_new(&wanted).unwrap_or_else(|_| EnvFilter::new(default));
    for quiet in [
        "aws_smithy_runtime",
        "aws_smithy_runtime_api",
        "aws_smithy_http",
        "aws_smithy_http_client",
        "aws_config",
        "aws_runtime",
        "aws_sdk_dynamodb",
        "aws_sdk_ses",
        "aws_sdk_sns",
        "hyper",
        "hyper_util",
        "h2",
        "rustls",
    ] {
        if let Ok(d) = format!("{quiet}=info").parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}
