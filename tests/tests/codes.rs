//! `POST /v1/codes` and `POST /v1/codes/verify` through their handlers, on
//! both stores, with a clock the tests move.

use domain::config::Config;
use serde_json::{Value, json};
use vericode_tests::{Backend, TestApp, app, app_with, both_stores, config, parts, request};

const IP: &str = "198.51.100.7";

async fn send(t: &TestApp, body: Value) -> (u16, Value) {
    send_as(t, body, IP, None).await
}

async fn send_as(t: &TestApp, mut body: Value, ip: &str, bearer: Option<&str>) -> (u16, Value) {
    if bearer.is_none() && body.get("captcha").is_none() {
        let (id, answer) = t.captcha().await;
        body["captcha"] = json!({ "id": id, "answer": answer });
    }
    parts(&send_code::handle(&t.app, request(&body, ip, bearer)).await)
}

async fn verify(t: &TestApp, body: Value) -> (u16, Value) {
    parts(&verify_code::handle(&t.app, request(&body, IP, None)).await)
}

fn email(to: &str, purpose: &str) -> Value {
    json!({ "channel": "email", "to": to, "purpose": purpose })
}

fn check(to: &str, purpose: &str, code: &str) -> Value {
    json!({ "channel": "email", "to": to, "purpose": purpose, "code": code })
}

fn with(f: impl Fn(&mut Config)) -> Config {
    let mut c = config();
    f(&mut c);
    c
}

async fn email_send_then_verify(b: Backend) {
    let t = app(b).await;
    assert_eq!(
        send(&t, email("  Alice@Example.COM ", "register")).await,
        (202, json!({"expires_in": 600, "resend_in": 60, "code_length": 6}))
    );
    let msgs = t.mailbox.to("alice@example.com");
    assert_eq!(msgs.len(), 1);
    let code = msgs[0].code.clone().unwrap();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert!(msgs[0].subject.as_deref().unwrap().contains(&code));
    assert!(msgs[0].text.contains(&code) && msgs[0].text.contains("10 minutes"));

    let (status, body) = verify(&t, check("alice@example.com", "register", &code)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["verification_token"].as_str().unwrap().split('.').count(), 3);
    // Used up.
    let (status, body) = verify(&t, check("ALICE@example.com", "register", &code)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("code_invalid")));
    assert!(body["error"].get("attempts_left").is_none());
    // A code is bound to its purpose.
    t.clock.advance(61);
    send(&t, email("alice@example.com", "register")).await;
    let code = t.last_code("alice@example.com").unwrap();
    assert_eq!(verify(&t, check("alice@example.com", "login", &code)).await.0, 400);
}

async fn two_spellings_are_one_destination(b: Backend) {
    let t = app(b).await;
    t.account(None, Some("+8613800138000")).await;
    let national =
        json!({ "channel": "sms", "to": "138 0013 8000", "country_code": 86, "purpose": "login" });
    assert_eq!(send(&t, national).await.0, 202);
    let e164 = json!({ "channel": "sms", "to": "+8613800138000", "purpose": "login" });
    let (status, body) = send(&t, e164).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")));
    let sms = t.mailbox.to("+8613800138000");
    assert_eq!(sms.len(), 1);
    assert!(sms[0].text.contains(sms[0].code.as_deref().unwrap()) && sms[0].subject.is_none());
}

async fn a_resend_repeats_the_live_code(b: Backend) {
    let t = app(b).await;
    send(&t, email("bob@example.com", "register")).await;
    t.clock.advance(61);
    send(&t, email("bob@example.com", "register")).await;
    let msgs = t.mailbox.to("bob@example.com");
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].code, msgs[1].code);
    // Once the code has expired, a new one is made.
    t.clock.advance(601);
    send(&t, email("bob@example.com", "register")).await;
    let old = msgs[0].code.clone().unwrap();
    let new = t.last_code("bob@example.com").unwrap();
    assert_ne!(old, new);
    assert_eq!(verify(&t, check("bob@example.com", "register", &old)).await.0, 400);
    assert_eq!(verify(&t, check("bob@example.com", "register", &new)).await.0, 200);
}

