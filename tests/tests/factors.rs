//! Authenticator apps (TOTP) and recovery codes over HTTP, on both stores,
//! with every code computed by a stock implementation (Python's `pyotp`)
//! and the QR code read back by `zbarimg`: enrol, confirm, the second step
//! of a login, skew, replay, recovery, step-up and removal — and the
//! attacks on them: racing one code, guessing past the limits, a token of
//! one kind taken for another, a stolen session enrolling its own app.

mod http;

use http::{Reply, Server};
use reqwest::Method;
use serde_json::{Value, json};
use std::process::Command;
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

async fn call(s: &Server, method: Method, path: &str, body: Value, token: Option<&str>) -> Reply {
    s.call("127.0.0.1", method, path, &body, token).await
}

/// An account with a session, and an authenticator enrolled and confirmed
/// (at the current step): the session, the secret, the factor and the
/// recovery codes.
struct Enrolled {
    token: String,
    secret: String,
    factor: String,
    recovery: Vec<String>,
}

async fn enrolled(s: &Server, email: &str) -> Enrolled {
    let token = s.register(email, PASSWORD).await;
    let step_up = json!({"step_up_token": s.step_up_token(email, &token).await});
    let enrolment = s.post("/v1/me/factors/totp", step_up, Some(&token)).await;
    assert_eq!(enrolment.status, 201, "{:?}", enrolment.body);
    let secret = enrolment.body["secret"].as_str().unwrap().to_string();
    let factor = enrolment.body["factor_id"].as_str().unwrap().to_string();
    let confirm = json!({"factor_id": factor, "code": code(s, &secret, 0)});
    let reply = s.post("/v1/me/factors/totp/confirm", confirm, Some(&token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let recovery = reply.body["recovery_codes"].as_array().unwrap();
    let recovery = recovery.iter().map(|c| c.as_str().unwrap().to_string()).collect();
    Enrolled { token, secret, factor, recovery }
}

/// A password login's first step: its `mfa_token`.
async fn first_step(s: &Server, email: &str) -> String {
    let reply = s.login_by_password("127.0.0.1", email, PASSWORD).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["mfa_required"], true, "{:?}", reply.body);
    assert_eq!(reply.body["expires_in"], 300);
    assert!(reply.body.get("token").is_none(), "no session before the second step");
    reply.body["mfa_token"].as_str().unwrap().to_string()
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

/// The QR code as `zbarimg` reads it from the PNG.
fn read_qr(data_url: &str) -> String {
    use base64::Engine as _;
    let png = data_url.strip_prefix("data:image/png;base64,").expect("a PNG data URL");
    let png = base64::engine::general_purpose::STANDARD.decode(png).unwrap();
    let path = std::env::temp_dir().join(format!("vericode-qr-{}.png", uuid::Uuid::new_v4()));
    std::fs::write(&path, png).unwrap();
    let out = Command::new("zbarimg").args(["--quiet", "--raw"]).arg(&path).output();
    std::fs::remove_file(&path).ok();
    let out = out.expect("zbarimg (zbar-tools) is installed by scripts/stack.sh");
    assert!(out.status.success(), "zbarimg: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Enrolment answers a secret, its URI and a QR code of the URI; a wrong
/// code counts against it, a right one confirms it, with ten recovery
/// codes, and every address is told.
async fn enrol_and_confirm(b: Backend) {
    let s = Server::start(b).await;
    let token = s.register("enrol@example.com", PASSWORD).await;
    let bare = s.post("/v1/me/factors/totp", json!({}), Some(&token)).await;
    assert_eq!((bare.status, &bare.body["error"]["field"]), (400, &json!("current_password")));
    // The password alone is no step-up for this: a thief with it would add
    // its own app and keep the account after the owner's reset.
    let password = json!({"current_password": PASSWORD});
    let reply = s.post("/v1/me/factors/totp", password, Some(&token)).await;
    assert_eq!((reply.status, &reply.body["error"]["field"]), (400, &json!("step_up_token")));
    let forged = json!({"step_up_token": "not.a.token"});
    let reply = s.post("/v1/me/factors/totp", forged, Some(&token)).await;
    assert_eq!((reply.status, &reply.body["error"]["code"]), (401, &json!("invalid_credentials")));

    let step_up = json!({"step_up_token": s.step_up_token("enrol@example.com", &token).await});
    let e = s.post("/v1/me/factors/totp", step_up, Some(&token)).await.body;
    let secret = e["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = e["otpauth_uri"].as_str().unwrap();
    assert_eq!(
        uri,
        format!("otpauth://totp/Vericode:e%2A%2A%2A%40example.com?secret={secret}&issuer=Vericode")
    );
    assert_eq!(read_qr(e["qr"].as_str().unwrap()), uri, "the QR code holds the URI");
    let factor = e["factor_id"].as_str().unwrap();
    let list = call(&s, Method::GET, "/v1/me/factors", Value::Null, Some(&token)).await.body;
    assert_eq!(list["factors"][0]["status"], "pending");
    assert_eq!(list["recovery_codes_left"], 0);

    let wrong = json!({"factor_id": factor, "code": code(&s, secret, 5)});
    let reply = s.post("/v1/me/factors/totp/confirm", wrong, Some(&token)).await;
    assert_eq!((reply.status, &reply.body["error"]["attempts_left"]), (400, &json!(4)));
    let right = json!({"factor_id": factor, "code": code(&s, secret, 0)});
    let reply = s.post("/v1/me/factors/totp/confirm", right.clone(), Some(&token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let codes = reply.body["recovery_codes"].as_array().unwrap();
    let distinct: std::collections::BTreeSet<_> = codes.iter().map(|c| c.as_str()).collect();
    assert_eq!(distinct.len(), 10);
    let again = s.post("/v1/me/factors/totp/confirm", right, Some(&token)).await;
    assert_eq!(again.status, 404, "confirmed once: {:?}", again.body);
    let list = call(&s, Method::GET, "/v1/me/factors", Value::Null, Some(&token)).await.body;
    assert_eq!(list["factors"][0]["status"], "confirmed");
    assert_eq!(list["recovery_codes_left"], 10);
    let told = notices(&s, "enrol@example.com");
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("authenticator app was added"), "{}", told[0]);
    for secret_part in [secret.to_string(), codes[0].as_str().unwrap().to_string()] {
        assert!(!told[0].contains(&secret_part), "no secret in a notice");
    }
}

/// Five wrong codes void an enrolment.
async fn an_enrolment_takes_five_wrong_codes(b: Backend) {
    let s = Server::start(b).await;
    let token = s.register("five@example.com", PASSWORD).await;
    let step_up = json!({"step_up_token": s.step_up_token("five@example.com", &token).await});
    let e = s.post("/v1/me/factors/totp", step_up, Some(&token)).await.body;
    let secret = e["secret"].as_str().unwrap();
    for left in (0..5).rev() {
        let wrong = json!({"factor_id": e["factor_id"], "code": code(&s, secret, 9)});
        let reply = s.post("/v1/me/factors/totp/confirm", wrong, Some(&token)).await;
        assert_eq!(reply.body["error"]["attempts_left"], left);
    }
    let right = json!({"factor_id": e["factor_id"], "code": code(&s, secret, 0)});
    let reply = s.post("/v1/me/factors/totp/confirm", right, Some(&token)).await;
    assert_eq!(reply.status, 404, "void: {:?}", reply.body);
}

/// The second step: a step is taken once (the one the confirmation used
/// included), one step of skew either way, and the session it gives works.
async fn a_login_takes_a_code_once_within_one_step(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "login@example.com").await;
    let mfa = first_step(&s, "login@example.com").await;
    let replay = second_step(&s, &mfa, json!({"totp": code(&s, &e.secret, 0)})).await;
    assert_eq!(replay.status, 401, "the confirmation's step again: {:?}", replay.body);
    let far = [code(&s, &e.secret, 2), code(&s, &e.secret, -2)];
    for c in far {
        assert_eq!(second_step(&s, &mfa, json!({"totp": c})).await.status, 401, "two steps off");
    }
    let next = code(&s, &e.secret, 1);
    let reply = second_step(&s, &mfa, json!({"totp": next})).await;
    assert_eq!(reply.status, 200, "one step ahead: {:?}", reply.body);
    let session = reply.body["token"].as_str().unwrap();
    let me = call(&s, Method::GET, "/v1/me", Value::Null, Some(session)).await;
    assert_eq!(me.body["email"], "login@example.com");
    let reply = second_step(&s, &mfa, json!({"totp": next})).await;
    assert_eq!(reply.status, 401, "the same step again");

    // Later, a step behind now is still taken (a slow typist).
    s.t.clock.advance(90);
    let mfa = first_step(&s, "login@example.com").await;
    let reply = second_step(&s, &mfa, json!({"totp": code(&s, &e.secret, -1)})).await;
    assert_eq!(reply.status, 200, "one step behind: {:?}", reply.body);

    // A login by code takes the second step too.
    assert_eq!(s.send("email", "login@example.com", "login", None).await.status, 202);
    let by_code = json!({"email": "login@example.com", "code": s.t.last_code("login@example.com")});
    let reply = s.post("/v1/sessions", by_code, None).await;
    assert_eq!((reply.status, &reply.body["mfa_required"]), (200, &json!(true)));
    assert!(reply.body.get("token").is_none());
}

/// A recovery code logs in once, however it is typed; its use is told; a
/// fresh set voids the old.
async fn recovery_codes_are_single_use(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "lost@example.com").await;
    let mfa = first_step(&s, "lost@example.com").await;
    let typed = e.recovery[0].to_uppercase().replace('-', " ");
    let reply = second_step(&s, &mfa, json!({"recovery_code": typed})).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = second_step(&s, &mfa, json!({"recovery_code": e.recovery[0]})).await;
    assert_eq!(reply.status, 401, "used");
    let told = notices(&s, "lost@example.com");
    assert!(told[0].contains("recovery code was used"), "{told:?}");
    let list = call(&s, Method::GET, "/v1/me/factors", Value::Null, Some(&e.token)).await.body;
    assert_eq!(list["recovery_codes_left"], 9);

    let renew = json!({"current_password": PASSWORD});
    let reply = s.post("/v1/me/factors/recovery-codes", renew, Some(&e.token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let fresh = reply.body["recovery_codes"][0].as_str().unwrap().to_string();
    let mfa = first_step(&s, "lost@example.com").await;
    let old = second_step(&s, &mfa, json!({"recovery_code": e.recovery[1]})).await;
    assert_eq!(old.status, 401, "the old set is void");
    let reply = second_step(&s, &mfa, json!({"recovery_code": fresh})).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let both = json!({"totp": "123456", "recovery_code": fresh});
    let reply = second_step(&s, &mfa, both).await;
    assert_eq!((reply.status, &reply.body["error"]["field"]), (400, &json!("recovery_code")));
}

/// An app's code steps up wherever a password does, once per step; removing
/// the last factor voids the recovery codes, and logins take one step again.
async fn an_app_code_steps_up_and_the_factor_goes(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "step@example.com").await;
    let next = code(&s, &e.secret, 1);
    let change = json!({"step_up_totp": next, "new_password": "a brand new password"});
    let reply = s.put("/v1/me/password", change, &e.token).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    let again = json!({"step_up_totp": next});
    let reply = s.post("/v1/me/factors/recovery-codes", again, Some(&e.token)).await;
    assert_eq!(reply.status, 401, "the step was used: {:?}", reply.body);
    let both = json!({"step_up_totp": next, "current_password": "a brand new password"});
    let reply = s.post("/v1/me/factors/recovery-codes", both, Some(&e.token)).await;
    assert_eq!((reply.status, &reply.body["error"]["field"]), (400, &json!("step_up_totp")));

    s.t.clock.advance(30);
    let path = format!("/v1/me/factors/{}", e.factor);
    let step_up = json!({"current_password": "a brand new password"});
    let other = call(&s, Method::DELETE, "/v1/me/factors/nope", step_up, Some(&e.token)).await;
    assert_eq!(other.status, 404);
    assert!(other.body["error"]["message"].as_str().unwrap().contains("authenticator"));
    let remove = json!({"step_up_totp": code(&s, &e.secret, 1)});
    let reply = call(&s, Method::DELETE, &path, remove, Some(&e.token)).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    let list = call(&s, Method::GET, "/v1/me/factors", Value::Null, Some(&e.token)).await.body;
    assert_eq!(list, json!({"factors": [], "recovery_codes_left": 0}));
    let told = notices(&s, "step@example.com");
    assert!(told[0].contains("authenticator app was removed"), "{told:?}");
    let reply = s.login_by_password("127.0.0.1", "step@example.com", "a brand new password").await;
    assert!(reply.body["token"].is_string(), "one step again: {:?}", reply.body);
    let renew = json!({"current_password": "a brand new password"});
    let reply = s.post("/v1/me/factors/recovery-codes", renew, Some(&e.token)).await;
    assert_eq!(reply.status, 404, "no authenticator, no recovery codes");
}

/// The second step's limits: 5 wrong answers per token, 10 an hour per
/// account; the right code is refused past them; the next hour is open.
async fn wrong_answers_are_bounded(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "guess@example.com").await;
    let wrong = || json!({"totp": "000000"});
    let mfa = first_step(&s, "guess@example.com").await;
    for _ in 0..5 {
        assert_eq!(second_step(&s, &mfa, wrong()).await.status, 401);
    }
    let right = json!({"totp": code(&s, &e.secret, 1)});
    let reply = second_step(&s, &mfa, right.clone()).await;
    assert_eq!(reply.status, 429, "the token's five are spent: {:?}", reply.body);
    assert!(reply.headers.iter().any(|(n, _)| n == "retry-after"));
    let mfa = first_step(&s, "guess@example.com").await;
    for _ in 0..5 {
        assert_eq!(second_step(&s, &mfa, wrong()).await.status, 401);
    }
    let mfa = first_step(&s, "guess@example.com").await;
    let reply = second_step(&s, &mfa, right.clone()).await;
    assert_eq!(reply.status, 429, "the account's ten an hour are spent: {:?}", reply.body);
    s.t.clock.advance(3600);
    let mfa = first_step(&s, "guess@example.com").await;
    let reply = second_step(&s, &mfa, json!({"totp": code(&s, &e.secret, 0)})).await;
    assert_eq!(reply.status, 200, "the next hour: {:?}", reply.body);
}

/// A thief with the password spends the hour's ten; the owner resets the
/// password, which ends the thief's first step, and is in once the hour
/// ends. Resetting gives no fresh ten (or a thief holding the mailbox would
/// reset for more guesses).
async fn a_reset_ends_a_thiefs_second_step(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "owner@example.com").await;
    for _ in 0..2 {
        let mfa = first_step(&s, "owner@example.com").await;
        for _ in 0..5 {
            assert_eq!(second_step(&s, &mfa, json!({"totp": "000000"})).await.status, 401);
        }
    }
    assert_eq!(s.send("email", "owner@example.com", "reset_password", None).await.status, 202);
    let sent = s.t.last_code("owner@example.com").unwrap();
    let reset =
        json!({"email": "owner@example.com", "code": sent, "new_password": "the owner's new one"});
    assert_eq!(s.post("/v1/password-resets", reset, None).await.status, 204);
    let reply = s.login_by_password("127.0.0.1", "owner@example.com", PASSWORD).await;
    assert_eq!(reply.status, 401, "the thief's password is gone");
    let new = "the owner's new one";
    let reply = s.login_by_password("127.0.0.1", "owner@example.com", new).await;
    let mfa = reply.body["mfa_token"].as_str().unwrap().to_string();
    let reply = second_step(&s, &mfa, json!({"totp": code(&s, &e.secret, 1)})).await;
    assert_eq!(reply.status, 429, "no fresh ten: {:?}", reply.body);
    s.t.clock.advance(3600);
    let reply = s.login_by_password("127.0.0.1", "owner@example.com", new).await;
    let mfa = reply.body["mfa_token"].as_str().unwrap().to_string();
    let reply = second_step(&s, &mfa, json!({"totp": code(&s, &e.secret, 0)})).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

/// Eight requests racing with one code: one session.
async fn a_code_raced_gives_one_session(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "race@example.com").await;
    let mut tokens = Vec::new();
    for _ in 0..8 {
        tokens.push(first_step(&s, "race@example.com").await);
    }
    let next = code(&s, &e.secret, 1);
    let replies = futures_util::future::join_all(
        tokens.iter().map(|t| second_step(&s, t, json!({"totp": next.clone()}))),
    )
    .await;
    let statuses: Vec<_> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200 || s == 401), "{statuses:?}");
}

/// Tokens of one kind are never taken for another; a password reset voids
/// an `mfa_token` given before it; a login link takes the second step too.
async fn tokens_keep_to_their_kind(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "kind@example.com").await;
    let mfa = first_step(&s, "kind@example.com").await;
    let me = call(&s, Method::GET, "/v1/me", Value::Null, Some(&mfa)).await;
    assert_eq!(me.status, 401, "an mfa_token is no session");
    let reply = second_step(&s, &e.token, json!({"totp": code(&s, &e.secret, 1)})).await;
    assert_eq!(reply.status, 401, "a session is no mfa_token");

    let link = s.post("/v1/login-links", json!({}), Some(&e.token)).await.body;
    let redeem = json!({"authorization": link["authorization"]});
    let reply = s.post("/v1/login-links/redeem", redeem, None).await;
    assert_eq!((reply.status, &reply.body["mfa_required"]), (200, &json!(true)));

    assert_eq!(s.send("email", "kind@example.com", "reset_password", None).await.status, 202);
    let code_sent = s.t.last_code("kind@example.com").unwrap();
    let reset =
        json!({"email": "kind@example.com", "code": code_sent, "new_password": "reset password!"});
    assert_eq!(s.post("/v1/password-resets", reset, None).await.status, 204);
    let reply = second_step(&s, &mfa, json!({"totp": code(&s, &e.secret, 1)})).await;
    assert_eq!(reply.status, 401, "a reset voids the first step: {:?}", reply.body);
}

