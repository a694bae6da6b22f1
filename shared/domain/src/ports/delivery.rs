//! Handing a message to a provider (SES, SNS) or the dev outbox.

use crate::address::Channel;
use crate::purpose::Purpose;
use async_trait::async_trait;
use std::error::Error as StdError;
use std::fmt;

/// A message ready for delivery.
#[derive(Clone)]
pub struct Message {
    pub channel: Channel,
    /// The canonical address (email or E.164).
    pub to: String,
    pub purpose: Purpose,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    /// The code the message carries, for the dev server's outbox only;
    /// `None` for notices.
    pub code: Option<String>,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the text or the code.
        f.debug_struct("Message")
            .field("channel", &self.channel)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the provider did not accept the message")]
pub struct DeliveryError(#[source] pub Box<dyn StdError + Send + Sync>);

#[async_trait]
pub trait Delivery: Send + Sync {
    /// Hands `message` to the provider. `Err` when the provider refuses it or
    /// cannot be reached: the send is then taken back.
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
