//! API keys for an app's servers (`Authorization: ApiKey <key>`): made by
//! the operator (`vericode-admin api-key create --name …`), shown once, kept
//! only as a keyed hash, revocable by id.
//!
//! A key reads `vk_<id>_<secret>`: `id` is 16 hex digits and names the
//! stored item (so a check is one read), `secret` is 32 random bytes,
//! base64url. Only the secret's keyed hash is stored and it is compared in
//! constant time.

use crate::crypto::{digest_eq, random_hex, random_token};
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::ports::ApiKeyRecord;
use crate::services::Services;

const PREFIX: &str = "vk_";
const HASH_KIND: &str = "api_key";

/// A key as made: the only time its whole text exists.
#[derive(Debug)]
pub struct NewApiKey {
    pub id: String,
    pub name: String,
    /// `vk_<id>_<secret>`: shown once, never stored.
    pub key: String,
}

/// Makes and stores a key named `name` (1–64 printable characters).
pub async fn create(s: &Services, name: &str) -> Result<NewApiKey, ApiKeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(Invalid::value("name").into());
    }
    let id = random_hex(&*s.random, 8)?;
    let secret = random_token(&*s.random, 32)?;
    let record = ApiKeyRecord {
        id: id.clone(),
        name: name.to_string(),
        hash: s.keys.secret_hash(HASH_KIND, &secret),
        created_at: s.clock.now(),
    };
    s.store.put_api_key(&record).await?;
    tracing::info!(api_key = %id, "api key created");
    Ok(NewApiKey { key: format!("{PREFIX}{id}_{secret}"), id, name: record.name })
}

/// Revokes the key with this id; whether there was one.
pub async fn revoke(s: &Services, id: &str) -> Result<bool, ApiKeyError> {
    let revoked = s.store.revoke_api_key(id).await?;
    tracing::info!(api_key = %id, revoked, "api key revoked");
    Ok(revoked)
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Malformed, unknown, revoked or wrong.
    #[error("unauthorized")]
    Unauthorized,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::faults!(ApiKeyError);

/// The key presented, if it is live. One round trip.
pub async fn authenticate(s: &Services, presented: &str) -> Result<ApiKeyRecord, ApiKeyError> {
    let (id, secret) = presented
        .trim()
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .filter(|(id, secret)| {
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) && secret.len() <= 64
        })
        .ok_or(ApiKeyError::Unauthorized)?;
    let stored = s.store.get_api_key(id).await?.ok_or(ApiKeyError::Unauthorized)?;
    if !digest_eq(&stored.hash, &s.keys.secret_hash(HASH_KIND, secret)) {
        return Err(ApiKeyError::Unauthorized);
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_read_as_documented() {
        let key = "vk_0123456789abcdef_AbC-d_e";
        let (id, secret) = key.strip_prefix(super::PREFIX).unwrap().split_once('_').unwrap();
        assert_eq!((id, secret), ("0123456789abcdef", "AbC-d_e"));
    }
}
