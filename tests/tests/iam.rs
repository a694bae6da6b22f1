//! Every DynamoDB action a function's requests use is allowed by its policy
//! in template.yaml. Requests run against a store that records the DynamoDB
//! actions the DynamoDB adapter would call for each operation.

use async_trait::async_trait;
use serde_json::{Value, json};
use shared::App;
use shared::ports::*;
use shared::store::memory::MemoryStore;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use vericode_tests::{T0, config, parts, request};

#[derive(Default)]
struct Recording {
    inner: MemoryStore,
    actions: Mutex<BTreeSet<&'static str>>,
}

impl Recording {
    fn record(&self, actions: &[&'static str]) {
        self.actions.lock().unwrap().extend(actions);
    }
    fn take(&self) -> BTreeSet<&'static str> {
        std::mem::take(&mut *self.actions.lock().unwrap())
    }
}

#[async_trait]
impl CaptchaStore for Recording {
    async fn put_captcha(&self, c: &StoredCaptcha) -> Result<(), StoreError> {
        self.record(&["PutItem"]);
        self.inner.put_captcha(c).await
    }
    async fn take_captcha(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<StoredCaptcha>, StoreError> {
        self.record(&["DeleteItem"]);
        self.inner.take_captcha(id, now).await
    }
}

#[async_trait]
impl CodeStore for Recording {
    async fn load_destination(
        &self,
        key: &str,
        address: &str,
        now: Timestamp,
    ) -> Result<(DestRecord, Option<String>), StoreError> {
        self.record(&["BatchGetItem"]);
        self.inner.load_destination(key, address, now).await
    }
    async fn commit_send(
        &self,
        captcha: Option<(&str, &[u8; 32])>,
        record: &DestRecord,
        expected_version: u64,
        counters: &[Counter],
        now: Timestamp,
    ) -> Result<Result<(), SendRejected>, StoreError> {
        if captcha.is_some() {
            self.record(&["DeleteItem"]);
        }
        self.record(&["PutItem"]);
        if !counters.is_empty() {
            self.record(&["UpdateItem"]);
        }
        self.inner.commit_send(captcha, record, expected_version, counters, now).await
    }
    async fn save_destination(
        &self,
        record: &DestRecord,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        self.record(&["PutItem"]);
        self.inner.save_destination(record, expected_version).await
    }
    async fn refund(&self, counters: &[Counter]) -> Result<(), StoreError> {
        if !counters.is_empty() {
            self.record(&["UpdateItem"]);
        }
        self.inner.refund(counters).await
    }
}

#[async_trait]
impl AccountStore for Recording {
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.record(&["GetItem"]);
        self.inner.get_account(id).await
    }
    async fn account_by_address(&self, key: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.record(&["GetItem"]);
        self.inner.account_by_address(key).await
    }
    async fn load_session(
        &self,
        id: &str,
        jti: &str,
        now: Timestamp,
    ) -> Result<(Option<AccountRecord>, bool), StoreError> {
        self.record(&["BatchGetItem"]);
        self.inner.load_session(id, jti, now).await
    }
    async fn apply(
        &self,
        writes: &[AccountWrite],
        now: Timestamp,
    ) -> Result<Result<(), usize>, StoreError> {
        for w in writes {
            self.record(&[match w {
                AccountWrite::PutAccount(_)
                | AccountWrite::ClaimAddress { .. }
                | AccountWrite::SaveDestination { .. } => "PutItem",
                AccountWrite::ReleaseAddress { .. } | AccountWrite::UseSecret { .. } => {
                    "DeleteItem"
                }
            }]);
        }
        self.inner.apply(writes, now).await
    }
    async fn revoke_session(&self, jti: &str, expires_at: Timestamp) -> Result<(), StoreError> {
        self.record(&["PutItem"]);
        self.inner.revoke_session(jti, expires_at).await
    }
    async fn put_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        id: &str,
        exp: Timestamp,
    ) -> Result<(), StoreError> {
        self.record(&["PutItem"]);
        self.inner.put_secret(kind, hash, id, exp).await
    }
    async fn take_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        self.record(&["DeleteItem"]);
        self.inner.take_secret(kind, hash, now).await
    }
    async fn increment(&self, c: &Counter, now: Timestamp) -> Result<bool, StoreError> {
        self.record(&["UpdateItem"]);
        self.inner.increment(c, now).await
    }
}

