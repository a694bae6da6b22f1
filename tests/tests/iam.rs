//! Every function's IAM policy in template.yaml allows exactly the DynamoDB
//! actions its requests use. The requests run against the real DynamoDB
//! adapter on DynamoDB Local, behind a store that records which operations
//! the use cases asked for; the adapter declares the actions of each
//! operation (`aws::dynamodb::operations`), and an SDK interceptor records
//! the actions it really called, so the declarations are checked too.

use aws::dynamodb::DynamoStore;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use vericode_tests::recording::Recording;
use vericode_tests::sdk_actions::SdkActions;
use vericode_tests::{TestApp, config, dynamodb_endpoint, fresh_table, parts, request};

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
            out.get_mut(b).unwrap().insert(format!("dynamodb:{a}"));
        }
    }
    out
}

/// What one function's requests used: operations asked for, and actions called.
#[derive(Default)]
struct Used {
    operations: BTreeSet<String>,
    actions: BTreeSet<String>,
}

struct Harness {
    t: TestApp,
    store: Arc<Recording>,
    sdk: SdkActions,
    /// What the delivery function (run in process after each send) uses.
    deliver_store: Arc<Recording>,
    deliver_sdk: SdkActions,
    used: BTreeMap<&'static str, Used>,
}

macro_rules! call {
    ($h:expr, $krate:ident, $body:expr, $token:expr) => {{
        $h.store.take();
        $h.sdk.take();
        let resp = $krate::handle(&$h.t.app, request(&$body, "198.51.100.99", $token)).await;
        let used = $h.used.entry(stringify!($krate)).or_default();
        used.operations.extend($h.store.take());
        used.actions.extend($h.sdk.take());
        $h.delivered();
        parts(&resp)
    }};
}

impl Harness {
    async fn new(cfg: domain::config::Config) -> Self {
        let sdk = SdkActions::default();
        let table = fresh_table(&vericode_tests::dynamodb_client().await).await;
        let client = sdk.client(&aws::sdk_config().await, &dynamodb_endpoint());
        let store = Arc::new(Recording::new(Arc::new(DynamoStore::new(client, table.clone()))));
        let deliver_sdk = SdkActions::default();
        let client = deliver_sdk.client(&aws::sdk_config().await, &dynamodb_endpoint());
        let deliver_store = Arc::new(Recording::new(Arc::new(DynamoStore::new(client, table))));
        let t = vericode_tests::services_split(store.clone(), deliver_store.clone(), cfg, None);
        Harness { t, store, sdk, deliver_store, deliver_sdk, used: BTreeMap::new() }
    }

    /// Counts what delivering the messages committed so far used.
    fn delivered(&mut self) {
        let operations = self.deliver_store.take();
        if operations.is_empty() {
            return;
        }
        let used = self.used.entry("deliver").or_default();
        used.operations.extend(operations);
        used.actions.extend(self.deliver_sdk.take());
    }

    async fn captcha(&mut self) -> Value {
        let (_, body) = call!(self, create_captcha, json!({}), None);
        let id = body["captcha_id"].as_str().unwrap().to_string();
        json!({"id": id, "answer": self.t.answers.answer(&id).unwrap()})
    }

    async fn code(&mut self, body: Value, token: Option<&str>) -> String {
        let mut body = body;
        if token.is_none() {
            body["captcha"] = self.captcha().await;
        }
        let (status, resp) = call!(self, send_code, body, token);
        assert_eq!(status, 202, "{resp}");
        self.t.last_code(body["to"].as_str().unwrap()).unwrap()
    }

    /// A step-up token: a `verify` code to the account's bound `to`, checked.
    async fn step_up(&mut self, channel: &str, to: &str, token: Option<&str>) -> Value {
        let code =
            self.code(json!({"channel": channel, "to": to, "purpose": "verify"}), token).await;
        let check = json!({"channel": channel, "to": to, "purpose": "verify", "code": code});
        let (status, body) = call!(self, verify_code, check, token);
        assert_eq!(status, 200, "{body}");
        body["verification_token"].clone()
    }
}

