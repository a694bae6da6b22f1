//! `CAPTCHA_PROVIDER=pow|builtin,pow`: proof-of-work challenges in the
//! protocol of `altcha-lib` 2.x, served by `POST /v1/challenges` and taken
//! wherever a captcha goes, on both stores. Each is accepted once; expired,
//! forged, tampered and replayed payloads are refused without spending
//! anything; malformed ones are bad input naming the field.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::address::Channel;
use domain::captcha::{self, CaptchaError, CaptchaInput};
use domain::config::{CaptchaProvider, Config};
use domain::ports::{Metric, SendResult};
use domain::purpose::Purpose;
use serde_json::{Value, json};
use vericode_tests::pow::{open, payload, reseal, solve};
use vericode_tests::{Backend, T0, TestApp, app_with, both_stores, config, parts, request};

const IP: &str = "198.51.100.45";

fn with_provider(provider: CaptchaProvider) -> Config {
    Config { captcha_provider: provider, ..config() }
}

async fn pow_app(b: Backend) -> TestApp {
    app_with(b, with_provider(CaptchaProvider::Pow)).await
}

/// `POST /v1/challenges`: status, `Cache-Control` and body.
async fn challenge(t: &TestApp) -> (u16, Option<String>, Value) {
    let resp = create_challenge::handle(&t.app, request(&json!({}), IP, None)).await;
    let cache = resp.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
    let (status, body) = parts(&resp);
    (status, cache, body)
}

async fn send(t: &TestApp, to: &str, captcha: Value) -> (u16, Value) {
    let body = json!({"channel": "email", "to": to, "purpose": "register", "captcha": captcha});
    parts(&send_code::handle(&t.app, request(&body, IP, None)).await)
}

fn refused(result: (u16, Value)) -> bool {
    result.0 == 403 && result.1["error"]["code"] == "captcha_invalid"
}

async fn the_endpoint_serves_signed_challenges(b: Backend) {
    let t = pow_app(b).await;
    let (status, cache, body) = challenge(&t).await;
    assert_eq!((status, cache.as_deref()), (201, Some("no-store")), "{body}");
    let p = &body["parameters"];
    let mut names: Vec<_> = p.as_object().unwrap().keys().cloned().collect();
    names.sort();
    let expected = [
        "algorithm",
        "cost",
        "expiresAt",
        "keyLength",
        "keyPrefix",
        "keySignature",
        "nonce",
        "salt",
    ];
    assert_eq!(names, expected);
    assert_eq!(p["algorithm"], "PBKDF2/SHA-256");
    assert_eq!((p["cost"].as_u64(), p["keyLength"].as_u64()), (Some(10), Some(32)));
    assert_eq!(p["expiresAt"].as_i64(), Some(T0 + 180));
    for (name, len) in [("keyPrefix", 32), ("keySignature", 64), ("nonce", 32), ("salt", 32)] {
        let v = p[name].as_str().unwrap();
        assert!(v.len() == len && v.bytes().all(|c| c.is_ascii_hexdigit()), "{name}: {v}");
    }
    assert_eq!(body["signature"].as_str().map(str::len), Some(64));
    let (_, _, again) = challenge(&t).await;
    assert_ne!(again["parameters"]["nonce"], p["nonce"]);

    // Served only where configured; image captchas only where they are.
    let image_only = app_with(b, config()).await;
    assert_eq!(challenge(&image_only).await.0, 404);
    let resp = create_captcha::handle(&t.app, request(&json!({}), IP, None)).await;
    assert_eq!(parts(&resp).0, 404);
    let either = app_with(b, with_provider(CaptchaProvider::BuiltinOrPow)).await;
    assert_eq!(challenge(&either).await.0, 201);
    let resp = create_captcha::handle(&either.app, request(&json!({}), IP, None)).await;
    assert_eq!(parts(&resp).0, 201);
}

async fn a_solved_challenge_is_accepted_once(b: Backend) {
    let t = pow_app(b).await;
    let (_, _, body) = challenge(&t).await;
    let altcha = solve(&body);
    let (status, body) = send(&t, "pow-once@example.com", json!({"altcha": altcha})).await;
    assert_eq!(status, 202, "{body}");
    assert!(t.last_code("pow-once@example.com").is_some());
    // The same payload again, for the same address or another: refused.
    for to in ["pow-once@example.com", "pow-other@example.com"] {
        assert!(refused(send(&t, to, json!({"altcha": altcha})).await));
    }
    assert!(t.mailbox.to("pow-other@example.com").is_empty());

    // A password login takes one too (and spends it).
    let log_in = json!({"email": "pow-once@example.com", "password": "a password here", "captcha": {"altcha": t.altcha()}});
    let (status, body) = parts(&create_session::handle(&t.app, request(&log_in, IP, None)).await);
    assert_eq!(status, 401, "a stranger's password, checked after the proof: {body}");
    let (status, _) = parts(&create_session::handle(&t.app, request(&log_in, IP, None)).await);
    assert_eq!(status, 403);
}