/// A thief with a stolen session cannot enrol an app of its own (no
/// step-up), and cannot confirm the owner's pending one without a code;
/// an account may not collect more than five.
async fn a_stolen_session_cannot_enrol(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "stolen@example.com").await;
    let no_step_up = s.post("/v1/me/factors/totp", json!({}), Some(&e.token)).await;
    assert_eq!(no_step_up.status, 400);
    let guess = json!({"step_up_totp": "123456"});
    let reply = s.post("/v1/me/factors/totp", guess, Some(&e.token)).await;
    assert_eq!(reply.status, 401);
    let remove = json!({"current_password": "a guess"});
    let path = format!("/v1/me/factors/{}", e.factor);
    assert_eq!(call(&s, Method::DELETE, &path, remove, Some(&e.token)).await.status, 401);
    let list = call(&s, Method::GET, "/v1/me/factors", Value::Null, Some(&e.token)).await.body;
    assert_eq!(list["factors"].as_array().unwrap().len(), 1, "unchanged");

    for n in 1..=5 {
        // A step-up code every two minutes: within the address's send window.
        s.t.clock.advance(120);
        let body = json!({"step_up_token": s.step_up_token("stolen@example.com", &e.token).await});
        let reply = s.post("/v1/me/factors/totp", body, Some(&e.token)).await;
        if n == 5 {
            assert_eq!((reply.status, &reply.body["error"]["code"]), (409, &json!("factor_limit")));
            break;
        }
        let secret = reply.body["secret"].as_str().unwrap().to_string();
        let confirm = json!({"factor_id": reply.body["factor_id"], "code": code(&s, &secret, 0)});
        let reply = s.post("/v1/me/factors/totp/confirm", confirm, Some(&e.token)).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
}

