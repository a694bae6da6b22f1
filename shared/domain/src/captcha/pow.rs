//! Proof-of-work challenges in the protocol of `altcha-lib` 2.x, so the
//! `altcha` widget solves them: PBKDF2/SHA-256, deterministic mode with a
//! key signature.
//!
//! The server picks a counter, derives the key for it once and publishes
//! the key's first half (`keyPrefix`) and an HMAC of the whole key
//! (`keySignature`). A solver finds the counter by deriving key after key
//! (`cost` PBKDF2 iterations each) until one starts with the prefix. The
//! check is HMACs only: the challenge's signature over its canonical
//! parameters (keys sorted, compact JSON), then the key's signature. Each
//! challenge is accepted once (`CaptchaStore::spend_challenge`).

use super::{CaptchaError, CreateError};
use crate::crypto::{Keys, digest_eq, hex, mac, unhex};
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::ports::{Metric, Timestamp};
use crate::services::Services;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The only algorithm issued.
pub const ALGORITHM: &str = "PBKDF2/SHA-256";
/// The derived key's length in bytes, and how much of it the prefix shows.
const KEY_LENGTH: usize = 32;
const PREFIX_LENGTH: usize = KEY_LENGTH / 2;
/// The counter is drawn uniformly from 0 to this, so a solver makes about
/// half as many tries on average (across all its workers), and knowing the
/// range saves it nothing: there is no floor to start from.
pub const COUNTER_MAX: u32 = 6_000;
/// The longest `captcha.altcha` accepted (base64 text).
pub const MAX_PAYLOAD: usize = 4096;
const FIELD: &str = "captcha.altcha";

/// The challenge's parameters, in the order `altcha-lib` signs them
/// (sorted keys).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Parameters {
    pub algorithm: String,
    pub cost: u32,
    pub expires_at: Timestamp,
    pub key_length: u32,
    pub key_prefix: String,
    pub key_signature: String,
    pub nonce: String,
    pub salt: String,
}

/// `201` body of `POST /v1/challenges`.
#[derive(Clone, Debug, Serialize)]
pub struct Challenge {
    pub parameters: Parameters,
    pub signature: String,
}

/// Makes a signed challenge. No store write: a challenge is remembered only
/// once used. `NotServed` unless `CAPTCHA_PROVIDER` includes `pow`.
pub fn create(s: &Services) -> Result<Challenge, CreateError> {
    if !s.config.captcha_provider.pow() {
        return Err(CreateError::NotServed);
    }
    let mut seed = [0u8; SEED];
    s.random.fill(&mut seed).map_err(Fault::from)?;
    let expires_at = s.clock.now() + s.config.captcha_ttl_secs;
    let challenge = issue(&s.keys, s.config.pow_cost, expires_at, &seed)?;
    tracing::info!(cost = s.config.pow_cost, "proof-of-work challenge created");
    Ok(challenge)
}

/// Random bytes a challenge is made from: nonce, salt and counter.
pub const SEED: usize = 36;

/// Signs a challenge made from `seed`: one key derivation and two HMACs.
pub fn issue(
    keys: &Keys,
    cost: u32,
    expires_at: Timestamp,
    seed: &[u8; SEED],
) -> Result<Challenge, Fault> {
    let (nonce, rest) = seed.split_at(16);
    let (salt, counter) = rest.split_at(16);
    let counter = u32::from_be_bytes([counter[0], counter[1], counter[2], counter[3]]);
    // 2^32 is 715,708 × 6,001 + 3,588: the counters below 3,588 are drawn
    // about 1.4 in a million more often than the others.
    let counter = counter % (COUNTER_MAX + 1);
    let key = derive_key(nonce, salt, counter, cost);
    let (secret, key_secret) = keys.altcha_secrets();
    let parameters = Parameters {
        algorithm: ALGORITHM.into(),
        cost,
        expires_at,
        key_length: KEY_LENGTH as u32,
        key_prefix: hex(&key[..PREFIX_LENGTH]),
        key_signature: hex(&mac(key_secret.as_bytes(), &[&key])),
        nonce: hex(nonce),
        salt: hex(salt),
    };
    let canonical =
        serde_json::to_string(&parameters).map_err(|e| Fault::internal("challenge", e))?;
    let signature = hex(&mac(secret.as_bytes(), &[canonical.as_bytes()]));
    Ok(Challenge { parameters, signature })
}

/// The key a solver looks for: PBKDF2-HMAC-SHA256 over the nonce followed
/// by the counter (4 bytes, big-endian), salted, `cost` iterations.
pub fn derive_key(nonce: &[u8], salt: &[u8], counter: u32, cost: u32) -> [u8; KEY_LENGTH] {
    let mut password = nonce.to_vec();
    password.extend_from_slice(&counter.to_be_bytes());
    let mut key = [0u8; KEY_LENGTH];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&password, salt, cost, &mut key);
    key
}

/// The widget's payload, base64 JSON: the challenge as issued and the
/// solution.
#[derive(Deserialize)]
struct Sent {
    challenge: SentChallenge,
    solution: Solution,
}

