//! The dev server over real HTTP: in process on the embedded store, and the
//! real binary with `STORE=dynamodb` against DynamoDB Local.

use devserver::{Dev, Route, routes};
use lambda_http::http::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use vericode_tests::{Backend, TestApp, app, dynamodb_client, dynamodb_endpoint};

/// The dev server over a test app, with its dev-only powers.
fn dev(t: &TestApp) -> Dev {
    Dev {
        services: t.app.clone(),
        answers: Some(t.answers.clone()),
        mailbox: Some(t.mailbox.clone()),
        events: Some(t.events.clone()),
        relay: None,
        cors: devserver::Cors::Off,
    }
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

async fn captcha_round_trip(base: &str) {
    let http = reqwest::Client::new();
    let resp = http.post(format!("{base}/v1/captchas")).json(&json!({})).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 180);
    assert!(body["image"].as_str().unwrap().starts_with("data:image/png;base64,"));
    let id = body["captcha_id"].as_str().unwrap();

    let resp = http.get(format!("{base}/_dev/captchas/{id}")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let answer: Value = resp.json().await.unwrap();
    let answer = answer["answer"].as_str().unwrap();
    assert!(domain::captcha::render::LENGTHS.contains(&answer.len()), "{answer}");
    assert!(answer.chars().all(|c| domain::captcha::render::ALPHABET.contains(&c)), "{answer}");

    let resp =
        http.get(format!("{base}/_dev/captchas/{}", uuid::Uuid::new_v4())).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

async fn error_envelopes(base: &str) {
    let http = reqwest::Client::new();
    let resp = http.get(format!("{base}/v1/nope")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");

    let resp = http.get(format!("{base}/v1/captchas")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");

    let resp =
        http.post(format!("{base}/v1/captchas")).body("x".repeat(20_000)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");

    let resp = http
        .post(format!("{base}/v1/captchas"))
        .header("accept-language", "zh-CN")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_request");
    assert_eq!(body["error"]["message"], "请求体不是有效的 JSON。");
}

async fn solved_captcha(base: &str) -> Value {
    let http = reqwest::Client::new();
    let c: Value =
        http.post(format!("{base}/v1/captchas")).send().await.unwrap().json().await.unwrap();
    let id = c["captcha_id"].as_str().unwrap();
    let a: Value =
        reqwest::get(format!("{base}/_dev/captchas/{id}")).await.unwrap().json().await.unwrap();
    json!({"id": id, "answer": a["answer"]})
}

async fn send_code(base: &str, channel: &str, to: &str) {
    let body = json!({"channel": channel, "to": to, "purpose": "register", "captcha": solved_captcha(base).await});
    let resp =
        reqwest::Client::new().post(format!("{base}/v1/codes")).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
}

async fn verify_code(base: &str, to: &str, code: &str) -> StatusCode {
    let body = json!({"channel": "email", "to": to, "purpose": "register", "code": code});
    reqwest::Client::new()
        .post(format!("{base}/v1/codes/verify"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn embedded_store_over_http() {
    let t = app(Backend::Memory).await;
    let base = serve(devserver::router(dev(&t))).await;
    captcha_round_trip(&base).await;
    error_envelopes(&base).await;

    // captcha → send → outbox → verify, as the README shows it.
    send_code(&base, "email", "Newcomer@Example.com").await;
    let outbox: Value = reqwest::get(format!("{base}/_dev/messages?to=newcomer@example.com"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = outbox["messages"][0]["code"].as_str().unwrap().to_string();
    assert_eq!(outbox["messages"][0]["purpose"], "register");
    assert_eq!(verify_code(&base, "newcomer@example.com", &code).await, StatusCode::OK);

    // A phone number in the query, with its `+` turned into a space or kept.
    send_code(&base, "sms", "+8613800138000").await;
    for q in ["+8613800138000", "%2B8613800138000", "8613800138000"] {
        let outbox: Value = reqwest::get(format!("{base}/_dev/messages?to={q}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(outbox["messages"].as_array().unwrap().len(), 1, "{q}");
    }
    let resp = reqwest::get(format!("{base}/_dev/messages?to=nonsense")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // The playground and the OpenAPI document.
    let resp = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(resp.text().await.unwrap().contains("Vericode playground"));
    let resp = reqwest::get(format!("{base}/openapi.yaml")).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/yaml");
    assert!(resp.text().await.unwrap().starts_with("openapi: 3.1.0"));
}

/// The caller's address reaches handlers as API Gateway's `sourceIp`.
#[tokio::test]
async fn the_client_ip_is_passed_on() {
    let t = app(Backend::Memory).await;
    let mut table = routes();
    table.push(Route {
        method: Method::GET,
        path: "/echo-ip",
        function: "echo-ip",
        handler: |_, req| {
            Box::pin(async move {
                let ip = edge::request::client_ip(&req).map(|ip| ip.to_string());
                edge::response::json(StatusCode::OK, &json!({ "ip": ip }), false)
            })
        },
    });
    let base = serve(devserver::router_with(dev(&t), table)).await;
    let body: Value = reqwest::get(format!("{base}/echo-ip")).await.unwrap().json().await.unwrap();
    assert_eq!(body["ip"], "127.0.0.1");
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn devserver_binary() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "devserver", "--bins"])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(status.success(), "building the dev server failed");
    let target = std::env::var("CARGO_TARGET_DIR").map(Into::into).unwrap_or(root.join("target"));
    target.join("debug").join("devserver")
}

/// The real binary, as the README runs it, with `STORE=dynamodb` and
/// `DELIVERY=aws`: it builds the real DynamoDB, SES and SNS clients from the
/// environment, creates the table (with TTL) itself and serves the API.
#[tokio::test]
async fn the_binary_with_the_real_adapters() {
    let stand_in = std::env::var("VERICODE_TEST_AWS")
        .unwrap_or_else(|_| panic!("VERICODE_TEST_AWS is not set: run scripts/test.sh"));
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(aws::http_client())
        .endpoint_url(&stand_in)
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let from = format!("dev-{}@example.com", uuid::Uuid::new_v4().simple());
    aws_sdk_ses::Client::new(&sdk)
        .verify_email_identity()
        .email_address(&from)
        .send()
        .await
        .unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let table = format!("dev-{}", uuid::Uuid::new_v4());
    let _server = Server(
        Command::new(devserver_binary())
            .env("PORT", port.to_string())
            .env("STORE", "dynamodb")
            .env("TABLE_NAME", &table)
            .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint())
            .env("AWS_ENDPOINT_URL", &stand_in)
            .env("DELIVERY", "aws")
            .env("EMAIL_FROM", &from)
            .env_remove("DYNAMODB_ENDPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if reqwest::get(format!("{base}/")).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the dev server did not start");
    captcha_round_trip(&base).await;
    error_envelopes(&base).await;

    let client = dynamodb_client().await;
    let ttl = client.describe_time_to_live().table_name(&table).send().await.unwrap();
    assert_eq!(ttl.time_to_live_description().unwrap().attribute_name(), Some("expires_at"));
    let scan = client.scan().table_name(&table).send().await.unwrap();
    assert_eq!(scan.count(), 1, "one captcha stored");

    // A code by SES, read back from the stand-in, checked through the API.
    let to = format!("binary-{}@example.com", uuid::Uuid::new_v4().simple());
    send_code(&base, "email", &to).await;
    // Delivered in process right after the commit, off the request's path:
    // within a second.
    let code = mailed_code(&stand_in, &to).await;
    assert_eq!(verify_code(&base, &to, "000000").await, StatusCode::BAD_REQUEST);
    assert_eq!(verify_code(&base, &to, &code).await, StatusCode::OK);
    // No outbox when delivering for real.
    let resp = reqwest::get(format!("{base}/_dev/messages?to={to}")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Login links point at this server's own /login by default.
    let to = format!("link-{}@example.com", uuid::Uuid::new_v4().simple());
    send_code(&base, "email", &to).await;
    let code = mailed_code(&stand_in, &to).await;
    let http = reqwest::Client::new();
    let register = json!({"email": to, "password": "long enough", "code": code});
    let resp = http.post(format!("{base}/v1/accounts")).json(&register).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let token = resp.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let resp = http.post(format!("{base}/v1/login-links")).bearer_auth(&token).json(&json!({}));
    let link: Value = resp.send().await.unwrap().json().await.unwrap();
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{base}/login?authorization=")), "{url}");
}

/// The code in the newest email the stand-in holds for `to`, waiting up to
/// a second for it.
async fn mailed_code(stand_in: &str, to: &str) -> String {
    for _ in 0..20 {
        let data: Value = reqwest::get(format!("{stand_in}/moto-api/data.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let all = data["ses"]["Message"].as_array().cloned().unwrap_or_default();
        if let Some(mail) = all.iter().rev().find(|m| m["destinations"]["ToAddresses"][0] == to) {
            let subject = mail["subject"].as_str().unwrap();
            let code: String = subject.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(code.len(), 6, "{subject}");
            return code;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no email reached SES for {to} within a second")
}

/// Invite-only registration bootstraps on the embedded store too: the dev
/// server's `POST /_dev/invites` makes the first invite.
#[tokio::test]
async fn a_dev_route_makes_the_first_invite() {
    let mut cfg = vericode_tests::config();
    cfg.registration_mode = domain::config::RegistrationMode::Invite;
    let t = vericode_tests::app_with(Backend::Memory, cfg).await;
    let base = serve(devserver::router(dev(&t))).await;
    let http = reqwest::Client::new();
    let resp = http.post(format!("{base}/_dev/invites")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let invite = resp.json::<Value>().await.unwrap()["invite"].as_str().unwrap().to_string();
    send_code(&base, "email", "first@example.com").await;
    let code = t.last_code("first@example.com").unwrap();
    let register = |invite: &str| json!({"email": "first@example.com", "password": "long enough", "code": code, "invite": invite});
    let resp = http.post(format!("{base}/v1/accounts")).json(&register("nope")).send().await;
    assert_eq!(resp.unwrap().status(), StatusCode::FORBIDDEN);
    let resp = http.post(format!("{base}/v1/accounts")).json(&register(&invite)).send().await;
    assert_eq!(resp.unwrap().status(), StatusCode::CREATED);
}

/// `vericode-admin invite` bootstraps an invite-only deployment.
#[tokio::test]
async fn the_admin_command_prints_working_invites() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = devserver_binary().with_file_name("vericode-admin");
    let client = dynamodb_client().await;
    let table = vericode_tests::fresh_table(&client).await;
    let cfg = vericode_tests::config();
    use base64::Engine as _;
    let jwt = base64::engine::general_purpose::STANDARD.encode(cfg.jwt_signing_key);
    let code_key = base64::engine::general_purpose::STANDARD.encode(cfg.code_key);
    let out = Command::new(&bin)
        .args(["invite", "2"])
        .current_dir(&root)
        .env("TABLE_NAME", &table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint())
        .env("JWT_SIGNING_KEY", &jwt)
        .env("CODE_KEY", base64::engine::general_purpose::STANDARD.encode(cfg.code_key))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let invites: Vec<String> =
        String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect();
    assert_eq!(invites.len(), 2);

    // Register with one on the same table and key, invite-only.
    let mut cfg = cfg;
    cfg.registration_mode = domain::config::RegistrationMode::Invite;
    let store = aws::dynamodb::DynamoStore::new(client, table.clone());
    let t = vericode_tests::services_over(Arc::new(store), cfg, None);
    t.clock.set(domain::ports::Clock::now(&domain::ports::SystemClock));
    let (app, answers, outbox) = (&*t.app, &t.answers, &t.mailbox);
    let c = domain::captcha::create(app).await.unwrap();
    let captcha = json!({"id": c.captcha_id, "answer": answers.answer(&c.captcha_id).unwrap()});
    let send = json!({"channel": "email", "to": "first@example.com", "purpose": "register", "captcha": captcha});
    assert_eq!(
        vericode_tests::parts(
            &send_code::handle(app, vericode_tests::request(&send, "192.0.2.9", None)).await
        )
        .0,
        202
    );
    let code = outbox.to("first@example.com")[0].code.clone().unwrap();
    let register = json!({"email": "first@example.com", "password": "long enough", "code": code, "invite": invites[0]});
    let (status, body) = vericode_tests::parts(
        &create_account::handle(app, vericode_tests::request(&register, "192.0.2.9", None)).await,
    );
    assert_eq!(status, 201, "{body}");

    // An API key: printed once, works, and is revoked by its id.
    let admin = |args: &[&str]| {
        Command::new(&bin)
            .args(args)
            .current_dir(&root)
            .env("TABLE_NAME", &table)
            .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint())
            .env("JWT_SIGNING_KEY", &jwt)
            .env("CODE_KEY", &code_key)
            .output()
            .unwrap()
    };
    let out = admin(&["api-key", "create", "--name", "backend"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let stored = domain::api_keys::authenticate(app, &key).await.expect("the key works");
    assert_eq!(stored.name, "backend");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&stored.id));
    let out = admin(&["api-key", "revoke", &stored.id]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(domain::api_keys::authenticate(app, &key).await.is_err(), "revoked");
    assert!(!admin(&["api-key", "revoke", &stored.id]).status.success());
    assert_eq!(admin(&["api-key", "create"]).status.code(), Some(2), "usage");

    // The SMS guard: a prefix blocked (here after 5 unused codes) is listed
    // with its reason, and lifted.
    let mut cfg = vericode_tests::config();
    cfg.sms_guard.min_sends = 5;
    let store = aws::dynamodb::DynamoStore::new(dynamodb_client().await, table.clone());
    let t = vericode_tests::services_over(Arc::new(store), cfg, None);
    t.clock.set(domain::ports::Clock::now(&domain::ports::SystemClock));
    let t = &t;
    let sms = |i: u32| async move {
        let c = domain::captcha::create(&t.app).await.unwrap();
        let captcha =
            json!({"id": c.captcha_id, "answer": t.answers.answer(&c.captcha_id).unwrap()});
        let body = json!({"channel": "sms", "to": format!("+447911123{i:03}"),
            "purpose": "register", "captcha": captcha});
        let ip = format!("192.0.2.{}", i % 250 + 1);
        vericode_tests::parts(
            &send_code::handle(&t.app, vericode_tests::request(&body, &ip, None)).await,
        )
        .0
    };
    for i in 0..5 {
        assert_eq!(sms(i).await, 202);
    }
    assert_eq!(sms(5).await, 403, "blocked");
    let out = admin(&["sms-guard", "status"]);
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(listed.starts_with("prefix\t+447911123\tenforce\tuntil "), "{listed}");
    assert!(listed.contains("5 sends and 0 conversions"), "{listed}");
    let out = admin(&["sms-guard", "unblock", "+447911123"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sms(6).await, 202, "lifted");
    assert_eq!(admin(&["sms-guard", "unblock", "+447911123"]).status.code(), Some(1));
    let out = admin(&["sms-guard", "status"]);
    assert!(out.stdout.is_empty() && String::from_utf8_lossy(&out.stderr).contains("nothing"));
}

/// A deployed function refuses to start without its required settings, and
/// says which one is missing.
#[test]
fn a_function_names_a_missing_setting_at_start() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "deliver", "-p", "send-code"])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(status.success());
    let run_bin = |name: &str, env: &[(&str, &str)]| {
        let mut cmd = Command::new(devserver_binary().with_file_name(name));
        cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout)
    };
    let run = |env: &[(&str, &str)]| run_bin("deliver", env);
    assert!(run(&[]).contains("JWT_SIGNING_KEY"));
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let secret = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    assert!(run(&[("JWT_SIGNING_KEY", "short")]).contains("JWT_SIGNING_KEY"));
    assert!(run(&[("JWT_SIGNING_KEY", secret)]).contains("CODE_KEY"));
    assert!(run(&[("JWT_SIGNING_KEY", secret), ("CODE_KEY", key)]).contains("EMAIL_FROM"));
    assert!(run(&[("JWT_SIGNING_KEY", secret), ("CODE_KEY", "short")]).contains("CODE_KEY"));
    // The functions behind the API send nothing (the delivery function
    // does) and need no EMAIL_FROM: one gets as far as asking for the Lambda
    // runtime, which is not there outside Lambda.
    let out = run_bin(
        "send-code",
        &[("JWT_SIGNING_KEY", secret), ("CODE_KEY", key), ("AWS_REGION", "us-east-1")],
    );
    assert!(out.contains("AWS_LAMBDA") && !out.contains("EMAIL_FROM"), "{out}");
    // A broken template set stops the start, naming its file: the send
    // function reads the sets' layout (a set without `en`), the delivery
    // function compiles them (a template that does not parse).
    let dir = std::env::temp_dir().join(format!("vericode-broken-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("welcome/zh-Hans")).unwrap();
    std::fs::write(dir.join("welcome/zh-Hans/code.sms.txt"), "{{ code }}").unwrap();
    let layout = dir.display().to_string();
    let with_templates = |name: &str, dir: &str| {
        run_bin(
            name,
            &[
                ("JWT_SIGNING_KEY", secret),
                ("CODE_KEY", key),
                ("AWS_REGION", "us-east-1"),
                ("EMAIL_FROM", "no-reply@example.com"),
                ("TEMPLATES_DIR", dir),
            ],
        )
    };
    let out = with_templates("send-code", &layout);
    assert!(out.contains("welcome/en") && !out.contains("AWS_LAMBDA"), "{out}");
    let dir = std::env::temp_dir().join(format!("vericode-broken-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("welcome/en")).unwrap();
    std::fs::write(dir.join("welcome/en/code.sms.txt"), "{% if %}").unwrap();
    let out = with_templates("deliver", &dir.display().to_string());
    assert!(out.contains("welcome/en/code.sms.txt") && !out.contains("AWS_LAMBDA"), "{out}");
}

/// Every response carries `nosniff` and `no-referrer`, the playground a
/// strict policy; preflights from an allowed origin are answered, and
/// another origin gets no CORS header at all.
#[tokio::test]
async fn headers_and_cors() {
    let t = app(Backend::Memory).await;
    let mut d = dev(&t);
    d.cors = devserver::Cors::parse(Some("https://app.example"));
    let base = serve(devserver::router(d)).await;
    let http = reqwest::Client::new();

    for (method, path) in [
        (reqwest::Method::POST, "/v1/captchas"),
        (reqwest::Method::GET, "/v1/me"),
        (reqwest::Method::GET, "/v1/nope"),
        (reqwest::Method::GET, "/"),
        (reqwest::Method::GET, "/openapi.yaml"),
    ] {
        let resp =
            http.request(method, format!("{base}{path}")).json(&json!({})).send().await.unwrap();
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(resp.headers()["referrer-policy"], "no-referrer", "{path}");
    }
    let page = http.get(format!("{base}/")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.starts_with("default-src 'none'") && csp.contains("script-src 'self' 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");

    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, format!("{base}/v1/codes"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let ok = preflight("https://app.example").await.unwrap();
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example");
    let methods = ok.headers()["access-control-allow-methods"].to_str().unwrap();
    assert!(["GET", "POST", "PUT", "DELETE"].iter().all(|m| methods.contains(m)), "{methods}");
    let allowed = ok.headers()["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));

    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().keys().all(|k| !k.as_str().starts_with("access-control-")));

    let call = |origin: &'static str| {
        http.post(format!("{base}/v1/captchas")).header("origin", origin).json(&json!({})).send()
    };
    let resp = call("https://app.example").await.unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "https://app.example");
    assert_eq!(resp.headers()["access-control-expose-headers"], "retry-after");
    let resp = call("https://evil.example").await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert!(resp.headers().keys().all(|k| !k.as_str().starts_with("access-control-")));
}

/// A handler that panics answers `500` in the error envelope; the server
/// goes on serving.
#[tokio::test]
async fn a_panicking_handler_is_a_500_envelope() {
    let t = app(Backend::Memory).await;
    let mut routes = devserver::routes();
    routes.push(devserver::Route {
        method: axum::http::Method::GET,
        path: "/v1/panic",
        function: "panic",
        handler: |_, _| Box::pin(async { panic!("a bug") }),
    });
    let base = serve(devserver::router_with(dev(&t), routes)).await;
    let resp = reqwest::get(format!("{base}/v1/panic")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal_error");
    assert!(!body.to_string().contains("a bug"));
    captcha_round_trip(&base).await;
}

/// Every account flow over HTTP through the dev server's router, on the
/// embedded store and on DynamoDB Local: register, log in both ways, bind,
/// step up, change the password, a login link (inspected, its page, then
/// redeemed), an invite, reset, log out, delete.
async fn every_account_flow_over_http(b: Backend) {
    let t = app(b).await;
    let base = &serve(devserver::router(dev(&t))).await;
    let http = &reqwest::Client::new();
    let call = |method: Method, path: &str, body: Value, token: Option<String>| {
        let mut req = http.request(method, format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
        }
    };
    let code =
        |channel: &'static str, to: &'static str, purpose: &'static str, token: Option<String>| {
            let t = &t;
            async move {
                let mut body = json!({"channel": channel, "to": to, "purpose": purpose});
                if token.is_none() {
                    body["captcha"] = solved_captcha(base).await;
                }
                let (status, resp) = call(Method::POST, "/v1/codes", body, token).await;
                assert_eq!(status, 202, "{purpose}: {resp}");
                t.last_code(to).unwrap()
            }
        };
    let (email, phone) = ("http@example.com", "+8613800138000");

    let c = code("email", email, "register", None).await;
    let register =
        json!({"email": email, "password": "first password", "code": c, "display_name": "Http"});
    let (status, body) = call(Method::POST, "/v1/accounts", register, None).await;
    assert_eq!(status, 201, "{body}");
    let s = Some(body["token"].as_str().unwrap().to_string());

    let login = json!({"email": email, "password": "first password", "captcha": solved_captcha(base).await});
    assert_eq!(call(Method::POST, "/v1/sessions", login, None).await.0, 200);

    let c = code("sms", phone, "bind", s.clone()).await;
    let bind = json!({"phone": phone, "code": c, "current_password": "first password"});
    assert_eq!(call(Method::PUT, "/v1/me/phone", bind, s.clone()).await.0, 200);

    let c = code("sms", phone, "verify", s.clone()).await;
    let check = json!({"channel": "sms", "to": phone, "purpose": "verify", "code": c});
    let (status, body) = call(Method::POST, "/v1/codes/verify", check, s.clone()).await;
    assert_eq!(status, 200, "{body}");
    let change =
        json!({"step_up_token": body["verification_token"], "new_password": "second password"});
    assert_eq!(call(Method::PUT, "/v1/me/password", change, s.clone()).await.0, 204);

    let (status, link) = call(Method::POST, "/v1/login-links", json!({}), s.clone()).await;
    assert_eq!(status, 201);
    let url = link["url"].as_str().unwrap().to_string();
    let page = http.get(url.replace("http://localhost:3000", base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("/v1/login-links/inspect"));
    let link = json!({"authorization": link["authorization"]});
    let (status, who) = call(Method::POST, "/v1/login-links/inspect", link.clone(), None).await;
    assert_eq!((status, &who["login_as"]["display_name"]), (200, &json!("Http")), "{who}");
    assert_eq!(call(Method::POST, "/v1/login-links/redeem", link, None).await.0, 200);

    assert_eq!(call(Method::POST, "/v1/invites", json!({}), s.clone()).await.0, 201);

    t.clock.advance(61);
    let c = code("email", email, "reset_password", None).await;
    let reset = json!({"email": email, "code": c, "new_password": "third password"});
    assert_eq!(call(Method::POST, "/v1/password-resets", reset, None).await.0, 204);
    assert_eq!(call(Method::GET, "/v1/me", Value::Null, s.clone()).await.0, 401);

    let c = code("email", email, "login", None).await;
    let (status, body) =
        call(Method::POST, "/v1/sessions", json!({"email": email, "code": c}), None).await;
    assert_eq!(status, 200, "{body}");
    let s = Some(body["token"].as_str().unwrap().to_string());
    let login = json!({"email": email, "password": "third password", "captcha": solved_captcha(base).await});
    let (_, body) = call(Method::POST, "/v1/sessions", login, None).await;
    let other = Some(body["token"].as_str().unwrap().to_string());
    assert_eq!(call(Method::DELETE, "/v1/sessions/current", json!({}), other.clone()).await.0, 204);
    assert_eq!(call(Method::GET, "/v1/me", Value::Null, other).await.0, 401);

    let delete = json!({"current_password": "third password"});
    assert_eq!(call(Method::DELETE, "/v1/me", delete, s.clone()).await.0, 204);
    assert_eq!(call(Method::GET, "/v1/me", Value::Null, s).await.0, 401);
    t.clock.advance(61);
    let c = code("email", email, "register", None).await;
    let again = json!({"email": email, "password": "fourth password", "code": c});
    assert_eq!(call(Method::POST, "/v1/accounts", again, None).await.0, 201, "the address is free");

    // Confirm an address and redeem its token server-side with a dev API key.
    let c = code("email", "confirm@example.com", "confirm", None).await;
    let check =
        json!({"channel": "email", "to": "confirm@example.com", "purpose": "confirm", "code": c});
    let (_, verified) = call(Method::POST, "/v1/codes/verify", check, None).await;
    let made = http.post(format!("{base}/_dev/api-keys")).json(&json!({"name": "dev"})).send();
    let made: Value = made.await.unwrap().json().await.unwrap();
    let redeem = |key: Option<&str>| {
        let mut req = http
            .post(format!("{base}/v1/verifications/redeem"))
            .json(&json!({"verification_token": verified["verification_token"]}));
        if let Some(key) = key {
            req = req.header("authorization", format!("ApiKey {key}"));
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(redeem(None).await.0, 401);
    let (status, body) = redeem(made["api_key"].as_str()).await;
    assert_eq!((status, &body["to"]), (200, &json!("confirm@example.com")), "{body}");
    assert_eq!(redeem(made["api_key"].as_str()).await.0, 400, "once");
}

vericode_tests::both_stores!(every_account_flow_over_http);