/// A first step whose password is wrong answers the same whether or not
/// the account has an authenticator: the second step tells nothing to a
/// stranger without the password.
async fn a_wrong_password_tells_nothing_of_factors(b: Backend) {
    let s = Server::start(b).await;
    enrolled(&s, "with@example.com").await;
    s.register("without@example.com", PASSWORD).await;
    let with = s.login_by_password("127.0.0.2", "with@example.com", "wrong password").await;
    let without = s.login_by_password("127.0.0.3", "without@example.com", "wrong password").await;
    assert_eq!(with, without);
}

/// The account item holds the secret sealed and the recovery codes hashed.
async fn the_store_holds_no_secret_in_clear(b: Backend) {
    let s = Server::start(b).await;
    let e = enrolled(&s, "sealed@example.com").await;
    let session = domain::sessions::Session::check(&s.t.app, &e.token).unwrap();
    let account = s.t.app.store.get_account(session.account_id()).await.unwrap().unwrap();
    let f = &account.factors[0];
    let raw = totp_secret_bytes(&e.secret);
    assert!(!f.sealed_secret.windows(raw.len()).any(|w| w == raw.as_slice()));
    assert!(!f.sealed_secret.windows(e.secret.len()).any(|w| w == e.secret.as_bytes()));
    assert_eq!(account.recovery_codes.len(), 10);
    for c in &e.recovery {
        let plain = c.replace('-', "");
        let held = |h: &[u8; 32]| h.windows(plain.len()).any(|w| w == plain.as_bytes());
        assert!(!account.recovery_codes.iter().any(held), "a recovery code in clear");
    }
}

fn totp_secret_bytes(base32: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in base32.bytes() {
        bits = (bits << 5) | alphabet.iter().position(|&a| a == c).unwrap() as u64;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

both_stores!(
    enrol_and_confirm,
    an_enrolment_takes_five_wrong_codes,
    a_login_takes_a_code_once_within_one_step,
    recovery_codes_are_single_use,
    an_app_code_steps_up_and_the_factor_goes,
    wrong_answers_are_bounded,
    a_reset_ends_a_thiefs_second_step,
    a_code_raced_gives_one_session,
    tokens_keep_to_their_kind,
    a_stolen_session_cannot_enrol,
    a_wrong_password_tells_nothing_of_factors,
    the_store_holds_no_secret_in_clear,
);
