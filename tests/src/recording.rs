//! A store that records the operations the use cases ask of it, by the
//! names the DynamoDB adapter declares its IAM actions under
//! (`aws::dynamodb::operations`), and forwards each to a real store.

use async_trait::async_trait;
use domain::ports::*;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

pub struct Recording {
    inner: Arc<dyn Store>,
    seen: Mutex<BTreeSet<String>>,
}

impl Recording {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Recording { inner, seen: Mutex::default() }
    }

    fn note(&self, names: impl IntoIterator<Item = String>) {
        self.seen.lock().unwrap().extend(names);
    }

    /// The operations recorded since the last call.
    pub fn take(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.seen.lock().unwrap())
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
    };
    format!("apply/{kind}")
}

fn one(name: &str) -> [String; 1] {
    [name.to_string()]
}

#[async_trait]
impl CaptchaStore for Recording {
    async fn put_captcha(&self, c: &StoredCaptcha) -> Result<(), StoreError> {
        self.note(one("put_captcha"));
        self.inner.put_captcha(c).await
    }
    async fn take_captcha(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<StoredCaptcha>, StoreError> {
        self.note(one("take_captcha"));
        self.inner.take_captcha(id, now).await
    }
}

#[async_trait]
impl CodeStore for Recording {
    async fn load_destination(
        &self,
        key: &str,
        address: &str,
        now: Timestamp,
    ) -> Result<(DestRecord, Option<String>), StoreError> {
        self.note(one("load_destination"));
        self.inner.load_destination(key, address, now).await
    }
    async fn commit_send(
        &self,
        captcha: Option<(&str, &[u8; 32])>,
        record: &DestRecord,
        expected_version: u64,
        counters: &[Counter],
        message: &OutgoingMessage,
        now: Timestamp,
    ) -> Result<SendOutcome, StoreError> {
        self.note(one("commit_send"));
        self.note(one("commit_send/message"));
        if captcha.is_some() {
            self.note(one("commit_send/captcha"));
        }
        if !counters.is_empty() {
            self.note(one("commit_send/counter"));
        }
        self.inner.commit_send(captcha, record, expected_version, counters, message, now).await
    }
    async fn save_destination(
        &self,
        record: &DestRecord,
        expected_version: u64,
    ) -> Result<SaveOutcome, StoreError> {
        self.note(one("save_destination"));
        self.inner.save_destination(record, expected_version).await
    }
}

#[async_trait]
impl CounterStore for Recording {
    async fn increment(&self, c: &Counter, now: Timestamp) -> Result<CountOutcome, StoreError> {
        self.note(one("increment"));
        self.inner.increment(c, now).await
    }
    async fn refund(&self, counters: &[Counter]) -> Result<(), StoreError> {
        if !counters.is_empty() {
            self.note(one("refund"));
        }
        self.inner.refund(counters).await
    }
}

#[async_trait]
impl AccountStore for Recording {
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.note(one("get_account"));
        self.inner.get_account(id).await
    }
    async fn account_by_address(&self, key: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.note(one("account_by_address"));
        self.inner.account_by_address(key).await
    }
    async fn load_session(
        &self,
        id: &str,
        jti: &str,
        now: Timestamp,
    ) -> Result<(Option<AccountRecord>, bool), StoreError> {
        self.note(one("load_session"));
        self.inner.load_session(id, jti, now).await
    }
    async fn apply(
        &self,
        writes: &[AccountWrite],
        now: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        self.note(writes.iter().map(write_name));
        self.inner.apply(writes, now).await
    }
    async fn revoke_session(&self, jti: &str, expires_at: Timestamp) -> Result<(), StoreError> {
        self.note(one("revoke_session"));
        self.inner.revoke_session(jti, expires_at).await
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
        self.note(one("put_secret"));
        self.inner.put_secret(kind, hash, owner, exp).await
    }
    async fn take_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SecretOwner>, StoreError> {
        self.note(one("take_secret"));
        self.inner.take_secret(kind, hash, now).await
    }
    async fn peek_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SecretOwner>, StoreError> {
        self.note(one("peek_secret"));
        self.inner.peek_secret(kind, hash, now).await
    }
}

#[async_trait]
impl ApiKeyStore for Recording {
    async fn put_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.note(one("put_api_key"));
        self.inner.put_api_key(key).await
    }
    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.note(one("get_api_key"));
        self.inner.get_api_key(id).await
    }
    async fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError> {
        self.note(one("revoke_api_key"));
        self.inner.revoke_api_key(id).await
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
        self.note(one("claim_message"));
        self.inner.claim_message(id, now, lease_until).await
    }
    async fn settle_message(&self, id: &str) -> Result<(), StoreError> {
        self.note(one("settle_message"));
        self.inner.settle_message(id).await
    }
    async fn release_message(&self, id: &str) -> Result<(), StoreError> {
        self.note(one("release_message"));
        self.inner.release_message(id).await
    }
    async fn fail_message(
        &self,
        id: &str,
        record: Option<(&DestRecord, u64)>,
        refunds: &[Counter],
    ) -> Result<FailOutcome, StoreError> {
        self.note(one("fail_message"));
        if record.is_some() {
            self.note(one("fail_message/record"));
        }
        self.inner.fail_message(id, record, refunds).await
    }
    async fn is_suppressed(&self, address: &str) -> Result<bool, StoreError> {
        self.note(one("is_suppressed"));
        self.inner.is_suppressed(address).await
    }
    async fn suppress(
        &self,
        address: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.note(one("suppress"));
        self.inner.suppress(address, reason, now).await
    }
}
