//! A store that records the operations the use cases ask of it, by the
//! names the DynamoDB adapter declares its IAM actions under
//! (`aws::dynamodb::operations`), and forwards each to a real store. It
//! also measures the sequential depth of those calls: the store round trips
//! a request waits for one after another, calls made concurrently counting
//! once.

use async_trait::async_trait;
use domain::ports::*;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

pub struct Recording {
    inner: Arc<dyn Store>,
    seen: Mutex<BTreeSet<String>>,
    /// The deepest finished call's depth since the last `take_depth`.
    depth: Mutex<u32>,
}

impl Recording {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Recording { inner, seen: Mutex::default(), depth: Mutex::default() }
    }

    fn note(&self, names: impl IntoIterator<Item = String>) {
        self.seen.lock().unwrap().extend(names);
    }

    /// Records `names` and runs `call`. A call starts one round trip below
    /// the deepest call finished before it started, so calls awaited
    /// together (`join!`) share a level and calls awaited one after another
    /// stack. Each port method is one request to DynamoDB (a batch read or
    /// a transaction included).
    async fn run<T>(
        &self,
        names: impl IntoIterator<Item = String>,
        call: impl Future<Output = T>,
    ) -> T {
        self.note(names);
        let start = *self.depth.lock().unwrap();
        // The embedded store answers without waiting; let calls joined with
        // this one start before it finishes, as they would over a network.
        tokio::task::yield_now().await;
        let out = call.await;
        let mut depth = self.depth.lock().unwrap();
        *depth = (*depth).max(start + 1);
        out
    }

    /// The operations recorded since the last call.
    pub fn take(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }

    /// Sequential round trips since the last call.
    pub fn take_depth(&self) -> u32 {
        std::mem::take(&mut *self.depth.lock().unwrap())
    }
}

/// The operation an account write is, inside `apply`.
fn write_name(w: &AccountWrite) -> String {
    let kind = match w {
        AccountWrite::PutAccount(_) => "PutAccount",
        AccountWrite::ClaimAddress { .. } => "ClaimAddress",
        AccountWrite::ReleaseAddress { .. } => "ReleaseAddress",
        AccountWrite::SaveDestination { .. } => "SaveDestination",
        AccountWrite::UseSecret { .. } => "UseSecret",
        AccountWrite::DeleteAccount { .. } => "DeleteAccount",
        AccountWrite::Session(_) => "Session",
        AccountWrite::PutMessage(_) => "PutMessage",
        AccountWrite::Converted(_) => "Converted",
        AccountWrite::PutSession(_) => "PutSession",
        AccountWrite::EndSession { .. } => "EndSession",
    };
    format!("apply/{kind}")
}

fn one(name: &str) -> [String; 1] {
    [name.to_string()]
}

#[async_trait]
impl CaptchaStore for Recording {
    async fn put_captcha(&self, c: &StoredCaptcha) -> Result<(), StoreError> {
        self.run(one("put_captcha"), self.inner.put_captcha(c)).await
    }
    async fn take_captcha(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<StoredCaptcha>, StoreError> {
        self.run(one("take_captcha"), self.inner.take_captcha(id, now)).await
    }
    async fn spend_challenge(
        &self,
        nonce: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let spend = self.inner.spend_challenge(nonce, expires_at, now);
        self.run(one("spend_challenge"), spend).await
    }
}

#[async_trait]
impl CodeStore for Recording {
    async fn load_destination(&self, key: &str, now: Timestamp) -> Result<DestRecord, StoreError> {
        self.run(one("load_destination"), self.inner.load_destination(key, now)).await
    }
    async fn commit_send(
        &self,
        send: &SendWrite<'_>,
        now: Timestamp,
    ) -> Result<SendOutcome, StoreError> {
        self.note(one("commit_send/message"));
        if send.session.is_some() {
            self.note(one("commit_send/session"));
        }
        if let RecordWrite::NewCode { .. } = send.record {
            self.note(one("commit_send/new_code"));
        }
        match send.captcha {
            Some(SendCaptcha::Image { .. }) => self.note(one("commit_send/captcha")),
            Some(SendCaptcha::Challenge { .. }) => self.note(one("commit_send/challenge")),
            None => {}
        }
        if !send.counters.is_empty() {
            self.note(one("commit_send/counter"));
        }
        if send.guard.is_some() {
            self.note(one("commit_send/guard"));
        }
        self.run(one("commit_send"), self.inner.commit_send(send, now)).await
    }
    async fn guess_code(&self, guess: &Guess, now: Timestamp) -> Result<GuessOutcome, StoreError> {
        if guess.session.is_some() {
            self.note(one("guess_code/session"));
        }
        if guess.converts.is_some() {
            self.note(one("guess_code/converts"));
        }
        self.run(one("guess_code"), self.inner.guess_code(guess, now)).await
    }
    async fn save_destination(
        &self,
        record: &DestRecord,
        expected_version: u64,
    ) -> Result<SaveOutcome, StoreError> {
        self.run(one("save_destination"), self.inner.save_destination(record, expected_version))
            .await
    }
}

#[async_trait]
impl CounterStore for Recording {
    async fn increment(&self, c: &Counter, now: Timestamp) -> Result<CountOutcome, StoreError> {
        self.run(one("increment"), self.inner.increment(c, now)).await
    }
    async fn refund(&self, counters: &[Counter]) -> Result<(), StoreError> {
        if counters.is_empty() {
            return self.inner.refund(counters).await;
        }
        self.run(one("refund"), self.inner.refund(counters)).await
    }
}

#[async_trait]
impl AccountStore for Recording {
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.run(one("get_account"), self.inner.get_account(id)).await
    }
    async fn account_by_address(&self, key: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.run(one("account_by_address"), self.inner.account_by_address(key)).await
    }
    async fn load_session(
        &self,
        id: &str,
        jti: &str,
        now: Timestamp,
    ) -> Result<(Option<AccountRecord>, bool), StoreError> {
        self.run(one("load_session"), self.inner.load_session(id, jti, now)).await
    }
    async fn apply(
        &self,
        writes: &[AccountWrite],
        now: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        self.run(writes.iter().map(write_name), self.inner.apply(writes, now)).await
    }
    async fn revoke_session(&self, jti: &str, expires_at: Timestamp) -> Result<(), StoreError> {
        self.run(one("revoke_session"), self.inner.revoke_session(jti, expires_at)).await
    }
    async fn list_sessions(&self, account_id: &str) -> Result<Vec<SessionRecord>, StoreError> {
        self.run(one("list_sessions"), self.inner.list_sessions(account_id)).await
    }
}

