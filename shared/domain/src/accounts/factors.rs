//! Authenticator apps (TOTP) and recovery codes: `POST /v1/me/factors/totp`
//! (step-up) enrols one, pending until `…/confirm` shows a code from it;
//! `GET /v1/me/factors` lists them; `DELETE /v1/me/factors/{id}` and `POST
//! /v1/me/factors/recovery-codes` (both step-up) remove one and make a
//! fresh set of recovery codes.
//!
//! A factor lives in its account's item: the secret sealed (AEAD) to the
//! account and the factor, the last time step a code was accepted for (so
//! each is accepted once), and the keyed hashes of the unused recovery
//! codes. Every change is one conditional write of the account, under the
//! session, with its security notice.

use super::authenticator::{recovery_hash, seal_context, secret};
use super::client::Client;
use super::step_up::{self, ChangeError, Reauth};
use crate::invalid::Invalid;
use crate::outbox::AccountChange;
use crate::ports::{AccountRecord, AccountWrite, Timestamp, TotpFactor};
use crate::services::Services;
use crate::sessions::Session;
use crate::time::rfc3339;
use crate::totp;
use serde::{Deserialize, Serialize};

/// Confirmed authenticators an account may have.
pub const MAX_FACTORS: usize = 5;
/// How long an enrolment waits for its first code.
pub const PENDING_SECS: i64 = 600;
/// Wrong codes an enrolment takes before it is void.
pub const CONFIRM_ATTEMPTS: u32 = 5;

/// The body of the requests behind a step-up.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorStepUp {
    pub current_password: Option<String>,
    pub step_up_token: Option<String>,
    pub step_up_totp: Option<String>,
    pub locale: Option<String>,
}

impl FactorStepUp {
    fn reauth(&self) -> Result<Reauth<'_>, Invalid> {
        Reauth::required(
            self.current_password.as_deref(),
            self.step_up_token.as_deref(),
            self.step_up_totp.as_deref(),
        )
    }
}

/// Why a change to the account's factors was refused.
#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    #[error(transparent)]
    Change(#[from] ChangeError),
    /// No such factor (or no pending one to confirm, or none confirmed to
    /// renew recovery codes for).
    #[error("not found")]
    NotFound,
    /// `MAX_FACTORS` are confirmed already.
    #[error("factor limit")]
    FactorLimit,
    /// A wrong code to confirm an enrolment.
    #[error("code invalid")]
    CodeInvalid { attempts_left: u32 },
}

impl From<Invalid> for FactorError {
    fn from(e: Invalid) -> Self {
        FactorError::Change(e.into())
    }
}

impl From<crate::sessions::AuthError> for FactorError {
    fn from(e: crate::sessions::AuthError) -> Self {
        FactorError::Change(step_up::StepUpError::from(e).into())
    }
}

impl From<crate::error::Fault> for FactorError {
    fn from(e: crate::error::Fault) -> Self {
        FactorError::Change(e.into())
    }
}

/// `POST /v1/me/factors/totp`.
#[derive(Debug, Serialize)]
pub struct TotpEnrolment {
    pub factor_id: String,
    /// Base32, for typing into an app.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as a QR code: a PNG `data:` URL.
    pub qr: String,
}

/// `{"recovery_codes": [...]}`: shown once.
#[derive(Debug, Serialize)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// One factor in `GET /v1/me/factors`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FactorView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `pending` or `confirmed`.
    pub status: &'static str,
    pub created_at: String,
}

/// `GET /v1/me/factors`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FactorList {
    pub factors: Vec<FactorView>,
    pub recovery_codes_left: usize,
}

/// A fresh set of recovery codes: shown, and their hashes to store.
fn recovery_set(s: &Services, account: &str) -> Result<(Vec<String>, Vec<[u8; 32]>), ChangeError> {
    let codes = totp::new_recovery_codes(&*s.random)?;
    let hashes = codes.iter().map(|c| recovery_hash(s, account, &c.replace('-', ""))).collect();
    Ok((codes, hashes))
}

/// The label an app shows for the account: its address, masked.
fn label(account: &AccountRecord) -> String {
    let shown = super::links::LoginAs::from(account);
    shown.email.or(shown.phone).unwrap_or_else(|| "account".into())
}

