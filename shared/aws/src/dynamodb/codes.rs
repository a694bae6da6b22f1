//! Codes and counters: the versioned record per (purpose, destination)
//! (`DEST#…`), read together with the address's owner (`ADDR#…`); the send
//! transaction (captcha, record, counters); fixed-window counters
//! (`COUNTER#…`).

use super::calls::{build, cancellation_reasons, conditional, conditional_update};
use super::codec::{Item, b, dest_record_at, get_n, get_s, list, n, s};
use super::iam::{Operation, op};
use super::keys;
use super::store::DynamoStore;
use super::writes::{put_message, put_record};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    Delete, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use domain::ports::{
    CodeStore, CountOutcome, Counter, CounterStore, DestRecord, Guess, GuessOutcome, LiveCode,
    OutgoingMessage, RecordWrite, SaveOutcome, SendLimits, SendOutcome, StoreError, Timestamp,
};

pub(super) const IAM: &[Operation] = &[
    op("load_destination", &["dynamodb:BatchGetItem"]),
    op("commit_send", &["dynamodb:PutItem"]),
    op("commit_send/captcha", &["dynamodb:DeleteItem"]),
    op("commit_send/counter", &["dynamodb:UpdateItem"]),
    op("commit_send/message", &["dynamodb:PutItem"]),
    op("commit_send/new_code", &["dynamodb:UpdateItem"]),
    op("guess_code", &["dynamodb:UpdateItem"]),
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
/// record holds a live code or the destination's limits are spent.
fn new_code(
    table: &str,
    key: &str,
    code: &LiveCode,
    limits: &SendLimits,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<Update, StoreError> {
    let nth = limits.window_max.saturating_sub(1);
    let hash =
        code.hash.ok_or_else(|| StoreError::Corrupt("a new code without its hash".into()))?;
    build(
        Update::builder()
            .table_name(table)
            .set_key(Some(keys::key(keys::dest(key))))
            .update_expression(
                "SET sends = list_append(:now_list, if_not_exists(sends, :empty)), \
                 code_sealed = :sealed, code_hash = :hash, code_expires_at = :code_exp, \
                 code_attempts = :zero, expires_at = :exp ADD ver :one",
            )
            .condition_expression(format!(
                "(attribute_not_exists(code_sealed) OR code_expires_at <= :now \
                 OR code_attempts >= :max) \
                 AND (attribute_not_exists(sends[0]) OR sends[0] <= :resent) \
                 AND (attribute_not_exists(sends[{nth}]) OR sends[{nth}] <= :window)"
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
            .expression_attribute_values(":max", n(limits.max_attempts))
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

/// The two writes of a guess, sent together: exactly one of their
/// conditions can hold. The right one swaps the code for the token…
fn right_guess(
    call: UpdateItemFluentBuilder,
    g: &Guess,
    now: Timestamp,
) -> UpdateItemFluentBuilder {
    guess_values(call, g, now)
        .update_expression(
            "REMOVE code_sealed, code_hash, code_expires_at, code_attempts \
             SET token_jti = :jti, token_expires_at = :token_exp, expires_at = :exp ADD ver :one",
        )
        .condition_expression(format!("code_hash = :hash AND {}", open_to_checks(g)))
        .expression_attribute_values(":jti", s(&g.token.jti))
        .expression_attribute_values(":token_exp", n(g.token.expires_at))
}

/// …the wrong one counts the check and the failure, and hands back the
/// item as it was if neither holds.
fn wrong_guess(
    call: UpdateItemFluentBuilder,
    g: &Guess,
    now: Timestamp,
) -> UpdateItemFluentBuilder {
    guess_values(call, g, now)
        .update_expression(
            "SET fails = list_append(:now_list, if_not_exists(fails, :empty)), expires_at = :exp \
             ADD code_attempts :one, ver :one",
        )
        .condition_expression(format!(
            "attribute_exists(code_hash) AND code_hash <> :hash AND {}",
            open_to_checks(g)
        ))
        .expression_attribute_values(":now_list", list(&[now]))
        .expression_attribute_values(":empty", list(&[]))
        .return_values(ReturnValue::UpdatedNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
}

/// The live code and the failed-check window, as `Guess::judge` has them.
fn open_to_checks(g: &Guess) -> String {
    let nth = g.fail_max.saturating_sub(1);
    format!(
        "code_expires_at > :now AND code_attempts < :max \
         AND (attribute_not_exists(fails[{nth}]) OR fails[{nth}] <= :since)"
    )
}

/// What both writes of a guess name: the record, the guess, the limits.
fn guess_values(
    call: UpdateItemFluentBuilder,
    g: &Guess,
    now: Timestamp,
) -> UpdateItemFluentBuilder {
    call.set_key(Some(keys::key(keys::dest(&g.key))))
        .expression_attribute_values(":hash", b(&g.hash))
        .expression_attribute_values(":exp", n(g.expires_at))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":max", n(g.max_attempts))
        .expression_attribute_values(":since", n(g.fails_since))
}

/// What a cancelled send transaction means: the first refusing item, by
/// its place (captcha first if any, then the record, then the counters).
fn send_refusal(
    reasons: Vec<(String, Option<Item>)>,
    has_captcha: bool,
    write: &RecordWrite<'_>,
    counters: &[Counter],
    now: Timestamp,
) -> Result<SendOutcome, StoreError> {
    let offset = usize::from(has_captcha);
    for (i, (code, item)) in reasons.into_iter().enumerate() {
        return Ok(match (code.as_str(), i) {
            ("None", _) => continue,
            ("ConditionalCheckFailed", 0) if has_captcha => SendOutcome::CaptchaRejected,
            ("ConditionalCheckFailed", i) if i == offset => match write {
                RecordWrite::Replace { .. } => SendOutcome::Conflict,
                RecordWrite::NewCode { key, .. } => {
                    SendOutcome::Occupied(dest_record_at(key, item.as_ref(), now)?)
                }
            },
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
        let record = dest_record_at(key, record_item.as_ref(), now)?;
        let owner = owner_item.and_then(|i| get_s(&i, "account_id"));
        Ok((record, owner))
    }

    async fn commit_send(
        &self,
        captcha: Option<(&str, &[u8; 32])>,
        record: RecordWrite<'_>,
        counters: &[Counter],
        message: &OutgoingMessage,
        now: Timestamp,
    ) -> Result<SendOutcome, StoreError> {
        let mut items = Vec::new();
        if let Some((id, hash)) = captcha {
            let delete = delete_captcha(&self.table, id, hash, now)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        items.push(record_item(&self.table, &record, now)?);
        for c in counters {
            let update = counter_increment(&self.table, c, now)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        // Last, so the refusal positions above stay as they are.
        let put = put_message(&self.table, message)?;
        items.push(TransactWriteItem::builder().put(put).build());
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(SendOutcome::Committed),
            Err(e) => {
                let reasons = cancellation_reasons(e)?;
                send_refusal(reasons, captcha.is_some(), &record, counters, now)
            }
        }
    }

    async fn guess_code(&self, g: &Guess, now: Timestamp) -> Result<GuessOutcome, StoreError> {
        let call = || self.client.update_item().table_name(&self.table);
        let (right, wrong) =
            tokio::join!(right_guess(call(), g, now).send(), wrong_guess(call(), g, now).send());
        let (right, wrong) = (conditional_update(right), conditional_update(wrong));
        Ok(match (right, wrong) {
            (Ok(Ok(_)), _) => GuessOutcome::Right,
            (_, Ok(Ok(out))) => {
                let attempts = out.attributes.as_ref().map(|a| get_n(a, "code_attempts"));
                GuessOutcome::Wrong { attempts: attempts.transpose()?.unwrap_or(1) as u32 }
            }
            (Err(e), _) | (_, Err(e)) => return Err(e),
            (Ok(Err(_)), Ok(Err(old))) => {
                GuessOutcome::Refused(dest_record_at(&g.key, old.as_ref(), now)?)
            }
        })
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
