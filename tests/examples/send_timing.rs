//! Does `POST /v1/codes` take as long for an address with an account as for
//! one without? The handler runs as deployed (DynamoDB Local, the table's
//! stream left to the delivery function), N requests for each case,
//! interleaved, per purpose; prints the medians, the gap and Welch's t-test,
//! and fails if p ≤ 0.01 or the medians differ by 0.3 ms or more.
//!
//! `scripts/bench/bench-send.sh [N]` starts DynamoDB Local and runs this.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws::dynamodb::DynamoStore;
use domain::Services;
use domain::ports::{AccountRecord, AccountWrite};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use vericode_tests::{T0, config, dynamodb_client, fresh_table, request};

struct Case {
    owned: Vec<f64>,
    free: Vec<f64>,
}

async fn time_send(
    app: &Services,
    answers: &memory::AnswerLog,
    body: serde_json::Value,
    bearer: Option<&str>,
) -> f64 {
    let mut body = body;
    if bearer.is_none() {
        let c = domain::captcha::create(app).await.unwrap();
        body["captcha"] =
            json!({"id": c.captcha_id, "answer": answers.answer(&c.captcha_id).unwrap()});
    }
    let req = request(&body, "198.51.100.7", bearer);
    let started = Instant::now();
    let resp = send_code::handle(app, req).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(resp.status(), 202);
    ms
}

async fn account(app: &Services, email: &str) -> AccountRecord {
    let a = AccountRecord {
        id: uuid::Uuid::new_v4().to_string(),
        email: Some(email.to_string()),
        created_at: T0,
        ..Default::default()
    };
    let writes = [
        AccountWrite::PutAccount(a.clone()),
        AccountWrite::ClaimAddress { key: format!("email:{email}"), account_id: a.id.clone() },
    ];
    app.store.apply(&writes, T0).await.unwrap();
    AccountRecord { version: 1, ..a }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (m, v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0))
}

/// ln Γ(x), Lanczos.
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 6] = [
        76.180_091_729_471_46,
        -86.505_320_329_416_77,
        24.014_098_240_830_91,
        -1.231_739_572_450_155,
        0.001_208_650_973_866_179,
        -0.000_005_395_239_384_953,
    ];
    let mut y = x;
    let tmp = x + 5.5 - (x + 0.5) * (x + 5.5).ln();
    let mut ser = 1.000_000_000_190_015;
    for g in G {
        y += 1.0;
        ser += g / y;
    }
    -tmp + (2.506_628_274_631_000_5 * ser / x).ln()
}

/// The regularised incomplete beta function I_x(a, b) (continued fraction).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 || x >= 1.0 {
        return x.clamp(0.0, 1.0);
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    let cf = |a: f64, b: f64, x: f64| {
        let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
        d = 1.0 / if d.abs() < 1e-300 { 1e-300 } else { d };
        let mut h = d;
        for m in 1..300 {
            let m = f64::from(m);
            for num in [
                m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
                -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
            ] {
                d = 1.0 + num * d;
                d = 1.0 / if d.abs() < 1e-300 { 1e-300 } else { d };
                c = 1.0 + num / c;
                c = if c.abs() < 1e-300 { 1e-300 } else { c };
                h *= d * c;
            }
        }
        h
    };
    if x < (a + 1.0) / (a + b + 2.0) {
        front * cf(a, b, x) / a
    } else {
        1.0 - front * cf(b, a, 1.0 - x) / b
    }
}

/// Welch's t-test: (t, degrees of freedom, two-sided p).
fn welch(a: &[f64], b: &[f64]) -> (f64, f64, f64) {
    let ((ma, va), (mb, vb)) = (mean_var(a), mean_var(b));
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let se2 = va / na + vb / nb;
    let t = (ma - mb) / se2.sqrt();
    let df = se2.powi(2) / ((va / na).powi(2) / (na - 1.0) + (vb / nb).powi(2) / (nb - 1.0));
    let p = incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    (t, df, p)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let client = dynamodb_client().await;
    let table = fresh_table(&client).await;
    let mut cfg = config();
    cfg.ip_window_max = 1_000_000;
    let answers = Arc::new(memory::AnswerLog::default());
    let store = Arc::new(DynamoStore::new(client, table));
    let app =
        Services::new(cfg, store).unwrap().with_image_renderer().with_captcha_log(answers.clone());
    let binder = account(&app, "binder@example.com").await;
    let (token, _) = domain::sessions::issue(&app, &binder, 3600).unwrap();

    let purposes = ["register", "login", "reset_password", "bind"];
    let mut owned_addresses = Vec::new();
    for i in 0..n * purposes.len() {
        let email = format!("owned-{i}@example.com");
        account(&app, &email).await;
        owned_addresses.push(email);
    }
    // Warm up connections, caches and DynamoDB Local's JIT.
    for i in 0..500 {
        let body = json!({"channel": "email", "to": format!("warm-{i}@example.com"), "purpose": "register"});
        time_send(&app, &answers, body, None).await;
    }
    println!("POST /v1/codes on DynamoDB Local, N = {n} per case, interleaved");
    println!(
        "{:<15} {:>12} {:>12} {:>9} {:>8} {:>8}",
        "purpose", "owned p50", "free p50", "gap ms", "t", "p"
    );
    let mut ok = true;
    for (k, purpose) in purposes.iter().enumerate() {
        let mut case = Case { owned: Vec::new(), free: Vec::new() };
        let bearer = (*purpose == "bind").then_some(token.as_str());
        for i in 0..n {
            let owned = &owned_addresses[k * n + i];
            let free = format!("free-{k}-{i}@example.com");
            let body = |to: &str| json!({"channel": "email", "to": to, "purpose": purpose});
            // Alternate which case goes first.
            if i % 2 == 0 {
                case.owned.push(time_send(&app, &answers, body(owned), bearer).await);
                case.free.push(time_send(&app, &answers, body(&free), bearer).await);
            } else {
                case.free.push(time_send(&app, &answers, body(&free), bearer).await);
                case.owned.push(time_send(&app, &answers, body(owned), bearer).await);
            }
        }
        let (mo, mf) = (median(&case.owned), median(&case.free));
        let (t, _, p) = welch(&case.owned, &case.free);
        let gap = (mo - mf).abs();
        println!("{purpose:<15} {mo:>12.3} {mf:>12.3} {gap:>9.3} {t:>8.2} {p:>8.3}");
        ok &= p > 0.01 && gap < 0.3;
    }
    if !ok {
        println!("FAIL: a case is distinguishable (p <= 0.01 or a gap of 0.3 ms or more)");
        std::process::exit(1);
    }
    println!("indistinguishable: every p > 0.01 and every median gap < 0.3 ms");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_matches_known_values() {
        // Equal samples: t = 0, p = 1.
        let a = [1.0, 2.0, 3.0, 4.0];
        let (t, _, p) = welch(&a, &a);
        assert!(t.abs() < 1e-12 && (p - 1.0).abs() < 1e-9);
        // Student's t with 10 degrees of freedom: P(|T| > 2.228) = 0.05.
        let p = incomplete_beta(5.0, 0.5, 10.0 / (10.0 + 2.228f64.powi(2)));
        assert!((p - 0.05).abs() < 1e-3, "{p}");
    }
}
