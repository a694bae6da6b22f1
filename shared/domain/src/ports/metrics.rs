//! Operational metrics: counts by channel, purpose and outcome — never an
//! address, a code or an account. The deployed adapter writes CloudWatch
//! Embedded Metric Format; tests record them.

use super::guard::GuardScope;
use crate::address::Channel;
use crate::purpose::Purpose;

/// One countable event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// A `POST /v1/codes` answered: accepted (decoys included: the request
    /// path does not tell them apart), rate-limited, SMS budget spent or
    /// captcha refused.
    Send { channel: Channel, purpose: Purpose, outcome: SendResult },
    /// A wrong, used or unknown captcha (sends and password logins).
    CaptchaFailed,
    /// The delivery function's verdict on one message.
    Delivery { channel: Channel, purpose: Purpose, outcome: DeliveryResult },
    /// The delivery function's verdict on one security notice.
    Notice { channel: Channel, outcome: DeliveryResult },
    /// A text message handed to the provider, by country calling code.
    SmsSent { country: u16 },
    /// An SMS send the guard counted (decoys included), by country.
    GuardSend { country: u16 },
    /// A text message's code used (checked right or redeemed), by country.
    GuardConversion { country: u16 },
    /// The guard blocked a prefix or a country (`monitor`: only watches it).
    GuardBlock { country: u16, scope: GuardScope, monitor: bool },
    /// An SMS send the guard refused (`monitor`: would have refused).
    GuardRefusal { country: u16, monitor: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendResult {
    Accepted,
    RateLimited,
    BudgetExhausted,
    CaptchaInvalid,
    /// The SMS guard blocks the destination's prefix or country.
    Blocked,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The provider accepted it.
    Delivered,
    /// Nothing to send (a send whose rule did not hold and needs no notice).
    Silent,
    /// The address bounced or complained before: not sent.
    Suppressed,
    /// The provider failed; it will be tried again.
    Retried,
    /// Failed for good (retries spent or a permanent refusal).
    Failed,
    /// A failed message's code disabled and its send refunded.
    Refunded,
    /// Not sent: the SMS guard blocks its destination.
    Blocked,
}

impl SendResult {
    pub fn as_str(self) -> &'static str {
        match self {
            SendResult::Accepted => "accepted",
            SendResult::RateLimited => "rate_limited",
            SendResult::BudgetExhausted => "budget_exhausted",
            SendResult::CaptchaInvalid => "captcha_invalid",
            SendResult::Blocked => "blocked",
        }
    }
}

impl DeliveryResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryResult::Delivered => "delivered",
            DeliveryResult::Silent => "silent",
            DeliveryResult::Suppressed => "suppressed",
            DeliveryResult::Retried => "retried",
            DeliveryResult::Failed => "failed",
            DeliveryResult::Refunded => "refunded",
            DeliveryResult::Blocked => "blocked",
        }
    }
}

pub trait Metrics: Send + Sync {
    fn record(&self, metric: Metric);
}

/// Records nothing.
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn record(&self, _: Metric) {}
}
