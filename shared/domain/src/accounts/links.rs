//! Login links (`POST /v1/login-links`, `POST /v1/login-links/redeem`) and
//! invites (`POST /v1/invites`): one-time secrets, stored only as keyed hashes.

use super::common::{INVITE_SECS, LOGIN_LINK_SECS, SessionIssued, issue, session_secs};
use crate::crypto::random_token;
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::ports::{SecretKind, SecretOwner};
use crate::services::Services;
use crate::sessions::Principal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
pub struct LoginLink {
    pub authorization: String,
    pub url: String,
    pub expires_in: i64,
}

/// A single-use link, stored hashed, living 5 minutes.
pub async fn create_login_link(s: &Services, who: &Principal) -> Result<LoginLink, Fault> {
    let secret = random_token(&*s.random, 32)?;
    let hash = s.keys.secret_hash("login_link", &secret);
    let expires_at = s.clock.now() + LOGIN_LINK_SECS;
    let owner = SecretOwner {
        account_id: who.account.id.clone(),
        session_epoch: who.account.session_epoch,
    };
    s.store.put_secret(SecretKind::LoginLink, &hash, &owner, expires_at).await?;
    let base = &s.config.login_link_base;
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}authorization={secret}");
    Ok(LoginLink { authorization: secret, url, expires_in: LOGIN_LINK_SECS })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemLoginLink {
    pub authorization: String,
    pub expires_in: Option<i64>,
    pub locale: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Unknown, used or expired link, or its account is gone.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::faults!(LinkError);

/// Exchanges a link for a session, once. Round trips: 1 (delete returning
/// the link) + 1 (the account).
pub async fn redeem_login_link(
    s: &Services,
    req: RedeemLoginLink,
) -> Result<SessionIssued, LinkError> {
    let secs = session_secs(req.expires_in)?;
    let secret = req.authorization.trim();
    if secret.is_empty() || secret.len() > 128 {
        return Err(LinkError::InvalidCredentials);
    }
    let hash = s.keys.secret_hash("login_link", secret);
    let taken = s.store.take_secret(SecretKind::LoginLink, &hash, s.clock.now()).await?;
    let owner = taken.ok_or(LinkError::InvalidCredentials)?;
    let account = s.store.get_account(&owner.account_id).await?;
    // Gone, or its password changed since the link was made: revoked.
    let account = account
        .filter(|a| a.session_epoch == owner.session_epoch)
        .ok_or(LinkError::InvalidCredentials)?;
    tracing::info!(account = %account.id, "logged in by link");
    Ok(issue(s, &account, secs)?)
}

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
