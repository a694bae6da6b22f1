//! The outbox end to end on the real adapters: sends commit to DynamoDB
//! Local (stream enabled), the test reads the table's stream with the SDK,
//! filters it as template.yaml's event source does, and feeds the `deliver`
//! function's handler, which sends through SES/SNS on the local stand-in
//! (moto); every message is read back from the stand-in.

use aws::delivery::AwsDelivery;
use aws::dynamodb::DynamoStore;
use aws_lambda_events::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use base64::Engine;
use domain::Services;
use domain::outbox::{Contents, Deliverer};
use domain::ports::{AccountRecord, AccountWrite, OutgoingMessage, SystemClock};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use vericode_tests::{
    config, dynamodb_client, dynamodb_endpoint, fresh_table_with, parts, request,
};

fn stand_in() -> String {
    std::env::var("VERICODE_TEST_AWS").unwrap_or_else(|_| {
        panic!("VERICODE_TEST_AWS is not set: the SES/SNS stand-in is not running. Run scripts/test.sh.")
    })
}

/// The configuration a deployed function builds (`aws::lambda_sdk_config`:
/// credentials and region from the environment, the ring TLS client), here
/// pointed at the stand-in: the deliver function's real clients.
async fn sdk_at(endpoint: &str) -> aws_config::SdkConfig {
    let endpoint = endpoint.to_string();
    aws::lambda_sdk_config(move |name| match name {
        "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
        _ => std::env::var(name).ok(),
    })
}

/// A sender identity the stand-in has verified.
async fn verified_sender(sdk: &aws_config::SdkConfig) -> String {
    let from = format!("no-reply-{}@example.com", uuid::Uuid::new_v4().simple());
    aws_sdk_ses::Client::new(sdk)
        .verify_email_identity()
        .email_address(&from)
        .send()
        .await
        .unwrap();
    from
}

async fn stand_in_data() -> Value {
    reqwest::get(format!("{}/moto-api/data.json", stand_in())).await.unwrap().json().await.unwrap()
}

async fn emails_to(to: &str) -> Vec<Value> {
    let data = stand_in_data().await;
    let all = data["ses"]["Message"].as_array().cloned().unwrap_or_default();
    all.into_iter()
        .filter(|m| {
            m["destinations"]["ToAddresses"].as_array().is_some_and(|a| a.contains(&json!(to)))
        })
        .collect()
}

async fn sms_to(to: &str) -> Vec<Value> {
    let data = stand_in_data().await;
    let all = data["sns"]["SMS"].as_array().cloned().unwrap_or_default();
    all.into_iter().filter(|m| m["phone_number"] == to).collect()
}

fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

fn unique_phone() -> String {
    // +1 201 555 01xx: numbers reserved for fiction, valid for the parser.
    format!("+1201555{:04}", uuid::Uuid::new_v4().as_u128() as u32 % 10_000)
}

/// A stream attribute value in the JSON a Lambda event carries.
fn attribute(v: &AttributeValue) -> Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b.as_ref()) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(n) => json!({ "NULL": n }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => {
            json!({ "BS": v.iter().map(|b| b64(b.as_ref())).collect::<Vec<_>>() })
        }
        AttributeValue::L(v) => json!({ "L": v.iter().map(attribute).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": image(m) }),
        _ => json!({}),
    }
}

fn image(m: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect())
}

/// The table's stream, read from its start with the SDK.
struct Stream {
    client: aws_sdk_dynamodbstreams::Client,
    arn: String,
    /// Taken at the first read (DynamoDB Local refuses an iterator taken
    /// while the shard was still empty).
    iterator: Option<String>,
}

impl Stream {
    async fn open(table: &str) -> Self {
        let ddb = dynamodb_client().await;
        let described = ddb.describe_table().table_name(table).send().await.unwrap();
        let arn = described.table().unwrap().latest_stream_arn().unwrap().to_string();
        let conf = aws_sdk_dynamodbstreams::config::Builder::from(&aws::sdk_config().await)
            .endpoint_url(dynamodb_endpoint())
            .build();
        let client = aws_sdk_dynamodbstreams::Client::from_conf(conf);
        Stream { client, arn, iterator: None }
    }