/// Enrols an authenticator (pending; it replaces a pending one), after a
/// step-up by a code to one of the account's addresses (`step_up_token`) or
/// from a confirmed app (`step_up_totp`) — not the password alone. Round
/// trips: the session with the token's record (or the failed-login slots)
/// (1), the account written (with the slots given back) (1).
pub async fn enrol_totp(
    s: &Services,
    session: &Session,
    req: FactorStepUp,
    client: &Client,
) -> Result<TotpEnrolment, FactorError> {
    let client_ip = client.ip;
    // Not by password alone: a thief with the password would add an app of
    // its own, and keep the account after the owner's reset by code.
    let reauth = match req.reauth()? {
        Reauth::Password(_) => return Err(Invalid::missing("step_up_token").into()),
        other => other,
    };
    let (who, proven, slots) =
        step_up::reauthenticate(s, session, reauth, client_ip).await.map_err(ChangeError::from)?;
    let raw = totp::new_secret(&*s.random).map_err(ChangeError::from)?;
    let base32 = totp::secret_base32(&raw);
    let id = s.new_id()?;
    let sealed = s
        .keys
        .seal_code(&seal_context(&who.account.id, &id), &base32, &*s.random)
        .map_err(ChangeError::from)?;
    let now = s.clock.now();
    let factor =
        TotpFactor { id: id.clone(), sealed_secret: sealed, created_at: now, ..Default::default() };
    let change = step_up::apply_change(s, session, &who, &proven, None, client, |mut account| {
        account.factors.retain(|f| f.confirmed);
        if account.factors.len() >= MAX_FACTORS {
            return Err(FactorError::FactorLimit);
        }
        account.factors.push(factor.clone());
        Ok((vec![AccountWrite::PutAccount(account)], ()))
    });
    step_up::with_give_back(s, slots, change).await?;
    let otpauth_uri = totp::otpauth_uri(&raw, &s.config.app_name, &label(&who.account));
    let qr = totp::qr_data_url(&otpauth_uri)
        .ok_or_else(|| crate::error::Fault::internal("qr", QrError))?;
    tracing::info!(account = %who.account.id, factor = %id, "authenticator enrolled (pending)");
    Ok(TotpEnrolment { factor_id: id, secret: base32, otpauth_uri, qr })
}

#[derive(Debug, thiserror::Error)]
#[error("the URI does not fit a QR code")]
struct QrError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotp {
    pub factor_id: String,
    pub code: String,
    pub locale: Option<String>,
}

/// The pending factor `id` of `account`, unless its time or tries ran out.
fn pending(account: &AccountRecord, id: &str, now: Timestamp) -> Option<usize> {
    account.factors.iter().position(|f| {
        f.id == id
            && !f.confirmed
            && f.created_at + PENDING_SECS > now
            && f.attempts < CONFIRM_ATTEMPTS
    })
}

/// Confirms a pending authenticator with a code from it; the account's
/// recovery codes are a fresh set from then on (each confirmation makes
/// one), and every address is told. A wrong code counts against the
/// enrolment. Round trips: the session (1), the write (1).
pub async fn confirm_totp(
    s: &Services,
    session: &Session,
    req: ConfirmTotp,
    client: &Client,
) -> Result<RecoveryCodes, FactorError> {
    let who = session.load(s).await?;
    let now = s.clock.now();
    let i = pending(&who.account, &req.factor_id, now).ok_or(FactorError::NotFound)?;
    let factor = &who.account.factors[i];
    let secret = secret(s, &who.account.id, factor).ok_or(FactorError::NotFound)?;
    let step = totp::matching_step(&secret, &req.code, now, -1);
    let id = req.factor_id.as_str();
    let proven = step_up::Proven::Nothing;
    let Some(step) = step else {
        let left = step_up::apply_change(s, session, &who, &proven, None, client, |mut a| {
            let i = pending(&a, id, now).ok_or(FactorError::NotFound)?;
            a.factors[i].attempts += 1;
            let left = CONFIRM_ATTEMPTS - a.factors[i].attempts;
            Ok::<_, FactorError>((vec![AccountWrite::PutAccount(a)], left))
        });
        return Err(FactorError::CodeInvalid { attempts_left: left.await? });
    };
    let (codes, hashes) = recovery_set(s, &who.account.id)?;
    let told = Some((AccountChange::FactorAdded, None, None));
    step_up::apply_change(s, session, &who, &proven, told, client, |mut a| {
        let i = pending(&a, id, now).ok_or(FactorError::NotFound)?;
        if a.factors.iter().filter(|f| f.confirmed).count() >= MAX_FACTORS {
            return Err(FactorError::FactorLimit);
        }
        let f = &mut a.factors[i];
        (f.confirmed, f.last_step, f.attempts) = (true, step, 0);
        a.recovery_codes = hashes.clone();
        Ok((vec![AccountWrite::PutAccount(a)], ()))
    })
    .await?;
    tracing::info!(account = %who.account.id, factor = %id, "authenticator confirmed");
    Ok(RecoveryCodes { recovery_codes: codes })
}

