//! Handlers driven by the sample API Gateway events in events/, on both stores.

use aws_sdk_dynamodb::types::Select;
use lambda_http::Body;
use lambda_http::http::StatusCode;
use serde_json::Value;
use vericode_tests::{Backend, TestApp, app, both_stores};

fn event(name: &str) -> lambda_http::Request {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn body_json(resp: &lambda_http::Response<Body>) -> Value {
    serde_json::from_slice(resp.body().as_ref()).unwrap()
}

async fn item_count(t: &TestApp) -> Option<i32> {
    let (client, table) = t.dynamo.as_ref()?;
    let out = client.scan().table_name(table).select(Select::Count).send().await.unwrap();
    Some(out.count())
}

async fn create_captcha_default(b: Backend) {
    let t = app(b).await;
    let resp = create_captcha::handle(&t.app, event("create-captcha.default")).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body = body_json(&resp);
    assert_eq!(body["expires_in"], 180);
    assert!(body["image"].as_str().unwrap().starts_with("data:image/png;base64,"));
    let id = body["captcha_id"].as_str().unwrap();
    assert!(t.answers.answer(id).is_some());
    assert_eq!(body.as_object().unwrap().len(), 3, "no answer in the response: {body}");
    if let Some(n) = item_count(&t).await {
        assert_eq!(n, 1);
    }
}

async fn create_captcha_unknown_field(b: Backend) {
    let t = app(b).await;
    let resp = create_captcha::handle(&t.app, event("create-captcha.unknown-field")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = body_json(&resp);
    assert_eq!(body["error"]["code"], "invalid_request");
    assert_eq!(body["error"]["field"], "colour");
    assert_eq!(body["error"]["message"], "The field `colour` is not accepted here.");
    assert_eq!(item_count(&t).await.unwrap_or(0), 0, "nothing stored");
}

async fn create_captcha_bad_bodies(b: Backend) {
    let t = app(b).await;
    for (body, status, code) in [
        ("not json", 400, "invalid_request"),
        ("[]", 400, "invalid_request"),
        (r#"{"locale": 5}"#, 400, "invalid_request"),
        (&format!(r#"{{"locale": "{}"}}"#, "x".repeat(17 * 1024)), 413, "payload_too_large"),
    ] {
        let mut req = event("create-captcha.default");
        *req.body_mut() = Body::Text(body.to_string());
        let resp = create_captcha::handle(&t.app, req).await;
        assert_eq!(resp.status().as_u16(), status, "{body:.40}");
        let json = body_json(&resp);
        assert_eq!(json["error"]["code"], code);
        // The sample event asks for Chinese.
        assert!(
            json["error"]["message"].as_str().unwrap().chars().any(|c| c > '\u{2e80}'),
            "{json}"
        );
    }
    assert_eq!(item_count(&t).await.unwrap_or(0), 0, "nothing stored");

    // A `locale` field overrides Accept-Language, and an empty body is fine.
    let mut req = event("create-captcha.default");
    *req.body_mut() = Body::Text(r#"{"locale": "en", "x": 1}"#.into());
    let resp = create_captcha::handle(&t.app, req).await;
    assert!(body_json(&resp)["error"]["message"].as_str().unwrap().starts_with("The field"));
    let mut req = event("create-captcha.default");
    *req.body_mut() = Body::Empty;
    assert_eq!(create_captcha::handle(&t.app, req).await.status(), StatusCode::CREATED);
}

both_stores!(create_captcha_default, create_captcha_unknown_field, create_captcha_bad_bodies);
