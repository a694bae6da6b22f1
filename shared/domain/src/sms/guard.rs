//! The SMS fraud guard. SMS pumping sends codes to numbers whose traffic
//! pays someone, and never uses one; so, per destination prefix (the E.164
//! number without its last digits) and per country calling code:
//!
//! - velocity: at most `prefix_hourly_max` sends a clock hour to one
//!   prefix, counted inside the send's transaction;
//! - conversion: over the last 24 clock hours, once a prefix (a country)
//!   has taken `min_sends` (`country_min_sends`) sends and fewer than
//!   `min_conversion_percent` of them had their code used — checked right
//!   or redeemed —, it is blocked for `block_secs`.
//!
//! Sends are counted by the send's own transaction and conversions by the
//! write that uses the code; the judgement runs off the request path, in
//! the delivery (`review`), and writes a block with its reason. The send's
//! transaction refuses while a block is in force. Nothing here reads an
//! account: a block depends on the destination's prefix only. A country's
//! tally is split over `SHARDS` items, so no item takes every send to a
//! country. In monitor mode the same judgement keeps watches instead of
//! blocks and reports what enforcing would have refused.

use crate::address::{Destination, PhoneNumber};
use crate::config::{Config, GuardMode};
use crate::ports::{
    GuardBlock, GuardScope, GuardSend, GuardTally, GuardTouch, ListedBlock, Metric, Metrics,
    Random, RandomError, Store, StoreError, Timestamp,
};

const HOUR: i64 = 3600;
/// The hours a conversion is judged over.
const WINDOW_HOURS: i64 = 24;
/// Items a country's tally is split over.
pub const SHARDS: u32 = 8;

/// The prefix of E.164 number `e164` of country `cc`: without its last
/// `prefix_drop_digits` (never shorter than its country calling code and
/// one digit). Read from the digits alone, so the delivery function needs
/// no numbering plan.
pub fn prefix(cfg: &Config, e164: &str, cc: u16) -> String {
    let least = format!("+{cc}").len() + 1;
    let keep = e164.len().saturating_sub(cfg.sms_guard.prefix_drop_digits as usize).max(least);
    e164.get(..keep.min(e164.len())).unwrap_or(e164).to_string()
}

fn prefix_key(prefix: &str) -> String {
    format!("p{prefix}")
}

fn country_name(cc: u16) -> String {
    format!("+{cc}")
}

fn shard_key(cc: u16, shard: u32) -> String {
    format!("c+{cc}|s{shard}")
}

fn country_keys(cc: u16) -> Vec<String> {
    (0..SHARDS).map(|n| shard_key(cc, n)).collect()
}

/// Whether a destination is counted by the guard: a text message, the
/// guard on, and not a test number.
fn guarded<'d>(cfg: &Config, dest: &'d Destination) -> Option<&'d PhoneNumber> {
    let Destination::Phone(phone) = dest else { return None };
    counts(cfg, phone.as_str()).then_some(phone)
}

/// Whether the guard counts text messages to `e164`: it is on, and the
/// number is not a test number.
pub fn counts(cfg: &Config, e164: &str) -> bool {
    let test = cfg.test_destinations.code(crate::address::Channel::Sms, e164).is_some();
    cfg.sms_guard.mode != GuardMode::Off && !test
}

/// What a send or conversion to `dest` adds to, if the guard counts it.
pub(crate) fn touch(
    cfg: &Config,
    random: &dyn Random,
    dest: &Destination,
    now: Timestamp,
) -> Result<Option<GuardTouch>, RandomError> {
    let Some(phone) = guarded(cfg, dest) else { return Ok(None) };
    let mut b = [0u8; 4];
    random.fill(&mut b)?;
    let shard = u32::from_le_bytes(b) % SHARDS;
    let kept = (WINDOW_HOURS + 1) * HOUR;
    Ok(Some(GuardTouch {
        country: phone.country_code(),
        prefix: prefix_key(&prefix(cfg, phone.as_str(), phone.country_code())),
        shard: shard_key(phone.country_code(), shard),
        hour: now.div_euclid(HOUR),
        expires_at: now + kept.max(cfg.sms_guard.block_secs + HOUR),
    }))
}