async fn racing_replays_pass_once(b: Backend) {
    let t = pow_app(b).await;
    let input = CaptchaInput::altcha(&t.altcha());
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (app, input) = (t.app.clone(), input.clone());
            tokio::spawn(async move { captcha::consume(&app, &input, None).await.is_ok() })
        })
        .collect();
    let mut passed = 0;
    for task in tasks {
        passed += usize::from(task.await.unwrap());
    }
    assert_eq!(passed, 1);
}

async fn an_expired_challenge_is_refused(b: Backend) {
    let t = pow_app(b).await;
    let altcha = t.altcha();
    t.clock.advance(180);
    assert!(refused(send(&t, "pow-late@example.com", json!({"altcha": altcha})).await));
    assert!(t.mailbox.to("pow-late@example.com").is_empty());
}

async fn tampered_and_forged_payloads_spend_nothing(b: Backend) {
    let t = pow_app(b).await;
    let altcha = t.altcha();
    let other = json!("00".repeat(32));
    let p = |name: &'static str| ["challenge", "parameters", name];
    let tampered = [
        ("a cheaper cost", p("cost"), json!(1)),
        ("a later expiry", p("expiresAt"), json!(T0 + 9999)),
        ("another prefix", p("keyPrefix"), json!("00")),
        ("another key signature", p("keySignature"), other.clone()),
        ("an added parameter", p("data"), json!({"a": 1})),
        ("another signature", ["challenge", "signature", ""], other.clone()),
        ("another key", ["solution", "derivedKey", ""], other.clone()),
    ];
    for (what, path, value) in tampered {
        let bad = reseal(&altcha, |v| match path {
            [a, b, ""] => v[a][b] = value,
            [a, b, c] => v[a][b][c] = value,
        });
        assert!(
            refused(send(&t, "pow-tamper@example.com", json!({"altcha": bad})).await),
            "{what}"
        );
    }
    // Signed by another service (another CODE_KEY): refused.
    let mut foreign_config = with_provider(CaptchaProvider::Pow);
    foreign_config.code_key = [9; 32];
    let foreign = app_with(b, foreign_config).await;
    let theirs = foreign.altcha();
    assert!(refused(send(&t, "pow-tamper@example.com", json!({"altcha": theirs})).await));
    // The counter is not part of the proof (the key is); a right key with
    // the challenge unchanged still passes: nothing above spent it.
    let honest = open(&altcha);
    let again =
        payload(&honest["challenge"], 0, honest["solution"]["derivedKey"].as_str().unwrap());
    let (status, body) = send(&t, "pow-tamper@example.com", json!({"altcha": again})).await;
    assert_eq!(status, 202, "{body}");
    assert!(matches!(
        captcha::consume(&t.app, &CaptchaInput::altcha(&altcha), None).await,
        Err(CaptchaError::Wrong)
    ));
}

async fn malformed_captchas_name_the_field(b: Backend) {
    let t = pow_app(b).await;
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let cases = [
        (json!({"altcha": ""}), "captcha.altcha"),
        (json!({"altcha": "not base64!"}), "captcha.altcha"),
        (json!({"altcha": b64("{}")}), "captcha.altcha"),
        (json!({"altcha": b64("[1,2]")}), "captcha.altcha"),
        (json!({"altcha": "A".repeat(5000)}), "captcha.altcha"),
        (
            json!({"altcha": reseal(&t.altcha(), |v| v["solution"]["derivedKey"] = json!("zz"))}),
            "captcha.altcha",
        ),
        (json!({}), "captcha.altcha"),
        (json!({"id": "x", "answer": "y"}), "captcha.id"),
        (json!({"altcha": "x", "token": "y"}), "captcha.token"),
    ];
    for (captcha, field) in cases {
        let (status, body) = send(&t, "pow-bad@example.com", captcha).await;
        assert_eq!((status, &body["error"]["field"]), (400, &json!(field)), "{body}");
    }
    // The image captcha alone does not take proofs of work.
    let image_only = app_with(b, config()).await;
    let (status, body) = send(&image_only, "pow-bad@example.com", json!({"altcha": "x"})).await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("captcha.altcha")), "{body}");
    assert!(t.mailbox.to("pow-bad@example.com").is_empty());
}

