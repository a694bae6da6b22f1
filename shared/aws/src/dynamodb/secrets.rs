//! One-time secrets — login links and invites: `SECRET#<kind>#<hash>`, the
//! account and the TTL. Only the keyed hash of a secret is ever stored.

use super::codec::{Item, get_n, get_s, n, s};
use super::iam::{Operation, op};
use super::keys::{self, EXPIRES_AT};
use super::store::DynamoStore;
use async_trait::async_trait;
use domain::ports::{SecretKind, SecretOwner, SecretStore, StoreError, Timestamp};

pub(super) const IAM: &[Operation] = &[
    op("put_secret", &["dynamodb:PutItem"]),
    op("take_secret", &["dynamodb:DeleteItem"]),
    op("peek_secret", &["dynamodb:GetItem"]),
];

/// The owner stored in a secret's item, if it is unexpired at `now`.
fn owner(item: &Item, now: Timestamp) -> Result<Option<SecretOwner>, StoreError> {
    if get_n(item, EXPIRES_AT)? <= now {
        return Ok(None);
    }
    let account_id = get_s(item, "account_id")
        .ok_or_else(|| StoreError::Corrupt("secret without account_id".into()))?;
    let session_epoch = match item.get("session_epoch") {
        Some(_) => get_n(item, "session_epoch")? as u64,
        None => 0,
    };
    Ok(Some(SecretOwner { account_id, session_epoch }))
}

#[async_trait]
impl SecretStore for DynamoStore {
    async fn put_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        owner: &SecretOwner,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut item = keys::key(keys::secret(kind, hash));
        item.insert("account_id".into(), s(&owner.account_id));
        item.insert("session_epoch".into(), n(owner.session_epoch));
        item.insert(EXPIRES_AT.into(), n(expires_at));
        self.put_new(item).await
    }

    async fn take_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SecretOwner>, StoreError> {
        let Some(item) = self.take(keys::secret(kind, hash)).await? else { return Ok(None) };
        owner(&item, now)
    }

    async fn peek_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SecretOwner>, StoreError> {
        let Some(item) = self.get(keys::secret(kind, hash)).await? else { return Ok(None) };
        owner(&item, now)
    }
}
