//! No oracles, no lockouts. Each way the checks were once turned against
//! users, tried again as an attacker would: over HTTP, against the dev
//! server, on both stores. Callers come from several loopback addresses
//! (127.0.0.x), so per-IP limits are exercised as API Gateway applies them.

mod http;

use domain::purpose::Purpose;
use http::Server;
use serde_json::{Value, json};
use vericode_tests::{Backend, both_stores};

/// A request body for an address and a code.
type Body = fn(&str, &str) -> Value;

/// A code that is not `code`.
fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

/// Finding 1: after a `login`, `reset_password` or `register` send, every
/// endpoint that takes a code answers a wrong one alike — `attempts_left`
/// and all — for an address with an account and one without, and leaves the
/// same state behind.
async fn checks_answer_alike_with_and_without_an_account(b: Backend) {
    let s = Server::start(b).await;
    // Made in the store, so neither address has a history of sends.
    s.t.account(Some("known@example.com"), None).await;
    let endpoints: [(&str, &str, Body); 4] = [
        (
            "login",
            "/v1/codes/verify",
            |to, code| json!({"channel": "email", "to": to, "purpose": "login", "code": code}),
        ),
        ("login", "/v1/sessions", |to, code| json!({"email": to, "code": code})),
        (
            "reset_password",
            "/v1/password-resets",
            |to, code| json!({"email": to, "code": code, "new_password": "a new password"}),
        ),
        (
            "register",
            "/v1/accounts",
            |to, code| json!({"email": to, "code": code, "password": "long enough"}),
        ),
    ];
    for (purpose, path, body) in endpoints {
        s.t.clock.advance(61);
        let sent_known = s.send("email", "known@example.com", purpose, None).await;
        let sent_unknown = s.send("email", "unknown@example.com", purpose, None).await;
        assert_eq!(sent_known, sent_unknown, "{purpose}");
        let known = s.post(path, body("known@example.com", "000000"), None).await;
        let unknown = s.post(path, body("unknown@example.com", "000000"), None).await;
        assert_eq!(known, unknown, "{path}");
        assert_eq!(known.status, 400, "{path}: {:?}", known.body);
        assert!(known.body["error"]["attempts_left"].is_u64(), "{path}: {:?}", known.body);
        let p = match purpose {
            "login" => Purpose::Login,
            "reset_password" => Purpose::ResetPassword,
            _ => Purpose::Register,
        };
        let (k, u) = (
            s.record_shape(p, "known@example.com").await,
            s.record_shape(p, "unknown@example.com").await,
        );
        assert_eq!(k, u, "{path}: the state left behind");
    }
}

/// Finding 2: `bind` to an address another account owns answers like any
/// other send; the owner gets a notice, nobody a code, and the bind itself
/// refuses a guess exactly as for a free address.
async fn bind_to_a_taken_address_tells_nothing(b: Backend) {
    let s = Server::start(b).await;
    s.register("owner@example.com", "correct horse").await;
    let me = s.register("me@example.com", "correct horse").await;
    let taken = s.send("email", "owner@example.com", "bind", Some(&me)).await;
    let free = s.send("email", "free@example.com", "bind", Some(&me)).await;
    assert_eq!(taken, free);
    assert_eq!(taken.status, 202);
    let to_owner = s.t.mailbox.to("owner@example.com");
    assert_eq!((to_owner[0].purpose, to_owner[0].code.as_deref()), ("bind", None));
    // `me` replaces its bound email, so it steps up with its password.
    let guess =
        |to: &str| json!({"email": to, "code": "000000", "current_password": "correct horse"});
    let taken = s.put("/v1/me/email", guess("owner@example.com"), &me).await;
    let free = s.put("/v1/me/email", guess("free@example.com"), &me).await;
    assert_eq!(taken, free);
    assert_eq!(taken.body["error"]["code"], "code_invalid");
}

