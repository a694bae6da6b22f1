//! Step-up: proving again who you are before a change that could take the
//! account over — a new password, another address in place of a bound one,
//! deletion. Either the current password (throttled like a password login)
//! or a step-up token: a verification token of purpose `verify`, got from a
//! code sent to one of the account's own bound addresses, used up in the
//! same transaction as the change.

pub(super) use super::login::with_give_back;
use super::login::{Checked, Slots, take_slots};
use crate::codes::{self, CheckError, Redemption};
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::outbox::{self, AccountChange};
use crate::ports::{AccountRecord, AccountWrite, ApplyOutcome, OutgoingMessage, Refusal};
use crate::retry::{self, Attempt};
use crate::services::Services;
use crate::sessions::{AuthError, Principal, Session};
use std::net::IpAddr;

/// How the caller proves it again.
#[derive(Debug, Clone, Copy)]
pub(super) enum Reauth<'a> {
    Password(&'a str),
    Token(&'a str),
}

impl<'a> Reauth<'a> {
    /// `current_password` or `step_up_token`: at most one.
    pub(super) fn from_fields(
        current_password: Option<&'a str>,
        step_up_token: Option<&'a str>,
    ) -> Result<Option<Self>, Invalid> {
        match (current_password, step_up_token) {
            (Some(p), None) => Ok(Some(Reauth::Password(p))),
            (None, Some(t)) => Ok(Some(Reauth::Token(t))),
            (Some(_), Some(_)) => Err(Invalid::value("step_up_token")),
            (None, None) => Ok(None),
        }
    }

    /// The same, where one of the two is required.
    pub(super) fn required(
        current_password: Option<&'a str>,
        step_up_token: Option<&'a str>,
    ) -> Result<Self, Invalid> {
        Self::from_fields(current_password, step_up_token)?
            .ok_or_else(|| Invalid::missing("current_password"))
    }
}

/// Why a step-up failed.
#[derive(Debug)]
pub(super) enum StepUpError {
    /// Wrong password; or a token that is forged, expired, used, another
    /// account's, or for an address the account no longer has.
    InvalidCredentials,
    /// Too many wrong passwords for the account from this client.
    RateLimited {
        retry_after: u64,
    },
    /// The session is logged out or revoked, or the account is gone.
    Unauthorized,
    Fault(Fault),
}

impl From<AuthError> for StepUpError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthorized => StepUpError::Unauthorized,
            AuthError::Fault(f) => StepUpError::Fault(f),
        }
    }
}

/// The caller, stepped up: the session is loaded and, for a password,
/// failed-login slots taken at once, then the password
/// checked. A token is only read inside the change's own transaction
/// (`use_token`), so this passes it on. After a right password the slots
/// are the caller's to give back alongside its write (`with_give_back`).
pub(super) async fn reauthenticate<'a>(
    s: &Services,
    session: &Session,
    reauth: Reauth<'a>,
    client_ip: Option<IpAddr>,
) -> Result<(Principal, Option<&'a str>, Option<Slots>), StepUpError> {
    let password = match reauth {
        Reauth::Token(t) => return Ok((session.load(s).await?, Some(t), None)),
        Reauth::Password(p) => p,
    };
    let (who, slots) =
        tokio::join!(session.load(s), take_slots(s, session.account_id(), client_ip));
    let slots = slots.map_err(|e| StepUpError::Fault(Fault::Store(e)))?;
    let who = match who {
        Ok(who) => who,
        Err(e) => {
            slots.give_back(s).await.map_err(|e| StepUpError::Fault(Fault::Store(e)))?;
            return Err(e.into());
        }
    };
    let stored = who.account.password_hash.as_deref();
    let checked = slots.check_deferred(s, false, || s.passwords.verify(password, stored)).await;
    match checked.map_err(|e| StepUpError::Fault(Fault::Store(e)))? {
        (Checked::Passed, pending) => Ok((who, None, pending)),
        (Checked::Failed, _) => Err(StepUpError::InvalidCredentials),
        (Checked::Limited { retry_after }, _) => Err(StepUpError::RateLimited { retry_after }),
    }
}

/// The write that uses a step-up token of `account` up, to go into the
/// change's transaction (whose `Refusal::ProofUsed` then means the token
/// was spent by another request: `InvalidCredentials`).
pub(super) async fn use_token(
    s: &Services,
    account: &AccountRecord,
    token: &str,
) -> Result<AccountWrite, StepUpError> {
    match codes::redeem_step_up(s, account, token).await {
        Ok(Redemption { record, expected_version, .. }) => {
            Ok(AccountWrite::SaveDestination { record, expected_version })
        }
        Err(CheckError::Fault(f)) => Err(StepUpError::Fault(f)),
        Err(_) => Err(StepUpError::InvalidCredentials),
    }
}

