//! In-process adapters: the embedded store (`MemoryStore`), the dev mailbox
//! (`Mailbox`, a delivery that keeps what it would have sent) and the dev captcha-answer
//! log (`AnswerLog`) and the dev event bus (`EventLog`). The dev server and the tests wire them; no deployed
//! function does.

mod answers;
mod events;
mod guard;
mod mailbox;
mod metrics;
mod store;

pub use answers::AnswerLog;
pub use events::EventLog;
pub use mailbox::Mailbox;
pub use metrics::MetricLog;
pub use store::{MemoryStore, MessageState};
