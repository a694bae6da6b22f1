//! The SMS fraud guard, simulated over the handlers on both stores: real
//! traffic is never refused; pumping one prefix, or spread over one
//! country's prefixes, is cut off after a bounded number of sends; monitor
//! mode refuses nothing and reports everything; test numbers get their
//! fixed code, cost nothing and count nowhere.

use domain::address::PhoneNumber;
use domain::codes::guard;
use domain::config::{Config, GuardMode};
use domain::ports::{Clock, GuardScope, Metric, OsRandom, Random};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use vericode_tests::{Backend, TestApp, app_with, both_stores, config, parts, request};

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
    // From the top of an hour.
    t.clock.advance(3600 - t.clock.now().rem_euclid(3600));
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
    let sent: usize = (0..1000).map(|i| t.outbox.to(&format!("+447911123{i:03}")).len()).sum();
    assert_eq!(sent, 20, "one text message per accepted send");

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
    t.clock.advance(3600 - t.clock.now().rem_euclid(3600));
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
    let sent: usize = (0..1000).map(|i| t.outbox.to(&format!("+447911123{i:03}")).len()).sum();
    assert_eq!(sent, 1000);
}

/// A block depends on the prefix alone: login sends to a prefix whose
/// numbers all have accounts and to one whose numbers have none are
/// answered alike, send by send.
async fn a_block_is_no_oracle(b: Backend) {
    let t = app_with(b, guarded(GuardMode::Enforce)).await;
    t.clock.advance(3600 - t.clock.now().rem_euclid(3600));
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
    assert!(t.outbox.to("+15555550100").is_empty(), "never sent anything");
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
    assert!(t.outbox.to("review@example.com").is_empty());

    // Unconfigured, the number is not one of the numbering plan's.
    let plain = app_with(b, guarded(GuardMode::Enforce)).await;
    assert_eq!(send(&plain, "+15555550100", "register", 1).await, (400, "invalid_phone".into()));
}

both_stores!(
    real_traffic_is_never_refused,
    pumping_one_prefix_is_cut_off,
    pumping_spread_over_a_country_is_cut_off,
    monitor_mode_refuses_none_and_reports_all,
    a_block_is_no_oracle,
    the_prefix_cap_holds_under_concurrency,
    test_numbers_work_and_cost_nothing,
);
