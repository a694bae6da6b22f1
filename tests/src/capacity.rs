//! An SDK interceptor that asks DynamoDB for the capacity each request
//! consumes (`ReturnConsumedCapacity=TOTAL`) and sums it: read units for
//! reads, write units for writes, as DynamoDB reports them. A refused write
//! (a condition that did not hold, a cancelled transaction) reports none;
//! those are counted apart, since DynamoDB still bills them.
//!
//! DynamoDB Local under-reports transactions: it answers twice the largest
//! item's units for the whole `TransactWriteItems` (three 1 KB puts: 2, not
//! 6), where DynamoDB bills two units per item per started KB. Its figures
//! for single-item calls are DynamoDB's.

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    delete_item::{DeleteItemInput, DeleteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use std::sync::{Arc, Mutex};

/// Capacity consumed since the last `take`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Units {
    pub read: f64,
    pub write: f64,
    /// Writes DynamoDB refused, which it reports no capacity for.
    pub refused: u32,
}

#[derive(Clone, Debug, Default)]
pub struct Capacity(Arc<Mutex<Units>>);

impl Capacity {
    pub fn take(&self) -> Units {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// A client whose requests are measured here.
    pub fn client(&self, sdk: &aws_config::SdkConfig, endpoint: &str) -> aws_sdk_dynamodb::Client {
        crate::sdk_actions::intercepted_client(sdk, endpoint, self.clone())
    }
}

fn total(c: Option<&ConsumedCapacity>) -> f64 {
    c.and_then(ConsumedCapacity::capacity_units).unwrap_or_default()
}

impl Intercept for Capacity {
    fn name(&self) -> &'static str {
        "Capacity"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let input = context.input_mut();
        let total = Some(ReturnConsumedCapacity::Total);
        if let Some(i) = input.downcast_mut::<GetItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<BatchGetItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<QueryInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<PutItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<UpdateItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<DeleteItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
            i.return_consumed_capacity = total;
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut units = self.0.lock().unwrap();
        let Ok(out) = context.output_or_error() else {
            units.refused += 1;
            return Ok(());
        };
        if let Some(o) = out.downcast_ref::<GetItemOutput>() {
            units.read += total(o.consumed_capacity());
        } else if let Some(o) = out.downcast_ref::<BatchGetItemOutput>() {
            units.read += o.consumed_capacity().iter().map(|c| total(Some(c))).sum::<f64>();
        } else if let Some(o) = out.downcast_ref::<QueryOutput>() {
            units.read += total(o.consumed_capacity());
        } else if let Some(o) = out.downcast_ref::<PutItemOutput>() {
            units.write += total(o.consumed_capacity());
        } else if let Some(o) = out.downcast_ref::<UpdateItemOutput>() {
            units.write += total(o.consumed_capacity());
        } else if let Some(o) = out.downcast_ref::<DeleteItemOutput>() {
            units.write += total(o.consumed_capacity());
        } else if let Some(o) = out.downcast_ref::<TransactWriteItemsOutput>() {
            units.write += o.consumed_capacity().iter().map(|c| total(Some(c))).sum::<f64>();
        }
        Ok(())
    }
}
