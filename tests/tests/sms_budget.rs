//! The SMS spend guard under load: the daily budget is sharded over several
//! counter items (no hot key), and still exactly the cap is accepted.

use aws::dynamodb::DynamoStore;
use aws_config::timeout::TimeoutConfig;
use domain::config::Config;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use vericode_tests::{Backend, TestApp, app_with, both_stores, config, parts, request};

/// The app under test. DynamoDB Local on a small machine answers 200
/// concurrent transactions in seconds rather than milliseconds, so its
/// calls get generous timeouts here: what is tested is the cap, and that no
/// request fails, not the emulator's latency.
async fn app_for(b: Backend, cfg: Config) -> TestApp {
    if b == Backend::Memory {
        return app_with(b, cfg).await;
    }
    let patient = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_attempt_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(120))
        .build();
    let sdk = aws::sdk_config().await.into_builder().timeout_config(patient).build();
    let client = aws::dynamodb::client(&sdk, Some(&vericode_tests::dynamodb_endpoint()));
    let table = vericode_tests::fresh_table(&client).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    vericode_tests::services_over(Arc::new(store), cfg, Some((client, table)))
}

/// 200 concurrent SMS sends to distinct numbers against a cap of 150:
/// exactly 150 accepted, the rest `429 sms_budget_exhausted`, no 5xx. The
/// SMS fraud guard is off: none of these codes is used, which it would
/// stop at the country's 100th send (tests/tests/sms_guard.rs).
async fn the_cap_holds_under_concurrency(b: Backend) {
    let mut cfg = config();
    cfg.sms_guard.mode = domain::config::GuardMode::Off;
    cfg.sms_daily_max = 150;
    cfg.sms_country_daily_max = 1000;
    let t = app_for(b, cfg).await;
    let numbers: Vec<String> = (0..200).map(|i| format!("+86139{:08}", 10_000 + i)).collect();
    let mut bodies = Vec::new();
    for to in &numbers {
        let (id, answer) = t.captcha().await;
        bodies.push(json!({"channel": "sms", "to": to, "purpose": "register",
            "captcha": {"id": id, "answer": answer}}));
    }
    // From as many clients: the per-IP counter is no shared item here.
    let tasks: Vec<_> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let app = t.app.clone();
            let ip = format!("10.0.{}.{}", i / 250, i % 250 + 1);
            tokio::spawn(
                async move { parts(&send_code::handle(&app, request(&body, &ip, None)).await) },
            )
        })
        .collect();
    let mut outcomes: BTreeMap<(u16, String), usize> = BTreeMap::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        let code = body["error"]["code"].as_str().unwrap_or("").to_string();
        *outcomes.entry((status, code)).or_default() += 1;
    }
    let accepted = outcomes.get(&(202, String::new())).copied().unwrap_or(0);
    let exhausted = outcomes.get(&(429, "sms_budget_exhausted".into())).copied().unwrap_or(0);
    assert_eq!((accepted, exhausted), (150, 50), "{outcomes:?}");
    let sent: usize = numbers.iter().map(|n| t.mailbox.to(n).len()).sum();
    assert_eq!(sent, 150, "one SMS per accepted send");

    // The sends were spread over the shards: no item counted them all.
    if let Some((client, table)) = &t.dynamo {
        let scan = client.scan().table_name(table).send().await.unwrap();
        let shards: Vec<i64> = scan
            .items()
            .iter()
            .filter(|i| {
                i["pk"]
                    .as_s()
                    .is_ok_and(|pk| pk.starts_with("COUNTER#sms|") && pk.matches('|').count() == 2)
            })
            .map(|i| i["n"].as_n().unwrap().parse().unwrap())
            .collect();
        assert_eq!(shards.len(), domain::sms::SMS_BUDGET_SHARDS as usize, "{shards:?}");
        assert_eq!(shards.iter().sum::<i64>(), 150);
        assert!(shards.iter().all(|&n| n < 150));
    }
}

both_stores!(the_cap_holds_under_concurrency);
