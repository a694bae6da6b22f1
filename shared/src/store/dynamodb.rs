//! The DynamoDB adapter: one table, string `pk`/`sk`, a numeric `expires_at`
//! TTL attribute in epoch seconds. TTL deletion is lazy, so every read and
//! condition also compares `expires_at` with the clock.

use crate::config::Config;
use crate::ports::{
    AccountRecord, AccountStore, AccountWrite, CaptchaStore, CodeStore, Counter, DestRecord,
    LiveCode, LiveToken, SecretKind, SendRejected, StoreError, StoredCaptcha, Timestamp,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, KeySchemaElement, KeyType,
    KeysAndAttributes, Put, ReturnValue, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus, TransactWriteItem, Update,
};
use std::collections::HashMap;
use std::time::Duration;

/// Attribute names and key prefixes.
pub mod keys {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const EXPIRES_AT: &str = "expires_at";

    pub const CAPTCHA: &str = "CAPTCHA#";
    /// Per (purpose, destination): sends, live code, failed checks, live token.
    pub const DEST: &str = "DEST#";
    /// Address ownership: which account an email or phone belongs to.
    pub const ADDR: &str = "ADDR#";
    pub const ACCOUNT: &str = "ACCOUNT#";
    /// Fixed-window counters (per IP, SMS budgets, failed logins).
    pub const COUNTER: &str = "COUNTER#";
    /// Logged-out sessions, until they would have expired.
    pub const REVOKED: &str = "REVOKED#";
    /// One-time secrets (login links, invites), by keyed hash.
    pub const SECRET: &str = "SECRET#";
    /// The sort key of single-item partitions.
    pub const ITEM: &str = "ITEM";

    pub fn captcha(id: &str) -> String {
        format!("{CAPTCHA}{id}")
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
    pub fn revoked(jti: &str) -> String {
        format!("{REVOKED}{jti}")
    }
    pub fn secret(kind: crate::ports::SecretKind, hash: &[u8; 32]) -> String {
        let kind = match kind {
            crate::ports::SecretKind::LoginLink => "link",
            crate::ports::SecretKind::Invite => "invite",
        };
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        format!("{SECRET}{kind}#{hex}")
    }
}
use keys::*;

pub struct DynamoStore {
    client: Client,
    table: String,
}

/// A DynamoDB client from the standard AWS configuration chain. `endpoint`
/// (`DYNAMODB_ENDPOINT`) overrides the service endpoint; the SDK's own
/// `AWS_ENDPOINT_URL_DYNAMODB` works as well.
pub async fn client(endpoint: Option<&str>) -> Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    client_from_sdk(&sdk, endpoint)
}

fn client_from_sdk(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> Client {
    let mut conf = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(url) = endpoint {
        conf = conf.endpoint_url(url);
    }
    Client::from_conf(conf.build())
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into() }
    }

    pub async fn from_env(config: &Config) -> Self {
        Self::new(client(config.dynamodb_endpoint.as_deref()).await, config.table_name.clone())
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, config: &Config) -> Self {
        Self::new(
            client_from_sdk(sdk, config.dynamodb_endpoint.as_deref()),
            config.table_name.clone(),
        )
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn key(pk: String) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_string(), AttributeValue::S(pk)),
            (SK.to_string(), AttributeValue::S(ITEM.to_string())),
        ])
    }
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

/// A conditional write's result: `None` when its condition did not hold (a
/// domain outcome, told apart from an outage by the error's type).
fn conditional<T, E>(
    result: Result<T, SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>>,
) -> Result<Option<T>, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error().and_then(|se| se.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(e) => Err(unavailable(e)),
    }
}

fn get_n(item: &HashMap<String, AttributeValue>, name: &str) -> Result<i64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{name} is not a number")))
}

fn get_opt_n(
    item: &HashMap<String, AttributeValue>,
    name: &str,
) -> Result<Option<i64>, StoreError> {
    item.get(name).map(|_| get_n(item, name)).transpose()
}

