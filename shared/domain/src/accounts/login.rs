//! `POST /v1/sessions` (by password or by code) and `DELETE /v1/sessions/current`.

use super::client::{Client, event_message, tell_login_failed};
use super::common::{address, proof};
use super::mfa::{FirstStep, SignedIn, sign_in};
use super::slots::{Checked, SecondStep, take_slots, with_give_back};
use crate::address::Destination;
use crate::captcha::{self, CaptchaError, CaptchaInput};
use crate::codes::{self, CheckError, Proof, Redemption};
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::outbox::AccountEvent;
use crate::ports::{AccountWrite, ApplyOutcome};
use crate::purpose::Purpose;
use crate::services::Services;
use crate::sessions::Principal;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country_code: Option<u16>,
    pub password: Option<String>,
    pub captcha: Option<CaptchaInput>,
    pub code: Option<String>,
    pub verification_token: Option<String>,
    pub expires_in: Option<i64>,
    pub locale: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Captcha(#[from] CaptchaError),
    /// No such account, or the password (or code) does not fit it.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed password logins for the account.
    #[error("rate limited")]
    RateLimited { retry_after: u64 },
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::faults!(LoginError);

/// By password: see `by_password`. By code: the code's record and the
/// account are read together, then the code is used up with the new
/// session's record.
pub async fn login(s: &Services, req: Login, client: &Client) -> Result<SignedIn, LoginError> {
    let dest = address(&s.config, req.email.as_deref(), req.phone.as_deref(), req.country_code)?;
    let secs = super::common::session_secs(req.expires_in)?;
    let client_ip = client.ip;
    let first = match req.password.as_deref() {
        Some(password) => {
            let captcha = req.captcha.as_ref().ok_or_else(|| Invalid::missing("captcha"))?;
            // Past the address's ceiling of wrong passwords, its `login`
            // code (or that code's verification token) must come along.
            let second = match (req.code.as_deref(), req.verification_token.as_deref()) {
                (None, None) => None,
                (code, token) => Some(proof(code, token)?),
            };
            let proofs = Proofs { captcha, second };
            by_password(s, &dest, password, proofs, secs, client).await?
        }
        None => {
            let proof = proof(req.code.as_deref(), req.verification_token.as_deref())?;
            // The code's record and the account are read together.
            let key = dest.key();
            let (redeemed, account) = tokio::join!(
                codes::redeem(s, Purpose::Login, &dest, proof, client_ip),
                s.store.account_by_address(&key)
            );
            let mut writes = redeemed?.writes();
            let account = account?.ok_or(LoginError::InvalidCredentials)?;
            let first = sign_in(s, &account, (secs, SecondStep::Login), client)?;
            writes.extend(first.writes());
            if let ApplyOutcome::Refused(_) = s.store.apply(&writes, s.clock.now()).await? {
                return Err(CheckError::used().into());
            }
            first.relay(s).await;
            tracing::info!(account = %account.id, "logged in by code");
            first
        }
    };
    Ok(first.answer())
}

/// What comes with a password: the captcha, and perhaps the `login` code.
struct Proofs<'a> {
    captcha: &'a CaptchaInput,
    second: Option<Proof<'a>>,
}

/// The captcha, the account, the failed-login slots of the address and,
/// when one came along, the `login` code's record are taken together;
/// after a right password the slots go back and the code is used up with
/// the new session's record, also together.
async fn by_password(
    s: &Services,
    dest: &Destination,
    password: &str,
    Proofs { captcha, second }: Proofs<'_>,
    secs: i64,
    client: &Client,
) -> Result<FirstStep, LoginError> {
    let (key, ip) = (dest.key(), client.ip);
    let redeemed = async {
        match second {
            Some(proof) => Some(codes::redeem(s, Purpose::Login, dest, proof, ip).await),
            None => None,
        }
    };
    let (checked, account, slots, redeemed) = tokio::join!(
        captcha::consume(s, captcha, ip),
        s.store.account_by_address(&key),
        take_slots(s, &key, ip),
        redeemed
    );
    let slots = slots?;
    if let Err(e) = checked {
        // Nothing was tried.
        slots.give_back(s).await?;
        return Err(e.into());
    }
    let account = match account {
        Ok(account) => account,
        Err(e) => {
            slots.give_back(s).await?;
            return Err(Fault::Store(e).into());
        }
    };
    let redemption = match redeemed.transpose() {
        Ok(redemption) => redemption,
        Err(e) => {
            // A wrong code: the password is not checked.
            slots.give_back(s).await?;
            return Err(e.into());
        }
    };
    let stored = account.as_ref().and_then(|a| a.password_hash.as_deref());
    let second_factor = redemption.is_some();
    let checked =
        slots.check_deferred(s, second_factor, || s.passwords.verify(password, stored)).await?;
    match checked {
        (Checked::Limited { retry_after }, _) => Err(LoginError::RateLimited { retry_after }),
        (Checked::Passed, pending) if account.is_some() => {
            let account = account.ok_or(LoginError::InvalidCredentials)?;
            let first = sign_in(s, &account, (secs, SecondStep::Login), client)?;
            let used = use_up(s, redemption, first.writes());
            with_give_back(s, pending, used).await?;
            first.relay(s).await;
            tracing::info!(account = %account.id, "logged in by password");
            Ok(first)
        }
        (Checked::Passed, pending) => {
            if let Some(slots) = pending {
                slots.give_back(s).await?;
            }
            Err(LoginError::InvalidCredentials)
        }
        (Checked::Failed, _) => {
            tell_login_failed(s, &key, account.as_ref(), client).await?;
            Err(LoginError::InvalidCredentials)
        }
    }
}

/// Uses up the code that came with a right password, if one did, and
/// records the new session, if one is given, in one transaction.
async fn use_up(
    s: &Services,
    redemption: Option<Redemption>,
    session: Vec<AccountWrite>,
) -> Result<(), LoginError> {
    let mut writes = redemption.map(Redemption::writes).unwrap_or_default();
    writes.extend(session);
    if writes.is_empty() {
        return Ok(());
    }
    match s.store.apply(&writes, s.clock.now()).await? {
        ApplyOutcome::Committed => Ok(()),
        ApplyOutcome::Refused(_) => Err(CheckError::used().into()),
    }
}

/// `DELETE /v1/sessions/current`: that token is refused from now on, and
/// leaves the account's list. 1 write.
pub async fn logout(s: &Services, who: &Principal, client: &Client) -> Result<(), Fault> {
    let end = AccountWrite::EndSession {
        account_id: who.account.id.clone(),
        jti: who.jti.clone(),
        expires_at: who.expires_at,
    };
    let event = event_message(s, AccountEvent::LoggedOut, &who.account.id, client)?;
    let writes = [end, AccountWrite::PutMessage(event.clone())];
    // Refused: logged out meanwhile (a double-submitted form), told once.
    if s.store.apply(&writes, s.clock.now()).await? == ApplyOutcome::Committed {
        crate::outbox::relay_notices(s, std::slice::from_ref(&event)).await;
    }
    tracing::info!(account = %who.account.id, "logged out");
    Ok(())
}
