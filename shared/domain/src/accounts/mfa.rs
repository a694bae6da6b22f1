//! Logging in to an account with an authenticator takes two steps. The
//! first (`POST /v1/sessions` by password or code, or a login link) answers
//! `{"mfa_required": true, "mfa_token", "expires_in": 300}` in place of a
//! session; `POST /v1/sessions/mfa` with that token and a code from the
//! app, or a recovery code, gives the session.
//!
//! Only someone past the first step holds an `mfa_token`, so only they can
//! spend the second step's limits: 5 wrong answers per token, 10 an hour
//! per account. A time step is accepted once per factor; a recovery code
//! once, and its use is told to every address of the account.

use super::common::{SessionIssued, issue};
use super::slots::{Checked, Slots, with_give_back};
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::outbox::{self, AccountChange};
use crate::ports::{AccountRecord, AccountWrite, ApplyOutcome, Counter, LimitKind, Refusal};
use crate::retry::{self, Attempt};
use crate::services::Services;
use crate::token::Expiring;
use crate::{crypto, totp};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// How long the second step may take.
pub const MFA_SECS: i64 = 300;
/// Wrong answers per `mfa_token`…
pub const MFA_TOKEN_FAILS: u32 = 5;
/// …and per account in a clock hour.
pub const MFA_ACCOUNT_FAILS: u32 = 10;
const MFA_WINDOW_SECS: i64 = 3600;
const MFA: &str = "mfa";

/// What the first step of a login gives.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SignedIn {
    Session(SessionIssued),
    SecondFactor(MfaRequired),
}

/// `{"mfa_required": true, "mfa_token", "expires_in"}`.
#[derive(Debug, Serialize)]
pub struct MfaRequired {
    pub mfa_required: bool,
    pub mfa_token: String,
    pub expires_in: i64,
}

/// Claims of an `mfa_token`.
#[derive(Debug, Serialize, Deserialize)]
struct MfaClaims {
    sub: String,
    iat: i64,
    exp: i64,
    jti: String,
    /// Always `mfa`: no other kind of token is taken for one, nor it for another.
    typ: String,
    /// The account's session epoch: a password change or reset voids it.
    epoch: u64,
    /// The session's lifetime asked for in the first step.
    ses: i64,
}

