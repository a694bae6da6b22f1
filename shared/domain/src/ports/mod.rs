//! Ports: the narrow interfaces the use cases depend on. Adapters implement
//! them — `memory` (the embedded store, the dev outbox), `aws` (DynamoDB,
//! SES/SNS) — and tests substitute their own clock and randomness.

mod captcha;
mod delivery;
pub mod dev;
mod error;
mod events;
mod guard;
mod metrics;
mod outbox;
mod records;
mod store;
mod system;

pub use captcha::{
    CaptchaLog, CaptchaRenderer, CaptchaVerifier, NoCaptchaLog, NoCaptchaVerifier, NoRenderer,
    ProviderError, RenderError, RenderedCaptcha,
};
pub use delivery::{Delivery, DeliveryError, Message};
pub use events::{EventBus, NoEvents, PublishedEvent};
pub use guard::{
    GuardBlock, GuardScope, GuardSend, GuardStore, GuardTally, GuardTouch, HourTally, ListedBlock,
};
pub use metrics::{DeliveryResult, Metric, Metrics, NoMetrics, SendResult};
pub use outbox::{Claim, FailOutcome, OutboxStore, Relay, StreamRelay};
pub use store::*;
pub use system::{Clock, ManualClock, OsRandom, Random, RandomError, SystemClock, Timestamp};

/// Everything the use cases need from the store.
pub trait Store:
    CaptchaStore
    + CodeStore
    + CounterStore
    + AccountStore
    + SecretStore
    + ApiKeyStore
    + OutboxStore
    + GuardStore
{
}
impl<
    T: CaptchaStore
        + CodeStore
        + CounterStore
        + AccountStore
        + SecretStore
        + ApiKeyStore
        + OutboxStore
        + GuardStore,
> Store for T
{
}
