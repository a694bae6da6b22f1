//! In-process adapters: the embedded store (`MemoryStore`), the dev outbox
//! (`Outbox`, a delivery that keeps what it sends) and the dev captcha-answer
//! log (`AnswerLog`). The dev server and the tests wire them; no deployed
//! function does.

mod answers;
mod guard;
mod metrics;
mod outbox;
mod store;

pub use answers::AnswerLog;
pub use metrics::MetricLog;
pub use outbox::Outbox;
pub use store::{MemoryStore, MessageState};
