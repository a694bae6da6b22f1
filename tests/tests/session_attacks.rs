//! Attacks on sessions per device, on login links that lead with the
//! account id, and on account events — over HTTP against the dev server
//! (and, for races, the use cases themselves over a store that yields
//! before each call, as a network would), on both stores.
//!
//! Rules held:
//! - `a_crowd_of_sessions_is_listed_whole`: the list reads every page of
//!   the account's records (DynamoDB answers 1 MB a Query).
//! - `a_session_ended_twice_at_once_is_told_once`: two requests ending one
//!   session at once end it once, and one event tells it.
//! - `an_event_outlives_a_short_eventbridge_outage`: a transient failure
//!   to publish is tried again for as long as the stream retries.
//! - `a_session_without_a_record_ends_with_the_others`: a session issued
//!   before records existed is not listed, and ends with the others.
//! - `a_link_cannot_be_turned_to_another_account`,
//!   `a_failed_login_leaves_the_same_store_with_or_without_an_account`,
//!   `hostile_user_agents_give_only_known_labels`,
//!   `odd_ids_and_scopes_end_nothing`,
//!   `sessions_ending_each_other_at_once_leave_one`.

mod http;

use domain::accounts::Client;
use domain::outbox::{AccountEvent, DeliverError, Deliverer, EventRecord, deliver};
use domain::ports::dev::EventLog as _;
use domain::ports::{
    AccountWrite, ApplyOutcome, Clock as _, DeliveryError, EventBus, PublishedEvent, SessionRecord,
    Store,
};
use domain::sessions::Session;
use http::{Reply, Server};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use vericode_tests::recording::Recording;
use vericode_tests::{Backend, TestApp, both_stores};

const PASSWORD: &str = "correct horse battery";
const MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

fn cfg() -> domain::config::Config {
    let mut cfg = vericode_tests::config();
    cfg.ip_window_max = 100_000;
    cfg
}

/// A server whose store yields before each call, so calls joined together
/// interleave as they would over a network (on the embedded store too).
async fn start_yielding(b: Backend) -> Server {
    let (store, dynamo) = vericode_tests::store(b).await;
    let store: Arc<dyn Store> = Arc::new(Recording::new(store));
    Server::serve(vericode_tests::services_over(store, cfg(), dynamo)).await
}

