//! Store round trips per request, as sequential depth: the calls a request
//! waits for one after another (calls made together count once), measured
//! by the recording store around either backend. Each request runs once,
//! on its success path, and must stay within its budget (docs/performance.md).

use serde_json::{Value, json};
use std::sync::Arc;
use vericode_tests::capacity::{Capacity, Units};
use vericode_tests::recording::Recording;
use vericode_tests::{
    Backend, TestApp, both_stores, config, parts, request, services_split, store,
};

const IP: &str = "198.51.100.40";

/// Each request's round trips: the most allowed now, and the goal where
/// it is lower (docs/performance.md says what stands in the way).
const BUDGETS: &[(&str, u32, u32)] = &[
    ("create captcha", 1, 1),
    ("send a code", 1, 1),
    ("create a proof-of-work challenge", 0, 0),
    ("send a code with a proof of work", 1, 1),
    ("send a code, logged in", 1, 1),
    ("verify a code", 1, 1),
    ("send a step-up code", 2, 2),
    ("verify a code, logged in", 1, 1),
    ("register", 2, 2),
    ("get me", 1, 1),
    ("log in by password", 2, 2),
    ("log in by code", 2, 2),
    ("change password", 2, 2),
    ("reset password", 2, 2),
    ("bind an address", 2, 2),
    ("create a login link", 1, 1),
    ("inspect a login link", 1, 1),
    ("redeem a login link", 2, 2),
    ("create an invite", 2, 2),
    ("log out", 2, 2),
    ("redeem a verification", 2, 2),
    ("delete the account", 2, 2),
    ("enrol an authenticator", 2, 2),
    ("confirm an authenticator", 2, 2),
    ("list factors", 1, 1),
    ("log in, second step", 2, 2),
    ("renew recovery codes", 2, 2),
    ("remove an authenticator", 2, 2),
    ("list sessions", 1, 1),
    ("end a session", 2, 2),
    ("end the other sessions", 2, 2),
];

