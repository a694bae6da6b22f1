//! The send policy, pure: from the request, who owns the address and the
//! destination's record, decide what a send does. No store, no clock, no
//! randomness — the orchestration in `send` runs the decision against the
//! ports (and the counters refuse inside the store's transaction).

use super::record::{fresh, secs_until};
use crate::address::Channel;
use crate::config::Config;
use crate::ports::{DestRecord, Timestamp};
use crate::purpose::Purpose;

/// What the policy sees.
pub struct Facts<'a> {
    pub purpose: Purpose,
    pub channel: Channel,
    /// The account owning the address, if any.
    pub owner: Option<&'a str>,
    /// The logged-in caller, if any.
    pub caller: Option<&'a str>,
    /// The destination's record as read.
    pub record: &'a DestRecord,
    pub now: Timestamp,
}

/// What a send does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Store a code and send it: the live one again, or a new one.
    Deliver,
    /// Store a code exactly as `Deliver` would — same writes, same limits,
    /// so every later check and response is the same — but never deliver
    /// it; send the address's owner `notice` instead, if any
    /// (anti-enumeration: the purpose's rule does not hold).
    Decoy { notice: Option<Notice> },
    /// Refuse: too soon after the last send, or too many in the window.
    Wait { retry_after: u64 },
}

/// What the owner of an address is told in place of a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Someone asked to sign up with an address that has an account.
    AccountExists,
    /// Another account asked to add this address, which is this account's.
    BindAttempt,
}

/// Decides a send. Who owns the address decides what goes out; the
/// destination's own limits (resend interval, sends per window) decide
/// whether anything does.
pub fn decide(f: &Facts<'_>, cfg: &Config) -> Decision {
    let owned = f.owner.is_some();
    let rule = match f.purpose {
        Purpose::Register if !owned => Decision::Deliver,
        Purpose::Register => Decision::Decoy { notice: Some(Notice::AccountExists) },
        Purpose::Login | Purpose::ResetPassword if owned => Decision::Deliver,
        Purpose::Login | Purpose::ResetPassword => Decision::Decoy { notice: None },
        Purpose::Bind if !owned || f.owner == f.caller => Decision::Deliver,
        Purpose::Bind => Decision::Decoy { notice: Some(Notice::BindAttempt) },
        Purpose::Verify | Purpose::Confirm => Decision::Deliver,
    };
    match next_send_at(f.record, f.now, cfg) {
        Some(at) => Decision::Wait { retry_after: secs_until(at, f.now) },
        None => rule,
    }
}

/// When the destination may be sent to again, if not now: one resend
/// interval after the last send, and one window after the oldest of the
/// last `code_window_max` sends.
fn next_send_at(r: &DestRecord, now: Timestamp, cfg: &Config) -> Option<Timestamp> {
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
    at
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

    fn facts<'a>(purpose: Purpose, owner: Option<&'a str>, r: &'a DestRecord) -> Facts<'a> {
        Facts { purpose, channel: Channel::Email, owner, caller: Some("me"), record: r, now: 1000 }
    }

    #[test]
    fn ownership_decides_what_goes_out() {
        let (c, r) = (cfg(), DestRecord::default());
        use Decision::*;
        let decoy = |notice| Decoy { notice };
        for (purpose, owner, want) in [
            (Purpose::Register, None, Deliver),
            (Purpose::Register, Some("x"), decoy(Some(Notice::AccountExists))),
            (Purpose::Login, Some("x"), Deliver),
            (Purpose::Login, None, decoy(None)),
            (Purpose::ResetPassword, Some("x"), Deliver),
            (Purpose::ResetPassword, None, decoy(None)),
            (Purpose::Bind, None, Deliver),
            (Purpose::Bind, Some("me"), Deliver),
            (Purpose::Bind, Some("x"), decoy(Some(Notice::BindAttempt))),
            (Purpose::Verify, Some("me"), Deliver),
        ] {
            assert_eq!(decide(&facts(purpose, owner, &r), &c), want, "{purpose:?} {owner:?}");
        }
        let sms = Facts { channel: Channel::Sms, ..facts(Purpose::Register, Some("x"), &r) };
        assert_eq!(decide(&sms, &c), decoy(Some(Notice::AccountExists)), "SMS alike");
    }

    #[test]
    fn the_resend_interval_and_the_window_make_sends_wait() {
        let c = cfg();
        let just_sent = DestRecord { sends: vec![990], ..Default::default() };
        let f = facts(Purpose::Login, None, &just_sent);
        assert_eq!(decide(&f, &c), Decision::Wait { retry_after: 50 }, "even when silent");
        let five: DestRecord =
            DestRecord { sends: vec![900, 800, 700, 600, 500], ..Default::default() };
        assert_eq!(
            decide(&facts(Purpose::Register, None, &five), &c),
            Decision::Wait { retry_after: 100 },
            "the fifth-newest send leaves the 600 s window at 1100"
        );
        let next = next_record(&five, 1000, &c);
        assert_eq!(next.sends, vec![1000, 900, 800, 700, 600]);
        assert_eq!(next.version, 1);
    }
}
