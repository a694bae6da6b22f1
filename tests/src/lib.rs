//! Test support: apps over either store, with a clock the tests move.
//!
//! DynamoDB tests need DynamoDB Local; `scripts/test.sh` starts it and sets
//! `VERICODE_TEST_DYNAMODB`. Without it they fail (they are never skipped).
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod capacity;
pub mod pow;
pub mod recording;
pub mod sdk_actions;
pub mod siteverify;

use aws::dynamodb::{self, DynamoStore};
use domain::Services;
use domain::config::{Config, Secrets};
use domain::outbox::{Deliverer, InlineRelay};
use domain::ports::{AccountRecord, AccountWrite, ApplyOutcome, ManualClock, Store};
use memory::{AnswerLog, Mailbox, MemoryStore, MetricLog};
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
    pub app: Arc<Services>,
    pub clock: ManualClock,
    pub answers: Arc<AnswerLog>,
    pub mailbox: Arc<Mailbox>,
    /// The account events published, as the dev server keeps them.
    pub events: Arc<memory::EventLog>,
    pub metrics: Arc<MetricLog>,
    /// The DynamoDB client and table, on the DynamoDB backend.
    pub dynamo: Option<(aws_sdk_dynamodb::Client, String)>,
}

pub fn config() -> Config {
    let get = |name: &str| match name {
        "JWT_SIGNING_KEY" => Some("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=".to_string()),
        "CODE_KEY" => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string()),
        // Proofs of work a test solves in milliseconds.
        "POW_COST" => Some("10".to_string()),
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
    dynamodb::client(&aws::sdk_config().await, Some(&dynamodb_endpoint()))
}

/// A fresh table, created by the same code the dev server uses.
pub async fn fresh_table(client: &aws_sdk_dynamodb::Client) -> String {
    fresh_table_with(client, dynamodb::Stream::Disabled).await
}

/// A fresh table, with template.yaml's stream or without.
pub async fn fresh_table_with(
    client: &aws_sdk_dynamodb::Client,
    stream: dynamodb::Stream,
) -> String {
    let table = format!("test-{}", uuid::Uuid::new_v4());
    dynamodb::ensure_table(client, &table, stream).await.expect("create table");
    table
}

/// A fresh, empty store of the given kind.
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
    app_with(backend, config()).await
}

/// An app with a given configuration.
pub async fn app_with(backend: Backend, config: Config) -> TestApp {
    let (store, dynamo) = store(backend).await;
    services_over(store, config, dynamo)
}

/// An app over a given store (e.g. one wrapped to record its calls).
pub fn services_over(
    store: Arc<dyn Store>,
    config: Config,
    dynamo: Option<(aws_sdk_dynamodb::Client, String)>,
) -> TestApp {
    services_split(store.clone(), store, config, dynamo)
}

/// An app whose message delivery reaches the store through `deliver_store`
/// (as the delivery function would, with its own client), and the API
/// through `store`.
pub fn services_split(
    store: Arc<dyn Store>,
    deliver_store: Arc<dyn Store>,
    config: Config,
    dynamo: Option<(aws_sdk_dynamodb::Client, String)>,
) -> TestApp {
    build(store, deliver_store, config, dynamo, Arc::default())
}

/// An app whose code messages may use the named template sets `templates`.
pub async fn app_with_templates(
    backend: Backend,
    templates: Arc<domain::templates::TemplateSets>,
) -> TestApp {
    let (store, dynamo) = store(backend).await;
    build(store.clone(), store, config(), dynamo, templates)
}

fn build(
    store: Arc<dyn Store>,
    deliver_store: Arc<dyn Store>,
    config: Config,
    dynamo: Option<(aws_sdk_dynamodb::Client, String)>,
    templates: Arc<domain::templates::TemplateSets>,
) -> TestApp {
    let clock = ManualClock::new(T0);
    let answers = Arc::new(AnswerLog::default());
    let mailbox = Arc::new(Mailbox::new(Arc::new(clock.clone())));
    let metrics = Arc::new(MetricLog::default());
    let app = Services::new(config, store)
        .expect("services")
        .with_image_renderer()
        .with_clock(Arc::new(clock.clone()))
        .with_captcha_log(answers.clone())
        .with_metrics(metrics.clone())
        .with_templates(templates);
    // Each committed message is delivered before the send returns.
    let events = Arc::new(memory::EventLog::default());
    let mut deliverer = Deliverer::new(&app, mailbox.clone()).with_events(events.clone());
    deliverer.store = deliver_store;
    let app = app.with_relay(Arc::new(InlineRelay::immediate(Arc::new(deliverer))));
    TestApp { app: Arc::new(app), clock, answers, mailbox, events, metrics, dynamo }
}

impl TestApp {
    /// The same app with its services changed by `f` (before any use).
    pub fn map_services(mut self, f: impl FnOnce(Services) -> Services) -> Self {
        let services = Arc::into_inner(self.app).expect("the services are not shared yet");
        self.app = Arc::new(f(services));
        self
    }

    /// A new captcha's id and answer.
    pub async fn captcha(&self) -> (String, String) {
        let c = domain::captcha::create(&self.app).await.expect("captcha");
        let answer = self.answers.answer(&c.captcha_id).expect("answer");
        (c.captcha_id, answer)
    }

