//! Account takeover, tried as an attacker would, on both stores: a stolen
//! session that tries to add its own way in, a change racing the owner's
//! reset, a write under a session that ended meanwhile, and the notices
//! every change sends. Client networks as per-client limits count them.

mod http;

use domain::ports::{AccountWrite, ApplyOutcome, Refusal};
use domain::sessions::Session;
use http::Server;
use serde_json::{Value, json};
use std::time::Instant;
use vericode_tests::{Backend, app_with, both_stores, config, parts, request};

const GET: reqwest::Method = reqwest::Method::GET;
const PUT: reqwest::Method = reqwest::Method::PUT;

/// The security notices sent to `to`, newest first.
fn notices(s: &Server, to: &str) -> Vec<String> {
    let messages = s.t.mailbox.to(to);
    messages.into_iter().filter(|m| m.purpose == "security").map(|m| m.text).collect()
}

async fn me(s: &Server, token: &str) -> (u16, Value) {
    let reply = s.call("127.0.0.1", GET, "/v1/me", &Value::Null, Some(token)).await;
    (reply.status, reply.body)
}

async fn login(s: &Server, email: &str, password: &str) -> u16 {
    s.login_by_password("127.0.0.1", email, password).await.status
}

/// The first attack: a thief holding only the owner's session binds its own
/// phone, steps up through it and takes the account. Each step is refused,
/// nothing changes, and the owner keeps the account.
async fn a_stolen_session_cannot_add_a_way_in(b: Backend) {
    let s = Server::start(b).await;
    let stolen = s.register("owner@example.com", "correct horse").await;
    let thief_phone = "+8613800138077";

    // The thief's own phone gets a bind code; the code alone binds nothing.
    assert_eq!(s.send("sms", thief_phone, "bind", Some(&stolen)).await.status, 202);
    let code = s.t.last_code(thief_phone).unwrap();
    let bare = json!({"phone": thief_phone, "code": code});
    let reply = s.put("/v1/me/phone", bare, &stolen).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(reply.body["error"]["field"], "step_up_token");
    // Guessing the password is a failed step-up, and binds nothing either.
    let guessed = json!({"phone": thief_phone, "code": code, "current_password": "a guess!"});
    let reply = s.put("/v1/me/phone", guessed, &stolen).await;
    assert_eq!(reply.body["error"]["code"], "invalid_credentials");
    // No step-up code can go to a phone the account does not have.
    let step = json!({"channel": "sms", "purpose": "verify"});
    let reply = s.post("/v1/codes", step, Some(&stolen)).await;
    assert_eq!((reply.status, &reply.body["error"]["code"]), (409, &json!("no_bound_address")));
    // A step-up code by email goes to the owner's mailbox, not to the thief.
    let step = json!({"channel": "email", "purpose": "verify"});
    assert_eq!(s.post("/v1/codes", step, Some(&stolen)).await.status, 202);
    assert_eq!(s.t.mailbox.to(thief_phone).len(), 1, "the thief's phone got its bind code only");

    // The account is as it was; the owner's password and session work.
    let (status, account) = me(&s, &stolen).await;
    assert_eq!((status, &account["phone"]), (200, &Value::Null));
    assert_eq!(login(&s, "owner@example.com", "correct horse").await, 200);
    assert!(notices(&s, "owner@example.com").is_empty(), "nothing changed, nothing to tell");
}

