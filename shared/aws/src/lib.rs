//! AWS adapters: the DynamoDB store (feature `dynamodb`) and SES/SNS
//! delivery (feature `delivery`), behind the domain's ports. Functions that
//! send nothing build without the SES and SNS clients.

#[cfg(feature = "delivery")]
pub mod delivery;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;

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

/// The shared AWS configuration (credentials, region, endpoints) from the
/// standard chain, with `timeouts` from the environment; `us-east-1` when no
/// region is configured (local stand-ins).
pub async fn sdk_config() -> aws_config::SdkConfig {
    let region = aws_config::meta::region::RegionProviderChain::default_provider()
        .or_else(aws_config::Region::new("us-east-1"));
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(region)
        .timeout_config(timeouts(|name| std::env::var(name).ok()))
        .load()
        .await
}