impl Expiring for MfaClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// A session for `account`, or — when it has a confirmed authenticator —
/// the token for the second step.
pub(super) fn sign_in(s: &Services, account: &AccountRecord, secs: i64) -> Result<SignedIn, Fault> {
    if !account.has_second_factor() {
        return Ok(SignedIn::Session(issue(s, account, secs)?));
    }
    let now = s.clock.now();
    let claims = MfaClaims {
        sub: account.id.clone(),
        iat: now,
        exp: now + MFA_SECS,
        jti: s.new_id()?,
        typ: MFA.into(),
        epoch: account.session_epoch,
        ses: secs,
    };
    let mfa_token = s.tokens.sign(&claims).map_err(|e| Fault::internal("token", e))?;
    Ok(SignedIn::SecondFactor(MfaRequired { mfa_required: true, mfa_token, expires_in: MFA_SECS }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteMfa {
    pub mfa_token: String,
    pub totp: Option<String>,
    pub recovery_code: Option<String>,
    pub locale: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A forged, expired or voided token, or a wrong (or used) answer.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("rate limited")]
    RateLimited { retry_after: u64 },
    #[error("too busy")]
    Busy,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::faults!(MfaError);

/// The second step's answer.
enum Answer<'a> {
    Totp(&'a str),
    Recovery(&'a str),
}

/// What a right answer uses up.
enum Used {
    Step { factor: String, step: i64 },
    Recovery([u8; 32]),
}

/// What `answer` uses up in `account`, if it is right now.
fn judge(s: &Services, account: &AccountRecord, answer: &Answer) -> Option<Used> {
    match answer {
        Answer::Totp(code) => super::authenticator::accepts(s, account, code)
            .map(|(factor, step)| Used::Step { factor, step }),
        Answer::Recovery(code) => {
            let code = totp::normalise_recovery_code(code)?;
            let hash = super::authenticator::recovery_hash(s, &account.id, &code);
            let mut found = None;
            for stored in &account.recovery_codes {
                if crypto::digest_eq(stored, &hash) {
                    found = Some(Used::Recovery(hash));
                }
            }
            found.filter(|_| account.has_second_factor())
        }
    }
}

/// The second step. Round trips: the account with a slot in each limit
/// (1); after a right answer, the account written (the step or recovery
/// code used up, a notice for a recovery code) with the slots given back (1).
pub async fn complete_mfa(
    s: &Services,
    req: CompleteMfa,
    client_ip: Option<IpAddr>,
) -> Result<SessionIssued, MfaError> {
    let answer = match (req.totp.as_deref(), req.recovery_code.as_deref()) {
        (Some(code), None) => Answer::Totp(code),
        (None, Some(code)) => Answer::Recovery(code),
        (Some(_), Some(_)) => return Err(Invalid::value("recovery_code").into()),
        (None, None) => return Err(Invalid::missing("totp").into()),
    };
    let now = s.clock.now();
    let claims: MfaClaims =
        s.tokens.verify(&req.mfa_token, now).map_err(|_| MfaError::InvalidCredentials)?;
    if claims.typ != MFA {
        return Err(MfaError::InvalidCredentials);
    }
    let hour = now.div_euclid(MFA_WINDOW_SECS);
    let per_token = Counter {
        key: format!("mfa|{}", claims.jti),
        kind: LimitKind::FailedLogins,
        limit: MFA_TOKEN_FAILS,
        expires_at: claims.exp,
    };
    // Per account, whatever its password: a thief who can reset it (with
    // the mailbox) gets no fresh ten by resetting.
    let per_account = Counter {
        key: format!("mfa|{}|{hour}", claims.sub),
        kind: LimitKind::FailedLogins,
        limit: MFA_ACCOUNT_FAILS,
        expires_at: (hour + 1) * MFA_WINDOW_SECS,
    };
    let (account, slots) =
        tokio::join!(s.store.get_account(&claims.sub), Slots::take(s, per_token, per_account));
    let slots = slots?;
    let live = |a: &AccountRecord| a.session_epoch <= claims.epoch;
    let account = match account {
        Ok(Some(a)) if live(&a) => a,
        other => {
            slots.give_back(s).await?;
            other?;
            return Err(MfaError::InvalidCredentials);
        }
    };
    let checked = slots.check_deferred(s, false, || judge(s, &account, &answer).is_some()).await?;
    let pending = match checked {
        (Checked::Passed, pending) => pending,
        (Checked::Failed, _) => return Err(MfaError::InvalidCredentials),
        (Checked::Limited { retry_after }, _) => {
            return Err(MfaError::RateLimited { retry_after });
        }
    };
    let used = use_up(s, account, &answer, claims.epoch, client_ip);
    let account = with_give_back(s, pending, used).await?;
    tracing::info!(account = %account.id, "logged in with a second factor");
    Ok(issue(s, &account, claims.ses)?)
}

/// Writes the account with the answer used up (and, for a recovery code,
/// the notices), all or nothing; read afresh and judged again when the
/// account changed meanwhile, so a step or code is taken once however
/// many requests race with it.
async fn use_up(
    s: &Services,
    account: AccountRecord,
    answer: &Answer<'_>,
    epoch: u64,
    client_ip: Option<IpAddr>,
) -> Result<AccountRecord, MfaError> {
    let id = account.id.clone();
    let mut read = Some(account);
    let (account, notices) = retry::run(|| {
        let account = read.take();
        let id = &id;
        async move {
            let mut account = match account {
                Some(a) => a,
                None => s.store.get_account(id).await?.ok_or(MfaError::InvalidCredentials)?,
            };
            if account.session_epoch > epoch {
                return Err(MfaError::InvalidCredentials);
            }
            let mut notices = Vec::new();
            match judge(s, &account, answer).ok_or(MfaError::InvalidCredentials)? {
                Used::Step { factor, step } => {
                    for f in account.factors.iter_mut().filter(|f| f.id == factor) {
                        f.last_step = step;
                    }
                }
                Used::Recovery(hash) => {
                    account.recovery_codes.retain(|c| !crypto::digest_eq(c, &hash));
                    let change = AccountChange::RecoveryCodeUsed;
                    notices = outbox::notices(s, &account, change, None, None, client_ip)?;
                }
            }
            let mut writes = vec![AccountWrite::PutAccount(account.clone())];
            writes.extend(notices.iter().cloned().map(AccountWrite::PutMessage));
            Ok(match s.store.apply(&writes, s.clock.now()).await? {
                ApplyOutcome::Committed => Attempt::Done((account, notices)),
                ApplyOutcome::Refused(Refusal::AccountChanged) => Attempt::Retry,
                ApplyOutcome::Refused(_) => return Err(MfaError::InvalidCredentials),
            })
        }
    })
    .await?
    .ok_or(MfaError::Busy)?;
    outbox::relay_notices(s, &notices).await;
    Ok(account)
}
