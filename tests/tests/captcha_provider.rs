//! `CAPTCHA_PROVIDER=turnstile|hcaptcha`: the widget's token goes where a
//! captcha goes today (sending a code, logging in by password) and is
//! checked by the real siteverify adapter against a local stand-in, on both
//! stores. A provider that fails or is slow is a `503`, never a pass.

use domain::config::{CaptchaProvider, Config, ExternalCaptcha};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use vericode_tests::siteverify::{SECRET, StandIn};
use vericode_tests::{Backend, TestApp, app_with, both_stores, config, parts, request};

const IP: &str = "198.51.100.44";

fn provider_config(kind: ExternalCaptcha, url: &str, secret: &str) -> Config {
    let verify_url = url.to_string();
    Config {
        captcha_provider: CaptchaProvider::External { kind, secret: secret.into(), verify_url },
        ..config()
    }
}

/// An app that checks captchas at `url`, wired as a deployed function is.
async fn with_provider(b: Backend, kind: ExternalCaptcha, url: &str, secret: &str) -> TestApp {
    app_with(b, provider_config(kind, url, secret)).await.map_services(|services| {
        edge::compose::with_captcha_provider(services).expect("the provider is wired")
    })
}

async fn send(t: &TestApp, to: &str, purpose: &str, captcha: Value) -> (u16, Value) {
    let body = json!({"channel": "email", "to": to, "purpose": purpose, "captcha": captcha});
    parts(&send_code::handle(&t.app, request(&body, IP, None)).await)
}

async fn log_in(t: &TestApp, email: &str, captcha: Value) -> (u16, Value) {
    let body = json!({"email": email, "password": "provider password", "captcha": captcha});
    parts(&create_session::handle(&t.app, request(&body, IP, None)).await)
}

async fn tokens_work_where_captchas_do(b: Backend) {
    let stand_in = StandIn::start().await;
    for kind in [ExternalCaptcha::Turnstile, ExternalCaptcha::HCaptcha] {
        let t = with_provider(b, kind, &stand_in.url, SECRET).await;
        let (to, pass) = (format!("{}@example.com", kind.name()), format!("pass-{}", kind.name()));

        // No image captchas with a provider configured.
        let resp = create_captcha::handle(&t.app, request(&json!({}), IP, None)).await;
        assert_eq!(parts(&resp).0, 404);

        // A passing token sends the code; the client's address goes along.
        let (status, body) = send(&t, &to, "register", json!({"token": pass})).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(stand_in.remote_ips(&pass), [Some(IP.to_string())]);
        let code = t.last_code(&to).expect("a code was sent");

        // The same token again, a wrong one: 403, nothing sent.
        for token in [pass.as_str(), "wrong"] {
            let (status, body) = send(&t, &to, "register", json!({"token": token})).await;
            assert_eq!((status, body["error"]["code"].as_str()), (403, Some("captcha_invalid")));
        }
        assert_eq!(t.mailbox.to(&to).len(), 1);

        // The image form, an empty or oversized token: 400 naming the field.
        let id = uuid::Uuid::new_v4().to_string();
        for (captcha, field) in [
            (json!({"id": id, "answer": "ACDEF"}), "captcha.id"),
            (json!({}), "captcha.token"),
            (json!({"token": " "}), "captcha.token"),
            (json!({"token": "p".repeat(2049)}), "captcha.token"),
        ] {
            let (status, body) = send(&t, &to, "register", captcha).await;
            assert_eq!((status, &body["error"]["field"]), (400, &json!(field)), "{body}");
        }

        // Register with the code, then log in by password with a token.
        let account = json!({"email": to, "password": "provider password", "code": code});
        let (status, body) =
            parts(&create_account::handle(&t.app, request(&account, IP, None)).await);
        assert_eq!(status, 201, "{body}");
        let (status, body) = log_in(&t, &to, json!({"token": format!("{pass}-login")})).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = log_in(&t, &to, json!({"token": "wrong"})).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("captcha_invalid")));
    }
}

async fn a_failing_provider_is_a_503(b: Backend) {
    let stand_in = StandIn::start().await;
    let kind = ExternalCaptcha::Turnstile;
    // Nothing listens on a port just released.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/siteverify", listener.local_addr().unwrap())
    };
    let cases = [
        (stand_in.url.as_str(), SECRET, "slow-1"),
        (stand_in.url.as_str(), SECRET, "error-1"),
        (stand_in.url.as_str(), "not-our-secret", "pass-secret"),
        (closed.as_str(), SECRET, "pass-closed"),
    ];
    for (url, secret, token) in cases {
        let t = with_provider(b, kind, url, secret).await;
        let (_, _) = t.account(Some("owner@example.com"), None).await;
        // The same for an address with an account and one without.
        for to in ["owner@example.com", "nobody@example.com"] {
            let started = Instant::now();
            let body = json!({"channel": "email", "to": to, "purpose": "login",
                "captcha": {"token": token}});
            let resp = send_code::handle(&t.app, request(&body, IP, None)).await;
            assert!(started.elapsed() < Duration::from_secs(4), "{token}: {:?}", started.elapsed());
            assert_eq!(resp.status(), 503, "{token} to {to}");
            assert_eq!(resp.headers()["retry-after"], "1");
            assert_eq!(parts(&resp).1["error"]["code"], "service_unavailable");
            let (status, _) = log_in(&t, to, json!({"token": token})).await;
            assert_eq!(status, 503, "{token}: log in as {to}");
        }
        assert!(t.mailbox.to("owner@example.com").is_empty());
    }
}

both_stores!(tokens_work_where_captchas_do, a_failing_provider_is_a_503);
