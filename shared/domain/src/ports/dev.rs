//! Dev-only powers. Only the dev server wires these (the `memory` crate
//! implements them); no deployed function can read an answer or a message.

use super::captcha::CaptchaLog;
use super::delivery::Delivery;
use super::system::Timestamp;
use serde::Serialize;

/// Reads back captcha answers (`GET /_dev/captchas/{id}`).
pub trait CaptchaAnswers: CaptchaLog {
    fn answer(&self, id: &str) -> Option<String>;
}

/// A message as the dev mailbox keeps it.
#[derive(Clone, Debug, Serialize)]
pub struct SentMessage {
    pub channel: &'static str,
    pub to: String,
    pub purpose: &'static str,
    pub subject: Option<String>,
    pub text: String,
    pub code: Option<String>,
    pub sent_at: Timestamp,
}

/// A delivery that keeps what it sends (`GET /_dev/messages`).
pub trait Mailbox: Delivery {
    /// Messages to `to` (canonical form), newest first.
    fn to(&self, to: &str) -> Vec<SentMessage>;
}

/// An event bus that keeps what it publishes (`GET /_dev/events`).
pub trait EventLog: super::EventBus {
    /// Every event published, newest first.
    fn events(&self) -> Vec<super::PublishedEvent>;
}