async fn sends_obey_both_sliding_windows(b: Backend) {
    let t = app(b).await;
    let to = email("carol@example.com", "register");
    assert_eq!(send(&t, to.clone()).await.0, 202);
    t.clock.advance(30);
    let (status, body) = send(&t, to.clone()).await;
    assert_eq!((status, body["error"]["retry_after"].as_u64()), (429, Some(30)));
    let resp = send_code::handle(&t.app, {
        let (id, answer) = t.captcha().await;
        let mut b = to.clone();
        b["captcha"] = json!({"id": id, "answer": answer});
        request(&b, IP, None)
    })
    .await;
    assert_eq!(resp.headers()["retry-after"], "30");
    // 5 sends in any 600 s: at 0, 60, 120, 180, 240.
    for _ in 0..4 {
        t.clock.advance(if t.mailbox.to("carol@example.com").len() == 1 { 30 } else { 60 });
        assert_eq!(send(&t, to.clone()).await.0, 202);
    }
    t.clock.advance(60); // 300 s after the first send
    let (status, body) = send(&t, to.clone()).await;
    assert_eq!((status, body["error"]["retry_after"].as_u64()), (429, Some(300)));
    t.clock.advance(299);
    assert_eq!(send(&t, to.clone()).await.0, 429);
    t.clock.advance(1); // the first send has left the window
    assert_eq!(send(&t, to.clone()).await.0, 202);
    assert_eq!(
        send(&t, email("carol@example.com", "login")).await.0,
        202,
        "other purposes count apart"
    );
}

async fn the_client_ip_is_limited(b: Backend) {
    let t = app_with(b, with(|c| c.ip_window_max = 3)).await;
    for i in 0..3 {
        assert_eq!(send(&t, email(&format!("ip{i}@example.com"), "register")).await.0, 202);
    }
    let (status, body) = send(&t, email("ip9@example.com", "register")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")));
    assert_eq!(
        body["error"]["retry_after"].as_u64().unwrap(),
        3600 - (vericode_tests::T0 % 3600) as u64
    );
    assert_eq!(send_as(&t, email("ip9@example.com", "register"), "203.0.113.9", None).await.0, 202);
    assert!(t.mailbox.to("ip9@example.com").len() == 1);
}

async fn sms_countries_and_budgets(b: Backend) {
    let t = app_with(
        b,
        with(|c| {
            c.sms_allowed_country_codes = Some(vec![86, 1]);
            c.sms_daily_max = 3;
            c.sms_country_daily_max = 2;
        }),
    )
    .await;
    let sms = |to: &str| json!({ "channel": "sms", "to": to, "purpose": "register" });
    let (status, body) = send(&t, sms("+447400123456")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("sms_country_not_allowed")));
    assert_eq!(send(&t, sms("+8613800138001")).await.0, 202);
    assert_eq!(send(&t, sms("+8613800138002")).await.0, 202);
    let (status, body) = send(&t, sms("+8613800138003")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("sms_budget_exhausted")));
    assert_eq!(send(&t, sms("+12015550123")).await.0, 202);
    let (status, _) = send(&t, sms("+12015550124")).await;
    assert_eq!(status, 429, "the daily total is spent");
    assert!(t.mailbox.to("+8613800138003").is_empty());
    // A new day brings a new budget.
    t.clock.advance(86_400);
    assert_eq!(send(&t, sms("+8613800138003")).await.0, 202);
}

async fn captchas_are_required_and_single_use(b: Backend) {
    let t = app(b).await;
    let to = email("dave@example.com", "register");
    let (status, body) = parts(&send_code::handle(&t.app, request(&to, IP, None)).await);
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("captcha")));

    let (id, answer) = t.captcha().await;
    let mut wrong = to.clone();
    wrong["captcha"] =
        json!({ "id": id, "answer": if answer == "AAAAA" { "CCCCC" } else { "AAAAA" } });
    assert_eq!(send(&t, wrong).await.1["error"]["code"], "captcha_invalid");
    let mut right = to.clone();
    right["captcha"] = json!({ "id": id, "answer": answer.to_lowercase() });
    assert_eq!(send(&t, right.clone()).await.0, 403, "a wrong answer used the captcha up");

    let (id, answer) = t.captcha().await;
    right["captcha"] = json!({ "id": id, "answer": answer });
    assert_eq!(send(&t, right.clone()).await.0, 202);
    t.clock.advance(61);
    assert_eq!(send(&t, right).await.0, 403, "a used captcha");
    assert_eq!(t.mailbox.to("dave@example.com").len(), 1);
}

