//! The SMS guard's tallies (`GUARD#p…` per prefix, `GUARD#c…|s<n>` per
//! country shard): a number attribute per clock hour for sends
//! (`s<hour>`) and conversions (`c<hour>`), the block (`bu`, `ba`, `br`:
//! until, at, reason) and the watch of monitor mode (`wu`, `wa`, `wr`).
//! Blocks are also listed for operators in one item (`GUARD#blocks`), an
//! attribute per block (`l:<name>` or `l:<name>|monitor`, a map), read with
//! the GetItem every function links already; ended ones are dropped when
//! the next block is listed.

use super::calls::{build, conditional, unavailable};
use super::codec::{Item, get_n, get_s, n, s};
use super::iam::{Operation, op};
use super::keys::{self, EXPIRES_AT};
use super::store::DynamoStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use domain::ports::{
    GuardBlock, GuardScope, GuardSend, GuardStore, GuardTally, GuardTouch, HourTally, LimitKind,
    ListedBlock, SendOutcome, StoreError, Timestamp,
};
use domain::retry::{self, Attempt};

pub(super) const IAM: &[Operation] = &[
    op("guard_tallies", &["dynamodb:BatchGetItem"]),
    op("guard_block", &["dynamodb:GetItem", "dynamodb:UpdateItem"]),
    op("guard_unblock", &["dynamodb:UpdateItem"]),
    op("guard_blocks", &["dynamodb:GetItem"]),
    op("guard_trim", &["dynamodb:UpdateItem"]),
    op("commit_send/guard", &["dynamodb:UpdateItem"]),
    op("guess_code/converts", &["dynamodb:UpdateItem"]),
    op("apply/Converted", &["dynamodb:UpdateItem"]),
];

/// The item that lists the blocks.
const LISTED: &str = "GUARD#blocks";
/// The prefix of a listed block's attribute.
const LISTED_ATTR: &str = "l:";
/// Ended blocks one new block takes off the list.
const PRUNED: usize = 20;

/// A block in force on the item: none, or one that has ended.
const NOT_BLOCKED: &str = "(attribute_not_exists(bu) OR bu <= :now)";

fn sends(hour: i64) -> String {
    format!("s{hour}")
}

fn conversions(hour: i64) -> String {
    format!("c{hour}")
}

/// One more send (`count` = `sends`) or conversion in a tally's hour, with
/// the tally's TTL; `condition`, if any, with `ALL_OLD` on its failure.
fn add(
    table: &str,
    key: &str,
    count: String,
    t: &GuardTouch,
    condition: Option<(String, Vec<(&str, AttributeValue)>)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut u = Update::builder()
        .table_name(table)
        .set_key(Some(keys::key(keys::guard(key))))
        .update_expression("ADD #n :one SET expires_at = :exp")
        .expression_attribute_names("#n", count)
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":exp", n(t.expires_at));
    if let Some((cond, values)) = condition {
        u = u
            .condition_expression(cond)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (k, v) in values {
            u = u.expression_attribute_values(k, v);
        }
    }
    Ok(TransactWriteItem::builder().update(build(u.build())?).build())
}

/// A send's two items: the country shard's tally and the prefix's, each
/// refusing while blocked (and the prefix once its hour is full) when
/// enforced. The shard goes first, so a country's block is the refusal
/// even where the prefix's hour is full too (as in the embedded store).
pub(super) fn send_items(
    table: &str,
    g: &GuardSend,
    now: Timestamp,
) -> Result<[TransactWriteItem; 2], StoreError> {
    let t = &g.touch;
    let (prefix, shard) = match g.hourly_max {
        Some(max) => (
            Some((
                format!("{NOT_BLOCKED} AND (attribute_not_exists(#n) OR #n < :max)"),
                vec![(":now", n(now)), (":max", n(max))],
            )),
            Some((NOT_BLOCKED.to_string(), vec![(":now", n(now))])),
        ),
        None => (None, None),
    };
    Ok([
        add(table, &t.shard, sends(t.hour), t, shard)?,
        add(table, &t.prefix, sends(t.hour), t, prefix)?,
    ])
}

/// What a refused send item means: a block in force, or (the prefix's)
/// hour full.
pub(super) fn send_refusal(
    g: &GuardSend,
    prefix: bool,
    old: Option<&Item>,
    now: Timestamp,
) -> SendOutcome {
    let until = old.and_then(|i| get_n(i, "bu").ok()).filter(|&until| until > now);
    match (until, prefix) {
        (Some(until), _) => SendOutcome::Blocked { until },
        (None, true) => SendOutcome::LimitReached {
            kind: LimitKind::SmsPrefix,
            key: g.touch.prefix.clone(),
            until: (g.touch.hour + 1) * 3600,
        },
        // A block that ended between the write and its refusal: try again.
        (None, false) => SendOutcome::Conflict,
    }
}

