//! Logging in to an account with an authenticator takes two steps. The
//! first (`POST /v1/sessions` by password or code, or a login link) answers
//! `{"mfa_required": true, "mfa_token", "expires_in": 300}` in place of a
//! session; `POST /v1/sessions/mfa` with that token and a code from the
//! app, or a recovery code, gives the session.
//!
//! Only someone past the first step holds an `mfa_token`, so only they can
//! spend the second step's limits: 5 wrong answers per token, 10 an hour
//! per account after a password or code. A login link is a session's
//! doing: its second steps, like step-ups by app code, count apart (10 a
//! day), so a stolen session spends none of the owner's. A time step is accepted once per factor; a recovery code
//! once, and its use is told to every address of the account.

use super::client::Client;
use super::common::SessionIssued;
use super::devices::NewSession;
use super::slots::{Checked, SecondStep, Slots, second_step_counter, with_give_back};
pub use super::slots::{MFA_LOGIN_FAILS, MFA_SESSION_FAILS};
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::outbox::{self, AccountChange, AccountEvent};
use crate::ports::{AccountRecord, AccountWrite, ApplyOutcome, Counter, LimitKind, Refusal};
use crate::retry::{self, Attempt};
use crate::services::Services;
use crate::token::Expiring;
use crate::{crypto, totp};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// How long the second step may take.
pub const MFA_SECS: i64 = 300;
/// Wrong answers per `mfa_token` (and per account: `MFA_LOGIN_FAILS` an
/// hour after a password or code, `MFA_SESSION_FAILS` a day after a login
/// link).
pub const MFA_TOKEN_FAILS: u32 = 5;
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
    /// The first step was a login link (a session's doing).
    #[serde(default)]
    lnk: bool,
}

impl Expiring for MfaClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// A first step passed: a session, or the token for the second step.
#[expect(clippy::large_enum_variant, reason = "one per login; boxing would buy nothing")]
pub(super) enum FirstStep {
    Session(NewSession),
    SecondFactor(MfaRequired),
}

impl FirstStep {
    /// The new session's record and event, to write with the login.
    pub(super) fn writes(&self) -> Vec<AccountWrite> {
        match self {
            FirstStep::Session(new) => new.writes().to_vec(),
            FirstStep::SecondFactor(_) => Vec::new(),
        }
    }

    /// Relays the new session's event once its write committed.
    pub(super) async fn relay(&self, s: &Services) {
        if let FirstStep::Session(new) = self {
            new.relay(s).await;
        }
    }

    pub(super) fn answer(self) -> SignedIn {
        match self {
            FirstStep::Session(new) => SignedIn::Session(new.issued),
            FirstStep::SecondFactor(mfa) => SignedIn::SecondFactor(mfa),
        }
    }
}

/// A session for `account`, or — when it has a confirmed authenticator —
/// the token for the second step.
pub(super) fn sign_in(
    s: &Services,
    account: &AccountRecord,
    (secs, via): (i64, SecondStep),
    client: &Client,
) -> Result<FirstStep, Fault> {
    if !account.has_second_factor() {
        let new = NewSession::issue(s, account, (secs, AccountEvent::LoggedIn), client)?;
        return Ok(FirstStep::Session(new));
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
        lnk: via == SecondStep::Session,
    };
    let mfa_token = s.tokens.sign(&claims).map_err(|e| Fault::internal("token", e))?;
    Ok(FirstStep::SecondFactor(MfaRequired { mfa_required: true, mfa_token, expires_in: MFA_SECS }))
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
    client: &Client,
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
    let per_token = Counter {
        key: format!("mfa|{}", claims.jti),
        kind: LimitKind::FailedLogins,
        limit: MFA_TOKEN_FAILS,
        expires_at: claims.exp,
    };
    // Per account, whatever its password (a thief who can reset it with
    // the mailbox gets no fresh ten by resetting); a login link's apart,
    // so a stolen session spends none of the owner's.
    let kind = if claims.lnk { SecondStep::Session } else { SecondStep::Login };
    let per_account = second_step_counter(&claims.sub, kind, now);
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
    let new = NewSession::issue(s, &account, (claims.ses, AccountEvent::LoggedIn), client)?;
    let used = use_up(s, account, &answer, (claims.epoch, new.writes()), client.ip);
    let account = with_give_back(s, pending, used).await?;
    new.relay(s).await;
    tracing::info!(account = %account.id, "logged in with a second factor");
    Ok(new.issued)
}

/// Writes the account with the answer used up (and, for a recovery code,
/// the notices) and the new session's record, all or nothing; read afresh
/// and judged again when the account changed meanwhile, so a step or code
/// is taken once however many requests race with it. `epoch`: the first
/// step's, which the account must still have.
async fn use_up(
    s: &Services,
    account: AccountRecord,
    answer: &Answer<'_>,
    (epoch, session): (u64, [AccountWrite; 2]),
    client_ip: Option<IpAddr>,
) -> Result<AccountRecord, MfaError> {
    let (id, session) = (account.id.clone(), &session);
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
            writes.extend(session.iter().cloned());
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
