//! Item codecs: attribute values to and from domain records.

use super::keys::{self, EXPIRES_AT};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::ports::{
    AccountRecord, DestRecord, HourChecks, LiveCode, LiveToken, SessionRecord, StoreError,
    Timestamp, TotpFactor,
};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn b(v: &[u8]) -> AttributeValue {
    AttributeValue::B(Blob::new(v.to_vec()))
}

pub fn list(v: &[i64]) -> AttributeValue {
    AttributeValue::L(v.iter().map(n).collect())
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

pub fn get_n(item: &Item, name: &str) -> Result<i64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| corrupt(format!("{name} is not a number")))
}

fn get_opt_n(item: &Item, name: &str) -> Result<Option<i64>, StoreError> {
    item.get(name).map(|_| get_n(item, name)).transpose()
}

pub fn get_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn get_list(item: &Item, name: &str) -> Result<Vec<i64>, StoreError> {
    let Some(v) = item.get(name) else { return Ok(Vec::new()) };
    v.as_l()
        .map_err(|_| corrupt(format!("{name} is not a list")))?
        .iter()
        .map(|n| {
            n.as_n()
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| corrupt(format!("{name} holds a non-number")))
        })
        .collect()
}

pub fn get_hash(item: &Item, name: &str) -> Result<[u8; 32], StoreError> {
    item.get(name)
        .and_then(|v| v.as_b().ok())
        .and_then(|b| <[u8; 32]>::try_from(b.as_ref()).ok())
        .ok_or_else(|| corrupt(format!("{name} is not a 32-byte hash")))
}

/// The condition that a versioned item is still at `version` (0: absent),
/// and the value it names.
pub fn version_condition(version: u64) -> (&'static str, Option<(String, AttributeValue)>) {
    if version == 0 {
        ("attribute_not_exists(pk)", None)
    } else {
        ("ver = :expected_ver", Some((":expected_ver".to_string(), n(version))))
    }
}

pub fn dest_item(r: &DestRecord) -> Item {
    let mut item = keys::key(keys::dest(&r.key));
    item.insert("ver".into(), n(r.version));
    item.insert("sends".into(), list(&r.sends));
    item.insert("fails".into(), list(&r.fails));
    item.insert(EXPIRES_AT.into(), n(r.expires_at));
    if let Some(c) = &r.code {
        item.insert("code_sealed".into(), b(&c.sealed));
        if let Some(hash) = &c.hash {
            item.insert("code_hash".into(), b(hash));
        }
        item.insert("code_expires_at".into(), n(c.expires_at));
        item.insert("code_attempts".into(), n(c.attempts));
        if c.long {
            item.insert("code_long".into(), AttributeValue::Bool(true));
        }
    }
    if r.checks.total > 0 {
        item.insert(checks_total(r.checks.hour), n(r.checks.total));
        for (network, count) in &r.checks.by_network {
            item.insert(checks_of(r.checks.hour, network), n(*count));
        }
    }
    if let Some(t) = &r.token {
        item.insert("token_jti".into(), s(&t.jti));
        item.insert("token_expires_at".into(), n(t.expires_at));
    }
    item
}

/// The record as a read sees it at `now`: none stored, or expired, is an
/// empty one at the stored version.
pub fn dest_record_at(
    key: &str,
    item: Option<&Item>,
    now: Timestamp,
) -> Result<DestRecord, StoreError> {
    let empty = |version| DestRecord { key: key.to_string(), version, ..Default::default() };
    Ok(match item.map(|i| dest_record(key, i)).transpose()? {
        None => empty(0),
        Some(r) if r.expires_at > now => r,
        Some(r) => empty(r.version),
    })
}

pub fn dest_record(key: &str, item: &Item) -> Result<DestRecord, StoreError> {
    let code = match item.get("code_sealed") {
        None => None,
        Some(v) => Some(LiveCode {
            sealed: v
                .as_b()
                .map_err(|_| corrupt("code_sealed is not binary".into()))?
                .as_ref()
                .to_vec(),
            hash: item.get("code_hash").map(|_| get_hash(item, "code_hash")).transpose()?,
            expires_at: get_n(item, "code_expires_at")?,
            attempts: get_n(item, "code_attempts")? as u32,
            long: item.get("code_long").is_some_and(|v| v.as_bool().is_ok_and(|b| *b)),
        }),
    };
    let token = match get_s(item, "token_jti") {
        None => None,
        Some(jti) => Some(LiveToken { jti, expires_at: get_n(item, "token_expires_at")? }),
    };
    Ok(DestRecord {
        key: key.to_string(),
        version: get_n(item, "ver")? as u64,
        sends: get_list(item, "sends")?,
        code,
        fails: get_list(item, "fails")?,
        checks: hour_checks(item)?,
        token,
        expires_at: get_n(item, EXPIRES_AT)?,
    })
}

/// The attribute counting a record's failed checks in `hour`, in all…
pub fn checks_total(hour: i64) -> String {
    format!("ct_{hour}")
}

/// …and those from one network (its tag). Each hour has attributes of its
/// own, so a blind update adds to them without reading which hour the
/// record last counted; a write from a read keeps the latest hour only.
pub fn checks_of(hour: i64, network: &str) -> String {
    format!("cn_{hour}_{network}")
}

