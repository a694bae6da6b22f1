//! Invites (`POST /v1/invites`): one-time codes that open registration
//! when it is invite-only, stored only as keyed hashes. Registration spends
//! them (`register`).

use super::common::INVITE_SECS;
use crate::crypto::random_token;
use crate::error::Fault;
use crate::ports::{SecretKind, SecretOwner};
use crate::services::Services;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Invite {
    pub invite: String,
    pub expires_in: i64,
}

/// An invite code (single-use, 7 days), stored hashed.
pub async fn create_invite(s: &Services, created_by: &str) -> Result<Invite, Fault> {
    let secret = random_token(&*s.random, 12)?;
    let hash = s.keys.secret_hash("invite", &secret);
    let owner = SecretOwner { account_id: created_by.to_string(), session_epoch: 0 };
    s.store.put_secret(SecretKind::Invite, &hash, &owner, s.clock.now() + INVITE_SECS).await?;
    tracing::info!(created_by, "invite created");
    Ok(Invite { invite: secret, expires_in: INVITE_SECS })
}
