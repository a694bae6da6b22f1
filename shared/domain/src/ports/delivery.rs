//! Handing a message to a provider (SES, SNS) or the dev outbox.

use crate::address::Channel;
use async_trait::async_trait;
use std::error::Error as StdError;
use std::fmt;

/// A message ready for delivery.
#[derive(Clone)]
pub struct Message {
    pub channel: Channel,
    /// The canonical address (email or E.164).
    pub to: String,
    /// What it is about: a code's purpose (`login`, …), or `security` for
    /// a security notice.
    pub purpose: &'static str,
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

/// Why a provider did not take a message. `permanent` when trying again
/// cannot help (an address the provider rejects, an unverified sender);
/// otherwise (throttling, an outage, a timeout) it is tried again later.
#[derive(Debug, thiserror::Error)]
#[error("the provider did not accept the message")]
pub struct DeliveryError {
    pub permanent: bool,
    #[source]
    pub source: Box<dyn StdError + Send + Sync>,
}

impl DeliveryError {
    pub fn transient(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        DeliveryError { permanent: false, source: source.into() }
    }

    pub fn permanent(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        DeliveryError { permanent: true, source: source.into() }
    }
}

#[async_trait]
pub trait Delivery: Send + Sync {
    /// Hands `message` to the provider.
    async fn send(&self, message: &Message) -> Result<(), DeliveryError>;

    /// Asks the provider for `channel` whether it takes messages now,
    /// without sending one. A message that is never sent (a decoy) goes
    /// through this instead of `send`, so that it meets the fate a real one
    /// would meet during an outage: retried, then failed with its code
    /// disabled and its send refunded.
    async fn probe(&self, channel: Channel, to: &str) -> Result<(), DeliveryError>;
}