/// The send's transaction spends the proof: a send refused for its session
/// (or cancelled) leaves it unspent, as it leaves an image captcha.
async fn a_refused_session_leaves_the_proof_unspent(b: Backend) {
    let t = pow_app(b).await;
    let (_, token) = t.account(Some("pow-session@example.com"), None).await;
    let out = delete_session::handle(&t.app, request(&json!({}), IP, Some(&token))).await;
    assert_eq!(parts(&out).0, 204);
    let altcha = t.altcha();
    let body = json!({"channel": "email", "to": "pow-s2@example.com", "purpose": "confirm",
        "captcha": {"altcha": altcha}});
    let (status, _) = parts(&send_code::handle(&t.app, request(&body, IP, Some(&token))).await);
    assert_eq!(status, 401);
    let input = CaptchaInput::altcha(&altcha);
    assert!(captcha::consume(&t.app, &input, None).await.is_ok(), "the refused send spent it");
}

/// A send refused by a limit still uses its proof up, as an image captcha.
async fn a_rate_limited_send_spends_the_proof(b: Backend) {
    let t = pow_app(b).await;
    assert_eq!(send(&t, "pow-limit@example.com", json!({"altcha": t.altcha()})).await.0, 202);
    let altcha = t.altcha();
    let (status, body) = send(&t, "pow-limit@example.com", json!({"altcha": altcha})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")));
    let again = captcha::consume(&t.app, &CaptchaInput::altcha(&altcha), None).await;
    assert!(matches!(again, Err(CaptchaError::Wrong)));
}

/// Sends racing with one proof: one is accepted, the others refused.
async fn racing_sends_with_one_proof_pass_once(b: Backend) {
    let t = pow_app(b).await;
    let altcha = t.altcha();
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (app, altcha) = (t.app.clone(), altcha.clone());
            tokio::spawn(async move {
                let body = json!({"channel": "email", "to": format!("pow-race{i}@example.com"),
                    "purpose": "register", "captcha": {"altcha": altcha}});
                parts(&send_code::handle(&app, request(&body, IP, None)).await)
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert!(status == 202 || refused((status, body.clone())), "{status} {body}");
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 202).count(), 1, "{statuses:?}");
}

/// A proof that does not hold is judged with the captcha, after the
/// destination (docs/api.md's order), and counted as a refused send.
async fn a_wrong_proof_is_judged_after_the_destination(b: Backend) {
    let t = pow_app(b).await;
    let altcha = t.altcha();
    t.clock.advance(180);
    let (status, body) = send(&t, "not an address", json!({"altcha": altcha})).await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("to")), "{body}");
    assert!(refused(send(&t, "pow-metric@example.com", json!({"altcha": altcha})).await));
    let refusal = Metric::Send {
        channel: Channel::Email,
        purpose: Purpose::Register,
        outcome: SendResult::CaptchaInvalid,
    };
    assert!(t.metrics.all().contains(&refusal), "{:?}", t.metrics.all());
}

/// The captcha's format is read before the destination (docs/api.md's order).
async fn a_malformed_payload_is_named_before_the_destination(b: Backend) {
    let t = pow_app(b).await;
    let (status, body) = send(&t, "not an address", json!({"altcha": "not base64!"})).await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("captcha.altcha")), "{body}");
}

/// `builtin,pow`: either form, as the person picks.
async fn either_form_passes_where_both_are_served(b: Backend) {
    let t = app_with(b, with_provider(CaptchaProvider::BuiltinOrPow)).await;
    let (id, answer) = t.captcha().await;
    let (status, body) =
        send(&t, "pow-image@example.com", json!({"id": id, "answer": answer})).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = send(&t, "pow-work@example.com", json!({"altcha": t.altcha()})).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = send(&t, "pow-both@example.com", json!({"id": id, "altcha": "x"})).await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("captcha.id")), "{body}");
}

both_stores!(
    the_endpoint_serves_signed_challenges,
    a_solved_challenge_is_accepted_once,
    racing_replays_pass_once,
    an_expired_challenge_is_refused,
    tampered_and_forged_payloads_spend_nothing,
    malformed_captchas_name_the_field,
    either_form_passes_where_both_are_served,
    a_refused_session_leaves_the_proof_unspent,
    a_rate_limited_send_spends_the_proof,
    a_malformed_payload_is_named_before_the_destination,
    racing_sends_with_one_proof_pass_once,
    a_wrong_proof_is_judged_after_the_destination,
);

/// DynamoDB keeps a used challenge by its nonce until the challenge would
/// have expired, and nothing else.
#[tokio::test]
async fn a_used_challenge_is_kept_until_it_expires() {
    let t = pow_app(Backend::Dynamo).await;
    let (client, table) = t.dynamo.clone().unwrap();
    let altcha = t.altcha();
    captcha::consume(&t.app, &CaptchaInput::altcha(&altcha), None).await.unwrap();
    let nonce = open(&altcha)["challenge"]["parameters"]["nonce"].as_str().unwrap().to_string();
    let item = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("POW#{nonce}")))
        .key("sk", AttributeValue::S("ITEM".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["expires_at"], AttributeValue::N((T0 + 180).to_string()));
    let mut names: Vec<_> = item.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["expires_at", "pk", "sk"]);
}