fn get_s(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn get_list(item: &HashMap<String, AttributeValue>, name: &str) -> Result<Vec<i64>, StoreError> {
    match item.get(name) {
        None => Ok(Vec::new()),
        Some(v) => v
            .as_l()
            .map_err(|_| StoreError::Corrupt(format!("{name} is not a list")))?
            .iter()
            .map(|n| {
                n.as_n()
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| StoreError::Corrupt(format!("{name} holds a non-number")))
            })
            .collect(),
    }
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn list(v: &[i64]) -> AttributeValue {
    AttributeValue::L(v.iter().map(n).collect())
}

fn dest_item(r: &DestRecord) -> HashMap<String, AttributeValue> {
    let mut item = DynamoStore::key(dest(&r.key));
    item.insert("ver".into(), n(r.version));
    item.insert("sends".into(), list(&r.sends));
    item.insert("fails".into(), list(&r.fails));
    item.insert(EXPIRES_AT.into(), n(r.expires_at));
    if let Some(c) = &r.code {
        item.insert("code_sealed".into(), AttributeValue::B(Blob::new(c.sealed.clone())));
        item.insert("code_expires_at".into(), n(c.expires_at));
        item.insert("code_attempts".into(), n(c.attempts));
    }
    if let Some(t) = &r.token {
        item.insert("token_jti".into(), s(&t.jti));
        item.insert("token_expires_at".into(), n(t.expires_at));
    }
    item
}

fn dest_record(
    key: &str,
    item: &HashMap<String, AttributeValue>,
) -> Result<DestRecord, StoreError> {
    let code = match item.get("code_sealed") {
        None => None,
        Some(v) => Some(LiveCode {
            sealed: v
                .as_b()
                .map_err(|_| StoreError::Corrupt("code_sealed is not binary".into()))?
                .as_ref()
                .to_vec(),
            expires_at: get_n(item, "code_expires_at")?,
            attempts: get_n(item, "code_attempts")? as u32,
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
        token,
        expires_at: get_n(item, EXPIRES_AT)?,
    })
}

/// The condition that the stored record is still at `version`.
fn version_condition(version: u64) -> (&'static str, Option<AttributeValue>) {
    if version == 0 {
        ("attribute_not_exists(pk)", None)
    } else {
        ("ver = :expected_ver", Some(n(version)))
    }
}

fn account_item(a: &AccountRecord) -> HashMap<String, AttributeValue> {
    let mut item = DynamoStore::key(account(&a.id));
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
    item
}

fn account_record(item: &HashMap<String, AttributeValue>) -> Result<AccountRecord, StoreError> {
    Ok(AccountRecord {
        id: get_s(item, "id").ok_or_else(|| StoreError::Corrupt("account without id".into()))?,
        email: get_s(item, "email"),
        phone: get_s(item, "phone"),
        password_hash: get_s(item, "password_hash"),
        display_name: get_s(item, "display_name"),
        locale: get_s(item, "locale"),
        created_at: get_n(item, "created_at")?,
        session_epoch: get_opt_n(item, "session_epoch")?.unwrap_or(0) as u64,
        session_keeper: get_s(item, "session_keeper"),
        version: get_opt_n(item, "ver")?.unwrap_or(0) as u64,
    })
}

/// The cancellation reason codes of a cancelled transaction, or the error.
fn cancellation_codes(
    e: SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Result<Vec<String>, StoreError> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => Ok(c
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None").to_string())
            .collect()),
        _ => Err(unavailable(e)),
    }
}

fn build<T, E: std::error::Error + Send + Sync + 'static>(
    r: Result<T, E>,
) -> Result<T, StoreError> {
    r.map_err(unavailable)
}