    async fn first_iterator(&self) -> String {
        let stream = self.client.describe_stream().stream_arn(&self.arn).send().await.unwrap();
        let shard =
            stream.stream_description().unwrap().shards()[0].shard_id().unwrap().to_string();
        let out = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.arn)
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap();
        out.shard_iterator().unwrap().to_string()
    }

    /// The records written since the last call, as the Lambda event the
    /// event source mapping would send: filtered to new `MSG#` items, as
    /// template.yaml's `FilterCriteria` says.
    async fn next_event(&mut self) -> Value {
        let iterator = match self.iterator.clone() {
            Some(i) => i,
            None => self.first_iterator().await,
        };
        let out = self.client.get_records().shard_iterator(iterator).send().await.unwrap();
        self.iterator = out.next_shard_iterator().map(str::to_string);
        let records: Vec<Value> = out
            .records()
            .iter()
            .filter_map(|r| {
                let change = r.dynamodb()?;
                let keys = image(change.keys()?);
                let insert = r.event_name().map(|n| n.as_str()) == Some("INSERT");
                let message = keys["pk"]["S"].as_str().is_some_and(|pk| pk.starts_with("MSG#"));
                (insert && message).then(|| {
                    json!({
                        "eventID": r.event_id(),
                        "eventName": "INSERT",
                        "eventVersion": "1.1",
                        "eventSource": "aws:dynamodb",
                        "awsRegion": "us-east-1",
                        "eventSourceARN": self.arn,
                        "dynamodb": {
                            "Keys": keys,
                            "NewImage": change.new_image().map(image),
                            "SequenceNumber": change.sequence_number(),
                            "SizeBytes": change.size_bytes(),
                            "StreamViewType": "NEW_IMAGE",
                        },
                    })
                })
            })
            .collect();
        json!({ "Records": records })
    }
}

/// Services over a fresh DynamoDB Local table, delivering through the
/// stream only (as deployed), and the stream.
struct Rig {
    app: Services,
    answers: Arc<memory::AnswerLog>,
    table: String,
    stream: Stream,
}

impl Rig {
    async fn new() -> Self {
        let client = dynamodb_client().await;
        let table = fresh_table_with(&client, aws::dynamodb::Stream::Enabled).await;
        let store = DynamoStore::new(client, table.clone());
        let answers = Arc::new(memory::AnswerLog::default());
        let mut cfg = config();
        cfg.delivery_max_attempts = 3;
        let app = Services::new(cfg, Arc::new(store))
            .unwrap()
            .with_image_renderer()
            .with_captcha_log(answers.clone());
        let stream = Stream::open(&table).await;
        Rig { app, answers, table, stream }
    }

    /// A deliverer whose SES/SNS clients reach `endpoint`, sending as `from`.
    fn deliverer(&self, sdk: &aws_config::SdkConfig, from: &str) -> Deliverer {
        Deliverer::new(
            &self.app,
            Arc::new(AwsDelivery::new(sdk, from.to_string(), None, Default::default())),
        )
    }

    async fn send(&self, body: Value) -> (u16, Value) {
        let c = domain::captcha::create(&self.app).await.unwrap();
        let mut body = body;
        body["captcha"] =
            json!({"id": c.captcha_id, "answer": self.answers.answer(&c.captcha_id).unwrap()});
        parts(&send_code::handle(&self.app, request(&body, "192.0.2.1", None)).await)
    }

    async fn account(&self, email: &str) {
        let account = AccountRecord {
            id: uuid::Uuid::new_v4().to_string(),
            email: Some(email.to_string()),
            ..Default::default()
        };
        let writes = [
            AccountWrite::PutAccount(account.clone()),
            AccountWrite::ClaimAddress { key: format!("email:{email}"), account_id: account.id },
        ];
        self.app.store.apply(&writes, domain::ports::Clock::now(&SystemClock)).await.unwrap();
    }

    /// Every outgoing message item in the table, raw.
    async fn message_items(&self) -> Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let out = dynamodb_client().await.scan().table_name(&self.table).send().await.unwrap();
        let is_message = |i: &HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
            i["pk"].as_s().is_ok_and(|pk| pk.starts_with("MSG#"))
        };
        out.items().iter().filter(|i| is_message(i)).cloned().collect()
    }

    /// The contents of every stored message (opened with the service key,
    /// as only the delivery function can).
    async fn contents(&self) -> Vec<Contents> {
        let items = self.message_items().await;
        let open = |item: &HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
            let m = OutgoingMessage {
                id: item["pk"].as_s().unwrap().trim_start_matches("MSG#").to_string(),
                sealed: item["sealed"].as_b().unwrap().as_ref().to_vec(),
                created_at: 0,
                expires_at: 0,
                attempts: 0,
            };
            Contents::open(&self.app.keys, &m).unwrap()
        };
        items.iter().map(open).collect()
    }

    /// The code of the message stored for `to`.
    async fn sealed_code(&self, to: &str) -> String {
        self.contents().await.into_iter().find(|c| c.to == to).unwrap().code
    }
}

