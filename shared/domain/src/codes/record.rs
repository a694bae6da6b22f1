//! Pure operations on a destination's record.

use crate::address::Destination;
use crate::config::Config;
use crate::ports::{DestRecord, Timestamp};
use crate::purpose::Purpose;

/// The record key of a (purpose, destination). Codes for `bind` and
/// `verify` also belong to the logged-in account that asked for them, so one
/// account's code (or token) can never serve another account.
pub fn record_key(purpose: Purpose, dest: &Destination, account: Option<&str>) -> String {
    key_of(purpose, &dest.key(), account)
}

/// `record_key` from a destination key (`email:…`, `sms:…`).
pub(super) fn key_of(purpose: Purpose, dest_key: &str, account: Option<&str>) -> String {
    match account.filter(|_| purpose.needs_login()) {
        Some(id) => format!("{}|{dest_key}|{id}", purpose.as_str()),
        None => format!("{}|{dest_key}", purpose.as_str()),
    }
}

/// Whole seconds from `now` until `t`, at least 1.
pub(crate) fn secs_until(t: Timestamp, now: Timestamp) -> u64 {
    (t - now).max(1) as u64
}

/// A copy of `old` without what has expired by `now`.
pub(crate) fn fresh(old: &DestRecord, now: Timestamp, cfg: &Config) -> DestRecord {
    DestRecord {
        key: old.key.clone(),
        version: old.version,
        sends: old.sends.clone(),
        code: old.code.clone().filter(|c| c.expires_at > now),
        // Only as many as decide hardening are kept (the newest): a record
        // stays small however many checks fail.
        fails: old
            .fails
            .iter()
            .copied()
            .filter(|&t| t > now - cfg.verify_fail_window_secs)
            .take(cfg.verify_fail_max as usize)
            .collect(),
        checks: old.checks.clone(),
        token: old.token.clone().filter(|t| t.expires_at > now),
        expires_at: old.expires_at,
    }
}

/// The longest anything in a record matters after it is written: the TTL
/// of a write that does not read the record first.
pub(crate) fn longest(cfg: &Config) -> i64 {
    [
        cfg.code_window_secs,
        cfg.code_resend_interval_secs,
        cfg.code_ttl_secs,
        cfg.verify_fail_window_secs,
        super::types::VERIFICATION_TOKEN_TTL,
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}

/// When nothing in the record matters any more (its TTL).
pub(crate) fn horizon(r: &DestRecord, now: Timestamp, cfg: &Config) -> Timestamp {
    let mut t = now + 1;
    if let Some(&s) = r.sends.first() {
        t = t.max(s + cfg.code_window_secs.max(cfg.code_resend_interval_secs));
    }
    if let Some(c) = &r.code {
        t = t.max(c.expires_at);
    }
    if let Some(&f) = r.fails.first() {
        t = t.max(f + cfg.verify_fail_window_secs);
    }
    if let Some(tok) = &r.token {
        t = t.max(tok.expires_at);
    }
    t
}
