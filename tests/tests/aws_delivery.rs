//! SES and SNS through the real adapters, against the local stand-in
//! (moto): every message is read back from the stand-in.

use aws::delivery::AwsDelivery;
use domain::address::{Channel, Destination};
use domain::catalog::Locale;
use domain::messages;
use domain::ports::Delivery;
use domain::purpose::Purpose;
use serde_json::{Value, json};
use std::sync::Arc;
use vericode_tests::{Backend, config, parts, request, store};

fn stand_in() -> String {
    std::env::var("VERICODE_TEST_AWS").unwrap_or_else(|_| {
        panic!("VERICODE_TEST_AWS is not set: the SES/SNS stand-in is not running. Run scripts/test.sh.")
    })
}

async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(stand_in())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await
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
    data["ses"]["Message"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["destinations"]["ToAddresses"].as_array().is_some_and(|a| a.contains(&json!(to)))
        })
        .cloned()
        .collect()
}

async fn sms_to(to: &str) -> Vec<Value> {
    let data = stand_in_data().await;
    data["sns"]["SMS"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["phone_number"] == to)
        .cloned()
        .collect()
}

fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

fn unique_phone() -> String {
    // +1 201 555 01xx: numbers reserved for fiction, valid for the parser.
    format!("+1201555{:04}", rand_digits() % 10_000)
}

fn rand_digits() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32
}

#[tokio::test]
async fn ses_and_sns_adapters_deliver() {
    let sdk = sdk().await;
    let delivery = AwsDelivery::new(&sdk, verified_sender(&sdk).await);

    let to = unique_email();
    let dest = Destination::parse(Channel::Email, &to, None, "to").unwrap();
    let m =
        messages::code(&dest, Purpose::Login, Locale::from_field("zh-Hans"), "Acme", "482913", 600)
            .unwrap();
    delivery.send(&m).await.unwrap();
    let mails = emails_to(&to).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0]["subject"].as_str().unwrap().contains("482913"));
    assert!(mails[0]["subject"].as_str().unwrap().contains("登录"));
    assert!(mails[0]["body"].as_str().unwrap().contains("482913"));

    let phone = unique_phone();
    let dest = Destination::parse(Channel::Sms, &phone, None, "to").unwrap();
    let m =
        messages::code(&dest, Purpose::Register, Locale::default(), "Acme", "551234", 600).unwrap();
    delivery.send(&m).await.unwrap();
    let texts = sms_to(&phone).await;
    assert_eq!(texts.len(), 1);
    assert!(texts[0]["message"].as_str().unwrap().contains("551234"));
}

/// A sender SES has not verified is refused: `502 delivery_failed`, and the
/// send is taken back.
#[tokio::test]
async fn a_refused_email_is_a_502() {
    let sdk = sdk().await;
    let (store, _) = store(Backend::Dynamo).await;
    let answers = Arc::new(memory::AnswerLog::default());
    let delivery = Arc::new(AwsDelivery::new(&sdk, "unverified@example.net".into()));
    let app =
        domain::Services::new(config(), store, delivery).unwrap().with_captcha_log(answers.clone());
    let c = domain::captcha::create(&app).await.unwrap();
    let captcha = json!({"id": c.captcha_id, "answer": answers.answer(&c.captcha_id).unwrap()});
    let to = unique_email();
    let body = json!({"channel": "email", "to": to, "purpose": "register", "captcha": captcha});
    let (status, err) = parts(&send_code::handle(&app, request(&body, "192.0.2.1", None)).await);
    assert_eq!((status, err["error"]["code"].as_str()), (502, Some("delivery_failed")));
    assert!(emails_to(&to).await.is_empty());
}
