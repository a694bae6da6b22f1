//! `POST /v1/sessions` (by password or by code) and `DELETE /v1/sessions/current`.

use super::common::{
    LOGIN_FAIL_CEILING, LOGIN_FAIL_CEILING_WINDOW_SECS, LOGIN_FAIL_MAX, LOGIN_FAIL_WINDOW_SECS,
    SessionIssued, address, issue, proof,
};
use crate::address::Destination;
use crate::captcha::{self, CaptchaError, CaptchaInput};
use crate::codes::{self, CheckError, Redemption};
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::ports::{
    AccountWrite, ApplyOutcome, CountOutcome, Counter, LimitKind, StoreError, Timestamp,
};
use crate::purpose::Purpose;
use crate::services::Services;
use crate::sessions::Principal;
use serde::Deserialize;
use std::net::IpAddr;

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

/// By password: the captcha and the account are read at once (2 round
/// trips, the account being 2 reads), failed-login slots are taken (1) and
/// given back on success (1). By code: 2 to check, 2 to read the account, 1
/// to use the code.
pub async fn login(
    s: &Services,
    req: Login,
    client_ip: Option<IpAddr>,
) -> Result<SessionIssued, LoginError> {
    let dest = address(req.email.as_deref(), req.phone.as_deref(), req.country_code)?;
    let secs = super::common::session_secs(req.expires_in)?;
    let account = match req.password.as_deref() {
        Some(password) => {
            if req.code.is_some() || req.verification_token.is_some() {
                return Err(Invalid::value("password").into());
            }
            let captcha = req.captcha.as_ref().ok_or_else(|| Invalid::missing("captcha"))?;
            by_password(s, &dest, password, captcha, client_ip).await?
        }
        None => {
            let proof = proof(req.code.as_deref(), req.verification_token.as_deref())?;
            let Redemption { record, expected_version } =
                codes::redeem(s, Purpose::Login, &dest, proof).await?;
            let account = s.store.account_by_address(&dest.key()).await?;
            let account = account.ok_or(LoginError::InvalidCredentials)?;
            let writes = [AccountWrite::SaveDestination { record, expected_version }];
            if let ApplyOutcome::Refused(_) = s.store.apply(&writes, s.clock.now()).await? {
                return Err(CheckError::used().into());
            }
            tracing::info!(account = %account.id, "logged in by code");
            account
        }
    };
    Ok(issue(s, &account, secs)?)
}

async fn by_password(
    s: &Services,
    dest: &Destination,
    password: &str,
    captcha: &CaptchaInput,
    ip: Option<IpAddr>,
) -> Result<crate::ports::AccountRecord, LoginError> {
    let key = dest.key();
    let (checked, account) =
        tokio::join!(captcha::consume(s, captcha, ip), s.store.account_by_address(&key));
    checked?;
    let account = account?;
    let subject = account.as_ref().map_or(key, |a| a.id.clone());
    let stored = account.as_ref().and_then(|a| a.password_hash.as_deref());
    match within_login_limit(s, &subject, ip, || s.passwords.verify(password, stored)).await? {
        Checked::Limited { retry_after } => Err(LoginError::RateLimited { retry_after }),
        Checked::Passed if account.is_some() => {
            let account = account.ok_or(LoginError::InvalidCredentials)?;
            tracing::info!(account = %account.id, "logged in by password");
            Ok(account)
        }
        Checked::Passed | Checked::Failed => Err(LoginError::InvalidCredentials),
    }
}

/// How a password check inside the failed-login limits came out.
pub(super) enum Checked {
    Passed,
    Failed,
    Limited { retry_after: u64 },
}

/// The failed-login counters of `subject` (an account, or the address of
/// none) as seen from `ip`: per (subject, IP), and per subject.
fn login_counters(subject: &str, ip: Option<IpAddr>, now: Timestamp) -> (Counter, Counter) {
    let ip = ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    let short = now.div_euclid(LOGIN_FAIL_WINDOW_SECS);
    let long = now.div_euclid(LOGIN_FAIL_CEILING_WINDOW_SECS);
    let per_ip = Counter {
        key: format!("login|{subject}|{ip}|{short}"),
        kind: LimitKind::FailedLogins,
        limit: LOGIN_FAIL_MAX,
        expires_at: (short + 1) * LOGIN_FAIL_WINDOW_SECS,
    };
    let per_subject = Counter {
        key: format!("login|{subject}|{long}"),
        kind: LimitKind::FailedLogins,
        limit: LOGIN_FAIL_CEILING,
        expires_at: (long + 1) * LOGIN_FAIL_CEILING_WINDOW_SECS,
    };
    (per_ip, per_subject)
}

/// Runs a password check inside the failed-login limits. A slot is taken in
/// both counters first (so concurrent guesses cannot pass a limit), and
/// given back when the check passes, so only failures count.
///
/// - 10 failures per (subject, client IP) in 15 minutes: `Limited` for that
///   IP only — a stranger's failures never touch the owner's IP.
/// - 100 failures per subject in an hour (the ceiling): then an IP with
///   failures of its own in the current 15 minutes is `Limited` at once, but
///   a clean IP still gets its password checked, so the owner gets in.
pub(super) async fn within_login_limit(
    s: &Services,
    subject: &str,
    ip: Option<IpAddr>,
    check: impl FnOnce() -> bool,
) -> Result<Checked, StoreError> {
    let now = s.clock.now();
    let (per_ip, per_subject) = login_counters(subject, ip, now);
    let (by_ip, by_subject) =
        tokio::join!(s.store.increment(&per_ip, now), s.store.increment(&per_subject, now));
    let (by_ip, by_subject) = (by_ip?, by_subject?);
    let mut taken = Vec::new();
    let retry_after = |until: Timestamp| (until - now).max(1) as u64;
    if let CountOutcome::Counted { .. } = by_subject {
        taken.push(per_subject.clone());
    }
    let limited = match (by_ip, by_subject) {
        (CountOutcome::LimitReached { until }, _) => Some(retry_after(until)),
        (CountOutcome::Counted { count }, CountOutcome::LimitReached { until }) if count > 1 => {
            taken.push(per_ip.clone());
            Some(retry_after(until))
        }
        (CountOutcome::Counted { .. }, _) => {
            taken.push(per_ip.clone());
            None
        }
    };
    if let Some(retry_after) = limited {
        // Nothing was tried: the slots taken are given back.
        give_back(s, &taken).await?;
        return Ok(Checked::Limited { retry_after });
    }
    if !check() {
        return Ok(Checked::Failed);
    }
    give_back(s, &taken).await?;
    Ok(Checked::Passed)
}

/// Refunds the slots taken, concurrently (one round trip).
async fn give_back(s: &Services, taken: &[Counter]) -> Result<(), StoreError> {
    match taken {
        [a, b] => {
            let (a, b) = tokio::join!(
                s.store.refund(std::slice::from_ref(a)),
                s.store.refund(std::slice::from_ref(b))
            );
            a.and(b)
        }
        other => s.store.refund(other).await,
    }
}

/// `DELETE /v1/sessions/current`: that token is refused from now on. 1 write.
pub async fn logout(s: &Services, who: &Principal) -> Result<(), Fault> {
    s.store.revoke_session(&who.jti, who.expires_at).await?;
    tracing::info!(account = %who.account.id, "logged out");
    Ok(())
}
