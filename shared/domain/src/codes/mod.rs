//! One-time codes: send (`POST /v1/codes`) and check (`POST /v1/codes/verify`),
//! and the redemption of a code or verification token by the account flows.
//!
//! Everything about one (purpose, destination) lives in one versioned record
//! (`DestRecord`): recent sends, the live code (sealed, and its keyed hash),
//! recent failed checks and the live verification token. The common cases
//! write it without reading it first, on conditions the store checks: a
//! send puts a new code in only if no live code is there and the
//! destination's limits are unspent (`RecordWrite::NewCode`); a check
//! counts a wrong guess or swaps a right one for a token only while the
//! code lives and checks are allowed (`CodeStore::guess_code`). Where the
//! store refuses, it hands back the record, and the request decides from it
//! (`policy`, pure) and writes on condition that nobody wrote in between; a
//! lost race is retried (`retry`). Per-IP and SMS budget limits are
//! fixed-window counters incremented in the same transaction as the captcha
//! and the record, so no concurrent requests can exceed any limit. Who owns
//! the address decides what a send's message is, at delivery. The SMS
//! guard (`guard`) counts text messages per number prefix and country in
//! the same transaction, and judges them at delivery.

mod check;
mod counters;
pub mod policy;
mod record;
mod send;
mod types;

pub use check::{
    Proof, RedeemVerification, Redeemed, Redemption, StepUpRead, VerificationRead, read_step_up,
    read_verification, redeem, redeem_for, redeem_step_up, redeem_verification, verify,
};
pub use record::record_key;
pub use send::send;
pub use types::*;
