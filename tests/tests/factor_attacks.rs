//! Attacks on authenticator apps (TOTP) and recovery codes, over HTTP, on
//! both stores (two of them on DynamoDB only, behind a proxy that fails one
//! request). Codes are computed by `pyotp`, as in `factors.rs`. Each test
//! names the rule it holds the service to.

mod http;

use http::{Reply, Server};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use vericode_tests::{Backend, both_stores, pyotp};

const PASSWORD: &str = "correct horse battery";

fn now(s: &Server) -> i64 {
    use domain::ports::Clock as _;
    s.t.clock.now()
}

/// The code for the time step `steps` away from now.
fn code(s: &Server, secret: &str, steps: i64) -> String {
    pyotp(secret, &[now(s) + 30 * steps]).remove(0)
}

/// A six-digit code that is right for no step within two of now: a guess
/// that is surely wrong.
fn wrong_code(s: &Server, secret: &str) -> String {
    let t = now(s);
    let near = pyotp(secret, &[t - 60, t - 30, t, t + 30, t + 60]);
    (0..).map(|n| format!("{n:06}")).find(|c| !near.contains(c)).unwrap()
}

async fn call(s: &Server, method: Method, path: &str, body: Value, token: Option<&str>) -> Reply {
    s.call("127.0.0.1", method, path, &body, token).await
}

struct Enrolled {
    token: String,
    secret: String,
    factor: String,
    recovery: Vec<String>,
}

/// Enrols and confirms an app (at the current step) under `token`, the
/// session of `email`, stepping up by a code to it.
async fn enrol(s: &Server, ip: &str, token: &str, email: &str) -> Enrolled {
    let body = json!({"step_up_token": s.step_up_token(email, token).await});
    let enrolment = s.call(ip, Method::POST, "/v1/me/factors/totp", &body, Some(token)).await;
    assert_eq!(enrolment.status, 201, "{:?}", enrolment.body);
    let secret = enrolment.body["secret"].as_str().unwrap().to_string();
    let factor = enrolment.body["factor_id"].as_str().unwrap().to_string();
    let confirm = json!({"factor_id": factor, "code": code(s, &secret, 0)});
    let reply = s.call(ip, Method::POST, "/v1/me/factors/totp/confirm", &confirm, Some(token));
    let reply = reply.await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let recovery = reply.body["recovery_codes"].as_array().unwrap();
    let recovery = recovery.iter().map(|c| c.as_str().unwrap().to_string()).collect();
    Enrolled { token: token.to_string(), secret, factor, recovery }
}

async fn enrolled(s: &Server, email: &str) -> Enrolled {
    let token = s.register(email, PASSWORD).await;
    enrol(s, "127.0.0.1", &token, email).await
}

async fn first_step_with(s: &Server, email: &str, password: &str) -> String {
    let reply = s.login_by_password("127.0.0.1", email, password).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["mfa_required"], true, "{:?}", reply.body);
    reply.body["mfa_token"].as_str().unwrap().to_string()
}

async fn first_step(s: &Server, email: &str) -> String {
    first_step_with(s, email, PASSWORD).await
}

async fn second_step(s: &Server, mfa_token: &str, answer: Value) -> Reply {
    let mut body = answer;
    body["mfa_token"] = json!(mfa_token);
    s.post("/v1/sessions/mfa", body, None).await
}

fn notices(s: &Server, to: &str) -> Vec<String> {
    let messages = s.t.mailbox.to(to);
    messages.into_iter().filter(|m| m.purpose == "security").map(|m| m.text).collect()
}

// ---------------------------------------------------------------------
// Limits and step-ups a stolen session or password could turn.
// ---------------------------------------------------------------------

