//! Writes that more than one concern puts into its transactions.

use super::calls::build;
use super::codec::{b, dest_item, n, s, version_condition};
use super::keys::{self, EXPIRES_AT};
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use domain::ports::{DestRecord, OutgoingMessage, SessionCheck, StoreError, Timestamp};

/// A message's state before delivery claims it.
pub(super) const PENDING: &str = "pending";

/// A conditional put of a destination record at `expected_version`.
pub(super) fn put_record(
    table: &str,
    record: &DestRecord,
    expected_version: u64,
) -> Result<Put, StoreError> {
    let (cond, value) = version_condition(expected_version);
    build(
        Put::builder()
            .table_name(table)
            .set_item(Some(dest_item(record)))
            .condition_expression(cond)
            .set_expression_attribute_values(value.map(|(k, v)| [(k, v)].into()))
            .build(),
    )
}

/// What an account item must hold for a session issued under `:epoch`
/// (with id `:jti`) to stand: `SessionCheck::stands`.
pub(super) const SESSION_EPOCH_HOLDS: &str = "(attribute_not_exists(session_epoch) \
     OR session_epoch <= :epoch OR session_keeper = :jti)";

/// The values `SESSION_EPOCH_HOLDS` names.
pub(super) fn session_values(c: &SessionCheck) -> [(String, AttributeValue); 2] {
    [(":epoch".into(), n(c.epoch)), (":jti".into(), s(&c.jti))]
}

/// The session's account still takes it, as a check of its own (for a
/// transaction that writes nothing else to the account).
pub(super) fn session_epoch_check(
    table: &str,
    c: &SessionCheck,
) -> Result<TransactWriteItem, StoreError> {
    let check = build(
        ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(keys::key(keys::account(&c.account_id))))
            .condition_expression(format!("attribute_exists(pk) AND {SESSION_EPOCH_HOLDS}"))
            .set_expression_attribute_values(Some(session_values(c).into()))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// The session was not logged out (its marker is absent or expired).
pub(super) fn logout_check(
    table: &str,
    c: &SessionCheck,
    now: Timestamp,
) -> Result<TransactWriteItem, StoreError> {
    let check = build(
        ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(keys::key(keys::revoked(&c.jti))))
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// A session's conditions inside a transaction: its account still takes
/// it (`SessionCheck::stands`), and it was not logged out.
pub(super) fn session_checks(
    table: &str,
    c: &SessionCheck,
    now: Timestamp,
) -> Result<[TransactWriteItem; 2], StoreError> {
    Ok([session_epoch_check(table, c)?, logout_check(table, c, now)?])
}

/// A new message, pending, inside the send transaction.
pub(super) fn put_message(table: &str, m: &OutgoingMessage) -> Result<Put, StoreError> {
    let mut item = keys::key(keys::message(&m.id));
    item.insert("sealed".into(), b(&m.sealed));
    item.insert("state".into(), s(PENDING));
    item.insert("attempts".into(), n(m.attempts));
    item.insert("created_at".into(), n(m.created_at));
    item.insert(EXPIRES_AT.into(), n(m.expires_at));
    build(
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build(),
    )
}
