//! `PUT /v1/me/password` and `POST /v1/password-resets`.

use super::common::address;
use super::login::{Checked, within_login_limit};
use crate::codes::{self, CheckError, Redemption};
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::password::Password;
use crate::ports::{AccountWrite, ApplyOutcome, Refusal};
use crate::purpose::Purpose;
use crate::retry::{self, Attempt};
use crate::services::Services;
use crate::sessions::Principal;
use serde::Deserialize;
use std::net::IpAddr;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
    pub locale: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The current password is wrong.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("rate limited")]
    RateLimited { retry_after: u64 },
    /// The account is gone.
    #[error("unauthorized")]
    Unauthorized,
    #[error("too busy")]
    Busy,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::faults!(PasswordError);

/// Every other session of the account is revoked.
pub async fn change_password(
    s: &Services,
    who: &Principal,
    req: ChangePassword,
    client_ip: Option<IpAddr>,
) -> Result<(), PasswordError> {
    let new = Password::parse(&req.new_password, "new_password")?;
    let stored = who.account.password_hash.as_deref();
    let checked = within_login_limit(s, &who.account.id, client_ip, || {
        s.passwords.verify(&req.current_password, stored)
    });
    match checked.await? {
        Checked::Passed => {}
        Checked::Failed => return Err(PasswordError::InvalidCredentials),
        Checked::Limited { retry_after } => return Err(PasswordError::RateLimited { retry_after }),
    }
    let hash = &s.passwords.hash(&new, &*s.random)?;
    let mut read = Some(who.account.clone());
    retry::run(|| {
        let account = read.take();
        async move {
            let mut account = match account {
                Some(a) => a,
                None => s
                    .store
                    .get_account(&who.account.id)
                    .await?
                    .ok_or(PasswordError::Unauthorized)?,
            };
            account.password_hash = Some(hash.clone());
            account.session_epoch += 1;
            account.session_keeper = Some(who.jti.clone());
            let writes = [AccountWrite::PutAccount(account)];
            Ok::<_, PasswordError>(match s.store.apply(&writes, s.clock.now()).await? {
                ApplyOutcome::Committed => Attempt::Done(()),
                ApplyOutcome::Refused(_) => Attempt::Retry,
            })
        }
    })
    .await?
    .ok_or(PasswordError::Busy)?;
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
/// account is revoked.
pub async fn reset_password(s: &Services, req: ResetPassword) -> Result<(), ResetError> {
    let dest = &address(req.email.as_deref(), req.phone.as_deref(), req.country_code)?;
    let new = &Password::parse(&req.new_password, "new_password")?;
    let proof = super::common::proof(req.code.as_deref(), req.verification_token.as_deref())?;
    // Hashed once, and only after a good code.
    let hash = &tokio::sync::OnceCell::new();
    let id = retry::run(|| async move {
        let Redemption { record, expected_version } =
            codes::redeem(s, Purpose::ResetPassword, dest, proof).await?;
        let hash = hash.get_or_try_init(|| async { s.passwords.hash(new, &*s.random) }).await?;
        let account = s.store.account_by_address(&dest.key()).await?;
        let mut account = account.ok_or_else(CheckError::used)?;
        account.password_hash = Some(hash.clone());
        account.session_epoch += 1;
        account.session_keeper = None;
        let writes = [
            AccountWrite::PutAccount(account.clone()),
            AccountWrite::SaveDestination { record, expected_version },
        ];
        Ok::<_, ResetError>(match s.store.apply(&writes, s.clock.now()).await? {
            ApplyOutcome::Committed => Attempt::Done(account.id),
            ApplyOutcome::Refused(Refusal::AccountChanged) => Attempt::Retry,
            ApplyOutcome::Refused(_) => return Err(CheckError::used().into()),
        })
    })
    .await?
    .ok_or(ResetError::Busy)?;
    tracing::info!(account = %id, "password reset");
    Ok(())
}
