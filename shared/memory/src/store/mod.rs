//! The embedded store: process memory behind a mutex. Each operation holds
//! the lock for its whole read-check-write, which gives it the same
//! all-or-nothing behaviour as the DynamoDB adapter's conditional writes and
//! transactions.

mod accounts;
mod codes;
mod outbox;
mod tallies;

use crate::guard::Tallies;
use domain::ports::{
    AccountRecord, AccountWrite, ApiKeyRecord, Counter, DestRecord, OutgoingMessage, RecordWrite,
    SecretKind, SecretOwner, SendOutcome, SessionCheck, SessionRecord, StoredCaptcha, Timestamp,
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
    /// Used proof-of-work challenges: nonce → expiry.
    spent_challenges: HashMap<String, Timestamp>,
    destinations: HashMap<String, DestRecord>,
    counters: HashMap<String, (u32, Timestamp)>,
    accounts: HashMap<String, AccountRecord>,
    owners: HashMap<String, String>,
    revoked: HashMap<String, Timestamp>,
    /// Session records: account id → jti → record.
    sessions: HashMap<String, HashMap<String, SessionRecord>>,
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
            AccountWrite::Converted(_) | AccountWrite::PutSession(_) => true,
            AccountWrite::EndSession { jti, .. } => {
                self.revoked.get(jti).is_none_or(|&until| until <= now)
            }
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
            AccountWrite::PutSession(r) => {
                let of_account = self.sessions.entry(r.account_id.clone()).or_default();
                of_account.insert(r.jti.clone(), r.clone());
            }
            AccountWrite::EndSession { account_id, jti, expires_at } => {
                if let Some(of_account) = self.sessions.get_mut(account_id) {
                    of_account.remove(jti);
                }
                self.revoked.insert(jti.clone(), *expires_at);
            }
        }
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
