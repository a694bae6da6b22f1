//! The outbox: outgoing messages (`MSG#…`, written by the send transaction
//! and fed to the delivery function by the table's stream), their claim,
//! settling and failure; suppressed addresses (`SUPPRESSED#…`).
//!
//! A message's `state` is `pending`, `sending` (with `lease_until`), `done`
//! or `failed`; `attempts` counts claims.

use super::calls::{build, conditional, unavailable};
use super::codec::{Item, get_n, get_s, n, s};
use super::iam::{Operation, op};
use super::keys::{self, EXPIRES_AT, PK};
use super::store::DynamoStore;
use super::writes::{PENDING, put_record};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem, Update};
use domain::ports::{
    Claim, Counter, DestRecord, FailOutcome, OutboxStore, OutgoingMessage, StoreError, Timestamp,
};

pub(super) const IAM: &[Operation] = &[
    op("claim_message", &["dynamodb:UpdateItem", "dynamodb:GetItem"]),
    op("settle_message", &["dynamodb:UpdateItem"]),
    op("release_message", &["dynamodb:UpdateItem"]),
    op("fail_message", &["dynamodb:UpdateItem"]),
    op("fail_message/record", &["dynamodb:PutItem"]),
    op("is_suppressed", &["dynamodb:GetItem"]),
    op("suppress", &["dynamodb:PutItem"]),
];

const SENDING: &str = "sending";
const DONE: &str = "done";
const FAILED: &str = "failed";

fn message(item: &Item) -> Result<OutgoingMessage, StoreError> {
    let pk = get_s(item, PK).unwrap_or_default();
    let id = pk.strip_prefix(keys::MESSAGE).unwrap_or_default().to_string();
    let sealed = item
        .get("sealed")
        .and_then(|v| v.as_b().ok())
        .map(|blob| blob.as_ref().to_vec())
        .ok_or_else(|| StoreError::Corrupt("sealed is not bytes".into()))?;
    Ok(OutgoingMessage {
        id,
        sealed,
        created_at: get_n(item, "created_at")?,
        expires_at: get_n(item, EXPIRES_AT)?,
        attempts: get_n(item, "attempts")? as u32,
    })
}

/// Takes one back from a counter inside a transaction. Unconditional (a
/// failed condition would cancel the whole transaction): a counter whose
/// window is over is recreated below zero, harmlessly, and expires with it.
fn counter_refund(table: &str, c: &Counter) -> Result<Update, StoreError> {
    build(
        Update::builder()
            .table_name(table)
            .set_key(Some(keys::key(keys::counter(&c.key))))
            .update_expression("ADD n :minus_one SET expires_at = if_not_exists(expires_at, :exp)")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":exp", n(c.expires_at))
            .build(),
    )
}

impl DynamoStore {
    /// Sets a claimed message's state.
    async fn set_state(&self, id: &str, state: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::key(keys::message(id))))
            .update_expression("SET #state = :state REMOVE lease_until")
            .condition_expression("#state = :sending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":state", s(state))
            .expression_attribute_values(":sending", s(SENDING))
            .send()
            .await;
        // Not claimed any more: another delivery settled it first.
        conditional(result)?;
        Ok(())
    }

    /// Why a claim's condition failed: read the message as it is.
    async fn why_not_claimed(&self, id: &str, now: Timestamp) -> Result<Claim, StoreError> {
        let Some(item) = self.get(keys::message(id)).await? else { return Ok(Claim::Settled) };
        let state = get_s(&item, "state");
        let until = item.get("lease_until").map(|_| get_n(&item, "lease_until")).transpose()?;
        Ok(match (state.as_deref(), until) {
            (Some(SENDING), Some(until)) if until > now => Claim::Leased { until },
            // Expired, done or failed (or freed since: the retry claims it).
            _ => Claim::Settled,
        })
    }
}

#[async_trait]
impl OutboxStore for DynamoStore {
    async fn claim_message(
        &self,
        id: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::key(keys::message(id))))
            .update_expression("SET #state = :sending, lease_until = :lease ADD attempts :one")
            .condition_expression(
                "attribute_exists(pk) AND expires_at > :now AND \
                 (#state = :pending OR (#state = :sending AND lease_until <= :now))",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", s(SENDING))
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":lease", n(lease_until))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match conditional(result)? {
            Some(out) => {
                let item = out.attributes.unwrap_or_default();
                Ok(Claim::Claimed(message(&item)?))
            }
            None => self.why_not_claimed(id, now).await,
        }
    }

    async fn settle_message(&self, id: &str) -> Result<(), StoreError> {
        self.set_state(id, DONE).await
    }

    async fn release_message(&self, id: &str) -> Result<(), StoreError> {
        self.set_state(id, PENDING).await
    }

    async fn fail_message(
        &self,
        id: &str,
        record: Option<(&DestRecord, u64)>,
        refunds: &[Counter],
    ) -> Result<FailOutcome, StoreError> {
        let fail = build(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(keys::key(keys::message(id))))
                .update_expression("SET #state = :failed REMOVE lease_until")
                .condition_expression("#state = :sending")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":failed", s(FAILED))
                .expression_attribute_values(":sending", s(SENDING))
                .build(),
        )?;
        let mut items = vec![TransactWriteItem::builder().update(fail).build()];
        if let Some((r, expected)) = record {
            let put = put_record(&self.table, r, expected)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        for c in refunds {
            let update = counter_refund(&self.table, c)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        let Some(codes) = self.transact(&items).await? else { return Ok(FailOutcome::Committed) };
        Ok(match codes.iter().position(|c| c != "None").map(|i| (i, codes[i].as_str())) {
            Some((0, "ConditionalCheckFailed")) => FailOutcome::NotClaimed,
            Some((_, "ConditionalCheckFailed" | "TransactionConflict")) => FailOutcome::Conflict,
            other => {
                let code = other.map_or("none", |(_, c)| c).to_string();
                return Err(unavailable(std::io::Error::other(format!(
                    "transaction cancelled: {code}"
                ))));
            }
        })
    }

    async fn is_suppressed(&self, address: &str) -> Result<bool, StoreError> {
        Ok(self.get(keys::suppressed(address)).await?.is_some())
    }

    async fn suppress(
        &self,
        address: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut item = keys::key(keys::suppressed(address));
        item.insert("reason".into(), s(reason));
        item.insert("at".into(), n(now));
        self.put(item).await
    }
}