async fn five_checks_per_code(b: Backend) {
    let t = app(b).await;
    send(&t, email("erin@example.com", "register")).await;
    let code = t.last_code("erin@example.com").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let (status, body) = verify(&t, check("erin@example.com", "register", wrong)).await;
        assert_eq!((status, body["error"]["attempts_left"].as_u64()), (400, Some(left)));
    }
    let (status, body) = verify(&t, check("erin@example.com", "register", &code)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("code_invalid")),
        "dead after 5 checks"
    );
    // A dead code is not resent: the next send makes a new one.
    t.clock.advance(61);
    send(&t, email("erin@example.com", "register")).await;
    let fresh = t.last_code("erin@example.com").unwrap();
    assert_eq!(verify(&t, check("erin@example.com", "register", &fresh)).await.0, 200);
}

/// Failed checks are limited per client network (8 an hour per address
/// and purpose), never for another network; 10 failures harden the
/// address: its short code dies and the next code has 9 digits, which a
/// network with checks left can use.
async fn failed_checks_are_limited_across_codes(b: Backend) {
    let t = app(b).await;
    let to = "frank@example.com";
    let from = |ip: &'static str, code: String| {
        let app = t.app.clone();
        async move {
            let body = check(to, "register", &code);
            parts(&verify_code::handle(&app, request(&body, ip, None)).await)
        }
    };
    let wrong = |code: &str| code.chars().map(|c| if c == '0' { '1' } else { '0' }).collect();
    send(&t, email(to, "register")).await;
    let code = t.last_code(to).unwrap();
    for left in (0..5).rev() {
        let (status, body) = from(IP, wrong(&code)).await;
        assert_eq!((status, body["error"]["attempts_left"].as_u64()), (400, Some(left)));
    }
    t.clock.advance(61);
    send(&t, email(to, "register")).await;
    let code = t.last_code(to).unwrap();
    // The network has 3 failures left this hour: fewer than the code's 5.
    for left in (0..3).rev() {
        let (status, body) = from(IP, wrong(&code)).await;
        assert_eq!((status, body["error"]["attempts_left"].as_u64()), (400, Some(left)));
    }
    let (status, body) = from(IP, code.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")));
    assert!(body["error"]["retry_after"].as_u64().unwrap() <= 3600);
    // Another network is not limited by it; two more failures make ten,
    // which harden the address: the short code is closed to everyone.
    for _ in 0..2 {
        assert_eq!(from("203.0.113.9", wrong(&code)).await.0, 400);
    }
    let (status, body) = from("203.0.113.10", code).await;
    assert_eq!((status, body["error"]["attempts_left"].as_u64()), (400, Some(0)), "{body}");
    // The next code has 10 digits, and a network with checks left uses it.
    t.clock.advance(61);
    send(&t, email(to, "register")).await;
    let long = t.last_code(to).unwrap();
    assert_eq!(long.len(), 10, "{long}");
    let (status, body) = from("203.0.113.9", wrong(&long)).await;
    assert_eq!((status, body["error"]["attempts_left"].as_u64()), (400, Some(5)), "{body}");
    assert_eq!(from("203.0.113.11", long).await.0, 200);
}

/// A step-up code belongs to the account that asked: it has 10 digits from
/// the start and dies after its 5 checks, and however many of its codes
/// were mistyped, the next one works (its record never hardens).
async fn step_up_codes_are_long_and_never_closed_for_good(b: Backend) {
    let t = app(b).await;
    let (_, session) = t.account(Some("step@example.com"), None).await;
    let step = json!({"channel": "email", "purpose": "verify"});
    for round in 0..3 {
        assert_eq!(send_as(&t, step.clone(), IP, Some(&session)).await.0, 202, "{round}");
        let code = t.last_code("step@example.com").unwrap();
        assert_eq!(code.len(), 10);
        let body = |code: &str| json!({"channel": "email", "to": "step@example.com", "purpose": "verify", "code": code});
        if round < 2 {
            let wrong: String = code.chars().map(|c| if c == '0' { '1' } else { '0' }).collect();
            for _ in 0..5 {
                let ip = format!("203.0.113.{}", 20 + round);
                let (status, _) = parts(
                    &verify_code::handle(&t.app, request(&body(&wrong), &ip, Some(&session))).await,
                );
                assert_eq!(status, 400);
            }
        } else {
            let (status, reply) = parts(
                &verify_code::handle(&t.app, request(&body(&code), IP, Some(&session))).await,
            );
            assert_eq!(status, 200, "after 10 failures: {reply}");
        }
        t.clock.advance(61);
    }
}

