//! Passwords: argon2id, PHC strings in the store, never logged.
//!
//! Parameters: 19 MiB of memory, 2 passes, 1 lane (OWASP's argon2id
//! baseline), which fits a 256 MB Lambda with room to spare; the time per
//! hash is measured by `cargo bench -p domain --bench password`.

use crate::error::Fault;
use crate::invalid::Invalid;
use crate::ports::Random;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;

pub struct Passwords {
    argon: Argon2<'static>,
    /// Verified against when there is no account, so that an unknown
    /// account costs the same time as a wrong password. Made on first use,
    /// so functions that never check a password pay nothing at cold start.
    dummy: OnceLock<String>,
}

/// A password that meets the length rule (8 to 128 characters).
pub struct Password<'a>(&'a str);

impl<'a> Password<'a> {
    pub fn parse(raw: &'a str, field: &'static str) -> Result<Self, Invalid> {
        let n = raw.chars().count();
        if (MIN_CHARS..=MAX_CHARS).contains(&n) {
            Ok(Password(raw))
        } else {
            Err(Invalid::WeakPassword(field))
        }
    }
}

impl Passwords {
    pub fn new() -> Result<Self, Fault> {
        let params = Params::new(MEMORY_KIB, PASSES, 1, Some(32))
            .map_err(|e| Fault::internal("argon2 parameters", e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        Ok(Passwords { argon, dummy: OnceLock::new() })
    }

    fn dummy(&self) -> &str {
        self.dummy.get_or_init(|| {
            // A fixed salt is fine: this hash only ever burns time.
            let Ok(salt) = SaltString::encode_b64(b"vericode-dummy!!") else {
                return String::new();
            };
            self.argon
                .hash_password(b"dummy password for timing", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
    }

    pub fn hash(&self, password: &Password<'_>, random: &dyn Random) -> Result<String, Fault> {
        let hashing =
            |e: argon2::password_hash::Error| Fault::internal("password hashing", e.to_string());
        let mut salt = [0u8; 16];
        random.fill(&mut salt)?;
        let salt = SaltString::encode_b64(&salt).map_err(hashing)?;
        Ok(self.argon.hash_password(password.0.as_bytes(), &salt).map_err(hashing)?.to_string())
    }

    /// Whether `password` matches `stored`; with no stored hash, a dummy is
    /// checked so the time spent is the same, and the answer is `false`.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let (phc, real) = match stored {
            Some(s) => (s, true),
            None => (self.dummy(), false),
        };
        let ok = PasswordHash::new(phc)
            .map(|h| self.argon.verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && real
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::OsRandom;

    #[test]
    fn hashes_verify_and_differ() {
        let p = Passwords::new().unwrap();
        let h1 = p.hash(&Password::parse("correct horse", "password").unwrap(), &OsRandom).unwrap();
        let h2 = p.hash(&Password::parse("correct horse", "password").unwrap(), &OsRandom).unwrap();
        assert!(h1.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(h1, h2);
        assert!(p.verify("correct horse", Some(&h1)));
        assert!(!p.verify("wrong horse", Some(&h1)));
        assert!(!p.verify("dummy password for timing", None));
        assert!(p.dummy().starts_with("$argon2id$"), "the dummy costs a real check");
        assert!(!p.verify("x", Some("not a hash")));
        assert!(Password::parse("short", "password").is_err());
        assert!(Password::parse(&"x".repeat(129), "password").is_err());
        assert!(Password::parse("密码密码密码密码", "password").is_ok());
    }
}