/// Why a change behind a step-up (`PUT /v1/me/password`, `DELETE /v1/me`)
/// was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The current password, or the step-up token, does not check out.
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
crate::faults!(ChangeError);

/// What a change tells the account's addresses: the kind of change, the
/// address it concerns (masked), and the address it takes from the
/// account (canonical), if any.
pub(super) type Told = (AccountChange, Option<String>, Option<String>);

/// The writes every account change made under a session carries, on every
/// attempt: the session must still stand (checked by the store inside the
/// write, so a logout, password change, reset or deletion that commits
/// first refuses it), and a security notice to each address the account
/// had. `Unauthorized` when `account` (as just read) no longer takes the
/// session. Returns the writes and the notices, to relay once committed.
pub(super) fn guarded(
    s: &Services,
    session: &Session,
    account: &AccountRecord,
    told: &Told,
    client_ip: Option<IpAddr>,
) -> Result<(Vec<AccountWrite>, Vec<OutgoingMessage>), ChangeError> {
    let condition = session.condition();
    if !condition.stands(Some(account), false) {
        return Err(ChangeError::Unauthorized);
    }
    let (change, address, leaving) = told;
    let leaving = leaving.as_deref();
    let messages = outbox::notices(s, account, *change, address.clone(), leaving, client_ip)?;
    let mut writes = vec![AccountWrite::Session(condition)];
    writes.extend(messages.iter().cloned().map(AccountWrite::PutMessage));
    Ok((writes, messages))
}

/// Writes what `change` makes of the caller's account together with the
/// step-up token's use, the session's conditions and the notices, all or
/// nothing; read afresh and tried again when the account changed meanwhile.
#[allow(clippy::too_many_arguments)]
pub(super) async fn apply_change(
    s: &Services,
    session: &Session,
    who: &Principal,
    token: Option<&str>,
    told: Told,
    client_ip: Option<IpAddr>,
    change: impl Fn(AccountRecord) -> Vec<AccountWrite>,
) -> Result<(), ChangeError> {
    let mut read = Some(who.account.clone());
    let (change, told) = (&change, &told);
    let notices = retry::run(|| {
        let account = read.take();
        async move {
            let account = match account {
                Some(a) => a,
                None => {
                    s.store.get_account(&who.account.id).await?.ok_or(ChangeError::Unauthorized)?
                }
            };
            let (mut writes, notices) = guarded(s, session, &account, told, client_ip)?;
            if let Some(token) = token {
                writes.push(use_token(s, &account, token).await?);
            }
            writes.extend(change(account));
            Ok::<_, ChangeError>(match s.store.apply(&writes, s.clock.now()).await? {
                ApplyOutcome::Committed => Attempt::Done(notices),
                ApplyOutcome::Refused(Refusal::ProofUsed) => {
                    return Err(ChangeError::InvalidCredentials);
                }
                ApplyOutcome::Refused(Refusal::SessionEnded) => {
                    return Err(ChangeError::Unauthorized);
                }
                ApplyOutcome::Refused(_) => Attempt::Retry,
            })
        }
    })
    .await?
    .ok_or(ChangeError::Busy)?;
    outbox::relay_notices(s, &notices).await;
    Ok(())
}

/// `From<StepUpError>` for the errors of the use cases that step up (each
/// has `InvalidCredentials`, `RateLimited` and `Fault`).
macro_rules! step_up_errors {
    ($($error:ty),* $(,)?) => {$(
        impl From<StepUpError> for $error {
            fn from(e: StepUpError) -> Self {
                match e {
                    StepUpError::InvalidCredentials => Self::InvalidCredentials,
                    StepUpError::RateLimited { retry_after } => Self::RateLimited { retry_after },
                    StepUpError::Unauthorized => Self::Unauthorized,
                    StepUpError::Fault(f) => Self::Fault(f),
                }
            }
        }
    )*};
}

step_up_errors!(ChangeError, super::BindError);

impl From<ChangeError> for super::BindError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Invalid(i) => Self::Invalid(i),
            ChangeError::InvalidCredentials => Self::InvalidCredentials,
            ChangeError::RateLimited { retry_after } => Self::RateLimited { retry_after },
            ChangeError::Unauthorized => Self::Unauthorized,
            ChangeError::Busy => Self::Busy,
            ChangeError::Fault(f) => Self::Fault(f),
        }
    }
}
