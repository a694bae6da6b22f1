//! Signed tokens: compact JWTs, HS256 only, signed with `JWT_SECRET`.
//!
//! Written here rather than pulled from a JWT crate because one algorithm is
//! all the service issues or accepts: the header must be exactly HS256 (no
//! `alg: none`, no algorithm confusion), the signature is compared in
//! constant time, and `exp` is always checked. A general JWT crate would bring
//! RSA and elliptic-curve code into every function for nothing.

use crate::crypto::{digest_eq, mac};
use crate::ports::Timestamp;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Serialize;
use serde::de::DeserializeOwned;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Claims every token has.
pub trait Expiring {
    fn exp(&self) -> Timestamp;
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad signature")]
    BadSignature,
    #[error("expired token")]
    Expired,
}

pub fn sign<C: Serialize>(secret: &[u8], claims: &C) -> Result<String, serde_json::Error> {
    let header = B64.encode(HEADER);
    let payload = B64.encode(serde_json::to_vec(claims)?);
    let signing_input = format!("{header}.{payload}");
    let sig = B64.encode(mac(secret, &[signing_input.as_bytes()]));
    Ok(format!("{signing_input}.{sig}"))
}

/// Verifies the signature, then decodes the claims and checks `exp > now`.
pub fn verify<C: DeserializeOwned + Expiring>(
    secret: &[u8],
    token: &str,
    now: Timestamp,
) -> Result<C, TokenError> {
    if token.len() > 4096 {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    if B64.decode(header).ok().as_deref() != Some(HEADER.as_bytes()) {
        return Err(TokenError::Malformed);
    }
    let sig = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
    let expected = mac(secret, &[header.as_bytes(), b".", payload.as_bytes()]);
    if !digest_eq(&sig, &expected) {
        return Err(TokenError::BadSignature);
    }
    let bytes = B64.decode(payload).map_err(|_| TokenError::Malformed)?;
    let claims: C = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    if claims.exp() <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
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

    #[test]
    fn round_trip_and_refusals() {
        let c = Claims { sub: "a".into(), exp: 100 };
        let t = sign(b"k1", &c).unwrap();
        assert_eq!(verify::<Claims>(b"k1", &t, 99).unwrap(), c);
        assert_eq!(verify::<Claims>(b"k1", &t, 100), Err(TokenError::Expired));
        assert_eq!(verify::<Claims>(b"k2", &t, 99), Err(TokenError::BadSignature));
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = B64.encode(r#"{"sub":"b","exp":100}"#);
        parts[1] = &forged;
        assert_eq!(verify::<Claims>(b"k1", &parts.join("."), 99), Err(TokenError::BadSignature));
        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#), forged);
        assert_eq!(verify::<Claims>(b"k1", &none, 99), Err(TokenError::Malformed));
        assert_eq!(verify::<Claims>(b"k1", "x.y", 99), Err(TokenError::Malformed));
    }
}
