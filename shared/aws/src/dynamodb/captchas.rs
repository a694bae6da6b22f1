//! Captchas: `CAPTCHA#<id>`, the keyed hash of the answer and the TTL.

use super::codec::{b, get_hash, get_n, n};
use super::iam::{Operation, op};
use super::keys::{self, EXPIRES_AT};
use super::store::DynamoStore;
use async_trait::async_trait;
use domain::ports::{CaptchaStore, StoreError, StoredCaptcha, Timestamp};

pub(super) const IAM: &[Operation] =
    &[op("put_captcha", &["dynamodb:PutItem"]), op("take_captcha", &["dynamodb:DeleteItem"])];

#[async_trait]
impl CaptchaStore for DynamoStore {
    async fn put_captcha(&self, c: &StoredCaptcha) -> Result<(), StoreError> {
        let mut item = keys::key(keys::captcha(&c.id));
        item.insert("answer_hash".into(), b(&c.answer_hash));
        item.insert(EXPIRES_AT.into(), n(c.expires_at));
        self.put_new(item).await
    }

    async fn take_captcha(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<StoredCaptcha>, StoreError> {
        let Some(item) = self.take(keys::captcha(id)).await? else { return Ok(None) };
        let stored = StoredCaptcha {
            id: id.to_string(),
            answer_hash: get_hash(&item, "answer_hash")?,
            expires_at: get_n(&item, EXPIRES_AT)?,
        };
        Ok((stored.expires_at > now).then_some(stored))
    }
}