/// The latest hour's failed checks a record holds.
fn hour_checks(item: &Item) -> Result<HourChecks, StoreError> {
    let hour = item.keys().filter_map(|k| k.strip_prefix("ct_")?.parse::<i64>().ok()).max();
    let Some(hour) = hour else { return Ok(HourChecks::default()) };
    let mut checks =
        HourChecks { hour, total: get_n(item, &checks_total(hour))? as u32, ..Default::default() };
    let prefix = format!("cn_{hour}_");
    for name in item.keys().filter(|k| k.starts_with(&prefix)) {
        let network = name[prefix.len()..].to_string();
        checks.by_network.insert(network, get_n(item, name)? as u32);
    }
    Ok(checks)
}

pub fn account_item(a: &AccountRecord) -> Item {
    let mut item = keys::key(keys::account(&a.id));
    item.insert("id".into(), s(&a.id));
    item.insert("created_at".into(), n(a.created_at));
    item.insert("session_epoch".into(), n(a.session_epoch));
    item.insert("ver".into(), n(a.version));
    for (name, value) in [
        ("session_keeper", &a.session_keeper),
        ("email", &a.email),
        ("phone", &a.phone),
        ("password_hash", &a.password_hash),
        ("display_name", &a.display_name),
        ("locale", &a.locale),
    ] {
        if let Some(v) = value {
            item.insert(name.into(), s(v));
        }
    }
    if !a.factors.is_empty() {
        item.insert(
            "factors".into(),
            AttributeValue::L(a.factors.iter().map(factor_item).collect()),
        );
    }
    if !a.recovery_codes.is_empty() {
        let codes = a.recovery_codes.iter().map(|h| b(h)).collect();
        item.insert("recovery".into(), AttributeValue::L(codes));
    }
    item
}

fn factor_item(f: &TotpFactor) -> AttributeValue {
    AttributeValue::M(Item::from([
        ("id".to_string(), s(&f.id)),
        ("secret".to_string(), b(&f.sealed_secret)),
        ("created_at".to_string(), n(f.created_at)),
        ("confirmed".to_string(), AttributeValue::Bool(f.confirmed)),
        ("last_step".to_string(), n(f.last_step)),
        ("attempts".to_string(), n(f.attempts)),
    ]))
}

fn factor_record(v: &AttributeValue) -> Result<TotpFactor, StoreError> {
    let m = v.as_m().map_err(|_| corrupt("factor is not a map".into()))?;
    let bytes = |name: &str| m.get(name).and_then(|v| v.as_b().ok()).map(|b| b.as_ref().to_vec());
    Ok(TotpFactor {
        id: get_s(m, "id").ok_or_else(|| corrupt("factor without id".into()))?,
        sealed_secret: bytes("secret").ok_or_else(|| corrupt("factor without secret".into()))?,
        created_at: get_n(m, "created_at")?,
        confirmed: m.get("confirmed").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
        last_step: get_n(m, "last_step")?,
        attempts: get_n(m, "attempts")? as u32,
    })
}

fn account_factors(item: &Item) -> Result<(Vec<TotpFactor>, Vec<[u8; 32]>), StoreError> {
    let list = |name: &str| match item.get(name) {
        None => Ok(&[][..]),
        Some(v) => {
            v.as_l().map(Vec::as_slice).map_err(|_| corrupt(format!("{name} is not a list")))
        }
    };
    let factors = list("factors")?.iter().map(factor_record).collect::<Result<_, _>>()?;
    let codes = list("recovery")?
        .iter()
        .map(|v| {
            v.as_b()
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b.as_ref()).ok())
                .ok_or_else(|| corrupt("recovery code hash".into()))
        })
        .collect::<Result<_, _>>()?;
    Ok((factors, codes))
}

pub fn account_record(item: &Item) -> Result<AccountRecord, StoreError> {
    let (factors, recovery_codes) = account_factors(item)?;
    Ok(AccountRecord {
        id: get_s(item, "id").ok_or_else(|| corrupt("account without id".into()))?,
        email: get_s(item, "email"),
        phone: get_s(item, "phone"),
        password_hash: get_s(item, "password_hash"),
        display_name: get_s(item, "display_name"),
        locale: get_s(item, "locale"),
        created_at: get_n(item, "created_at")?,
        session_epoch: get_opt_n(item, "session_epoch")?.unwrap_or(0) as u64,
        session_keeper: get_s(item, "session_keeper"),
        version: get_opt_n(item, "ver")?.unwrap_or(0) as u64,
        factors,
        recovery_codes,
    })
}

pub fn session_item(r: &SessionRecord) -> Item {
    let mut item = keys::session(&r.account_id, &r.jti);
    item.insert("account_id".into(), s(&r.account_id));
    item.insert("jti".into(), s(&r.jti));
    item.insert("device".into(), s(&r.device));
    item.insert("network".into(), s(&r.network));
    item.insert("created_at".into(), n(r.created_at));
    item.insert(EXPIRES_AT.into(), n(r.expires_at));
    item.insert("epoch".into(), n(r.epoch));
    item
}

pub fn session_record(item: &Item) -> Result<SessionRecord, StoreError> {
    let text =
        |name: &str| get_s(item, name).ok_or_else(|| corrupt(format!("session without {name}")));
    Ok(SessionRecord {
        account_id: text("account_id")?,
        jti: text("jti")?,
        device: text("device")?,
        network: text("network")?,
        created_at: get_n(item, "created_at")?,
        expires_at: get_n(item, EXPIRES_AT)?,
        epoch: get_n(item, "epoch")? as u64,
    })
}
