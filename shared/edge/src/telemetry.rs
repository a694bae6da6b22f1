//! Logging. JSON lines (CloudWatch indexes the fields); `RUST_LOG` filters,
//! default `info`. Nothing secret is ever a field: codes, captcha answers,
//! passwords and tokens are not logged, and addresses only masked.

use tracing::{Level, Subscriber};
use tracing_subscriber::filter::{FilterExt, Targets, filter_fn};
use tracing_subscriber::layer::{Filter, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Initialises JSON logging for a Lambda function. Safe to call twice.
pub fn init_json() {
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false);
    let _ = tracing_subscriber::registry().with(layer.with_filter(filter())).try_init();
}

/// Human-readable logs for the dev server.
pub fn init_pretty() {
    let layer = tracing_subscriber::fmt::layer().with_target(false);
    let _ = tracing_subscriber::registry().with(layer.with_filter(filter())).try_init();
}

fn filter<S: Subscriber + for<'a> LookupSpan<'a>>() -> impl Filter<S> + Send + Sync + use<S> {
    filter_with("info")
}

/// `RUST_LOG` (else `default`) under the ceiling.
pub fn filter_with<S: Subscriber + for<'a> LookupSpan<'a>>(
    default: &str,
) -> impl Filter<S> + Send + Sync + use<S> {
    filter_from(&std::env::var("RUST_LOG").unwrap_or_else(|_| default.to_string()))
}

/// Crates that, below `info`, print whole requests and responses (table
/// keys, i.e. addresses; bodies with hashes and sealed codes; signatures),
/// and the Lambda runtime and HTTP frameworks, which print each raw
/// invocation event or request (passwords, codes, bearer tokens, API keys).
const CAPPED: &[&str] = &[
    "aws_",
    "hyper",
    "h2",
    "rustls",
    "reqwest",
    "tower",
    "http_body",
    "lambda_runtime",
    "lambda_http",
    "axum",
];

/// Whether an event from `target` at `level` stays under the ceiling.
pub fn under_ceiling(target: &str, level: &Level) -> bool {
    *level <= Level::INFO || !CAPPED.iter().any(|c| target.starts_with(c))
}

/// `directives` (`RUST_LOG`: a default level and `target=level` pairs,
/// comma-separated, e.g. `info,domain=debug`; `info` if they do not parse),
/// and a ceiling no directive lifts: the SDK, HTTP and TLS crates log at
/// `info` at most, however specific the directive that asks for more. Span
/// and field filters (`[span{field=value}]`) are not supported: they need a
/// regular-expression engine, which would add ~0.5 MiB to every function.
pub fn filter_from<S: Subscriber + for<'a> LookupSpan<'a>>(
    directives: &str,
) -> impl Filter<S> + Send + Sync + use<S> {
    let wanted =
        directives.parse::<Targets>().unwrap_or_else(|_| Targets::new().with_default(Level::INFO));
    wanted.and(filter_fn(|meta| under_ceiling(meta.target(), meta.level())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_holds_for_the_sdk_http_and_tls_crates_only() {
        for target in [
            "aws_smithy_runtime::client::orchestrator",
            "aws_sigv4::http_request",
            "hyper_util::client",
            "h2::codec",
            "rustls::conn",
            "reqwest::connect",
            "lambda_runtime::layers::api_response",
            "lambda_runtime_api_client",
            "lambda_http::request",
            "axum::serve",
            "tower_http::trace",
        ] {
            assert!(under_ceiling(target, &Level::INFO), "{target}");
            assert!(!under_ceiling(target, &Level::DEBUG), "{target}");
            assert!(!under_ceiling(target, &Level::TRACE), "{target}");
        }
        assert!(under_ceiling("domain::codes::send", &Level::TRACE));
    }

    #[test]
    fn directives_parse_as_rust_log_spells_them() {
        let targets: Targets = "warn,domain=debug".parse().unwrap();
        assert!(targets.would_enable("domain::codes", &Level::DEBUG));
        assert!(!targets.would_enable("edge::auth", &Level::INFO));
        assert!(targets.would_enable("edge::auth", &Level::WARN));
    }
}
