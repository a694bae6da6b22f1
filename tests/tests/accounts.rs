//! Account flows end to end through the handlers, on both stores.

use serde_json::{Value, json};
use vericode_tests::{Backend, TestApp, app, app_with, both_stores, config, parts, request};

const IP: &str = "198.51.100.20";

macro_rules! call {
    ($t:expr, $krate:ident, $body:expr) => {
        parts(&$krate::handle(&$t.app, request(&$body, IP, None)).await)
    };
    ($t:expr, $krate:ident, $body:expr, $token:expr) => {
        parts(&$krate::handle(&$t.app, request(&$body, IP, Some($token))).await)
    };
}

/// Sends a code (captcha or session as needed) and reads it from the outbox.
async fn code_for(
    t: &TestApp,
    channel: &str,
    to: &str,
    purpose: &str,
    session: Option<&str>,
) -> String {
    let mut body = json!({"channel": channel, "to": to, "purpose": purpose});
    if session.is_none() {
        let (id, answer) = t.captcha().await;
        body["captcha"] = json!({"id": id, "answer": answer});
    }
    let (status, resp) = parts(&send_code::handle(&t.app, request(&body, IP, session)).await);
    assert_eq!(status, 202, "{resp}");
    let canonical = if channel == "email" { to.to_lowercase() } else { to.to_string() };
    t.last_code(&canonical).expect("a code in the outbox")
}

async fn register(t: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let code = code_for(t, "email", email, "register", None).await;
    call!(
        t,
        create_account,
        json!({"email": email, "password": password, "code": code, "display_name": "Tester"})
    )
}

async fn solved(t: &TestApp) -> Value {
    let (id, answer) = t.captcha().await;
    json!({"id": id, "answer": answer})
}

