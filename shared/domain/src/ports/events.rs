//! Publishing account events to integrators (Amazon EventBridge, or the dev
//! server's list).

use super::delivery::DeliveryError;
use async_trait::async_trait;

/// An account event as published: EventBridge's entry, source `vericode`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PublishedEvent {
    /// Stable across retries: the outgoing message's id (for de-duplication).
    pub id: String,
    /// `account.<event>`.
    pub detail_type: String,
    /// RFC 3339, UTC…
    pub time: String,
    /// …as a Unix timestamp.
    #[serde(skip)]
    pub at: i64,
    /// `{"event_id", "event", "account_id", "time", "network", "device"}`.
    pub detail: serde_json::Value,
}

#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes `event` (at least once: a retry may publish it again, with
    /// the same id). A transient error is tried again later.
    async fn publish(&self, event: &PublishedEvent) -> Result<(), DeliveryError>;
}

/// Where no bus is configured: events are dropped (logged by kind only).
pub struct NoEvents;

#[async_trait]
impl EventBus for NoEvents {
    async fn publish(&self, event: &PublishedEvent) -> Result<(), DeliveryError> {
        tracing::debug!(detail_type = %event.detail_type, "no event bus: event dropped");
        Ok(())
    }
}
