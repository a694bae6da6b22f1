//! Delivery adapters: `aws` (SES for email, SNS for SMS) and `outbox` (the
//! dev server's, which keeps messages in memory for `GET /_dev/outbox`).

pub mod aws;
pub mod outbox;

use crate::messages::Message;
use async_trait::async_trait;
use std::error::Error as StdError;

#[derive(Debug, thiserror::Error)]
#[error("the provider did not accept the message")]
pub struct DeliveryError(#[source] pub Box<dyn StdError + Send + Sync>);

#[async_trait]
pub trait Delivery: Send + Sync {
    /// Hands `message` to the provider. `Err` when the provider refuses it or
    /// cannot be reached: the caller then answers `502 delivery_failed` and
    /// takes the code and the send back.
    async fn send(&self, message: &Message) -> Result<(), DeliveryError>;
}

/// For functions that never send: every send fails.
pub struct NoDelivery;

#[async_trait]
impl Delivery for NoDelivery {
    async fn send(&self, _: &Message) -> Result<(), DeliveryError> {
        Err(DeliveryError("this function does not send messages".into()))
    }
}
