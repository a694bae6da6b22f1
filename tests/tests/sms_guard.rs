//! The SMS fraud guard, simulated over the handlers on both stores: real
//! traffic is never refused; pumping one prefix, or spread over one
//! country's prefixes, is cut off after a bounded number of sends; monitor
//! mode refuses nothing and reports everything; test numbers get their
//! fixed code, cost nothing and count nowhere.

use async_trait::async_trait;
use domain::address::PhoneNumber;
use domain::config::{Config, GuardMode, Secrets};
use domain::outbox::{Deliverer, deliver};
use domain::ports::{
    Clock, DeliveryResult, GuardBlock, GuardScope, ListedBlock, Metric, OsRandom, Random, Relay,
    Timestamp,
};
use domain::sms::guard;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use vericode_tests::{Backend, LogCapture, TestApp, app_with, both_stores, config, parts, request};

/// The guard as configured by default; the daily SMS budgets out of the way.
fn guarded(mode: GuardMode) -> Config {
    let mut cfg = config();
    cfg.sms_daily_max = 1_000_000;
    cfg.sms_country_daily_max = 1_000_000;
    cfg.sms_guard.mode = mode;
    cfg
}

/// The `i`-th client: a network of its own.
fn client(i: usize) -> String {
    format!("10.{}.{}.{}", i / 62_500 % 250, i / 250 % 250, i % 250 + 1)
}

/// One SMS send with a solved captcha from client `i`: status and error code.
async fn send(t: &TestApp, to: &str, purpose: &str, i: usize) -> (u16, String) {
    let (id, answer) = t.captcha().await;
    let body = json!({"channel": "sms", "to": to, "purpose": purpose,
        "captcha": {"id": id, "answer": answer}});
    let (status, body) = parts(&send_code::handle(&t.app, request(&body, &client(i), None)).await);
    (status, error_code(&body))
}

fn error_code(body: &Value) -> String {
    body["error"]["code"].as_str().unwrap_or("").to_string()
}

/// Checks the code last sent to `to`: whether it was right.
async fn verify(t: &TestApp, to: &str, purpose: &str, i: usize) -> bool {
    let code = t.last_code(to).expect("a code was sent");
    let body = json!({"channel": "sms", "to": to, "purpose": purpose, "code": code});
    let (status, _) = parts(&verify_code::handle(&t.app, request(&body, &client(i), None)).await);
    status == 200
}

fn tally(outcomes: &[(u16, String)]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (status, code) in outcomes {
        *out.entry(format!("{status} {code}")).or_default() += 1;
    }
    out
}

/// Checks `code` for `to` from network `ip`: the status.
async fn check(t: &TestApp, to: &str, purpose: &str, code: &str, ip: &str) -> u16 {
    let body = json!({"channel": "sms", "to": to, "purpose": purpose, "code": code});
    parts(&verify_code::handle(&t.app, request(&body, ip, None)).await).0
}

fn top_of_hour(t: &TestApp) {
    t.clock.advance(3600 - t.clock.now().rem_euclid(3600));
}

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    OsRandom.fill(&mut b).unwrap();
    u64::from_le_bytes(b) % n
}

/// A random valid mobile number of one of six countries.
fn random_number(country: usize) -> String {
    let (head, digits) =
        [("+86139", 8), ("+1415", 7), ("+447911", 6), ("+49151", 8), ("+336", 8), ("+9198", 8)]
            [country];
    loop {
        let tail = random_below(10u64.pow(digits));
        let number = format!("{head}{tail:0width$}", width = digits as usize);
        if PhoneNumber::parse(&number, None, "to").is_ok() {
            return number;
        }
    }
}

