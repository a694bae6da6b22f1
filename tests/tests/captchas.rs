//! Captcha use cases on both stores, and what DynamoDB holds for one.

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use domain::Invalid;
use domain::captcha::{self, CaptchaError, CaptchaInput};
use vericode_tests::{Backend, T0, TestApp, app, both_stores};

async fn new_captcha(t: &TestApp) -> (String, String) {
    let c = captcha::create(&t.app).await.unwrap();
    let answer = t.answers.answer(&c.captcha_id).unwrap();
    (c.captcha_id, answer)
}

fn input(id: &str, answer: &str) -> CaptchaInput {
    CaptchaInput::image(id, answer)
}

async fn create_returns_a_png_data_url(b: Backend) {
    let t = app(b).await;
    let c = captcha::create(&t.app).await.unwrap();
    assert_eq!(c.expires_in, 180);
    assert!(uuid::Uuid::try_parse(&c.captcha_id).is_ok());
    let b64 = c.image.strip_prefix("data:image/png;base64,").unwrap();
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

async fn the_right_answer_passes_once_in_any_case(b: Backend) {
    let t = app(b).await;
    let (id, answer) = new_captcha(&t).await;
    captcha::consume(&t.app, &input(&id, &format!(" {} ", answer.to_lowercase())), None)
        .await
        .unwrap();
    let again = captcha::consume(&t.app, &input(&id, &answer), None).await;
    assert!(matches!(again, Err(CaptchaError::Wrong)));
}

async fn a_wrong_answer_uses_the_captcha_up(b: Backend) {
    let t = app(b).await;
    let (id, answer) = new_captcha(&t).await;
    let wrong = if answer == "AAAAA" { "CCCCC" } else { "AAAAA" };
    assert!(matches!(
        captcha::consume(&t.app, &input(&id, wrong), None).await,
        Err(CaptchaError::Wrong)
    ));
    assert!(matches!(
        captcha::consume(&t.app, &input(&id, &answer), None).await,
        Err(CaptchaError::Wrong)
    ));
}

async fn an_expired_captcha_is_refused(b: Backend) {
    let t = app(b).await;
    let (id, answer) = new_captcha(&t).await;
    t.clock.advance(180);
    assert!(matches!(
        captcha::consume(&t.app, &input(&id, &answer), None).await,
        Err(CaptchaError::Wrong)
    ));
}

async fn unknown_and_malformed_ids_are_refused(b: Backend) {
    let t = app(b).await;
    for id in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_string(), String::new()] {
        assert!(matches!(
            captcha::consume(&t.app, &input(&id, "ACDEF"), None).await,
            Err(CaptchaError::Wrong)
        ));
    }
}

async fn a_malformed_answer_is_bad_input_and_consumes_nothing(b: Backend) {
    let t = app(b).await;
    let (id, answer) = new_captcha(&t).await;
    for bad in ["", "   ", &"A".repeat(33)] {
        match captcha::consume(&t.app, &input(&id, bad), None).await {
            Err(CaptchaError::Invalid(e)) => assert_eq!(e, Invalid::value("captcha.answer")),
            other => panic!("{other:?}"),
        }
    }
    captcha::consume(&t.app, &input(&id, &answer), None).await.unwrap();
}

async fn concurrent_right_answers_pass_once(b: Backend) {
    let t = app(b).await;
    let (id, answer) = new_captcha(&t).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, i) = (t.app.clone(), input(&id, &answer));
            tokio::spawn(async move { captcha::consume(&app, &i, None).await.is_ok() })
        })
        .collect();
    let mut passed = 0;
    for task in tasks {
        passed += task.await.unwrap() as usize;
    }
    assert_eq!(passed, 1);
}

/// Counts up: each fill is the next number's bytes.
struct Counting(std::sync::atomic::AtomicU8);

impl domain::ports::Random for Counting {
    fn fill(&self, buf: &mut [u8]) -> Result<(), domain::ports::RandomError> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        buf.fill(n);
        Ok(())
    }
}

/// Captcha ids are version-4 UUIDs drawn from the random source, and an
/// answer is bound to its captcha's id.
async fn ids_come_from_the_random_source_and_bind_the_answer(b: Backend) {
    let t = app(b).await;
    let (store, _) = vericode_tests::store(b).await;
    let services = domain::Services::new(vericode_tests::config(), store)
        .unwrap()
        .with_image_renderer()
        .with_random(std::sync::Arc::new(Counting(std::sync::atomic::AtomicU8::new(7))))
        .with_captcha_log(t.answers.clone());
    let first = captcha::create(&services).await.unwrap();
    let second = captcha::create(&services).await.unwrap();
    for (c, byte) in [(&first, 7u8), (&second, 8u8)] {
        let want = uuid::Builder::from_random_bytes([byte; 16]).into_uuid();
        assert_eq!(c.captcha_id, want.to_string());
        assert_eq!(want.get_version_num(), 4);
    }
    let answer = |id: &str| t.answers.answer(id).unwrap();
    let (a1, a2) = (answer(&first.captcha_id), answer(&second.captcha_id));
    if a1 != a2 {
        // The first's answer does not open the second.
        let swapped = captcha::consume(&services, &input(&second.captcha_id, &a1), None).await;
        assert!(matches!(swapped, Err(CaptchaError::Wrong)));
    } else {
        captcha::consume(&services, &input(&second.captcha_id, &a2), None).await.unwrap();
    }
    captcha::consume(&services, &input(&first.captcha_id, &a1), None).await.unwrap();
}

both_stores!(
    ids_come_from_the_random_source_and_bind_the_answer,
    create_returns_a_png_data_url,
    the_right_answer_passes_once_in_any_case,
    a_wrong_answer_uses_the_captcha_up,
    an_expired_captcha_is_refused,
    unknown_and_malformed_ids_are_refused,
    a_malformed_answer_is_bad_input_and_consumes_nothing,
    concurrent_right_answers_pass_once,
);

/// On DynamoDB Local: the item has a numeric `expires_at`, only a hash of the
/// answer, and the table has TTL on `expires_at`.
#[tokio::test]
async fn dynamodb_item_holds_a_hash_and_a_numeric_ttl() {
    let t = app(Backend::Dynamo).await;
    let (client, table) = t.dynamo.clone().unwrap();
    let (id, answer) = new_captcha(&t).await;

    let item = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("CAPTCHA#{id}")))
        .key("sk", AttributeValue::S("ITEM".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["expires_at"], AttributeValue::N((T0 + 180).to_string()));
    assert_eq!(item["answer_hash"].as_b().unwrap().as_ref().len(), 32);
    let dump = format!("{item:?}");
    assert!(!dump.contains(&answer) && !dump.contains(&answer.to_lowercase()));
    let mut names: Vec<_> = item.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["answer_hash", "expires_at", "pk", "sk"]);

    let ttl = client.describe_time_to_live().table_name(&table).send().await.unwrap();
    let desc = ttl.time_to_live_description().unwrap();
    assert_eq!(desc.attribute_name(), Some("expires_at"));
    assert_eq!(desc.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}