fn failures(r: &DynamoDbEventResponse) -> Vec<Option<String>> {
    r.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect()
}

fn sequences(event: &Value) -> Vec<Option<String>> {
    let records = event["Records"].as_array().unwrap();
    records.iter().map(|r| r["dynamodb"]["SequenceNumber"].as_str().map(str::to_string)).collect()
}

#[tokio::test]
async fn a_send_is_delivered_once_from_the_stream() {
    let mut rig = Rig::new().await;
    let sdk = sdk_at(&stand_in()).await;
    let d = rig.deliverer(&sdk, &verified_sender(&sdk).await);
    let to = unique_email();
    rig.account(&to).await;
    let login = json!({"channel": "email", "to": to, "purpose": "login", "locale": "zh-Hans"});
    assert_eq!(rig.send(login).await.0, 202);
    assert!(emails_to(&to).await.is_empty(), "the request itself sends nothing");
    let phone = unique_phone();
    assert_eq!(
        rig.send(json!({"channel": "sms", "to": phone, "purpose": "register"})).await.0,
        202
    );
    // No account: a silent message, which only asks SES whether it is up.
    let stranger = unique_email();
    let decoy = json!({"channel": "email", "to": stranger, "purpose": "login"});
    assert_eq!(rig.send(decoy).await.0, 202);

    let event = rig.stream.next_event().await;
    assert_eq!(sequences(&event).len(), 3, "{event}");
    assert!(failures(&deliver::handle(&d, event.clone()).await).is_empty());
    let mails = emails_to(&to).await;
    assert_eq!(mails.len(), 1);
    assert!(emails_to(&stranger).await.is_empty());
    let code = rig.sealed_code(&to).await;
    assert!(mails[0]["subject"].as_str().unwrap().contains(&code));
    assert_eq!(sms_to(&phone).await.len(), 1);

    // The stream's promise is at least once: the same records again send nothing.
    assert!(failures(&deliver::handle(&d, event).await).is_empty());
    assert_eq!(emails_to(&to).await.len(), 1);
    assert_eq!(sms_to(&phone).await.len(), 1);
    let check = json!({"channel": "email", "to": to, "purpose": "login", "code": code});
    let verified = parts(&verify_code::handle(&rig.app, request(&check, "192.0.2.1", None)).await);
    assert_eq!(verified.0, 200, "{}", verified.1);
}

#[tokio::test]
async fn a_provider_outage_is_retried_until_delivered() {
    let mut rig = Rig::new().await;
    let sdk = sdk_at(&stand_in()).await;
    let from = verified_sender(&sdk).await;
    // Nothing listens there: the provider is unreachable.
    let down = rig.deliverer(&sdk_at("http://127.0.0.1:9").await, &from);
    let to = unique_email();
    assert_eq!(rig.send(json!({"channel": "email", "to": to, "purpose": "register"})).await.0, 202);
    let event = rig.stream.next_event().await;
    let response = deliver::handle(&down, event.clone()).await;
    assert_eq!(failures(&response), sequences(&event), "the record is to be tried again");
    assert!(emails_to(&to).await.is_empty());

    let up = rig.deliverer(&sdk, &from);
    assert!(failures(&deliver::handle(&up, event).await).is_empty());
    assert_eq!(emails_to(&to).await.len(), 1);
}

/// `AWS_ENDPOINT_URL_SES` and `_SNS`, read with the deployment, win over
/// the general endpoint, which here leads nowhere.
#[tokio::test]
async fn the_deployments_provider_endpoints_are_the_ones_used() {
    let mut rig = Rig::new().await;
    let from = verified_sender(&sdk_at(&stand_in()).await).await;
    let env = |name: &str| match name {
        "AWS_ENDPOINT_URL_SES" | "AWS_ENDPOINT_URL_SNS" => Some(stand_in()),
        "EMAIL_FROM" => Some(from.clone()),
        _ => None,
    };
    let deployment = edge::compose::Deployment::from_lookup(env);
    assert_eq!(deployment.ses_endpoint, Some(stand_in()));
    let delivery = deployment.delivery(&sdk_at("http://127.0.0.1:9").await).expect("delivery");
    let d = Deliverer::new(&rig.app, Arc::new(delivery));
    let (to, phone) = (unique_email(), unique_phone());
    assert_eq!(rig.send(json!({"channel": "email", "to": to, "purpose": "register"})).await.0, 202);
    let sms = json!({"channel": "sms", "to": phone, "purpose": "register"});
    assert_eq!(rig.send(sms).await.0, 202);
    let event = rig.stream.next_event().await;
    assert!(failures(&deliver::handle(&d, event).await).is_empty());
    assert_eq!(emails_to(&to).await.len(), 1);
    assert_eq!(sms_to(&phone).await.len(), 1);
    let missing = edge::compose::Deployment::from_lookup(|_| None);
    assert!(missing.delivery(&sdk_at(&stand_in()).await).is_err(), "EMAIL_FROM is required");
}

