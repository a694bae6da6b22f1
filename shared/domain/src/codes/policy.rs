//! The send policy, pure: whether the destination's own limits allow a send
//! now, and what record it writes. No store, no clock, no randomness: `send`
//! runs these against the ports (and the counters refuse inside the store's
//! transaction). What goes out is decided at delivery
//! (`outbox::what_goes_out`).

use super::record::{fresh, secs_until};
use crate::config::Config;
use crate::ports::{DestRecord, Hardening, SendLimits, Timestamp};
use crate::purpose::Purpose;

/// The destination's limits, as the store checks them in a send that does
/// not read the record first.
pub fn limits(cfg: &Config, purpose: Purpose) -> SendLimits {
    SendLimits {
        resend_secs: cfg.code_resend_interval_secs,
        window_secs: cfg.code_window_secs,
        window_max: cfg.code_window_max,
        hardening: hardening(cfg, purpose),
        // After a write from a read, a record holds at most `code_window_max`
        // sends and `verify_fail_max` failures: room for as many again.
        keep: 2 * cfg.code_window_max.max(cfg.verify_fail_max),
    }
}

/// When codes are short and die after their checks (`DestRecord::open_code`).
/// The codes that belong to the account asking (`bind`, `verify`) are
/// long from the start and die after their checks: their records never
/// harden (no record holds this many failures: `fresh` keeps
/// `verify_fail_max`).
pub fn hardening(cfg: &Config, purpose: Purpose) -> Hardening {
    Hardening {
        max_attempts: cfg.code_max_attempts,
        fail_max: match purpose.needs_login() {
            true => NEVER_HARDENS,
            false => cfg.verify_fail_max,
        },
        remember_secs: cfg.verify_fail_window_secs,
    }
}

/// A failure count no record reaches.
const NEVER_HARDENS: u32 = 1000;

/// How many digits a new code has: the hardened length once the
/// destination is hardened, and always for the codes that belong to the
/// account asking (`bind`, `verify`): each account has a record of its own
/// for an address, so its failures harden nothing for another account, and
/// only the address's send windows (shared across accounts for `bind`)
/// bound the guesses at it.
pub fn code_length(cfg: &Config, purpose: Purpose, hardened: bool) -> u32 {
    match hardened || purpose.needs_login() {
        true => cfg.code_length_hardened,
        false => cfg.code_length,
    }
}

/// Seconds until the destination may be sent to again, if not now: one
/// resend interval after the last send, and one window after the oldest of
/// the last `code_window_max` sends.
pub fn wait(r: &DestRecord, now: Timestamp, cfg: &Config) -> Option<u64> {
    let mut at = None;
    if let Some(&last) = r.sends.first()
        && last > now - cfg.code_resend_interval_secs
    {
        at = Some(last + cfg.code_resend_interval_secs);
    }
    let recent = r.sends.iter().filter(|&&t| t > now - cfg.code_window_secs);
    if let Some(&nth) = recent.clone().nth(cfg.code_window_max as usize - 1) {
        let window = nth + cfg.code_window_secs;
        at = Some(at.map_or(window, |a: Timestamp| a.max(window)));
    }
    at.map(|at| secs_until(at, now))
}

/// The record a permitted send writes: expired parts dropped, this send
/// first in the window, the next version. The code (if any) and the TTL are
/// set by the caller.
pub fn next_record(old: &DestRecord, now: Timestamp, cfg: &Config) -> DestRecord {
    let mut new = fresh(old, now, cfg);
    let recent = old.sends.iter().copied().filter(|&t| t > now - cfg.code_window_secs);
    new.sends = std::iter::once(now).chain(recent).take(cfg.code_window_max as usize).collect();
    new.version = old.version + 1;
    new
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secrets;

    fn cfg() -> Config {
        Config::from_lookup(|_| None, Secrets::GenerateIfMissing).unwrap()
    }

    #[test]
    fn the_resend_interval_and_the_window_make_sends_wait() {
        let c = cfg();
        let just_sent = DestRecord { sends: vec![990], ..Default::default() };
        assert_eq!(wait(&just_sent, 1000, &c), Some(50));
        let five: DestRecord =
            DestRecord { sends: vec![900, 800, 700, 600, 500], ..Default::default() };
        assert_eq!(wait(&five, 1000, &c), Some(100), "the fifth-newest leaves the window at 1100");
        assert_eq!(wait(&five, 1100, &c), None);
        let next = next_record(&five, 1000, &c);
        assert_eq!(next.sends, vec![1000, 900, 800, 700, 600]);
        assert_eq!(next.version, 1);
    }
}