async fn the_whole_flow(b: Backend) {
    let t = app(b).await;
    // Register by email code.
    let (status, body) = register(&t, "Flow@Example.com", "first password").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86_400);
    assert_eq!(body["account"]["email"], "flow@example.com");
    assert_eq!(body["account"]["display_name"], "Tester");
    assert_eq!(body["account"]["created_at"], "2027-01-15T08:00:00Z");
    let first = body["token"].as_str().unwrap().to_string();
    let (status, me) = call!(t, get_me, json!({}), &first);
    assert_eq!((status, &me["email"]), (200, &json!("flow@example.com")));
    assert_eq!(me["phone"], Value::Null);

    // Log in by password + captcha.
    let login = json!({"email": "flow@example.com", "password": "first password", "captcha": solved(&t).await, "expires_in": 600});
    let (status, body) = call!(t, create_session, login);
    assert_eq!((status, body["expires_in"].as_i64()), (200, Some(600)));
    let second = body["token"].as_str().unwrap().to_string();

    // Bind a phone with a bind code sent to it and the current password.
    let code = code_for(&t, "sms", "+8613800138000", "bind", Some(&first)).await;
    let (status, body) = call!(
        t,
        bind_phone,
        json!({"phone": "13800138000", "country_code": 86, "code": code, "current_password": "first password"}),
        &first
    );
    assert_eq!((status, &body["phone"]), (200, &json!("+8613800138000")), "{body}");

    // Step-up: a verify code to the bound phone, checked for a token.
    let step = json!({"channel": "sms", "purpose": "verify"});
    assert_eq!(parts(&send_code::handle(&t.app, request(&step, IP, Some(&first))).await).0, 202);
    let code = t.last_code("+8613800138000").unwrap();
    let check =
        json!({"channel": "sms", "to": "+8613800138000", "purpose": "verify", "code": code});
    assert_eq!(call!(t, verify_code, check, &first).0, 200);

    // Log in by code, on the phone.
    let code = code_for(&t, "sms", "+8613800138000", "login", None).await;
    let (status, body) = call!(t, create_session, json!({"phone": "+8613800138000", "code": code}));
    assert_eq!(status, 200, "{body}");
    let third = body["token"].as_str().unwrap().to_string();

    // Change the password from the first session: the others are revoked.
    let change = json!({"current_password": "first password", "new_password": "second password"});
    assert_eq!(call!(t, change_password, change, &first).0, 204);
    assert_eq!(call!(t, get_me, json!({}), &first).0, 200, "the changing session stays");
    assert_eq!(call!(t, get_me, json!({}), &second).0, 401);
    assert_eq!(call!(t, get_me, json!({}), &third).0, 401);
    let wrong = json!({"current_password": "first password", "new_password": "third password"});
    assert_eq!(call!(t, change_password, wrong, &first).1["error"]["code"], "invalid_credentials");

    // Reset with a code: every session is revoked, the new password works.
    t.clock.advance(61);
    let code = code_for(&t, "email", "flow@example.com", "reset_password", None).await;
    let reset =
        json!({"email": "flow@example.com", "code": code, "new_password": "fourth password"});
    assert_eq!(call!(t, reset_password, reset).0, 204);
    assert_eq!(call!(t, get_me, json!({}), &first).0, 401);
    let old = json!({"email": "flow@example.com", "password": "second password", "captcha": solved(&t).await});
    assert_eq!(call!(t, create_session, old).1["error"]["code"], "invalid_credentials");
    let login = json!({"email": "flow@example.com", "password": "fourth password", "captcha": solved(&t).await});
    let (status, body) = call!(t, create_session, login);
    assert_eq!(status, 200);
    let fourth = body["token"].as_str().unwrap().to_string();

    // A login link, redeemed once by POST.
    let (status, link) = call!(t, create_login_link, json!({}), &fourth);
    assert_eq!((status, link["expires_in"].as_i64()), (201, Some(300)));
    let secret = link["authorization"].as_str().unwrap().to_string();
    assert_eq!(link["url"], format!("http://localhost:3000/login?authorization={secret}"));
    let (status, body) = call!(t, redeem_login_link, json!({"authorization": secret}));
    assert_eq!((status, &body["account"]["email"]), (200, &json!("flow@example.com")));
    let fifth = body["token"].as_str().unwrap().to_string();
    assert_eq!(
        call!(t, redeem_login_link, json!({"authorization": secret})).1["error"]["code"],
        "invalid_credentials"
    );

    // Log out: that token is refused, the others are not.
    assert_eq!(call!(t, delete_session, json!({}), &fifth).0, 204);
    assert_eq!(call!(t, get_me, json!({}), &fifth).1["error"]["code"], "unauthorized");
    assert_eq!(call!(t, get_me, json!({}), &fourth).0, 200);
}

async fn a_refused_password_consumes_nothing(b: Backend) {
    let t = app(b).await;
    let code = code_for(&t, "email", "weak@example.com", "register", None).await;
    let (status, body) = call!(
        t,
        create_account,
        json!({"email": "weak@example.com", "password": "short", "code": code})
    );
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["field"].as_str()),
        (400, Some("weak_password"), Some("password"))
    );
    let (status, _) = call!(
        t,
        create_account,
        json!({"email": "weak@example.com", "password": "long enough", "code": code})
    );
    assert_eq!(status, 201, "the same code works with a good password");
    let (status, body) = call!(
        t,
        create_account,
        json!({"email": "weak@example.com", "password": "long enough", "code": code})
    );
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("code_invalid")));
}