/// A password change from a stolen session, with the owner's reset landing
/// at 20 offsets from 0 to the change's own duration: the reset wins every
/// time. The stolen session is dead, the owner's new password works and the
/// thief's does not, whichever commits first.
async fn a_reset_beats_a_change_in_flight(b: Backend) {
    let s = Server::start(b).await;
    // How long a change takes here.
    let probe = s.register("probe@example.com", "correct horse").await;
    let change = json!({"current_password": "correct horse", "new_password": "thief password"});
    let started = Instant::now();
    assert_eq!(s.put("/v1/me/password", change.clone(), &probe).await.status, 204);
    let duration = started.elapsed();

    let mut thief_won_its_write = 0;
    for i in 0..20u32 {
        let email = format!("owner{i}@example.com");
        let stolen = s.register(&email, "correct horse").await;
        assert_eq!(s.send("email", &email, "reset_password", None).await.status, 202);
        let code = s.t.last_code(&email).unwrap();
        let reset = json!({"email": email, "code": code, "new_password": "owner password"});
        let offset = duration * i / 19;
        let (thief, owner) =
            tokio::join!(s.put("/v1/me/password", change.clone(), &stolen), async {
                tokio::time::sleep(offset).await;
                s.post("/v1/password-resets", reset, None).await
            });
        assert_eq!(owner.status, 204, "offset {offset:?}: {:?}", owner.body);
        assert!(matches!(thief.status, 204 | 401), "offset {offset:?}: {:?}", thief.body);
        thief_won_its_write += u32::from(thief.status == 204);
        assert_eq!(me(&s, &stolen).await.0, 401, "offset {offset:?}: the stolen session lives");
        assert_eq!(login(&s, &email, "owner password").await, 200, "offset {offset:?}");
        assert_eq!(login(&s, &email, "thief password").await, 401, "offset {offset:?}");
    }
    // Which one commits first varies; the outcome never does.
    assert!(thief_won_its_write <= 20);
}

/// A write made under a session that ended after it was read is refused by
/// the store inside the write: logged out, or revoked by a reset.
async fn a_write_under_an_ended_session_is_refused(b: Backend) {
    let t = app_with(b, config()).await;
    let (account, token) = t.account(Some("ended@example.com"), None).await;
    let session = Session::check(&t.app, &token).unwrap();
    let who = session.load(&t.app).await.unwrap();
    let renamed = |account: &domain::ports::AccountRecord| {
        let mut a = account.clone();
        a.display_name = Some("thief".into());
        AccountWrite::PutAccount(a)
    };
    let now = vericode_tests::T0;

    // Logged out between the read and the write.
    t.app.store.revoke_session(&who.jti, who.expires_at).await.unwrap();
    let writes = [AccountWrite::Session(session.condition()), renamed(&account)];
    let outcome = t.app.store.apply(&writes, now).await.unwrap();
    assert_eq!(outcome, ApplyOutcome::Refused(Refusal::SessionEnded));

    // Revoked by a reset (the epoch raised) that committed first.
    let (account, token) = t.account(Some("reset@example.com"), None).await;
    let session = Session::check(&t.app, &token).unwrap();
    let mut reset = account.clone();
    reset.session_epoch += 1;
    let committed = t.app.store.apply(&[AccountWrite::PutAccount(reset.clone())], now).await;
    assert_eq!(committed.unwrap(), ApplyOutcome::Committed);
    let reread = domain::ports::AccountRecord { version: account.version + 1, ..reset };
    let writes = [AccountWrite::Session(session.condition()), renamed(&reread)];
    let outcome = t.app.store.apply(&writes, now).await.unwrap();
    assert_ne!(outcome, ApplyOutcome::Committed);
    let stored = t.app.store.get_account(&account.id).await.unwrap().unwrap();
    assert_eq!(stored.display_name, None, "nothing was written");
}