/// A conversion's two items, without conditions.
pub(super) fn conversion_items(
    table: &str,
    t: &GuardTouch,
) -> Result<[TransactWriteItem; 2], StoreError> {
    Ok([
        add(table, &t.prefix, conversions(t.hour), t, None)?,
        add(table, &t.shard, conversions(t.hour), t, None)?,
    ])
}

fn block_of(item: &Item, p: &str) -> Result<Option<GuardBlock>, StoreError> {
    let Some(until) = item.get(&format!("{p}u")) else { return Ok(None) };
    let until = match until {
        AttributeValue::N(v) => v.parse().map_err(|_| StoreError::Corrupt("guard block".into()))?,
        _ => return Err(StoreError::Corrupt("guard block".into())),
    };
    Ok(Some(GuardBlock {
        until,
        at: get_n(item, &format!("{p}a"))?,
        reason: get_s(item, &format!("{p}r")).unwrap_or_default(),
    }))
}

fn tally(key: &str, item: Option<&Item>, now: Timestamp) -> Result<GuardTally, StoreError> {
    let mut t = GuardTally { key: key.to_string(), ..Default::default() };
    let Some(item) = item.filter(|i| get_n(i, EXPIRES_AT).is_ok_and(|e| e > now)) else {
        return Ok(t);
    };
    for (name, value) in item {
        let (kind, hour) = name.split_at(1.min(name.len()));
        let (Ok(hour), AttributeValue::N(v)) = (hour.parse::<i64>(), value) else { continue };
        let v: u32 = v.parse().map_err(|_| StoreError::Corrupt("guard tally".into()))?;
        let h: &mut HourTally = t.hours.entry(hour).or_default();
        match kind {
            "s" => h.sends = v,
            "c" => h.conversions = v,
            _ => {}
        }
    }
    t.block = block_of(item, "b")?;
    t.watch = block_of(item, "w")?;
    Ok(t)
}

/// A listed block's attribute: a block and a watch of one name are two.
fn listed_attr(name: &str, monitor: bool) -> String {
    match monitor {
        true => format!("{LISTED_ATTR}{name}|monitor"),
        false => format!("{LISTED_ATTR}{name}"),
    }
}

fn listed_value(l: &ListedBlock) -> AttributeValue {
    AttributeValue::M(Item::from([
        ("name".to_string(), s(&l.name)),
        ("scope".to_string(), s(l.scope.as_str())),
        ("until".to_string(), n(l.block.until)),
        ("at".to_string(), n(l.block.at)),
        ("reason".to_string(), s(&l.block.reason)),
        ("monitor".to_string(), AttributeValue::Bool(l.monitor)),
    ]))
}

/// The blocks the listing item holds, ended ones included.
fn listed_blocks(item: Option<&Item>) -> Result<Vec<ListedBlock>, StoreError> {
    let corrupt = || StoreError::Corrupt("a listed guard block".into());
    let mut out = Vec::new();
    for (name, value) in item.into_iter().flatten() {
        if !name.starts_with(LISTED_ATTR) {
            continue;
        }
        let AttributeValue::M(m) = value else { return Err(corrupt()) };
        let scope = match get_s(m, "scope").as_deref() {
            Some("prefix") => GuardScope::Prefix,
            Some("country") => GuardScope::Country,
            _ => return Err(corrupt()),
        };
        out.push(ListedBlock {
            name: get_s(m, "name").ok_or_else(corrupt)?,
            scope,
            block: GuardBlock {
                until: get_n(m, "until")?,
                at: get_n(m, "at")?,
                reason: get_s(m, "reason").unwrap_or_default(),
            },
            monitor: matches!(m.get("monitor"), Some(AttributeValue::Bool(true))),
        });
    }
    Ok(out)
}

