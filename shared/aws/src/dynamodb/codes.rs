//! Codes and counters: the versioned record per (purpose, destination)
//! (`DEST#…`), read together with the address's owner (`ADDR#…`); the send
//! transaction (captcha, record, counters); fixed-window counters
//! (`COUNTER#…`).

use super::calls::{build, cancellation_reasons, conditional};
use super::codec::{Item, b, dest_record_at, get_n, list, n};
use super::guard;
use super::iam::{Operation, op};
use super::keys;
use super::store::DynamoStore;
use super::writes::{put_message, put_record, session_checks};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    Delete, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use domain::ports::{
    CodeStore, CountOutcome, Counter, CounterStore, DestRecord, Guess, GuessOutcome, LiveCode,
    RecordWrite, SaveOutcome, SendCaptcha, SendLimits, SendOutcome, SendWrite, StoreError,
    Timestamp,
};

pub(super) const IAM: &[Operation] = &[
    op("load_destination", &["dynamodb:GetItem"]),
    op("commit_send", &["dynamodb:PutItem"]),
    op("commit_send/captcha", &["dynamodb:DeleteItem"]),
    op("commit_send/challenge", &["dynamodb:PutItem"]),
    op("commit_send/counter", &["dynamodb:UpdateItem"]),
    op("commit_send/message", &["dynamodb:PutItem"]),
    op("commit_send/new_code", &["dynamodb:UpdateItem"]),
    op("commit_send/session", &["dynamodb:ConditionCheckItem"]),
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

/// A send's new code, written without a read first (see
/// `RecordWrite::NewCode`): refused, with the item as it was, if the
/// record holds a live code, the destination's limits are spent or it is
/// hardened (its new code is long), or it holds `keep` sends or failures
/// (the send then rewrites it, trimmed).
fn new_code(
    table: &str,
    key: &str,
    code: &LiveCode,
    limits: &SendLimits,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<Update, StoreError> {
    let nth = limits.window_max.saturating_sub(1);
    let last = limits.keep.saturating_sub(1);
    let h = &limits.hardening;
    let hardens = h.fail_max.saturating_sub(1);
    let hash =
        code.hash.ok_or_else(|| StoreError::Corrupt("a new code without its hash".into()))?;
    build(
        Update::builder()
            .table_name(table)
            .set_key(Some(keys::key(keys::dest(key))))
            .update_expression(
                "SET sends = list_append(:now_list, if_not_exists(sends, :empty)), \
                 code_sealed = :sealed, code_hash = :hash, code_expires_at = :code_exp, \
                 code_attempts = :zero, expires_at = :exp ADD ver :one REMOVE code_long",
            )
            .condition_expression(format!(
                "(attribute_not_exists(code_sealed) OR code_expires_at <= :now \
                 OR (attribute_not_exists(code_long) AND code_attempts >= :max)) \
                 AND (attribute_not_exists(fails[{hardens}]) OR fails[{hardens}] <= :since) \
                 AND (attribute_not_exists(sends[0]) OR sends[0] <= :resent) \
                 AND (attribute_not_exists(sends[{nth}]) OR sends[{nth}] <= :window) \
                 AND attribute_not_exists(sends[{last}]) AND attribute_not_exists(fails[{last}])"
            ))
            .expression_attribute_values(":now_list", list(&[now]))
            .expression_attribute_values(":empty", list(&[]))
            .expression_attribute_values(":sealed", b(&code.sealed))
            .expression_attribute_values(":hash", b(&hash))
            .expression_attribute_values(":code_exp", n(code.expires_at))
            .expression_attribute_values(":zero", n(code.attempts))
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":max", n(h.max_attempts))
            .expression_attribute_values(":since", n(now - h.remember_secs))
            .expression_attribute_values(":resent", n(now - limits.resend_secs))
            .expression_attribute_values(":window", n(now - limits.window_secs))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build(),
    )
}

/// The record part of a send's transaction.
fn record_item(
    table: &str,
    write: &RecordWrite<'_>,
    now: Timestamp,
) -> Result<TransactWriteItem, StoreError> {
    Ok(match write {
        RecordWrite::Replace { record, expected_version } => {
            TransactWriteItem::builder().put(put_record(table, record, *expected_version)?).build()
        }
        RecordWrite::NewCode { key, code, limits, expires_at } => {
            let update = new_code(table, key, code, limits, *expires_at, now)?;
            TransactWriteItem::builder().update(update).build()
        }
    })
}

/// What a cancelled send transaction means: the first refusing item, by
/// its place (captcha first if any, then the record, the counters, the
/// guard's two tallies — country shard, prefix —, the message and the
/// session's checks).
fn send_refusal(
    reasons: Vec<(String, Option<Item>)>,
    send: &SendWrite<'_>,
    now: Timestamp,
) -> Result<SendOutcome, StoreError> {
    let (has_captcha, write, counters) = (send.captcha.is_some(), &send.record, send.counters);
    let offset = usize::from(has_captcha);
    let guard_at = offset + 1 + counters.len();
    let message_at = guard_at + if send.guard.is_some() { 2 } else { 0 };
    // A block refuses before the prefix's hour, as in the embedded store:
    // either guard item may hold it.
    let blocked = reasons
        .get(guard_at..message_at.min(reasons.len()))
        .unwrap_or_default()
        .iter()
        .filter(|(code, _)| code == "ConditionalCheckFailed")
        .filter_map(|(_, item)| item.as_ref().and_then(|i| get_n(i, "bu").ok()))
        .filter(|&until| until > now)
        .max();
    for (i, (code, item)) in reasons.into_iter().enumerate() {
        return Ok(match (code.as_str(), i, send.guard) {
            ("None", _, _) => continue,
            ("ConditionalCheckFailed", 0, _) if has_captcha => SendOutcome::CaptchaRejected,
            ("ConditionalCheckFailed", i, Some(g)) if (guard_at..message_at).contains(&i) => {
                match blocked {
                    Some(until) => SendOutcome::Blocked { until },
                    None => guard::send_refusal(g, i == guard_at + 1, item.as_ref(), now),
                }
            }
            ("ConditionalCheckFailed", i, _) if i == offset => match write {
                RecordWrite::Replace { .. } => SendOutcome::Conflict,
                RecordWrite::NewCode { key, .. } => {
                    SendOutcome::Occupied(dest_record_at(key, item.as_ref(), now)?)
                }
            },
            ("ConditionalCheckFailed", i, _) if i > message_at => SendOutcome::SessionRefused,
            ("ConditionalCheckFailed", i, _) => {
                let c = counters.get(i - offset - 1).ok_or_else(|| {
                    StoreError::Unavailable("cancellation reason for an unknown item".into())
                })?;
                SendOutcome::LimitReached { kind: c.kind, key: c.key.clone(), until: c.expires_at }
            }
            // Another transaction touched one of the items at once: retry.
            ("TransactionConflict", _, _) => SendOutcome::Conflict,
            (other, _, _) => {
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
    async fn load_destination(&self, key: &str, now: Timestamp) -> Result<DestRecord, StoreError> {
        dest_record_at(key, self.get(keys::dest(key)).await?.as_ref(), now)
    }

    async fn commit_send(
        &self,
        send: &SendWrite<'_>,
        now: Timestamp,
    ) -> Result<SendOutcome, StoreError> {
        let SendWrite { captcha, record, session, counters, guard, message } = *send;
        let mut items = Vec::new();
        match captcha {
            Some(SendCaptcha::Image { id, hash }) => {
                let delete = delete_captcha(&self.table, id, hash, now)?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
            Some(SendCaptcha::Challenge { nonce, expires_at }) => {
                let put = super::captchas::spend_challenge(&self.table, nonce, expires_at, now)?;
                items.push(TransactWriteItem::builder().put(put).build());
            }
            None => {}
        }
        items.push(record_item(&self.table, &record, now)?);
        for c in counters {
            let update = counter_increment(&self.table, c, now)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        if let Some(g) = guard {
            items.extend(guard::send_items(&self.table, g, now)?);
        }
        // Last, so the refusal positions above stay as they are.
        let put = put_message(&self.table, message)?;
        items.push(TransactWriteItem::builder().put(put).build());
        if let Some(session) = session {
            items.extend(session_checks(&self.table, session, now)?);
        }
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(SendOutcome::Committed),
            Err(e) => {
                let reasons = cancellation_reasons(e)?;
                send_refusal(reasons, send, now)
            }
        }
    }

    async fn guess_code(&self, g: &Guess, now: Timestamp) -> Result<GuessOutcome, StoreError> {
        self.guess(g, now).await
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