async fn bad_account_input(b: Backend) {
    let t = app(b).await;
    for (body, status, code, field) in [
        (
            json!({"password": "long enough", "code": "123456"}),
            400,
            "invalid_request",
            Some("email"),
        ),
        (
            json!({"email": "a@example.com", "phone": "+8613800138000", "password": "long enough", "code": "123456"}),
            400,
            "invalid_request",
            Some("phone"),
        ),
        (
            json!({"email": "a@example.com", "password": "long enough"}),
            400,
            "invalid_request",
            Some("code"),
        ),
        (
            json!({"email": "a@", "password": "long enough", "code": "123456"}),
            400,
            "invalid_email",
            Some("email"),
        ),
        (
            json!({"phone": "123", "country_code": 86, "password": "long enough", "code": "123456"}),
            400,
            "invalid_phone",
            Some("phone"),
        ),
        (
            json!({"email": "a@example.com", "password": "x".repeat(129), "code": "123456"}),
            400,
            "weak_password",
            Some("password"),
        ),
        (
            json!({"email": "a@example.com", "password": "long enough", "code": "123456", "display_name": ""}),
            400,
            "invalid_request",
            Some("display_name"),
        ),
        (
            json!({"email": "a@example.com", "password": "long enough", "code": "123456", "admin": true}),
            400,
            "invalid_request",
            Some("admin"),
        ),
    ] {
        let (got, err) = call!(t, create_account, body.clone());
        assert_eq!(
            (got, err["error"]["code"].as_str(), err["error"]["field"].as_str()),
            (status, Some(code), field),
            "{body}"
        );
    }
    for expires_in in [4, 2_592_001] {
        let body = json!({"email": "a@example.com", "password": "long enough", "captcha": solved(&t).await, "expires_in": expires_in});
        assert_eq!(call!(t, create_session, body).1["error"]["field"], "expires_in");
    }
    let no_captcha = json!({"email": "a@example.com", "password": "long enough"});
    assert_eq!(call!(t, create_session, no_captcha).1["error"]["field"], "captcha");
    assert_eq!(call!(t, get_me, json!({})).0, 401);
    assert_eq!(call!(t, get_me, json!({}), "garbage").0, 401);
}

async fn logins_fail_alike_and_are_limited(b: Backend) {
    let t = app(b).await;
    assert_eq!(register(&t, "limit@example.com", "right password").await.0, 201);
    let attempt = |email: &'static str, password: &'static str| {
        let t = &t;
        async move {
            let body = json!({"email": email, "password": password, "captcha": solved(t).await});
            call!(t, create_session, body)
        }
    };
    let wrong = attempt("limit@example.com", "wrong password").await;
    let unknown = attempt("nobody@example.com", "wrong password").await;
    assert_eq!(wrong, unknown, "unknown account and wrong password look the same");
    assert_eq!(wrong.0, 401);
    for _ in 0..9 {
        assert_eq!(attempt("limit@example.com", "wrong password").await.0, 401);
    }
    let (status, body) = attempt("limit@example.com", "right password").await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")));
    assert!(body["error"]["retry_after"].as_u64().unwrap() <= 900);
    t.clock.advance(900);
    assert_eq!(attempt("limit@example.com", "right password").await.0, 200);
    // Successes do not count: many in a row stay fine.
    for _ in 0..12 {
        assert_eq!(attempt("limit@example.com", "right password").await.0, 200);
    }
}

async fn invite_only_registration(b: Backend) {
    let mut cfg = config();
    cfg.registration_mode = domain::config::RegistrationMode::Invite;
    let t = app_with(b, cfg).await;
    let (_, admin) = t.account(Some("admin@example.com"), None).await;
    let code = code_for(&t, "email", "guest@example.com", "register", None).await;
    let no_invite = json!({"email": "guest@example.com", "password": "long enough", "code": code});
    assert_eq!(call!(t, create_account, no_invite).1["error"]["code"], "invite_invalid");
    let bad = json!({"email": "guest@example.com", "password": "long enough", "code": code, "invite": "nope"});
    assert_eq!(call!(t, create_account, bad).1["error"]["code"], "invite_invalid");
    let (status, invite) = call!(t, create_invite, json!({}), &admin);
    assert_eq!((status, invite["expires_in"].as_i64()), (201, Some(604_800)));
    let invite = invite["invite"].as_str().unwrap().to_string();
    let good = json!({"email": "guest@example.com", "password": "long enough", "code": code, "invite": invite});
    assert_eq!(call!(t, create_account, good).0, 201, "the code survived the refusals");
    let code = code_for(&t, "email", "third@example.com", "register", None).await;
    let reuse = json!({"email": "third@example.com", "password": "long enough", "code": code, "invite": invite});
    assert_eq!(call!(t, create_account, reuse).1["error"]["code"], "invite_invalid");
    assert_eq!(call!(t, create_invite, json!({})).0, 401);
}