#[tokio::test]
async fn a_permanent_refusal_disables_the_code_and_refunds_the_send() {
    let mut rig = Rig::new().await;
    let sdk = sdk_at(&stand_in()).await;
    // SES refuses a sender it has not verified, for good. A `confirm` code
    // (no decoys) is disabled and refunded; one with decoys would stay.
    let refused = rig.deliverer(&sdk, "unverified@example.net");
    let to = unique_email();
    let send = json!({"channel": "email", "to": to, "purpose": "confirm"});
    assert_eq!(rig.send(send.clone()).await.0, 202);
    let code = rig.sealed_code(&to).await;
    let event = rig.stream.next_event().await;
    assert!(failures(&deliver::handle(&refused, event).await).is_empty(), "settled: failed");
    assert!(emails_to(&to).await.is_empty());

    let check = json!({"channel": "email", "to": to, "purpose": "confirm", "code": code});
    let (status, body) =
        parts(&verify_code::handle(&rig.app, request(&check, "192.0.2.1", None)).await);
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("code_invalid")));
    assert!(body["error"].get("attempts_left").is_none(), "no live code: {body}");
    // The send was refunded: no resend interval to wait out.
    assert_eq!(rig.send(send).await.0, 202);
}

#[tokio::test]
async fn a_suppressed_address_is_accepted_and_not_sent_to() {
    let mut rig = Rig::new().await;
    let sdk = sdk_at(&stand_in()).await;
    let d = rig.deliverer(&sdk, &verified_sender(&sdk).await);
    let to = unique_email();
    let bounce = vericode_tests::ses_bounce_event(&to.to_uppercase());
    assert_eq!(record_bounces::handle(&rig.app, &bounce).await.unwrap(), 1);
    assert_eq!(rig.send(json!({"channel": "email", "to": to, "purpose": "register"})).await.0, 202);
    let event = rig.stream.next_event().await;
    assert!(failures(&deliver::handle(&d, event).await).is_empty());
    assert!(emails_to(&to).await.is_empty());
}

#[tokio::test]
async fn messages_look_alike_and_hold_no_plain_code() {
    let rig = Rig::new().await;
    let (owner, stranger) = (unique_email(), unique_email());
    rig.account(&owner).await;
    for to in [&owner, &stranger] {
        assert_eq!(
            rig.send(json!({"channel": "email", "to": to, "purpose": "login"})).await.0,
            202
        );
    }
    let items = rig.message_items().await;
    assert_eq!(items.len(), 2);
    let shape = |i: &HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
        let mut names: Vec<_> = i.keys().cloned().collect();
        names.sort();
        (names, i["sealed"].as_b().unwrap().as_ref().len(), i["state"].as_s().unwrap().clone())
    };
    assert_eq!(shape(&items[0]), shape(&items[1]), "a code and a silent decoy look alike");
    let codes: Vec<String> = rig.contents().await.into_iter().map(|c| c.code).collect();
    // No string or bytes anywhere in the table hold a code in plain text.
    let scan = dynamodb_client().await.scan().table_name(&rig.table).send().await.unwrap();
    for item in scan.items() {
        for value in item.values() {
            let bytes: &[u8] = match value {
                aws_sdk_dynamodb::types::AttributeValue::S(s) => s.as_bytes(),
                aws_sdk_dynamodb::types::AttributeValue::B(b) => b.as_ref(),
                _ => continue,
            };
            for code in &codes {
                assert!(!bytes.windows(code.len()).any(|w| w == code.as_bytes()), "{item:?}");
            }
        }
    }
}