async fn register_login_and_reset_do_not_tell_who_has_an_account(b: Backend) {
    let t = app(b).await;
    t.account(Some("known@example.com"), Some("+8613800138000")).await;
    for purpose in ["register", "login", "reset_password"] {
        let known = send_code::handle(&t.app, {
            let (id, answer) = t.captcha().await;
            request(&json!({"channel": "email", "to": "known@example.com", "purpose": purpose, "captcha": {"id": id, "answer": answer}}), IP, None)
        })
        .await;
        let unknown = send_code::handle(&t.app, {
            let (id, answer) = t.captcha().await;
            request(&json!({"channel": "email", "to": "unknown@example.com", "purpose": purpose, "captcha": {"id": id, "answer": answer}}), IP, None)
        })
        .await;
        assert_eq!(known.status(), unknown.status(), "{purpose}");
        assert_eq!(known.headers(), unknown.headers(), "{purpose}");
        assert_eq!(known.body().as_ref(), unknown.body().as_ref(), "{purpose}");
        // Limits count alike: both are now inside the resend interval.
        let again_known = send(&t, email("known@example.com", purpose)).await;
        let again_unknown = send(&t, email("unknown@example.com", purpose)).await;
        assert_eq!(again_known, again_unknown, "{purpose}");
        assert_eq!(again_known.0, 429);
    }
    let known = t.mailbox.to("known@example.com");
    let unknown = t.mailbox.to("unknown@example.com");
    // Register to a taken email: a notice, no code. Login/reset: a code.
    let register_notice = known.iter().find(|m| m.purpose == "register").unwrap();
    assert!(register_notice.code.is_none() && register_notice.text.contains("already belongs"));
    assert_eq!(known.iter().filter(|m| m.code.is_some()).count(), 2);
    // Unknown address: a sign-up code only.
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].purpose, "register");
    // Register to a taken phone: the owner is told by SMS, with no code.
    send(&t, json!({"channel": "sms", "to": "+8613800138000", "purpose": "register"})).await;
    let sms = t.mailbox.to("+8613800138000");
    assert_eq!((sms.len(), sms[0].code.as_deref()), (1, None));
}

async fn bind_and_verify_need_a_session(b: Backend) {
    let t = app(b).await;
    let (_, token) = t.account(Some("gina@example.com"), None).await;
    t.account(Some("taken@example.com"), None).await;
    let unauthenticated = json!({"channel": "email", "to": "new@example.com", "purpose": "bind"});
    assert_eq!(send(&t, unauthenticated.clone()).await.1["error"]["code"], "unauthorized");
    assert_eq!(send_as(&t, unauthenticated.clone(), IP, Some("not.a.token")).await.0, 401);

    assert_eq!(send_as(&t, unauthenticated, IP, Some(&token)).await.0, 202, "no captcha needed");
    assert!(t.last_code("new@example.com").is_some());
    // Another account's address: answered like any other, the owner told.
    let taken = json!({"channel": "email", "to": "taken@example.com", "purpose": "bind"});
    assert_eq!(send_as(&t, taken, IP, Some(&token)).await.0, 202);
    assert_eq!(t.mailbox.to("taken@example.com")[0].code, None);

    // Step-up goes to the bound address; `to` is ignored.
    let step_up = json!({"channel": "email", "to": "elsewhere@example.com", "purpose": "verify"});
    assert_eq!(send_as(&t, step_up, IP, Some(&token)).await.0, 202);
    assert!(t.mailbox.to("elsewhere@example.com").is_empty());
    let code = t.last_code("gina@example.com").unwrap();
    let step_check = check("gina@example.com", "verify", &code);
    assert_eq!(verify(&t, step_check.clone()).await.0, 401, "a step-up check needs the session");
    let (_, other) = t.account(Some("other@example.com"), None).await;
    let as_other =
        parts(&verify_code::handle(&t.app, request(&step_check, IP, Some(&other))).await);
    assert_eq!(as_other.0, 400, "another account cannot use it");
    let as_owner =
        parts(&verify_code::handle(&t.app, request(&step_check, IP, Some(&token))).await);
    assert_eq!(as_owner.0, 200);
    let no_phone = json!({"channel": "sms", "purpose": "verify"});
    assert_eq!(
        send_as(&t, no_phone, IP, Some(&token)).await.1["error"]["code"],
        "no_bound_address"
    );
}

