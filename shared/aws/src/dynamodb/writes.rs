//! Writes that more than one concern puts into its transactions.

use super::calls::build;
use super::codec::{b, dest_item, n, s, version_condition};
use super::keys::{self, EXPIRES_AT};
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
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

/// A session's conditions inside a transaction: its account still takes
/// it (`SessionCheck::stands`), and it was not logged out.
pub(super) fn session_checks(
    table: &str,
    c: &SessionCheck,
    now: Timestamp,
) -> Result<[TransactWriteItem; 2], StoreError> {
    let account = build(
        ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(keys::key(keys::account(&c.account_id))))
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(session_epoch) \
                 OR session_epoch <= :epoch OR session_keeper = :jti)",
            )
            .expression_attribute_values(":epoch", n(c.epoch))
            .expression_attribute_values(":jti", s(&c.jti))
            .build(),
    )?;
    let logged_out = build(
        ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(keys::key(keys::revoked(&c.jti))))
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now))
            .build(),
    )?;
    Ok([account, logged_out].map(|c| TransactWriteItem::builder().condition_check(c).build()))
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
