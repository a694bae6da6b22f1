//! A proof-of-work solver, as the `altcha` widget solves: try counters from
//! 0 until the derived key starts with the challenge's prefix, then hand
//! over the challenge and the solution as base64 JSON.

use base64::Engine as _;
use domain::captcha::pow::{COUNTER_MAX, derive_key};
use domain::crypto::{hex, unhex};
use serde_json::{Value, json};

/// The payload for a challenge (`POST /v1/challenges`'s body).
pub fn solve(challenge: &Value) -> String {
    let p = &challenge["parameters"];
    let bytes = |name: &str| unhex(p[name].as_str().expect(name)).expect("hex");
    let (nonce, salt, prefix) = (bytes("nonce"), bytes("salt"), p["keyPrefix"].as_str().unwrap());
    let cost = p["cost"].as_u64().expect("cost") as u32;
    let (counter, key) = (0..=COUNTER_MAX)
        .map(|counter| (counter, hex(&derive_key(&nonce, &salt, counter, cost))))
        .find(|(_, key)| key.starts_with(prefix))
        .expect("a counter in range solves it");
    payload(challenge, counter, &key)
}

/// The widget's payload for a challenge and a solution, whatever they hold.
pub fn payload(challenge: &Value, counter: u32, derived_key: &str) -> String {
    let body = json!({
        "challenge": {"parameters": challenge["parameters"], "signature": challenge["signature"]},
        "solution": {"counter": counter, "derivedKey": derived_key, "time": 1.5},
    });
    base64::engine::general_purpose::STANDARD.encode(body.to_string())
}

/// What a payload holds, as JSON.
pub fn open(payload: &str) -> Value {
    let bytes = base64::engine::general_purpose::STANDARD.decode(payload).expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

/// Re-encodes a payload after `f` changed it.
pub fn reseal(payload: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut body = open(payload);
    f(&mut body);
    base64::engine::general_purpose::STANDARD.encode(body.to_string())
}
