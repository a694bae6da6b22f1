//! Accounts (`ACCOUNT#…`, versioned), address ownership (`ADDR#…`) and
//! logged-out sessions (`REVOKED#…`). Account changes are one transaction
//! of `AccountWrite`s, each with its condition. An address item holds a
//! copy of its account, rewritten with it, so finding an account by
//! address is one read.

use super::calls::build;
use super::codec::{
    Item, account_item, account_record, dest_item, get_n, get_s, n, s, session_item,
    session_record, version_condition,
};
use super::guard::conversion_items;
use super::iam::{Operation, op};
use super::keys::{self, EXPIRES_AT};
use super::store::DynamoStore;
use super::writes::{
    SESSION_EPOCH_HOLDS, logout_check, put_message, session_epoch_check, session_values,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use domain::ports::{
    AccountRecord, AccountStore, AccountWrite, ApplyOutcome, Refusal, SessionCheck, SessionRecord,
    StoreError, Timestamp,
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
    op("apply/Session", &["dynamodb:ConditionCheckItem"]),
    op("apply/PutMessage", &["dynamodb:PutItem"]),
    op("apply/PutSession", &["dynamodb:PutItem"]),
    op("apply/EndSession", &["dynamodb:DeleteItem", "dynamodb:PutItem"]),
    op("list_sessions", &["dynamodb:Query"]),
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

fn delete<K: Into<String>>(
    table: &str,
    pk: String,
    cond: &str,
    values: Vec<(K, AttributeValue)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut d =
        Delete::builder().table_name(table).set_key(Some(keys::key(pk))).condition_expression(cond);
    for (k, v) in values {
        d = d.expression_attribute_values(k, v);
    }
    Ok(TransactWriteItem::builder().delete(build(d.build())?).build())
}

/// The transaction items of `writes`, each with the refusal its condition
/// stands for. An account's address items carry a copy of the account (so
/// a login finds it in one read): each `PutAccount` also rewrites the
/// address items of the addresses it keeps, merged with their
/// `ClaimAddress` where the same transaction claims them.
fn transact_items(
    table: &str,
    writes: &[AccountWrite],
    now: Timestamp,
) -> Result<Vec<(TransactWriteItem, Refusal)>, StoreError> {
    let stored: Vec<AccountRecord> = writes
        .iter()
        .filter_map(|w| match w {
            AccountWrite::PutAccount(a) => {
                Some(AccountRecord { version: a.version + 1, ..a.clone() })
            }
            _ => None,
        })
        .collect();
    let copy_of = |key: &str, id: &str| {
        stored.iter().find(|a| a.id == id && a.address_keys().iter().any(|k| k == key))
    };
    let session = session_of(writes);
    // A write to the session's own account carries its epoch condition;
    // DynamoDB takes one operation per item in a transaction.
    let writes_account = |id: &str| {
        writes.iter().any(|w| match w {
            AccountWrite::PutAccount(a) => a.id == id,
            AccountWrite::DeleteAccount { id: d, .. } => d == id,
            _ => false,
        })
    };
    let mut items = Vec::with_capacity(writes.len() + 3);
    for w in writes {
        let item = match w {
            AccountWrite::ClaimAddress { key, account_id } => {
                claim(table, key, account_id, copy_of(key, account_id))?
            }
            AccountWrite::Session(c) => {
                if !writes_account(&c.account_id) {
                    items.push((session_epoch_check(table, c)?, Refusal::SessionEnded));
                }
                logout_check(table, c, now)?
            }
            AccountWrite::Converted(touch) => {
                items.extend(conversion_items(table, touch)?.map(|item| (item, w.refusal())));
                continue;
            }
            AccountWrite::EndSession { account_id, jti, expires_at } => {
                let ended = end_session(table, account_id, jti, *expires_at, now)?;
                items.extend(ended.map(|item| (item, w.refusal())));
                continue;
            }
            other => {
                let own = session.filter(|c| match other {
                    AccountWrite::PutAccount(a) => a.id == c.account_id,
                    AccountWrite::DeleteAccount { id, .. } => *id == c.account_id,
                    _ => false,
                });
                transact_item(table, other, own, now)?
            }
        };
        items.push((item, w.refusal()));
    }
    items.extend(address_copies(table, writes, &stored)?);
    Ok(items)
}

/// The address items of each account written, with its new copy, where
/// the same writes do not claim them already.
fn address_copies(
    table: &str,
    writes: &[AccountWrite],
    stored: &[AccountRecord],
) -> Result<Vec<(TransactWriteItem, Refusal)>, StoreError> {
    let mut items = Vec::new();
    for a in stored {
        for key in a.address_keys() {
            let claimed = writes.iter().any(|w| {
                matches!(w, AccountWrite::ClaimAddress { key: k, account_id } if *k == key && *account_id == a.id)
            });
            if !claimed {
                items.push((claim(table, &key, &a.id, Some(a))?, Refusal::AccountChanged));
            }
        }
    }
    Ok(items)
}

/// A session ended: its record gone, its logout marker in place until it
/// would have expired — only if no live marker is there already (the
/// session was not ended meanwhile).
fn end_session(
    table: &str,
    account_id: &str,
    jti: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<[TransactWriteItem; 2], StoreError> {
    let gone = Delete::builder().table_name(table).set_key(Some(keys::session(account_id, jti)));
    let gone = TransactWriteItem::builder().delete(build(gone.build())?).build();
    let mut marker = keys::key(keys::revoked(jti));
    marker.insert(EXPIRES_AT.into(), n(expires_at));
    let cond = "attribute_not_exists(pk) OR expires_at <= :now";
    Ok([gone, put(table, marker, cond, vec![(":now".into(), n(now))])?])
}

/// The session the writes are made under, if any.
fn session_of(writes: &[AccountWrite]) -> Option<&SessionCheck> {
    writes.iter().find_map(|w| match w {
        AccountWrite::Session(c) => Some(c),
        _ => None,
    })
}

/// The address item `key` for `account_id`, free or already its own, with
/// a copy of the account when it is being written too.
fn claim(
    table: &str,
    key: &str,
    account_id: &str,
    account: Option<&AccountRecord>,
) -> Result<TransactWriteItem, StoreError> {
    let mut item = account.map(account_item).unwrap_or_default();
    item.extend(keys::key(keys::addr(key)));
    item.insert("account_id".into(), s(account_id));
    let me = vec![(":me".to_string(), s(account_id))];
    put(table, item, "attribute_not_exists(pk) OR account_id = :me", me)
}

/// One account write as a transaction item with its condition; a write to
/// the account of `session` also requires the session to stand.
fn transact_item(
    table: &str,
    w: &AccountWrite,
    session: Option<&SessionCheck>,
    now: Timestamp,
) -> Result<TransactWriteItem, StoreError> {
    let with_session = |cond: &str, mut values: Vec<(String, AttributeValue)>| match session {
        Some(c) => {
            values.extend(session_values(c));
            (format!("{cond} AND {SESSION_EPOCH_HOLDS}"), values)
        }
        None => (cond.to_string(), values),
    };
    match w {
        AccountWrite::PutAccount(a) => {
            let stored = AccountRecord { version: a.version + 1, ..a.clone() };
            let (cond, value) = version_condition(a.version);
            let (cond, values) = with_session(cond, value.into_iter().collect());
            put(table, account_item(&stored), &cond, values)
        }
        AccountWrite::ClaimAddress { key, account_id } => claim(table, key, account_id, None),
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
        AccountWrite::DeleteAccount { id, version } => {
            let (cond, values) =
                with_session("ver = :expected_ver", vec![(":expected_ver".into(), n(*version))]);
            delete(table, keys::account(id), &cond, values)
        }
        AccountWrite::Session(c) => logout_check(table, c, now),
        AccountWrite::PutMessage(m) => {
            Ok(TransactWriteItem::builder().put(put_message(table, m)?).build())
        }
        AccountWrite::PutSession(r) => {
            put(table, session_item(r), "attribute_not_exists(pk)", vec![])
        }
        // Two items each, which `transact_items` writes itself.
        AccountWrite::Converted(_) | AccountWrite::EndSession { .. } => {
            Err(StoreError::Unavailable("not one transaction item".into()))
        }
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.get(keys::account(id)).await?.as_ref().map(account_record).transpose()
    }

    async fn account_by_address(&self, key: &str) -> Result<Option<AccountRecord>, StoreError> {
        let Some(owner) = self.get(keys::addr(key)).await? else { return Ok(None) };
        let Some(id) = get_s(&owner, "account_id") else {
            return Err(StoreError::Corrupt("address without account_id".into()));
        };
        // The account's copy, written with it; an item from before copies
        // were kept names the account only.
        match get_s(&owner, "id") {
            Some(copy) if copy == id => Ok(Some(account_record(&owner)?)),
            _ => self.get_account(&id).await,
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
        let (items, refusals): (Vec<_>, Vec<_>) =
            transact_items(&self.table, writes, now)?.into_iter().unzip();
        let (items, refusals) = (&items, &refusals);
        let outcome = retry::run(|| async move {
            let Some(codes) = self.transact(items).await? else {
                return Ok(Attempt::Done(ApplyOutcome::Committed));
            };
            if let Some(i) = codes.iter().position(|c| c == "ConditionalCheckFailed") {
                let refused = refusals.get(i).ok_or_else(|| {
                    StoreError::Unavailable("cancellation reason for an unknown item".into())
                })?;
                return Ok(Attempt::Done(ApplyOutcome::Refused(*refused)));
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

    async fn list_sessions(&self, account_id: &str) -> Result<Vec<SessionRecord>, StoreError> {
        let mut records = Vec::new();
        let mut from = None;
        // Page by page (1 MB each): every record, however many there are.
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :session)")
                .expression_attribute_values(":pk", s(keys::account(account_id)))
                .expression_attribute_values(":session", s(keys::SESSION))
                .consistent_read(true)
                .set_exclusive_start_key(from)
                .send()
                .await
                .map_err(super::calls::unavailable)?;
            for item in out.items() {
                records.push(session_record(item)?);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => from = Some(key),
                _ => return Ok(records),
            }
        }
    }
}
