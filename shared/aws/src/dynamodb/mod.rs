//! The DynamoDB adapter: one table, string `pk`/`sk`, a numeric `expires_at`
//! TTL attribute in epoch seconds. TTL deletion is lazy, so every read and
//! condition also compares `expires_at` with the clock.
//!
//! One file per concern: `keys` and `codec` (items), `captchas`, `codes`
//! (destination records and counters), `guesses` (a code's check),
//! `accounts` (accounts, addresses, sessions), `secrets` (login links and
//! invites), `api_keys`, `outbox` (outgoing messages and suppressed
//! addresses), `guard` (the SMS guard's tallies), `table` (creating it locally). Each of those declares, beside its operations, the DynamoDB
//! actions each one calls (`IAM`): template.yaml must allow a function the
//! actions of every operation its requests use, which `tests/tests/iam.rs`
//! checks from these declarations.

mod accounts;
mod api_keys;
mod calls;
mod captchas;
mod codec;
mod codes;
mod guard;
mod guesses;
mod iam;
pub mod keys;
mod outbox;
mod secrets;
mod store;
mod table;
mod writes;

pub use iam::Operation;
pub use store::{DynamoStore, client};
pub use table::{Stream, ensure_table};

/// Every operation of the adapter, with its actions.
pub fn operations() -> impl Iterator<Item = Operation> {
    [
        captchas::IAM,
        codes::IAM,
        guesses::IAM,
        accounts::IAM,
        secrets::IAM,
        api_keys::IAM,
        outbox::IAM,
        guard::IAM,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// The actions operation `name` calls; `None` for an unknown operation.
pub fn actions(name: &str) -> Option<&'static [&'static str]> {
    operations().find(|o| o.name == name).map(|o| o.actions)
}
