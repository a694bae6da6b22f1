//! The embedded store: process memory behind a mutex. Each operation holds
//! the lock for its whole read-check-write, which gives it the same
//! all-or-nothing behaviour as the DynamoDB adapter's conditional writes and
//! transactions.

use crate::guard::Tallies;
use async_trait::async_trait;
use domain::crypto::digest_eq;
use domain::ports::{
    AccountRecord, AccountStore, AccountWrite, ApiKeyRecord, ApiKeyStore, ApplyOutcome,
    CaptchaStore, Claim, CodeStore, CountOutcome, Counter, CounterStore, DestRecord, FailOutcome,
    GuardStore, GuardTally, Guess, GuessOutcome, ListedBlock, OutboxStore, OutgoingMessage,
    RecordWrite, SaveOutcome, SecretKind, SecretOwner, SecretStore, SendOutcome, SendWrite,
    SessionCheck, StoreError, StoredCaptcha, Timestamp,
};
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
    revoked: HashMap<String, Timestamp>,
    secrets: HashMap<(u8, [u8; 32]), (SecretOwner, Timestamp)>,
    messages: HashMap<String, (OutgoingMessage, MessageState)>,
    suppressed: HashMap<String, String>,
    api_keys: HashMap<String, ApiKeyRecord>,
    guard: Tallies,
}

/// Where an outgoing message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageState {
    Pending,
    /// Claimed until the lease ends.
    Sending {
        until: Timestamp,
    },
    Done,
    Failed,
}

