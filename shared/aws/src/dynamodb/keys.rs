//! The single table's keys: string `pk`/`sk`, one prefix per kind of item,
//! and the numeric `expires_at` TTL attribute (epoch seconds).

use aws_sdk_dynamodb::types::AttributeValue;
use domain::ports::SecretKind;
use std::collections::HashMap;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const EXPIRES_AT: &str = "expires_at";

pub const CAPTCHA: &str = "CAPTCHA#";
/// Proof-of-work challenges used, by nonce, until they expire.
pub const POW: &str = "POW#";
/// Per (purpose, destination): sends, live code, failed checks, live token.
pub const DEST: &str = "DEST#";
/// Address ownership: which account an email or phone belongs to.
pub const ADDR: &str = "ADDR#";
pub const ACCOUNT: &str = "ACCOUNT#";
/// Fixed-window counters (per IP, SMS budgets, failed logins).
pub const COUNTER: &str = "COUNTER#";
/// Logged-out sessions, until they would have expired.
pub const REVOKED: &str = "REVOKED#";
/// The sort key prefix of an account's session records, in the account's
/// partition (`ACCOUNT#…`), so one Query lists them.
pub const SESSION: &str = "SESSION#";
/// One-time secrets (login links, invites), by keyed hash.
pub const SECRET: &str = "SECRET#";
/// Outgoing messages (the transactional outbox); the stream filter in
/// template.yaml matches this prefix.
pub const MESSAGE: &str = "MSG#";
/// Addresses messages must not go to (hard bounces, complaints).
pub const SUPPRESSED: &str = "SUPPRESSED#";
/// Servers' API keys, by id.
pub const API_KEY: &str = "APIKEY#";
/// The SMS guard's tallies, per prefix and per country shard.
pub const GUARD: &str = "GUARD#";
/// The sort key of single-item partitions.
pub const ITEM: &str = "ITEM";

pub fn captcha(id: &str) -> String {
    format!("{CAPTCHA}{id}")
}
pub fn pow(nonce: &str) -> String {
    format!("{POW}{nonce}")
}
pub fn dest(key: &str) -> String {
    format!("{DEST}{key}")
}
pub fn addr(key: &str) -> String {
    format!("{ADDR}{key}")
}
pub fn account(id: &str) -> String {
    format!("{ACCOUNT}{id}")
}
pub fn counter(key: &str) -> String {
    format!("{COUNTER}{key}")
}
pub fn message(id: &str) -> String {
    format!("{MESSAGE}{id}")
}
pub fn suppressed(address: &str) -> String {
    format!("{SUPPRESSED}{address}")
}
pub fn api_key(id: &str) -> String {
    format!("{API_KEY}{id}")
}
pub fn guard(key: &str) -> String {
    format!("{GUARD}{key}")
}
pub fn revoked(jti: &str) -> String {
    format!("{REVOKED}{jti}")
}
pub fn secret(kind: SecretKind, hash: &[u8; 32]) -> String {
    let kind = match kind {
        SecretKind::LoginLink => "link",
        SecretKind::Invite => "invite",
    };
    format!("{SECRET}{kind}#{}", domain::crypto::hex(hash))
}

/// The primary key of session `jti`'s record in its account's partition.
pub fn session(account_id: &str, jti: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(account(account_id))),
        (SK.to_string(), AttributeValue::S(format!("{SESSION}{jti}"))),
    ])
}

/// The primary key of a single-item partition.
pub fn key(pk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(pk)),
        (SK.to_string(), AttributeValue::S(ITEM.to_string())),
    ])
}
