//! `POST /v1/sessions` (by password or by code) and `DELETE /v1/sessions/current`.

use super::common::{
    LOGIN_FAIL_CEILING, LOGIN_FAIL_CEILING_WINDOW_SECS, LOGIN_FAIL_MAX, LOGIN_FAIL_WINDOW_SECS,
    SessionIssued, address, issue, proof,
};
use crate::address::Destination;
use crate::captcha::{self, CaptchaError, CaptchaInput};
use crate::codes::{self, CheckError, Proof, Redemption};
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::ports::{ApplyOutcome, CountOutcome, Counter, LimitKind, StoreError, Timestamp};
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

/// By password: see `by_password`. By code: the code's record and the
/// account are read together, then the code is used up.
pub async fn login(
    s: &Services,
    req: Login,
    client_ip: Option<IpAddr>,
) -> Result<SessionIssued, LoginError> {
    let dest = address(&s.config, req.email.as_deref(), req.phone.as_deref(), req.country_code)?;
    let secs = super::common::session_secs(req.expires_in)?;
    let account = match req.password.as_deref() {
        Some(password) => {
            let captcha = req.captcha.as_ref().ok_or_else(|| Invalid::missing("captcha"))?;
            // Past the address's ceiling of wrong passwords, its `login`
            // code (or that code's verification token) must come along.
            let second = match (req.code.as_deref(), req.verification_token.as_deref()) {
                (None, None) => None,
                (code, token) => Some(proof(code, token)?),
            };
            by_password(s, &dest, password, captcha, second, client_ip).await?
        }
        None => {
            let proof = proof(req.code.as_deref(), req.verification_token.as_deref())?;
            // The code's record and the account are read together.
            let key = dest.key();
            let (redeemed, account) = tokio::join!(
                codes::redeem(s, Purpose::Login, &dest, proof, client_ip),
                s.store.account_by_address(&key)
            );
            let writes = redeemed?.writes();
            let account = account?.ok_or(LoginError::InvalidCredentials)?;
            if let ApplyOutcome::Refused(_) = s.store.apply(&writes, s.clock.now()).await? {
                return Err(CheckError::used().into());
            }
            tracing::info!(account = %account.id, "logged in by code");
            account
        }
    };
    Ok(issue(s, &account, secs)?)
}

/// The captcha, the account, the failed-login slots of the address and,
/// when one came along, the `login` code's record are taken together;
/// after a right password the slots go back and the code is used up, also
/// together.
async fn by_password(
    s: &Services,
    dest: &Destination,
    password: &str,
    captcha: &CaptchaInput,
    second: Option<Proof<'_>>,
    ip: Option<IpAddr>,
) -> Result<crate::ports::AccountRecord, LoginError> {
    let key = dest.key();
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
            let used = use_up(s, redemption);
            with_give_back(s, pending, used).await?;
            tracing::info!(account = %account.id, "logged in by password");
            Ok(account)
        }
        (Checked::Passed, pending) => {
            if let Some(slots) = pending {
                slots.give_back(s).await?;
            }
            Err(LoginError::InvalidCredentials)
        }
        (Checked::Failed, _) => Err(LoginError::InvalidCredentials),
    }
}

/// Runs `write` and gives `pending` slots back at the same time (one round
/// trip for both).
pub(super) async fn with_give_back<T, E: From<Fault>>(
    s: &Services,
    pending: Option<Slots>,
    write: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let give_back = async {
        match pending {
            Some(slots) => slots.give_back(s).await,
            None => Ok(()),
        }
    };
    let (written, given) = tokio::join!(write, give_back);
    given.map_err(Fault::Store)?;
    written
}

/// Uses up the code that came with a right password, if one did.
async fn use_up(s: &Services, redemption: Option<Redemption>) -> Result<(), LoginError> {
    let Some(redemption) = redemption else { return Ok(()) };
    let writes = redemption.writes();
    match s.store.apply(&writes, s.clock.now()).await? {
        ApplyOutcome::Committed => Ok(()),
        ApplyOutcome::Refused(_) => Err(CheckError::used().into()),
    }
}

/// How a password check inside the failed-login limits came out.
pub(super) enum Checked {
    Passed,
    Failed,
    Limited { retry_after: u64 },
}

/// The failed-login counters of `subject` (the address for a login, the
/// account for a step-up) as seen from `ip`: per (subject, IP), and per subject.
fn login_counters(subject: &str, ip: Option<IpAddr>, now: Timestamp) -> (Counter, Counter) {
    let ip = ip.map_or_else(|| "unknown".to_string(), crate::network::client_key);
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

/// Takes a slot in both failed-login counters of `subject` as seen from
/// `ip` (at once), before the password is checked.
pub(super) async fn take_slots(
    s: &Services,
    subject: &str,
    ip: Option<IpAddr>,
) -> Result<Slots, StoreError> {
    let now = s.clock.now();
    let (per_ip, per_subject) = login_counters(subject, ip, now);
    let (by_ip, by_subject) =
        tokio::join!(s.store.increment(&per_ip, now), s.store.increment(&per_subject, now));
    Ok(Slots { per_ip, per_subject, by_ip: by_ip?, by_subject: by_subject?, now })
}

/// Slots taken in the failed-login counters: a slot is taken in both
/// first (so concurrent guesses cannot pass a limit), and given back when
/// the check passes (or is not made), so only failures count.
///
/// - 10 failures per (subject, client network) in 15 minutes: `Limited`
///   for that network only — a stranger's failures never touch the owner's.
/// - 100 failures per subject in an hour (the ceiling): then no password is
///   checked from any network unless a second factor came with it (the
///   address's `login` code for a login), so guesses stay bounded however
///   many networks make them. The owner still gets in: by code, by
///   password with the code, or by resetting the password.
pub(super) struct Slots {
    per_ip: Counter,
    per_subject: Counter,
    by_ip: CountOutcome,
    by_subject: CountOutcome,
    now: Timestamp,
}

impl Slots {
    /// The counters a slot was taken in.
    fn taken(&self) -> Vec<Counter> {
        [(&self.by_ip, &self.per_ip), (&self.by_subject, &self.per_subject)]
            .into_iter()
            .filter(|(outcome, _)| matches!(outcome, CountOutcome::Counted { .. }))
            .map(|(_, counter)| counter.clone())
            .collect()
    }

    /// Gives the slots back without a check (the request failed before it).
    pub(super) async fn give_back(self, s: &Services) -> Result<(), StoreError> {
        give_back(s, &self.taken()).await
    }

    /// Runs `check` unless a limit is reached (giving the slots back when
    /// it is not run); after a pass the slots come back to the caller, to
    /// be given back alongside its next write. `second_factor`: a proof
    /// besides the password came with it, which lets it past the ceiling.
    pub(super) async fn check_deferred(
        self,
        s: &Services,
        second_factor: bool,
        check: impl FnOnce() -> bool,
    ) -> Result<(Checked, Option<Slots>), StoreError> {
        let retry_after = |until: Timestamp| (until - self.now).max(1) as u64;
        let limited = match (self.by_ip, self.by_subject) {
            (CountOutcome::LimitReached { until }, _) => Some(retry_after(until)),
            (_, CountOutcome::LimitReached { until }) if !second_factor => Some(retry_after(until)),
            (CountOutcome::Counted { .. }, _) => None,
        };
        if let Some(retry_after) = limited {
            // Nothing was tried: the slots taken are given back.
            self.give_back(s).await?;
            return Ok((Checked::Limited { retry_after }, None));
        }
        if !check() {
            return Ok((Checked::Failed, None));
        }
        Ok((Checked::Passed, Some(self)))
    }
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
