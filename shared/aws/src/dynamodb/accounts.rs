//! Accounts (`ACCOUNT#…`, versioned), address ownership (`ADDR#…`) and
//! logged-out sessions (`REVOKED#…`). Account changes are one transaction
//! of `AccountWrite`s, each with its condition.

use super::calls::{build, cancellation_codes};
use super::codec::{
    Item, account_item, account_record, dest_item, get_n, get_s, n, s, version_condition,
};
use super::iam::{Operation, op};
use super::keys::{self, EXPIRES_AT};
use super::store::DynamoStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use domain::ports::{
    AccountRecord, AccountStore, AccountWrite, ApplyOutcome, StoreError, Timestamp,
};
use domain::retry::{self, Attempt};

pub(super) const IAM: &[Operation] = &[
    op("get_account", &["dynamodb:GetItem"]),
    op("account_by_address", &["dynamodb:GetItem"]),
    op("load_session", &["dynamodb:BatchGetItem"]),
    op("revoke_session", &["dynamodb:PutItem"]),
    op("apply/PutAccount", &["dynamodb:PutItem"]),
    op("apply/ClaimAddress", &["dynamodb:PutItem"]),
    op("apply/ReleaseAddress", &["dynamodb:DeleteItem"]),
    op("apply/SaveDestination", &["dynamodb:PutItem"]),
    op("apply/UseSecret", &["dynamodb:DeleteItem"]),
    op("apply/DeleteAccount", &["dynamodb:DeleteItem"]),
];

fn put(
    table: &str,
    item: Item,
    cond: &str,
    values: Vec<(String, AttributeValue)>,
) -> Result<TransactWriteItem, StoreError> {
    let values = (!values.is_empty()).then(|| values.into_iter().collect());
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(cond)
        .set_expression_attribute_values(values)
        .build();
    Ok(TransactWriteItem::builder().put(build(put)?).build())
}

fn delete(
    table: &str,
    pk: String,
    cond: &str,
    values: Vec<(&str, AttributeValue)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut d =
        Delete::builder().table_name(table).set_key(Some(keys::key(pk))).condition_expression(cond);
    for (k, v) in values {
        d = d.expression_attribute_values(k, v);
    }
    Ok(TransactWriteItem::builder().delete(build(d.build())?).build())
}

/// One account write as a transaction item with its condition.
fn transact_item(
    table: &str,
    w: &AccountWrite,
    now: Timestamp,
) -> Result<TransactWriteItem, StoreError> {
    match w {
        AccountWrite::PutAccount(a) => {
            let stored = AccountRecord { version: a.version + 1, ..a.clone() };
            let (cond, value) = version_condition(a.version);
            put(table, account_item(&stored), cond, value.into_iter().collect())
        }
        AccountWrite::ClaimAddress { key, account_id } => {
            let mut item = keys::key(keys::addr(key));
            item.insert("account_id".into(), s(account_id));
            let me = vec![(":me".to_string(), s(account_id))];
            put(table, item, "attribute_not_exists(pk) OR account_id = :me", me)
        }
        AccountWrite::ReleaseAddress { key, account_id } => {
            delete(table, keys::addr(key), "account_id = :me", vec![(":me", s(account_id))])
        }
        AccountWrite::SaveDestination { record, expected_version } => {
            let (cond, value) = version_condition(*expected_version);
            put(table, dest_item(record), cond, value.into_iter().collect())
        }
        AccountWrite::UseSecret { kind, hash } => {
            let cond = "attribute_exists(pk) AND expires_at > :now";
            delete(table, keys::secret(*kind, hash), cond, vec![(":now", n(now))])
        }
        AccountWrite::DeleteAccount { id, version } => delete(
            table,
            keys::account(id),
            "ver = :expected_ver",
            vec![(":expected_ver", n(*version))],
        ),
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.get(keys::account(id)).await?.as_ref().map(account_record).transpose()
    }

    async fn account_by_address(&self, key: &str) -> Result<Option<AccountRecord>, StoreError> {
        let Some(owner) = self.get(keys::addr(key)).await? else { return Ok(None) };
        match get_s(&owner, "account_id") {
            Some(id) => self.get_account(&id).await,
            None => Err(StoreError::Corrupt("address without account_id".into())),
        }
    }

    async fn load_session(
        &self,
        account_id: &str,
        jti: &str,
        now: Timestamp,
    ) -> Result<(Option<AccountRecord>, bool), StoreError> {
        let [acct, rev] = self.batch_get([keys::account(account_id), keys::revoked(jti)]).await?;
        let revoked = rev.is_some_and(|r| get_n(&r, EXPIRES_AT).is_ok_and(|e| e > now));
        Ok((acct.as_ref().map(account_record).transpose()?, revoked))
    }

    async fn apply(
        &self,
        writes: &[AccountWrite],
        now: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        let items = writes
            .iter()
            .map(|w| transact_item(&self.table, w, now))
            .collect::<Result<Vec<_>, _>>()?;
        let items = &items;
        let outcome = retry::run(|| async move {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let codes = match sent {
                Ok(_) => return Ok(Attempt::Done(ApplyOutcome::Committed)),
                Err(e) => cancellation_codes(e)?,
            };
            if let Some(i) = codes.iter().position(|c| c == "ConditionalCheckFailed") {
                let refused = writes.get(i).ok_or_else(|| {
                    StoreError::Unavailable("cancellation reason for an unknown item".into())
                })?;
                return Ok(Attempt::Done(ApplyOutcome::Refused(refused.refusal())));
            }
            if codes.iter().any(|c| c == "TransactionConflict") {
                // Another transaction held one of the items: try again shortly.
                return Ok(Attempt::Retry);
            }
            Err(StoreError::Unavailable(format!("transaction cancelled: {codes:?}").into()))
        })
        .await?;
        outcome.ok_or_else(|| StoreError::Unavailable("transaction kept conflicting".into()))
    }

    async fn revoke_session(&self, jti: &str, expires_at: Timestamp) -> Result<(), StoreError> {
        let mut item = keys::key(keys::revoked(jti));
        item.insert(EXPIRES_AT.into(), n(expires_at));
        self.put(item).await
    }
}
