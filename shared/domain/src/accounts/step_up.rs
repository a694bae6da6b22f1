//! Step-up: proving again who you are before a change that could take the
//! account over — a new password, another address in place of a bound one,
//! deletion, an authenticator added or removed. One of: the current
//! password (throttled like a password login); a step-up token (a
//! verification token of purpose `verify`, got from a code sent to one of
//! the account's own bound addresses, used up in the same transaction as
//! the change); or a code from a confirmed authenticator app (throttled as
//! a password, its time step used up with the change).

use super::client::Client;
pub(super) use super::slots::with_give_back;
use super::slots::{Checked, Slots, take_app_code_slots, take_slots};
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
    Totp(&'a str),
}

impl<'a> Reauth<'a> {
    /// `current_password`, `step_up_token` or `step_up_totp`: at most one.
    pub(super) fn from_fields(
        current_password: Option<&'a str>,
        step_up_token: Option<&'a str>,
        step_up_totp: Option<&'a str>,
    ) -> Result<Option<Self>, Invalid> {
        let given = [
            current_password.map(Reauth::Password),
            step_up_token.map(Reauth::Token),
            step_up_totp.map(Reauth::Totp),
        ];
        let mut given = given.into_iter().flatten();
        match (given.next(), given.next()) {
            (first, None) => Ok(first),
            (_, Some(Reauth::Token(_))) => Err(Invalid::value("step_up_token")),
            (_, Some(_)) => Err(Invalid::value("step_up_totp")),
        }
    }

    /// The same, where one of them is required.
    pub(super) fn required(
        current_password: Option<&'a str>,
        step_up_token: Option<&'a str>,
        step_up_totp: Option<&'a str>,
    ) -> Result<Self, Invalid> {
        Self::from_fields(current_password, step_up_token, step_up_totp)?
            .ok_or_else(|| Invalid::missing("current_password"))
    }
}

/// What a step-up leaves to be used up with the change it allows.
#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "one per request; boxing would buy nothing")]
pub(super) enum Proven<'a> {
    /// Nothing: a password (or no step-up at all).
    Nothing,
    /// A step-up token, used up inside the change's transaction; its record
    /// as read alongside the session, for the first attempt.
    Token(&'a str, std::sync::Mutex<Option<Result<codes::StepUpRead, CheckError>>>),
    /// An authenticator's code for this time step: the factor's last step
    /// moves to it in the change's own write of the account.
    Totp { factor: String, step: i64 },
}