async fn login_as(s: &Server, ip: &str, ua: Option<&str>, email: &str) -> String {
    let body = json!({"email": email, "password": PASSWORD, "captcha": s.captcha().await});
    let reply = s.call_as(ip, ua, Method::POST, "/v1/sessions", &body, None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["token"].as_str().unwrap().to_string()
}

async fn list(s: &Server, token: &str) -> Reply {
    s.call("127.0.0.1", Method::GET, "/v1/me/sessions", &Value::Null, Some(token)).await
}

fn ids(reply: &Reply) -> Vec<String> {
    let sessions = reply.body["sessions"].as_array().unwrap();
    sessions.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

async fn me(s: &Server, token: &str) -> Reply {
    s.call("127.0.0.1", Method::GET, "/v1/me", &Value::Null, Some(token)).await
}

async fn end(s: &Server, token: &str, id: &str) -> Reply {
    let path = format!("/v1/me/sessions/{id}");
    s.call("127.0.0.1", Method::DELETE, &path, &Value::Null, Some(token)).await
}

async fn current_id(s: &Server, token: &str) -> String {
    let listed = list(s, token).await.body;
    let sessions = listed["sessions"].as_array().unwrap();
    let current = sessions.iter().find(|v| v["current"] == true).unwrap();
    current["id"].as_str().unwrap().to_string()
}

fn count(s: &Server, detail_type: &str) -> usize {
    s.t.events.events().iter().filter(|e| e.detail_type == detail_type).count()
}

// ------------------------------------------------ pages, races, outages

/// An account's records are not bounded: a stolen session mints sessions
/// without a captcha (`POST /v1/login-links`, then redeem), and ended or
/// revoked ones stay until their TTL. Past DynamoDB's 1 MB page the list
/// must still be whole, and a live session there must end by its id. (The
/// records are written as a login writes them, without the HTTP round
/// trips of 5,000 logins.)
async fn a_crowd_of_sessions_is_listed_whole(b: Backend) {
    use futures_util::StreamExt as _;
    let s = Server::start_with(b, cfg()).await;
    let owner = s.register("crowd@example.com", PASSWORD).await;
    let id = me(&s, &owner).await.body["id"].as_str().unwrap().to_string();
    let account = s.t.app.store.get_account(&id).await.unwrap().unwrap();
    let now = s.t.clock.now();
    let minted: Vec<String> = (0..5_000).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let writes = futures_util::stream::iter(minted.iter().cloned().map(|jti| {
        let record = SessionRecord {
            account_id: id.clone(),
            jti,
            device: "Chrome on macOS".into(),
            network: "127.0.0.0/24".into(),
            created_at: now,
            expires_at: now + 86_400,
            epoch: account.session_epoch,
        };
        let store = s.t.app.store.clone();
        async move { store.apply(&[AccountWrite::PutSession(record)], now).await.unwrap() }
    }))
    .buffer_unordered(24)
    .collect::<Vec<_>>()
    .await;
    assert!(writes.iter().all(|o| *o == ApplyOutcome::Committed));

    let listed = list(&s, &owner).await;
    assert_eq!(listed.status, 200);
    assert_eq!(ids(&listed).len(), minted.len() + 1, "every live session is listed");
    let last = minted.iter().max().unwrap();
    let reply = end(&s, &owner, last).await;
    assert_eq!(reply.status, 204, "a live session can be ended: {:?}", reply.body);
}

/// Two requests ending the same session at once: both read its record, but
/// the end is written once (its logout marker is conditional), so one
/// `session_ended` is published — an integrator counting on `event_id`
/// sees one ending.
async fn a_session_ended_twice_at_once_is_told_once(b: Backend) {
    let s = start_yielding(b).await;
    let keeper = s.register("twice@example.com", PASSWORD).await;
    let other = login_as(&s, "127.0.0.2", Some(MAC), "twice@example.com").await;
    let id = current_id(&s, &other).await;
    let before = count(&s, "account.session_ended");
    let first = Session::check(&s.t.app, &keeper).unwrap();
    let second = Session::check(&s.t.app, &keeper).unwrap();
    let client = Client::default();
    let (one, two) = tokio::join!(
        domain::accounts::end_session(&s.t.app, &first, &id, &client),
        domain::accounts::end_session(&s.t.app, &second, &id, &client)
    );
    assert_eq!(me(&s, &other).await.status, 401);
    let ended = count(&s, "account.session_ended") - before;
    assert_eq!(
        ended,
        1,
        "one session ended, {ended} events (results: {:?}, {:?})",
        one.map_err(|e| e.to_string()),
        two.map_err(|e| e.to_string())
    );
}

/// An EventBridge that is down for its first `down` calls.
struct Outage {
    down: AtomicU32,
    published: Mutex<Vec<PublishedEvent>>,
}

#[async_trait::async_trait]
impl EventBus for Outage {
    async fn publish(&self, event: &PublishedEvent) -> Result<(), DeliveryError> {
        let down = self.down.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if down.is_ok() {
            return Err(DeliveryError::transient("InternalException"));
        }
        self.published.lock().unwrap().push(event.clone());
        Ok(())
    }
}

/// Events are published at least once: an event whose publishing fails
/// transiently more than `DELIVERY_MAX_ATTEMPTS` (5) times — half a minute
/// of EventBridge throttling — is still published once the bus is back,
/// within the stream's 10 retries of the record.
async fn an_event_outlives_a_short_eventbridge_outage(b: Backend) {
    let t = vericode_tests::app_with(b, cfg()).await;
    let now = t.clock.now();
    let record = EventRecord {
        event: AccountEvent::SessionEnded,
        account_id: uuid::Uuid::new_v4().to_string(),
        at: now,
        network: "127.0.0.0/24".into(),
        device: "Chrome on macOS".into(),
    };
    // As an action writes it (and the stream, not a relay, hands it on).
    let m = domain::outbox::event_message(&t.app, &record).unwrap();
    let outcome = t.app.store.apply(&[AccountWrite::PutMessage(m.clone())], now).await.unwrap();
    assert_eq!(outcome, ApplyOutcome::Committed);
    let bus = Arc::new(Outage { down: AtomicU32::new(5), published: Mutex::default() });
    let d = Deliverer::new(&t.app, t.mailbox.clone()).with_events(bus.clone());
    // The stream's ten retries of the record, a minute apart at most.
    for _ in 0..10 {
        match deliver(&d, &m.id).await {
            Ok(_) => {}
            Err(DeliverError::Retry { .. } | DeliverError::Leased { .. }) => {}
            Err(e) => panic!("{e}"),
        }
        t.clock.advance(60);
    }
    let published = bus.published.lock().unwrap().len();
    assert_eq!(published, 1, "the event is published once the bus is back");
}

/// A session issued without a record — every session live when sessions
/// per device were deployed (up to 30 days) — is valid but not listed, and
/// no id names it; ending the others ends it (docs/api.md says so).
async fn a_session_without_a_record_ends_with_the_others(b: Backend) {
    let s = Server::start_with(b, cfg()).await;
    let owner = s.register("legacy@example.com", PASSWORD).await;
    let id = me(&s, &owner).await.body["id"].as_str().unwrap().to_string();
    let account = s.t.app.store.get_account(&id).await.unwrap().unwrap();
    let (old, claims) = domain::sessions::issue(&s.t.app, &account, 3600).unwrap();
    assert_eq!(me(&s, &old).await.status, 200, "a live session");
    let listed = ids(&list(&s, &owner).await);
    assert!(!listed.contains(&claims.jti), "no record, not listed: {listed:?}");
    assert_eq!(end(&s, &owner, &claims.jti).await.status, 404);
    let path = "/v1/me/sessions?scope=others";
    let reply = s.call("127.0.0.1", Method::DELETE, path, &Value::Null, Some(&owner)).await;
    assert_eq!(reply.status, 204);
    assert_eq!(me(&s, &old).await.status, 401, "ended with the others");
    assert_eq!(me(&s, &owner).await.status, 200);
}

// ------------------------------------------------------------------ held

/// A link's account id cannot be swapped (the keyed hash covers it), and
/// no prefix tells anything: an existing account's id, an unknown one, a
/// deleted account's live link all answer alike. Attempts spend nothing.
async fn a_link_cannot_be_turned_to_another_account(b: Backend) {
    let s = Server::start_with(b, cfg()).await;
    let alice = s.register("alice-link@example.com", PASSWORD).await;
    let bob = s.register("bob-link@example.com", PASSWORD).await;
    let bob_id = me(&s, &bob).await.body["id"].as_str().unwrap().to_string();
    let link = s.post("/v1/login-links", json!({}), Some(&alice)).await.body;
    let auth = link["authorization"].as_str().unwrap().to_string();
    let (alice_id, secret) = auth.split_once('.').unwrap();
    let nobody = "00000000-0000-4000-8000-000000000000";
    let baseline = json!({"authorization": format!("{nobody}.{}", "A".repeat(43))});
    let inspect_base = s.post("/v1/login-links/inspect", baseline.clone(), None).await;
    let redeem_base = s.post("/v1/login-links/redeem", baseline, None).await;
    assert_eq!(inspect_base.status, 401);
    assert_eq!(redeem_base.body["error"]["code"], "invalid_credentials");
    let forged = [
        format!("{bob_id}.{secret}"),
        format!("{nobody}.{secret}"),
        format!("{alice_id}.{}", "A".repeat(43)),
        format!("{bob_id}.{bob_id}"),
        format!("{alice_id}.{secret}."),
        format!("{alice_id}.{secret}#{bob_id}"),
        format!("{}.{secret}", alice_id.to_uppercase()),
        format!(".{secret}"),
        secret.to_string(),
        format!("{bob_id}.{}", "x".repeat(120)),
    ];
    for f in &forged {
        let body = json!({"authorization": f});
        let inspected = s.post("/v1/login-links/inspect", body.clone(), None).await;
        assert_eq!(inspected, inspect_base, "inspect {f}");
        let redeemed = s.post("/v1/login-links/redeem", body, None).await;
        assert_eq!(redeemed, redeem_base, "redeem {f}");
    }
    assert_eq!(me(&s, &bob).await.status, 200);
    let body = json!({"authorization": auth});
    let shown = s.post("/v1/login-links/inspect", body.clone(), None).await;
    assert_eq!(shown.body["login_as"]["email"], "a***@example.com", "{:?}", shown.body);
    let redeemed = s.post("/v1/login-links/redeem", body, None).await;
    assert_eq!(redeemed.status, 200, "unspent by the attempts: {:?}", redeemed.body);
    assert_eq!(redeemed.body["account"]["id"], json!(alice_id));

    // A live link whose account is deleted answers as an unknown one.
    let carol = s.register("carol-link@example.com", PASSWORD).await;
    let link = s.post("/v1/login-links", json!({}), Some(&carol)).await.body;
    let delete = json!({"current_password": PASSWORD});
    let gone = s.call("127.0.0.1", Method::DELETE, "/v1/me", &delete, Some(&carol)).await;
    assert_eq!(gone.status, 204, "{:?}", gone.body);
    let body = json!({"authorization": link["authorization"]});
    assert_eq!(s.post("/v1/login-links/inspect", body.clone(), None).await, inspect_base);
    assert_eq!(s.post("/v1/login-links/redeem", body, None).await, redeem_base);
}

/// The outbox items a store holds: (id, what an onlooker sees of it).
async fn outbox_items(
    memory: Option<&::memory::MemoryStore>,
    t: &TestApp,
) -> Vec<(String, String)> {
    if let Some(m) = memory {
        return m
            .message_ids()
            .into_iter()
            .map(|id| {
                let state = format!("{:?}", m.message_state(&id));
                (id, state)
            })
            .collect();
    }
    let (client, table) = t.dynamo.clone().unwrap();
    let scan = client
        .scan()
        .table_name(&table)
        .filter_expression("begins_with(pk, :m)")
        .expression_attribute_values(
            ":m",
            aws_sdk_dynamodb::types::AttributeValue::S("MSG#".into()),
        )
        .send()
        .await
        .unwrap();
    scan.items()
        .iter()
        .map(|item| {
            let id = item["pk"].as_s().unwrap().clone();
            let mut names: Vec<_> = item.keys().cloned().collect();
            names.sort();
            let sealed = item["sealed"].as_b().unwrap().as_ref().len();
            let state = item["state"].as_s().unwrap().clone();
            let attempts = item["attempts"].as_n().unwrap().clone();
            let ttl = item["expires_at"].as_n().unwrap().parse::<i64>().unwrap()
                - item["created_at"].as_n().unwrap().parse::<i64>().unwrap();
            (id, format!("{names:?} {state} {attempts} {sealed} {ttl}"))
        })
        .collect()
}

/// A wrong password at an address with an account and at one without
/// answers alike and leaves alike-looking outbox items behind (one a
/// minute for each; a second wrong password in the minute writes nothing
/// for either). Only the account's is published.
async fn a_failed_login_leaves_the_same_store_with_or_without_an_account(b: Backend) {
    let (mem, s) = match b {
        Backend::Memory => {
            let m = Arc::new(::memory::MemoryStore::new());
            let t = vericode_tests::services_over(m.clone(), cfg(), None);
            (Some(m), Server::serve(t).await)
        }
        Backend::Dynamo => {
            let (store, dynamo) = vericode_tests::store(b).await;
            (None, Server::serve(vericode_tests::services_over(store, cfg(), dynamo)).await)
        }
    };
    s.register("known-fail@example.com", PASSWORD).await;
    for round in 0..2 {
        s.t.clock.advance(60 - s.t.clock.now().rem_euclid(60));
        for attempt in 0..2 {
            let mut new = Vec::new();
            let mut replies = Vec::new();
            for to in ["known-fail@example.com", "unknown-fail@example.com"] {
                let before: Vec<_> = outbox_items(mem.as_deref(), &s.t)
                    .await
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                let reply = s.login_by_password("127.0.0.9", to, "a wrong password").await;
                let after = outbox_items(mem.as_deref(), &s.t).await;
                new.push(
                    after
                        .into_iter()
                        .filter(|(id, _)| !before.contains(id))
                        .map(|(_, v)| v)
                        .collect::<Vec<_>>(),
                );
                replies.push(reply);
            }
            assert_eq!(replies[0], replies[1], "round {round}");
            assert_eq!(replies[0].status, 401);
            assert_eq!(new[0], new[1], "round {round}: the store looks alike");
            assert_eq!(new[0].len(), usize::from(attempt == 0), "one a minute: {new:?}");
        }
    }
    assert_eq!(count(&s, "account.login_failed"), 2, "the account's, once a minute");
}

/// Whatever a `User-Agent` holds — megabytes of it, markup, JSON, bytes
/// that are not ASCII — the device is a label from the short list, in the
/// list and in events; the header itself is nowhere.
async fn hostile_user_agents_give_only_known_labels(b: Backend) {
    let s = Server::start_with(b, cfg()).await;
    let owner = s.register("ua@example.com", PASSWORD).await;
    let hostile = [
        format!("Mozilla/5.0 (iPhone) {} Chrome/1 <script>alert(1)</script>", "A".repeat(6000)),
        r#"curl/8 "}],"device":"pwned","x":[{"#.to_string(),
        "Mözilla ☃ Chrome/1 (Windows)".to_string(),
        "\tSafari/ ".to_string(),
        "Edg/ OPR/ Firefox/ iPhone Android CrOS Windows Linux".to_string(),
    ];
    for (i, ua) in hostile.iter().enumerate() {
        let ip = format!("127.0.0.{}", 20 + i);
        login_as(&s, &ip, Some(ua.as_str()), "ua@example.com").await;
    }
    let browsers = [
        "Edge",
        "Opera",
        "Firefox",
        "Chrome",
        "Safari",
        "curl",
        "Wget",
        "okhttp",
        "python-requests",
        "node",
        "Unknown browser",
    ];
    let systems = ["iOS", "Android", "ChromeOS", "macOS", "Windows", "Linux"];
    let known = |d: &str| {
        browsers.contains(&d)
            || browsers.iter().any(|b| systems.iter().any(|s| d == format!("{b} on {s}")))
    };
    let listed = list(&s, &owner).await;
    let sessions = listed.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), hostile.len() + 1);
    for session in sessions {
        let device = session["device"].as_str().unwrap();
        assert!(known(device), "{device}");
    }
    let text = listed.body.to_string();
    for needle in ["script", "pwned", "AAAA", "Mözilla"] {
        assert!(!text.contains(needle), "{needle} in the list");
    }
    for e in s.t.events.events() {
        let device = e.detail["device"].as_str().unwrap();
        assert!(known(device), "{device}");
        assert!(!e.detail.to_string().contains("pwned"));
    }
}

