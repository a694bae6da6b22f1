//! What a text message costs and who may run it up: the day's SMS budgets
//! (`budget`, sharded counters), and the SMS fraud guard (`guard`, per
//! number prefix and per country). Sends (`codes`) count against both in
//! their transaction; the delivery (`outbox`) takes a notice's share of the
//! budgets and reviews each send.

pub mod budget;
pub mod guard;

pub use budget::SHARDS as SMS_BUDGET_SHARDS;
pub use budget::{SpendError, take_sms};