impl Proven<'_> {
    /// Uses the proof up with a change of `account` (as read for this
    /// attempt): a write for a step-up token; for an authenticator's code,
    /// its step marked in `account` (to be written by the change). An
    /// authenticator that took this step since (or is gone) refuses.
    pub(super) async fn use_up(
        &self,
        s: &Services,
        account: &mut AccountRecord,
    ) -> Result<Option<AccountWrite>, StepUpError> {
        match self {
            Proven::Nothing => Ok(None),
            Proven::Token(token, read) => {
                let first = read.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
                let redeemed = match first {
                    Some(read) => read.and_then(|r| r.for_account(account)),
                    None => codes::redeem_step_up(s, account, token).await,
                };
                match redeemed {
                    Ok(Redemption { record, expected_version, .. }) => {
                        Ok(Some(AccountWrite::SaveDestination { record, expected_version }))
                    }
                    Err(CheckError::Fault(f)) => Err(StepUpError::Fault(f)),
                    Err(_) => Err(StepUpError::InvalidCredentials),
                }
            }
            Proven::Totp { factor, step } => {
                let f = account.factors.iter_mut().find(|f| &f.id == factor && f.confirmed);
                match f {
                    Some(f) if f.last_step < *step => {
                        f.last_step = *step;
                        Ok(None)
                    }
                    _ => Err(StepUpError::InvalidCredentials),
                }
            }
        }
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

/// The caller, stepped up: the session is loaded and, for a password or
/// an authenticator's code, failed-login slots taken at once, then the
/// password (or code) checked. A token is only read inside the change's
/// own transaction (`Proven::use_up`), so this passes it on. After a right
/// password or code the slots are the caller's to give back alongside its
/// write (`with_give_back`).
pub(super) async fn reauthenticate<'a>(
    s: &Services,
    session: &Session,
    reauth: Reauth<'a>,
    client_ip: Option<IpAddr>,
) -> Result<(Principal, Proven<'a>, Option<Slots>), StepUpError> {
    if let Reauth::Token(t) = reauth {
        // The token's record is read alongside the session.
        let (who, read) = tokio::join!(session.load(s), codes::read_step_up(s, t));
        return Ok((who?, Proven::Token(t, std::sync::Mutex::new(Some(read))), None));
    }
    let slots = async {
        match reauth {
            Reauth::Totp(_) => take_app_code_slots(s, session.account_id(), client_ip).await,
            _ => take_slots(s, session.account_id(), client_ip).await,
        }
    };
    let (who, slots) = tokio::join!(session.load(s), slots);
    let slots = slots.map_err(|e| StepUpError::Fault(Fault::Store(e)))?;
    let who = match who {
        Ok(who) => who,
        Err(e) => {
            slots.give_back(s).await.map_err(|e| StepUpError::Fault(Fault::Store(e)))?;
            return Err(e.into());
        }
    };
    let mut proven = Proven::Nothing;
    let checked = slots
        .check_deferred(s, false, || match reauth {
            Reauth::Password(p) => s.passwords.verify(p, who.account.password_hash.as_deref()),
            Reauth::Totp(code) => {
                let found = super::authenticator::accepts(s, &who.account, code);
                let right = found.is_some();
                if let Some((factor, step)) = found {
                    proven = Proven::Totp { factor, step };
                }
                right
            }
            Reauth::Token(_) => false,
        })
        .await;
    match checked.map_err(|e| StepUpError::Fault(Fault::Store(e)))? {
        (Checked::Passed, pending) => Ok((who, proven, pending)),
        (Checked::Failed, _) => Err(StepUpError::InvalidCredentials),
        (Checked::Limited { retry_after }, _) => Err(StepUpError::RateLimited { retry_after }),
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
/// had (when the change is one to tell). `Unauthorized` when `account` (as
/// just read) no longer takes the session. Returns the writes and the
/// notices, to relay once committed.
pub(super) fn guarded(
    s: &Services,
    session: &Session,
    account: &AccountRecord,
    told: Option<&Told>,
    client: &Client,
) -> Result<(Vec<AccountWrite>, Vec<OutgoingMessage>), ChangeError> {
    let condition = session.condition();
    if !condition.stands(Some(account), false) {
        return Err(ChangeError::Unauthorized);
    }
    let messages = match told {
        Some(told) => told_messages(s, account, told, client)?,
        None => Vec::new(),
    };
    let mut writes = vec![AccountWrite::Session(condition)];
    writes.extend(messages.iter().cloned().map(AccountWrite::PutMessage));
    Ok((writes, messages))
}

/// What a change tells: a notice to each address the account had, and the
/// account event for integrators.
pub(super) fn told_messages(
    s: &Services,
    account: &AccountRecord,
    (change, address, leaving): &Told,
    client: &Client,
) -> Result<Vec<OutgoingMessage>, Fault> {
    let ip = client.ip;
    let mut messages =
        outbox::notices(s, account, *change, address.clone(), leaving.as_deref(), ip)?;
    if let Some(event) = change.event() {
        messages.push(super::client::event_message(s, event, &account.id, client)?);
    }
    Ok(messages)
}

/// Writes what `change` makes of the caller's account together with the
/// step-up's proof used up, the session's conditions and the notices, all
/// or nothing; read afresh and tried again when the account changed
/// meanwhile. `change` sees the account as read for each attempt (and may
/// refuse it). Returns what the committed attempt's `change` returned.
#[allow(clippy::too_many_arguments)]
pub(super) async fn apply_change<T, E: From<ChangeError>>(
    s: &Services,
    session: &Session,
    who: &Principal,
    proven: &Proven<'_>,
    told: Option<Told>,
    client: &Client,
    change: impl Fn(AccountRecord) -> Result<(Vec<AccountWrite>, T), E>,
) -> Result<T, E> {
    let mut read = Some(who.account.clone());
    let (change, told) = (&change, &told);
    let (done, notices) = retry::run(|| {
        let account = read.take();
        async move {
            let mut account = match account {
                Some(a) => a,
                None => s
                    .store
                    .get_account(&who.account.id)
                    .await
                    .map_err(ChangeError::from)?
                    .ok_or(ChangeError::Unauthorized)?,
            };
            let (mut writes, notices) = guarded(s, session, &account, told.as_ref(), client)?;
            writes.extend(proven.use_up(s, &mut account).await.map_err(ChangeError::from)?);
            let (changed, done) = change(account)?;
            writes.extend(changed);
            let refused = match s.store.apply(&writes, s.clock.now()).await {
                Ok(ApplyOutcome::Committed) => return Ok::<_, E>(Attempt::Done((done, notices))),
                Ok(ApplyOutcome::Refused(refusal)) => refusal,
                Err(e) => return Err(ChangeError::from(e).into()),
            };
            match refused {
                Refusal::ProofUsed => Err(ChangeError::InvalidCredentials.into()),
                Refusal::SessionEnded => Err(ChangeError::Unauthorized.into()),
                _ => Ok(Attempt::Retry),
            }
        }
    })
    .await?
    .ok_or(ChangeError::Busy)?;
    outbox::relay_notices(s, &notices).await;
    Ok(done)
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