/// Rule: an app's codes are guessed at most 10 times an hour per account
/// (`docs/security.md`, "Guessing an authenticator's code"). A stolen
/// session (no password) guesses them through `step_up_totp`, which is
/// throttled as a password: 10 per network per 15 minutes and 100 an hour
/// per account, apart from the second step's ten. Here three networks get
/// thirty guesses judged in a minute, and the right code then steps up
/// (a password change: the account is the thief's).
async fn step_up_guesses_share_the_accounts_ten(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "stepguess@example.com").await;
    let wrong = wrong_code(&s, &e.secret);
    let mut judged = 0;
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        for _ in 0..10 {
            let guess = json!({"step_up_totp": wrong});
            let path = "/v1/me/factors/recovery-codes";
            let reply = s.call(ip, Method::POST, path, &guess, Some(&e.token)).await;
            match reply.status {
                401 => judged += 1,
                429 => {}
                other => panic!("{other}: {:?}", reply.body),
            }
        }
    }
    let right = json!({"step_up_totp": code(&s, &e.secret, 1), "new_password": "the thief's own"});
    let taken = s.call("127.0.0.5", Method::PUT, "/v1/me/password", &right, Some(&e.token)).await;
    assert!(
        judged <= 10 && taken.status == 429,
        "a stolen session had {judged} wrong app codes judged within the hour (the second \
         step allows 10), and the right one past them answered {} {:?}",
        taken.status,
        taken.body
    );
}

/// Rule: "spending the hour's ten takes the password" (`docs/security.md`).
/// A stolen session, without the password, makes login links, redeems them
/// for `mfa_token`s and spends the account's ten: the owner, with the
/// password and the app, is refused for the hour.
async fn a_stolen_session_cannot_spend_the_owners_ten(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "spent@example.com").await;
    let wrong = wrong_code(&s, &e.secret);
    for _ in 0..2 {
        let empty = json!({});
        let link = s.call("127.0.0.9", Method::POST, "/v1/login-links", &empty, Some(&e.token));
        let link = link.await.body;
        let redeem = json!({"authorization": link["authorization"]});
        let reply =
            s.call("127.0.0.9", Method::POST, "/v1/login-links/redeem", &redeem, None).await;
        let mfa = reply.body["mfa_token"].as_str().unwrap().to_string();
        for _ in 0..5 {
            let body = json!({"mfa_token": mfa, "totp": wrong});
            let reply = s.call("127.0.0.9", Method::POST, "/v1/sessions/mfa", &body, None).await;
            assert_eq!(reply.status, 401);
        }
    }
    let mfa = first_step(&s, "spent@example.com").await;
    let reply = second_step(&s, &mfa, json!({"totp": code(&s, &e.secret, 1)})).await;
    assert_eq!(
        reply.status, 200,
        "the owner (password and app) is locked out by a session without the password: {:?}",
        reply.body
    );
}

/// Rule: with a stolen password, "the owner resets by code and the reset
/// wins" (`docs/security.md`, and the `factor_added` notice tells the owner
/// to reset the password). A thief with only the password logs in to an
/// account without an app and tries to enrol its own: the password alone
/// is no step-up for that, so the owner's reset by code takes the account
/// back.
async fn a_reset_by_code_takes_back_an_account_from_a_password_thief(b: Backend) {
    let s = Server::start(b).await;
    let email = "hostage@example.com";
    s.register(email, PASSWORD).await;
    let thief = s.login_by_password("127.0.0.9", email, PASSWORD).await;
    let thief = thief.body["token"].as_str().expect("one step: no app yet").to_string();
    let body = json!({"current_password": PASSWORD});
    let reply = s.call("127.0.0.9", Method::POST, "/v1/me/factors/totp", &body, Some(&thief));
    let reply = reply.await;
    assert_eq!(reply.status, 400, "the password alone enrols nothing: {:?}", reply.body);

    assert_eq!(s.send("email", email, "reset_password", None).await.status, 202);
    let sent = s.t.last_code(email).unwrap();
    let new = "the owner's own again";
    let reset = json!({"email": email, "code": sent, "new_password": new});
    assert_eq!(s.post("/v1/password-resets", reset, None).await.status, 204);
    let reply = s.login_by_password("127.0.0.1", email, new).await;
    assert!(
        reply.body["token"].is_string(),
        "the owner reset by code and is still held out by the thief's app: {:?}",
        reply.body
    );
    assert_eq!(
        s.call("127.0.0.9", Method::GET, "/v1/me", &Value::Null, Some(&thief)).await.status,
        401,
        "the reset ended the thief's session"
    );
}

// ---------------------------------------------------------------------
// Partial failures (DynamoDB behind a proxy that fails one request).
// ---------------------------------------------------------------------

/// A DynamoDB endpoint in front of DynamoDB Local that, while armed, fails
/// the next `UpdateItem` whose body holds the needle, before it reaches the
/// store (an error the SDK does not retry).
#[derive(Clone, Default)]
struct Proxy {
    armed: Arc<std::sync::Mutex<Option<(String, usize)>>>,
}