/// The account's factors. Round trips: 1.
pub async fn list_factors(s: &Services, session: &Session) -> Result<FactorList, FactorError> {
    let who = session.load(s).await?;
    let now = s.clock.now();
    let account = &who.account;
    let factors = account
        .factors
        .iter()
        .filter(|f| f.confirmed || pending(account, &f.id, now).is_some())
        .map(|f| FactorView {
            id: f.id.clone(),
            kind: "totp",
            status: if f.confirmed { "confirmed" } else { "pending" },
            created_at: rfc3339(f.created_at),
        })
        .collect();
    let left = if account.has_second_factor() { account.recovery_codes.len() } else { 0 };
    Ok(FactorList { factors, recovery_codes_left: left })
}

/// Removes factor `id` (confirmed or pending), after a step-up; with the
/// last confirmed one the recovery codes go too. Every address is told.
/// Round trips as for an enrolment.
pub async fn delete_factor(
    s: &Services,
    session: &Session,
    id: &str,
    req: FactorStepUp,
    client: &Client,
) -> Result<(), FactorError> {
    let client_ip = client.ip;
    let reauth = req.reauth()?;
    let (who, proven, slots) =
        step_up::reauthenticate(s, session, reauth, client_ip).await.map_err(ChangeError::from)?;
    if !who.account.factors.iter().any(|f| f.id == id) {
        step_up::with_give_back(s, slots, async { Ok::<_, FactorError>(()) }).await?;
        return Err(FactorError::NotFound);
    }
    let told = Some((AccountChange::FactorRemoved, None, None));
    let change = step_up::apply_change(s, session, &who, &proven, told, client, |mut a| {
        let before = a.factors.len();
        a.factors.retain(|f| f.id != id);
        if a.factors.len() == before {
            return Err(FactorError::NotFound);
        }
        if !a.has_second_factor() {
            a.recovery_codes.clear();
        }
        Ok((vec![AccountWrite::PutAccount(a)], ()))
    });
    step_up::with_give_back(s, slots, change).await?;
    tracing::info!(account = %who.account.id, factor = %id, "authenticator removed");
    Ok(())
}

/// A fresh set of recovery codes in place of the old, after a step-up; the
/// account must have a confirmed authenticator. Round trips as for an
/// enrolment.
pub async fn renew_recovery_codes(
    s: &Services,
    session: &Session,
    req: FactorStepUp,
    client: &Client,
) -> Result<RecoveryCodes, FactorError> {
    let client_ip = client.ip;
    let reauth = req.reauth()?;
    let (who, proven, slots) =
        step_up::reauthenticate(s, session, reauth, client_ip).await.map_err(ChangeError::from)?;
    let (codes, hashes) = recovery_set(s, &who.account.id)?;
    let change = step_up::apply_change(s, session, &who, &proven, None, client, |mut a| {
        if !a.has_second_factor() {
            return Err(FactorError::NotFound);
        }
        a.recovery_codes = hashes.clone();
        Ok((vec![AccountWrite::PutAccount(a)], ()))
    });
    step_up::with_give_back(s, slots, change).await?;
    tracing::info!(account = %who.account.id, "recovery codes renewed");
    Ok(RecoveryCodes { recovery_codes: codes })
}
