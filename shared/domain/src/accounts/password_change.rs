//! `PUT /v1/me/password` and `POST /v1/password-resets`.

use super::client::Client;
use super::common::address;
use super::step_up::{self, ChangeError, Reauth};
use crate::codes::{self, CheckError};
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::outbox::{self, AccountChange};
use crate::password::Password;
use crate::ports::{AccountWrite, ApplyOutcome, Refusal};
use crate::purpose::Purpose;
use crate::retry::{self, Attempt};
use crate::services::Services;
use crate::sessions::Session;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// Or `step_up_token`, or `step_up_totp`.
    pub current_password: Option<String>,
    pub step_up_token: Option<String>,
    pub step_up_totp: Option<String>,
    pub new_password: String,
    pub locale: Option<String>,
}

/// A refused password change.
pub type PasswordError = ChangeError;

/// Every other session of the account is revoked. The caller steps up
/// with the current password or a step-up token (used up with the change).
/// Round trips: the session with the failed-login slots (1), the change
/// with the slots given back (1); a step-up token is read with the session.
pub async fn change_password(
    s: &Services,
    session: &Session,
    req: ChangePassword,
    client: &Client,
) -> Result<(), PasswordError> {
    let client_ip = client.ip;
    let reauth = Reauth::required(
        req.current_password.as_deref(),
        req.step_up_token.as_deref(),
        req.step_up_totp.as_deref(),
    )?;
    let new = Password::parse(&req.new_password, "new_password")?;
    let (who, proven, pending) = step_up::reauthenticate(s, session, reauth, client_ip).await?;
    let who = &who;
    let hash = &s.passwords.hash(&new, &*s.random)?;
    let told = Some((AccountChange::PasswordChanged, None, None));
    let change = step_up::apply_change(s, session, who, &proven, told, client, |mut account| {
        account.password_hash = Some(hash.clone());
        account.session_epoch += 1;
        account.session_keeper = Some(who.jti.clone());
        Ok::<_, ChangeError>((vec![AccountWrite::PutAccount(account)], ()))
    });
    step_up::with_give_back(s, pending, change).await?;
    tracing::info!(account = %who.account.id, "password changed");
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country_code: Option<u16>,
    pub code: Option<String>,
    pub verification_token: Option<String>,
    pub new_password: String,
    pub locale: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error("too busy")]
    Busy,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::faults!(ResetError);

/// A new password with a `reset_password` code; every session of the
/// account is revoked, and every address it has is told.
pub async fn reset_password(
    s: &Services,
    req: ResetPassword,
    client: &Client,
) -> Result<(), ResetError> {
    let client_ip = client.ip;
    let dest = &address(&s.config, req.email.as_deref(), req.phone.as_deref(), req.country_code)?;
    let new = &Password::parse(&req.new_password, "new_password")?;
    let proof = super::common::proof(req.code.as_deref(), req.verification_token.as_deref())?;
    // Hashed once, and only after a good code.
    let hash = &tokio::sync::OnceCell::new();
    let id = retry::run(|| async move {
        // The code's record and the account are read together.
        let key = dest.key();
        let (redeemed, account) = tokio::join!(
            codes::redeem(s, Purpose::ResetPassword, dest, proof, client_ip),
            s.store.account_by_address(&key)
        );
        let redemption = redeemed?;
        let hash = hash.get_or_try_init(|| async { s.passwords.hash(new, &*s.random) }).await?;
        let mut account = account?.ok_or_else(CheckError::used)?;
        let change = AccountChange::PasswordReset;
        let notices = step_up::told_messages(s, &account, &(change, None, None), client)?;
        account.password_hash = Some(hash.clone());
        account.session_epoch += 1;
        account.session_keeper = None;
        let mut writes = vec![AccountWrite::PutAccount(account.clone())];
        writes.extend(redemption.writes());
        writes.extend(notices.iter().cloned().map(AccountWrite::PutMessage));
        Ok::<_, ResetError>(match s.store.apply(&writes, s.clock.now()).await? {
            ApplyOutcome::Committed => Attempt::Done((account.id, notices)),
            ApplyOutcome::Refused(Refusal::AccountChanged) => Attempt::Retry,
            ApplyOutcome::Refused(_) => return Err(CheckError::used().into()),
        })
    })
    .await?
    .ok_or(ResetError::Busy)?;
    let (id, notices) = id;
    outbox::relay_notices(s, &notices).await;
    tracing::info!(account = %id, "password reset");
    Ok(())
}