#[derive(Clone, Deserialize)]
struct SentChallenge {
    /// Kept as sent (sorted by key), so that any change shows in the
    /// signature.
    parameters: BTreeMap<String, Value>,
    signature: String,
}

#[derive(Deserialize)]
struct Solution {
    #[serde(rename = "derivedKey")]
    derived_key: String,
}

/// A payload read from a request, not yet checked.
#[derive(Clone)]
pub struct Payload {
    challenge: SentChallenge,
    key: [u8; KEY_LENGTH],
}

impl Payload {
    /// Reads a payload. Not base64 JSON of the widget's shape, or a key
    /// that is not 32 bytes of hex: bad input, naming `captcha.altcha`.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > MAX_PAYLOAD {
            return Err(Invalid::value(FIELD));
        }
        let json = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|_| Invalid::value(FIELD))?;
        let sent: Sent = serde_json::from_slice(&json).map_err(|_| Invalid::value(FIELD))?;
        let key = unhex(&sent.solution.derived_key)
            .and_then(|key| <[u8; KEY_LENGTH]>::try_from(key).ok())
            .ok_or_else(|| Invalid::value(FIELD))?;
        Ok(Payload { challenge: sent.challenge, key })
    }
}

/// A payload whose proof holds: what to spend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    pub nonce: String,
    pub expires_at: Timestamp,
}

/// Checks a payload's proof: signed with these keys, not expired at `now`,
/// and the key found is the one signed. HMACs only; spends nothing.
pub fn verify(keys: &Keys, payload: &Payload, now: Timestamp) -> Result<Proof, CaptchaError> {
    let (secret, key_secret) = keys.altcha_secrets();
    let parameters = &payload.challenge.parameters;
    let canonical =
        serde_json::to_string(parameters).map_err(|e| Fault::internal("challenge", e))?;
    let expected = hex(&mac(secret.as_bytes(), &[canonical.as_bytes()]));
    let signature = payload.challenge.signature.to_ascii_lowercase();
    if !digest_eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(CaptchaError::Wrong);
    }
    let value = Value::Object(parameters.clone().into_iter().collect());
    let parameters: Parameters = serde_json::from_value(value).map_err(|_| CaptchaError::Wrong)?;
    if parameters.expires_at <= now {
        return Err(CaptchaError::Wrong);
    }
    let key_signature = hex(&mac(key_secret.as_bytes(), &[&payload.key]));
    if !digest_eq(key_signature.as_bytes(), parameters.key_signature.as_bytes()) {
        return Err(CaptchaError::Wrong);
    }
    Ok(Proof { nonce: parameters.nonce, expires_at: parameters.expires_at })
}

/// Checks a payload and spends its challenge: one conditional store write,
/// made only for a proof that holds. Forged, tampered, expired or used:
/// `Wrong`.
pub async fn consume(s: &Services, payload: &Payload) -> Result<(), CaptchaError> {
    let now = s.clock.now();
    let result = match verify(&s.keys, payload, now) {
        Ok(proof) => match s.store.spend_challenge(&proof.nonce, proof.expires_at, now).await? {
            true => Ok(()),
            false => Err(CaptchaError::Wrong),
        },
        Err(e) => Err(e),
    };
    let passed = result.is_ok();
    tracing::info!(passed, "proof of work checked");
    if matches!(result, Err(CaptchaError::Wrong)) {
        s.metrics.record(Metric::CaptchaFailed);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7914 §11's PBKDF2-HMAC-SHA256 vector (c = 1), which the key
    /// derivation must meet to interoperate with Web Crypto's.
    #[test]
    fn the_key_derivation_is_pbkdf2_sha256() {
        let mut key = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"passwd", b"salt", 1, &mut key);
        assert_eq!(hex(&key), "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
    }

    /// The counter has no floor: a solver that knows the range cannot skip
    /// any of it (a challenge can be solved at its first try).
    #[test]
    fn knowing_the_counter_range_saves_a_solver_nothing() {
        let keys = Keys::derive(&[1; 32]);
        let mut seed = [7u8; SEED];
        seed[32..].fill(0);
        let c = issue(&keys, 1, 100, &seed).unwrap();
        let first = hex(&derive_key(&seed[..16], &seed[16..32], 0, 1));
        assert!(first.starts_with(&c.parameters.key_prefix));
        seed[32..].fill(0xff);
        let c = issue(&keys, 1, 100, &seed).unwrap();
        let tries = (0..=COUNTER_MAX).position(|n| {
            hex(&derive_key(&seed[..16], &seed[16..32], n, 1)).starts_with(&c.parameters.key_prefix)
        });
        assert_eq!(tries, Some((u32::MAX % (COUNTER_MAX + 1)) as usize));
    }

    #[test]
    fn malformed_payloads_name_the_field() {
        for bad in ["", "not base64!", "e30=", &"A".repeat(MAX_PAYLOAD + 4)] {
            assert!(Payload::parse(bad).is_err(), "{bad:.20}");
        }
        let short_key = base64::engine::general_purpose::STANDARD.encode(
            r#"{"challenge":{"parameters":{},"signature":"00"},"solution":{"derivedKey":"abcd"}}"#,
        );
        assert!(Payload::parse(&short_key).is_err());
    }
}