    /// A solved proof-of-work challenge: the widget's payload.
    pub fn altcha(&self) -> String {
        let challenge = domain::captcha::pow::create(&self.app).expect("challenge");
        pow::solve(&serde_json::to_value(challenge).expect("json"))
    }

    /// Creates an account owning `email` and/or `phone`; returns it and a session token.
    pub async fn account(
        &self,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> (AccountRecord, String) {
        let account = AccountRecord {
            id: uuid::Uuid::new_v4().to_string(),
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            created_at: T0,
            ..Default::default()
        };
        let mut writes = vec![AccountWrite::PutAccount(account.clone())];
        for key in account.address_keys() {
            writes.push(AccountWrite::ClaimAddress { key, account_id: account.id.clone() });
        }
        let outcome = self.app.store.apply(&writes, T0).await.expect("store");
        assert_eq!(outcome, ApplyOutcome::Committed, "create account");
        let account = AccountRecord { version: 1, ..account };
        let (token, _) = domain::sessions::issue(&self.app, &account, 3600).expect("token");
        (account, token)
    }

    /// The newest message's code sent to `to`.
    pub fn last_code(&self, to: &str) -> Option<String> {
        self.mailbox.to(to).first().and_then(|m| m.code.clone())
    }
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

/// A request as API Gateway would deliver it: JSON body, caller address,
/// optional bearer token.
pub fn request(body: &serde_json::Value, ip: &str, bearer: Option<&str>) -> lambda_http::Request {
    use lambda_http::RequestExt;
    let mut ctx = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    ctx.http.method = lambda_http::http::Method::POST;
    ctx.http.source_ip = Some(ip.to_string());
    let mut req = lambda_http::Request::new(lambda_http::Body::Text(body.to_string()))
        .with_request_context(lambda_http::request::RequestContext::ApiGatewayV2(ctx));
    req.headers_mut().insert("content-type", "application/json".parse().expect("header"));
    if let Some(token) = bearer {
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().expect("header"));
    }
    req
}

/// A response's status and JSON body.
pub fn parts(resp: &lambda_http::Response<lambda_http::Body>) -> (u16, serde_json::Value) {
    let body = if resp.body().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(resp.body().as_ref()).expect("json body")
    };
    (resp.status().as_u16(), body)
}

/// The Lambda event SNS delivers for an SES hard bounce of `address`, as
/// the configuration set publishes it.
pub fn ses_bounce_event(address: &str) -> serde_json::Value {
    let notification = serde_json::json!({
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{ "emailAddress": address, "action": "failed", "status": "5.1.1" }],
            "timestamp": "2026-11-28T12:00:00.000Z",
            "feedbackId": "0100018c-feedback"
        },
        "mail": { "timestamp": "2026-11-28T11:59:59.000Z", "source": "no-reply@example.com",
                  "messageId": "0100018c-message", "destination": [address] }
    });
    serde_json::json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:vericode-ses-events:1",
            "Sns": {
                "Type": "Notification",
                "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:vericode-ses-events",
                "Subject": null,
                "Message": notification.to_string(),
                "Timestamp": "2026-11-28T12:00:00.000Z",
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": {}
            }
        }]
    })
}

/// A log writer for tests: keeps every byte written, for the test to read.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether `path` is a request for the route `template` (`{name}` matches
/// one segment).
pub fn route_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
}

/// The Python of the venv the test stack installs (scripts/stack.sh), with
/// stock libraries to check against: PyJWT, pyotp.
pub fn venv_python() -> std::path::PathBuf {
    let cache =
        std::env::var("VERICODE_CACHE").map(std::path::PathBuf::from).unwrap_or_else(|_| {
            std::path::PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/vericode")
        });
    let python = cache.join("venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/stack.sh install", python.display());
    python
}

/// Runs `script` with boto3 (the stand-in's venv) against the AWS stand-in
/// (`VERICODE_TEST_AWS`), with `events` and `sqs` clients ready; its
/// standard output is JSON.
pub fn boto3(script: &str, args: &[&str]) -> serde_json::Value {
    let endpoint = std::env::var("VERICODE_TEST_AWS").expect(
        "VERICODE_TEST_AWS is not set: the AWS stand-in is not running. Run scripts/test.sh.",
    );
    let setup = "import boto3, json, sys, os\n\
                 ep = os.environ['VERICODE_TEST_AWS']\n\
                 region = os.environ.get('AWS_REGION', 'us-east-1')\n\
                 events = boto3.client('events', endpoint_url=ep, region_name=region)\n\
                 sqs = boto3.client('sqs', endpoint_url=ep, region_name=region)\n";
    let out = std::process::Command::new(venv_python())
        .args(["-c", &format!("{setup}{script}")])
        .args(args)
        .env("VERICODE_TEST_AWS", endpoint)
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON from the script")
}

/// The codes a stock TOTP implementation (Python's `pyotp`) computes for
/// `secret` (base32) at each of `times`.
pub fn pyotp(secret: &str, times: &[i64]) -> Vec<String> {
    const AT: &str = "import pyotp, sys\nt = pyotp.TOTP(sys.argv[1])\n\
                      print(' '.join(t.at(int(x)) for x in sys.argv[2:]))";
    let mut args = vec!["-c".to_string(), AT.to_string(), secret.to_string()];
    args.extend(times.iter().map(i64::to_string));
    let out = std::process::Command::new(venv_python()).args(&args).output().expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("text");
    text.split_whitespace().map(str::to_string).collect()
}