/// An authenticator's life under `token` (password `password`): enrol and
/// confirm (each wrong first), list, renew the recovery codes, a login's
/// second step (wrong, by app, by recovery code), removal.
async fn authenticator(h: &mut Harness, token: Option<&str>, password: &str) {
    use domain::ports::Clock as _;
    call!(h, enrol_totp, json!({"step_up_token": "not.a.token"}), token);
    call!(h, enrol_totp, json!({"step_up_totp": "000000"}), token);
    h.t.clock.advance(61);
    let step_up = h.step_up("email", "iam@example.com", token).await;
    let (status, e) = call!(h, enrol_totp, json!({"step_up_token": step_up}), token);
    assert_eq!(status, 201, "{e}");
    let secret = domain::totp::secret_from_base32(e["secret"].as_str().unwrap()).unwrap();
    let step = h.t.clock.now() / domain::totp::STEP_SECS;
    let code = |n: i64| domain::totp::code_at(&secret, step + n);
    let wrong = if code(0) == "000000" { "111111" } else { "000000" };
    call!(h, confirm_totp, json!({"factor_id": e["factor_id"], "code": wrong}), token);
    let (status, codes) =
        call!(h, confirm_totp, json!({"factor_id": e["factor_id"], "code": code(0)}), token);
    assert_eq!(status, 200, "{codes}");
    call!(h, list_factors, json!({}), token);
    call!(h, renew_recovery_codes, json!({"current_password": password}), token);
    let cap = h.captcha().await;
    let login = json!({"email": "iam@example.com", "password": password, "captcha": cap});
    let (_, first) = call!(h, create_session, login, None);
    let mfa = first["mfa_token"].clone();
    call!(h, complete_mfa, json!({"mfa_token": mfa, "totp": wrong}), None);
    let (status, body) = call!(h, complete_mfa, json!({"mfa_token": mfa, "totp": code(1)}), None);
    assert_eq!(status, 200, "{body}");
    h.t.clock.advance(60);
    let (_, fresh) = call!(h, renew_recovery_codes, json!({"step_up_totp": code(2)}), token);
    let recovery = fresh["recovery_codes"][0].clone();
    let (status, body) =
        call!(h, complete_mfa, json!({"mfa_token": mfa, "recovery_code": recovery}), None);
    assert_eq!(status, 200, "{body}");
    h.store.take();
    h.sdk.take();
    let params = std::collections::HashMap::from([(
        "id".to_string(),
        e["factor_id"].as_str().unwrap().to_string(),
    )]);
    let req = request(&json!({"current_password": password}), "198.51.100.99", token);
    let resp =
        delete_factor::handle(&h.t.app, lambda_http::RequestExt::with_path_parameters(req, params))
            .await;
    let used = h.used.entry("delete_factor").or_default();
    used.operations.extend(h.store.take());
    used.actions.extend(h.sdk.take());
    h.delivered();
    assert_eq!(parts(&resp).0, 204);
}

/// Runs `handle` as `$krate` would be called with path and query
/// parameters, recording what it used.
macro_rules! call_with {
    ($h:expr, $krate:ident, $token:expr, $path:expr, $query:expr) => {{
        use lambda_http::RequestExt as _;
        $h.store.take();
        $h.sdk.take();
        let to_map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::HashMap<_, _>>()
        };
        let req = request(&json!({}), "198.51.100.99", $token)
            .with_path_parameters(to_map($path))
            .with_query_string_parameters(to_map($query));
        let resp = $krate::handle(&$h.t.app, req).await;
        let used = $h.used.entry(stringify!($krate)).or_default();
        used.operations.extend($h.store.take());
        used.actions.extend($h.sdk.take());
        $h.delivered();
        parts(&resp)
    }};
}