/// A logged-out session sends nothing and checks nothing: the store
/// refuses the write itself, as no session is loaded first.
async fn a_logged_out_session_writes_nothing(b: Backend) {
    let t = app(b).await;
    let (account, token) = t.account(Some("hal@example.com"), None).await;
    let bind = json!({"channel": "email", "to": "hal.new@example.com", "purpose": "bind"});
    assert_eq!(send_as(&t, bind.clone(), IP, Some(&token)).await.0, 202);
    let code = t.last_code("hal.new@example.com").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let logout =
        parts(&delete_session::handle(&t.app, request(&json!({}), IP, Some(&token))).await);
    assert_eq!(logout.0, 204);
    t.clock.advance(61);
    let (status, body) = send_as(&t, bind, IP, Some(&token)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));
    assert_eq!(t.mailbox.to("hal.new@example.com").len(), 1, "nothing more sent");
    for guess in [wrong, code.as_str()] {
        let body = check("hal.new@example.com", "bind", guess);
        let (status, _) =
            parts(&verify_code::handle(&t.app, request(&body, IP, Some(&token))).await);
        assert_eq!(status, 401);
    }
    // Nothing was counted or used: a new session of the account still has
    // all five checks of the code.
    let (token, _) = domain::sessions::issue(&t.app, &account, 3600).unwrap();
    let body = check("hal.new@example.com", "bind", wrong);
    let (status, body) =
        parts(&verify_code::handle(&t.app, request(&body, IP, Some(&token))).await);
    assert_eq!((status, body["error"]["attempts_left"].as_u64()), (400, Some(4)));
}

/// Where the request names no locale, the message speaks the caller's
/// language, else the address owner's (both looked up at delivery).
async fn messages_speak_the_accounts_language(b: Backend) {
    use domain::ports::{AccountWrite, ApplyOutcome};
    let t = app(b).await;
    let (account, token) = t.account(Some("ida@example.com"), None).await;
    let chinese = domain::ports::AccountRecord { locale: Some("zh-Hans".into()), ..account };
    let put = [AccountWrite::PutAccount(chinese)];
    assert_eq!(t.app.store.apply(&put, 0).await.unwrap(), ApplyOutcome::Committed);
    let han =
        |to: &str| t.mailbox.to(to)[0].text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let bind = json!({"channel": "email", "to": "ida.new@example.com", "purpose": "bind"});
    assert_eq!(send_as(&t, bind, IP, Some(&token)).await.0, 202);
    assert!(han("ida.new@example.com"), "the caller's language");
    assert_eq!(send(&t, email("ida@example.com", "login")).await.0, 202);
    assert!(han("ida@example.com"), "the owner's language");
    t.clock.advance(61);
    let mut named = email("ida@example.com", "login");
    named["locale"] = json!("en");
    assert_eq!(send(&t, named).await.0, 202);
    assert!(!han("ida@example.com"), "the request's own");
}

/// The provider refuses the message for good (after the request was
/// answered): the code is disabled and the send refunded.
/// A message the provider refuses for good, for a purpose without decoys
/// (`confirm`): its code is disabled and its send refunded. For a purpose
/// with decoys (`register`) the code and the counts stay, as a decoy's do.
async fn a_refused_delivery_leaves_nothing_behind(b: Backend) {
    let t = app_with(b, with(|c| c.sms_daily_max = 2)).await;
    let record = async |purpose, to: &str| {
        let dest =
            domain::address::Destination::parse(domain::address::Channel::Sms, to, None, "to")
                .unwrap();
        let key = domain::codes::record_key(purpose, &dest, None);
        t.app.store.load_destination(&key, vericode_tests::T0).await.unwrap()
    };
    t.mailbox.refuse("+8613800138009");
    let body = json!({"channel": "sms", "to": "+8613800138009", "purpose": "confirm"});
    let (status, body) = send(&t, body.clone()).await;
    assert_eq!(status, 202, "the request never waits for the provider: {body}");
    assert!(t.mailbox.to("+8613800138009").is_empty());
    let confirm = record(domain::purpose::Purpose::Confirm, "+8613800138009").await;
    assert!(confirm.code.is_none() && confirm.sends.is_empty(), "{confirm:?}");
    // The send did not count: not against the destination, nor the SMS budget of 2.
    let ok = json!({"channel": "sms", "to": "+8613800138008", "purpose": "confirm"});
    assert_eq!(send(&t, ok).await.0, 202);

    // A sign-up code refused: what stays is what a decoy's send leaves.
    let body = json!({"channel": "sms", "to": "+8613800138009", "purpose": "register"});
    assert_eq!(send(&t, body).await.0, 202);
    let register = record(domain::purpose::Purpose::Register, "+8613800138009").await;
    assert!(register.code.is_some() && register.sends.len() == 1, "{register:?}");
    let over = json!({"channel": "sms", "to": "+8613800138007", "purpose": "confirm"});
    assert_eq!(send(&t, over).await.1["error"]["code"], "sms_budget_exhausted");
}