fn get_hash(item: &HashMap<String, AttributeValue>, name: &str) -> Result<[u8; 32], StoreError> {
    item.get(name)
        .and_then(|v| v.as_b().ok())
        .and_then(|b| <[u8; 32]>::try_from(b.as_ref()).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{name} is not a 32-byte hash")))
}

#[async_trait]
impl CaptchaStore for DynamoStore {
    async fn put_captcha(&self, c: &StoredCaptcha) -> Result<(), StoreError> {
        let mut item = Self::key(captcha(&c.id));
        item.insert("answer_hash".into(), AttributeValue::B(Blob::new(c.answer_hash.to_vec())));
        item.insert(EXPIRES_AT.into(), AttributeValue::N(c.expires_at.to_string()));
        self.put_new(item).await
    }

    async fn take_captcha(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<StoredCaptcha>, StoreError> {
        let old = self.take(captcha(id)).await?;
        let Some(item) = old else { return Ok(None) };
        let stored = StoredCaptcha {
            id: id.to_string(),
            answer_hash: get_hash(&item, "answer_hash")?,
            expires_at: get_n(&item, EXPIRES_AT)?,
        };
        Ok((stored.expires_at > now).then_some(stored))
    }
}

#[async_trait]
impl CodeStore for DynamoStore {
    async fn load_destination(
        &self,
        key: &str,
        address: &str,
        now: Timestamp,
    ) -> Result<(DestRecord, Option<String>), StoreError> {
        let [record_item, owner_item] = self.batch_get([dest(key), addr(address)]).await?;
        let record = match record_item {
            None => DestRecord { key: key.to_string(), ..Default::default() },
            Some(item) => {
                let r = dest_record(key, &item)?;
                if r.expires_at > now {
                    r
                } else {
                    DestRecord { key: key.to_string(), version: r.version, ..Default::default() }
                }
            }
        };
        let owner = owner_item.and_then(|i| get_s(&i, "account_id"));
        Ok((record, owner))
    }

    async fn commit_send(
        &self,
        captcha: Option<(&str, &[u8; 32])>,
        record: &DestRecord,
        expected_version: u64,
        counters: &[Counter],
        now: Timestamp,
    ) -> Result<Result<(), SendRejected>, StoreError> {
        let mut items = Vec::new();
        if let Some((id, hash)) = captcha {
            let delete = build(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(keys::captcha(id))))
                    .condition_expression("answer_hash = :h AND expires_at > :now")
                    .expression_attribute_values(":h", AttributeValue::B(Blob::new(hash.to_vec())))
                    .expression_attribute_values(":now", n(now))
                    .build(),
            )?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        let (cond, value) = version_condition(expected_version);
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(dest_item(record)))
                .condition_expression(cond)
                .set_expression_attribute_values(
                    value.map(|v| HashMap::from([(":expected_ver".to_string(), v)])),
                )
                .build(),
        )?;
        items.push(TransactWriteItem::builder().put(put).build());
        for c in counters {
            items.push(
                TransactWriteItem::builder()
                    .update(counter_increment(&self.table, c, now)?)
                    .build(),
            );
        }
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(Ok(())),
            Err(e) => {
                let codes = cancellation_codes(e)?;
                let offset = usize::from(captcha.is_some());
                for (i, code) in codes.iter().enumerate() {
                    let rejected = match (code.as_str(), i) {
                        ("None", _) => continue,
                        ("ConditionalCheckFailed", 0) if captcha.is_some() => SendRejected::Captcha,
                        ("ConditionalCheckFailed", i) if i == offset => SendRejected::Conflict,
                        ("ConditionalCheckFailed", i) => SendRejected::Counter(i - offset - 1),
                        // Another transaction touched one of the items at once: retry.
                        ("TransactionConflict", _) => SendRejected::Conflict,
                        (other, _) => {
                            return Err(StoreError::Unavailable(
                                format!("transaction cancelled: {other}").into(),
                            ));
                        }
                    };
                    return Ok(Err(rejected));
                }
                Err(StoreError::Unavailable("transaction cancelled without a reason".into()))
            }
        }
    }

    async fn save_destination(
        &self,
        record: &DestRecord,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        let (cond, value) = version_condition(expected_version);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(dest_item(record)))
            .condition_expression(cond)
            .set_expression_attribute_values(
                value.map(|v| HashMap::from([(":expected_ver".to_string(), v)])),
            )
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }

    async fn refund(&self, counters: &[Counter]) -> Result<(), StoreError> {
        for c in counters {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(counter(&c.key))))
                .update_expression("ADD n :minus_one")
                .condition_expression("n > :zero")
                .expression_attribute_values(":minus_one", n(-1))
                .expression_attribute_values(":zero", n(0))
                .send()
                .await;
            // A failed condition: nothing to take back (the window is gone).
            conditional(result)?;
        }
        Ok(())
    }
}