/// Every change to how the account is reached tells every address it had
/// before the change, the replaced one included: what, when, from where.
async fn every_change_is_told_to_every_prior_address(b: Backend) {
    let s = Server::start(b).await;
    let (email, phone) = ("told@example.com", "+8613800138066");
    let token = s.register(email, "correct horse").await;

    // A phone added: the email is told.
    assert_eq!(s.send("sms", phone, "bind", Some(&token)).await.status, 202);
    let code = s.t.last_code(phone).unwrap();
    let bind = json!({"phone": phone, "code": code, "current_password": "correct horse"});
    assert_eq!(s.put("/v1/me/phone", bind, &token).await.status, 200);
    let told = notices(&s, email);
    assert_eq!(told.len(), 1);
    assert!(told[0].contains("+86*******8066 was added"), "{}", told[0]);
    assert!(told[0].contains("127.0.0.0/24") && told[0].contains("Z"), "{}", told[0]);
    assert!(!told[0].contains("127.0.0.1"), "never the whole address: {}", told[0]);
    assert!(notices(&s, phone).is_empty(), "the new address was not the account's before");

    // The password changed: both addresses are told.
    let change = json!({"current_password": "correct horse", "new_password": "battery staple"});
    assert_eq!(s.put("/v1/me/password", change, &token).await.status, 204);
    assert!(notices(&s, email)[0].contains("password of your Vericode account was changed"));
    assert!(notices(&s, phone)[0].contains("your password was changed"));

    // The email replaced: the old one is told, and the phone.
    s.t.clock.advance(61);
    let moved = "moved@example.com";
    assert_eq!(s.send("email", moved, "bind", Some(&token)).await.status, 202);
    let code = s.t.last_code(moved).unwrap();
    let bind = json!({"email": moved, "code": code, "current_password": "battery staple"});
    assert_eq!(s.put("/v1/me/email", bind, &token).await.status, 200);
    let told = &notices(&s, email)[0];
    assert!(told.contains("m***@example.com now takes the place"), "{told}");
    assert!(told.contains("no longer leads to the account"), "the replaced one: {told}");
    assert!(!notices(&s, phone)[0].contains("no longer leads"), "the kept one");
    assert!(notices(&s, phone)[0].contains("m***@example.com replaced"));
    assert!(notices(&s, moved).is_empty());

    // A reset: every address the account has is told.
    assert_eq!(s.send("email", moved, "reset_password", None).await.status, 202);
    let code = s.t.last_code(moved).unwrap();
    let reset = json!({"email": moved, "code": code, "new_password": "third password"});
    assert_eq!(s.post("/v1/password-resets", reset, None).await.status, 204);
    assert!(notices(&s, moved)[0].contains("was reset"));
    assert!(notices(&s, phone)[0].contains("your password was reset"));

    // Deleted: both addresses are told (an hour on: each address is told
    // at most 3 times an hour, and the phone has been told 3 times).
    s.t.clock.advance(3600);
    let reply = s.login_by_password("127.0.0.1", moved, "third password").await;
    let token = reply.body["token"].as_str().unwrap().to_string();
    let gone = json!({"current_password": "third password"});
    let reply = s.call("127.0.0.1", reqwest::Method::DELETE, "/v1/me", &gone, Some(&token)).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert!(notices(&s, moved)[0].contains("account was deleted"));
    assert!(notices(&s, phone)[0].contains("your account was deleted"));
    assert_eq!(notices(&s, email).len(), 3, "the replaced address is told nothing after");
}

/// A notice is written in the account's own language.
async fn notices_speak_the_accounts_language(b: Backend) {
    let s = Server::start(b).await;
    let email = "zh@example.com";
    assert_eq!(s.send("email", email, "register", None).await.status, 202);
    let code = s.t.last_code(email).unwrap();
    let body =
        json!({"email": email, "password": "correct horse", "code": code, "locale": "zh-Hans"});
    let reply = s.post("/v1/accounts", body, None).await;
    let token = reply.body["token"].as_str().unwrap().to_string();
    let change = json!({"current_password": "correct horse", "new_password": "battery staple"});
    // The request asks for English; the notice follows the account.
    let reply = s.call("127.0.0.1", PUT, "/v1/me/password", &change, Some(&token)).await;
    assert_eq!(reply.status, 204);
    let told = s.t.mailbox.to(email);
    let notice = told.iter().find(|m| m.purpose == "security").unwrap();
    assert!(notice.text.contains("密码已修改"), "{}", notice.text);
    assert!(notice.subject.as_deref().unwrap().contains("密码已修改"));
}