async fn binding_a_taken_address(b: Backend) {
    let t = app(b).await;
    let (_, a) = t.account(Some("a@example.com"), None).await;
    let (_, other) = t.account(Some("b@example.com"), None).await;
    let code_a = code_for(&t, "email", "fresh@example.com", "bind", Some(&a)).await;
    // Another account asks for its own code meanwhile (a minute on: one
    // bind send a minute to an address, whoever asks) and binds it first.
    t.clock.advance(61);
    let code_b = code_for(&t, "email", "fresh@example.com", "bind", Some(&other)).await;
    let step = step_up(&t, "email", "b@example.com", &other).await;
    let (status, body) = call!(
        t,
        bind_email,
        json!({"email": "fresh@example.com", "code": code_a, "step_up_token": step.clone()}),
        &other
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("code_invalid")),
        "a's code is a's alone"
    );
    // Its step-up token was not spent by the refusal: it still serves.
    let bind = json!({"email": "fresh@example.com", "code": code_b, "step_up_token": step});
    assert_eq!(call!(t, bind_email, bind, &other).0, 200);
    let step = step_up(&t, "email", "a@example.com", &a).await;
    let (status, body) = call!(
        t,
        bind_email,
        json!({"email": "fresh@example.com", "code": code_a, "step_up_token": step}),
        &a
    );
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("address_taken")));
    t.clock.advance(61);
    // Asking again looks like any send; the owner is told, and gets no code.
    let bind = json!({"channel": "email", "to": "fresh@example.com", "purpose": "bind"});
    let (status, body) = parts(&send_code::handle(&t.app, request(&bind, IP, Some(&a))).await);
    assert_eq!(
        (status, body),
        (202, json!({"expires_in": 600, "resend_in": 60, "code_length": 10}))
    );
    let notice = &t.mailbox.to("fresh@example.com")[0];
    assert_eq!((notice.purpose, notice.code.as_deref()), ("bind", None));
    assert!(notice.text.contains("already belongs to your account"), "{}", notice.text);
    // The old address was released: it can be registered again.
    let (status, body) = register(&t, "b@example.com", "long enough").await;
    assert_eq!(status, 201, "{body}");
    let (_, me) = call!(t, get_me, json!({}), &other);
    assert_eq!(me["email"], "fresh@example.com");
}

