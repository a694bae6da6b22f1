//! Purpose `confirm` and its server-side redemption with API keys
//! (`POST /v1/verifications/redeem`), on both stores.

use serde_json::{Value, json};
use vericode_tests::{Backend, T0, TestApp, app, both_stores, parts, request};

const IP: &str = "198.51.100.30";

fn with_key(body: &Value, key: &str) -> lambda_http::Request {
    let mut req = request(body, IP, None);
    req.headers_mut().insert("authorization", key.parse().unwrap());
    req
}

async fn redeem(t: &TestApp, token: &Value, authorization: Option<&str>) -> (u16, Value) {
    let body = json!({"verification_token": token});
    let req = match authorization {
        Some(a) => with_key(&body, a),
        None => request(&body, IP, None),
    };
    parts(&redeem_verification::handle(&t.app, req).await)
}

/// A code sent and checked for `purpose`; the verification token.
async fn token_for(t: &TestApp, channel: &str, to: &str, purpose: &str) -> Value {
    let (id, answer) = t.captcha().await;
    let body = json!({"channel": channel, "to": to, "purpose": purpose,
        "captcha": {"id": id, "answer": answer}});
    let (status, resp) = parts(&send_code::handle(&t.app, request(&body, IP, None)).await);
    assert_eq!(status, 202, "{resp}");
    let code = t.last_code(to).expect("a code was delivered");
    let check = json!({"channel": channel, "to": to, "purpose": purpose, "code": code});
    let (status, resp) = parts(&verify_code::handle(&t.app, request(&check, IP, None)).await);
    assert_eq!(status, 200, "{resp}");
    resp["verification_token"].clone()
}

async fn a_server_redeems_a_confirm_token_once(b: Backend) {
    let t = app(b).await;
    let key = domain::api_keys::create(&t.app, "backend").await.unwrap();
    let auth = format!("ApiKey {}", key.key);
    assert!(key.key.starts_with(&format!("vk_{}_", key.id)));

    // The captcha is required, logged in or not.
    let (_, session) = t.account(Some("owned@example.com"), None).await;
    let bare = json!({"channel": "sms", "to": "+8613800138000", "purpose": "confirm"});
    let (status, body) =
        parts(&send_code::handle(&t.app, request(&bare, IP, Some(&session))).await);
    assert_eq!((status, &body["error"]["field"]), (400, &json!("captcha")), "{body}");

    // Any address: without an account, and with one, a code goes out.
    let token = token_for(&t, "sms", "+8613800138000", "confirm").await;
    let owned = token_for(&t, "email", "owned@example.com", "confirm").await;

    // Without a key, with a wrong, malformed or other kind of credential: 401.
    assert_eq!(redeem(&t, &token, None).await.0, 401);
    let wrong = format!("ApiKey vk_{}_{}", key.id, "x".repeat(43));
    for bad in [wrong.as_str(), "ApiKey vk_nope", "ApiKey", &format!("Bearer {session}")] {
        assert_eq!(redeem(&t, &token, Some(bad)).await.1["error"]["code"], "unauthorized");
    }

    // With the key: what it proves, once.
    let (status, body) = redeem(&t, &token, Some(&auth)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"channel": "sms", "to": "+8613800138000", "purpose": "confirm",
            "verified_at": domain::time::rfc3339(T0)})
    );
    let (status, body) = redeem(&t, &token, Some(&auth)).await;
    assert_eq!((status, &body["error"]["code"]), (400, &json!("code_invalid")));
    assert_eq!(redeem(&t, &owned, Some(&auth)).await.1["to"], "owned@example.com");

    // Garbage and tokens of other purposes are refused; a confirm token is
    // accepted by nothing that creates or changes an account.
    assert_eq!(redeem(&t, &json!("not.a.token"), Some(&auth)).await.0, 400);
    let register = token_for(&t, "email", "new@example.com", "register").await;
    assert_eq!(redeem(&t, &register, Some(&auth)).await.1["error"]["code"], "code_invalid");
    let confirm = token_for(&t, "email", "other@example.com", "confirm").await;
    let create = json!({"email": "other@example.com", "password": "long enough",
        "verification_token": confirm});
    let (status, body) = parts(&create_account::handle(&t.app, request(&create, IP, None)).await);
    assert_eq!((status, &body["error"]["code"]), (400, &json!("code_invalid")), "{body}");
    let login = json!({"email": "owned@example.com", "verification_token": owned});
    assert_eq!(parts(&create_session::handle(&t.app, request(&login, IP, None)).await).0, 400);
    let (status, _) = redeem(&t, &confirm, Some(&auth)).await;
    assert_eq!(status, 200, "the refused account request left the token alone");

    // One token redeemed five times at once: one answer.
    let token = token_for(&t, "email", "race@example.com", "confirm").await;
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (app, token, auth) = (t.app.clone(), token.clone(), auth.clone());
            tokio::spawn(async move {
                let body = json!({"verification_token": token});
                parts(&redeem_verification::handle(&app, with_key(&body, &auth)).await).0
            })
        })
        .collect();
    let mut redeemed = 0;
    for task in tasks {
        redeemed += (task.await.unwrap() == 200) as usize;
    }
    assert_eq!(redeemed, 1);

    // A revoked key is refused.
    let token = token_for(&t, "email", "late@example.com", "confirm").await;
    assert!(domain::api_keys::revoke(&t.app, &key.id).await.unwrap());
    assert!(!domain::api_keys::revoke(&t.app, &key.id).await.unwrap());
    assert_eq!(redeem(&t, &token, Some(&auth)).await.0, 401);
}

async fn api_keys_are_stored_hashed(b: Backend) {
    let t = app(b).await;
    assert!(domain::api_keys::create(&t.app, " ").await.is_err());
    assert!(domain::api_keys::create(&t.app, &"n".repeat(65)).await.is_err());
    let key = domain::api_keys::create(&t.app, "stored").await.unwrap();
    let stored = t.app.store.get_api_key(&key.id).await.unwrap().unwrap();
    assert_eq!(stored.name, "stored");
    // The secret may itself hold `_` (URL-safe base64): cut the prefix off.
    let secret = key.key.strip_prefix(&format!("vk_{}_", key.id)).unwrap();
    assert!(secret.len() >= 40, "{secret}");
    assert!(!format!("{stored:?}").contains(secret));
    if let Some((client, table)) = &t.dynamo {
        let scan = client.scan().table_name(table).send().await.unwrap();
        assert!(!format!("{:?}", scan.items()).contains(secret));
    }
}

both_stores!(a_server_redeems_a_confirm_token_once, api_keys_are_stored_hashed);