async fn concurrent_sends_and_checks(b: Backend) {
    let t = app(b).await;
    let mut captchas = Vec::new();
    for _ in 0..20 {
        captchas.push(t.captcha().await);
    }
    let tasks: Vec<_> = captchas
        .into_iter()
        .enumerate()
        .map(|(i, (id, answer))| {
            let app = t.app.clone();
            tokio::spawn(async move {
                let body = json!({"channel": "email", "to": "race@example.com", "purpose": "register", "captcha": {"id": id, "answer": answer}});
                parts(&send_code::handle(&app, request(&body, &format!("10.0.0.{i}"), None)).await).0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 202).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 202 || s == 429), "{statuses:?}");
    assert_eq!(t.mailbox.to("race@example.com").len(), 1);

    let code = t.last_code("race@example.com").unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, body) = (t.app.clone(), check("race@example.com", "register", &code));
            tokio::spawn(async move {
                parts(&verify_code::handle(&app, request(&body, IP, None)).await).0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{statuses:?}");
}

/// Concurrent wrong guesses count one check each and no more than the
/// code allows; the right code is dead after them.
async fn concurrent_wrong_guesses_count_exactly(b: Backend) {
    let t = app(b).await;
    send(&t, email("flood@example.com", "register")).await;
    let code = t.last_code("flood@example.com").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (app, body) = (t.app.clone(), check("flood@example.com", "register", wrong));
            tokio::spawn(async move {
                parts(&verify_code::handle(&app, request(&body, IP, None)).await)
            })
        })
        .collect();
    let mut left = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("code_invalid")));
        left.push(body["error"]["attempts_left"].as_u64());
    }
    left.sort_unstable();
    // The 5 checks counted once each (4, 3, 2, 1, 0 left); 11 found none left.
    let mut want = vec![Some(0); 12];
    want.extend([1, 2, 3, 4].map(Some));
    assert_eq!(left, want);
    assert_eq!(verify(&t, check("flood@example.com", "register", &code)).await.0, 400);
}

