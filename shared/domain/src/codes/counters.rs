//! The counters a send takes beside its destination's own record: per
//! client network, a `bind` send's per-address and per-account windows, and
//! the day's SMS budgets. All are fixed windows, counted in the send's
//! transaction.

use crate::address::Destination;
use crate::ports::{Counter, LimitKind};
use crate::services::Services;
use crate::sms::budget::{self, Budget};
use std::net::IpAddr;

/// Sends from one client IP, in a fixed window.
pub(super) fn ip_counter(s: &Services, ip: IpAddr) -> Counter {
    let cfg = &s.config;
    let bucket = s.clock.now().div_euclid(cfg.ip_window_secs);
    Counter {
        key: format!("ip|{}|{bucket}", crate::network::client_key(ip)),
        kind: LimitKind::Ip,
        limit: cfg.ip_window_max,
        expires_at: (bucket + 1) * cfg.ip_window_secs,
    }
}

/// A `bind` send's limits beyond its own (per account) record: the
/// address's send windows whoever asks (so throwaway accounts can't each
/// flood one inbox), and the asking account's hourly cap. Fixed windows.
pub(super) fn bind_counters(s: &Services, dest: &Destination, account: &str) -> Vec<Counter> {
    let (cfg, now) = (&s.config, s.clock.now());
    let window = |key: String, secs: i64, limit: u32| {
        let bucket = now.div_euclid(secs);
        Counter {
            key: format!("{key}|{bucket}"),
            kind: LimitKind::BindSends,
            limit,
            expires_at: (bucket + 1) * secs,
        }
    };
    let to = dest.key();
    let mut counters = vec![
        window(format!("bind|{to}|short"), cfg.code_resend_interval_secs, 1),
        window(format!("bind|{to}|long"), cfg.code_window_secs, cfg.code_window_max),
        window(format!("bind|account|{account}"), 3600, cfg.bind_account_hourly_max),
    ];
    if let Destination::Phone(_) = dest {
        let daily = BIND_SMS_PER_ACCOUNT_DAY;
        counters.push(window(format!("bind|sms|{account}"), 86_400, daily));
    }
    counters
}

/// `bind` text messages one account may ask for in a (UTC) day. A `bind`
/// send needs no captcha, and every text message counts toward the SMS
/// guard's blocks: without this, one account could send the 20 that block
/// a stranger's number prefix. Adding a phone takes one or two.
const BIND_SMS_PER_ACCOUNT_DAY: u32 = 3;

/// Today's SMS budgets: all countries, and country `cc`.
pub(super) fn budgets(s: &Services, cc: u16) -> Vec<Budget> {
    budget::daily(&s.config, s.clock.now(), cc)
}
