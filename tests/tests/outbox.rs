//! The outbox in process, on both stores: what delivery does with each kind
//! of message, how it retries and gives up, and the metrics it leaves. (The
//! stream-fed function on DynamoDB Local and SES/SNS: `aws_delivery.rs`.)

use domain::address::{Channel, Destination};
use domain::ports::{DeliveryResult, Metric, SendResult};
use domain::purpose::Purpose;
use serde_json::{Value, json};
use vericode_tests::{Backend, T0, TestApp, app, app_with, both_stores, config, parts, request};

async fn send(t: &TestApp, body: Value) -> (u16, Value) {
    let (id, answer) = t.captcha().await;
    let mut body = body;
    body["captcha"] = json!({ "id": id, "answer": answer });
    parts(&send_code::handle(&t.app, request(&body, "198.51.100.7", None)).await)
}

fn email(to: &str, purpose: &str) -> Value {
    json!({ "channel": "email", "to": to, "purpose": purpose })
}

/// The delivery outcomes recorded, in order.
fn deliveries(t: &TestApp) -> Vec<DeliveryResult> {
    let all = t.metrics.all();
    all.iter()
        .filter_map(|m| match m {
            Metric::Delivery { outcome, .. } => Some(*outcome),
            _ => None,
        })
        .collect()
}

async fn an_outage_is_retried_until_delivered(b: Backend) {
    let t = app(b).await;
    t.mailbox.fail_next("ana@example.com", 2);
    assert_eq!(send(&t, email("ana@example.com", "register")).await.0, 202);
    let sent = t.mailbox.to("ana@example.com");
    assert_eq!(sent.len(), 1, "delivered once, after two failures");
    assert_eq!(sent[0].code.as_deref().map(str::len), Some(6));
    use DeliveryResult::*;
    assert_eq!(deliveries(&t), [Retried, Retried, Delivered]);
    let accepted = Metric::Send {
        channel: Channel::Email,
        purpose: Purpose::Register,
        outcome: SendResult::Accepted,
    };
    assert_eq!(t.metrics.all().first(), Some(&accepted));
}

/// Retries spent on a `confirm` code (a purpose without decoys): the code
/// is disabled and the send refunded. A `register` code (a purpose with
/// decoys) is only marked failed: its record stays as a decoy's would.
async fn spent_retries_disable_the_code_and_refund_the_send(b: Backend) {
    let mut cfg = config();
    cfg.delivery_max_attempts = 3;
    let t = app_with(b, cfg).await;
    t.mailbox.fail_next("bo@example.com", 100);
    assert_eq!(send(&t, email("bo@example.com", "confirm")).await.0, 202);
    assert!(t.mailbox.to("bo@example.com").is_empty());
    use DeliveryResult::*;
    assert_eq!(deliveries(&t), [Retried, Retried, Failed, Refunded]);
    let dest = Destination::parse(Channel::Email, "bo@example.com", None, "to").unwrap();
    let key = domain::codes::record_key(Purpose::Confirm, &dest, None);
    let record = t.app.store.load_destination(&key, T0).await.unwrap();
    assert!(record.code.is_none() && record.sends.is_empty(), "{record:?}");
    // The send was refunded: asking again at once is accepted, and this
    // time the provider is back.
    t.mailbox.fail_next("bo@example.com", 0);
    assert_eq!(send(&t, email("bo@example.com", "confirm")).await.0, 202);
    assert_eq!(t.mailbox.to("bo@example.com").len(), 1);

    t.mailbox.fail_next("reg@example.com", 100);
    assert_eq!(send(&t, email("reg@example.com", "register")).await.0, 202);
    let key = domain::codes::record_key(
        Purpose::Register,
        &Destination::parse(Channel::Email, "reg@example.com", None, "to").unwrap(),
        None,
    );
    let record = t.app.store.load_destination(&key, T0).await.unwrap();
    assert!(record.code.is_some() && record.sends.len() == 1, "{record:?}");
}

async fn a_notice_goes_out_and_a_decoy_stays_silent(b: Backend) {
    let t = app(b).await;
    t.account(Some("owner@example.com"), None).await;
    assert_eq!(send(&t, email("owner@example.com", "register")).await.0, 202);
    let notice = t.mailbox.to("owner@example.com");
    assert_eq!(notice.len(), 1);
    assert!(notice[0].code.is_none(), "a notice, never a code");
    assert_eq!(send(&t, email("nobody@example.com", "login")).await.0, 202);
    assert!(t.mailbox.to("nobody@example.com").is_empty());
    use DeliveryResult::*;
    assert_eq!(deliveries(&t), [Delivered, Silent]);
    // The request path counts both as accepted: it cannot tell them apart.
    let accepted = t
        .metrics
        .all()
        .iter()
        .filter(|m| matches!(m, Metric::Send { outcome: SendResult::Accepted, .. }))
        .count();
    assert_eq!(accepted, 2);
}