/// A send's part of the guard: enforced (refusing) unless monitoring.
pub(crate) fn send_part(
    cfg: &Config,
    random: &dyn Random,
    dest: &Destination,
    now: Timestamp,
) -> Result<Option<GuardSend>, RandomError> {
    let enforce = cfg.sms_guard.mode == GuardMode::Enforce;
    let hourly_max = enforce.then_some(cfg.sms_guard.prefix_hourly_max);
    Ok(touch(cfg, random, dest, now)?.map(|touch| GuardSend { touch, hourly_max }))
}

/// Sends and conversions in the window ending with hour `hour`.
fn window(tallies: &[GuardTally], hour: i64) -> (u32, u32) {
    tallies
        .iter()
        .flat_map(|t| t.hours.range(hour - WINDOW_HOURS + 1..=hour).map(|(_, h)| h))
        .fold((0, 0), |(s, c), h| (s + h.sends, c + h.conversions))
}

/// Whether `sends` with `conversions` call for a block at `min_sends`.
fn low(cfg: &Config, (sends, conversions): (u32, u32), min_sends: u32) -> bool {
    let percent = u64::from(cfg.sms_guard.min_conversion_percent);
    sends >= min_sends && u64::from(conversions) * 100 < percent * u64::from(sends)
}

/// What the guard reviews after one SMS send, and where it reports.
pub struct Review<'a> {
    pub store: &'a dyn Store,
    pub metrics: &'a dyn Metrics,
    pub cfg: &'a Config,
}

impl Review<'_> {
    /// Judges the prefix and the country of one accepted SMS send to
    /// `e164` (of country `cc`), off the request path: blocks (or,
    /// monitoring, watches) what has too many sends and too few
    /// conversions in the window, reports the send, and in monitor mode
    /// reports a send enforcing would have refused. Reads the tallies in
    /// one round trip; writes only to block or to drop hours that left the
    /// window. Whether a block is in force on the prefix or the country
    /// now (never when monitoring): then the message is not sent, so sends
    /// accepted before the block landed cost nothing either.
    /// On a message's later attempts (`report` false) the same judgement
    /// runs without reporting the send again, so a message whose first
    /// attempt did not settle is never sent unreviewed.
    pub async fn after_send(
        &self,
        e164: &str,
        cc: u16,
        now: Timestamp,
        report: bool,
    ) -> Result<bool, StoreError> {
        let cfg = self.cfg;
        let name = prefix(cfg, e164, cc);
        let keys: Vec<String> =
            std::iter::once(prefix_key(&name)).chain(country_keys(cc)).collect();
        let tallies = self.store.guard_tallies(&keys, now).await?;
        let hour = now.div_euclid(HOUR);
        if report {
            self.metrics.record(Metric::GuardSend { country: cc });
        }
        let monitor = cfg.sms_guard.mode == GuardMode::Monitor;
        let in_force = |t: &GuardTally| {
            let held = if monitor { &t.watch } else { &t.block };
            held.as_ref().is_some_and(|b| b.in_force(now))
        };
        let mut held = tallies.iter().any(in_force);
        if monitor && report {
            let sends = tallies[0].hours.get(&hour).map_or(0, |h| h.sends);
            if held || sends > cfg.sms_guard.prefix_hourly_max {
                // The prefix stays out of the log: with a send's masked
                // number it would give the whole number away.
                tracing::warn!(country = cc, "the SMS guard would have refused a send");
                self.metrics.record(Metric::GuardRefusal { country: cc, monitor });
            }
        }
        let (own, country) = tallies.split_at(1);
        let prefix_window = window(own, hour);
        if low(cfg, prefix_window, cfg.sms_guard.min_sends) {
            let block = (GuardScope::Prefix, name, prefix_window);
            held |= self.block(&tallies[..1], cc, block, now).await?;
        }
        let country_window = window(country, hour);
        if low(cfg, country_window, cfg.sms_guard.country_min_sends) {
            let block = (GuardScope::Country, country_name(cc), country_window);
            held |= self.block(country, cc, block, now).await?;
        }
        self.trim(&tallies, hour).await?;
        Ok(held && !monitor)
    }

    /// Blocks (watches) the tallies unless one is in force already.
    /// Whether one is in force now.
    async fn block(
        &self,
        tallies: &[GuardTally],
        cc: u16,
        (scope, name, (sends, conversions)): (GuardScope, String, (u32, u32)),
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let monitor = self.cfg.sms_guard.mode == GuardMode::Monitor;
        let held = |t: &GuardTally| if monitor { t.watch.clone() } else { t.block.clone() };
        if tallies.first().and_then(held).is_some_and(|b| b.in_force(now)) {
            return Ok(true);
        }
        let percent = self.cfg.sms_guard.min_conversion_percent;
        let reason = format!(
            "{sends} sends and {conversions} conversions in {WINDOW_HOURS} h: under {percent} %"
        );
        let until = now + self.cfg.sms_guard.block_secs;
        let block = GuardBlock { until, at: now, reason };
        let listed = ListedBlock { name, scope, block, monitor };
        let keys: Vec<String> = tallies.iter().map(|t| t.key.clone()).collect();
        if self.store.guard_block(&keys, &listed, now).await? {
            let (scope, mode) = (scope.as_str(), self.cfg.sms_guard.mode.as_str());
            let reason = &listed.block.reason;
            // Which prefix: `vericode-admin sms-guard status` (see `after_send`).
            tracing::warn!(scope, country = cc, mode, reason = %reason, "SMS guard block");
            self.metrics.record(Metric::GuardBlock { country: cc, scope: listed.scope, monitor });
        }
        Ok(true)
    }

    /// Drops the hours that left the window from each tally holding any.
    async fn trim(&self, tallies: &[GuardTally], hour: i64) -> Result<(), StoreError> {
        for t in tallies {
            let old: Vec<i64> = t.hours.range(..=hour - WINDOW_HOURS).map(|(h, _)| *h).collect();
            if !old.is_empty() {
                self.store.guard_trim(&t.key, &old).await?;
            }
        }
        Ok(())
    }
}

