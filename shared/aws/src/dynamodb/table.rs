//! Creating the table where none is deployed (the dev server, tests):
//! the same keys, billing and TTL as template.yaml.

use super::calls::unavailable;
use super::keys::{EXPIRES_AT, PK, SK};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use domain::ports::StoreError;
use std::time::Duration;

/// Whether a table made locally has template.yaml's stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// For tests that read the stream as the delivery function would.
    Enabled,
    /// For the dev server (it delivers in process, after each commit) and
    /// tests that do not read it: DynamoDB Local makes every write several
    /// times slower on a table with a stream.
    Disabled,
}

/// Creates the table if it is missing — the same keys, billing and TTL as
/// template.yaml, and its stream if asked — and makes sure TTL is on. For
/// the dev server and tests; deployed tables come from the template.
pub async fn ensure_table(client: &Client, table: &str, stream: Stream) -> Result<(), StoreError> {
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
            .set_stream_specification((stream == Stream::Enabled).then(new_images).transpose()?)
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

/// The stream the delivery function reads: new images of changed items.
fn new_images() -> Result<StreamSpecification, StoreError> {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewImage)
        .build()
        .map_err(unavailable)
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
