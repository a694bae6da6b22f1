//! Ports: the narrow interfaces the use cases depend on. Adapters implement
//! them — `memory` (the embedded store, the dev outbox), `aws` (DynamoDB,
//! SES/SNS) — and tests substitute their own clock and randomness.

mod captcha;
mod delivery;
pub mod dev;
mod store;
mod system;

pub use captcha::{CaptchaLog, CaptchaRenderer, NoCaptchaLog, RenderError, RenderedCaptcha};
pub use delivery::{Delivery, DeliveryError, Message, NoDelivery};
pub use store::*;
pub use system::{Clock, ManualClock, OsRandom, Random, RandomError, SystemClock, Timestamp};