fn counter_increment(table: &str, c: &Counter, now: Timestamp) -> Result<Update, StoreError> {
    // A window's key names the window, so an old count never carries over;
    // `expires_at > :now` still guards against a reused key.
    build(
        Update::builder()
            .table_name(table)
            .set_key(Some(DynamoStore::key(counter(&c.key))))
            .update_expression("ADD n :one SET expires_at = :exp")
            .condition_expression("attribute_not_exists(n) OR n < :limit OR expires_at <= :now")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(c.expires_at))
            .expression_attribute_values(":limit", n(c.limit))
            .expression_attribute_values(":now", n(now))
            .build(),
    )
}

impl DynamoStore {
    /// Stores a new item. Its key is random, so it never overwrites one that
    /// somehow exists (that would be an error, not a silent replace).
    async fn put_new(&self, item: HashMap<String, AttributeValue>) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Deletes an item and returns what it held: of concurrent takes of one
    /// item, only one gets it.
    async fn take(
        &self,
        pk: String,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk)))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        Ok(conditional(result)?.and_then(|out| out.attributes))
    }

    /// Reads single-item partitions in one strongly consistent BatchGetItem,
    /// asking again for keys DynamoDB leaves unprocessed under load.
    async fn batch_get<const N: usize>(
        &self,
        pks: [String; N],
    ) -> Result<[Option<HashMap<String, AttributeValue>>; N], StoreError> {
        let mut keys = KeysAndAttributes::builder().consistent_read(true);
        for pk in &pks {
            keys = keys.keys(Self::key(pk.clone()));
        }
        let mut request = build(keys.build())?;
        let mut items = Vec::new();
        for attempt in 0..6 {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request.clone())
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(mut r) = out.responses {
                items.extend(r.remove(&self.table).unwrap_or_default());
            }
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys().is_empty() => {
                    request = rest;
                    tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                }
                _ => {
                    return Ok(pks.map(|pk| {
                        items
                            .iter()
                            .position(|i| get_s(i, PK).as_deref() == Some(pk.as_str()))
                            .map(|at| items.swap_remove(at))
                    }));
                }
            }
        }
        Err(StoreError::Unavailable("BatchGetItem kept leaving keys unprocessed".into()))
    }

    async fn get(&self, pk: String) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    fn account_write(
        &self,
        w: &AccountWrite,
        now: Timestamp,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = |item, cond: &str, values: Vec<(&str, AttributeValue)>| {
            build(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression(cond)
                    .set_expression_attribute_values(if values.is_empty() {
                        None
                    } else {
                        Some(values.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                    })
                    .build(),
            )
            .map(|p| TransactWriteItem::builder().put(p).build())
        };
        match w {
            AccountWrite::PutAccount(a) => {
                let mut stored = a.clone();
                stored.version += 1;
                let (cond, v) = version_condition(a.version);
                put(
                    account_item(&stored),
                    cond,
                    v.map(|v| (":expected_ver", v)).into_iter().collect(),
                )
            }
            AccountWrite::ClaimAddress { key, account_id } => {
                let mut item = Self::key(addr(key));
                item.insert("account_id".into(), s(account_id));
                put(
                    item,
                    "attribute_not_exists(pk) OR account_id = :me",
                    vec![(":me", s(account_id))],
                )
            }
            AccountWrite::ReleaseAddress { key, account_id } => {
                let delete = build(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(Self::key(addr(key))))
                        .condition_expression("account_id = :me")
                        .expression_attribute_values(":me", s(account_id))
                        .build(),
                )?;
                Ok(TransactWriteItem::builder().delete(delete).build())
            }
            AccountWrite::SaveDestination { record, expected_version } => {
                let (cond, v) = version_condition(*expected_version);
                put(dest_item(record), cond, v.map(|v| (":expected_ver", v)).into_iter().collect())
            }
            AccountWrite::UseSecret { kind, hash } => {
                let delete = build(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(Self::key(secret(*kind, hash))))
                        .condition_expression("attribute_exists(pk) AND expires_at > :now")
                        .expression_attribute_values(":now", n(now))
                        .build(),
                )?;
                Ok(TransactWriteItem::builder().delete(delete).build())
            }
        }
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.get(account(id)).await?.as_ref().map(account_record).transpose()
    }

    async fn account_by_address(&self, key: &str) -> Result<Option<AccountRecord>, StoreError> {
        let Some(owner) = self.get(addr(key)).await? else { return Ok(None) };
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
        let [acct, rev] = self.batch_get([account(account_id), revoked(jti)]).await?;
        let revoked = rev.is_some_and(|r| get_n(&r, EXPIRES_AT).is_ok_and(|e| e > now));
        Ok((acct.as_ref().map(account_record).transpose()?, revoked))
    }

    async fn apply(
        &self,
        writes: &[AccountWrite],
        now: Timestamp,
    ) -> Result<Result<(), usize>, StoreError> {
        let items =
            writes.iter().map(|w| self.account_write(w, now)).collect::<Result<Vec<_>, _>>()?;
        for attempt in 0..4 {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let codes = match result {
                Ok(_) => return Ok(Ok(())),
                Err(e) => cancellation_codes(e)?,
            };
            if let Some(i) = codes.iter().position(|c| c == "ConditionalCheckFailed") {
                return Ok(Err(i));
            }
            if codes.iter().any(|c| c == "TransactionConflict") && attempt < 3 {
                // Another transaction held one of the items: try again shortly.
                tokio::time::sleep(Duration::from_millis(15 << attempt)).await;
                continue;
            }
            return Err(StoreError::Unavailable(
                format!("transaction cancelled: {codes:?}").into(),
            ));
        }
        Err(StoreError::Unavailable("transaction kept conflicting".into()))
    }

    async fn revoke_session(&self, jti: &str, expires_at: Timestamp) -> Result<(), StoreError> {
        let mut item = Self::key(revoked(jti));
        item.insert(EXPIRES_AT.into(), n(expires_at));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn put_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        account_id: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut item = Self::key(secret(kind, hash));
        item.insert("account_id".into(), s(account_id));
        item.insert(EXPIRES_AT.into(), n(expires_at));
        self.put_new(item).await
    }

    async fn take_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let item = self.take(secret(kind, hash)).await?;
        let Some(item) = item else { return Ok(None) };
        if get_n(&item, EXPIRES_AT)? <= now {
            return Ok(None);
        }
        Ok(get_s(&item, "account_id"))
    }

    async fn increment(&self, c: &Counter, now: Timestamp) -> Result<bool, StoreError> {
        let u = counter_increment(&self.table, c, now)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(u.key))
            .update_expression(u.update_expression)
            .set_condition_expression(u.condition_expression)
            .set_expression_attribute_values(u.expression_attribute_values)
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }
}

/// Creates the table if it is missing — the same keys, billing and TTL as
/// template.yaml — and makes sure TTL is on. For the dev server and tests;
/// deployed tables come from the template.
pub async fn ensure_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let exists = match client.describe_table().table_name(table).send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_not_found_exception()) => {
            false
        }
        Err(e) => return Err(unavailable(e)),
    };
    if !exists {
        let created = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PK)?)
            .attribute_definitions(attr(SK)?)
            .key_schema(key_schema(PK, KeyType::Hash)?)
            .key_schema(key_schema(SK, KeyType::Range)?)
            .send()
            .await;
        if let Err(e) = created
            && !e.as_service_error().is_some_and(|se| se.is_resource_in_use_exception())
        {
            return Err(unavailable(e));
        }
    }
    for _ in 0..100 {
        let out = client.describe_table().table_name(table).send().await.map_err(unavailable)?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ttl = client.describe_time_to_live().table_name(table).send().await.map_err(unavailable)?;
    let status = ttl.time_to_live_description().and_then(|d| d.time_to_live_status());
    if !matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(EXPIRES_AT)
            .enabled(true)
            .build()
            .map_err(unavailable)?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}

fn attr(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(unavailable)
}

fn key_schema(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().map_err(unavailable)
}