/// 300 sends to random valid numbers in six countries (two of them past
/// the country's threshold), 80 % of the codes used a little later: none
/// is refused, and nothing is blocked.
async fn real_traffic_is_never_refused(b: Backend) {
    let t = app_with(b, guarded(GuardMode::Enforce)).await;
    // 110 and 100 sends to the first two countries, 90 to the other four.
    let countries: Vec<usize> = (0..300)
        .map(|i| match i % 30 {
            0..=10 => 0,
            11..=20 => 1,
            _ => 2 + i % 4,
        })
        .collect();
    let mut outcomes = Vec::new();
    let mut waiting: Vec<String> = Vec::new();
    for (i, &country) in countries.iter().enumerate() {
        let to = random_number(country);
        outcomes.push(send(&t, &to, "confirm", i).await);
        // Four in five users type their code in, a few sends later.
        if i % 5 != 4 {
            waiting.push(to);
        }
        if waiting.len() > 3 {
            let to = waiting.remove(0);
            assert!(verify(&t, &to, "confirm", i).await, "{to}'s code is right");
        }
        t.clock.advance(20);
    }
    assert_eq!(tally(&outcomes), BTreeMap::from([("202 ".to_string(), 300)]));
    let blocks = guard::blocks(&*t.app.store, t.clock.now()).await.unwrap();
    assert!(blocks.is_empty(), "{blocks:?}");
    let conversions =
        t.metrics.all().iter().filter(|m| matches!(m, Metric::GuardConversion { .. })).count();
    assert!(conversions >= 236, "each right code is a conversion: {conversions}");
}

/// 1,000 sends to the numbers of one prefix, from 1,000 networks with
/// solved captchas, none verified, over 100 minutes: the prefix's hourly
/// cap lets 10 through in each hour, and once 20 sends have no conversion
/// the prefix is blocked: 20 accepted.
async fn pumping_one_prefix_is_cut_off(b: Backend) {
    let t = app_with(b, guarded(GuardMode::Enforce)).await;
    top_of_hour(&t);
    let mut outcomes = Vec::new();
    for i in 0..1000 {
        outcomes.push(send(&t, &format!("+447911123{i:03}"), "register", i).await);
        t.clock.advance(6);
    }
    let accepted = outcomes.iter().filter(|(s, _)| *s == 202).count();
    assert!(accepted <= 25, "{:?}", tally(&outcomes));
    assert_eq!(accepted, 20, "{:?}", tally(&outcomes));
    let first_refusal = outcomes.iter().position(|(s, _)| *s != 202).unwrap();
    assert_eq!(outcomes[first_refusal], (429, "rate_limited".into()), "the hour's cap first");
    assert_eq!(outcomes.last().unwrap(), &(403, "sms_destination_blocked".to_string()));
    let sent: usize = (0..1000).map(|i| t.mailbox.to(&format!("+447911123{i:03}")).len()).sum();
    assert_eq!(sent, 19, "one text message per accepted send, but the one that tipped the block");

    let blocks = guard::blocks(&*t.app.store, t.clock.now()).await.unwrap();
    assert_eq!(blocks.len(), 1, "{blocks:?}");
    assert_eq!((blocks[0].name.as_str(), blocks[0].scope), ("+447911123", GuardScope::Prefix));
    assert!(!blocks[0].monitor && blocks[0].block.reason.contains("20 sends and 0 conversions"));
    let metrics = t.metrics.all();
    let blocked = |m: &&Metric| {
        matches!(m, Metric::GuardBlock { country: 44, scope: GuardScope::Prefix, monitor: false })
    };
    assert_eq!(metrics.iter().filter(blocked).count(), 1, "one block, reported once");
    let refused = |m: &&Metric| matches!(m, Metric::GuardRefusal { monitor: false, .. });
    let refusals = outcomes.iter().filter(|(s, _)| *s == 403).count();
    assert_eq!(metrics.iter().filter(refused).count(), refusals);

    // Another prefix of the country is not affected; the operator lifts the block.
    assert_eq!(send(&t, "+447911124000", "register", 5000).await.0, 202);
    assert!(guard::unblock(&*t.app.store, "+447911123", t.clock.now()).await.unwrap());
    assert!(guard::blocks(&*t.app.store, t.clock.now()).await.unwrap().is_empty());
    t.clock.advance(3600);
    assert_eq!(send(&t, "+447911123999", "register", 5001).await.0, 202);
}

