//! The SMS guard's tallies in the embedded store (`GuardStore`), and the
//! parts of them a send's transaction, a right guess and an account write
//! check and count under the store's one lock.

use crate::store::MemoryStore;
use async_trait::async_trait;
use domain::ports::{
    GuardBlock, GuardSend, GuardStore, GuardTally, GuardTouch, LimitKind, ListedBlock, SendOutcome,
    StoreError, Timestamp,
};
use std::collections::{BTreeMap, HashMap};

/// The tallies by key, and the blocks listed for operators by name.
#[derive(Default)]
pub(crate) struct Tallies {
    tallies: HashMap<String, (GuardTally, Timestamp)>,
    listed: BTreeMap<String, ListedBlock>,
}

impl Tallies {
    /// A tally as stored (an empty one once its TTL has passed).
    fn get(&self, key: &str, now: Timestamp) -> GuardTally {
        match self.tallies.get(key) {
            Some((t, expires_at)) if *expires_at > now => t.clone(),
            _ => GuardTally { key: key.to_string(), ..Default::default() },
        }
    }

    fn entry(&mut self, key: &str, now: Timestamp) -> &mut (GuardTally, Timestamp) {
        let fresh = self.get(key, now);
        let entry = self.tallies.entry(key.to_string()).or_insert((fresh.clone(), 0));
        if entry.1 <= now {
            *entry = (fresh, 0);
        }
        entry
    }

    /// Why an enforced send is refused, if it is: a block in force on
    /// either tally, or the prefix's hour full.
    pub(crate) fn refusal(&self, g: &GuardSend, now: Timestamp) -> Option<SendOutcome> {
        let max = g.hourly_max?;
        let t = &g.touch;
        let (prefix, shard) = (self.get(&t.prefix, now), self.get(&t.shard, now));
        let blocked = [&prefix, &shard]
            .into_iter()
            .filter_map(|t| t.block.as_ref().filter(|b| b.in_force(now)))
            .map(|b| b.until)
            .max();
        if let Some(until) = blocked {
            return Some(SendOutcome::Blocked { until });
        }
        let sends = prefix.hours.get(&t.hour).map_or(0, |h| h.sends);
        (sends >= max).then(|| SendOutcome::LimitReached {
            kind: LimitKind::SmsPrefix,
            key: t.prefix.clone(),
            until: (t.hour + 1) * 3600,
        })
    }

    /// One send (`conversion` false) or conversion more in both tallies.
    pub(crate) fn count(&mut self, t: &GuardTouch, conversion: bool, now: Timestamp) {
        for key in [&t.prefix, &t.shard] {
            let (tally, expires_at) = self.entry(key, now);
            let hour = tally.hours.entry(t.hour).or_default();
            match conversion {
                true => hour.conversions += 1,
                false => hour.sends += 1,
            }
            *expires_at = (*expires_at).max(t.expires_at);
        }
    }
}

#[async_trait]
impl GuardStore for MemoryStore {
    async fn guard_tallies(
        &self,
        keys: &[String],
        now: Timestamp,
    ) -> Result<Vec<GuardTally>, StoreError> {
        let inner = self.lock();
        Ok(keys.iter().map(|k| inner.guard.get(k, now)).collect())
    }

    async fn guard_block(
        &self,
        keys: &[String],
        listed: &ListedBlock,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let g = &mut inner.guard;
        let held = |t: &GuardTally| if listed.monitor { t.watch.clone() } else { t.block.clone() };
        let first = keys.first().map(|k| g.get(k, now));
        if first.as_ref().and_then(held).is_some_and(|b| b.in_force(now)) {
            return Ok(false);
        }
        let block: &GuardBlock = &listed.block;
        for key in keys {
            let (tally, expires_at) = g.entry(key, now);
            match listed.monitor {
                true => tally.watch = Some(block.clone()),
                false => tally.block = Some(block.clone()),
            }
            *expires_at = (*expires_at).max(block.until);
        }
        g.listed.insert(listed.name.clone(), listed.clone());
        Ok(true)
    }

    async fn guard_unblock(&self, keys: &[String], name: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for key in keys {
            if let Some((tally, _)) = inner.guard.tallies.get_mut(key) {
                (tally.block, tally.watch) = (None, None);
            }
        }
        inner.guard.listed.remove(name);
        Ok(())
    }

    async fn guard_blocks(&self, now: Timestamp) -> Result<Vec<ListedBlock>, StoreError> {
        let inner = self.lock();
        Ok(inner.guard.listed.values().filter(|l| l.block.in_force(now)).cloned().collect())
    }

    async fn guard_trim(&self, key: &str, hours: &[i64]) -> Result<(), StoreError> {
        if let Some((tally, _)) = self.lock().guard.tallies.get_mut(key) {
            for hour in hours {
                tally.hours.remove(hour);
            }
        }
        Ok(())
    }
}
