//! Signed tokens: JWTs signed with Ed25519 (`alg: EdDSA`) through the
//! `jsonwebtoken` crate, `kid` in every header. The current key signs; it
//! and the previous keys (public halves only) verify, so keys rotate without
//! logging anyone out; `jwks()` publishes them all (RFC 7517/8037), so an
//! app's backend can check sessions offline with any JWT library.
//!
//! Only EdDSA is accepted (no `none`, no HMAC/RSA confusion: the algorithm
//! is fixed, not read from the header); a `kid` that names no known key is
//! refused. `exp` is checked against the service's clock, not the crate's.

use crate::ports::Timestamp;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::SigningKey;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// Claims every token has.
pub trait Expiring {
    fn exp(&self) -> Timestamp;
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("token signed by an unknown key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("expired token")]
    Expired,
}

/// A public key as a JSON Web Key (RFC 8037: `OKP`, `Ed25519`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    /// The 32-byte public key, base64url.
    pub x: String,
    /// Its RFC 7638 thumbprint.
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
}

/// `GET /.well-known/jwks.json`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// PKCS#8 v1 DER of an Ed25519 private key, before its 32-byte seed.
const PKCS8_ED25519: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The keys tokens are signed and checked with.
pub struct TokenKeys {
    kid: String,
    signing: EncodingKey,
    verifying: Vec<(String, DecodingKey)>,
    jwks: Jwks,
}

/// The public half of an Ed25519 key (its seed).
pub fn public_key(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

fn jwk(public: &[u8; 32]) -> Jwk {
    let x = B64.encode(public);
    // RFC 7638: the required members, in lexicographic order, no spaces.
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    let kid = B64.encode(Sha256::digest(canonical.as_bytes()));
    Jwk { kty: "OKP", crv: "Ed25519", x, kid, alg: "EdDSA", use_: "sig" }
}

impl TokenKeys {
    /// Signs with `seed`'s key; verifies with it and with `previous` public keys.
    pub fn new(seed: &[u8; 32], previous: &[[u8; 32]]) -> Self {
        crate::jwt_crypto::install();
        let mut der = PKCS8_ED25519.to_vec();
        der.extend_from_slice(seed);
        let mut keys: Vec<Jwk> = Vec::new();
        for public in std::iter::once(public_key(seed)).chain(previous.iter().copied()) {
            let k = jwk(&public);
            if !keys.iter().any(|known| known.kid == k.kid) {
                keys.push(k);
            }
        }
        let verifying = keys
            .iter()
            .filter_map(|k| Some((k.kid.clone(), DecodingKey::from_ed_components(&k.x).ok()?)))
            .collect();
        TokenKeys {
            kid: keys[0].kid.clone(),
            signing: EncodingKey::from_ed_der(&der),
            verifying,
            jwks: Jwks { keys },
        }
    }

    /// The current key's id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public keys that verify tokens, the current one first.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing)
    }

    /// Checks the signature with the key the header names, then `exp > now`.
    pub fn verify<C: DeserializeOwned + Expiring>(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<C, TokenError> {
        if token.len() > 4096 {
            return Err(TokenError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Malformed);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let (_, key) =
            self.verifying.iter().find(|(k, _)| *k == kid).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        let data =
            jsonwebtoken::decode::<C>(token, key, &validation).map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                _ => TokenError::Malformed,
            })?;
        if data.claims.exp() <= now {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        sub: String,
        exp: i64,
    }
    impl Expiring for Claims {
        fn exp(&self) -> i64 {
            self.exp
        }
    }

    const OLD: [u8; 32] = [1; 32];
    const NEW: [u8; 32] = [2; 32];

    #[test]
    fn round_trip_and_refusals() {
        let keys = TokenKeys::new(&OLD, &[]);
        let c = Claims { sub: "a".into(), exp: 100 };
        let t = keys.sign(&c).unwrap();
        assert_eq!(keys.verify::<Claims>(&t, 99).unwrap(), c);
        assert_eq!(keys.verify::<Claims>(&t, 100), Err(TokenError::Expired));
        let header = jsonwebtoken::decode_header(&t).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::EdDSA, Some(keys.kid())));

        // A forged payload under the same header and signature.
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = B64.encode(r#"{"sub":"b","exp":100}"#);
        parts[1] = &forged;
        assert_eq!(keys.verify::<Claims>(&parts.join("."), 99), Err(TokenError::BadSignature));
        // alg none, and HMAC keyed with the public key (algorithm confusion).
        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#), forged);
        assert_eq!(keys.verify::<Claims>(&none, 99), Err(TokenError::Malformed));
        let hs = format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{}"}}"#, keys.kid());
        let confused = format!(
            "{}.{}.{}",
            B64.encode(hs),
            B64.encode(r#"{"sub":"a","exp":100}"#),
            B64.encode([7u8; 32])
        );
        assert_eq!(keys.verify::<Claims>(&confused, 99), Err(TokenError::Malformed));
        assert_eq!(keys.verify::<Claims>("x.y", 99), Err(TokenError::Malformed));
        // Nothing but EdDSA is signed or checked at all.
        let hmac = EncodingKey::from_secret(b"secret").unwrap();
        assert!(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &c, &hmac).is_err());
    }

    #[test]
    fn keys_rotate() {
        let old = TokenKeys::new(&OLD, &[]);
        let rotated = TokenKeys::new(&NEW, &[public_key(&OLD)]);
        let c = Claims { sub: "a".into(), exp: 100 };
        // A token signed by the previous key still verifies…
        let by_old = old.sign(&c).unwrap();
        assert_eq!(rotated.verify::<Claims>(&by_old, 99).unwrap(), c);
        // …new ones are signed by the new key, which the old set does not know.
        let by_new = rotated.sign(&c).unwrap();
        assert_eq!(old.verify::<Claims>(&by_new, 99), Err(TokenError::UnknownKey));
        assert_ne!(rotated.kid(), old.kid());
        let kids: Vec<&str> = rotated.jwks().keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, [rotated.kid(), old.kid()]);
        // An unknown key with a known kid fails on the signature.
        let impostor = TokenKeys::new(&[3; 32], &[]);
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(old.kid().to_string());
        let mut der = PKCS8_ED25519.to_vec();
        der.extend_from_slice(&[3; 32]);
        let forged = jsonwebtoken::encode(&header, &c, &EncodingKey::from_ed_der(&der)).unwrap();
        assert_eq!(rotated.verify::<Claims>(&forged, 99), Err(TokenError::BadSignature));
        assert_eq!(
            rotated.verify::<Claims>(&impostor.sign(&c).unwrap(), 99),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        // RFC 8037, appendix A.3: the thumbprint of its example key.
        let x = B64.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        let k = jwk(&x.try_into().unwrap());
        assert_eq!(k.kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }
}
