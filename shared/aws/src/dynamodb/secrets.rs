//! One-time secrets — login links and invites: `SECRET#<kind>#<hash>`, the
//! account and the TTL. Only the keyed hash of a secret is ever stored.

use super::codec::{get_n, get_s, n, s};
use super::iam::{Operation, op};
use super::keys::{self, EXPIRES_AT};
use super::store::DynamoStore;
use async_trait::async_trait;
use domain::ports::{SecretKind, SecretStore, StoreError, Timestamp};

pub(super) const IAM: &[Operation] =
    &[op("put_secret", &["dynamodb:PutItem"]), op("take_secret", &["dynamodb:DeleteItem"])];

#[async_trait]
impl SecretStore for DynamoStore {
    async fn put_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        account_id: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut item = keys::key(keys::secret(kind, hash));
        item.insert("account_id".into(), s(account_id));
        item.insert(EXPIRES_AT.into(), n(expires_at));
        self.put_new(item).await
    }

    async fn take_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let Some(item) = self.take(keys::secret(kind, hash)).await? else { return Ok(None) };
        if get_n(&item, EXPIRES_AT)? <= now {
            return Ok(None);
        }
        Ok(get_s(&item, "account_id"))
    }
}
