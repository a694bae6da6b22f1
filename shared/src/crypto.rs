//! Keyed hashing. Secrets the service must recognise but never show again
//! (captcha answers, later tokens and links) are stored as HMAC-SHA256 under
//! a key derived from `CODE_KEY`, so a copy of the table reveals nothing and
//! cannot be brute-forced offline without the key.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Keys derived once at start-up from the service key.
#[derive(Clone)]
pub struct Keys {
    captcha: [u8; 32],
}

impl Keys {
    pub fn derive(code_key: &[u8; 32]) -> Self {
        Keys { captcha: mac(code_key, &[b"vericode/captcha/v1"]) }
    }

    /// The stored form of a captcha answer, bound to the captcha's id.
    pub fn captcha_answer_hash(&self, captcha_id: &str, normalised_answer: &str) -> [u8; 32] {
        mac(&self.captcha, &[captcha_id.as_bytes(), b"\0", normalised_answer.as_bytes()])
    }
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// Compares two digests in constant time.
pub fn digest_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_keyed_and_bound_to_the_id() {
        let k1 = Keys::derive(&[1; 32]);
        let k2 = Keys::derive(&[2; 32]);
        let h = k1.captcha_answer_hash("id-1", "ABCDE");
        assert!(digest_eq(&h, &k1.captcha_answer_hash("id-1", "ABCDE")));
        assert!(!digest_eq(&h, &k2.captcha_answer_hash("id-1", "ABCDE")));
        assert!(!digest_eq(&h, &k1.captcha_answer_hash("id-2", "ABCDE")));
        assert!(!digest_eq(&h, &k1.captcha_answer_hash("id-1", "ABCDF")));
    }
}