/// Ids that are not a live session of the caller's account — encoded,
/// key-shaped, its own in capitals, very long — and every `scope` but
/// `others` end nothing.
async fn odd_ids_and_scopes_end_nothing(b: Backend) {
    let s = Server::start_with(b, cfg()).await;
    let keeper = s.register("odd@example.com", PASSWORD).await;
    let other = login_as(&s, "127.0.0.2", Some(MAC), "odd@example.com").await;
    let stranger = s.register("odd-stranger@example.com", PASSWORD).await;
    let own = current_id(&s, &keeper).await;
    let theirs = current_id(&s, &other).await;
    let strangers = current_id(&s, &stranger).await;
    let ids_before = ids(&list(&s, &keeper).await);
    for id in [
        own.to_uppercase(),
        format!("{theirs}%00"),
        format!("{theirs}%20"),
        format!("SESSION%23{theirs}"),
        format!("ACCOUNT%23x%2F{theirs}"),
        strangers.clone(),
        "*".to_string(),
        "x".repeat(2000),
    ] {
        let reply = end(&s, &keeper, &id).await;
        assert_eq!(reply.status, 404, "{id}: {:?}", reply.body);
    }
    for query in [
        "?scope=Others",
        "?scope=others%20",
        "?scope=%20others",
        "?scope=all",
        "?scope=",
        "?Scope=others",
        "?scope%5B%5D=others",
        "?scope=all&scope=others",
        "?scope=others,all",
    ] {
        let path = format!("/v1/me/sessions{query}");
        let reply = s.call("127.0.0.1", Method::DELETE, &path, &Value::Null, Some(&other)).await;
        assert_eq!(
            (reply.status, &reply.body["error"]["field"]),
            (400, &json!("scope")),
            "{query}: {:?}",
            reply.body
        );
    }
    let trailing = s.call(
        "127.0.0.1",
        Method::DELETE,
        "/v1/me/sessions/?scope=others",
        &Value::Null,
        Some(&other),
    );
    assert_ne!(trailing.await.status, 204);
    for token in [&keeper, &other, &stranger] {
        assert_eq!(me(&s, token).await.status, 200, "nothing ended");
    }
    assert_eq!(ids(&list(&s, &keeper).await), ids_before);
    assert_eq!(count(&s, "account.session_ended") + count(&s, "account.logged_out"), 0);
}