async fn races_have_one_winner(b: Backend) {
    let t = app(b).await;
    // Two registrations of one address with the same code.
    let code = code_for(&t, "email", "race@example.com", "register", None).await;
    let tasks: Vec<_> = (0..2)
        .map(|i| {
            let (app, code) = (t.app.clone(), code.clone());
            tokio::spawn(async move {
                let body = json!({"email": "race@example.com", "password": format!("password {i}"), "code": code});
                parts(&create_account::handle(&app, request(&body, IP, None)).await).0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses[0], 201, "{statuses:?}");
    assert_ne!(statuses[1], 201, "{statuses:?}");

    // One verification token used twice at once.
    let code = code_for(&t, "email", "token@example.com", "register", None).await;
    let (_, verified) = call!(
        t,
        verify_code,
        json!({"channel": "email", "to": "token@example.com", "purpose": "register", "code": code})
    );
    let token = verified["verification_token"].as_str().unwrap().to_string();
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (app, token) = (t.app.clone(), token.clone());
            tokio::spawn(async move {
                let body = json!({"email": "token@example.com", "password": "long enough", "verification_token": token});
                parts(&create_account::handle(&app, request(&body, IP, None)).await).0
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        created += (task.await.unwrap() == 201) as usize;
    }
    assert_eq!(created, 1);

    // One login link redeemed twice at once.
    let (_, session) = t.account(Some("link@example.com"), None).await;
    let (_, link) = call!(t, create_login_link, json!({}), &session);
    let secret = link["authorization"].as_str().unwrap().to_string();
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (app, secret) = (t.app.clone(), secret.clone());
            tokio::spawn(async move {
                parts(
                    &redeem_login_link::handle(
                        &app,
                        request(&json!({"authorization": secret}), IP, None),
                    )
                    .await,
                )
                .0
            })
        })
        .collect();
    let mut sessions = 0;
    for task in tasks {
        sessions += (task.await.unwrap() == 200) as usize;
    }
    assert_eq!(sessions, 1);
}

/// The session that changed the password keeps working, and so do the
/// login links it makes afterwards; links made before the change die.
async fn links_after_a_password_change(b: Backend) {
    let t = app(b).await;
    let (status, body) = register(&t, "linker@example.com", "first password").await;
    assert_eq!(status, 201, "{body}");
    let session = body["token"].as_str().unwrap().to_string();
    let (_, before) = call!(t, create_login_link, json!({}), &session);
    let change = json!({"current_password": "first password", "new_password": "second password"});
    assert_eq!(call!(t, change_password, change, &session).0, 204);
    let (status, after) = call!(t, create_login_link, json!({}), &session);
    assert_eq!(status, 201, "{after}");
    let redeem = |link: &Value| json!({"authorization": link["authorization"]});
    assert_eq!(call!(t, redeem_login_link, redeem(&before)).0, 401, "revoked by the change");
    let (status, body) = call!(t, redeem_login_link, redeem(&after));
    assert_eq!((status, &body["account"]["email"]), (200, &json!("linker@example.com")));
}

async fn login_links_expire(b: Backend) {
    let t = app(b).await;
    let (_, session) = t.account(Some("late@example.com"), None).await;
    let (_, link) = call!(t, create_login_link, json!({}), &session);
    t.clock.advance(300);
    assert_eq!(call!(t, redeem_login_link, json!({"authorization": link["authorization"]})).0, 401);
    assert_eq!(call!(t, redeem_login_link, json!({"authorization": ""})).0, 401);
}

/// A step-up token: a `verify` code to the account's own `to`, checked.
async fn step_up(t: &TestApp, channel: &str, to: &str, session: &str) -> String {
    let code = code_for(t, channel, to, "verify", Some(session)).await;
    let check = json!({"channel": channel, "to": to, "purpose": "verify", "code": code});
    let (status, body) = call!(t, verify_code, check, session);
    assert_eq!(status, 200, "{body}");
    body["verification_token"].as_str().unwrap().to_string()
}

async fn step_up_guards_changes(b: Backend) {
    let t = app(b).await;
    let (status, body) = register(&t, "owner@example.com", "first password").await;
    assert_eq!(status, 201, "{body}");
    let session = body["token"].as_str().unwrap().to_string();
    let s = session.as_str();

    // Filling a blank address needs a step-up too: the bind code alone is
    // refused and spends nothing.
    let code = code_for(&t, "sms", "+8613800138000", "bind", Some(s)).await;
    let bare = json!({"phone": "+8613800138000", "code": code});
    let (status, body) = call!(t, bind_phone, bare, s);
    assert_eq!((status, &body["error"]["field"]), (400, &json!("step_up_token")), "{body}");
    let good =
        json!({"phone": "+8613800138000", "code": code, "current_password": "first password"});
    let (status, body) = call!(t, bind_phone, good, s);
    assert_eq!(status, 200, "{body}");

    // Replacing a bound one needs a step-up as well; refused, it spends nothing.
    let code = code_for(&t, "email", "moved@example.com", "bind", Some(s)).await;
    let bare = json!({"email": "moved@example.com", "code": code});
    let (status, body) = call!(t, bind_email, bare, s);
    assert_eq!((status, &body["error"]["field"]), (400, &json!("step_up_token")), "{body}");
    let wrong =
        json!({"email": "moved@example.com", "code": code, "current_password": "not it at all"});
    assert_eq!(call!(t, bind_email, wrong, s).1["error"]["code"], "invalid_credentials");
    let both = json!({"email": "moved@example.com", "code": code, "current_password": "first password", "step_up_token": "x"});
    assert_eq!(call!(t, bind_email, both, s).1["error"]["field"], "step_up_token");
    let good =
        json!({"email": "moved@example.com", "code": code, "current_password": "first password"});
    let (status, body) = call!(t, bind_email, good, s);
    assert_eq!((status, &body["email"]), (200, &json!("moved@example.com")), "{body}");

    // A step-up token replaces the phone, once.
    let token = step_up(&t, "sms", "+8613800138000", s).await;
    let code = code_for(&t, "sms", "+8613800138001", "bind", Some(s)).await;
    let body = json!({"phone": "+8613800138001", "code": code, "step_up_token": token});
    let (status, resp) = call!(t, bind_phone, body.clone(), s);
    assert_eq!((status, &resp["phone"]), (200, &json!("+8613800138001")), "{resp}");
    t.clock.advance(61);
    let code = code_for(&t, "sms", "+8613800138002", "bind", Some(s)).await;
    let again = json!({"phone": "+8613800138002", "code": code, "step_up_token": token});
    assert_eq!(call!(t, bind_phone, again, s).1["error"]["code"], "invalid_credentials");

    // Tokens that are not this account's own step-up are refused: another
    // purpose, another account's, or for an address the account no longer has.
    let login = code_for(&t, "email", "moved@example.com", "login", None).await;
    let check =
        json!({"channel": "email", "to": "moved@example.com", "purpose": "login", "code": login});
    let login_token = call!(t, verify_code, check).1["verification_token"].clone();
    let change = json!({"step_up_token": login_token, "new_password": "second password"});
    assert_eq!(call!(t, change_password, change, s).1["error"]["code"], "invalid_credentials");
    let (_, other) = t.account(Some("other@example.com"), None).await;
    let foreign = step_up(&t, "email", "other@example.com", &other).await;
    let change = json!({"step_up_token": foreign, "new_password": "second password"});
    assert_eq!(call!(t, change_password, change, s).1["error"]["code"], "invalid_credentials");
    let stale = step_up(&t, "email", "moved@example.com", s).await;
    t.clock.advance(61);
    let code = code_for(&t, "email", "third@example.com", "bind", Some(s)).await;
    let body =
        json!({"email": "third@example.com", "code": code, "current_password": "first password"});
    assert_eq!(call!(t, bind_email, body, s).0, 200);
    let change = json!({"step_up_token": stale, "new_password": "second password"});
    assert_eq!(call!(t, change_password, change, s).1["error"]["code"], "invalid_credentials");
    let missing = json!({"new_password": "second password"});
    assert_eq!(call!(t, change_password, missing, s).1["error"]["field"], "current_password");

    // The password changes with a step-up token in place of the old one.
    let token = step_up(&t, "email", "third@example.com", s).await;
    let change = json!({"step_up_token": token, "new_password": "second password"});
    assert_eq!(call!(t, change_password, change.clone(), s).0, 204);
    assert_eq!(call!(t, change_password, change, s).1["error"]["code"], "invalid_credentials");
    let login = json!({"email": "third@example.com", "password": "second password", "captcha": solved(&t).await});
    assert_eq!(call!(t, create_session, login).0, 200);
}

async fn deleting_an_account(b: Backend) {
    let t = app(b).await;
    let (status, body) = register(&t, "leaving@example.com", "first password").await;
    assert_eq!(status, 201, "{body}");
    let session = body["token"].as_str().unwrap().to_string();
    let s = session.as_str();
    let code = code_for(&t, "sms", "+8613800138000", "bind", Some(s)).await;
    let bind =
        json!({"phone": "+8613800138000", "code": code, "current_password": "first password"});
    assert_eq!(call!(t, bind_phone, bind, s).0, 200);
    let login = json!({"email": "leaving@example.com", "password": "first password", "captcha": solved(&t).await});
    let other_session = call!(t, create_session, login).1["token"].as_str().unwrap().to_string();
    let (_, link) = call!(t, create_login_link, json!({}), s);
    let link = json!({"authorization": link["authorization"]});
    let (status, who) = call!(t, inspect_login_link, link.clone());
    assert_eq!(status, 200, "{who}");
    assert_eq!(
        who["login_as"],
        json!({"display_name": "Tester", "email": "l***@example.com", "phone": "+86*******8000"})
    );

    // A step-up is required, and a wrong one deletes nothing.
    assert_eq!(call!(t, delete_account, json!({}), s).1["error"]["field"], "current_password");
    let wrong = json!({"current_password": "not the password"});
    assert_eq!(call!(t, delete_account, wrong, s).1["error"]["code"], "invalid_credentials");
    assert_eq!(call!(t, delete_account, json!({"step_up_token": "x.y.z"}), s).0, 401);
    assert_eq!(call!(t, get_me, json!({}), s).0, 200);

    // Deleted by a step-up token: sessions and links die with it.
    let token = step_up(&t, "sms", "+8613800138000", s).await;
    let (status, body) = call!(t, delete_account, json!({"step_up_token": token}), s);
    assert_eq!(status, 204, "{body}");
    assert_eq!(call!(t, get_me, json!({}), s).1["error"]["code"], "unauthorized");
    assert_eq!(call!(t, get_me, json!({}), &other_session).0, 401);
    assert_eq!(call!(t, delete_account, json!({"current_password": "first password"}), s).0, 401);
    assert_eq!(call!(t, inspect_login_link, link.clone()).0, 401);
    assert_eq!(call!(t, redeem_login_link, link).0, 401);
    let login = json!({"email": "leaving@example.com", "password": "first password", "captcha": solved(&t).await});
    assert_eq!(call!(t, create_session, login).1["error"]["code"], "invalid_credentials");

    // Its addresses are free: both register again, as a new account.
    t.clock.advance(61);
    let (status, body) = register(&t, "leaving@example.com", "second password").await;
    assert_eq!(status, 201, "{body}");
    let fresh = body["token"].as_str().unwrap().to_string();
    let code = code_for(&t, "sms", "+8613800138000", "bind", Some(&fresh)).await;
    let bind =
        json!({"phone": "+8613800138000", "code": code, "current_password": "second password"});
    assert_eq!(call!(t, bind_phone, bind, &fresh).0, 200);
}

async fn a_login_link_is_shown_before_it_is_spent(b: Backend) {
    let t = app(b).await;
    let (_, session) = t.account(Some("shown@example.com"), None).await;
    let (_, link) = call!(t, create_login_link, json!({}), &session);
    let link = json!({"authorization": link["authorization"]});
    for _ in 0..3 {
        let (status, who) = call!(t, inspect_login_link, link.clone());
        assert_eq!((status, &who["login_as"]["email"]), (200, &json!("s***@example.com")));
    }
    assert_eq!(call!(t, redeem_login_link, link.clone()).0, 200, "inspecting spent nothing");
    assert_eq!(call!(t, inspect_login_link, link).1["error"]["code"], "invalid_credentials");
    let unknown = json!({"authorization": "not-a-link"});
    assert_eq!(call!(t, inspect_login_link, unknown).0, 401);
    let (_, link) = call!(t, create_login_link, json!({}), &session);
    t.clock.advance(300);
    assert_eq!(
        call!(t, inspect_login_link, json!({"authorization": link["authorization"]})).0,
        401
    );
}

both_stores!(
    step_up_guards_changes,
    deleting_an_account,
    a_login_link_is_shown_before_it_is_spent,
    the_whole_flow,
    a_refused_password_consumes_nothing,
    bad_account_input,
    logins_fail_alike_and_are_limited,
    invite_only_registration,
    binding_a_taken_address,
    races_have_one_winner,
    login_links_expire,
    links_after_a_password_change,
);

/// Passwords are stored as argon2id hashes only.
#[tokio::test]
async fn passwords_are_hashed_in_dynamodb() {
    let t = app(Backend::Dynamo).await;
    assert_eq!(register(&t, "hash@example.com", "plain text password").await.0, 201);
    let (client, table) = t.dynamo.clone().unwrap();
    let scan = client.scan().table_name(&table).send().await.unwrap();
    let dump = format!("{:?}", scan.items());
    assert!(!dump.contains("plain text password"));
    assert!(dump.contains("$argon2id$v=19$m=19456,t=2,p=1$"));
}