/// Notices can't be turned into a pump: changing the password over and
/// over (the changing session survives each change) tells each address at
/// most 3 times an hour, and a text message only within the SMS budgets.
async fn notices_cannot_pump_messages(b: Backend) {
    let mut cfg = config();
    cfg.sms_daily_max = 3;
    cfg.sms_country_daily_max = 3;
    let s = Server::start_with(b, cfg).await;
    let (email, phone) = ("pump@example.com", "+8613800138055");
    let token = s.register(email, "correct horse").await;
    assert_eq!(s.send("sms", phone, "bind", Some(&token)).await.status, 202); // SMS 1 of 3
    let code = s.t.last_code(phone).unwrap();
    let bind = json!({"phone": phone, "code": code, "current_password": "correct horse"});
    assert_eq!(s.put("/v1/me/phone", bind, &token).await.status, 200);
    let same = json!({"current_password": "correct horse", "new_password": "correct horse"});
    for _ in 0..20 {
        assert_eq!(s.put("/v1/me/password", same.clone(), &token).await.status, 204);
    }
    assert_eq!(notices(&s, email).len(), 3, "3 an hour to one address");
    assert_eq!(notices(&s, phone).len(), 2, "the day's SMS budget of 3 holds");
    // The budget is spent for everyone's codes alike: no more text messages.
    let reply = s.send("sms", "+8613800138056", "register", None).await;
    assert_eq!(reply.body["error"]["code"], "sms_budget_exhausted");
    // The next hour, the address is told again.
    s.t.clock.advance(3600);
    assert_eq!(s.put("/v1/me/password", same, &token).await.status, 204);
    assert_eq!(notices(&s, email).len(), 4);
}

both_stores!(
    notices_cannot_pump_messages,
    a_stolen_session_cannot_add_a_way_in,
    a_reset_beats_a_change_in_flight,
    a_write_under_an_ended_session_is_refused,
    every_change_is_told_to_every_prior_address,
    notices_speak_the_accounts_language,
    client_networks_key_the_limits,
);

/// Per-client limits count an IPv6 client by its /64 and an IPv4-mapped
/// address as its IPv4 address (handler-level events, as API Gateway
/// gives the source IP).
async fn client_networks_key_the_limits(b: Backend) {
    let mut cfg = config();
    cfg.ip_window_max = 2;
    let t = app_with(b, cfg).await;
    let mut n = 0;
    let mut send = async |ip: &str| {
        n += 1;
        let (id, answer) = t.captcha().await;
        let body = json!({"channel": "email", "to": format!("net{n}@example.com"),
                          "purpose": "register", "captcha": {"id": id, "answer": answer}});
        parts(&send_code::handle(&t.app, request(&body, ip, None)).await).0
    };
    // One /64: any two of its addresses spend its window.
    assert_eq!(send("2001:db8:1:2::1").await, 202);
    assert_eq!(send("2001:db8:1:2:ffff:ffff:ffff:fffe").await, 202);
    assert_eq!(send("2001:db8:1:2:abcd::9").await, 429);
    // Another /64 is another client.
    assert_eq!(send("2001:db8:1:3::1").await, 202);
    // IPv4, and the same address mapped into IPv6: one client.
    assert_eq!(send("198.51.100.7").await, 202);
    assert_eq!(send("::ffff:198.51.100.7").await, 202);
    assert_eq!(send("198.51.100.7").await, 429);
    assert_eq!(send("::ffff:198.51.100.7").await, 429);
    // Its neighbour is another client.
    assert_eq!(send("198.51.100.8").await, 202);

    // Failed passwords per (address, network): ten from anywhere in one
    // /64, and the next from another address of it is refused unchecked;
    // another /64 still has its own ten.
    t.account(Some("v6@example.com"), None).await;
    let login = async |ip: &str| {
        let (id, answer) = t.captcha().await;
        let body = json!({"email": "v6@example.com", "password": "not the password",
                          "captcha": {"id": id, "answer": answer}});
        parts(&create_session::handle(&t.app, request(&body, ip, None)).await).0
    };
    for i in 0..10 {
        assert_eq!(login(&format!("2001:db8:7:7::{:x}", i + 1)).await, 401);
    }
    assert_eq!(login("2001:db8:7:7:ffff::1").await, 429);
    assert_eq!(login("2001:db8:7:8::1").await, 401);
    for _ in 0..10 {
        assert_eq!(login("::ffff:198.51.100.9").await, 401);
    }
    assert_eq!(login("198.51.100.9").await, 429, "the mapped address is the IPv4 one");
}
