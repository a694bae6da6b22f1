//! Login links (`POST /v1/login-links`, `POST /v1/login-links/redeem`,
//! `POST /v1/login-links/inspect`): one-time secrets, stored only as keyed
//! hashes.

use super::client::Client;
use super::common::{LOGIN_LINK_SECS, session_secs};
use super::mfa::{SignedIn, sign_in};
use super::slots::SecondStep;
use crate::address::{Channel, Destination};
use crate::crypto::random_token;
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::ports::{AccountRecord, SecretKind, SecretOwner};
use crate::services::Services;
use crate::sessions::{AuthError, Session};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
pub struct LoginLink {
    pub authorization: String,
    pub url: String,
    pub expires_in: i64,
}

/// A single-use link, stored hashed, living 5 minutes. The link is stored
/// under the epoch the session token carries while the
/// session is loaded. When the session turns out not to stand, the stored
/// link is never shown to anyone and expires unused; when it is the session
/// that raised its account's epoch (by changing the password), a second
/// link is stored under the current epoch, after the first.
pub async fn create_login_link(s: &Services, session: &Session) -> Result<LoginLink, AuthError> {
    let expires_at = s.clock.now() + LOGIN_LINK_SECS;
    let store_link = |session_epoch: u64| async move {
        // The account's id leads, so a redemption reads the account while
        // it takes the link; the hash covers it.
        let secret = format!("{}.{}", session.account_id(), random_token(&*s.random, 32)?);
        let hash = s.keys.secret_hash("login_link", &secret);
        let owner = SecretOwner { account_id: session.account_id().to_string(), session_epoch };
        s.store.put_secret(SecretKind::LoginLink, &hash, &owner, expires_at).await?;
        Ok::<_, AuthError>(secret)
    };
    let (who, stored) = tokio::join!(session.load(s), store_link(session.epoch()));
    let who = who?;
    let secret = match stored? {
        secret if who.account.session_epoch == session.epoch() => secret,
        _ => store_link(who.account.session_epoch).await?,
    };
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

/// Exchanges a link for a session, once. Round trips: the link taken
/// (a delete returning it) and its account read together (1), the new
/// session's record (1).
pub async fn redeem_login_link(
    s: &Services,
    req: RedeemLoginLink,
    client: &Client,
) -> Result<SignedIn, LinkError> {
    let secs = session_secs(req.expires_in)?;
    let (hash, id) = link_hash(s, &req.authorization)?;
    let (taken, account) = tokio::join!(
        s.store.take_secret(SecretKind::LoginLink, &hash, s.clock.now()),
        s.store.get_account(id)
    );
    let account = live_owner(taken?, account?)?;
    let first = sign_in(s, &account, (secs, SecondStep::Session), client)?;
    let writes = first.writes();
    if !writes.is_empty() {
        s.store.apply(&writes, s.clock.now()).await?;
        first.relay(s).await;
    }
    tracing::info!(account = %account.id, "logged in by link");
    Ok(first.answer())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginLinkRef {
    pub authorization: String,
    pub locale: Option<String>,
}

/// Whom a login link logs in, shown before it is spent: the display name
/// and the addresses masked (`a***@example.com`, `+86*******8000`).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct LoginAs {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl From<&AccountRecord> for LoginAs {
    fn from(a: &AccountRecord) -> Self {
        let masked = |channel, address: &Option<String>| {
            let parsed = address.as_deref().map(|a| Destination::parse(channel, a, None, "to"));
            parsed.map(|d| d.map_or_else(|_| "***".to_string(), |d| d.masked()))
        };
        LoginAs {
            display_name: a.display_name.clone(),
            email: masked(Channel::Email, &a.email),
            phone: masked(Channel::Sms, &a.phone),
        }
    }
}

/// The account a live link would log in, without spending the link (a
/// page asks before it redeems). Round trips: the link and the account
/// together (1).
pub async fn inspect_login_link(s: &Services, req: LoginLinkRef) -> Result<LoginAs, LinkError> {
    let (hash, id) = link_hash(s, &req.authorization)?;
    let (owner, account) = tokio::join!(
        s.store.peek_secret(SecretKind::LoginLink, &hash, s.clock.now()),
        s.store.get_account(id)
    );
    let account = live_owner(owner?, account?)?;
    Ok((&account).into())
}

/// The keyed hash of a link, and the account id it leads with; an empty,
/// oversized or shapeless one is refused as unknown.
fn link_hash<'a>(s: &Services, authorization: &'a str) -> Result<([u8; 32], &'a str), LinkError> {
    let secret = authorization.trim();
    let id = secret.split_once('.').map(|(id, _)| id).filter(|id| !id.is_empty());
    match id {
        Some(id) if secret.len() <= 128 => Ok((s.keys.secret_hash("login_link", secret), id)),
        _ => Err(LinkError::InvalidCredentials),
    }
}

/// The link's account, unless the link is unknown, used or expired, or the
/// account is gone, is not the link's, or changed its password since the
/// link was made (which revokes the link).
fn live_owner(
    owner: Option<SecretOwner>,
    account: Option<AccountRecord>,
) -> Result<AccountRecord, LinkError> {
    let owner = owner.ok_or(LinkError::InvalidCredentials)?;
    account
        .filter(|a| a.id == owner.account_id && a.session_epoch == owner.session_epoch)
        .ok_or(LinkError::InvalidCredentials)
}
