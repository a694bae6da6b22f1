//! AWS adapters: the DynamoDB store (feature `dynamodb`) and SES/SNS
//! delivery (feature `delivery`), behind the domain's ports. Functions that
//! send nothing build without the SES and SNS clients.

#[cfg(feature = "delivery")]
pub mod delivery;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "delivery")]
pub mod events;

use std::time::Duration;

/// How long a call to DynamoDB, SES or SNS may take: to connect, per
/// attempt, and in all (the SDK's retries of throttling and transient
/// errors included). From `CALL_CONNECT_TIMEOUT_MS` (default 1000),
/// `CALL_ATTEMPT_TIMEOUT_MS` (2000) and `CALL_TIMEOUT_MS` (4000), so a
/// stalled or unreachable dependency fails a request within 5 s.
pub fn timeouts(get: impl Fn(&str) -> Option<String>) -> aws_config::timeout::TimeoutConfig {
    let ms = |name: &str, default: u64| {
        let value = get(name).and_then(|v| v.trim().parse::<u64>().ok()).filter(|v| *v > 0);
        Duration::from_millis(value.unwrap_or(default))
    };
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(ms("CALL_CONNECT_TIMEOUT_MS", 1000))
        .operation_attempt_timeout(ms("CALL_ATTEMPT_TIMEOUT_MS", 2000))
        .operation_timeout(ms("CALL_TIMEOUT_MS", 4000))
        .build()
}

/// The HTTPS client of every AWS client: hyper and rustls over `ring` (one
/// TLS stack, and a smaller one than aws-lc).
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The shared AWS configuration (credentials, region, endpoints) from the
/// standard chain, with `timeouts` from the environment; `us-east-1` when no
/// region is configured (local stand-ins). For the dev server, the admin
/// tool and tests, which may run anywhere.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeouts(|name| std::env::var(name).ok()))
        .load()
        .await;
    match sdk.region() {
        Some(_) => sdk,
        None => sdk.into_builder().region(aws_config::Region::new("us-east-1")).build(),
    }
}

/// A deployed function's AWS configuration, from what Lambda puts in its
/// environment: the region (`AWS_REGION`, else `us-east-1`), the function
/// role's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), `AWS_ENDPOINT_URL` when set, and `timeouts`. No
/// profile files, SSO, STS or instance metadata: a function never needs
/// them, and leaving them out keeps about a megabyte out of each binary.
/// Service-specific endpoints (`AWS_ENDPOINT_URL_DYNAMODB`, …) are read
/// with the rest of the deployment (`service_endpoint`) and given to each
/// client.
pub fn lambda_sdk_config(get: impl Fn(&str) -> Option<String>) -> aws_config::SdkConfig {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_credential_types::provider::SharedCredentialsProvider;
    let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let region = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION"));
    let mut config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.unwrap_or_else(|| "us-east-1".into())))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(http_client())
        .timeout_config(timeouts(get));
    if let Some(url) = get("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(url);
    }
    config.build()
}

/// `AWS_ENDPOINT_URL_<SERVICE>` (`service` as the SDK spells it, e.g.
/// `DYNAMODB`, `SES`, `SNS`), which overrides `AWS_ENDPOINT_URL` for one
/// service.
pub fn service_endpoint(get: impl Fn(&str) -> Option<String>, service: &str) -> Option<String> {
    get(&format!("AWS_ENDPOINT_URL_{service}")).filter(|v| !v.trim().is_empty())
}