/// binary → allowed DynamoDB actions, from template.yaml.
fn policies() -> BTreeMap<String, BTreeSet<String>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = None::<String>;
    for line in text.lines().map(str::trim) {
        if let Some(b) = line.strip_prefix("Binary: ") {
            current = Some(b.to_string());
            out.entry(b.to_string()).or_default();
        } else if let (Some(b), Some(a)) = (&current, line.strip_prefix("- dynamodb:")) {
            out.get_mut(b).unwrap().insert(a.to_string());
        }
    }
    out
}

struct Harness {
    app: Arc<App>,
    store: Arc<Recording>,
    outbox: Arc<shared::delivery::outbox::Outbox>,
    answers: Arc<shared::captcha::DevAnswerLog>,
    clock: ManualClock,
    used: BTreeMap<&'static str, BTreeSet<&'static str>>,
}

macro_rules! call {
    ($h:expr, $krate:ident, $body:expr, $token:expr) => {{
        $h.store.take();
        let resp = $krate::handle(&$h.app, request(&$body, "198.51.100.99", $token)).await;
        let used = $h.store.take();
        $h.used.entry(stringify!($krate)).or_default().extend(used);
        parts(&resp)
    }};
}

impl Harness {
    async fn captcha(&mut self) -> Value {
        let (_, body) = call!(self, create_captcha, json!({}), None);
        let id = body["captcha_id"].as_str().unwrap().to_string();
        json!({"id": id, "answer": self.answers.answer(&id).unwrap()})
    }
    async fn code(&mut self, body: Value, token: Option<&str>) -> String {
        let mut body = body;
        if token.is_none() {
            body["captcha"] = self.captcha().await;
        }
        let (status, resp) = call!(self, send_code, body, token);
        assert_eq!(status, 202, "{resp}");
        self.outbox.to(body["to"].as_str().unwrap())[0].code.clone().unwrap()
    }
}

