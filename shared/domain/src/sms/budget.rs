//! The SMS spend guard, sharded. Each daily budget — all countries, and each
//! country — is split over `SHARDS` counter items whose limits add up to the
//! cap, so no single item takes part in every SMS send's transaction (a hot
//! key that concurrent sends would fight over), while the cap still holds:
//! every shard is a conditional counter that never passes its own limit.
//!
//! A send takes a random open shard of each budget. A shard its transaction
//! finds full is closed for that send and another one tried at once, so a
//! send is refused only when every shard of a budget is full: exactly the
//! cap is accepted, never more.

use crate::config::Config;
use crate::ports::{
    CountOutcome, Counter, LimitKind, Random, RandomError, Store, StoreError, Timestamp,
};

const DAY: i64 = 86_400;

/// Today's SMS budgets at `now`: all countries, and country `cc`.
pub(crate) fn daily(cfg: &Config, now: Timestamp, cc: u16) -> Vec<Budget> {
    let day = now.div_euclid(DAY);
    let end = (day + 1) * DAY;
    vec![
        Budget::new(LimitKind::SmsDaily, format!("sms|{day}"), cfg.sms_daily_max, end),
        Budget::new(
            LimitKind::SmsCountry,
            format!("sms|{day}|{cc}"),
            cfg.sms_country_daily_max,
            end,
        ),
    ]
}

/// Why an SMS outside a send's transaction (a security notice) may not go.
#[derive(Debug, thiserror::Error)]
pub enum SpendError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Takes one text message to country `cc` from today's budgets, off the
/// request path (a security notice): a shard found full is closed and
/// another tried. `None` when a budget is spent, and then nothing stays
/// taken; otherwise the shards taken, to give back if it is not sent.
pub async fn take_sms(
    store: &dyn Store,
    random: &dyn Random,
    cfg: &Config,
    cc: u16,
    now: Timestamp,
) -> Result<Option<Vec<Counter>>, SpendError> {
    let mut taken = Vec::new();
    for mut budget in daily(cfg, now, cc) {
        loop {
            let Some(shard) = budget.pick(random)? else {
                store.refund(&taken).await?;
                return Ok(None);
            };
            match store.increment(&shard, now).await? {
                CountOutcome::Counted { .. } => {
                    taken.push(shard);
                    break;
                }
                CountOutcome::LimitReached { .. } => {
                    budget.close(&shard.key);
                }
            }
        }
    }
    Ok(Some(taken))
}

/// Counter items per budget.
pub const SHARDS: u32 = 8;

/// One daily budget and which of its shards this send still may take.
#[derive(Clone, Debug)]
pub(crate) struct Budget {
    kind: LimitKind,
    /// `sms|<day>` or `sms|<day>|<country>`; a shard is `<prefix>|s<n>`.
    prefix: String,
    shares: Vec<u32>,
    expires_at: Timestamp,
    open: Vec<usize>,
}

/// `cap` split over `n` shards as evenly as it goes (the first `cap % n` get one more).
fn split(cap: u32, n: u32) -> Vec<u32> {
    (0..n).map(|i| cap / n + u32::from(i < cap % n)).collect()
}

impl Budget {
    pub(crate) fn new(kind: LimitKind, prefix: String, cap: u32, expires_at: Timestamp) -> Self {
        let shares = split(cap, SHARDS);
        let open = (0..shares.len()).filter(|&i| shares[i] > 0).collect();
        Budget { kind, prefix, shares, expires_at, open }
    }

    /// When the budget is whole again.
    pub(crate) fn resets_at(&self) -> Timestamp {
        self.expires_at
    }

    /// A random open shard, as a counter; `None` once every shard is full.
    pub(crate) fn pick(&self, random: &dyn Random) -> Result<Option<Counter>, RandomError> {
        if self.open.is_empty() {
            return Ok(None);
        }
        let mut b = [0u8; 4];
        random.fill(&mut b)?;
        let shard = self.open[u32::from_le_bytes(b) as usize % self.open.len()];
        Ok(Some(Counter {
            key: format!("{}|s{shard}", self.prefix),
            kind: self.kind,
            limit: self.shares[shard],
            expires_at: self.expires_at,
        }))
    }

    /// Closes the shard named `key` if it is one of this budget's; whether it was.
    pub(crate) fn close(&mut self, key: &str) -> bool {
        let Some(shard) = key
            .strip_prefix(&self.prefix)
            .and_then(|rest| rest.strip_prefix("|s"))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            return false;
        };
        self.open.retain(|&s| s != shard);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::OsRandom;

    #[test]
    fn shares_add_up_to_the_cap() {
        for cap in [0, 1, 7, 8, 9, 150, 10_000] {
            let shares = split(cap, SHARDS);
            assert_eq!(shares.iter().sum::<u32>(), cap);
            assert!(shares.iter().max().unwrap() - shares.iter().min().unwrap() <= 1);
        }
    }

    #[test]
    fn full_shards_close_until_none_is_left() {
        let mut b = Budget::new(LimitKind::SmsDaily, "sms|1".into(), 3, 86_400);
        let mut seen = std::collections::BTreeSet::new();
        while let Some(c) = b.pick(&OsRandom).unwrap() {
            assert_eq!(c.limit, 1, "3 over 8 shards: three shards of 1");
            assert!(b.close(&c.key));
            seen.insert(c.key);
        }
        assert_eq!(seen.len(), 3);
        assert!(!b.close("sms|1|86|s0"), "another budget's shard");
        let country = Budget::new(LimitKind::SmsCountry, "sms|1|86".into(), 8, 86_400);
        assert!(country.pick(&OsRandom).unwrap().unwrap().key.starts_with("sms|1|86|s"));
    }
}