/// 1,000 sends spread over 250 prefixes of one country, none verified:
/// no prefix reaches its threshold, and the country is blocked once it
/// has 100 sends: at most 110 accepted.
async fn pumping_spread_over_a_country_is_cut_off(b: Backend) {
    let t = app_with(b, guarded(GuardMode::Enforce)).await;
    let mut outcomes = Vec::new();
    for i in 0..1000 {
        let (prefix, line) = (i % 250, i / 250);
        outcomes
            .push(send(&t, &format!("+49151{:05}{line:03}", 10_000 + prefix), "login", i).await);
        t.clock.advance(6);
    }
    let accepted = outcomes.iter().filter(|(s, _)| *s == 202).count();
    assert!(accepted <= 110, "{:?}", tally(&outcomes));
    assert!(accepted >= 100, "no earlier than the threshold: {:?}", tally(&outcomes));
    assert_eq!(outcomes.last().unwrap(), &(403, "sms_destination_blocked".to_string()));
    let blocks = guard::blocks(&*t.app.store, t.clock.now()).await.unwrap();
    assert_eq!(blocks.len(), 1, "{blocks:?}");
    assert_eq!((blocks[0].name.as_str(), blocks[0].scope), ("+49", GuardScope::Country));
    // Another country is not affected.
    assert_eq!(send(&t, "+447911124000", "login", 5000).await.0, 202);
}

/// Monitor mode: the one-prefix pumping run is accepted whole, and every
/// send enforcing would have refused is reported, with the block as a
/// watch.
async fn monitor_mode_refuses_none_and_reports_all(b: Backend) {
    let t = app_with(b, guarded(GuardMode::Monitor)).await;
    top_of_hour(&t);
    let mut outcomes = Vec::new();
    for i in 0..1000 {
        outcomes.push(send(&t, &format!("+447911123{i:03}"), "register", i).await);
        t.clock.advance(6);
    }
    assert_eq!(tally(&outcomes), BTreeMap::from([("202 ".to_string(), 1000)]));
    let metrics = t.metrics.all();
    let reported = metrics
        .iter()
        .filter(|m| matches!(m, Metric::GuardRefusal { country: 44, monitor: true }))
        .count();
    // Enforcing refuses all but the first 20 (see above); the watch starts
    // sooner, as the refused sends count here.
    assert!(reported >= 980, "{reported} reported");
    assert_eq!(reported, 990, "all but the hour's first 10");
    // The prefix is watched, and (all 1,000 sends counting) the country too.
    let watched = |scope: GuardScope| {
        let watch = Metric::GuardBlock { country: 44, scope, monitor: true };
        metrics.iter().filter(|m| **m == watch).count()
    };
    assert_eq!((watched(GuardScope::Prefix), watched(GuardScope::Country)), (1, 1));
    assert!(!metrics.iter().any(|m| matches!(m, Metric::GuardRefusal { monitor: false, .. })));
    let blocks = guard::blocks(&*t.app.store, t.clock.now()).await.unwrap();
    let names: Vec<_> = blocks.iter().map(|b| (b.name.as_str(), b.monitor)).collect();
    assert_eq!(names, [("+44", true), ("+447911123", true)], "watches, not blocks");
    let sent: usize = (0..1000).map(|i| t.mailbox.to(&format!("+447911123{i:03}")).len()).sum();
    assert_eq!(sent, 1000);
}

/// A block depends on the prefix alone: login sends to a prefix whose
/// numbers all have accounts and to one whose numbers have none are
/// answered alike, send by send.
async fn a_block_is_no_oracle(b: Backend) {
    let t = app_with(b, guarded(GuardMode::Enforce)).await;
    top_of_hour(&t);
    for i in 0..40 {
        t.account(None, Some(&format!("+447911124{i:03}"))).await;
    }
    let (mut owned, mut free) = (Vec::new(), Vec::new());
    for i in 0..40 {
        owned.push(send(&t, &format!("+447911124{i:03}"), "login", 2 * i).await);
        free.push(send(&t, &format!("+447911125{i:03}"), "login", 2 * i + 1).await);
        t.clock.advance(180);
    }
    assert_eq!(owned, free);
    assert!(owned.contains(&(403, "sms_destination_blocked".into())), "{:?}", tally(&owned));
}

