//! The DynamoDB adapter: one table, string `pk`/`sk`, a numeric `expires_at`
//! TTL attribute in epoch seconds. TTL deletion is lazy, so every read and
//! condition also compares `expires_at` with the clock.

use crate::config::Config;
use crate::ports::{CaptchaStore, StoreError, StoredCaptcha, Timestamp};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use std::collections::HashMap;
use std::time::Duration;

/// Attribute names and key prefixes.
pub mod keys {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const EXPIRES_AT: &str = "expires_at";

    pub const CAPTCHA: &str = "CAPTCHA#";
    /// The sort key of single-item partitions.
    pub const ITEM: &str = "ITEM";

    pub fn captcha(id: &str) -> String {
        format!("{CAPTCHA}{id}")
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
    let mut conf = aws_sdk_dynamodb::config::Builder::from(&sdk);
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

fn get_n(item: &HashMap<String, AttributeValue>, name: &str) -> Result<i64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{name} is not a number")))
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
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // Ids are random; never overwrite one that somehow exists.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn take_captcha(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<StoredCaptcha>, StoreError> {
        // Delete unconditionally-but-existing and read what was there: of
        // concurrent deletes of one item, only one gets the old attributes.
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(captcha(id))))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let old = match result {
            Ok(out) => out.attributes,
            Err(e) => {
                if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception())
                {
                    return Ok(None);
                }
                return Err(unavailable(e));
            }
        };
        let Some(item) = old else { return Ok(None) };
        let stored = StoredCaptcha {
            id: id.to_string(),
            answer_hash: get_hash(&item, "answer_hash")?,
            expires_at: get_n(&item, EXPIRES_AT)?,
        };
        Ok((stored.expires_at > now).then_some(stored))
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