#[tokio::test]
async fn a_malformed_record_is_a_batch_item_failure() {
    let rig = Rig::new().await;
    let sdk = sdk_at(&stand_in()).await;
    let d = rig.deliverer(&sdk, "no-reply@example.com");
    let event: Value =
        serde_json::from_str(include_str!("../../events/deliver.malformed.json")).unwrap();
    let response = deliver::handle(&d, event).await;
    assert_eq!(failures(&response), vec![Some("4421584500000000017450439091".to_string())]);
    // A message that no longer exists (expired, or from another table) is settled.
    let gone: Value = serde_json::from_str(include_str!("../../events/deliver.code.json")).unwrap();
    assert!(failures(&deliver::handle(&d, gone).await).is_empty());
}

/// An app's subscription on the stand-in: an event bus, an SQS queue, and a
/// rule (`source: vericode`) from one to the other. The bus's name and the
/// queue's URL.
fn subscribed_queue() -> (String, String) {
    let bus = format!("vericode-{}", uuid::Uuid::new_v4().simple());
    let made = vericode_tests::boto3(
        "bus = sys.argv[1]\n\
         events.create_event_bus(Name=bus)\n\
         q = sqs.create_queue(QueueName=bus)['QueueUrl']\n\
         arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n\
         events.put_rule(Name='my-app', EventBusName=bus, EventPattern=json.dumps({'source': ['vericode']}))\n\
         events.put_targets(Rule='my-app', EventBusName=bus, Targets=[{'Id': 'q', 'Arn': arn}])\n\
         print(json.dumps(q))",
        &[&bus],
    );
    (bus, made.as_str().unwrap().to_string())
}

/// The events in the queue, as EventBridge put them there.
fn queued_events(queue: &str) -> Vec<Value> {
    let got = vericode_tests::boto3(
        "r = sqs.receive_message(QueueUrl=sys.argv[1], MaxNumberOfMessages=10, WaitTimeSeconds=1)\n\
         print(json.dumps([json.loads(x['Body']) for x in r.get('Messages', [])]))",
        &[queue],
    );
    got.as_array().unwrap().clone()
}

/// Account events end to end: a registration and a wrong password commit
/// their events to the table; the stream feeds the delivery function, whose
/// EventBridge adapter publishes them once each; a rule on the bus brings
/// them to an app's queue, whole (stream retries publish nothing again).
#[tokio::test]
async fn account_events_reach_a_queue_from_the_stream() {
    let mut rig = Rig::new().await;
    let sdk = sdk_at(&stand_in()).await;
    let (bus, queue) = subscribed_queue();
    let events = aws::events::EventBridgeBus::new(&sdk, bus, None);
    let d = rig.deliverer(&sdk, &verified_sender(&sdk).await).with_events(Arc::new(events));
    let to = unique_email();
    assert_eq!(rig.send(json!({"channel": "email", "to": to, "purpose": "register"})).await.0, 202);
    let code = rig.sealed_code(&to).await;
    assert!(failures(&deliver::handle(&d, rig.stream.next_event().await).await).is_empty());

    let register = json!({"email": to, "code": code, "password": "correct horse battery"});
    let (status, body) =
        parts(&create_account::handle(&rig.app, request(&register, "192.0.2.1", None)).await);
    assert_eq!(status, 201, "{body}");
    let account = body["account"]["id"].as_str().unwrap().to_string();
    let (id, answer) = {
        let c = domain::captcha::create(&rig.app).await.unwrap();
        let answer = rig.answers.answer(&c.captcha_id).unwrap();
        (c.captcha_id, answer)
    };
    let wrong = json!({"email": to, "password": "a wrong password", "captcha": {"id": id, "answer": answer}});
    let (status, _) =
        parts(&create_session::handle(&rig.app, request(&wrong, "192.0.2.1", None)).await);
    assert_eq!(status, 401);

    let event = rig.stream.next_event().await;
    assert_eq!(sequences(&event).len(), 2, "{event}");
    assert!(failures(&deliver::handle(&d, event.clone()).await).is_empty());
    assert!(failures(&deliver::handle(&d, event).await).is_empty(), "a stream retry");
    let mut got = queued_events(&queue);
    got.sort_by_key(|e| e["detail"]["time"].as_str().map(str::to_string));
    let types: Vec<_> = got.iter().map(|e| e["detail-type"].as_str().unwrap()).collect();
    let mut sorted = types.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["account.login_failed", "account.registered"], "once each: {got:?}");
    for e in &got {
        assert_eq!(e["source"], "vericode");
        let detail = &e["detail"];
        assert_eq!(detail["account_id"], json!(account));
        assert_eq!(detail["network"], "192.0.2.0/24");
        assert!(detail["event_id"].as_str().is_some_and(|id| !id.is_empty()));
        assert!(!detail.to_string().contains(&to), "no address: {detail}");
    }
}
