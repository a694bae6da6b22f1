//! An SDK interceptor that records the IAM actions of every DynamoDB request
//! a client makes — the actions IAM checks, so a transaction's items count
//! as their own `PutItem`/`UpdateItem`/`DeleteItem`/`ConditionCheckItem`.

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::operation::{
    batch_get_item::BatchGetItemInput, delete_item::DeleteItemInput, get_item::GetItemInput,
    put_item::PutItemInput, query::QueryInput, scan::ScanInput,
    transact_write_items::TransactWriteItemsInput, update_item::UpdateItemInput,
};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Default)]
pub struct SdkActions(Arc<Mutex<BTreeSet<String>>>);

impl SdkActions {
    /// The actions recorded since the last call, as `dynamodb:<Action>`.
    pub fn take(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// A client whose requests are recorded here.
    pub fn client(&self, sdk: &aws_config::SdkConfig, endpoint: &str) -> aws_sdk_dynamodb::Client {
        intercepted_client(sdk, endpoint, self.clone())
    }
}

impl Intercept for SdkActions {
    fn name(&self) -> &'static str {
        "SdkActions"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let input = context.input();
        let mut found: Vec<&str> = Vec::new();
        let single = [
            (input.downcast_ref::<GetItemInput>().is_some(), "GetItem"),
            (input.downcast_ref::<PutItemInput>().is_some(), "PutItem"),
            (input.downcast_ref::<UpdateItemInput>().is_some(), "UpdateItem"),
            (input.downcast_ref::<DeleteItemInput>().is_some(), "DeleteItem"),
            (input.downcast_ref::<BatchGetItemInput>().is_some(), "BatchGetItem"),
            (input.downcast_ref::<QueryInput>().is_some(), "Query"),
            (input.downcast_ref::<ScanInput>().is_some(), "Scan"),
        ];
        found.extend(single.iter().filter(|(hit, _)| *hit).map(|(_, a)| *a));
        if let Some(t) = input.downcast_ref::<TransactWriteItemsInput>() {
            for item in t.transact_items() {
                found.push(match () {
                    _ if item.put().is_some() => "PutItem",
                    _ if item.update().is_some() => "UpdateItem",
                    _ if item.delete().is_some() => "DeleteItem",
                    _ => "ConditionCheckItem",
                });
            }
        }
        if found.is_empty() {
            found.push("an unrecognised operation");
        }
        self.0.lock().unwrap().extend(found.into_iter().map(|a| format!("dynamodb:{a}")));
        Ok(())
    }
}

/// A DynamoDB client at `endpoint` whose requests pass through `interceptor`.
pub fn intercepted_client(
    sdk: &aws_config::SdkConfig,
    endpoint: &str,
    interceptor: impl Intercept + 'static,
) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(sdk)
        .endpoint_url(endpoint)
        .interceptor(interceptor)
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}