/// The blocks and watches in force, for operators, by name.
pub async fn blocks(store: &dyn Store, now: Timestamp) -> Result<Vec<ListedBlock>, StoreError> {
    let mut listed = store.guard_blocks(now).await?;
    listed.sort_by(|a, b| (&a.name, a.monitor).cmp(&(&b.name, b.monitor)));
    Ok(listed)
}

/// Lifts the block or watch of a prefix (`+447911123`) or a country
/// (`+44`), as `blocks` lists them, and clears its counts: it starts
/// afresh, as after a block that ended (else the next send's review would
/// block it again at once). Whether one was listed.
pub async fn unblock(store: &dyn Store, name: &str, now: Timestamp) -> Result<bool, StoreError> {
    let Some(listed) = store.guard_blocks(now).await?.into_iter().find(|b| b.name == name) else {
        return Ok(false);
    };
    let keys = match listed.scope {
        GuardScope::Prefix => vec![prefix_key(&listed.name)],
        GuardScope::Country => {
            let cc = listed.name.trim_start_matches('+').parse().unwrap_or_default();
            country_keys(cc)
        }
    };
    for tally in store.guard_tallies(&keys, now).await? {
        let hours: Vec<i64> = tally.hours.keys().copied().collect();
        if !hours.is_empty() {
            store.guard_trim(&tally.key, &hours).await?;
        }
    }
    store.guard_unblock(&keys, &listed.name).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secrets;

    fn cfg() -> Config {
        Config::from_lookup(|_| None, Secrets::GenerateIfMissing).unwrap()
    }

    #[test]
    fn a_prefix_drops_the_last_digits() {
        assert_eq!(prefix(&cfg(), "+447911123456", 44), "+447911123");
        assert_eq!(prefix(&cfg(), "+8613800138000", 86), "+8613800138");
        assert_eq!(
            prefix(&cfg(), "+2901234", 290),
            "+2901",
            "never shorter than a country and a digit"
        );
    }

    #[test]
    fn the_window_is_the_last_24_hours() {
        let mut t = GuardTally::default();
        for (h, sends, conversions) in [(100, 5, 1), (124, 7, 2), (123, 1, 0)] {
            t.hours.insert(h, crate::ports::HourTally { sends, conversions });
        }
        assert_eq!(window(std::slice::from_ref(&t), 124), (8, 2), "hour 100 left the window");
        assert_eq!(window(std::slice::from_ref(&t), 123), (6, 1));
        let c = cfg();
        assert!(low(&c, (20, 3), 20), "15 % is under 20 %");
        assert!(!low(&c, (20, 4), 20), "20 % is not under 20 %");
        assert!(!low(&c, (19, 0), 20), "too few sends to judge");
    }
}