fn kind_tag(kind: SecretKind) -> u8 {
    match kind {
        SecretKind::LoginLink => 0,
        SecretKind::Invite => 1,
    }
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

    /// The record as a read sees it at `now`: empty at its version once expired.
    fn record(&self, key: &str, now: Timestamp) -> DestRecord {
        match self.destinations.get(key) {
            Some(r) if r.expires_at > now => r.clone(),
            other => DestRecord {
                key: key.to_string(),
                version: other.map_or(0, |r| r.version),
                ..Default::default()
            },
        }
    }

    /// The record as stored, expired or not (what a condition sees).
    fn stored(&self, key: &str) -> DestRecord {
        let empty = || DestRecord { key: key.to_string(), ..Default::default() };
        self.destinations.get(key).cloned().unwrap_or_else(empty)
    }

    /// Whether `session` (if any) still stands at `now`.
    fn stands(&self, session: Option<&SessionCheck>, now: Timestamp) -> bool {
        session.is_none_or(|c| {
            let logged_out = self.revoked.get(&c.jti).is_some_and(|&exp| exp > now);
            c.stands(self.accounts.get(&c.account_id), logged_out)
        })
    }

    /// Why the record part of a send may not be written, if it may not.
    fn record_write_refusal(&self, write: &RecordWrite<'_>, now: Timestamp) -> Option<SendOutcome> {
        match write {
            RecordWrite::Replace { record, expected_version } => {
                (self.version(&record.key) != *expected_version).then_some(SendOutcome::Conflict)
            }
            RecordWrite::NewCode { key, limits, .. } => (!limits.admit(&self.stored(key), now))
                .then(|| SendOutcome::Occupied(self.record(key, now))),
        }
    }

    /// Writes the record part of a send whose conditions hold.
    fn write_record(&mut self, write: &RecordWrite<'_>, now: Timestamp) {
        let record = match write {
            RecordWrite::Replace { record, .. } => (*record).clone(),
            RecordWrite::NewCode { key, code, expires_at, .. } => {
                let mut r = self.stored(key);
                r.sends.insert(0, now);
                r.code = Some((*code).clone());
                r.version += 1;
                r.expires_at = *expires_at;
                r
            }
        };
        self.destinations.insert(record.key.clone(), record);
    }

    /// Whether the condition of an account write holds.
    fn holds(&self, w: &AccountWrite, now: Timestamp) -> bool {
        match w {
            AccountWrite::PutAccount(a) => {
                self.accounts.get(&a.id).map_or(0, |stored| stored.version) == a.version
            }
            AccountWrite::ClaimAddress { key, account_id } => {
                self.owners.get(key).is_none_or(|owner| owner == account_id)
            }
            AccountWrite::ReleaseAddress { key, account_id } => {
                self.owners.get(key) == Some(account_id)
            }
            AccountWrite::SaveDestination { record, expected_version } => {
                self.version(&record.key) == *expected_version
            }
            AccountWrite::UseSecret { kind, hash } => {
                self.secrets.get(&(kind_tag(*kind), *hash)).is_some_and(|(_, exp)| *exp > now)
            }
            AccountWrite::DeleteAccount { id, version } => {
                self.accounts.get(id).is_some_and(|stored| stored.version == *version)
            }
            AccountWrite::Session(c) => self.stands(Some(c), now),
            AccountWrite::PutMessage(m) => !self.messages.contains_key(&m.id),
            AccountWrite::Converted(_) => true,
        }
    }

    /// Applies an account write whose condition holds.
    fn write(&mut self, w: &AccountWrite, now: Timestamp) {
        match w {
            AccountWrite::PutAccount(a) => {
                let mut stored = a.clone();
                stored.version += 1;
                self.accounts.insert(a.id.clone(), stored);
            }
            AccountWrite::ClaimAddress { key, account_id } => {
                self.owners.insert(key.clone(), account_id.clone());
            }
            AccountWrite::ReleaseAddress { key, .. } => {
                self.owners.remove(key);
            }
            AccountWrite::SaveDestination { record, .. } => {
                self.destinations.insert(record.key.clone(), record.clone());
            }
            AccountWrite::UseSecret { kind, hash } => {
                self.secrets.remove(&(kind_tag(*kind), *hash));
            }
            AccountWrite::DeleteAccount { id, .. } => {
                self.accounts.remove(id);
            }
            AccountWrite::Session(_) => {}
            AccountWrite::PutMessage(m) => {
                self.messages.insert(m.id.clone(), (m.clone(), MessageState::Pending));
            }
            AccountWrite::Converted(touch) => self.guard.count(touch, true, now),
        }
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
    async fn load_destination(&self, key: &str, now: Timestamp) -> Result<DestRecord, StoreError> {
        Ok(self.lock().record(key, now))
    }

    async fn commit_send(
        &self,
        send: &SendWrite<'_>,
        now: Timestamp,
    ) -> Result<SendOutcome, StoreError> {
        let SendWrite { captcha, record, session, counters, guard, message } = *send;
        let mut inner = self.lock();
        if let Some((id, hash)) = captcha {
            let ok = inner
                .captchas
                .get(id)
                .is_some_and(|c| c.expires_at > now && digest_eq(&c.answer_hash, hash));
            if !ok {
                return Ok(SendOutcome::CaptchaRejected);
            }
        }
        if let Some(refused) = inner.record_write_refusal(&record, now) {
            return Ok(refused);
        }
        for c in counters {
            if inner.counters.get(&c.key).is_some_and(|(n, exp)| *exp > now && *n >= c.limit) {
                return Ok(SendOutcome::LimitReached {
                    kind: c.kind,
                    key: c.key.clone(),
                    until: c.expires_at,
                });
            }
        }
        if let Some(refused) = guard.and_then(|g| inner.guard.refusal(g, now)) {
            return Ok(refused);
        }
        if !inner.stands(session, now) {
            return Ok(SendOutcome::SessionRefused);
        }
        if let Some(g) = guard {
            inner.guard.count(&g.touch, false, now);
        }
        if let Some((id, _)) = captcha {
            inner.captchas.remove(id);
        }
        inner.write_record(&record, now);
        for c in counters {
            let entry = inner.counters.entry(c.key.clone()).or_insert((0, c.expires_at));
            if entry.1 <= now {
                *entry = (0, c.expires_at);
            }
            entry.0 += 1;
        }
        inner.messages.insert(message.id.clone(), (message.clone(), MessageState::Pending));
        Ok(SendOutcome::Committed)
    }

    async fn guess_code(&self, g: &Guess, now: Timestamp) -> Result<GuessOutcome, StoreError> {
        let mut inner = self.lock();
        if !inner.stands(g.session.as_ref(), now) {
            return Ok(GuessOutcome::SessionRefused);
        }
        let mut r = inner.stored(&g.key);
        let Some(right) = g.judge(&r, now) else {
            return Ok(GuessOutcome::Refused(inner.record(&g.key, now)));
        };
        let outcome = match (right, r.code.as_mut()) {
            (true, _) => {
                r.code = None;
                r.token = Some(g.token.clone());
                if let Some(touch) = &g.converts {
                    inner.guard.count(touch, true, now);
                }
                GuessOutcome::Right
            }
            (false, Some(code)) => {
                code.attempts += 1;
                let (attempts, long) = (code.attempts, code.long);
                r.fails.insert(0, now);
                r.checks.count(g.hour, &g.network);
                let network_fails = r.checks.at(g.hour, &g.network).1;
                let closed = g.open_code(&r, now).is_none();
                GuessOutcome::Wrong { attempts, network_fails, long, closed }
            }
            (false, None) => return Err(StoreError::Corrupt("judged a missing code".into())),
        };
        r.version += 1;
        r.expires_at = g.expires_at;
        inner.destinations.insert(g.key.clone(), r);
        Ok(outcome)
    }

    async fn save_destination(
        &self,
        record: &DestRecord,
        expected_version: u64,
    ) -> Result<SaveOutcome, StoreError> {
        let mut inner = self.lock();
        if inner.version(&record.key) != expected_version {
            return Ok(SaveOutcome::Conflict);
        }
        inner.destinations.insert(record.key.clone(), record.clone());
        Ok(SaveOutcome::Committed)
    }
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        Ok(self.lock().accounts.get(id).cloned())
    }

    async fn account_by_address(&self, key: &str) -> Result<Option<AccountRecord>, StoreError> {
        let inner = self.lock();
        Ok(inner.owners.get(key).and_then(|id| inner.accounts.get(id)).cloned())
    }

    async fn load_session(
        &self,
        account_id: &str,
        jti: &str,
        now: Timestamp,
    ) -> Result<(Option<AccountRecord>, bool), StoreError> {
        let inner = self.lock();
        let revoked = inner.revoked.get(jti).is_some_and(|&exp| exp > now);
        Ok((inner.accounts.get(account_id).cloned(), revoked))
    }

    async fn apply(
        &self,
        writes: &[AccountWrite],
        now: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        let mut inner = self.lock();
        if let Some(refused) = writes.iter().find(|w| !inner.holds(w, now)) {
            return Ok(ApplyOutcome::Refused(refused.refusal()));
        }
        for w in writes {
            inner.write(w, now);
        }
        Ok(ApplyOutcome::Committed)
    }

    async fn revoke_session(&self, jti: &str, expires_at: Timestamp) -> Result<(), StoreError> {
        self.lock().revoked.insert(jti.to_string(), expires_at);
        Ok(())
    }
}

