//! The embedded store: process memory behind a mutex. Each operation holds
//! the lock for its whole read-check-write, which gives it the same
//! all-or-nothing behaviour as the DynamoDB adapter's conditional writes and
//! transactions.

use crate::crypto::digest_eq;
use crate::ports::{
    AccountRecord, AccountStore, CaptchaStore, CodeStore, Counter, DestRecord, SendRejected,
    StoreError, StoredCaptcha, Timestamp,
};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    captchas: HashMap<String, StoredCaptcha>,
    destinations: HashMap<String, DestRecord>,
    counters: HashMap<String, (u32, Timestamp)>,
    accounts: HashMap<String, AccountRecord>,
    owners: HashMap<String, String>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every write below is applied only after all its checks pass, so a
        // panic cannot leave half a write behind: poisoning is ignored.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    fn version(&self, key: &str) -> u64 {
        self.destinations.get(key).map_or(0, |r| r.version)
    }
}

#[async_trait]
impl CaptchaStore for MemoryStore {
    async fn put_captcha(&self, captcha: &StoredCaptcha) -> Result<(), StoreError> {
        self.lock().captchas.insert(captcha.id.clone(), captcha.clone());
        Ok(())
    }

    async fn take_captcha(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<StoredCaptcha>, StoreError> {
        Ok(self.lock().captchas.remove(id).filter(|c| c.expires_at > now))
    }
}

#[async_trait]
impl CodeStore for MemoryStore {
    async fn load_destination(
        &self,
        key: &str,
        address: &str,
        now: Timestamp,
    ) -> Result<(DestRecord, Option<String>), StoreError> {
        let inner = self.lock();
        let record = match inner.destinations.get(key) {
            Some(r) if r.expires_at > now => r.clone(),
            other => DestRecord {
                key: key.to_string(),
                version: other.map_or(0, |r| r.version),
                ..Default::default()
            },
        };
        Ok((record, inner.owners.get(address).cloned()))
    }

    async fn commit_send(
        &self,
        captcha: Option<(&str, &[u8; 32])>,
        record: &DestRecord,
        expected_version: u64,
        counters: &[Counter],
        now: Timestamp,
    ) -> Result<Result<(), SendRejected>, StoreError> {
        let mut inner = self.lock();
        if let Some((id, hash)) = captcha {
            let ok = inner
                .captchas
                .get(id)
                .is_some_and(|c| c.expires_at > now && digest_eq(&c.answer_hash, hash));
            if !ok {
                return Ok(Err(SendRejected::Captcha));
            }
        }
        if inner.version(&record.key) != expected_version {
            return Ok(Err(SendRejected::Conflict));
        }
        for (i, c) in counters.iter().enumerate() {
            if inner.counters.get(&c.key).is_some_and(|(n, exp)| *exp > now && *n >= c.limit) {
                return Ok(Err(SendRejected::Counter(i)));
            }
        }
        if let Some((id, _)) = captcha {
            inner.captchas.remove(id);
        }
        inner.destinations.insert(record.key.clone(), record.clone());
        for c in counters {
            let entry = inner.counters.entry(c.key.clone()).or_insert((0, c.expires_at));
            if entry.1 <= now {
                *entry = (0, c.expires_at);
            }
            entry.0 += 1;
        }
        Ok(Ok(()))
    }

    async fn save_destination(
        &self,
        record: &DestRecord,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.version(&record.key) != expected_version {
            return Ok(false);
        }
        inner.destinations.insert(record.key.clone(), record.clone());
        Ok(true)
    }

    async fn refund(&self, counters: &[Counter]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for c in counters {
            if let Some(entry) = inner.counters.get_mut(&c.key) {
                entry.0 = entry.0.saturating_sub(1);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        Ok(self.lock().accounts.get(id).cloned())
    }

    async fn create_account(&self, account: &AccountRecord) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let keys = account.address_keys();
        if inner.accounts.contains_key(&account.id)
            || keys.iter().any(|k| inner.owners.contains_key(k))
        {
            return Ok(false);
        }
        for k in keys {
            inner.owners.insert(k, account.id.clone());
        }
        inner.accounts.insert(account.id.clone(), account.clone());
        Ok(true)
    }
}
