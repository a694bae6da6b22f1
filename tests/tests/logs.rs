//! Logs never carry a code, a captcha answer, a token or a whole address.

use serde_json::json;
use std::sync::{Arc, Mutex};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use vericode_tests::{Backend, LogCapture, app, parts, request};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_the_logs() {
    let capture = LogCapture::default();
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
        secrets.extend(authenticator(&t, &user, "a secret password value").await);
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
        t.mailbox.fail_next("bounced.person@example.com", 1);
        t.mailbox.refuse("refused.person@example.com");
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

    let logs = capture.text();
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

/// An authenticator enrolled and used under `session`: the secrets it shows
/// (the secret, its URI, codes, recovery codes, the tokens of a login).
async fn authenticator(t: &vericode_tests::TestApp, session: &str, password: &str) -> Vec<String> {
    use domain::ports::Clock as _;
    let ip = "192.0.2.4";
    let email = "secret.person@example.com";
    t.clock.advance(61);
    let send = json!({"channel": "email", "to": email, "purpose": "verify"});
    assert_eq!(parts(&send_code::handle(&t.app, request(&send, ip, Some(session))).await).0, 202);
    let check = json!({"channel": "email", "to": email, "purpose": "verify",
        "code": t.last_code(email).unwrap()});
    let (_, verified) =
        parts(&verify_code::handle(&t.app, request(&check, ip, Some(session))).await);
    let step_up = verified["verification_token"].as_str().unwrap().to_string();
    let enrol = json!({"step_up_token": step_up});
    let (status, e) = parts(&enrol_totp::handle(&t.app, request(&enrol, ip, Some(session))).await);
    assert_eq!(status, 201, "{e}");
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    let secret = domain::totp::secret_from_base32(e["secret"].as_str().unwrap()).unwrap();
    let step = t.clock.now() / domain::totp::STEP_SECS;
    let code = |n: i64| domain::totp::code_at(&secret, step + n);
    let confirm = json!({"factor_id": e["factor_id"], "code": code(0)});
    let (status, codes) =
        parts(&confirm_totp::handle(&t.app, request(&confirm, ip, Some(session))).await);
    assert_eq!(status, 200, "{codes}");
    let recovery: Vec<String> =
        codes["recovery_codes"].as_array().unwrap().iter().map(text).collect();
    let mut secrets = vec![step_up, text(&e["secret"]), text(&e["otpauth_uri"]), code(0), code(1)];
    for answer in [json!({"totp": code(1)}), json!({"recovery_code": recovery[0]})] {
        let (id, solved) = t.captcha().await;
        let login =
            json!({"email": email, "password": password, "captcha": {"id": id, "answer": solved}});
        let (_, first) = parts(&create_session::handle(&t.app, request(&login, ip, None)).await);
        let mut second = answer;
        second["mfa_token"] = first["mfa_token"].clone();
        let (status, body) = parts(&complete_mfa::handle(&t.app, request(&second, ip, None)).await);
        assert_eq!(status, 200, "{body}");
        secrets.extend([text(&first["mfa_token"]), text(&body["token"])]);
    }
    secrets.extend(recovery.iter().flat_map(|c| [c.clone(), c.replace('-', "")]));
    secrets
}

/// A function binary as Lambda runs it, under a local Runtime API, at the
/// most verbose `RUST_LOG` there is: the runtime's own crates, which log
/// each raw invocation event at `trace` (passwords, captcha answers, bearer
/// tokens and API keys among it), stay under the ceiling too.
#[tokio::test]
async fn a_function_binary_at_trace_logs_no_secret() {
    use axum::extract::State;
    use axum::routing::{get, post};
    use std::process::{Command, Stdio};

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let built = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "create-session"])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(built.success(), "building create-session failed");
    let target = std::env::var("CARGO_TARGET_DIR").map(Into::into).unwrap_or(root.join("target"));
    let binary = target.join("debug").join("create-session");

    let (password, answer, bearer) =
        ("runtime-secret-password", "RUNTIMEANSWERX", "runtime.bearer.secret-token");
    let mut event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("events/create-session.password.json")).unwrap(),
    )
    .unwrap();
    event["body"] = json!({"email": "runtime.person@example.com", "password": password,
        "captcha": {"id": "00000000-0000-4000-8000-000000000000", "answer": answer}})
    .to_string()
    .into();
    event["headers"]["authorization"] = format!("Bearer {bearer}").into();

    // The Runtime API: one invocation, then a "next" that never ends.
    #[derive(Clone)]
    struct Rig {
        event: Arc<Mutex<Option<serde_json::Value>>>,
        answered: Arc<tokio::sync::Notify>,
        answer: Arc<Mutex<Option<String>>>,
    }
    let rig = Rig {
        event: Arc::new(Mutex::new(Some(event))),
        answered: Arc::default(),
        answer: Arc::default(),
    };
    let next = async |State(rig): State<Rig>| {
        let Some(event) = rig.event.lock().unwrap().take() else {
            return std::future::pending().await;
        };
        let deadline = (std::time::SystemTime::now() + std::time::Duration::from_secs(30))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            .to_string();
        (
            [
                ("lambda-runtime-aws-request-id", "runtime-request-1".to_string()),
                ("lambda-runtime-deadline-ms", deadline),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:create-session".to_string(),
                ),
            ],
            event.to_string(),
        )
    };
    let done = async |State(rig): State<Rig>, body: String| {
        *rig.answer.lock().unwrap() = Some(body);
        rig.answered.notify_one();
        axum::http::StatusCode::ACCEPTED
    };
    let app = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(done))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(done))
        .route("/2018-06-01/runtime/init/error", post(done))
        .with_state(rig.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let client = vericode_tests::dynamodb_client().await;
    let table = vericode_tests::fresh_table(&client).await;
    let out = tempfile_path("create-session.log");
    let log = std::fs::File::create(&out).unwrap();
    let mut child = Command::new(&binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "create-session")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/create-session")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "trace")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_DYNAMODB", vericode_tests::dynamodb_endpoint())
        .env("TABLE_NAME", &table)
        .env("JWT_SIGNING_KEY", "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=")
        .env("CODE_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .env("RUST_LOG", "trace,lambda_runtime=trace,lambda_runtime_api_client=trace,lambda_http=trace,tower=trace,tower_http=trace,axum=trace,hyper=trace")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let answered =
        tokio::time::timeout(std::time::Duration::from_secs(30), rig.answered.notified());
    let answered = answered.await;
    let _ = child.kill();
    let _ = child.wait();
    answered.expect("the function answered its invocation");
    let reply = rig.answer.lock().unwrap().clone().unwrap();
    assert!(reply.contains("403") && reply.contains("captcha_invalid"), "{reply}");

    let logs = std::fs::read_to_string(&out).unwrap();
    assert!(!logs.trim().is_empty(), "the function logged");
    for secret in [password, answer, bearer] {
        let line = logs.lines().find(|l| l.contains(secret));
        assert!(line.is_none(), "a secret reached the logs: {line:?}");
    }
    let line = logs.lines().find(|l| l.contains("runtime.person@example.com"));
    assert!(line.is_none(), "a whole address reached the logs: {line:?}");
}

/// A fresh file path under the system's temporary folder.
fn tempfile_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{}-{name}", uuid::Uuid::new_v4()))
}