impl Proxy {
    /// Fails the next `times` `UpdateItem`s holding `needle`.
    fn arm(&self, needle: &str, times: usize) {
        *self.armed.lock().unwrap() = Some((needle.to_string(), times));
    }

    fn hit(&self, target: Option<&str>, body: &str) -> bool {
        let mut armed = self.armed.lock().unwrap();
        match armed.as_mut() {
            Some((needle, n))
                if *n > 0
                    && target == Some("DynamoDB_20120810.UpdateItem")
                    && body.contains(needle.as_str()) =>
            {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    async fn start(&self) -> String {
        use axum::body::Bytes;
        use axum::http::{HeaderMap, StatusCode};
        let upstream = vericode_tests::dynamodb_endpoint();
        let http = reqwest::Client::new();
        let me = self.clone();
        let handler = move |headers: HeaderMap, body: Bytes| {
            let (upstream, http, me) = (upstream.clone(), http.clone(), me.clone());
            async move {
                let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
                if me.hit(target, &String::from_utf8_lossy(&body)) {
                    let body = r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"injected fault"}"#;
                    let json = [("content-type", "application/x-amz-json-1.0")];
                    return (StatusCode::BAD_REQUEST, json, body.to_string());
                }
                let mut req = http.post(&upstream).body(body);
                for (name, value) in &headers {
                    if !matches!(name.as_str(), "host" | "content-length" | "accept-encoding") {
                        req = req.header(name, value);
                    }
                }
                let resp = req.send().await.unwrap();
                let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
                let text = resp.text().await.unwrap();
                (status, [("content-type", "application/x-amz-json-1.0")], text)
            }
        };
        let app = axum::Router::new().fallback(axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        endpoint
    }
}

/// A dev server over DynamoDB Local reached through `proxy`.
async fn server_behind(proxy: &Proxy) -> Server {
    let endpoint = proxy.start().await;
    let client = aws::dynamodb::client(&aws::sdk_config().await, Some(&endpoint));
    let table = vericode_tests::fresh_table(&vericode_tests::dynamodb_client().await).await;
    let mut cfg = vericode_tests::config();
    cfg.ip_window_max = 100_000;
    let store = Arc::new(aws::dynamodb::DynamoStore::new(client, table));
    Server::serve(vericode_tests::services_over(store, cfg, None)).await
}

/// Rule: a store fault costs the owner nothing (`faults.rs`: "a right
/// guess whose update landed but whose answer was lost still gives its
/// token"). A right recovery code whose failed-login slot fails to be
/// given back: the code is used up with the login, so the login stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refund_fault_does_not_burn_a_recovery_code() {
    let proxy = Proxy::default();
    let s = server_behind(&proxy).await;
    let e = enrolled(&s, "burnt@example.com").await;
    let mfa = first_step(&s, "burnt@example.com").await;
    proxy.arm("ADD n :minus_one\"", 1);
    let first = second_step(&s, &mfa, json!({"recovery_code": e.recovery[0]})).await;
    proxy.arm("", 0);
    assert_eq!(first.status, 200, "the code was used up: the login stands: {:?}", first.body);
    assert!(first.body["token"].is_string());
    let told = notices(&s, "burnt@example.com");
    assert!(told.iter().any(|n| n.contains("recovery code was used")), "{told:?}");
}

/// The claims of a JWT, unchecked.
fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Rule: a store fault leaves no state that locks the owner out. The
/// second step takes a slot in two counters at once; when the per-token
/// increment fails, the per-account slot taken beside it is never given
/// back. Ten such faults (a flaky minute, the owner pressing "Continue")
/// spend the account's ten: the owner's right code is then refused for
/// the hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fault_taking_slots_spends_none_of_the_accounts_ten() {
    let proxy = Proxy::default();
    let s = server_behind(&proxy).await;
    let e = enrolled(&s, "flaky@example.com").await;
    let mfa = first_step(&s, "flaky@example.com").await;
    let jti = claims(&mfa)["jti"].as_str().unwrap().to_string();
    let right = json!({"totp": code(&s, &e.secret, 1)});
    for _ in 0..10 {
        proxy.arm(&jti, 1);
        let reply = second_step(&s, &mfa, right.clone()).await;
        assert_eq!(reply.status, 503, "{:?}", reply.body);
    }
    proxy.arm("", 0);
    let mfa = first_step(&s, "flaky@example.com").await;
    let reply = second_step(&s, &mfa, right).await;
    assert_eq!(
        reply.status, 200,
        "ten store faults spent the account's ten wrong answers: {:?}",
        reply.body
    );
}

// ---------------------------------------------------------------------
// Attacks that fail (coverage beyond factors.rs).
// ---------------------------------------------------------------------

/// One recovery code raced in eight second steps: one session, one
/// notice, one code gone.
async fn a_recovery_code_raced_logs_in_once(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "racerc@example.com").await;
    let mut tokens = Vec::new();
    for _ in 0..8 {
        tokens.push(first_step(&s, "racerc@example.com").await);
    }
    let answer = json!({"recovery_code": e.recovery[3]});
    let replies =
        futures_util::future::join_all(tokens.iter().map(|t| second_step(&s, t, answer.clone())))
            .await;
    let statuses: Vec<_> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200 || s == 401), "{statuses:?}");
    let told = notices(&s, "racerc@example.com");
    let used = told.iter().filter(|n| n.contains("recovery code was used")).count();
    assert_eq!(used, 1, "{told:?}");
    let list = call(&s, Method::GET, "/v1/me/factors", Value::Null, Some(&e.token)).await.body;
    assert_eq!(list["recovery_codes_left"], 9);
}

