//! A guess at a destination's code, decided by DynamoDB
//! (`CodeStore::guess_code`): two conditional updates of `DEST#…` of which
//! at most one condition can hold — the right one swaps the code for the
//! token, the wrong one counts the check and the failure. Without a session
//! both go at once (one round trip); under a session the right one goes in
//! a transaction with the session's conditions, and the wrong one only
//! after it (a wrong guess under a session: two).

use super::calls::{build, cancellation_reasons, conditional_update};
use super::codec::{Item, b, checks_of, checks_total, dest_record_at, get_s, list, n, s};
use super::guard;
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
    // GetItem: after a fault, whether the right guess's update landed.
    op("guess_code", &["dynamodb:UpdateItem", "dynamodb:GetItem"]),
    op("guess_code/session", &["dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]),
];

/// One update of the record: its expressions, names and values.
struct Write {
    update: &'static str,
    condition: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

/// The right guess: the code out, the token in.
fn right(g: &Guess, now: Timestamp) -> Write {
    let mut values = common(g, now);
    values.insert(":jti".into(), s(&g.token.jti));
    values.insert(":token_exp".into(), n(g.token.expires_at));
    Write {
        update: "REMOVE code_sealed, code_hash, code_expires_at, code_attempts, code_long \
                 SET token_jti = :jti, token_expires_at = :token_exp, expires_at = :exp \
                 ADD ver :one",
        condition: format!("code_hash = :hash AND {}", open_to_checks(g)),
        names: names(g),
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
                 expires_at = :exp ADD code_attempts :one, ver :one, #total :one, #mine :one",
        condition: format!(
            "attribute_exists(code_hash) AND code_hash <> :hash AND {}",
            open_to_checks(g)
        ),
        names: names(g),
        values,
    }
}

/// A code open to checks, and the hour's failures unspent, as
/// `Guess::judge` has them: unexpired and long, or short with checks left
/// and the destination not hardened; fewer than `network_max` failures
/// from this network and `ceiling` from all in the hour.
fn open_to_checks(g: &Guess) -> String {
    let nth = g.hardening.fail_max.saturating_sub(1);
    let last = g.keep.saturating_sub(1);
    format!(
        "code_expires_at > :now AND attribute_not_exists(fails[{last}]) \
         AND (code_long = :yes OR (code_attempts < :max \
              AND (attribute_not_exists(fails[{nth}]) OR fails[{nth}] <= :since))) \
         AND (attribute_not_exists(#total) OR #total < :ceiling) \
         AND (attribute_not_exists(#mine) OR #mine < :network_max)"
    )
}

/// The hour's failure counters of the record (`codec::checks_total`, `checks_of`).
fn names(g: &Guess) -> HashMap<String, String> {
    HashMap::from([
        ("#total".to_string(), checks_total(g.hour)),
        ("#mine".to_string(), checks_of(g.hour, &g.network)),
    ])
}

fn common(g: &Guess, now: Timestamp) -> HashMap<String, AttributeValue> {
    let h = &g.hardening;
    [
        (":hash", b(&g.hash)),
        (":exp", n(g.expires_at)),
        (":one", n(1)),
        (":now", n(now)),
        (":yes", AttributeValue::Bool(true)),
        (":max", n(h.max_attempts)),
        (":since", n(now - h.remember_secs)),
        (":ceiling", n(g.ceiling)),
        (":network_max", n(g.network_max)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Whether the record holds the token of this guess (its right update landed).
fn holds_token(item: Option<&Item>, g: &Guess) -> bool {
    item.and_then(|i| get_s(i, "token_jti")).as_deref() == Some(g.token.jti.as_str())
}

/// A wrong guess as the record holds it after its update: the code's
/// checks, this network's failures in the hour, whether the code is long
/// and whether it is closed to this network now.
fn wrong_outcome(g: &Guess, item: &Item, now: Timestamp) -> Result<GuessOutcome, StoreError> {
    let r = dest_record_at(&g.key, Some(item), now)?;
    let code = r.code.as_ref();
    Ok(GuessOutcome::Wrong {
        attempts: code.map_or(0, |c| c.attempts),
        network_fails: r.checks.at(g.hour, &g.network).1,
        long: code.is_some_and(|c| c.long),
        closed: g.open_code(&r, now).is_none(),
    })
}

impl DynamoStore {
    /// Sends one update of the record: `Ok` with the new code's checks so
    /// far, or `Err` with the item as it was when its condition failed.
    async fn update_record(
        &self,
        g: &Guess,
        w: Write,
    ) -> Result<Result<Item, Option<Item>>, StoreError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::key(keys::dest(&g.key))))
            .update_expression(w.update)
            .condition_expression(w.condition)
            .set_expression_attribute_names(Some(w.names))
            .set_expression_attribute_values(Some(w.values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        Ok(match conditional_update(sent)? {
            Ok(out) => Ok(out.attributes.unwrap_or_default()),
            Err(old) => Err(old),
        })
    }

    pub(super) async fn guess(
        &self,
        g: &Guess,
        now: Timestamp,
    ) -> Result<GuessOutcome, StoreError> {
        if g.session.is_some() || g.converts.is_some() {
            if let Some(outcome) = self.right_in_transaction(g, now).await? {
                return Ok(outcome);
            }
            let sent = self.update_record(g, wrong(g, now)).await;
            return self.wrong_after(g, now, sent).await;
        }
        let (right_sent, wrong_sent) = tokio::join!(
            self.update_record(g, right(g, now)),
            self.update_record(g, wrong(g, now))
        );
        // Decided from the right-guess update first: a failure of the other
        // never loses a token nor leaves a wrong guess uncounted.
        match right_sent {
            Ok(Ok(_)) => return Ok(GuessOutcome::Right),
            // The SDK retried an update that had landed: the record holds
            // this guess's token.
            Ok(Err(old)) if holds_token(old.as_ref(), g) => return Ok(GuessOutcome::Right),
            Ok(Err(_)) => {}
            Err(e) => {
                if let Ok(Ok(item)) = &wrong_sent {
                    // Counted as wrong: the right update's condition could not hold.
                    return wrong_outcome(g, item, now);
                }
                return self.right_again(g, now, e).await;
            }
        }
        self.wrong_after(g, now, wrong_sent).await
    }

    /// The wrong-guess update's result once the right one's condition
    /// failed; sent again alone if it failed to go through, so the guess is
    /// counted (its condition makes a second count of one guess impossible
    /// only if the first did not land; a lost answer may count it twice,
    /// which errs toward fewer guesses).
    async fn wrong_after(
        &self,
        g: &Guess,
        now: Timestamp,
        sent: Result<Result<Item, Option<Item>>, StoreError>,
    ) -> Result<GuessOutcome, StoreError> {
        let sent = match sent {
            Ok(sent) => sent,
            Err(_) => self.update_record(g, wrong(g, now)).await?,
        };
        Ok(match sent {
            Ok(item) => wrong_outcome(g, &item, now)?,
            Err(old) => GuessOutcome::Refused(dest_record_at(&g.key, old.as_ref(), now)?),
        })
    }

    /// The right-guess update failed to go through (and the wrong one did
    /// not count the guess): whether it landed is read from the record —
    /// its token is this guess's — and if it did not, it is sent again,
    /// then the wrong one. `Err` only when the store fails again.
    async fn right_again(
        &self,
        g: &Guess,
        now: Timestamp,
        first: StoreError,
    ) -> Result<GuessOutcome, StoreError> {
        let item = self.get(keys::dest(&g.key)).await.map_err(|_| first)?;
        if holds_token(item.as_ref(), g) {
            return Ok(GuessOutcome::Right);
        }
        match self.update_record(g, right(g, now)).await? {
            Ok(_) => Ok(GuessOutcome::Right),
            Err(old) if holds_token(old.as_ref(), g) => Ok(GuessOutcome::Right),
            Err(_) => {
                let wrong_sent = self.update_record(g, wrong(g, now)).await;
                self.wrong_after(g, now, wrong_sent).await
            }
        }
    }

    /// The right guess in one transaction with the session's conditions
    /// and the SMS guard's conversion: `None` when only the guess's
    /// condition failed (it may be wrong).
    async fn right_in_transaction(
        &self,
        g: &Guess,
        now: Timestamp,
    ) -> Result<Option<GuessOutcome>, StoreError> {
        let w = right(g, now);
        let update = build(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(keys::key(keys::dest(&g.key))))
                .update_expression(w.update)
                .condition_expression(w.condition)
                .set_expression_attribute_names(Some(w.names))
                .set_expression_attribute_values(Some(w.values))
                .build(),
        )?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(session) = &g.session {
            items.extend(session_checks(&self.table, session, now)?);
        }
        if let Some(touch) = &g.converts {
            items.extend(guard::conversion_items(&self.table, touch)?);
        }
        let sent = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        let Err(e) = sent else { return Ok(Some(GuessOutcome::Right)) };
        let reasons = cancellation_reasons(e)?;
        let failed = |i: usize| reasons.get(i).is_some_and(|(c, _)| c == "ConditionalCheckFailed");
        // The session's checks follow the guess; the conversion has no condition.
        let session_failed = g.session.is_some() && (failed(1) || failed(2));
        Ok(if session_failed {
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
