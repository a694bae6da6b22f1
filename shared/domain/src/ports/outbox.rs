//! The transactional outbox: outgoing messages written by a send's
//! transaction and handed to a provider later, off the request path; the
//! addresses that must not be sent to; and what tells the delivery function
//! a message is waiting (the table's stream when deployed, the relay in
//! process elsewhere).

use super::store::{Counter, DestRecord, OutgoingMessage, StoreError};
use super::system::Timestamp;
use async_trait::async_trait;

/// The outcome of claiming a message for delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Ours until the lease ends: deliver it, then settle, release or fail it.
    Claimed(OutgoingMessage),
    /// Already delivered, given up on, or gone (expired): nothing to do.
    Settled,
    /// Another delivery holds it until `until` (a crashed one's lease runs out).
    Leased { until: Timestamp },
}

/// The outcome of recording a message as failed for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOutcome {
    /// Message failed, record saved, counters refunded — all at once.
    Committed,
    /// The destination record changed since it was read: read it again.
    Conflict,
    /// The message is no longer claimed (settled by another delivery).
    NotClaimed,
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims a pending message (or one whose lease ended by `now`) until
    /// `lease_until`, adding one to its attempts. Of concurrent claims at
    /// most one wins. Errors: `Unavailable`, `Corrupt`.
    async fn claim_message(
        &self,
        id: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError>;

    /// Marks a claimed message done (delivered, suppressed or nothing to
    /// send). Errors: `Unavailable`.
    async fn settle_message(&self, id: &str) -> Result<(), StoreError>;

    /// Gives a claimed message back for a later attempt. Errors: `Unavailable`.
    async fn release_message(&self, id: &str) -> Result<(), StoreError>;

    /// All or nothing, once: marks the claimed message failed, saves
    /// `record` (the code disabled, the send taken out of its window) if it
    /// is still at `expected_version`, and takes one back from each counter.
    /// Errors: `Unavailable`.
    async fn fail_message(
        &self,
        id: &str,
        record: Option<(&DestRecord, u64)>,
        refunds: &[Counter],
    ) -> Result<FailOutcome, StoreError>;

    /// Whether messages to `address` (`email:…`/`sms:…`) are suppressed.
    async fn is_suppressed(&self, address: &str) -> Result<bool, StoreError>;

    /// Suppresses messages to `address` from now on (a hard bounce or a
    /// complaint). Idempotent. Errors: `Unavailable`.
    async fn suppress(&self, address: &str, reason: &str, now: Timestamp)
    -> Result<(), StoreError>;
}

/// Told of each message a send committed. Deployed, the table's stream
/// does this job and the relay does nothing; the dev server and tests hand
/// the message to the delivery code in process.
#[async_trait]
pub trait Relay: Send + Sync {
    async fn committed(&self, message_id: &str);
}

/// The deployed relay: the table's stream feeds the delivery function.
pub struct StreamRelay;

#[async_trait]
impl Relay for StreamRelay {
    async fn committed(&self, _: &str) {}
}