/// The account's sessions under `token`: listed, one ended, the others ended.
async fn sessions(h: &mut Harness, token: Option<&str>, password: &str) {
    let cap = h.captcha().await;
    let login = json!({"email": "iam@example.com", "password": password, "captcha": cap});
    let (_, other) = call!(h, create_session, login, None);
    let other = other["token"].as_str().unwrap().to_string();
    let (status, list) = call_with!(h, list_sessions, Some(other.as_str()), &[], &[]);
    assert_eq!(status, 200, "{list}");
    let id = list["sessions"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = call_with!(h, end_session, token, &[("id", id.as_str())], &[]);
    assert_eq!(status, 204, "{body}");
    let (status, body) = call_with!(h, end_other_sessions, token, &[], &[("scope", "others")]);
    assert_eq!(status, 204, "{body}");
}

#[tokio::test]
async fn every_function_is_allowed_what_it_calls() {
    // Invite-only, so that registration uses an invite up.
    let mut cfg = config();
    cfg.registration_mode = domain::config::RegistrationMode::Invite;
    // Both captchas: a proof of work is spent by a conditional write.
    cfg.captcha_provider = domain::config::CaptchaProvider::BuiltinOrPow;
    let mut h = Harness::new(cfg).await;
    let (_, admin) = h.t.account(Some("admin@example.com"), None).await;
    let (_, invite) = call!(h, create_invite, json!({}), Some(admin.as_str()));
    let invite = invite["invite"].clone();

    // Register, with a wrong code first (it is counted: a write).
    let code = h
        .code(json!({"channel": "email", "to": "iam@example.com", "purpose": "register"}), None)
        .await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    call!(
        h,
        create_account,
        json!({"email": "iam@example.com", "password": "long enough", "code": wrong, "invite": invite}),
        None
    );
    let (_, body) = call!(
        h,
        create_account,
        json!({"email": "iam@example.com", "password": "long enough", "code": code, "invite": invite}),
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
    let (_, challenge) = call!(h, create_challenge, json!({}), None);
    let mut worked = json!({"channel": "email", "to": "pow@example.com", "purpose": "confirm"});
    worked["captcha"] = json!({"altcha": vericode_tests::pow::solve(&challenge)});
    let (status, body) = call!(h, send_code, worked, None);
    assert_eq!(status, 202, "{body}");
    h.t.mailbox.refuse("+8613800138099");
    // A refused `confirm` (no decoys): delivery disables its code and refunds it.
    let mut refused = json!({"channel": "sms", "to": "+8613800138099", "purpose": "confirm"});
    refused["captcha"] = h.captcha().await;
    call!(h, send_code, refused, None);
    let code = h.t.mailbox.to("iam@example.com")[0].code.clone().unwrap();
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
    h.t.clock.advance(61);
    let code = h
        .code(json!({"channel": "email", "to": "iam@example.com", "purpose": "login"}), None)
        .await;
    call!(h, create_session, json!({"email": "iam@example.com", "code": code}), None);
    call!(h, get_me, json!({}), t);
    call!(h, get_jwks, json!({}), None);
    let (_, link) = call!(h, create_login_link, json!({}), t);
    call!(h, inspect_login_link, json!({"authorization": link["authorization"]}), None);
    call!(h, redeem_login_link, json!({"authorization": link["authorization"]}), None);
    call!(h, create_invite, json!({}), t);
    authenticator(&mut h, t, "long enough").await;
    sessions(&mut h, t, "long enough").await;

    // Bind both addresses (each steps up: by password, by token for the
    // phone's replacement; each replacement releases the old address), change
    // the password (by password and by token), reset, log out.
    let code =
        h.code(json!({"channel": "sms", "to": "+8613800138000", "purpose": "bind"}), t).await;
    let body = json!({"phone": "+8613800138000", "code": code, "current_password": "long enough"});
    call!(h, bind_phone, body, t);
    let step_up = h.step_up("sms", "+8613800138000", t).await;
    let code =
        h.code(json!({"channel": "sms", "to": "+8613800138001", "purpose": "bind"}), t).await;
    let wrong = json!({"phone": "+8613800138001", "code": code, "current_password": "wrong one"});
    call!(h, bind_phone, wrong, t);
    let body = json!({"phone": "+8613800138001", "code": code, "step_up_token": step_up});
    call!(h, bind_phone, body, t);
    let code =
        h.code(json!({"channel": "email", "to": "iam2@example.com", "purpose": "bind"}), t).await;
    let body =
        json!({"email": "iam2@example.com", "code": code, "current_password": "long enough"});
    call!(h, bind_email, body, t);
    h.t.clock.advance(61);
    let step_up = h.step_up("email", "iam2@example.com", t).await;
    call!(h, change_password, json!({"step_up_token": step_up, "new_password": "long enough"}), t);
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
    h.t.clock.advance(61);
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

    // A server redeems a confirm token with its API key (made as the admin
    // command makes it: not by any function).
    let code = h
        .code(json!({"channel": "email", "to": "confirm@example.com", "purpose": "confirm"}), None)
        .await;
    let check = json!({"channel": "email", "to": "confirm@example.com", "purpose": "confirm", "code": code});
    let (_, verified) = call!(h, verify_code, check, None);
    let key = domain::api_keys::create(&h.t.app, "iam").await.unwrap();
    h.store.take();
    h.sdk.take();
    let body = json!({"verification_token": verified["verification_token"]});
    let mut req = request(&body, "198.51.100.99", None);
    req.headers_mut().insert("authorization", format!("ApiKey {}", key.key).parse().unwrap());
    let (status, body) = parts(&redeem_verification::handle(&h.t.app, req).await);
    assert_eq!(status, 200, "{body}");
    let used = h.used.entry("redeem_verification").or_default();
    used.operations.extend(h.store.take());
    used.actions.extend(h.sdk.take());

    // Delete the admin's account: a wrong password, then a step-up token.
    let a = Some(admin.as_str());
    call!(h, delete_account, json!({"current_password": "wrong password"}), a);
    let step_up = h.step_up("email", "admin@example.com", a).await;
    let (status, body) = call!(h, delete_account, json!({"step_up_token": step_up}), a);
    assert_eq!(status, 204, "{body}");

    // A hard bounce suppresses the address; a later send to it is not delivered.
    let bounce = vericode_tests::ses_bounce_event("iam2@example.com");
    h.store.take();
    h.sdk.take();
    record_bounces::handle(&h.t.app, &bounce).await.unwrap();
    let used = h.used.entry("record_bounces").or_default();
    used.operations.extend(h.store.take());
    used.actions.extend(h.sdk.take());
    h.t.clock.advance(61);
    let mut again = json!({"channel": "email", "to": "iam2@example.com", "purpose": "login"});
    again["captcha"] = h.captcha().await;
    call!(h, send_code, again, None);

    let policies = policies();
    assert_eq!(h.used.len(), policies.len(), "every function was exercised: {:?}", h.used.keys());
    for (function, used) in &h.used {
        let allowed = &policies[&function.replace('_', "-")];
        let mut declared = BTreeSet::new();
        for op in &used.operations {
            let actions = aws::dynamodb::actions(op)
                .unwrap_or_else(|| panic!("the DynamoDB adapter declares no actions for {op}"));
            declared.extend(actions.iter().map(|a| a.to_string()));
        }
        // The declarations are true: the adapter called nothing undeclared.
        let undeclared: Vec<_> = used.actions.difference(&declared).collect();
        assert!(undeclared.is_empty(), "{function}: {undeclared:?} called but not declared");
        let missing: Vec<_> = declared.difference(allowed).collect();
        assert!(
            missing.is_empty(),
            "{function} needs {missing:?}, which its policy does not allow"
        );
        // And nothing more, but for actions on paths this run does not take:
        // re-reading the account after a concurrent change to it, re-reading
        // a code's record after a lost race, and checking a code by reading
        // it (one stored before codes had a hash).
        let rare: &[&str] = match *function {
            "bind_email"
            | "bind_phone"
            | "change_password"
            | "delete_account"
            | "enrol_totp"
            | "confirm_totp"
            | "delete_factor"
            | "renew_recovery_codes"
            | "end_other_sessions" => &["dynamodb:GetItem"],
            "send_code" => &["dynamodb:GetItem"],
            "verify_code" => &["dynamodb:GetItem", "dynamodb:PutItem"],
            _ => &[],
        };
        let unused: Vec<_> = allowed
            .iter()
            .filter(|a| !declared.contains(*a) && !rare.contains(&a.as_str()))
            .collect();
        assert!(unused.is_empty(), "{function} is allowed {unused:?}, which it never calls");
    }
}

/// Every operation the adapter declares names only real DynamoDB actions.
#[test]
fn declarations_name_dynamodb_actions() {
    let known = [
        "BatchGetItem",
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "ConditionCheckItem",
        "Query",
    ];
    for op in aws::dynamodb::operations() {
        assert!(!op.actions.is_empty(), "{}", op.name);
        for a in op.actions {
            let name = a.strip_prefix("dynamodb:").unwrap_or_else(|| panic!("{}: {a}", op.name));
            assert!(known.contains(&name), "{}: {a}", op.name);
        }
    }
}
