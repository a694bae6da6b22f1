//! Abuse without lockout, tried over HTTP on both stores: `bind` sends
//! flooding one inbox from many throwaway accounts, and display names that
//! lie on the "log in as …" page.

mod http;

use http::Server;
use serde_json::json;
use vericode_tests::{Backend, both_stores};

/// Four throwaway accounts asking for `bind` codes to one victim within
/// seconds put one message in the victim's inbox: the address's windows
/// (1 a minute, 5 in 10 minutes) hold whoever asks.
async fn bind_sends_are_limited_per_address_across_accounts(b: Backend) {
    let s = Server::start(b).await;
    let mut sessions = Vec::new();
    for i in 0..6 {
        let (_, token) = s.t.account(Some(&format!("throwaway{i}@example.com")), None).await;
        sessions.push(token);
    }
    let victim = "victim@example.com";
    let replies: Vec<_> = futures_util::future::join_all(
        sessions[..4].iter().map(|token| s.send("email", victim, "bind", Some(token))),
    )
    .await;
    let accepted = replies.iter().filter(|r| r.status == 202).count();
    assert_eq!(accepted, 1, "{replies:?}");
    for r in replies.iter().filter(|r| r.status != 202) {
        assert_eq!(r.status, 429);
        let wait = r.body["error"]["retry_after"].as_u64().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
    }
    assert_eq!(s.t.outbox.to(victim).len(), 1);
    // Five in ten minutes, whoever asks.
    for (i, token) in sessions.iter().enumerate().skip(1).take(4) {
        s.t.clock.advance(61);
        assert_eq!(s.send("email", victim, "bind", Some(token)).await.status, 202, "{i}");
    }
    s.t.clock.advance(61);
    assert_eq!(s.send("email", victim, "bind", Some(&sessions[5])).await.status, 429);
    assert_eq!(s.t.outbox.to(victim).len(), 5);
}

/// One account asks for at most `BIND_ACCOUNT_HOURLY_MAX` (10) bind codes
/// an hour, to any addresses.
async fn bind_sends_are_capped_per_account(b: Backend) {
    let s = Server::start(b).await;
    let (account, token) = s.t.account(Some("busy@example.com"), None).await;
    for i in 0..10 {
        let to = format!("target{i}@example.com");
        assert_eq!(s.send("email", &to, "bind", Some(&token)).await.status, 202, "{i}");
    }
    let over = s.send("email", "target10@example.com", "bind", Some(&token)).await;
    assert_eq!(over.status, 429, "{:?}", over.body);
    s.t.clock.advance(3600);
    let (token, _) = domain::sessions::issue(&s.t.app, &account, 3600).unwrap();
    let next_hour = s.send("email", "target10@example.com", "bind", Some(&token)).await;
    assert_eq!(next_hour.status, 202);
}

/// "Another account tried to add your address" goes to an owner at most
/// once an hour, however many accounts try.
async fn the_bind_attempt_notice_goes_once_an_hour(b: Backend) {
    let s = Server::start(b).await;
    s.t.account(Some("owned@example.com"), None).await;
    let mut tries = Vec::new();
    for i in 0..3 {
        tries.push(s.t.account(Some(&format!("prober{i}@example.com")), None).await);
    }
    for (_, token) in &tries {
        s.t.clock.advance(61);
        assert_eq!(s.send("email", "owned@example.com", "bind", Some(token)).await.status, 202);
    }
    assert_eq!(s.t.outbox.to("owned@example.com").len(), 1, "one notice in the hour");
    s.t.clock.advance(3600);
    let (token, _) = domain::sessions::issue(&s.t.app, &tries[0].0, 3600).unwrap();
    assert_eq!(s.send("email", "owned@example.com", "bind", Some(&token)).await.status, 202);
    assert_eq!(s.t.outbox.to("owned@example.com").len(), 2, "the next hour's");
}

/// Display names that could read as someone else's on the login-link page
/// are refused; others are stored NFC-normalised and shown as stored.
async fn display_names_cannot_lie(b: Backend) {
    let s = Server::start(b).await;
    for (i, name) in
        ["Alice\u{202e}ecilA", "Al\u{200b}ice", "\u{2067}Alice\u{2069}", "Alice\u{e000}", "A\u{7}"]
            .into_iter()
            .enumerate()
    {
        let email = format!("liar{i}@example.com");
        assert_eq!(s.send("email", &email, "register", None).await.status, 202);
        let code = s.t.last_code(&email).unwrap();
        let body = json!({"email": email, "password": "long enough", "code": code,
                          "display_name": name});
        let reply = s.post("/v1/accounts", body, None).await;
        assert_eq!(reply.status, 400, "{name:?}: {:?}", reply.body);
        assert_eq!(reply.body["error"]["field"], "display_name", "{name:?}");
    }
    let email = "jose@example.com";
    assert_eq!(s.send("email", email, "register", None).await.status, 202);
    let code = s.t.last_code(email).unwrap();
    let body = json!({"email": email, "password": "long enough", "code": code,
                      "display_name": "Jose\u{301}"});
    let reply = s.post("/v1/accounts", body, None).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let token = reply.body["token"].as_str().unwrap().to_string();
    let link = s.post("/v1/login-links", json!({}), Some(&token)).await.body;
    let inspect = json!({"authorization": link["authorization"]});
    let shown = s.post("/v1/login-links/inspect", inspect, None).await;
    assert_eq!(shown.body["login_as"]["display_name"], "Jos\u{e9}");
}

/// Strangers with solved captchas can fill an address's send window (5 in
/// 10 minutes). The owner is not locked out by it: every resend repeats
/// the live code, so the code already in the inbox still works.
async fn a_full_send_window_leaves_the_live_code_working(b: Backend) {
    let s = Server::start(b).await;
    let owner = "owner@example.com";
    s.register(owner, "correct horse").await;
    assert_eq!(s.send("email", owner, "login", None).await.status, 202);
    let code = s.t.last_code(owner).unwrap();
    for i in 0..4 {
        s.t.clock.advance(61);
        let ip = format!("127.0.0.{}", 30 + i);
        let mut body = json!({"channel": "email", "to": owner, "purpose": "login"});
        body["captcha"] = s.captcha().await;
        let reply = s.call(&ip, reqwest::Method::POST, "/v1/codes", &body, None).await;
        assert_eq!(reply.status, 202, "{ip}");
    }
    s.t.clock.advance(61);
    let full = s.send("email", owner, "login", None).await;
    assert_eq!(full.status, 429, "the window is full");
    let inbox = s.t.outbox.to(owner);
    let logins: Vec<_> = inbox.iter().filter(|m| m.purpose == "login").collect();
    assert_eq!(logins.len(), 5);
    assert!(logins.iter().all(|m| m.code.as_deref() == Some(code.as_str())), "one code");
    let login = json!({"email": owner, "code": code});
    assert_eq!(s.post("/v1/sessions", login, None).await.status, 200, "the live code works");
}

both_stores!(
    a_full_send_window_leaves_the_live_code_working,
    bind_sends_are_limited_per_address_across_accounts,
    bind_sends_are_capped_per_account,
    the_bind_attempt_notice_goes_once_an_hour,
    display_names_cannot_lie,
);