/// Finding 3: a bearer token waives the captcha for `bind` and `verify` only.
async fn a_session_waives_the_captcha_only_for_bind_and_verify(b: Backend) {
    let s = Server::start(b).await;
    let me = s.register("me@example.com", "correct horse").await;
    for purpose in ["register", "login", "reset_password"] {
        let body = json!({"channel": "email", "to": "stranger@example.com", "purpose": purpose});
        let reply = s.post("/v1/codes", body, Some(&me)).await;
        assert_eq!(reply.status, 400, "{purpose}");
        assert_eq!(reply.body["error"]["field"], "captcha", "{purpose}");
    }
    assert!(s.t.mailbox.to("stranger@example.com").is_empty());
    assert_eq!(s.send("email", "new@example.com", "bind", Some(&me)).await.status, 202);
    assert_eq!(s.send("email", "", "verify", Some(&me)).await.status, 202);
}

/// Finding 4, codes: guesses before any code exists count for nothing, and
/// twenty simultaneous right checks (a form submitted over and over) give
/// one token and leave the address unlocked.
async fn checks_cannot_lock_the_owner_out(b: Backend) {
    let s = Server::start(b).await;
    s.register("owner@example.com", "correct horse").await;
    let check = |code: &str| json!({"channel": "email", "to": "owner@example.com", "purpose": "login", "code": code});
    for _ in 0..15 {
        let reply = s.post("/v1/codes/verify", check("123456"), None).await;
        assert_eq!(reply.body["error"]["code"], "code_invalid");
        assert!(reply.body["error"].get("attempts_left").is_none(), "no live code");
    }
    assert_eq!(s.send("email", "owner@example.com", "login", None).await.status, 202);
    let code = s.t.last_code("owner@example.com").unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (base, body) = (s.base.clone(), check(&code));
            tokio::spawn(async move {
                let resp = reqwest::Client::new()
                    .post(format!("{base}/v1/codes/verify"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                resp.status().as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200 || s == 400), "{statuses:?}");
    // None of the losers was a failure: the address is not locked.
    assert_eq!(s.record_shape(Purpose::Login, "owner@example.com").await.3, 0, "no failures");
    s.t.clock.advance(61);
    assert_eq!(s.send("email", "owner@example.com", "login", None).await.status, 202);
    let code = s.t.last_code("owner@example.com").unwrap();
    assert_eq!(s.post("/v1/codes/verify", check(&code), None).await.status, 200);
}

/// Finding 4, passwords: wrong passwords throttle the guessing network
/// only; the owner from a clean network gets in, and logging in by code and
/// resetting work whatever the failures. Past the per-address ceiling no
/// network gets a password checked without the address's `login` code:
/// 50 fresh networks are refused, even with the right password, while the
/// owner logs in by code, or by password with the code.
async fn wrong_passwords_lock_only_the_guesser(b: Backend) {
    let s = Server::start(b).await;
    s.register("owner@example.com", "correct horse").await;
    let guesser = "127.0.0.2";
    for _ in 0..10 {
        let reply = s.login_by_password(guesser, "owner@example.com", "wrong guess").await;
        assert_eq!(reply.status, 401);
    }
    let limited = s.login_by_password(guesser, "owner@example.com", "correct horse").await;
    assert_eq!(
        (limited.status, limited.body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    let owner = s.login_by_password("127.0.0.3", "owner@example.com", "correct horse").await;
    assert_eq!(owner.status, 200, "{:?}", owner.body);
    // Codes are not throttled by password failures.
    assert_eq!(s.send("email", "owner@example.com", "login", None).await.status, 202);
    let code = s.t.last_code("owner@example.com").unwrap();
    let by_code = json!({"email": "owner@example.com", "code": code});
    assert_eq!(s.post("/v1/sessions", by_code, None).await.status, 200);
    s.t.clock.advance(61);
    assert_eq!(s.send("email", "owner@example.com", "reset_password", None).await.status, 202);
    let code = s.t.last_code("owner@example.com").unwrap();
    let reset =
        json!({"email": "owner@example.com", "code": code, "new_password": "battery staple"});
    assert_eq!(s.post("/v1/password-resets", reset, None).await.status, 204);

    // The ceiling: 100 failures an hour (the guesser's 10, and 90 more from nine networks).
    for i in 10..19 {
        let ip = format!("127.0.0.{i}");
        for _ in 0..10 {
            let reply = s.login_by_password(&ip, "owner@example.com", "wrong guess").await;
            assert_eq!(reply.status, 401, "{ip}");
        }
    }
    // 50 fresh networks: no password is checked, the right one included.
    for i in 50..100 {
        let ip = format!("127.0.0.{i}");
        let guess = if i % 2 == 0 { "wrong guess" } else { "battery staple" };
        let reply = s.login_by_password(&ip, "owner@example.com", guess).await;
        assert_eq!(reply.status, 429, "{ip}: {:?}", reply.body);
        assert_eq!(reply.body["error"]["code"], "rate_limited");
        assert!(reply.body["error"]["retry_after"].as_u64().is_some_and(|r| r >= 1));
    }
    // The owner: by code…
    s.t.clock.advance(61);
    assert_eq!(s.send("email", "owner@example.com", "login", None).await.status, 202);
    let code = s.t.last_code("owner@example.com").unwrap();
    let by_code = json!({"email": "owner@example.com", "code": code});
    assert_eq!(s.post("/v1/sessions", by_code, None).await.status, 200);
    // …or by password with the code, from any network.
    s.t.clock.advance(61);
    assert_eq!(s.send("email", "owner@example.com", "login", None).await.status, 202);
    let code = s.t.last_code("owner@example.com").unwrap();
    let both = json!({"email": "owner@example.com", "password": "battery staple",
                      "code": code, "captcha": s.captcha().await});
    let reply = s.call("127.0.0.120", reqwest::Method::POST, "/v1/sessions", &both, None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    // A wrong password with a right code is checked, and fails.
    s.t.clock.advance(61);
    assert_eq!(s.send("email", "owner@example.com", "login", None).await.status, 202);
    let code = s.t.last_code("owner@example.com").unwrap();
    let wrong = json!({"email": "owner@example.com", "password": "wrong guess",
                       "code": code, "captcha": s.captcha().await});
    let reply = s.call("127.0.0.121", reqwest::Method::POST, "/v1/sessions", &wrong, None).await;
    assert_eq!(reply.status, 401, "{:?}", reply.body);
}

/// Finding 5: a password change or reset revokes unused login links.
async fn password_changes_revoke_login_links(b: Backend) {
    let s = Server::start(b).await;
    let token = s.register("owner@example.com", "correct horse").await;
    let link = s.post("/v1/login-links", json!({}), Some(&token)).await.body;
    let change = json!({"current_password": "correct horse", "new_password": "battery staple"});
    assert_eq!(s.put("/v1/me/password", change, &token).await.status, 204);
    let redeem = |link: &Value| json!({"authorization": link["authorization"]});
    assert_eq!(s.post("/v1/login-links/redeem", redeem(&link), None).await.status, 401);

    let link = s.post("/v1/login-links", json!({}), Some(&token)).await.body;
    assert_eq!(s.send("email", "owner@example.com", "reset_password", None).await.status, 202);
    let code = s.t.last_code("owner@example.com").unwrap();
    let reset = json!({"email": "owner@example.com", "code": code, "new_password": "a third one"});
    assert_eq!(s.post("/v1/password-resets", reset, None).await.status, 204);
    assert_eq!(s.post("/v1/login-links/redeem", redeem(&link), None).await.status, 401);
    // A link made after the change works.
    let fresh = s.login_by_password("127.0.0.5", "owner@example.com", "a third one").await;
    let token = fresh.body["token"].as_str().unwrap();
    let link = s.post("/v1/login-links", json!({}), Some(token)).await.body;
    assert_eq!(s.post("/v1/login-links/redeem", redeem(&link), None).await.status, 200);
}

/// Finding 6: look-alike addresses are refused, and two spellings of one
/// internationalised domain are one destination.
async fn look_alike_addresses_are_refused_or_one(b: Backend) {
    let s = Server::start(b).await;
    for to in [
        "ali\u{200b}ce@example.com",
        "alice@example.com\u{202e}",
        "\u{2066}alice@example.com",
        "alicé@example.com",
        // Quoted and escaped local parts: many spellings of one mailbox.
        "\"alice\"@example.com",
        "\"\\alice\"@example.com",
        "\"a\\lice\"@example.com",
        "a\\lice@example.com",
        "\"alice smith\"@example.com",
        ".alice@example.com",
        "al..ice@example.com",
    ] {
        let reply = s.send("email", to, "register", None).await;
        assert_eq!(reply.body["error"]["code"], "invalid_email", "{to:?}");
        // Nor can one register, bind or log in with it.
        let body = json!({"email": to, "password": "long enough", "code": "123456"});
        let reply = s.post("/v1/accounts", body, None).await;
        assert_eq!(reply.body["error"]["code"], "invalid_email", "{to:?}");
    }
    for to in
        ["+1-800-FLOWERS", "+1 201 555 0123 ext. 7", "+1 201 555 0123;ext=7", "++8613800138000"]
    {
        let reply = s.send("sms", to, "register", None).await;
        assert_eq!(reply.body["error"]["code"], "invalid_phone", "{to:?}");
    }
    assert_eq!(s.send("email", "bob@bücher.example", "register", None).await.status, 202);
    let other_spelling = s.send("email", "bob@xn--bcher-kva.example", "register", None).await;
    assert_eq!(other_spelling.status, 429, "one destination, one resend interval");
    assert_eq!(s.t.mailbox.to("bob@xn--bcher-kva.example").len(), 1);
}

/// Finding 7: on every endpoint that takes a code, `attempts_left` counts
/// down to 0 and stays 0 while the code lives — for an address with no
/// account too (its decoy code counts alike).
async fn attempts_left_reaches_zero(b: Backend) {
    let s = Server::start(b).await;
    let endpoints: [(&str, &str, Body); 4] = [
        (
            "register",
            "/v1/codes/verify",
            |to, code| json!({"channel": "email", "to": to, "purpose": "register", "code": code}),
        ),
        (
            "register",
            "/v1/accounts",
            |to, code| json!({"email": to, "code": code, "password": "long enough"}),
        ),
        ("login", "/v1/sessions", |to, code| json!({"email": to, "code": code})),
        (
            "reset_password",
            "/v1/password-resets",
            |to, code| json!({"email": to, "code": code, "new_password": "a new password"}),
        ),
    ];
    for (i, (purpose, path, body)) in endpoints.into_iter().enumerate() {
        let to = format!("new{i}@example.com");
        assert_eq!(s.send("email", &to, purpose, None).await.status, 202);
        // A decoy's code is known to no one: any guess is as wrong as can be known.
        let guess = s.t.last_code(&to).map_or("000000", |c| wrong(&c));
        for left in [4, 3, 2, 1, 0, 0] {
            let reply = s.post(path, body(&to, guess), None).await;
            assert_eq!(reply.body["error"]["attempts_left"], left, "{path}: {:?}", reply.body);
        }
    }
    // A real code, once its checks are spent, is dead.
    let to = "new9@example.com";
    assert_eq!(s.send("email", to, "register", None).await.status, 202);
    let code = s.t.last_code(to).unwrap();
    let check =
        |code: &str| json!({"channel": "email", "to": to, "purpose": "register", "code": code});
    for _ in 0..5 {
        s.post("/v1/codes/verify", check(wrong(&code)), None).await;
    }
    let dead = s.post("/v1/codes/verify", check(&code), None).await;
    assert_eq!((dead.status, dead.body["error"]["attempts_left"].as_u64()), (400, Some(0)));
}

/// While the provider is down, a send answers alike for an address with an
/// account and one without; once the retries are spent, both leave the same
/// state behind (no live code, the send refunded) and nothing went out.
async fn an_outage_tells_nothing(b: Backend) {
    let s = Server::start(b).await;
    s.t.account(Some("known@example.com"), None).await;
    s.t.account(Some("taken@example.com"), None).await;
    let (_, token) = s.t.account(Some("binder@example.com"), None).await;
    let addresses =
        ["known@example.com", "unknown@example.com", "taken@example.com", "free@example.com"];
    for a in addresses {
        s.t.mailbox.fail_next(a, 1000);
    }
    for purpose in [Purpose::Register, Purpose::Login, Purpose::ResetPassword] {
        let known = s.send("email", "known@example.com", purpose.as_str(), None).await;
        let unknown = s.send("email", "unknown@example.com", purpose.as_str(), None).await;
        assert_eq!(known, unknown, "{purpose:?}");
        assert_eq!(known.status, 202);
        let shape = s.record_shape(purpose, "known@example.com").await;
        assert_eq!(shape, s.record_shape(purpose, "unknown@example.com").await, "{purpose:?}");
        assert_eq!(shape, (true, 0, 1, 0), "{purpose:?}: kept, as a decoy's is");
    }
    let taken = s.send("email", "taken@example.com", "bind", Some(&token)).await;
    let free = s.send("email", "free@example.com", "bind", Some(&token)).await;
    assert_eq!((taken.status, &taken), (202, &free));
    for a in addresses {
        assert!(s.t.mailbox.to(a).is_empty(), "{a}");
    }
}

/// A provider that refuses real sends but answers probes (a sandbox, a
/// quota, a per-number refusal) fails only the messages with something to
/// send. Afterwards every answer and the stored state are the same for an
/// address with an account and one without: a wrong check's
/// `attempts_left`, a resend's `429`, the record's shape.
async fn a_partial_provider_failure_tells_nothing(b: Backend) {
    let s = Server::start(b).await;
    s.t.account(Some("known@example.com"), None).await;
    s.t.mailbox.refuse_sends_but_answer_probes();
    for purpose in [Purpose::Login, Purpose::ResetPassword, Purpose::Register] {
        let (known, unknown) = ("known@example.com", "unknown@example.com");
        assert_eq!(s.send("email", known, purpose.as_str(), None).await.status, 202);
        assert_eq!(s.send("email", unknown, purpose.as_str(), None).await.status, 202);
        assert!(s.t.mailbox.to(known).is_empty() && s.t.mailbox.to(unknown).is_empty());
        let shape = s.record_shape(purpose, known).await;
        assert_eq!(shape, s.record_shape(purpose, unknown).await, "{purpose:?}");
        let check = |to: &str| json!({"channel": "email", "to": to, "purpose": purpose.as_str(), "code": "000000"});
        let a = s.post("/v1/codes/verify", check(known), None).await;
        let b = s.post("/v1/codes/verify", check(unknown), None).await;
        assert_eq!(a, b, "{purpose:?}");
        assert_eq!(a.body["error"]["attempts_left"], 4, "{purpose:?}: {:?}", a.body);
        let again_known = s.send("email", known, purpose.as_str(), None).await;
        let again_unknown = s.send("email", unknown, purpose.as_str(), None).await;
        assert_eq!(again_known, again_unknown, "{purpose:?}");
        assert_eq!(again_known.status, 429, "{purpose:?}");
    }
}

both_stores!(
    a_partial_provider_failure_tells_nothing,
    checks_answer_alike_with_and_without_an_account,
    bind_to_a_taken_address_tells_nothing,
    a_session_waives_the_captcha_only_for_bind_and_verify,
    checks_cannot_lock_the_owner_out,
    wrong_passwords_lock_only_the_guesser,
    password_changes_revoke_login_links,
    look_alike_addresses_are_refused_or_one,
    attempts_left_reaches_zero,
    an_outage_tells_nothing,
);