async fn a_bounced_address_is_accepted_and_not_sent_to(b: Backend) {
    let t = app(b).await;
    let bounce = vericode_tests::ses_bounce_event("Gone@Example.com");
    assert_eq!(record_bounces::handle(&t.app, &bounce).await.unwrap(), 1);
    let (status, body) = send(&t, email("gone@example.com", "register")).await;
    assert_eq!(
        (status, body),
        (202, json!({"expires_in": 600, "resend_in": 60, "code_length": 6}))
    );
    assert!(t.mailbox.to("gone@example.com").is_empty());
    assert_eq!(deliveries(&t), [DeliveryResult::Suppressed]);
    // Other addresses are not affected.
    assert_eq!(send(&t, email("here@example.com", "register")).await.0, 202);
    assert_eq!(t.mailbox.to("here@example.com").len(), 1);
}

async fn sms_are_counted_by_country(b: Backend) {
    let t = app(b).await;
    let sms = json!({"channel": "sms", "to": "+8613800138000", "purpose": "register"});
    assert_eq!(send(&t, sms).await.0, 202);
    assert!(t.metrics.all().contains(&Metric::SmsSent { country: 86 }));
}

/// A message for an account speaks the account's language unless the
/// request names one (in its body or `Accept-Language`).
async fn messages_speak_the_accounts_language(b: Backend) {
    let t = app(b).await;
    let account = domain::ports::AccountRecord {
        id: uuid::Uuid::new_v4().to_string(),
        email: Some("li@example.com".into()),
        locale: Some("zh-Hans".into()),
        created_at: T0,
        ..Default::default()
    };
    let writes = [
        domain::ports::AccountWrite::PutAccount(account.clone()),
        domain::ports::AccountWrite::ClaimAddress {
            key: "email:li@example.com".into(),
            account_id: account.id.clone(),
        },
    ];
    t.app.store.apply(&writes, T0).await.unwrap();
    assert_eq!(send(&t, email("li@example.com", "login")).await.0, 202);
    let zh = &t.mailbox.to("li@example.com")[0];
    assert!(zh.text.contains("登录"), "{}", zh.text);
    let mut named = email("li@example.com", "reset_password");
    named["locale"] = json!("en");
    assert_eq!(send(&t, named).await.0, 202);
    let en = &t.mailbox.to("li@example.com")[0];
    assert!(!en.text.contains("登录") && en.text.is_ascii(), "{}", en.text);
    // A sign-up notice to the owner speaks its language too.
    assert_eq!(send(&t, email("li@example.com", "register")).await.0, 202);
    let notice = &t.mailbox.to("li@example.com")[0];
    assert!(notice.code.is_none() && !notice.text.is_ascii(), "{}", notice.text);
}

/// With `WEBOTP_DOMAIN`, a code's SMS ends with the line browsers and
/// phones read the code from; emails and notices do not change.
async fn sms_codes_carry_the_webotp_line(b: Backend) {
    let mut cfg = config();
    cfg.webotp_domain = Some("app.example.com".into());
    let t = app_with(b, cfg).await;
    let sms = json!({"channel": "sms", "to": "+8613800138000", "purpose": "register"});
    assert_eq!(send(&t, sms).await.0, 202);
    let m = &t.mailbox.to("+8613800138000")[0];
    let code = m.code.clone().unwrap();
    assert!(m.text.ends_with(&format!("\n\n@app.example.com #{code}")), "{}", m.text);
    assert_eq!(send(&t, email("w@example.com", "register")).await.0, 202);
    assert!(!t.mailbox.to("w@example.com")[0].text.contains("@app.example.com"));
}

both_stores!(
    sms_codes_carry_the_webotp_line,
    messages_speak_the_accounts_language,
    an_outage_is_retried_until_delivered,
    spent_retries_disable_the_code_and_refund_the_send,
    a_notice_goes_out_and_a_decoy_stays_silent,
    a_bounced_address_is_accepted_and_not_sent_to,
    sms_are_counted_by_country,
);
