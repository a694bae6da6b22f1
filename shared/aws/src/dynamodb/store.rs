//! The adapter's handle: a DynamoDB client and the table's name.

use aws_sdk_dynamodb::Client;

pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
}

/// A DynamoDB client from the shared AWS configuration. `endpoint`
/// (`DYNAMODB_ENDPOINT`) overrides the service endpoint; the SDK's own
/// `AWS_ENDPOINT_URL_DYNAMODB` works as well.
pub fn client(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> Client {
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

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}
