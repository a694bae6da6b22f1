//! Logs never carry a code, a captcha answer, a token or a whole address.

use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use vericode_tests::{Backend, app, parts, request};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    // The most verbose setting there is, module by module: the SDK's
    // request/response and signing modules included.
    let everything = "trace,aws_smithy_runtime::client=trace,aws_smithy_runtime_api=trace,\
        aws_smithy_http_client=trace,aws_sigv4=trace,aws_runtime=trace,aws_sdk_dynamodb=trace,\
        aws_sdk_ses=trace,aws_sdk_sns=trace,aws_config=trace,hyper=trace,hyper_util=trace,\
        h2=trace,rustls=trace,reqwest=trace";
    let layer = tracing_subscriber::fmt::layer().json().with_writer(move || writer.clone());
    tracing_subscriber::registry()
        .with(layer.with_filter(edge::telemetry::filter_from(everything)))
        .init();

    let mut secrets = Vec::new();
    for backend in [Backend::Memory, Backend::Dynamo] {
        let t = app(backend).await;
        let (_, session) = t.account(Some("owner@example.com"), Some("+8613800138000")).await;
        secrets.push(session.clone());

        let (id, answer) = t.captcha().await;
        secrets.push(answer.clone());
        let body = json!({"channel": "email", "to": "Secret.Person@Example.com", "purpose": "register",
            "captcha": {"id": id, "answer": answer}});
        assert_eq!(
            parts(&send_code::handle(&t.app, request(&body, "192.0.2.4", None)).await).0,
            202
        );
        let code = t.last_code("secret.person@example.com").unwrap();
        secrets.push(code.clone());

        let check = |code: &str| json!({"channel": "email", "to": "secret.person@example.com", "purpose": "register", "code": code});
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert_eq!(
            parts(&verify_code::handle(&t.app, request(&check(wrong), "192.0.2.4", None)).await).0,
            400
        );
        let (status, body) =
            parts(&verify_code::handle(&t.app, request(&check(&code), "192.0.2.4", None)).await);
        assert_eq!(status, 200);
        secrets.push(body["verification_token"].as_str().unwrap().to_string());

        // Register with that token and a password, log in, make a login link.
        let register = json!({"email": "secret.person@example.com", "password": "a secret password value",
            "verification_token": secrets.last().unwrap()});
        let (status, body) =
            parts(&create_account::handle(&t.app, request(&register, "192.0.2.4", None)).await);
        assert_eq!(status, 201, "{body}");
        secrets.push(body["token"].as_str().unwrap().to_string());
        secrets.push("a secret password value".into());
        let (id, answer) = t.captcha().await;
        secrets.push(answer.clone());
        let login = json!({"email": "secret.person@example.com", "password": "a secret password value",
            "captcha": {"id": id, "answer": answer}});
        let (status, body) =
            parts(&create_session::handle(&t.app, request(&login, "192.0.2.4", None)).await);
        assert_eq!(status, 200);
        let user = body["token"].as_str().unwrap().to_string();
        secrets.push(user.clone());
        let (_, link) = parts(
            &create_login_link::handle(&t.app, request(&json!({}), "192.0.2.4", Some(&user))).await,
        );
        secrets.push(link["authorization"].as_str().unwrap().to_string());
        let inspect = json!({"authorization": link["authorization"]});
        let inspected =
            parts(&inspect_login_link::handle(&t.app, request(&inspect, "192.0.2.4", None)).await);
        assert_eq!(inspected.0, 200);
        let wrong = json!({"email": "secret.person@example.com", "password": "wrong secret guess",
            "captcha": {"id": id, "answer": "x"}});
        parts(&create_session::handle(&t.app, request(&wrong, "192.0.2.4", None)).await);
        secrets.push("wrong secret guess".into());

        let step_up = json!({"channel": "sms", "purpose": "verify"});
        assert_eq!(
            parts(&send_code::handle(&t.app, request(&step_up, "192.0.2.4", Some(&session))).await)
                .0,
            202
        );
        let code = t.last_code("+8613800138000").unwrap();
        secrets.push(code.clone());

        // Step up with it, change the password, and delete the other account.
        let check =
            json!({"channel": "sms", "to": "+8613800138000", "purpose": "verify", "code": code});
        let (status, body) =
            parts(&verify_code::handle(&t.app, request(&check, "192.0.2.4", Some(&session))).await);
        assert_eq!(status, 200);
        let token = body["verification_token"].as_str().unwrap().to_string();
        secrets.push(token.clone());
        let change = json!({"step_up_token": token, "new_password": "another secret password"});
        let changed = parts(
            &change_password::handle(&t.app, request(&change, "192.0.2.4", Some(&session))).await,
        );
        assert_eq!(changed.0, 204);
        secrets.push("another secret password".into());
        let delete = json!({"current_password": "a secret password value"});
        let deleted = parts(
            &delete_account::handle(&t.app, request(&delete, "192.0.2.4", Some(&user))).await,
        );
        assert_eq!(deleted.0, 204);

        // A confirm token redeemed by a server with its API key.
        let (id, answer) = t.captcha().await;
        let confirm = json!({"channel": "email", "to": "confirm.person@example.com",
            "purpose": "confirm", "captcha": {"id": id, "answer": answer}});
        assert_eq!(
            parts(&send_code::handle(&t.app, request(&confirm, "192.0.2.4", None)).await).0,
            202
        );
        let code = t.last_code("confirm.person@example.com").unwrap();
        secrets.push(code.clone());
        let check = json!({"channel": "email", "to": "confirm.person@example.com", "purpose": "confirm", "code": code});
        let (_, body) =
            parts(&verify_code::handle(&t.app, request(&check, "192.0.2.4", None)).await);
        let token = body["verification_token"].as_str().unwrap().to_string();
        secrets.push(token.clone());
        let key = domain::api_keys::create(&t.app, "logs").await.unwrap();
        secrets.push(key.key.clone());
        let mut req = request(&json!({"verification_token": token}), "192.0.2.4", None);
        req.headers_mut().insert("authorization", format!("ApiKey {}", key.key).parse().unwrap());
        assert_eq!(parts(&redeem_verification::handle(&t.app, req).await).0, 200);

        // Delivery that fails (retried, then for good) and a bounce.
        t.outbox.fail_next("bounced.person@example.com", 1);
        t.outbox.refuse("refused.person@example.com");
        for to in ["bounced.person@example.com", "refused.person@example.com"] {
            let (id, answer) = t.captcha().await;
            secrets.push(answer.clone());
            let body = json!({"channel": "email", "to": to, "purpose": "register",
                "captcha": {"id": id, "answer": answer}});
            let sent = parts(&send_code::handle(&t.app, request(&body, "192.0.2.4", None)).await);
            assert_eq!(sent.0, 202);
        }
        let bounce = vericode_tests::ses_bounce_event("bounced.person@example.com");
        record_bounces::handle(&t.app, &bounce).await.unwrap();
    }

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("code send accepted")
            && logs.contains("code checked")
            && logs.contains("account deleted")
            && logs.contains("verification redeemed"),
        "logs were captured"
    );
    assert!(
        logs.contains("will be tried again")
            && logs.contains("gave up on a message")
            && logs.contains("address suppressed"),
        "delivery failures and bounces were logged"
    );
    assert!(logs.contains("s***@example.com"), "addresses appear masked");
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs");
    }
    for address in [
        "secret.person@example.com",
        "Secret.Person",
        "8613800138000",
        "owner@example.com",
        "bounced.person@example.com",
        "refused.person@example.com",
        "confirm.person@example.com",
    ] {
        let line = logs.lines().find(|l| l.contains(address));
        assert!(line.is_none(), "{address} reached the logs: {line:?}");
    }
}