#[tokio::test]
async fn every_function_is_allowed_what_it_calls() {
    let store = Arc::new(Recording::default());
    let clock = ManualClock::new(T0);
    let outbox = Arc::new(shared::delivery::outbox::Outbox::new(Arc::new(clock.clone())));
    let answers = Arc::new(shared::captcha::DevAnswerLog::default());
    let app = App::new(config(), store.clone(), outbox.clone())
        .unwrap()
        .with_clock(Arc::new(clock.clone()))
        .with_dev_captcha_answers(answers.clone())
        .with_dev_outbox(outbox.clone());
    let mut h =
        Harness { app: Arc::new(app), store, outbox, answers, clock, used: BTreeMap::new() };

    // Register, with a wrong code first (it is counted: a write).
    let code = h
        .code(json!({"channel": "email", "to": "iam@example.com", "purpose": "register"}), None)
        .await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    call!(
        h,
        create_account,
        json!({"email": "iam@example.com", "password": "long enough", "code": wrong}),
        None
    );
    let (_, body) = call!(
        h,
        create_account,
        json!({"email": "iam@example.com", "password": "long enough", "code": code}),
        None
    );
    let token = body["token"].as_str().unwrap().to_string();
    let t = Some(token.as_str());

    // Codes: a rate-limited resend (captcha used up alone), a refused delivery, verify right and wrong.
    let mut again = json!({"channel": "email", "to": "iam@example.com", "purpose": "login"});
    again["captcha"] = h.captcha().await;
    call!(h, send_code, again.clone(), None);
    again["captcha"] = h.captcha().await;
    call!(h, send_code, again, None);
    h.outbox.refuse("+8613800138099");
    let mut refused = json!({"channel": "sms", "to": "+8613800138099", "purpose": "register"});
    refused["captcha"] = h.captcha().await;
    call!(h, send_code, refused, None);
    let code = h.outbox.to("iam@example.com")[0].code.clone().unwrap();
    call!(
        h,
        verify_code,
        json!({"channel": "email", "to": "iam@example.com", "purpose": "login", "code": "999999"}),
        None
    );
    call!(
        h,
        verify_code,
        json!({"channel": "email", "to": "iam@example.com", "purpose": "login", "code": code}),
        None
    );

    // Sessions: password (right and wrong), code, me, links, invites.
    let cap = h.captcha().await;
    call!(
        h,
        create_session,
        json!({"email": "iam@example.com", "password": "wrong password", "captcha": cap}),
        None
    );
    let cap = h.captcha().await;
    call!(
        h,
        create_session,
        json!({"email": "iam@example.com", "password": "long enough", "captcha": cap}),
        None
    );
    h.clock.advance(61);
    let code = h
        .code(json!({"channel": "email", "to": "iam@example.com", "purpose": "login"}), None)
        .await;
    call!(h, create_session, json!({"email": "iam@example.com", "code": code}), None);
    call!(h, get_me, json!({}), t);
    let (_, link) = call!(h, create_login_link, json!({}), t);
    call!(h, redeem_login_link, json!({"authorization": link["authorization"]}), None);
    call!(h, create_invite, json!({}), t);

    // Bind both addresses (the email replaces one: a release), change the password, reset, log out.
    let code =
        h.code(json!({"channel": "sms", "to": "+8613800138000", "purpose": "bind"}), t).await;
    call!(h, bind_phone, json!({"phone": "+8613800138000", "code": code}), t);
    let code =
        h.code(json!({"channel": "email", "to": "iam2@example.com", "purpose": "bind"}), t).await;
    call!(h, bind_email, json!({"email": "iam2@example.com", "code": code}), t);
    call!(
        h,
        change_password,
        json!({"current_password": "wrong password", "new_password": "another long one"}),
        t
    );
    call!(
        h,
        change_password,
        json!({"current_password": "long enough", "new_password": "another long one"}),
        t
    );
    h.clock.advance(61);
    let code = h
        .code(
            json!({"channel": "email", "to": "iam2@example.com", "purpose": "reset_password"}),
            None,
        )
        .await;
    call!(
        h,
        reset_password,
        json!({"email": "iam2@example.com", "code": code, "new_password": "a third password"}),
        None
    );
    let cap = h.captcha().await;
    let (_, body) = call!(
        h,
        create_session,
        json!({"email": "iam2@example.com", "password": "a third password", "captcha": cap}),
        None
    );
    let fresh = body["token"].as_str().unwrap().to_string();
    call!(h, delete_session, json!({}), Some(fresh.as_str()));

    let policies = policies();
    assert_eq!(h.used.len(), policies.len(), "every function was exercised: {:?}", h.used.keys());
    for (function, used) in &h.used {
        let allowed = &policies[&function.replace('_', "-")];
        let missing: Vec<_> = used.iter().filter(|a| !allowed.contains(**a)).collect();
        assert!(
            missing.is_empty(),
            "{function} calls {missing:?}, which its policy does not allow"
        );
        // And nothing more, but for actions on paths this run does not take.
        let rare: &[&str] = match *function {
            // Re-reading the account after a concurrent change to it.
            "bind_email" | "change_password" => &["GetItem"],
            // …and releasing a previous phone number.
            "bind_phone" => &["GetItem", "DeleteItem"],
            // Using an invite up (invite-only registration).
            "create_account" => &["DeleteItem"],
            _ => &[],
        };
        let unused: Vec<_> = allowed
            .iter()
            .filter(|a| !used.contains(a.as_str()) && !rare.contains(&a.as_str()))
            .collect();
        assert!(unused.is_empty(), "{function} is allowed {unused:?}, which it never calls");
    }
}
