//! Amazon EventBridge, for the delivery function: account events go to the
//! bus `EVENT_BUS_NAME`, source `vericode`, detail-type `account.<event>`.

use crate::delivery::classify;
use async_trait::async_trait;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use domain::ports::{DeliveryError, EventBus, PublishedEvent};

/// The source every event carries.
pub const SOURCE: &str = "vericode";

pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

/// An entry EventBridge took in but did not put on the bus, by its code.
#[derive(Debug, thiserror::Error)]
#[error("EventBridge did not take the event: {code}")]
struct EntryFailed {
    code: String,
}

/// Entry codes no retry can change.
const PERMANENT: &[&str] =
    &["MalformedDetail", "InvalidArgument", "NotAuthorizedForSourceException"];

impl EventBridgeBus {
    /// `endpoint`: `AWS_ENDPOINT_URL_EVENTBRIDGE`, if set.
    pub fn new(sdk: &aws_config::SdkConfig, bus: String, endpoint: Option<String>) -> Self {
        let mut config = aws_sdk_eventbridge::config::Builder::from(sdk);
        if let Some(url) = endpoint {
            config = config.endpoint_url(url);
        }
        EventBridgeBus { client: aws_sdk_eventbridge::Client::from_conf(config.build()), bus }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, event: &PublishedEvent) -> Result<(), DeliveryError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(&event.detail_type)
            .detail(event.detail.to_string())
            .time(DateTime::from_secs(event.at))
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| classify("EventBridge", e))?;
        match out.entries().first().and_then(|e| e.error_code()) {
            None if out.failed_entry_count() == 0 => Ok(()),
            code => {
                let code = code.unwrap_or("unknown").to_string();
                let permanent = PERMANENT.contains(&code.as_str());
                let e = EntryFailed { code };
                Err(if permanent {
                    DeliveryError::permanent(e)
                } else {
                    DeliveryError::transient(e)
                })
            }
        }
    }
}
