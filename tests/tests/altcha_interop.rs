//! Our proof of work against `altcha-lib` 2.x, the ALTCHA server library
//! integrators use (Node, installed by `scripts/stack.sh install`), both
//! ways: its solver's payload is accepted by the service, its
//! `verifySolution` accepts our challenges and our solver's payloads, and
//! a challenge it signs with the service's secrets passes our check.

use domain::captcha::{self, CaptchaInput};
use domain::config::{CaptchaProvider, Config};
use serde_json::{Value, json};
use std::process::Command;
use vericode_tests::{Backend, T0, TestApp, app_with, both_stores, config, parts, pow, request};

fn node_modules() -> String {
    std::env::var("VERICODE_NODE_MODULES").unwrap_or_else(|_| {
        let cache = std::env::var("VERICODE_CACHE")
            .unwrap_or_else(|_| format!("{}/.cache/vericode", std::env::var("HOME").unwrap()));
        format!("{cache}/node/node_modules")
    })
}

/// Runs tests/interop/altcha.mjs; its output.
fn altcha_lib(args: &[&str]) -> String {
    let modules = node_modules();
    assert!(
        std::path::Path::new(&format!("{modules}/altcha-lib/package.json")).exists(),
        "altcha-lib is not in {modules}: run scripts/stack.sh install (scripts/test.sh does)"
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/altcha.mjs");
    let out = Command::new("node")
        .arg(script)
        .args(args)
        .env("VERICODE_NODE_MODULES", &modules)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "altcha.mjs {}: {}",
        args[0],
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn pow_app(b: Backend) -> TestApp {
    app_with(b, Config { captcha_provider: CaptchaProvider::Pow, ..config() }).await
}

async fn send(t: &TestApp, to: &str, altcha: &str) -> (u16, Value) {
    let body =
        json!({"channel": "email", "to": to, "purpose": "register", "captcha": {"altcha": altcha}});
    parts(&send_code::handle(&t.app, request(&body, "198.51.100.46", None)).await)
}

async fn its_solver_passes_our_challenge_once(b: Backend) {
    let t = pow_app(b).await;
    let resp = create_challenge::handle(&t.app, request(&json!({}), "198.51.100.46", None)).await;
    let (status, challenge) = parts(&resp);
    assert_eq!(status, 201);
    let payload = altcha_lib(&["solve", &challenge.to_string()]);
    let (status, body) = send(&t, "interop@example.com", &payload).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = send(&t, "interop@example.com", &payload).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("captcha_invalid")));
}

async fn a_challenge_it_signs_with_our_secrets_passes(b: Backend) {
    let t = pow_app(b).await;
    let (secret, key_secret) = t.app.keys.altcha_secrets();
    let expires_at = (T0 + 600).to_string();
    let created = altcha_lib(&["create", &secret, &key_secret, "10", &expires_at]);
    let challenge: Value = serde_json::from_str(&created).unwrap();
    let payload = pow::solve(&challenge);
    assert!(captcha::consume(&t.app, &CaptchaInput::altcha(&payload), None).await.is_ok());
    assert!(captcha::consume(&t.app, &CaptchaInput::altcha(&payload), None).await.is_err());
}

both_stores!(its_solver_passes_our_challenge_once, a_challenge_it_signs_with_our_secrets_passes);

/// Its `verifySolution` accepts a payload our solver made for our
/// challenge, and refuses it under other secrets or tampered.
#[tokio::test]
async fn its_verify_solution_accepts_our_payload() {
    let t = pow_app(Backend::Memory).await;
    let (secret, key_secret) = t.app.keys.altcha_secrets();
    let payload = t.altcha();
    let verified = |raw: &str, secret: &str| -> Value {
        serde_json::from_str(&altcha_lib(&["verify", raw, secret, &key_secret])).unwrap()
    };
    let result = verified(&payload, &secret);
    assert_eq!(result["verified"], true, "{result}");
    let result = verified(&payload, "another secret");
    assert_eq!((&result["verified"], &result["invalidSignature"]), (&json!(false), &json!(true)));
    let tampered = pow::reseal(&payload, |v| v["challenge"]["parameters"]["cost"] = json!(1));
    assert_eq!(verified(&tampered, &secret)["verified"], false);
}
