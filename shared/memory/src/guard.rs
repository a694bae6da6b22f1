//! The SMS guard's tallies in the embedded store: what `store` answers
//! `GuardStore` with, and what a send's transaction, a right guess and an
//! account write check and count, under the store's one lock.

use domain::ports::{
    GuardBlock, GuardSend, GuardTally, GuardTouch, LimitKind, ListedBlock, SendOutcome, Timestamp,
};
use std::collections::{BTreeMap, HashMap};

/// The tallies by key, and the blocks listed for operators by name.
#[derive(Default)]
pub(crate) struct Tallies {
    tallies: HashMap<String, (GuardTally, Timestamp)>,
    /// By name, a block before a watch of the same name.
    listed: BTreeMap<(String, bool), ListedBlock>,
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

    /// `GuardStore::guard_tallies`.
    pub(crate) fn read(&self, keys: &[String], now: Timestamp) -> Vec<GuardTally> {
        keys.iter().map(|k| self.get(k, now)).collect()
    }

    /// `GuardStore::guard_block`.
    pub(crate) fn block(&mut self, keys: &[String], listed: &ListedBlock, now: Timestamp) -> bool {
        let held = |t: &GuardTally| if listed.monitor { t.watch.clone() } else { t.block.clone() };
        let first = keys.first().map(|k| self.get(k, now));
        if first.as_ref().and_then(held).is_some_and(|b| b.in_force(now)) {
            return false;
        }
        let block: &GuardBlock = &listed.block;
        for key in keys {
            let (tally, expires_at) = self.entry(key, now);
            match listed.monitor {
                true => tally.watch = Some(block.clone()),
                false => tally.block = Some(block.clone()),
            }
            *expires_at = (*expires_at).max(block.until);
        }
        self.listed.insert((listed.name.clone(), listed.monitor), listed.clone());
        true
    }

    /// `GuardStore::guard_unblock`.
    pub(crate) fn unblock(&mut self, keys: &[String], name: &str) {
        for key in keys {
            if let Some((tally, _)) = self.tallies.get_mut(key) {
                (tally.block, tally.watch) = (None, None);
            }
        }
        self.listed.retain(|(n, _), _| n != name);
    }

    /// `GuardStore::guard_blocks`.
    pub(crate) fn listed(&self, now: Timestamp) -> Vec<ListedBlock> {
        self.listed.values().filter(|l| l.block.in_force(now)).cloned().collect()
    }

    /// `GuardStore::guard_trim`.
    pub(crate) fn trim(&mut self, key: &str, hours: &[i64]) {
        if let Some((tally, _)) = self.tallies.get_mut(key) {
            for hour in hours {
                tally.hours.remove(hour);
            }
        }
    }
}
