//! The SMS fraud guard's tallies (`sms::guard`): sends and conversions
//! by clock hour for each destination prefix, and for each country in
//! shards, with the block in force on each.

use super::error::StoreError;
use super::system::Timestamp;
use async_trait::async_trait;
use std::collections::BTreeMap;

/// One clock hour of a tally.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HourTally {
    /// SMS sends accepted.
    pub sends: u32,
    /// Codes of those sends used: checked right, or redeemed.
    pub conversions: u32,
}

/// A block, with the reason it was made; in monitor mode the same is kept
/// as a watch, which refuses nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardBlock {
    pub until: Timestamp,
    pub at: Timestamp,
    pub reason: String,
}

impl GuardBlock {
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.until > now
    }
}

/// A tally as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuardTally {
    pub key: String,
    /// By hour (`timestamp / 3600`).
    pub hours: BTreeMap<i64, HourTally>,
    pub block: Option<GuardBlock>,
    pub watch: Option<GuardBlock>,
}

/// What one SMS send or conversion adds to: its prefix's tally and one
/// shard of its country's, in hour `hour`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardTouch {
    /// The destination's country calling code.
    pub country: u16,
    pub prefix: String,
    pub shard: String,
    pub hour: i64,
    /// The tallies' TTL after this write.
    pub expires_at: Timestamp,
}

/// A send's part of the guard, inside the send's transaction: one send
/// more in both tallies' hour. When enforced (`hourly_max`), refused
/// (`SendOutcome::Blocked`) while either tally holds a block in force, and
/// (`SendOutcome::LimitReached`, `LimitKind::SmsPrefix`) once the prefix's
/// hour holds `hourly_max` sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardSend {
    pub touch: GuardTouch,
    pub hourly_max: Option<u32>,
}

/// Whether a block is a prefix's or a country's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardScope {
    Prefix,
    Country,
}

impl GuardScope {
    pub fn as_str(self) -> &'static str {
        match self {
            GuardScope::Prefix => "prefix",
            GuardScope::Country => "country",
        }
    }
}

/// A block as operators see it (`vericode-admin sms-guard status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedBlock {
    /// `+447911123` (a prefix) or `+44` (a country).
    pub name: String,
    pub scope: GuardScope,
    pub block: GuardBlock,
    /// Made in monitor mode: a watch, refusing nothing.
    pub monitor: bool,
}

#[async_trait]
pub trait GuardStore: Send + Sync {
    /// The tallies named, in order (an empty one for a key with none or
    /// expired at `now`), in one round trip. Errors: `Unavailable`, `Corrupt`.
    async fn guard_tallies(
        &self,
        keys: &[String],
        now: Timestamp,
    ) -> Result<Vec<GuardTally>, StoreError>;

    /// Puts `listed.block` on every tally in `keys` (as a watch if
    /// `listed.monitor`) and lists it, all or nothing — unless the first
    /// tally already holds one in force at `now`. Whether this call made
    /// it. Errors: `Unavailable`.
    async fn guard_block(
        &self,
        keys: &[String],
        listed: &ListedBlock,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Lifts the block and the watch from every tally in `keys` and takes
    /// `name` off the list. Errors: `Unavailable`.
    async fn guard_unblock(&self, keys: &[String], name: &str) -> Result<(), StoreError>;

    /// The blocks and watches listed and still in force at `now`.
    /// Errors: `Unavailable`, `Corrupt`.
    async fn guard_blocks(&self, now: Timestamp) -> Result<Vec<ListedBlock>, StoreError>;

    /// Drops `hours` from tally `key` (they left the guard's window).
    /// Errors: `Unavailable`.
    async fn guard_trim(&self, key: &str, hours: &[i64]) -> Result<(), StoreError>;
}
