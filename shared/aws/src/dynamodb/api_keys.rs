//! Servers' API keys: `APIKEY#<id>`, a name, the keyed hash of the secret
//! part and when it was made. No TTL: a key lives until it is revoked.

use super::codec::{b, get_hash, get_n, get_s, n, s};
use super::iam::{Operation, op};
use super::keys;
use super::store::DynamoStore;
use async_trait::async_trait;
use domain::ports::{ApiKeyRecord, ApiKeyStore, StoreError};

pub(super) const IAM: &[Operation] = &[
    op("put_api_key", &["dynamodb:PutItem"]),
    op("get_api_key", &["dynamodb:GetItem"]),
    op("revoke_api_key", &["dynamodb:DeleteItem"]),
];

#[async_trait]
impl ApiKeyStore for DynamoStore {
    async fn put_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut item = keys::key(keys::api_key(&key.id));
        item.insert("name".into(), s(&key.name));
        item.insert("hash".into(), b(&key.hash));
        item.insert("created_at".into(), n(key.created_at));
        self.put_new(item).await
    }

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let Some(item) = self.get(keys::api_key(id)).await? else { return Ok(None) };
        Ok(Some(ApiKeyRecord {
            id: id.to_string(),
            name: get_s(&item, "name").unwrap_or_default(),
            hash: get_hash(&item, "hash")?,
            created_at: get_n(&item, "created_at")?,
        }))
    }

    async fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.take(keys::api_key(id)).await?.is_some())
    }
}