/// A time step is taken once across paths: the second step's code is
/// refused for a step-up and the reverse, and a login racing a step-up
/// with one code gets one of them through.
async fn a_step_is_taken_once_across_login_and_step_up(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "cross@example.com").await;
    let next = code(&s, &e.secret, 1);
    let mfa = first_step(&s, "cross@example.com").await;
    let renew = |c: &str| json!({"step_up_totp": c});
    let (login, step_up) = tokio::join!(
        second_step(&s, &mfa, json!({"totp": next})),
        s.post("/v1/me/factors/recovery-codes", renew(&next), Some(&e.token))
    );
    let passed = [login.status, step_up.status].iter().filter(|&&s| s == 200).count();
    assert_eq!(passed, 1, "{login:?} {step_up:?}");
    assert!([login.status, step_up.status].contains(&401), "{login:?} {step_up:?}");

    s.t.clock.advance(60);
    let now_code = code(&s, &e.secret, 0);
    let mfa = first_step(&s, "cross@example.com").await;
    let reply = second_step(&s, &mfa, json!({"totp": now_code})).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = s.post("/v1/me/factors/recovery-codes", renew(&now_code), Some(&e.token)).await;
    assert_eq!(reply.status, 401, "the login's step again, for a step-up");
    let ahead = code(&s, &e.secret, 1);
    let reply = s.post("/v1/me/factors/recovery-codes", renew(&ahead), Some(&e.token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let mfa = first_step(&s, "cross@example.com").await;
    let reply = second_step(&s, &mfa, json!({"totp": ahead})).await;
    assert_eq!(reply.status, 401, "the step-up's step again, for a login");
    // A code of a step before the last taken is refused too.
    let reply = second_step(&s, &mfa, json!({"totp": now_code})).await;
    assert_eq!(reply.status, 401);
}

/// Token kinds beyond `factors.rs`: a verification token is no
/// `mfa_token`, an `mfa_token` is no step-up token nor a login's
/// verification token, and a password change (not only a reset) voids it.
async fn no_other_token_is_an_mfa_token(b: Backend) {
    let s = Server::start(b).await;
    let email = "kinds@example.com";
    let e = enrolled(&s, email).await;
    assert_eq!(s.send("email", email, "login", None).await.status, 202);
    let sent = s.t.last_code(email).unwrap();
    let check = json!({"channel": "email", "to": email, "purpose": "login", "code": sent});
    let verified = s.post("/v1/codes/verify", check, None).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let verification = verified.body["verification_token"].as_str().unwrap().to_string();
    let reply = second_step(&s, &verification, json!({"totp": code(&s, &e.secret, 1)})).await;
    assert_eq!(reply.status, 401, "a verification token is no mfa_token");

    let mfa = first_step(&s, email).await;
    let as_step_up = json!({"step_up_token": mfa});
    let reply = s.post("/v1/me/factors/recovery-codes", as_step_up, Some(&e.token)).await;
    assert_eq!(reply.status, 401, "an mfa_token is no step-up token: {:?}", reply.body);
    let as_login = json!({"email": email, "verification_token": mfa});
    let reply = s.post("/v1/sessions", as_login, None).await;
    assert!(reply.body.get("token").is_none() && reply.body.get("mfa_token").is_none());
    assert!(reply.status >= 400, "{:?}", reply.body);

    let change = json!({"current_password": PASSWORD, "new_password": "changed by the owner"});
    assert_eq!(s.put("/v1/me/password", change, &e.token).await.status, 204);
    let reply = second_step(&s, &mfa, json!({"totp": code(&s, &e.secret, 1)})).await;
    assert_eq!(reply.status, 401, "a password change voids an mfa_token: {:?}", reply.body);
}

/// Odd answers: both fields, or none, are refused before a slot is taken;
/// digits that only look like digits, and very long answers, are wrong
/// answers (401, never a 500); a right code still passes on the same token.
async fn odd_answers_are_refused_plainly(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "odd@example.com").await;
    let mfa = first_step(&s, "odd@example.com").await;
    for _ in 0..6 {
        let both = json!({"totp": "123456", "recovery_code": e.recovery[0]});
        let reply = second_step(&s, &mfa, both).await;
        assert_eq!((reply.status, &reply.body["error"]["field"]), (400, &json!("recovery_code")));
        let nulls = json!({"totp": null, "recovery_code": null});
        assert_eq!(second_step(&s, &mfa, nulls).await.status, 400);
    }
    let right = code(&s, &e.secret, 1);
    let fullwidth: String =
        right.chars().map(|c| char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap()).collect();
    let arabic: String =
        right.chars().map(|c| char::from_u32(c as u32 - '0' as u32 + 0x0660).unwrap()).collect();
    for answer in [
        json!({"totp": fullwidth}),
        json!({"totp": arabic}),
        json!({"totp": format!("{right}{}", "0".repeat(10_000))}),
        json!({"recovery_code": "\u{212a}".repeat(12)}),
    ] {
        let reply = second_step(&s, &mfa, answer.clone()).await;
        assert_eq!(reply.status, 401, "{answer:.60}: {:?}", reply.body);
    }
    let reply = second_step(&s, &mfa, json!({"totp": right})).await;
    assert_eq!(reply.status, 200, "400s spent none of the token's five: {:?}", reply.body);
}