/// The prefix's hourly cap holds under concurrency: 30 sends at once to
/// one prefix, 10 accepted.
async fn the_prefix_cap_holds_under_concurrency(b: Backend) {
    let t = app_with(b, guarded(GuardMode::Enforce)).await;
    let mut bodies = Vec::new();
    for i in 0..30 {
        let (id, answer) = t.captcha().await;
        bodies.push(json!({"channel": "sms", "to": format!("+447911126{i:03}"),
            "purpose": "register", "captcha": {"id": id, "answer": answer}}));
    }
    let tasks: Vec<_> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let app = t.app.clone();
            tokio::spawn(async move {
                parts(&send_code::handle(&app, request(&body, &client(i), None)).await)
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        outcomes.push((status, error_code(&body)));
    }
    let counted = tally(&outcomes);
    assert_eq!(counted.get("202 ").copied(), Some(10), "{counted:?}");
    assert_eq!(counted.get("429 rate_limited").copied(), Some(20), "{counted:?}");
}

/// Test destinations: their fixed code works end to end, nothing is sent
/// to them, and they count against no budget (the day's SMS budget here
/// is 0) and no guard; unconfigured, the same number gets no fixed code.
async fn test_numbers_work_and_cost_nothing(b: Backend) {
    let get = |name: &str| match name {
        "JWT_SIGNING_KEY" => Some("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=".into()),
        "CODE_KEY" => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
        "TEST_PHONE_NUMBERS" => Some("+15555550100=123456".into()),
        "TEST_EMAILS" => Some("review@example.com=24681357".into()),
        "SMS_DAILY_MAX" => Some("0".into()),
        "SMS_ALLOWED_COUNTRY_CODES" => Some("44".into()),
        _ => None,
    };
    let cfg = Config::from_lookup(get, domain::config::Secrets::Required).unwrap();
    let t = app_with(b, cfg).await;
    assert_eq!(
        send(&t, "+447911123000", "register", 1).await,
        (429, "sms_budget_exhausted".into())
    );
    for i in 0..3 {
        let (id, answer) = t.captcha().await;
        let body = json!({"channel": "sms", "to": "+15555550100", "purpose": "register",
            "captcha": {"id": id, "answer": answer}});
        let (status, body) =
            parts(&send_code::handle(&t.app, request(&body, &client(i), None)).await);
        assert_eq!((status, &body["code_length"]), (202, &json!(6)), "{body}");
        t.clock.advance(61);
    }
    assert!(t.mailbox.to("+15555550100").is_empty(), "never sent anything");
    let body = json!({"channel": "sms", "to": "+15555550100", "purpose": "register",
        "code": "123456"});
    let (status, verified) =
        parts(&verify_code::handle(&t.app, request(&body, &client(9), None)).await);
    assert_eq!(status, 200, "{verified}");
    let body = json!({"phone": "+15555550100", "password": "correct horse battery",
        "verification_token": verified["verification_token"]});
    let (status, created) =
        parts(&create_account::handle(&t.app, request(&body, &client(9), None)).await);
    assert_eq!(status, 201, "{created}");
    let tallies = t.app.store.guard_tallies(&["p+15555550".into()], t.clock.now()).await.unwrap();
    assert!(tallies[0].hours.is_empty(), "the guard counted nothing");

    // An email test address: its 8-digit code, nothing sent.
    let (id, answer) = t.captcha().await;
    let body = json!({"channel": "email", "to": "Review@Example.com", "purpose": "login",
        "captcha": {"id": id, "answer": answer}});
    let (status, sent) = parts(&send_code::handle(&t.app, request(&body, &client(20), None)).await);
    assert_eq!((status, &sent["code_length"]), (202, &json!(8)), "{sent}");
    let body = json!({"channel": "email", "to": "review@example.com", "purpose": "login",
        "code": "24681357"});
    assert_eq!(parts(&verify_code::handle(&t.app, request(&body, &client(20), None)).await).0, 200);
    assert!(t.mailbox.to("review@example.com").is_empty());

    // Unconfigured, the number is not one of the numbering plan's.
    let plain = app_with(b, guarded(GuardMode::Enforce)).await;
    assert_eq!(send(&plain, "+15555550100", "register", 1).await, (400, "invalid_phone".into()));
}

/// The stream as deployed: messages are delivered (and so reviewed) a
/// while after their sends, not before the send returns.
#[derive(Default)]
struct Lagging {
    deliverer: OnceLock<Arc<Deliverer>>,
    queue: Mutex<Vec<String>>,
}

#[async_trait]
impl Relay for Lagging {
    async fn committed(&self, message_id: &str) {
        self.queue.lock().unwrap().push(message_id.to_string());
    }
}

impl Lagging {
    /// The stream catches up: every queued message is delivered.
    async fn catch_up(&self) {
        let ids = std::mem::take(&mut *self.queue.lock().unwrap());
        let d = self.deliverer.get().unwrap();
        for id in ids {
            deliver(d, &id).await.unwrap();
        }
    }
}

fn lagging(t: TestApp) -> (TestApp, Arc<Lagging>) {
    let lag = Arc::new(Lagging::default());
    let (outbox, l) = (t.mailbox.clone(), lag.clone());
    let t = t.map_services(move |s| {
        let _ = l.deliverer.set(Arc::new(Deliverer::new(&s, outbox)));
        s.with_relay(l)
    });
    (t, lag)
}

/// A burst of 1,000 sends to 1,000 prefixes of one country, all in before
/// the delivery reviews the first: the requests are accepted (the country's
/// judgement runs after the send), but once reviewed, no message past the
/// threshold is sent — here none, as the first review already sees them
/// all. What pumping costs is the messages.
async fn a_burst_faster_than_the_review_costs_nothing(b: Backend) {
    let (t, lag) = lagging(app_with(b, guarded(GuardMode::Enforce)).await);
    let to = |i: usize| format!("+49151{:05}000", 10_000 + i);
    for i in 0..1000 {
        assert_eq!(send(&t, &to(i), "register", i).await.0, 202);
    }
    lag.catch_up().await;
    let blocks = guard::blocks(&*t.app.store, t.clock.now()).await.unwrap();
    assert!(blocks.iter().any(|b| b.name == "+49"), "{blocks:?}");
    let sent: usize = (0..1000).map(|i| t.mailbox.to(&to(i)).len()).sum();
    assert!(sent <= 110, "{sent} text messages went out");
    let held = |m: &&Metric| matches!(m, Metric::Delivery { outcome: DeliveryResult::Blocked, .. });
    assert_eq!(t.metrics.all().iter().filter(held).count(), 1000 - sent);
}

/// The operator lifts a prefix's block: it starts afresh, so its next
/// real users get their codes (its old counts would block it again at the
/// first send's review).
async fn an_unblocked_prefix_stays_unblocked(b: Backend) {
    let t = app_with(b, guarded(GuardMode::Enforce)).await;
    top_of_hour(&t);
    for i in 0..30 {
        send(&t, &format!("+447911123{i:03}"), "register", i).await;
        t.clock.advance(240);
    }
    assert!(guard::unblock(&*t.app.store, "+447911123", t.clock.now()).await.unwrap());
    t.clock.advance(3600);
    for i in 900..905 {
        let to = format!("+447911123{i}");
        assert_eq!(send(&t, &to, "register", i).await, (202, String::new()), "{to}");
        assert_eq!(t.mailbox.to(&to).len(), 1, "{to} got its code");
    }
    assert!(guard::blocks(&*t.app.store, t.clock.now()).await.unwrap().is_empty());
}

/// A `bind` send needs no captcha: one account sending bind codes around
/// a stranger's number, across an hour's boundary from one network, gets
/// 3 a day through — far from the 20 that would block the prefix — and
/// the stranger still logs in by code.
async fn a_stranger_cannot_block_a_prefix_without_captchas(b: Backend) {
    let t = app_with(b, guarded(GuardMode::Enforce)).await;
    let victim = "+447911123456";
    top_of_hour(&t);
    t.clock.advance(3540);
    t.account(None, Some(victim)).await;
    let (_, token) = t.account(Some("mallory@example.com"), None).await;
    let mut outcomes = Vec::new();
    for i in 0..20 {
        let body = json!({"channel": "sms", "to": format!("+447911123{i:03}"), "purpose": "bind"});
        let resp = send_code::handle(&t.app, request(&body, "198.51.100.7", Some(&token))).await;
        let (status, body) = parts(&resp);
        outcomes.push((status, error_code(&body)));
        t.clock.advance(6);
    }
    let counted = tally(&outcomes);
    assert_eq!(counted.get("202 ").copied(), Some(3), "{counted:?}");
    assert_eq!(send(&t, victim, "login", 1).await, (202, String::new()));
    assert_eq!(t.mailbox.to(victim).len(), 1, "the owner's code went out");
}

/// A test number's fixed code stays short: ten wrong checks harden the
/// number and close it to checks, rather than opening the fixed code to
/// thousands of guesses as a hardened number's long codes are.
async fn a_test_numbers_fixed_code_cannot_be_guessed(b: Backend) {
    let get = |name: &str| match name {
        "JWT_SIGNING_KEY" => Some("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=".into()),
        "CODE_KEY" => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
        "TEST_PHONE_NUMBERS" => Some("+15555550100=4821".into()),
        _ => None,
    };
    let t = app_with(b, Config::from_lookup(get, Secrets::Required).unwrap()).await;
    let to = "+15555550100";
    let mut guesses = (0..10_000).map(|n| format!("{n:04}")).filter(|g| g != "4821");
    for round in 0..2 {
        assert_eq!(send(&t, to, "login", round).await.0, 202);
        for _ in 0..5 {
            check(&t, to, "login", &guesses.next().unwrap(), &client(round)).await;
        }
        t.clock.advance(61);
    }
    assert_eq!(send(&t, to, "login", 2).await.0, 202, "hardened now");
    for k in 0..500 {
        let status = check(&t, to, "login", &guesses.next().unwrap(), &client(1000 + k / 8)).await;
        assert_eq!(status, 400);
    }
    let status = check(&t, to, "login", "4821", &client(5000)).await;
    assert_ne!(status, 200, "the fixed code was found by enumeration");
}

/// A prefix with its hour's 10 sends in a country that is then blocked:
/// the next send to it is refused for the block, on both stores alike.
async fn a_full_hour_in_a_blocked_country_answers_alike(b: Backend) {
    let t = app_with(b, guarded(GuardMode::Enforce)).await;
    top_of_hour(&t);
    for i in 0..10 {
        assert_eq!(send(&t, &format!("+447911123{i:03}"), "register", i).await.0, 202);
    }
    let now = t.clock.now();
    let keys: Vec<String> = (0..guard::SHARDS).map(|n| format!("c+44|s{n}")).collect();
    let listed = ListedBlock {
        name: "+44".into(),
        scope: GuardScope::Country,
        block: GuardBlock { until: now + 86_400, at: now, reason: "test".into() },
        monitor: false,
    };
    assert!(t.app.store.guard_block(&keys, &listed, now).await.unwrap());
    let elsewhere = send(&t, "+447911124000", "register", 100).await;
    assert_eq!(elsewhere, (403, "sms_destination_blocked".into()));
    assert_eq!(send(&t, "+447911123010", "register", 101).await, elsewhere);
}

/// Logs never carry a whole number — nor two halves that make one: each
/// send's line has the masked number (`+44******3407`), so a block's or a
/// watch's line names no prefix (`+447911123`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_rebuild_a_whole_number() {
    let capture = LogCapture::default();
    let writer = capture.clone();
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .try_init();
    for mode in [GuardMode::Enforce, GuardMode::Monitor] {
        let t = app_with(Backend::Memory, guarded(mode)).await;
        top_of_hour(&t);
        for i in 0..30 {
            send(&t, &format!("+447911124{:03}", 400 + i), "register", i).await;
            t.clock.advance(240);
        }
    }
    let logs = capture.text();
    assert!(logs.contains("SMS guard block"), "the blocks were logged");
    assert!(logs.contains(&PhoneNumber::parse("+447911124400", None, "to").unwrap().masked()));
    assert!(!logs.contains("447911124"), "a prefix is in the logs");
}