#[async_trait]
impl SecretStore for Recording {
    async fn put_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        owner: &SecretOwner,
        exp: Timestamp,
    ) -> Result<(), StoreError> {
        self.run(one("put_secret"), self.inner.put_secret(kind, hash, owner, exp)).await
    }
    async fn take_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SecretOwner>, StoreError> {
        self.run(one("take_secret"), self.inner.take_secret(kind, hash, now)).await
    }
    async fn peek_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SecretOwner>, StoreError> {
        self.run(one("peek_secret"), self.inner.peek_secret(kind, hash, now)).await
    }
}

#[async_trait]
impl ApiKeyStore for Recording {
    async fn put_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.run(one("put_api_key"), self.inner.put_api_key(key)).await
    }
    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.run(one("get_api_key"), self.inner.get_api_key(id)).await
    }
    async fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError> {
        self.run(one("revoke_api_key"), self.inner.revoke_api_key(id)).await
    }
}

#[async_trait]
impl OutboxStore for Recording {
    async fn claim_message(
        &self,
        id: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        self.run(one("claim_message"), self.inner.claim_message(id, now, lease_until)).await
    }
    async fn settle_message(&self, id: &str) -> Result<(), StoreError> {
        self.run(one("settle_message"), self.inner.settle_message(id)).await
    }
    async fn release_message(&self, id: &str) -> Result<(), StoreError> {
        self.run(one("release_message"), self.inner.release_message(id)).await
    }
    async fn fail_message(
        &self,
        id: &str,
        record: Option<(&DestRecord, u64)>,
        refunds: &[Counter],
    ) -> Result<FailOutcome, StoreError> {
        if record.is_some() {
            self.note(one("fail_message/record"));
        }
        self.run(one("fail_message"), self.inner.fail_message(id, record, refunds)).await
    }
    async fn is_suppressed(&self, address: &str) -> Result<bool, StoreError> {
        self.run(one("is_suppressed"), self.inner.is_suppressed(address)).await
    }
    async fn suppress(
        &self,
        address: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.run(one("suppress"), self.inner.suppress(address, reason, now)).await
    }
}

#[async_trait]
impl GuardStore for Recording {
    async fn guard_tallies(
        &self,
        keys: &[String],
        now: Timestamp,
    ) -> Result<Vec<GuardTally>, StoreError> {
        self.run(one("guard_tallies"), self.inner.guard_tallies(keys, now)).await
    }
    async fn guard_block(
        &self,
        keys: &[String],
        listed: &ListedBlock,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.run(one("guard_block"), self.inner.guard_block(keys, listed, now)).await
    }
    async fn guard_unblock(&self, keys: &[String], name: &str) -> Result<(), StoreError> {
        self.run(one("guard_unblock"), self.inner.guard_unblock(keys, name)).await
    }
    async fn guard_blocks(&self, now: Timestamp) -> Result<Vec<ListedBlock>, StoreError> {
        self.run(one("guard_blocks"), self.inner.guard_blocks(now)).await
    }
    async fn guard_trim(&self, key: &str, hours: &[i64]) -> Result<(), StoreError> {
        self.run(one("guard_trim"), self.inner.guard_trim(key, hours)).await
    }
}
