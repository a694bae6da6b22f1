//! Account events for integrators: each action publishes its event once,
//! with the account id, the time, the masked network and the device, and
//! nothing secret — on both stores, through the outbox. (Through the
//! table's stream, Amazon EventBridge and a rule to an SQS queue on the
//! stand-in: `aws_delivery::account_events_reach_a_queue_from_the_stream`.)

mod http;

use domain::ports::dev::EventLog as _;
use http::Server;
use reqwest::Method;
use serde_json::{Value, json};
use vericode_tests::{Backend, both_stores};

const UA: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const PASSWORD: &str = "correct horse battery";

/// The events published so far, oldest first: (detail-type, detail).
fn published(s: &Server) -> Vec<(String, Value)> {
    let mut all: Vec<_> =
        s.t.events.events().into_iter().map(|e| (e.detail_type, e.detail)).collect();
    all.reverse();
    all
}

/// The detail-types published since `from`.
fn since(s: &Server, from: usize) -> Vec<String> {
    published(s).into_iter().skip(from).map(|(t, _)| t).collect()
}

async fn call(s: &Server, method: Method, path: &str, body: Value, token: Option<&str>) -> u16 {
    s.call_as("127.0.0.1", Some(UA), method, path, &body, token).await.status
}

async fn login(s: &Server, email: &str, password: &str) -> Value {
    let body = json!({"email": email, "password": password, "captcha": s.captcha().await});
    s.call_as("127.0.0.1", Some(UA), Method::POST, "/v1/sessions", &body, None).await.body
}

/// Every action of an account's life, and the event each one publishes.
async fn each_action_publishes_its_event_once(b: Backend) {
    let s = Server::start(b).await;
    let email = "events@example.com";
    let token = s.register(email, PASSWORD).await;
    assert_eq!(since(&s, 0), ["account.registered"]);

    let n = published(&s).len();
    let session = login(&s, email, PASSWORD).await["token"].as_str().unwrap().to_string();
    assert_eq!(since(&s, n), ["account.logged_in"]);

    let n = published(&s).len();
    for _ in 0..3 {
        assert!(login(&s, email, "wrong password").await["error"].is_object());
    }
    assert!(login(&s, "nobody@example.com", "wrong password").await["error"].is_object());
    assert_eq!(since(&s, n), ["account.login_failed"], "one a minute per address");
    s.t.clock.advance(60);
    login(&s, email, "wrong password").await;
    assert_eq!(since(&s, n), ["account.login_failed", "account.login_failed"]);

    let n = published(&s).len();
    let change = json!({"current_password": PASSWORD, "new_password": "a second password"});
    assert_eq!(call(&s, Method::PUT, "/v1/me/password", change, Some(&token)).await, 204);
    assert_eq!(
        call(&s, Method::DELETE, "/v1/sessions/current", json!({}), Some(&token)).await,
        204
    );
    assert_eq!(since(&s, n), ["account.password_changed", "account.logged_out"]);

    let n = published(&s).len();
    assert_eq!(s.send("email", email, "reset_password", None).await.status, 202);
    let code = s.t.last_code(email).unwrap();
    let reset = json!({"email": email, "code": code, "new_password": "a third password"});
    assert_eq!(call(&s, Method::POST, "/v1/password-resets", reset, None).await, 204);
    assert_eq!(since(&s, n), ["account.password_reset"]);
    drop(session);

    let token = login(&s, email, "a third password").await["token"].as_str().unwrap().to_string();
    let other = login(&s, email, "a third password").await["token"].as_str().unwrap().to_string();
    let n = published(&s).len();
    let phone = "+8613800138000";
    for (to, event) in
        [(phone, "account.address_added"), ("+8613800138001", "account.address_replaced")]
    {
        s.t.clock.advance(61);
        assert_eq!(s.send("sms", to, "bind", Some(&token)).await.status, 202);
        let code = s.t.last_code(to).unwrap();
        let bind = json!({"phone": to, "code": code, "current_password": "a third password"});
        assert_eq!(call(&s, Method::PUT, "/v1/me/phone", bind, Some(&token)).await, 200);
        assert_eq!(since(&s, n).last().map(String::as_str), Some(event));
    }

    let n = published(&s).len();
    let path = "/v1/me/sessions?scope=others";
    assert_eq!(call(&s, Method::DELETE, path, Value::Null, Some(&token)).await, 204);
    assert_eq!(since(&s, n), ["account.session_ended"]);
    drop(other);

    let n = published(&s).len();
    let step_up = json!({"step_up_token": s.step_up_token(email, &token).await});
    let e = s.post("/v1/me/factors/totp", step_up, Some(&token)).await.body;
    let secret = domain::totp::secret_from_base32(e["secret"].as_str().unwrap()).unwrap();
    use domain::ports::Clock as _;
    let step = s.t.clock.now() / domain::totp::STEP_SECS;
    let confirm =
        json!({"factor_id": e["factor_id"], "code": domain::totp::code_at(&secret, step)});
    assert_eq!(
        call(&s, Method::POST, "/v1/me/factors/totp/confirm", confirm, Some(&token)).await,
        200
    );
    let first = login(&s, email, "a third password").await;
    assert_eq!(since(&s, n), ["account.factor_added"], "no login before the second step");
    let second =
        json!({"mfa_token": first["mfa_token"], "totp": domain::totp::code_at(&secret, step + 1)});
    assert_eq!(call(&s, Method::POST, "/v1/sessions/mfa", second, None).await, 200);
    let path = format!("/v1/me/factors/{}", e["factor_id"].as_str().unwrap());
    let remove = json!({"current_password": "a third password"});
    assert_eq!(call(&s, Method::DELETE, &path, remove, Some(&token)).await, 204);
    assert_eq!(
        since(&s, n),
        ["account.factor_added", "account.logged_in", "account.factor_removed"]
    );

    let n = published(&s).len();
    let delete = json!({"current_password": "a third password"});
    assert_eq!(call(&s, Method::DELETE, "/v1/me", delete, Some(&token)).await, 204);
    assert_eq!(since(&s, n), ["account.account_deleted"]);

    fields_hold_nothing_secret(&s, email, &[&token, PASSWORD, "a third password", phone]);
}

/// Every event names the account, its time, network (masked) and device,
/// and its id (stable, unique); none holds an address, token or password.
fn fields_hold_nothing_secret(s: &Server, email: &str, secrets: &[&str]) {
    let all = s.t.events.events();
    let ids: std::collections::BTreeSet<_> = all.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), all.len(), "each event once, each with its own id");
    let account = all[0].detail["account_id"].clone();
    for e in &all {
        let d = &e.detail;
        assert_eq!(d["event_id"], json!(e.id));
        assert_eq!(e.detail_type, format!("account.{}", d["event"].as_str().unwrap()));
        assert_eq!(d["account_id"], account, "{d}");
        assert_eq!(d["time"], json!(e.time));
        assert!(e.time.ends_with('Z'), "{}", e.time);
        if d["event"] != "registered" {
            assert_eq!(d["network"], "127.0.0.0/24", "{d}");
        }
        let keys: Vec<_> = d.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["account_id", "device", "event", "event_id", "network", "time"]);
        let text = d.to_string();
        for secret in secrets.iter().chain([&email]) {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    let devices: std::collections::BTreeSet<_> =
        all.iter().map(|e| e.detail["device"].as_str().unwrap().to_string()).collect();
    assert!(devices.contains("Chrome on macOS"), "{devices:?}");
}

both_stores!(each_action_publishes_its_event_once);