fn prefix_block(name: &str, now: Timestamp, secs: i64) -> ListedBlock {
    ListedBlock {
        name: name.to_string(),
        scope: GuardScope::Prefix,
        block: GuardBlock {
            until: now + secs,
            at: now,
            reason: "20 sends and 0 conversions in 24 h: under 20 %".into(),
        },
        monitor: false,
    }
}

/// A thousand blocks that end together do not stop the guard: each new
/// block takes at most a few ended ones off the list (a bounded update),
/// and the 20th unused send into a fresh prefix still blocks it.
async fn the_guard_still_blocks_after_many_blocks_ended(b: Backend) {
    let t = app_with(b, guarded(GuardMode::Enforce)).await;
    let now = t.clock.now();
    for i in 0..1000 {
        let name = format!("+49151{i:05}");
        let keys = [format!("p{name}")];
        let made = t.app.store.guard_block(&keys, &prefix_block(&name, now, 86_400), now).await;
        assert!(made.unwrap(), "block {i}");
    }
    t.clock.advance(86_401);
    top_of_hour(&t);
    // Three hours of pumping one fresh prefix: 10 an hour get past the
    // hourly cap, and the 20th send's review must block it.
    let mut accepted = 0;
    for i in 0..300 {
        if send(&t, &format!("+447911123{:03}", i % 1000), "register", i).await.0 == 202 {
            accepted += 1;
        }
        t.clock.advance(36);
    }
    let sent: usize = (0..300).map(|i| t.mailbox.to(&format!("+447911123{i:03}")).len()).sum();
    assert_eq!((accepted, sent), (20, 19), "the guard no longer blocks");
    let blocks = guard::blocks(&*t.app.store, t.clock.now()).await.unwrap();
    assert!(blocks.iter().any(|l| l.name == "+447911123"), "{blocks:?}");
}