/// Odd factor ids in the path are unknown factors (404 after a right
/// step-up, never a 500), and without a right step-up an existing id and
/// an unknown one answer alike (no oracle of ids).
async fn odd_factor_ids_are_unknown(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "ids@example.com").await;
    let wrong = json!({"current_password": "not the password"});
    let known = format!("/v1/me/factors/{}", e.factor);
    let a = call(&s, Method::DELETE, &known, wrong.clone(), Some(&e.token)).await;
    let b2 = call(&s, Method::DELETE, "/v1/me/factors/nope", wrong, Some(&e.token)).await;
    assert_eq!(a, b2);
    let step_up = json!({"current_password": PASSWORD});
    let long = "f".repeat(1500);
    let upper = e.factor.to_uppercase();
    for id in ["..", "%2e%2e", "%00", "%2F", " ", long.as_str(), upper.as_str()] {
        let path = format!("/v1/me/factors/{id}");
        let reply = call(&s, Method::DELETE, &path, step_up.clone(), Some(&e.token)).await;
        assert!(matches!(reply.status, 404 | 400), "{id:.40}: {} {:?}", reply.status, reply.body);
    }
    let list = call(&s, Method::GET, "/v1/me/factors", Value::Null, Some(&e.token)).await.body;
    assert_eq!(list["factors"].as_array().unwrap().len(), 1, "{list}");
}

both_stores!(
    step_up_guesses_share_the_accounts_ten,
    a_stolen_session_cannot_spend_the_owners_ten,
    a_reset_by_code_takes_back_an_account_from_a_password_thief,
    a_recovery_code_raced_logs_in_once,
    a_step_is_taken_once_across_login_and_step_up,
    no_other_token_is_an_mfa_token,
    odd_answers_are_refused_plainly,
    odd_factor_ids_are_unknown,
);