impl DynamoStore {
    /// The transaction that blocks (watches) every tally of `keys` and
    /// lists it, on condition that the first holds none in force.
    fn block_items(
        &self,
        keys: &[String],
        l: &ListedBlock,
        ended: &[String],
        now: Timestamp,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let p = if l.monitor { "w" } else { "b" };
        let mut items = Vec::with_capacity(keys.len() + 1);
        for (i, key) in keys.iter().enumerate() {
            let mut u = Update::builder()
                .table_name(&self.table)
                .set_key(Some(keys::key(keys::guard(key))))
                .update_expression(format!(
                    "SET {p}u = :until, {p}a = :at, {p}r = :reason, expires_at = :exp"
                ))
                .expression_attribute_values(":until", n(l.block.until))
                .expression_attribute_values(":at", n(l.block.at))
                .expression_attribute_values(":reason", s(&l.block.reason))
                // The tally outlives its block by a day: its sends still count.
                .expression_attribute_values(":exp", n(l.block.until + 86_400));
            if i == 0 {
                u = u
                    .condition_expression(format!("attribute_not_exists({p}u) OR {p}u <= :now"))
                    .expression_attribute_values(":now", n(now));
            }
            items.push(TransactWriteItem::builder().update(build(u.build())?).build());
        }
        // The listing: this block in, some ended ones out — on condition
        // that they are still ended (none re-listed since they were read).
        let mut update = String::from("SET #new = :new");
        let mut ended_still = Vec::new();
        let mut listing = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::key(LISTED.to_string())))
            .expression_attribute_names("#new", listed_attr(&l.name, l.monitor))
            .expression_attribute_values(":new", listed_value(l));
        for (i, old) in ended.iter().enumerate() {
            update.push_str(if i == 0 { " REMOVE " } else { ", " });
            update.push_str(&format!("#old{i}"));
            ended_still.push(format!("#old{i}.#until <= :now"));
            listing = listing.expression_attribute_names(format!("#old{i}"), old);
        }
        if !ended_still.is_empty() {
            listing = listing
                .condition_expression(ended_still.join(" AND "))
                .expression_attribute_names("#until", "until")
                .expression_attribute_values(":now", n(now));
        }
        let listing = build(listing.update_expression(update).build())?;
        items.push(TransactWriteItem::builder().update(listing).build());
        Ok(items)
    }

    /// Removes `expression` from tally `key` if it exists (an update of a
    /// missing item would make one without a TTL).
    async fn remove(&self, key: &str, expression: String) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::key(keys::guard(key))))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        conditional(result).map(|_| ())
    }
}

#[async_trait]
impl GuardStore for DynamoStore {
    async fn guard_tallies(
        &self,
        keys: &[String],
        now: Timestamp,
    ) -> Result<Vec<GuardTally>, StoreError> {
        let pks: Vec<String> = keys.iter().map(|k| keys::guard(k)).collect();
        let items = self.batch_get_all(&pks).await?;
        keys.iter().zip(&items).map(|(k, item)| tally(k, item.as_ref(), now)).collect()
    }

    async fn guard_block(
        &self,
        keys: &[String],
        listed: &ListedBlock,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let own = listed_attr(&listed.name, listed.monitor);
        let made = retry::run(|| async {
            // Up to `PRUNED` of the listing's ended blocks (but this one's
            // own name) leave with it, read afresh on each attempt: the
            // expression stays small, and the item holds the blocks in
            // force and few more.
            let listing = self.get(LISTED.to_string()).await?;
            let ended: Vec<String> = listed_blocks(listing.as_ref())?
                .into_iter()
                .filter(|b| !b.block.in_force(now))
                .map(|b| listed_attr(&b.name, b.monitor))
                .filter(|a| *a != own)
                .take(PRUNED)
                .collect();
            let items = self.block_items(keys, listed, &ended, now)?;
            let Some(codes) = self.transact(&items).await? else {
                return Ok(Attempt::Done(true));
            };
            if codes.first().is_some_and(|c| c == "ConditionalCheckFailed") {
                return Ok(Attempt::Done(false));
            }
            // A conflict, or an ended block listed again since the read.
            let listing_refused = codes.last().is_some_and(|c| c == "ConditionalCheckFailed");
            if listing_refused || codes.iter().any(|c| c == "TransactionConflict") {
                return Ok(Attempt::Retry);
            }
            Err(StoreError::Unavailable(format!("transaction cancelled: {codes:?}").into()))
        })
        .await?;
        made.ok_or_else(|| StoreError::Unavailable("a guard block kept conflicting".into()))
    }

    async fn guard_unblock(&self, keys: &[String], name: &str) -> Result<(), StoreError> {
        for key in keys {
            self.remove(key, "REMOVE bu, ba, br, wu, wa, wr".into()).await?;
        }
        let removed = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::key(LISTED.to_string())))
            .update_expression("REMOVE #block, #watch")
            .expression_attribute_names("#block", listed_attr(name, false))
            .expression_attribute_names("#watch", listed_attr(name, true))
            .send()
            .await;
        removed.map_err(unavailable)?;
        Ok(())
    }

    async fn guard_blocks(&self, now: Timestamp) -> Result<Vec<ListedBlock>, StoreError> {
        let listing = self.get(LISTED.to_string()).await?;
        let mut listed = listed_blocks(listing.as_ref())?;
        listed.retain(|l| l.block.in_force(now));
        Ok(listed)
    }

    async fn guard_trim(&self, key: &str, hours: &[i64]) -> Result<(), StoreError> {
        for chunk in hours.chunks(50) {
            let names: Vec<String> =
                chunk.iter().flat_map(|&h| [sends(h), conversions(h)]).collect();
            self.remove(key, format!("REMOVE {}", names.join(", "))).await?;
        }
        Ok(())
    }
}
