//! AWS adapters: the DynamoDB store (feature `dynamodb`) and SES/SNS
//! delivery (feature `delivery`), behind the domain's ports. Functions that
//! send nothing build without the SES and SNS clients.

#[cfg(feature = "delivery")]
pub mod delivery;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;

/// The shared AWS configuration (credentials, region, endpoints) from the
/// standard chain; `us-east-1` when no region is configured (local stand-ins).
pub async fn sdk_config() -> aws_config::SdkConfig {
    let region = aws_config::meta::region::RegionProviderChain::default_provider()
        .or_else(aws_config::Region::new("us-east-1"));
    aws_config::defaults(aws_config::BehaviorVersion::latest()).region(region).load().await
}