#[async_trait]
impl CounterStore for MemoryStore {
    async fn increment(&self, c: &Counter, now: Timestamp) -> Result<CountOutcome, StoreError> {
        let mut inner = self.lock();
        let entry = inner.counters.entry(c.key.clone()).or_insert((0, c.expires_at));
        if entry.1 <= now {
            *entry = (0, c.expires_at);
        }
        if entry.0 >= c.limit {
            return Ok(CountOutcome::LimitReached { until: c.expires_at });
        }
        entry.0 += 1;
        Ok(CountOutcome::Counted { count: entry.0 })
    }

    async fn refund(&self, counters: &[Counter]) -> Result<(), StoreError> {
        self.lock().refund(counters);
        Ok(())
    }
}

#[async_trait]
impl SecretStore for MemoryStore {
    async fn put_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        owner: &SecretOwner,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.lock().secrets.insert((kind_tag(kind), *hash), (owner.clone(), expires_at));
        Ok(())
    }

    async fn take_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SecretOwner>, StoreError> {
        let taken = self.lock().secrets.remove(&(kind_tag(kind), *hash));
        Ok(taken.filter(|(_, exp)| *exp > now).map(|(id, _)| id))
    }

    async fn peek_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SecretOwner>, StoreError> {
        let inner = self.lock();
        let found = inner.secrets.get(&(kind_tag(kind), *hash));
        Ok(found.filter(|(_, exp)| *exp > now).map(|(owner, _)| owner.clone()))
    }
}

