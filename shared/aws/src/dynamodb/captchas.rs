//! Captchas: `CAPTCHA#<id>`, the keyed hash of the answer and the TTL; used
//! proof-of-work challenges: `POW#<nonce>` and the TTL.

use super::calls::{build, unavailable};
use super::codec::{b, get_hash, get_n, n};
use super::iam::{Operation, op};
use super::keys::{self, EXPIRES_AT};
use super::store::DynamoStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::Put;
use domain::ports::{CaptchaStore, StoreError, StoredCaptcha, Timestamp};

pub(super) const IAM: &[Operation] = &[
    op("put_captcha", &["dynamodb:PutItem"]),
    op("take_captcha", &["dynamodb:DeleteItem"]),
    op("spend_challenge", &["dynamodb:PutItem"]),
];

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

    async fn spend_challenge(
        &self,
        nonce: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let put = spend_challenge(&self.table, nonce, expires_at, now)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error().and_then(|se| se.code()) {
                Some("ConditionalCheckFailedException") => Ok(false),
                // A send's transaction is spending it at this very moment.
                Some("TransactionConflictException") => Ok(false),
                _ => Err(unavailable(e)),
            },
        }
    }
}

/// Spending a proof-of-work challenge: `POW#<nonce>` until it expires,
/// unless it is there (and unexpired) already. Alone, or inside a send.
pub(super) fn spend_challenge(
    table: &str,
    nonce: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<Put, StoreError> {
    let mut item = keys::key(keys::pow(nonce));
    item.insert(EXPIRES_AT.into(), n(expires_at));
    build(
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #e <= :now")
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_values(":now", n(now))
            .build(),
    )
}