struct Meter {
    t: TestApp,
    recording: Arc<Recording>,
    seen: Vec<(&'static str, u32)>,
    /// On DynamoDB: the capacity each request consumed, as DynamoDB reports it.
    capacity: Option<Capacity>,
    units: Vec<(&'static str, Units)>,
}

impl Meter {
    async fn new(b: Backend) -> Self {
        let (inner, deliver, dynamo, capacity) = match b {
            Backend::Memory => {
                let (inner, dynamo) = store(b).await;
                (inner.clone(), inner, dynamo, None)
            }
            Backend::Dynamo => {
                let capacity = Capacity::default();
                let sdk = aws::sdk_config().await;
                let client = capacity.client(&sdk, &vericode_tests::dynamodb_endpoint());
                let table = vericode_tests::fresh_table(&client).await;
                let store = aws::dynamodb::DynamoStore::new(client.clone(), table.clone());
                let inner: Arc<dyn domain::ports::Store> = Arc::new(store);
                // Deliveries use a client of their own: not measured.
                let plain = vericode_tests::dynamodb_client().await;
                let deliver = Arc::new(aws::dynamodb::DynamoStore::new(plain, table.clone()));
                (
                    inner,
                    deliver as Arc<dyn domain::ports::Store>,
                    Some((client, table)),
                    Some(capacity),
                )
            }
        };
        let recording = Arc::new(Recording::new(inner.clone()));
        // Deliveries reach the store directly: they are off the request path.
        // Both captchas, so that sends with a proof of work are measured too.
        let captcha_provider = domain::config::CaptchaProvider::BuiltinOrPow;
        let cfg = domain::config::Config { captcha_provider, ..config() };
        let t = services_split(recording.clone(), deliver, cfg, dynamo);
        Meter { t, recording, seen: Vec::new(), capacity, units: Vec::new() }
    }

    /// Runs `req` through `handle`, expects `status`, and records the
    /// round trips under `name`. Returns the body.
    async fn measure<F, Fut>(&mut self, name: &'static str, status: u16, handle: F) -> Value
    where
        F: FnOnce(Arc<domain::Services>) -> Fut,
        Fut: std::future::Future<Output = lambda_http::Response<lambda_http::Body>>,
    {
        self.recording.take_depth();
        self.capacity.as_ref().map(Capacity::take);
        let (got, body) = parts(&handle(self.t.app.clone()).await);
        assert_eq!(got, status, "{name}: {body}");
        self.seen.push((name, self.recording.take_depth()));
        if let Some(capacity) = &self.capacity {
            self.units.push((name, capacity.take()));
        }
        body
    }

    /// A code for `purpose` sent to `to` (not measured).
    async fn code(&self, channel: &str, to: &str, purpose: &str, session: Option<&str>) -> String {
        let mut body = json!({"channel": channel, "to": to, "purpose": purpose});
        if session.is_none() {
            body["captcha"] = self.captcha().await;
        }
        let (status, resp) =
            parts(&send_code::handle(&self.t.app, request(&body, IP, session)).await);
        assert_eq!(status, 202, "{resp}");
        self.t.clock.advance(61);
        self.t.last_code(to).expect("a code in the outbox")
    }

    async fn captcha(&self) -> Value {
        let (id, answer) = self.t.captcha().await;
        json!({"id": id, "answer": answer})
    }
}

fn post(body: Value) -> lambda_http::Request {
    request(&body, IP, None)
}

fn authed(body: Value, token: &str) -> lambda_http::Request {
    request(&body, IP, Some(token))
}

async fn every_request_within_its_budget(b: Backend) {
    let mut m = Meter::new(b).await;
    let email = "trips@example.com";
    let phone = "+8613800138000";

    m.measure("create captcha", 201, |app| async move {
        create_captcha::handle(&app, post(json!({}))).await
    })
    .await;

    let send = json!({"channel": "email", "to": email, "purpose": "register",
        "captcha": m.captcha().await});
    m.measure("send a code", 202, |app| async move { send_code::handle(&app, post(send)).await })
        .await;
    let code = m.t.last_code(email).expect("code");
    let challenge = m
        .measure("create a proof-of-work challenge", 201, |app| async move {
            create_challenge::handle(&app, post(json!({}))).await
        })
        .await;
    let worked = json!({"channel": "email", "to": "trips-pow@example.com", "purpose": "confirm",
        "captcha": {"altcha": vericode_tests::pow::solve(&challenge)}});
    m.measure("send a code with a proof of work", 202, |app| async move {
        send_code::handle(&app, post(worked)).await
    })
    .await;
    let check = json!({"channel": "email", "to": email, "purpose": "register", "code": code});
    let token =
        m.measure("verify a code", 200, |app| async move {
            verify_code::handle(&app, post(check)).await
        })
        .await["verification_token"]
            .clone();
    let register = json!({"email": email, "password": "first password",
        "verification_token": token});
    let session = m
        .measure("register", 201, |app| async move {
            create_account::handle(&app, post(register)).await
        })
        .await["token"]
        .as_str()
        .expect("token")
        .to_string();
    let s = session.clone();
    m.measure(
        "get me",
        200,
        |app| async move { get_me::handle(&app, authed(json!({}), &s)).await },
    )
    .await;

    let login = json!({"email": email, "password": "first password", "captcha": m.captcha().await});
    m.measure("log in by password", 200, |app| async move {
        create_session::handle(&app, post(login)).await
    })
    .await;
    let code = m.code("email", email, "login", None).await;
    let login = json!({"email": email, "code": code});
    m.measure("log in by code", 200, |app| async move {
        create_session::handle(&app, post(login)).await
    })
    .await;

    let change = json!({"current_password": "first password", "new_password": "second password"});
    let s = session.clone();
    m.measure("change password", 204, |app| async move {
        change_password::handle(&app, authed(change, &s)).await
    })
    .await;
    let code = m.code("email", email, "reset_password", None).await;
    let reset = json!({"email": email, "code": code, "new_password": "third password"});
    m.measure("reset password", 204, |app| async move {
        reset_password::handle(&app, post(reset)).await
    })
    .await;

    // The reset revoked every session: log in again.
    let login = json!({"email": email, "password": "third password", "captcha": m.captcha().await});
    let (_, body) = parts(&create_session::handle(&m.t.app, post(login)).await);
    let session = body["token"].as_str().expect("token").to_string();

    let bind = json!({"channel": "sms", "to": phone, "purpose": "bind"});
    let s = session.clone();
    m.measure("send a code, logged in", 202, |app| async move {
        send_code::handle(&app, authed(bind, &s)).await
    })
    .await;
    let code = m.t.last_code(phone).expect("code");
    let bind = json!({"phone": phone, "code": code, "current_password": "third password"});
    let s = session.clone();
    m.measure("bind an address", 200, |app| async move {
        bind_phone::handle(&app, authed(bind, &s)).await
    })
    .await;

    let step = json!({"channel": "sms", "purpose": "verify"});
    let s = session.clone();
    m.measure("send a step-up code", 202, |app| async move {
        send_code::handle(&app, authed(step, &s)).await
    })
    .await;
    let code = m.t.last_code(phone).expect("code");
    let check = json!({"channel": "sms", "to": phone, "purpose": "verify", "code": code});
    let s = session.clone();
    m.measure("verify a code, logged in", 200, |app| async move {
        verify_code::handle(&app, authed(check, &s)).await
    })
    .await;

    let s = session.clone();
    let link = m
        .measure("create a login link", 201, |app| async move {
            create_login_link::handle(&app, authed(json!({}), &s)).await
        })
        .await;
    let link = json!({"authorization": link["authorization"]});
    let l = link.clone();
    m.measure("inspect a login link", 200, |app| async move {
        inspect_login_link::handle(&app, post(l)).await
    })
    .await;
    m.measure("redeem a login link", 200, |app| async move {
        redeem_login_link::handle(&app, post(link)).await
    })
    .await;
    let s = session.clone();
    m.measure("create an invite", 201, |app| async move {
        create_invite::handle(&app, authed(json!({}), &s)).await
    })
    .await;

    let key = domain::api_keys::create(&m.t.app, "backend").await.expect("api key");
    let code = m.code("sms", "+8613900139000", "confirm", None).await;
    let check =
        json!({"channel": "sms", "to": "+8613900139000", "purpose": "confirm", "code": code});
    let (_, body) = parts(&verify_code::handle(&m.t.app, post(check)).await);
    let redeem = json!({"verification_token": body["verification_token"]});
    let auth = format!("ApiKey {}", key.key);
    m.measure("redeem a verification", 200, |app| async move {
        let mut req = post(redeem);
        req.headers_mut().insert("authorization", auth.parse().expect("header"));
        redeem_verification::handle(&app, req).await
    })
    .await;

    authenticator(&mut m, &session, email, "third password").await;
    devices(&mut m, &session, email, "third password").await;

    let login = json!({"email": email, "password": "third password", "captcha": m.captcha().await});
    let (_, body) = parts(&create_session::handle(&m.t.app, post(login)).await);
    let other = body["token"].as_str().expect("token").to_string();
    m.measure("log out", 204, |app| async move {
        delete_session::handle(&app, authed(json!({}), &other)).await
    })
    .await;
    let s = session.clone();
    m.measure("delete the account", 204, |app| async move {
        delete_account::handle(&app, authed(json!({"current_password": "third password"}), &s))
            .await
    })
    .await;

    let over: Vec<String> = m
        .seen
        .iter()
        .filter_map(|&(name, trips)| {
            let budget = BUDGETS.iter().find(|(n, ..)| *n == name).map(|&(_, b, _)| b)?;
            (trips > budget).then(|| format!("{name}: {trips} round trips, budget {budget}"))
        })
        .collect();
    let table: Vec<String> = m
        .seen
        .iter()
        .map(|&(name, trips)| {
            let goal = BUDGETS.iter().find(|(n, ..)| *n == name).map_or(0, |&(.., g)| g);
            format!("{name}: {trips} (goal {goal})")
        })
        .collect();
    println!("{b:?}\n{}", table.join("\n"));
    // Capacity per request, as DynamoDB Local reports it: exact for
    // single-item calls, too low for transactions (see `capacity`).
    // Deliveries run on a client of their own and are not in it.
    for (name, u) in &m.units {
        println!("{name}: {:.1} RCU, {:.1} WCU, {} refused writes", u.read, u.write, u.refused);
    }
    assert!(over.is_empty(), "over budget:\n{}", over.join("\n"));
    assert_eq!(m.seen.len(), BUDGETS.len(), "every budgeted request was measured");
}

/// Keeps each committed message's id instead of delivering it.
#[derive(Default)]
struct Held(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl domain::ports::Relay for Held {
    async fn committed(&self, message_id: &str) {
        self.0.lock().unwrap().push(message_id.to_string());
    }
}

/// A delivery, off the request path: the claim, then the suppression list
/// and the address's owner read together, then the settle — three round
/// trips around the provider call, whoever owns the address.
async fn a_delivery_reads_once_between_claim_and_settle(b: Backend) {
    let (inner, dynamo) = store(b).await;
    let held = Arc::new(Held::default());
    let relay = held.clone();
    let t = services_split(inner.clone(), inner.clone(), config(), dynamo)
        .map_services(|s| s.with_relay(relay));
    t.account(Some("owner@example.com"), None).await;
    let recording = Arc::new(Recording::new(inner));
    let mut d = domain::outbox::Deliverer::new(&t.app, t.mailbox.clone());
    d.store = recording.clone();
    for to in ["owner@example.com", "nobody@example.com"] {
        let (id, answer) = t.captcha().await;
        let body = json!({"channel": "email", "to": to, "purpose": "reset_password",
            "captcha": {"id": id, "answer": answer}});
        let (status, resp) = parts(&send_code::handle(&t.app, request(&body, IP, None)).await);
        assert_eq!(status, 202, "{resp}");
        let message = held.0.lock().unwrap().pop().expect("a message committed");
        recording.take_depth();
        let done = domain::outbox::deliver(&d, &message).await.expect("delivered");
        assert!(matches!(done, domain::outbox::Delivered::Done(_)), "{to}: {done:?}");
        assert_eq!(recording.take_depth(), 3, "{to}: claim, reads, settle");
    }
    assert!(t.last_code("owner@example.com").is_some(), "the owner is sent a code");
    assert!(t.last_code("nobody@example.com").is_none(), "a stranger's address gets no code");
}

/// An authenticator's life: enrol, confirm, list, a login's second step,
/// fresh recovery codes, removal.
async fn authenticator(m: &mut Meter, session: &str, email: &str, password: &str) {
    use domain::ports::Clock as _;
    use lambda_http::RequestExt as _;
    let code = m.code("email", email, "verify", Some(session)).await;
    let check = json!({"channel": "email", "to": email, "purpose": "verify", "code": code});
    let (_, verified) = parts(&verify_code::handle(&m.t.app, authed(check, session)).await);
    let step_up = json!({"step_up_token": verified["verification_token"]});
    let s = session.to_string();
    let e = m
        .measure("enrol an authenticator", 201, |app| async move {
            enrol_totp::handle(&app, authed(step_up, &s)).await
        })
        .await;
    let secret = domain::totp::secret_from_base32(e["secret"].as_str().expect("secret"));
    let secret = secret.expect("base32");
    let step = m.t.clock.now() / domain::totp::STEP_SECS;
    let confirm =
        json!({"factor_id": e["factor_id"], "code": domain::totp::code_at(&secret, step)});
    let s = session.to_string();
    m.measure("confirm an authenticator", 200, |app| async move {
        confirm_totp::handle(&app, authed(confirm, &s)).await
    })
    .await;
    let s = session.to_string();
    m.measure("list factors", 200, |app| async move {
        list_factors::handle(&app, authed(json!({}), &s)).await
    })
    .await;
    let login = json!({"email": email, "password": password, "captcha": m.captcha().await});
    let (_, first) = parts(&create_session::handle(&m.t.app, post(login)).await);
    let second =
        json!({"mfa_token": first["mfa_token"], "totp": domain::totp::code_at(&secret, step + 1)});
    m.measure("log in, second step", 200, |app| async move {
        complete_mfa::handle(&app, post(second)).await
    })
    .await;
    let (renew, remove) =
        (json!({"current_password": password}), json!({"current_password": password}));
    let s = session.to_string();
    m.measure("renew recovery codes", 200, |app| async move {
        renew_recovery_codes::handle(&app, authed(renew, &s)).await
    })
    .await;
    let s = session.to_string();
    let id = e["factor_id"].as_str().expect("id").to_string();
    m.measure("remove an authenticator", 204, |app| async move {
        let params = std::collections::HashMap::from([("id".to_string(), id)]);
        delete_factor::handle(&app, authed(remove, &s).with_path_parameters(params)).await
    })
    .await;
}

/// The account's sessions: listed, one ended, the others ended.
async fn devices(m: &mut Meter, session: &str, email: &str, password: &str) {
    use lambda_http::RequestExt as _;
    let login = json!({"email": email, "password": password, "captcha": m.captcha().await});
    let (_, other) = parts(&create_session::handle(&m.t.app, post(login)).await);
    let other = other["token"].as_str().expect("token").to_string();
    let s = session.to_string();
    let listed = m
        .measure("list sessions", 200, |app| async move {
            list_sessions::handle(&app, authed(json!({}), &s)).await
        })
        .await;
    let sessions = listed["sessions"].as_array().expect("sessions");
    let ended = sessions.iter().find(|v| v["current"] == false).expect("another session");
    let id = ended["id"].as_str().expect("id").to_string();
    let s = session.to_string();
    m.measure("end a session", 204, |app| async move {
        let params = std::collections::HashMap::from([("id".to_string(), id)]);
        end_session::handle(&app, authed(json!({}), &s).with_path_parameters(params)).await
    })
    .await;
    drop(other);
    let s = session.to_string();
    m.measure("end the other sessions", 204, |app| async move {
        let query = std::collections::HashMap::from([("scope".to_string(), "others".to_string())]);
        end_other_sessions::handle(&app, authed(json!({}), &s).with_query_string_parameters(query))
            .await
    })
    .await;
}

both_stores!(every_request_within_its_budget, a_delivery_reads_once_between_claim_and_settle);