#[async_trait]
impl ApiKeyStore for MemoryStore {
    async fn put_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.lock().api_keys.insert(key.id.clone(), key.clone());
        Ok(())
    }

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        Ok(self.lock().api_keys.get(id).cloned())
    }

    async fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().api_keys.remove(id).is_some())
    }
}

impl MemoryStore {
    /// Where message `id` stands, if it is stored (for tests).
    pub fn message_state(&self, id: &str) -> Option<MessageState> {
        self.lock().messages.get(id).map(|(_, state)| *state)
    }

    /// Every stored message's id, in no order (for tests).
    pub fn message_ids(&self) -> Vec<String> {
        self.lock().messages.keys().cloned().collect()
    }
}

impl Inner {
    fn refund(&mut self, counters: &[Counter]) {
        for c in counters {
            if let Some((n, _)) = self.counters.get_mut(&c.key) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

#[async_trait]
impl OutboxStore for MemoryStore {
    async fn claim_message(
        &self,
        id: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let mut inner = self.lock();
        let Some((message, state)) = inner.messages.get_mut(id) else { return Ok(Claim::Settled) };
        if message.expires_at <= now {
            return Ok(Claim::Settled);
        }
        match *state {
            MessageState::Done | MessageState::Failed => Ok(Claim::Settled),
            MessageState::Sending { until } if until > now => Ok(Claim::Leased { until }),
            MessageState::Pending | MessageState::Sending { .. } => {
                *state = MessageState::Sending { until: lease_until };
                message.attempts += 1;
                Ok(Claim::Claimed(message.clone()))
            }
        }
    }

    async fn settle_message(&self, id: &str) -> Result<(), StoreError> {
        if let Some((_, state)) = self.lock().messages.get_mut(id) {
            *state = MessageState::Done;
        }
        Ok(())
    }

    async fn release_message(&self, id: &str) -> Result<(), StoreError> {
        if let Some((_, state)) = self.lock().messages.get_mut(id)
            && matches!(state, MessageState::Sending { .. })
        {
            *state = MessageState::Pending;
        }
        Ok(())
    }

    async fn fail_message(
        &self,
        id: &str,
        record: Option<(&DestRecord, u64)>,
        refunds: &[Counter],
    ) -> Result<FailOutcome, StoreError> {
        let mut inner = self.lock();
        let claimed = inner
            .messages
            .get(id)
            .is_some_and(|(_, state)| matches!(state, MessageState::Sending { .. }));
        if !claimed {
            return Ok(FailOutcome::NotClaimed);
        }
        if let Some((r, expected)) = record {
            if inner.version(&r.key) != expected {
                return Ok(FailOutcome::Conflict);
            }
            inner.destinations.insert(r.key.clone(), r.clone());
        }
        inner.refund(refunds);
        if let Some((_, state)) = inner.messages.get_mut(id) {
            *state = MessageState::Failed;
        }
        Ok(FailOutcome::Committed)
    }

    async fn is_suppressed(&self, address: &str) -> Result<bool, StoreError> {
        Ok(self.lock().suppressed.contains_key(address))
    }

    async fn suppress(
        &self,
        address: &str,
        reason: &str,
        _now: Timestamp,
    ) -> Result<(), StoreError> {
        self.lock().suppressed.insert(address.to_string(), reason.to_string());
        Ok(())
    }
}

#[async_trait]
impl GuardStore for MemoryStore {
    async fn guard_tallies(
        &self,
        keys: &[String],
        now: Timestamp,
    ) -> Result<Vec<GuardTally>, StoreError> {
        Ok(self.lock().guard.read(keys, now))
    }

    async fn guard_block(
        &self,
        keys: &[String],
        listed: &ListedBlock,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self.lock().guard.block(keys, listed, now))
    }

    async fn guard_unblock(&self, keys: &[String], name: &str) -> Result<(), StoreError> {
        self.lock().guard.unblock(keys, name);
        Ok(())
    }

    async fn guard_blocks(&self, now: Timestamp) -> Result<Vec<ListedBlock>, StoreError> {
        Ok(self.lock().guard.listed(now))
    }

    async fn guard_trim(&self, key: &str, hours: &[i64]) -> Result<(), StoreError> {
        self.lock().guard.trim(key, hours);
        Ok(())
    }
}
