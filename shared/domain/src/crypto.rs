//! Keyed hashing. Secrets the service must recognise but never show again
//! (captcha answers, later tokens and links) are stored as HMAC-SHA256 under
//! a key derived from `CODE_KEY`, so a copy of the table reveals nothing and
//! cannot be brute-forced offline without the key.

use crate::ports::{Random, RandomError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// XChaCha20-Poly1305 under a random nonce, bound to `context`:
/// `nonce || ciphertext`.
fn seal(
    key: &[u8; 32],
    context: &str,
    plain: &[u8],
    random: &dyn Random,
) -> Result<Vec<u8>, RandomError> {
    let mut nonce = [0u8; NONCE];
    random.fill(&mut nonce)?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let payload = Payload { msg: plain, aad: context.as_bytes() };
    let sealed = cipher
        .encrypt(XNonce::from_slice(&nonce), payload)
        .map_err(|_| RandomError("encryption failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// What `seal` sealed under the same key and context, or `None`.
fn open(key: &[u8; 32], context: &str, blob: &[u8]) -> Option<Vec<u8>> {
    if blob.len() <= NONCE {
        return None;
    }
    let (nonce, sealed) = blob.split_at(NONCE);
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: context.as_bytes() }).ok()
}

/// Keys derived once at start-up from the service key.
#[derive(Clone)]
pub struct Keys {
    captcha: [u8; 32],
    codes: [u8; 32],
    code_check: [u8; 32],
    link: [u8; 32],
    outbox: [u8; 32],
    altcha: [u8; 32],
    altcha_key: [u8; 32],
}

const NONCE: usize = 24;

impl Keys {
    pub fn derive(code_key: &[u8; 32]) -> Self {
        Keys {
            captcha: mac(code_key, &[b"vericode/captcha/v1"]),
            codes: mac(code_key, &[b"vericode/codes/v1"]),
            code_check: mac(code_key, &[b"vericode/code-check/v1"]),
            link: mac(code_key, &[b"vericode/secrets/v1"]),
            outbox: mac(code_key, &[b"vericode/outbox/v1"]),
            altcha: mac(code_key, &[b"vericode/altcha-signature/v1"]),
            altcha_key: mac(code_key, &[b"vericode/altcha-key-signature/v1"]),
        }
    }

    /// Encrypts a one-time code with XChaCha20-Poly1305 under a random nonce,
    /// bound to `context` (the destination's key): `nonce || ciphertext`.
    pub fn seal_code(
        &self,
        context: &str,
        code: &str,
        random: &dyn Random,
    ) -> Result<Vec<u8>, RandomError> {
        seal(&self.codes, context, code.as_bytes(), random)
    }

    /// The code sealed by `seal_code` for the same `context`, or `None`.
    pub fn open_code(&self, context: &str, blob: &[u8]) -> Option<String> {
        String::from_utf8(open(&self.codes, context, blob)?).ok()
    }

    /// The keyed hash a code is checked against in the store, bound to
    /// `context` (the destination's key).
    pub fn code_hash(&self, context: &str, code: &str) -> [u8; 32] {
        mac(&self.code_check, &[context.as_bytes(), b"\0", code.as_bytes()])
    }

    /// A client network's tag in a destination's record: a keyed hash of its
    /// key (`network::client_key`), 16 hex digits — never the address.
    pub fn network_tag(&self, network: &str) -> String {
        let mac = mac(&self.code_check, &[b"network\0", network.as_bytes()]);
        hex(&mac[..8])
    }

    /// Encrypts an outgoing message's contents, bound to its id.
    pub fn seal_message(
        &self,
        id: &str,
        plain: &[u8],
        random: &dyn Random,
    ) -> Result<Vec<u8>, RandomError> {
        seal(&self.outbox, id, plain, random)
    }

    /// The contents sealed by `seal_message` for the same id, or `None`.
    pub fn open_message(&self, id: &str, blob: &[u8]) -> Option<Vec<u8>> {
        open(&self.outbox, id, blob)
    }

    /// The stored form of a one-time secret (login link, invite).
    pub fn secret_hash(&self, kind: &str, secret: &str) -> [u8; 32] {
        mac(&self.link, &[kind.as_bytes(), b"\0", secret.as_bytes()])
    }

    /// The stored form of a captcha answer, bound to the captcha's id.
    pub fn captcha_answer_hash(&self, captcha_id: &str, normalised_answer: &str) -> [u8; 32] {
        mac(&self.captcha, &[captcha_id.as_bytes(), b"\0", normalised_answer.as_bytes()])
    }
}

impl Keys {
    /// The secrets a proof-of-work challenge is signed with, as `altcha-lib`
    /// takes them (`hmacSignatureSecret`, `hmacKeySignatureSecret`): text,
    /// whose UTF-8 bytes are the HMAC keys.
    pub fn altcha_secrets(&self) -> (String, String) {
        (hex(&self.altcha), hex(&self.altcha_key))
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes lower- or upper-case hex spells, or `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// `length` decimal digits, uniformly distributed (rejection sampling).
pub fn random_digits(random: &dyn Random, length: usize) -> Result<String, RandomError> {
    let mut out = String::with_capacity(length);
    let mut buf = [0u8; 32];
    while out.len() < length {
        random.fill(&mut buf)?;
        for b in buf {
            // 250 = 25 * 10: values above it would favour low digits.
            if b < 250 && out.len() < length {
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
    Ok(out)
}

/// `bytes` random bytes, URL-safe base64.
pub fn random_token(random: &dyn Random, bytes: usize) -> Result<String, RandomError> {
    use base64::Engine as _;
    let mut buf = vec![0u8; bytes];
    random.fill(&mut buf)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// `bytes` random bytes as lower-case hex.
pub fn random_hex(random: &dyn Random, bytes: usize) -> Result<String, RandomError> {
    let mut buf = vec![0u8; bytes];
    random.fill(&mut buf)?;
    Ok(hex(&buf))
}

/// Compares two digests in constant time.
pub fn digest_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::OsRandom;

    #[test]
    fn codes_seal_and_open_only_in_their_context() {
        let k = Keys::derive(&[3; 32]);
        let blob = k.seal_code("email:a@b.co", "123456", &OsRandom).unwrap();
        assert!(!blob.windows(6).any(|w| w == b"123456"));
        assert_eq!(k.open_code("email:a@b.co", &blob).as_deref(), Some("123456"));
        assert_eq!(k.open_code("email:x@b.co", &blob), None);
        assert_eq!(Keys::derive(&[4; 32]).open_code("email:a@b.co", &blob), None);
        assert_ne!(blob, k.seal_code("email:a@b.co", "123456", &OsRandom).unwrap());
    }

    #[test]
    fn digits_are_digits_and_spread() {
        let mut counts = [0usize; 10];
        for _ in 0..2000 {
            let c = random_digits(&OsRandom, 6).unwrap();
            assert_eq!(c.len(), 6);
            for ch in c.chars() {
                counts[ch.to_digit(10).unwrap() as usize] += 1;
            }
        }
        assert!(counts.iter().all(|&n| n > 900 && n < 1500), "{counts:?}");
    }

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
