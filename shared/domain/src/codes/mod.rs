//! One-time codes: send (`POST /v1/codes`) and check (`POST /v1/codes/verify`),
//! and the redemption of a code or verification token by the account flows.
//!
//! Everything about one (purpose, destination) lives in one versioned record
//! (`DestRecord`): recent sends, the live code (sealed), recent failed checks
//! and the live verification token. A request reads it, decides (`policy`,
//! pure), and writes it back on condition that nobody wrote in between; a
//! lost race is retried from the read (`retry`). Per-IP and SMS budget
//! limits are fixed-window counters incremented in the same transaction as
//! the captcha and the record, so no concurrent requests can exceed any limit.
//!
//! Round trips: send = 2 (read record + owner; one transaction), plus 1 to
//! read the account when authenticated. Verify = 2 (read; conditional write).

mod budget;
mod check;
pub mod policy;
mod record;
mod send;
mod types;

pub use budget::SHARDS as SMS_BUDGET_SHARDS;
pub use check::{
    Proof, RedeemVerification, Redeemed, Redemption, redeem, redeem_for, redeem_step_up,
    redeem_verification, verify,
};
pub use record::record_key;
pub use send::send;
pub use types::*;