/// A code stored before codes carried a hash (written by an earlier
/// version, still live after an upgrade) is checked by reading it.
async fn a_code_stored_without_its_hash_still_checks(b: Backend) {
    use domain::ports::{Clock, DestRecord, LiveCode};
    let t = app(b).await;
    let key = "register|email:legacy@example.com";
    let now = t.clock.now();
    let sealed = t.app.keys.seal_code(key, "424242", &*t.app.random).unwrap();
    let code = LiveCode { sealed, hash: None, expires_at: now + 600, attempts: 0, long: false };
    let record = DestRecord {
        key: key.into(),
        version: 1,
        sends: vec![now],
        code: Some(code),
        expires_at: now + 600,
        ..Default::default()
    };
    t.app.store.save_destination(&record, 0).await.unwrap();
    let (status, body) = verify(&t, check("legacy@example.com", "register", "424243")).await;
    assert_eq!((status, body["error"]["attempts_left"].as_u64()), (400, Some(4)));
    let (status, body) = verify(&t, check("legacy@example.com", "register", "424242")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(verify(&t, check("legacy@example.com", "register", "424242")).await.0, 400);
}

async fn bad_input_changes_nothing(b: Backend) {
    let t = app(b).await;
    let (id, answer) = t.captcha().await;
    let captcha = json!({"id": id, "answer": answer});
    let cases = [
        (json!({"channel": "email", "purpose": "register"}), 400, "invalid_request", Some("to")),
        (
            json!({"channel": "fax", "to": "a@example.com", "purpose": "register"}),
            400,
            "invalid_request",
            Some("channel"),
        ),
        (
            json!({"channel": "email", "to": "a@example.com", "purpose": "spam"}),
            400,
            "invalid_request",
            Some("purpose"),
        ),
        (
            json!({"channel": "email", "to": 5, "purpose": "register"}),
            400,
            "invalid_request",
            Some("to"),
        ),
        (
            json!({"channel": "email", "to": "a@example.com", "purpose": "register", "extra": 1}),
            400,
            "invalid_request",
            Some("extra"),
        ),
        (
            json!({"channel": "email", "to": "not-an-email", "purpose": "register"}),
            400,
            "invalid_email",
            Some("to"),
        ),
        (
            json!({"channel": "sms", "to": "12345", "country_code": 86, "purpose": "register"}),
            400,
            "invalid_phone",
            Some("to"),
        ),
        (
            json!({"channel": "sms", "to": "13800138000", "purpose": "register"}),
            400,
            "invalid_phone",
            Some("to"),
        ),
        (
            json!({"channel": "sms", "to": "13800138000", "country_code": "86", "purpose": "register"}),
            400,
            "invalid_request",
            Some("country_code"),
        ),
        (
            json!({"channel": "email", "to": "a@example.com", "purpose": "register", "captcha": {"id": id}}),
            400,
            "invalid_request",
            Some("captcha.answer"),
        ),
        (
            json!({"channel": "email", "to": "a@example.com", "purpose": "register", "captcha": {"id": id, "answer": ""}}),
            400,
            "invalid_request",
            Some("captcha.answer"),
        ),
    ];
    for (mut body, status, code, field) in cases {
        if body.get("captcha").is_none() {
            body["captcha"] = captcha.clone();
        }
        let (got, err) = parts(&send_code::handle(&t.app, request(&body, IP, None)).await);
        assert_eq!(
            (got, err["error"]["code"].as_str(), err["error"]["field"].as_str()),
            (status, Some(code), field),
            "{body}"
        );
    }
    for (body, field) in [
        (
            json!({"channel": "email", "to": "a@example.com", "purpose": "register", "code": "12345"}),
            "code",
        ),
        (
            json!({"channel": "email", "to": "a@example.com", "purpose": "register", "code": "12345a"}),
            "code",
        ),
        (json!({"channel": "email", "to": "a@example.com", "purpose": "register"}), "code"),
        (json!({"channel": "email", "to": "a@", "purpose": "register", "code": "123456"}), "to"),
    ] {
        let (got, err) = verify(&t, body.clone()).await;
        assert_eq!((got, err["error"]["field"].as_str()), (400, Some(field)), "{body}");
    }
    // Nothing was sent or counted, and the captcha is still good.
    let mut ok = email("a@example.com", "register");
    ok["captcha"] = captcha;
    assert_eq!(send(&t, ok).await.0, 202);
    assert_eq!(t.mailbox.to("a@example.com").len(), 1);
    let code = t.last_code("a@example.com").unwrap();
    assert_eq!(
        verify(&t, check("a@example.com", "register", &code)).await.0,
        200,
        "no failed check was counted"
    );
}

/// Sends written without a read add to the record without trimming it: a
/// destination sent a code every ten minutes for hours, with a wrong guess
/// each time, keeps a small record, and every send still goes out.
async fn a_busy_destinations_record_stays_small(b: Backend) {
    use domain::ports::Clock;
    let t = app(b).await;
    let to = "dave@example.com";
    let dest = domain::address::Destination::parse(domain::address::Channel::Email, to, None, "to")
        .unwrap();
    let key = domain::codes::record_key(domain::purpose::Purpose::Login, &dest, None);
    let cfg = config();
    // The bound docs/performance.md promises: 2 × max(window, failures) = 20.
    let keep = 2 * cfg.code_window_max.max(cfg.verify_fail_max) as usize;
    t.account(Some(to), None).await;
    for round in 0..3 * keep {
        let (status, body) = send(&t, email(to, "login")).await;
        assert_eq!(status, 202, "send {round}: {body}");
        let code = t.last_code(to).expect("a code");
        let wrong: String = code.chars().map(|c| if c == '9' { '0' } else { '9' }).collect();
        let (status, _) = verify(&t, check(to, "login", &wrong)).await;
        assert!(matches!(status, 400 | 429), "a wrong guess is refused");
        let record = t.app.store.load_destination(&key, t.clock.now()).await.unwrap();
        assert!(record.sends.len() <= keep, "send {round}: {} sends held", record.sends.len());
        assert!(record.fails.len() <= keep, "send {round}: {} failures held", record.fails.len());
        t.clock.advance(cfg.code_ttl_secs + 1);
    }
    assert_eq!(t.mailbox.to(to).len(), 3 * keep, "every send went out");
}

both_stores!(
    step_up_codes_are_long_and_never_closed_for_good,
    email_send_then_verify,
    two_spellings_are_one_destination,
    a_resend_repeats_the_live_code,
    sends_obey_both_sliding_windows,
    the_client_ip_is_limited,
    sms_countries_and_budgets,
    captchas_are_required_and_single_use,
    five_checks_per_code,
    failed_checks_are_limited_across_codes,
    register_login_and_reset_do_not_tell_who_has_an_account,
    bind_and_verify_need_a_session,
    a_logged_out_session_writes_nothing,
    messages_speak_the_accounts_language,
    a_refused_delivery_leaves_nothing_behind,
    concurrent_sends_and_checks,
    concurrent_wrong_guesses_count_exactly,
    a_code_stored_without_its_hash_still_checks,
    bad_input_changes_nothing,
    a_busy_destinations_record_stays_small,
);

mod redemption {
    use super::*;
    use domain::address::{Channel, Destination};
    use domain::codes::{CheckError, Proof, redeem};
    use domain::purpose::Purpose;

    fn dest(to: &str) -> Destination {
        Destination::parse(Channel::Email, to, None, "to").unwrap()
    }

    async fn token_for(t: &TestApp, to: &str) -> String {
        send(t, email(to, "register")).await;
        let code = t.last_code(to).unwrap();
        let (status, body) = verify(t, check(to, "register", &code)).await;
        assert_eq!(status, 200);
        body["verification_token"].as_str().unwrap().to_string()
    }

    async fn a_verification_token_is_single_use(b: Backend) {
        let t = app(b).await;
        let token = token_for(&t, "hana@example.com").await;
        // Bound to its purpose and destination.
        let other =
            redeem(&t.app, Purpose::Login, &dest("hana@example.com"), Proof::Token(&token), None)
                .await;
        assert!(matches!(other, Err(CheckError::CodeInvalid { .. })));
        let other = redeem(
            &t.app,
            Purpose::Register,
            &dest("ivan@example.com"),
            Proof::Token(&token),
            None,
        )
        .await;
        assert!(other.is_err());
        // Two uses at once: one wins.
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (app, token) = (t.app.clone(), token.clone());
                tokio::spawn(async move {
                    match redeem(
                        &app,
                        Purpose::Register,
                        &dest("hana@example.com"),
                        Proof::Token(&token),
                        None,
                    )
                    .await
                    {
                        Ok(r) => r.commit(&app).await.is_ok(),
                        Err(_) => false,
                    }
                })
            })
            .collect();
        let mut used = 0;
        for task in tasks {
            used += task.await.unwrap() as usize;
        }
        assert_eq!(used, 1);
        let again = redeem(
            &t.app,
            Purpose::Register,
            &dest("hana@example.com"),
            Proof::Token(&token),
            None,
        )
        .await;
        assert!(again.is_err());
        // Expired tokens are refused.
        let token = {
            t.clock.advance(61);
            token_for(&t, "hana@example.com").await
        };
        t.clock.advance(600);
        assert!(
            redeem(
                &t.app,
                Purpose::Register,
                &dest("hana@example.com"),
                Proof::Token(&token),
                None
            )
            .await
            .is_err()
        );
        assert!(
            redeem(
                &t.app,
                Purpose::Register,
                &dest("hana@example.com"),
                Proof::Token("garbage"),
                None
            )
            .await
            .is_err()
        );
    }

    async fn a_code_redeems_once_and_wrong_ones_count(b: Backend) {
        let t = app(b).await;
        send(&t, email("jo@example.com", "register")).await;
        let code = t.last_code("jo@example.com").unwrap();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let err =
            redeem(&t.app, Purpose::Register, &dest("jo@example.com"), Proof::Code(wrong), None)
                .await
                .unwrap_err();
        assert!(matches!(err, CheckError::CodeInvalid { attempts_left: Some(4) }));
        // Checking without committing uses nothing up (e.g. a refused password).
        let first =
            redeem(&t.app, Purpose::Register, &dest("jo@example.com"), Proof::Code(&code), None)
                .await
                .unwrap();
        let second =
            redeem(&t.app, Purpose::Register, &dest("jo@example.com"), Proof::Code(&code), None)
                .await
                .unwrap();
        first.commit(&t.app).await.unwrap();
        assert!(second.commit(&t.app).await.is_err(), "used by the first");
        assert!(
            redeem(&t.app, Purpose::Register, &dest("jo@example.com"), Proof::Code(&code), None)
                .await
                .is_err()
        );
    }

    both_stores!(a_verification_token_is_single_use, a_code_redeems_once_and_wrong_ones_count);
}
