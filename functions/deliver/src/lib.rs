//! `deliver`: fed by the table's stream (filtered to new `MSG#…` items), it
//! delivers each outgoing message through SES or SNS and answers with the
//! records to try again (`ReportBatchItemFailures`). A record it cannot read
//! is reported too, so the stream's retries and then its on-failure
//! destination (an SQS queue) keep it for an operator; nothing panics.
//!
//! Per message: claim it, review a text message's send (the SMS guard),
//! read what decides what goes out, send, settle; a failure for good
//! disables the code and refunds the send in one transaction. Round trips:
//! docs/performance.md.

use aws::dynamodb::keys::{MESSAGE, PK};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use domain::error::chain;
use domain::outbox::{DeliverError, Delivered, Deliverer, deliver};
use serde_json::Value;
use std::time::Duration;

/// One record's message id and sequence number, as far as they can be read.
struct Record {
    sequence: Option<String>,
    message: Option<String>,
}

fn read(record: &Value) -> Record {
    let change = &record["dynamodb"];
    Record {
        sequence: change["SequenceNumber"].as_str().map(str::to_string),
        message: change["Keys"][PK]["S"]
            .as_str()
            .and_then(|pk| pk.strip_prefix(MESSAGE))
            .filter(|id| !id.is_empty())
            .map(str::to_string),
    }
}

/// The longest pause before answering with failures, so that the stream's
/// retries (which follow at once) are spread over a provider's outage.
const MAX_PAUSE: Duration = Duration::from_secs(20);

/// Delivers every message of a stream batch; the answer names the records
/// to try again.
pub async fn handle(d: &Deliverer, event: Value) -> DynamoDbEventResponse {
    let records = event["Records"].as_array().cloned().unwrap_or_default();
    let mut failures = Vec::new();
    let mut pause = Duration::ZERO;
    for raw in &records {
        let record = read(raw);
        let Some(id) = record.message else {
            tracing::error!(sequence = ?record.sequence, "a stream record names no outgoing message");
            failures.push(record.sequence);
            continue;
        };
        match deliver_one(d, &id).await {
            Ok(()) => {}
            Err(wait) => {
                pause = pause.max(wait);
                failures.push(record.sequence);
            }
        }
    }
    if !failures.is_empty() {
        tokio::time::sleep(pause.min(MAX_PAUSE)).await;
    }
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|sequence| {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = sequence;
            failure
        })
        .collect();
    response
}

/// `Err` with the pause the retry deserves when the message is not settled.
async fn deliver_one(d: &Deliverer, id: &str) -> Result<(), Duration> {
    let mut result = deliver(d, id).await;
    if let Err(DeliverError::Leased { until }) = result {
        // A delivery that crashed holds it: wait out its lease once.
        let wait = (until - d.clock.now()).clamp(0, d.config.delivery_lease_secs) as u64;
        tokio::time::sleep(Duration::from_secs(wait)).await;
        result = deliver(d, id).await;
    }
    match result {
        Ok(Delivered::Done(outcome)) => {
            tracing::info!(message_id = id, outcome = outcome.as_str(), "message handled");
            Ok(())
        }
        Ok(Delivered::AlreadySettled) => {
            tracing::info!(message_id = id, "message already settled");
            Ok(())
        }
        Err(DeliverError::Retry { attempts }) => Err(Duration::from_secs(1 << attempts.min(5))),
        Err(e) => {
            tracing::warn!(message_id = id, error = %chain(&e), "message not settled");
            Err(Duration::from_secs(1))
        }
    }
}
