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

/// An event with its body's fields replaced.
fn event_with(name: &str, patch: Value) -> lambda_http::Request {
    let mut req = event(name);
    let mut body: Value = serde_json::from_slice(req.body().as_ref()).unwrap();
    for (k, v) in patch.as_object().unwrap() {
        body[k] = v.clone();
    }
    *req.body_mut() = Body::Text(body.to_string());
    req
}

async fn solved(t: &TestApp) -> Value {
    let (id, answer) = t.captcha().await;
    serde_json::json!({"id": id, "answer": answer})
}

async fn send_code_events(b: Backend) {
    let t = app(b).await;
    let resp = send_code::handle(
        &t.app,
        event_with("send-code.email", serde_json::json!({"captcha": solved(&t).await})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(
        body_json(&resp),
        serde_json::json!({"expires_in": 600, "resend_in": 60, "code_length": 6})
    );
    assert_eq!(t.mailbox.to("alice@example.com").len(), 1);

    let resp = send_code::handle(
        &t.app,
        event_with("send-code.sms-national", serde_json::json!({"captcha": solved(&t).await})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let sms = t.mailbox.to("+8613800138000");
    assert!(sms[0].text.contains("验证码"), "the event asks for Chinese");

    // The event's captcha was never issued: refused, and nothing sent.
    let resp = send_code::handle(&t.app, event("send-code.email")).await;
    assert_eq!(body_json(&resp)["error"]["code"], "captcha_invalid");

    let resp = send_code::handle(&t.app, event("send-code.invalid-email")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(&resp)["error"]["code"], "invalid_email");
    assert_eq!(body_json(&resp)["error"]["field"], "to");

    let resp = send_code::handle(&t.app, event("send-code.bind-without-session")).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(t.mailbox.to("alice@example.com").len(), 1);
}

async fn verify_code_events(b: Backend) {
    let t = app(b).await;
    send_code::handle(
        &t.app,
        event_with("send-code.email", serde_json::json!({"captcha": solved(&t).await})),
    )
    .await;
    let code = t.last_code("alice@example.com").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let resp = verify_code::handle(
        &t.app,
        event_with("verify-code.default", serde_json::json!({"code": wrong})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(&resp)["error"]["attempts_left"], 4);

    let resp = verify_code::handle(&t.app, event("verify-code.malformed-code")).await;
    assert_eq!(body_json(&resp)["error"]["field"], "code");

    let resp = verify_code::handle(
        &t.app,
        event_with("verify-code.default", serde_json::json!({"code": code})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(body_json(&resp)["verification_token"].is_string());
}

both_stores!(
    create_captcha_default,
    create_captcha_unknown_field,
    create_captcha_bad_bodies,
    send_code_events,
    verify_code_events,
    every_event_is_answered_by_its_function,
);

/// Every sample event in events/ is a request for its function's route (the
/// file's name starts with the function's), and that function's handler
/// answers it — on a fresh app, so with nothing issued yet — with a
/// non-5xx JSON response: a result, or an error in the envelope.
async fn every_event_is_answered_by_its_function(b: Backend) {
    let t = app(b).await;
    let dir = format!("{}/../events", env!("CARGO_MANIFEST_DIR"));
    let routes = devserver::routes();
    let mut functions_with_events = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.strip_suffix(".json").unwrap();
        let function = stem.split('.').next().unwrap();
        if stream_or_topic_event(&t, function, &name).await {
            functions_with_events.insert(function.to_string());
            continue;
        }
        let route = routes
            .iter()
            .find(|r| r.function.replace('_', "-") == function)
            .unwrap_or_else(|| panic!("events/{name}: no function {function}"));
        let req = event(stem);
        assert_eq!(req.method(), route.method, "events/{name}");
        assert!(vericode_tests::route_matches(route.path, req.uri().path()), "events/{name}");
        let resp = (route.handler)(t.app.clone(), req).await;
        assert!(resp.status().as_u16() < 500, "events/{name}: {}", resp.status());
        if !resp.body().is_empty() {
            let body = body_json(&resp);
            if !resp.status().is_success() {
                assert!(body["error"]["code"].is_string(), "events/{name}: {body}");
                assert!(body["error"]["message"].is_string(), "events/{name}: {body}");
            }
        }
        functions_with_events.insert(function.to_string());
    }
    let all = routes.len() + 2;
    assert_eq!(functions_with_events.len(), all, "every function has a sample event");
}

/// The events of the functions no route reaches: `deliver` (stream
/// batches) and `record-bounces` (SNS). Answered without a panic; only the
/// malformed record is one to try again.
async fn stream_or_topic_event(t: &TestApp, function: &str, name: &str) -> bool {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    match function {
        "deliver" => {
            let d = domain::outbox::Deliverer::new(&t.app, t.mailbox.clone());
            let response = deliver::handle(&d, event).await;
            let retried = !response.batch_item_failures.is_empty();
            assert_eq!(retried, name.contains("malformed"), "events/{name}: {response:?}");
            true
        }
        "record-bounces" => {
            assert_eq!(record_bounces::handle(&t.app, &event).await.unwrap(), 1, "events/{name}");
            true
        }
        _ => false,
    }
}

mod accounts {
    use super::*;
    use serde_json::json;

    fn bearer(mut req: lambda_http::Request, token: &str) -> lambda_http::Request {
        req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        req
    }

    /// Sends a code and returns it.
    async fn code(t: &TestApp, body: Value, session: Option<&str>) -> String {
        let mut body = body;
        if session.is_none() {
            body["captcha"] = solved(t).await;
        }
        let resp =
            send_code::handle(&t.app, vericode_tests::request(&body, "192.0.2.50", session)).await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED, "{:?}", resp.body());
        let to = body["to"].as_str().unwrap();
        t.last_code(to).unwrap()
    }

    async fn account_events(b: Backend) {
        let t = app(b).await;
        let c = code(
            &t,
            json!({"channel": "email", "to": "alice@example.com", "purpose": "register"}),
            None,
        )
        .await;
        let resp = create_account::handle(
            &t.app,
            event_with("create-account.default", json!({"code": c})),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let token = body_json(&resp)["token"].as_str().unwrap().to_string();

        let resp = create_session::handle(
            &t.app,
            event_with("create-session.password", json!({"captcha": solved(&t).await})),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["cache-control"], "no-store");

        let resp = get_me::handle(&t.app, bearer(event("get-me.default"), &token)).await;
        assert_eq!(body_json(&resp)["display_name"], "Alice");
        let resp = get_me::handle(&t.app, event("get-me.default")).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "the event's placeholder token");

        let c = code(
            &t,
            json!({"channel": "sms", "to": "+8613800138000", "purpose": "bind"}),
            Some(&token),
        )
        .await;
        let resp = bind_phone::handle(
            &t.app,
            bearer(event_with("bind-phone.default", json!({"code": c})), &token),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let c = code(
            &t,
            json!({"channel": "email", "to": "alice.new@example.com", "purpose": "bind"}),
            Some(&token),
        )
        .await;
        let resp = bind_email::handle(
            &t.app,
            bearer(event_with("bind-email.default", json!({"code": c})), &token),
        )
        .await;
        assert_eq!(body_json(&resp)["email"], "alice.new@example.com");

        let c =
            code(&t, json!({"channel": "sms", "to": "+8613800138000", "purpose": "login"}), None)
                .await;
        let resp =
            create_session::handle(&t.app, event_with("create-session.code", json!({"code": c})))
                .await;
        assert_eq!(body_json(&resp)["expires_in"], 3600);

        let resp =
            change_password::handle(&t.app, bearer(event("change-password.default"), &token)).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);

        let c = code(
            &t,
            json!({"channel": "email", "to": "alice.new@example.com", "purpose": "reset_password"}),
            None,
        )
        .await;
        let patch = json!({"email": "alice.new@example.com", "code": c});
        let resp =
            reset_password::handle(&t.app, event_with("reset-password.default", patch)).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let resp = get_me::handle(&t.app, bearer(event("get-me.default"), &token)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "a reset revokes every session");

        let login = json!({"email": "alice.new@example.com", "password": "a brand new password", "captcha": solved(&t).await});
        let resp =
            create_session::handle(&t.app, event_with("create-session.password", login)).await;
        let token = body_json(&resp)["token"].as_str().unwrap().to_string();

        let resp =
            create_login_link::handle(&t.app, bearer(event("create-login-link.default"), &token))
                .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let secret = body_json(&resp)["authorization"].clone();
        let patch = json!({"authorization": secret});
        let resp =
            inspect_login_link::handle(&t.app, event_with("inspect-login-link.default", patch))
                .await;
        assert_eq!(body_json(&resp)["login_as"]["email"], "a***@example.com");
        let resp = redeem_login_link::handle(
            &t.app,
            event_with("redeem-login-link.default", json!({"authorization": secret})),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let resp = redeem_login_link::handle(&t.app, event("redeem-login-link.default")).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

        let resp =
            create_invite::handle(&t.app, bearer(event("create-invite.default"), &token)).await;
        assert_eq!(resp.status(), StatusCode::CREATED);

        let resp =
            delete_session::handle(&t.app, bearer(event("delete-session.default"), &token)).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let resp = get_me::handle(&t.app, bearer(event("get-me.default"), &token)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

        let login = json!({"email": "alice.new@example.com", "password": "a brand new password", "captcha": solved(&t).await});
        let resp =
            create_session::handle(&t.app, event_with("create-session.password", login)).await;
        let token = body_json(&resp)["token"].as_str().unwrap().to_string();
        let patch = json!({"current_password": "a brand new password"});
        let req = bearer(event_with("delete-account.default", patch), &token);
        assert_eq!(delete_account::handle(&t.app, req).await.status(), StatusCode::NO_CONTENT);
        let resp = get_me::handle(&t.app, bearer(event("get-me.default"), &token)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "deleted with its sessions");
    }

    both_stores!(account_events);
}
