//! Writes that more than one concern puts into its transactions.

use super::calls::build;
use super::codec::{b, dest_item, n, s, version_condition};
use super::keys::{self, EXPIRES_AT};
use aws_sdk_dynamodb::types::Put;
use domain::ports::{DestRecord, OutgoingMessage, StoreError};

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
