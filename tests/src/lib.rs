//! Test support: apps over either store, with a clock the tests move.
//!
//! DynamoDB tests need DynamoDB Local; `scripts/test.sh` starts it and sets
//! `VERICODE_TEST_DYNAMODB`. Without it they fail (they are never skipped).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use shared::App;
use shared::captcha::DevAnswerLog;
use shared::config::{Config, Secrets};
use shared::ports::{ManualClock, Store};
use shared::store::dynamodb::{self, DynamoStore};
use shared::store::memory::MemoryStore;
use std::sync::Arc;

/// The moment every test clock starts at.
pub const T0: i64 = 1_800_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Dynamo,
}

/// An app for tests and the handles tests need around it.
pub struct TestApp {
    pub app: Arc<App>,
    pub clock: ManualClock,
    pub answers: Arc<DevAnswerLog>,
    /// The DynamoDB client and table, on the DynamoDB backend.
    pub dynamo: Option<(aws_sdk_dynamodb::Client, String)>,
}

pub fn config() -> Config {
    let get = |name: &str| match name {
        "JWT_SECRET" => Some("test-secret-test-secret-test-secret".to_string()),
        "CODE_KEY" => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string()),
        _ => None,
    };
    Config::from_lookup(get, Secrets::Required).expect("test config")
}

/// DynamoDB Local's address, or a failure that says how to start it.
pub fn dynamodb_endpoint() -> String {
    std::env::var("VERICODE_TEST_DYNAMODB").unwrap_or_else(|_| {
        panic!(
            "VERICODE_TEST_DYNAMODB is not set: DynamoDB Local is not running. \
             Run the tests with scripts/test.sh, which starts it."
        )
    })
}

/// A DynamoDB Local client (dummy credentials unless the environment has some).
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    dynamodb::client(Some(&dynamodb_endpoint())).await
}

/// A fresh table, created by the same code the dev server uses.
pub async fn fresh_table(client: &aws_sdk_dynamodb::Client) -> String {
    let table = format!("test-{}", uuid::Uuid::new_v4());
    dynamodb::ensure_table(client, &table).await.expect("create table");
    table
}

pub async fn store(
    backend: Backend,
) -> (Arc<dyn Store>, Option<(aws_sdk_dynamodb::Client, String)>) {
    match backend {
        Backend::Memory => (Arc::new(MemoryStore::new()), None),
        Backend::Dynamo => {
            let client = dynamodb_client().await;
            let table = fresh_table(&client).await;
            let store = DynamoStore::new(client.clone(), table.clone());
            (Arc::new(store), Some((client, table)))
        }
    }
}

pub async fn app(backend: Backend) -> TestApp {
    let (store, dynamo) = store(backend).await;
    let clock = ManualClock::new(T0);
    let answers = Arc::new(DevAnswerLog::default());
    let app = App::new(config(), store)
        .with_clock(Arc::new(clock.clone()))
        .with_dev_captcha_answers(answers.clone());
    TestApp { app: Arc::new(app), clock, answers, dynamo }
}

/// Runs an async test body once per backend.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name($crate::Backend::Memory).await })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name($crate::Backend::Dynamo).await })*
        }
    };
}