/// Two blocks listed at once, one of a name whose earlier block has just
/// ended: the one taking ended blocks off the list does so only while they
/// are still ended, so the name blocked again stays listed (and can be
/// lifted).
async fn a_block_listed_in_a_race_stays_listed(b: Backend) {
    let t = app_with(b, guarded(GuardMode::Enforce)).await;
    let store = t.app.store.clone();
    for i in 0..20 {
        let (x, y) = (format!("+447911{i:03}"), format!("+447922{i:03}"));
        let now = t.clock.now();
        let first = store.guard_block(&[format!("p{x}")], &prefix_block(&x, now, 60), now).await;
        assert!(first.unwrap());
        t.clock.advance(61);
        let now = t.clock.now();
        // Two reviews at once: one blocks `y`, the other blocks `x` again.
        let (y_keys, y_block) = ([format!("p{y}")], prefix_block(&y, now, 86_400));
        let (x_keys, x_block) = ([format!("p{x}")], prefix_block(&x, now, 86_400));
        let (other, again) = tokio::join!(
            store.guard_block(&y_keys, &y_block, now),
            store.guard_block(&x_keys, &x_block, now),
        );
        assert!(other.unwrap() && again.unwrap());
        let listed = guard::blocks(&*store, now).await.unwrap();
        assert!(listed.iter().any(|l| l.name == x), "round {i}: {x}'s block is not listed");
        assert!(guard::unblock(&*store, &x, now).await.unwrap(), "round {i}: {x} cannot be lifted");
    }
}

both_stores!(
    the_guard_still_blocks_after_many_blocks_ended,
    a_block_listed_in_a_race_stays_listed,
    a_burst_faster_than_the_review_costs_nothing,
    an_unblocked_prefix_stays_unblocked,
    a_stranger_cannot_block_a_prefix_without_captchas,
    a_test_numbers_fixed_code_cannot_be_guessed,
    a_full_hour_in_a_blocked_country_answers_alike,
    real_traffic_is_never_refused,
    pumping_one_prefix_is_cut_off,
    pumping_spread_over_a_country_is_cut_off,
    monitor_mode_refuses_none_and_reports_all,
    a_block_is_no_oracle,
    the_prefix_cap_holds_under_concurrency,
    test_numbers_work_and_cost_nothing,
);
