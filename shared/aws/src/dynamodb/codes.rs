//! Codes and counters: the versioned record per (purpose, destination)
//! (`DEST#…`), read together with the address's owner (`ADDR#…`); the send
//! transaction (captcha, record, counters); fixed-window counters
//! (`COUNTER#…`).

use super::calls::{build, cancellation_codes, conditional};
use super::codec::{Item, b, dest_record, get_n, get_s, n};
use super::iam::{Operation, op};
use super::keys;
use super::store::DynamoStore;
use super::writes::{put_message, put_record};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, ReturnValue, TransactWriteItem, Update};
use domain::ports::{
    CodeStore, CountOutcome, Counter, CounterStore, DestRecord, OutgoingMessage, SaveOutcome,
    SendOutcome, StoreError, Timestamp,
};

pub(super) const IAM: &[Operation] = &[
    op("load_destination", &["dynamodb:BatchGetItem"]),
    op("commit_send", &["dynamodb:PutItem"]),
    op("commit_send/captcha", &["dynamodb:DeleteItem"]),
    op("commit_send/counter", &["dynamodb:UpdateItem"]),
    op("commit_send/message", &["dynamodb:PutItem"]),
    op("save_destination", &["dynamodb:PutItem"]),
    op("increment", &["dynamodb:UpdateItem"]),
    op("refund", &["dynamodb:UpdateItem"]),
];

/// Using up the captcha inside the send: it must hold this answer hash and
/// be unexpired.
fn delete_captcha(
    table: &str,
    id: &str,
    hash: &[u8; 32],
    now: Timestamp,
) -> Result<Delete, StoreError> {
    build(
        Delete::builder()
            .table_name(table)
            .set_key(Some(keys::key(keys::captcha(id))))
            .condition_expression("answer_hash = :h AND expires_at > :now")
            .expression_attribute_values(":h", b(hash))
            .expression_attribute_values(":now", n(now))
            .build(),
    )
}

/// Adds one to a counter below its limit. A window's key names the window,
/// so an old count never carries over; `expires_at <= :now` still lets a
/// reused key start again.
pub(super) fn counter_increment(
    table: &str,
    c: &Counter,
    now: Timestamp,
) -> Result<Update, StoreError> {
    build(
        Update::builder()
            .table_name(table)
            .set_key(Some(keys::key(keys::counter(&c.key))))
            .update_expression("ADD n :one SET expires_at = :exp")
            .condition_expression("attribute_not_exists(n) OR n < :limit OR expires_at <= :now")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(c.expires_at))
            .expression_attribute_values(":limit", n(c.limit))
            .expression_attribute_values(":now", n(now))
            .build(),
    )
}

/// What a cancelled send transaction means: the first refusing item, by
/// its place (captcha first if any, then the record, then the counters).
fn send_refusal(
    codes: &[String],
    has_captcha: bool,
    counters: &[Counter],
) -> Result<SendOutcome, StoreError> {
    let offset = usize::from(has_captcha);
    for (i, code) in codes.iter().enumerate() {
        return Ok(match (code.as_str(), i) {
            ("None", _) => continue,
            ("ConditionalCheckFailed", 0) if has_captcha => SendOutcome::CaptchaRejected,
            ("ConditionalCheckFailed", i) if i == offset => SendOutcome::Conflict,
            ("ConditionalCheckFailed", i) => {
                let c = counters.get(i - offset - 1).ok_or_else(|| {
                    StoreError::Unavailable("cancellation reason for an unknown item".into())
                })?;
                SendOutcome::LimitReached { kind: c.kind, key: c.key.clone(), until: c.expires_at }
            }
            // Another transaction touched one of the items at once: retry.
            ("TransactionConflict", _) => SendOutcome::Conflict,
            (other, _) => {
                return Err(StoreError::Unavailable(
                    format!("transaction cancelled: {other}").into(),
                ));
            }
        });
    }
    Err(StoreError::Unavailable("transaction cancelled without a reason".into()))
}

#[async_trait]
impl CodeStore for DynamoStore {
    async fn load_destination(
        &self,
        key: &str,
        address: &str,
        now: Timestamp,
    ) -> Result<(DestRecord, Option<String>), StoreError> {
        let [record_item, owner_item] =
            self.batch_get([keys::dest(key), keys::addr(address)]).await?;
        let empty = |version| DestRecord { key: key.to_string(), version, ..Default::default() };
        let record = match record_item.as_ref().map(|i: &Item| dest_record(key, i)).transpose()? {
            None => empty(0),
            Some(r) if r.expires_at > now => r,
            Some(r) => empty(r.version),
        };
        let owner = owner_item.and_then(|i| get_s(&i, "account_id"));
        Ok((record, owner))
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
        let mut items = Vec::new();
        if let Some((id, hash)) = captcha {
            let delete = delete_captcha(&self.table, id, hash, now)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        let put = put_record(&self.table, record, expected_version)?;
        items.push(TransactWriteItem::builder().put(put).build());
        for c in counters {
            let update = counter_increment(&self.table, c, now)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        // Last, so the refusal positions above stay as they are.
        let put = put_message(&self.table, message)?;
        items.push(TransactWriteItem::builder().put(put).build());
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(SendOutcome::Committed),
            Err(e) => send_refusal(&cancellation_codes(e)?, captcha.is_some(), counters),
        }
    }

    async fn save_destination(
        &self,
        record: &DestRecord,
        expected_version: u64,
    ) -> Result<SaveOutcome, StoreError> {
        let put = put_record(&self.table, record, expected_version)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .condition_expression(put.condition_expression.unwrap_or_default())
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        Ok(match conditional(result)? {
            Some(_) => SaveOutcome::Committed,
            None => SaveOutcome::Conflict,
        })
    }
}

#[async_trait]
impl CounterStore for DynamoStore {
    async fn increment(&self, c: &Counter, now: Timestamp) -> Result<CountOutcome, StoreError> {
        let u = counter_increment(&self.table, c, now)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(u.key))
            .update_expression(u.update_expression)
            .set_condition_expression(u.condition_expression)
            .set_expression_attribute_values(u.expression_attribute_values)
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        Ok(match conditional(result)? {
            Some(out) => {
                let count = out.attributes.as_ref().map(|a| get_n(a, "n")).transpose()?;
                CountOutcome::Counted { count: count.unwrap_or(1) as u32 }
            }
            None => CountOutcome::LimitReached { until: c.expires_at },
        })
    }

    async fn refund(&self, counters: &[Counter]) -> Result<(), StoreError> {
        for c in counters {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(keys::key(keys::counter(&c.key))))
                .update_expression("ADD n :minus_one")
                .condition_expression("n > :zero")
                .expression_attribute_values(":minus_one", n(-1))
                .expression_attribute_values(":zero", n(0))
                .send()
                .await;
            // A failed condition: nothing to take back (the window is gone).
            conditional(result)?;
        }
        Ok(())
    }
}
