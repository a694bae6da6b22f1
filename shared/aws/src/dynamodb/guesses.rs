//! A guess at a destination's code, decided by DynamoDB
//! (`CodeStore::guess_code`): two conditional updates of `DEST#…` of which
//! at most one condition can hold — the right one swaps the code for the
//! token, the wrong one counts the check and the failure. Without a session
//! both go at once (one round trip); under a session the right one goes in
//! a transaction with the session's conditions, and the wrong one only
//! after it (a wrong guess under a session: two).

use super::calls::{build, cancellation_reasons, conditional_update};
use super::codec::{Item, b, dest_record_at, get_n, list, n, s};
use super::iam::{Operation, op};
use super::keys;
use super::store::DynamoStore;
use super::writes::session_checks;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use domain::ports::{Guess, GuessOutcome, StoreError, Timestamp};
use std::collections::HashMap;

pub(super) const IAM: &[Operation] = &[
    op("guess_code", &["dynamodb:UpdateItem"]),
    op("guess_code/session", &["dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]),
];

/// One update of the record: its expressions and values.
struct Write {
    update: &'static str,
    condition: String,
    values: HashMap<String, AttributeValue>,
}

/// The right guess: the code out, the token in.
fn right(g: &Guess, now: Timestamp) -> Write {
    let mut values = common(g, now);
    values.insert(":jti".into(), s(&g.token.jti));
    values.insert(":token_exp".into(), n(g.token.expires_at));
    Write {
        update: "REMOVE code_sealed, code_hash, code_expires_at, code_attempts \
                 SET token_jti = :jti, token_expires_at = :token_exp, expires_at = :exp \
                 ADD ver :one",
        condition: format!("code_hash = :hash AND {}", open_to_checks(g)),
        values,
    }
}

/// The wrong guess: one check more, one failure more.
fn wrong(g: &Guess, now: Timestamp) -> Write {
    let mut values = common(g, now);
    values.insert(":now_list".into(), list(&[now]));
    values.insert(":empty".into(), list(&[]));
    Write {
        update: "SET fails = list_append(:now_list, if_not_exists(fails, :empty)), \
                 expires_at = :exp ADD code_attempts :one, ver :one",
        condition: format!(
            "attribute_exists(code_hash) AND code_hash <> :hash AND {}",
            open_to_checks(g)
        ),
        values,
    }
}

/// The live code and the failed-check window, as `Guess::judge` has them.
fn open_to_checks(g: &Guess) -> String {
    let nth = g.fail_max.saturating_sub(1);
    format!(
        "code_expires_at > :now AND code_attempts < :max \
         AND (attribute_not_exists(fails[{nth}]) OR fails[{nth}] <= :since)"
    )
}

fn common(g: &Guess, now: Timestamp) -> HashMap<String, AttributeValue> {
    [
        (":hash", b(&g.hash)),
        (":exp", n(g.expires_at)),
        (":one", n(1)),
        (":now", n(now)),
        (":max", n(g.max_attempts)),
        (":since", n(g.fails_since)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

impl DynamoStore {
    /// Sends one update of the record: `Ok` with the new code's checks so
    /// far, or `Err` with the item as it was when its condition failed.
    async fn update_record(
        &self,
        g: &Guess,
        w: Write,
    ) -> Result<Result<u32, Option<Item>>, StoreError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::key(keys::dest(&g.key))))
            .update_expression(w.update)
            .condition_expression(w.condition)
            .set_expression_attribute_values(Some(w.values))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        Ok(match conditional_update(sent)? {
            // The right guess removed the count; the wrong one returns it.
            Ok(out) => {
                let attributes = out.attributes.unwrap_or_default();
                let attempts =
                    attributes.get("code_attempts").map(|_| get_n(&attributes, "code_attempts"));
                Ok(attempts.transpose()?.unwrap_or(0) as u32)
            }
            Err(old) => Err(old),
        })
    }

    pub(super) async fn guess(
        &self,
        g: &Guess,
        now: Timestamp,
    ) -> Result<GuessOutcome, StoreError> {
        if g.session.is_some() {
            if let Some(outcome) = self.right_under_session(g, now).await? {
                return Ok(outcome);
            }
            return Ok(match self.update_record(g, wrong(g, now)).await? {
                Ok(attempts) => GuessOutcome::Wrong { attempts },
                Err(old) => GuessOutcome::Refused(dest_record_at(&g.key, old.as_ref(), now)?),
            });
        }
        let (right, wrong) = tokio::join!(
            self.update_record(g, right(g, now)),
            self.update_record(g, wrong(g, now))
        );
        Ok(match (right?, wrong?) {
            (Ok(_), _) => GuessOutcome::Right,
            (_, Ok(attempts)) => GuessOutcome::Wrong { attempts },
            (Err(_), Err(old)) => GuessOutcome::Refused(dest_record_at(&g.key, old.as_ref(), now)?),
        })
    }

    /// The right guess in one transaction with the session's conditions:
    /// `None` when only the guess's condition failed (it may be wrong).
    async fn right_under_session(
        &self,
        g: &Guess,
        now: Timestamp,
    ) -> Result<Option<GuessOutcome>, StoreError> {
        let Some(session) = &g.session else { return Ok(None) };
        let w = right(g, now);
        let update = build(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(keys::key(keys::dest(&g.key))))
                .update_expression(w.update)
                .condition_expression(w.condition)
                .set_expression_attribute_values(Some(w.values))
                .build(),
        )?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        items.extend(session_checks(&self.table, session, now)?);
        let sent = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        let Err(e) = sent else { return Ok(Some(GuessOutcome::Right)) };
        let reasons = cancellation_reasons(e)?;
        let failed = |i: usize| reasons.get(i).is_some_and(|(c, _)| c == "ConditionalCheckFailed");
        Ok(if failed(1) || failed(2) {
            Some(GuessOutcome::SessionRefused)
        } else if reasons.iter().any(|(c, _)| c == "TransactionConflict") {
            Some(GuessOutcome::Busy)
        } else if failed(0) {
            None
        } else {
            let codes: Vec<_> = reasons.iter().map(|(c, _)| c.as_str()).collect();
            return Err(StoreError::Unavailable(
                format!("transaction cancelled: {codes:?}").into(),
            ));
        })
    }
}
