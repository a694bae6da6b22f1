//! The request shapes every concern uses: conditional writes and their
//! refusals, take-and-return deletes, batch and single reads.

use super::codec::{Item, get_s};
use super::keys::{self, PK};
use super::store::DynamoStore;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnValue, TransactWriteItem};
use domain::ports::StoreError;
use domain::retry::{self, Attempt};

type HttpResponse = aws_sdk_dynamodb::config::http::HttpResponse;

pub fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

/// A request builder's result (a missing required field is a bug, reported
/// as an unavailable store rather than a panic).
pub fn build<T, E: std::error::Error + Send + Sync + 'static>(
    r: Result<T, E>,
) -> Result<T, StoreError> {
    r.map_err(unavailable)
}

/// A conditional write's result: `None` when its condition did not hold (a
/// domain outcome, told apart from an outage by the error's code).
pub fn conditional<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
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

/// The cancellation reason codes of a cancelled transaction, one per item
/// (`None` for items that were fine), or the error if it was not cancelled.
pub fn cancellation_codes(
    e: SdkError<TransactWriteItemsError, HttpResponse>,
) -> Result<Vec<String>, StoreError> {
    Ok(cancellation_reasons(e)?.into_iter().map(|(code, _)| code).collect())
}

/// `cancellation_codes`, each with the item as it was where the write asked
/// for it on a failed condition.
pub fn cancellation_reasons(
    e: SdkError<TransactWriteItemsError, HttpResponse>,
) -> Result<Vec<(String, Option<Item>)>, StoreError> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => Ok(c
            .cancellation_reasons()
            .iter()
            .map(|r| (r.code().unwrap_or("None").to_string(), r.item().cloned()))
            .collect()),
        _ => Err(unavailable(e)),
    }
}

/// An update's result: `Err(old item)` when its condition did not hold
/// (the item as it was, if the update asked for it and there was one).
pub fn conditional_update(
    result: Result<UpdateItemOutput, SdkError<UpdateItemError, HttpResponse>>,
) -> Result<Result<UpdateItemOutput, Option<Item>>, StoreError> {
    match result {
        Ok(out) => Ok(Ok(out)),
        Err(e) => match e.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(c)) => Ok(Err(c.item().cloned())),
            _ => Err(unavailable(e)),
        },
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl DynamoStore {
    /// Runs a transaction: `None` when it committed, else the cancellation
    /// reason codes, one per item (`cancellation_codes`).
    pub(super) async fn transact(
        &self,
        items: &[TransactWriteItem],
    ) -> Result<Option<Vec<String>>, StoreError> {
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items.to_vec()))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(None),
            Err(e) => cancellation_codes(e).map(Some),
        }
    }

    /// Stores an item, replacing any with its key.
    pub(super) async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Stores a new item. Its key is random, so it never overwrites one that
    /// somehow exists (that would be an error, not a silent replace).
    pub(super) async fn put_new(&self, item: Item) -> Result<(), StoreError> {
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
    pub(super) async fn take(&self, pk: String) -> Result<Option<Item>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::key(pk)))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        Ok(conditional(result)?.and_then(|out| out.attributes))
    }

    /// One strongly consistent read.
    pub(super) async fn get(&self, pk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(keys::key(pk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// Reads single-item partitions in one strongly consistent BatchGetItem,
    /// asking again (with backoff) for keys DynamoDB leaves unprocessed.
    pub(super) async fn batch_get<const N: usize>(
        &self,
        pks: [String; N],
    ) -> Result<[Option<Item>; N], StoreError> {
        let mut items = self.batch_get_all(&pks).await?.into_iter();
        Ok(pks.map(|_| items.next().flatten()))
    }

    /// `batch_get` for any number of keys (at most 100), in their order.
    pub(super) async fn batch_get_all(
        &self,
        pks: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        let mut wanted = KeysAndAttributes::builder().consistent_read(true);
        for pk in pks {
            wanted = wanted.keys(keys::key(pk.clone()));
        }
        // What is still to read, and what has come back (shared with each attempt).
        let request = std::sync::Mutex::new(build(wanted.build())?);
        let found = std::sync::Mutex::new(Vec::new());
        let (request, found) = (&request, &found);
        let done = retry::run(|| async move {
            let ask = lock(request).clone();
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, ask)
                .send()
                .await
                .map_err(unavailable)?;
            let items = out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default();
            lock(found).extend(items);
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys().is_empty() => {
                    *lock(request) = rest;
                    Ok::<_, StoreError>(Attempt::Retry)
                }
                _ => Ok(Attempt::Done(())),
            }
        })
        .await?;
        if done.is_none() {
            return Err(StoreError::Unavailable(
                "BatchGetItem kept leaving keys unprocessed".into(),
            ));
        }
        let mut items = std::mem::take(&mut *lock(found));
        Ok(pks
            .iter()
            .map(|pk| {
                let at = items.iter().position(|i| get_s(i, PK).as_deref() == Some(pk.as_str()));
                at.map(|at| items.swap_remove(at))
            })
            .collect())
    }
}
