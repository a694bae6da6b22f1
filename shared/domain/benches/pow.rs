//! Proof-of-work benchmark: what a challenge costs the server to issue and
//! to check, and what solving it costs a solver in native code (one core,
//! the counters tried in order, as the widget's workers try them).
//! `cargo bench -p domain --bench pow` (`BENCH_N` challenges, default 200;
//! `POW_COST` iterations per try, default the service's).

use domain::captcha::pow::{self, COUNTER_MAX, SEED};
use domain::config::DEFAULT_POW_COST as DEFAULT_COST;
use domain::crypto::{Keys, hex, unhex};
use domain::ports::{OsRandom, Random};
use std::time::Instant;

fn main() {
    let env = |name: &str, default: u32| {
        std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let (n, cost) = (env("BENCH_N", 200) as usize, env("POW_COST", DEFAULT_COST));
    let keys = Keys::derive(&[7; 32]);
    let (mut issue, mut check, mut solve) = (Vec::new(), Vec::new(), Vec::new());
    let p50 = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for _ in 0..n {
        let mut seed = [0u8; SEED];
        if OsRandom.fill(&mut seed).is_err() {
            std::process::exit(1);
        }
        let t = Instant::now();
        let Ok(challenge) = pow::issue(&keys, cost, i64::MAX, &seed) else {
            std::process::exit(1);
        };
        issue.push(t.elapsed().as_secs_f64() * 1e6);

        let p = &challenge.parameters;
        let (nonce, salt) =
            (unhex(&p.nonce).unwrap_or_default(), unhex(&p.salt).unwrap_or_default());
        let t = Instant::now();
        let found = (0..=COUNTER_MAX)
            .map(|c| hex(&pow::derive_key(&nonce, &salt, c, cost)))
            .find(|key| key.starts_with(&p.key_prefix));
        solve.push(t.elapsed().as_secs_f64());
        let Some(key) = found else { std::process::exit(1) };

        let payload = payload(&challenge, &key);
        let t = Instant::now();
        let checked = pow::Payload::parse(&payload).map(|p| pow::verify(&keys, &p, 0));
        if !matches!(checked, Ok(Ok(_))) {
            std::process::exit(1);
        }
        check.push(t.elapsed().as_secs_f64() * 1e6);
    }
    // The image captcha's check, for comparison: the answer's keyed hash,
    // compared in constant time (its store write is the same one as here).
    let stored = keys.captcha_answer_hash("5f0c2a52-4b1e-4f7e-9f0a-2b7d3c1e8a90", "AC3XY");
    let mut image = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let hash = keys.captcha_answer_hash("5f0c2a52-4b1e-4f7e-9f0a-2b7d3c1e8a90", "AC3XY");
        std::hint::black_box(domain::crypto::digest_eq(&hash, &stored));
        image.push(t.elapsed().as_secs_f64() * 1e6);
    }
    println!("image captcha check p50={:.2} us", p50(&mut image));
    let mean_solve = solve.iter().sum::<f64>() / n as f64;
    println!(
        "pow cost={cost} n={n}: issue p50={:.1} us, check p50={:.1} us, solve mean={:.3} s p50={:.3} s (one core)",
        p50(&mut issue),
        p50(&mut check),
        mean_solve,
        p50(&mut solve)
    );
}

fn payload(challenge: &pow::Challenge, key: &str) -> String {
    use base64::Engine as _;
    let body = format!(
        r#"{{"challenge":{},"solution":{{"counter":0,"derivedKey":"{key}"}}}}"#,
        serde_json::to_string(challenge).unwrap_or_default()
    );
    base64::engine::general_purpose::STANDARD.encode(body)
}