/// Two sessions ending each other at once, or each ending the others at
/// once: exactly one stands afterwards — never both (the thief keeps
/// nothing it raced for), never neither (the owner is not locked out).
/// After a thief ends the owner's sessions, the owner logs in again and
/// ends the thief's by its id.
async fn sessions_ending_each_other_at_once_leave_one(b: Backend) {
    let s = start_yielding(b).await;
    let email = "mutual@example.com";
    s.register(email, PASSWORD).await;
    let client = Client::default();
    for round in 0..2 {
        let owner = login_as(&s, "127.0.0.2", Some(MAC), email).await;
        let thief = login_as(&s, "127.0.0.66", None, email).await;
        let o = Session::check(&s.t.app, &owner).unwrap();
        let t = Session::check(&s.t.app, &thief).unwrap();
        let results = if round == 0 {
            let (owner_id, thief_id) = (current_id(&s, &owner).await, current_id(&s, &thief).await);
            let (a, b) = tokio::join!(
                domain::accounts::end_session(&s.t.app, &o, &thief_id, &client),
                domain::accounts::end_session(&s.t.app, &t, &owner_id, &client)
            );
            [a.is_ok(), b.is_ok()]
        } else {
            let (a, b) = tokio::join!(
                domain::accounts::end_other_sessions(&s.t.app, &o, &client),
                domain::accounts::end_other_sessions(&s.t.app, &t, &client)
            );
            [a.is_ok(), b.is_ok()]
        };
        let standing = [me(&s, &owner).await.status, me(&s, &thief).await.status];
        assert_eq!(results.iter().filter(|ok| **ok).count(), 1, "round {round}: {results:?}");
        let alive = standing.iter().filter(|st| **st == 200).count();
        assert_eq!(alive, 1, "round {round}: {standing:?} after {results:?}");
    }

    // The thief ends the others (the owner's included) and keeps its own.
    let thief = login_as(&s, "127.0.0.66", None, email).await;
    let path = "/v1/me/sessions?scope=others";
    let reply = s.call("127.0.0.66", Method::DELETE, path, &Value::Null, Some(&thief)).await;
    assert_eq!(reply.status, 204);
    let owner = login_as(&s, "127.0.0.2", Some(MAC), email).await;
    let listed = list(&s, &owner).await;
    assert_eq!(ids(&listed).len(), 2, "the thief's and the owner's new one: {:?}", listed.body);
    let thief_id = current_id(&s, &thief).await;
    assert_eq!(end(&s, &owner, &thief_id).await.status, 204);
    assert_eq!(me(&s, &thief).await.status, 401);
    assert_eq!(me(&s, &owner).await.status, 200);
}

both_stores!(
    a_crowd_of_sessions_is_listed_whole,
    a_session_ended_twice_at_once_is_told_once,
    an_event_outlives_a_short_eventbridge_outage,
    a_session_without_a_record_ends_with_the_others,
    a_link_cannot_be_turned_to_another_account,
    a_failed_login_leaves_the_same_store_with_or_without_an_account,
    hostile_user_agents_give_only_known_labels,
    odd_ids_and_scopes_end_nothing,
    sessions_ending_each_other_at_once_leave_one,
);
