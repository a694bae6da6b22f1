//! `PUT /v1/me/email` and `PUT /v1/me/phone`.

use super::client::Client;
use super::common::{AccountView, address, proof};
use super::step_up::{self, Reauth};
use crate::address::{Channel, Destination};
use crate::codes::{self, CheckError};
use crate::config::Config;
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::outbox::{self, AccountChange};
use crate::ports::{AccountRecord, AccountWrite, ApplyOutcome, Refusal};
use crate::purpose::Purpose;
use crate::retry::{self, Attempt};
use crate::services::Services;
use crate::sessions::Session;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindAddress {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country_code: Option<u16>,
    pub code: Option<String>,
    pub verification_token: Option<String>,
    /// To replace an address already bound: this or `step_up_token`.
    pub current_password: Option<String>,
    pub step_up_token: Option<String>,
    pub step_up_totp: Option<String>,
    pub locale: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Check(#[from] CheckError),
    /// Another account owns the address.
    #[error("address taken")]
    AddressTaken,
    /// The step-up (current password or token) does not check out.
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
crate::faults!(BindError);

/// The address of a bind request: the body names only the channel's field.
fn bound_address(
    cfg: &Config,
    channel: Channel,
    req: &BindAddress,
) -> Result<Destination, Invalid> {
    match channel {
        Channel::Email if req.phone.is_some() || req.country_code.is_some() => {
            Err(Invalid::Unknown("phone".into()))
        }
        Channel::Sms if req.email.is_some() => Err(Invalid::Unknown("email".into())),
        Channel::Email => address(cfg, req.email.as_deref(), None, None),
        Channel::Sms => address(cfg, None, req.phone.as_deref(), req.country_code),
    }
}

/// The address bound now on `channel`, if another than `dest`.
fn replaced<'a>(
    account: &'a AccountRecord,
    channel: Channel,
    dest: &Destination,
) -> Option<&'a str> {
    let old = match channel {
        Channel::Email => account.email.as_deref(),
        Channel::Sms => account.phone.as_deref(),
    };
    old.filter(|o| *o != dest.address())
}

/// Whether binding to `account` needs a step-up: it has a password or an
/// address already (every registered account does), so a session alone,
/// which a thief may hold, can never add a way into the account.
fn needs_step_up(account: &AccountRecord) -> bool {
    account.password_hash.is_some() || account.email.is_some() || account.phone.is_some()
}

impl BindAddress {
    /// Its step-up, if it came with one.
    fn reauth(&self) -> Result<Option<Reauth<'_>>, Invalid> {
        Reauth::from_fields(
            self.current_password.as_deref(),
            self.step_up_token.as_deref(),
            self.step_up_totp.as_deref(),
        )
    }
}

/// Binds a new address (proved by a `bind` code) and releases the old one,
/// all at once. An account with a password or an address (every account
/// that registered) also needs a step-up, current password or step-up
/// token, whether the address fills a blank or replaces a bound one: a
/// stolen session cannot add a way into the account, nor mint its own
/// step-up factor. Every address the account had is told, the replaced
/// one included, and the write holds only while the session stands.
///
/// Round trips: the session (with failed-login slots for a password) and
/// the code's record (and a step-up token's) together (1), then the
/// transaction (1, with the slots given back).
pub async fn bind(
    s: &Services,
    session: &Session,
    channel: Channel,
    req: BindAddress,
    client: &Client,
) -> Result<AccountView, BindError> {
    let client_ip = client.ip;
    let dest = &bound_address(&s.config, channel, &req)?;
    let proof = proof(req.code.as_deref(), req.verification_token.as_deref())?;
    let reauth = req.reauth()?;
    let id = session.account_id();
    let stepped = async {
        match reauth {
            Some(r) => step_up::reauthenticate(s, session, r, client_ip).await,
            None => Ok((session.load(s).await?, step_up::Proven::Nothing, None)),
        }
    };
    let (stepped, redeemed) = tokio::join!(
        stepped,
        codes::redeem_for(s, Purpose::Bind, dest, Some(id), proof, client_ip)
    );
    let (who, proven, pending) = stepped?;
    let (who, proven) = (&who, &proven);
    let mut first = Some((who.account.clone(), redeemed));
    let bound = retry::run(|| {
        let read = first.take();
        async move {
            let (mut account, redeemed) = match read {
                Some(read) => read,
                None => {
                    let account = s.store.get_account(id).await?.ok_or(BindError::Unauthorized)?;
                    (
                        account,
                        codes::redeem_for(s, Purpose::Bind, dest, Some(id), proof, client_ip).await,
                    )
                }
            };
            if reauth.is_none() && needs_step_up(&account) {
                return Err(BindError::from(Invalid::missing("step_up_token")));
            }
            let leaving = replaced(&account, channel, dest).map(str::to_string);
            let change = match leaving {
                Some(_) => AccountChange::AddressReplaced,
                None => AccountChange::AddressAdded,
            };
            let told = (change, Some(dest.masked()), leaving);
            let (guards, notices) = step_up::guarded(s, session, &account, Some(&told), client)?;
            let mut writes = guards;
            writes.extend(redeemed?.writes());
            writes.extend(proven.use_up(s, &mut account).await?);
            Ok(match bind_once(s, account, channel, dest, writes).await? {
                Attempt::Done(account) => Attempt::Done((account, notices)),
                Attempt::Retry => Attempt::Retry,
            })
        }
    });
    let (account, notices) =
        step_up::with_give_back(s, pending, bound).await?.ok_or(BindError::Busy)?;
    outbox::relay_notices(s, &notices).await;
    tracing::info!(account = %who.account.id, to = %dest.masked(), "address bound");
    Ok((&account).into())
}

/// One all-or-nothing write: the account with the new address, the claim on
/// it, the code (and step-up token) used up, and the old address released.
async fn bind_once(
    s: &Services,
    mut account: AccountRecord,
    channel: Channel,
    dest: &Destination,
    proofs: Vec<AccountWrite>,
) -> Result<Attempt<AccountRecord>, BindError> {
    let old = match channel {
        Channel::Email => account.email.replace(dest.address().to_string()),
        Channel::Sms => account.phone.replace(dest.address().to_string()),
    };
    let mut writes = vec![
        AccountWrite::PutAccount(account.clone()),
        AccountWrite::ClaimAddress { key: dest.key(), account_id: account.id.clone() },
    ];
    writes.extend(proofs);
    if let Some(old) = old.filter(|o| o != dest.address()) {
        writes.push(AccountWrite::ReleaseAddress {
            key: format!("{}:{old}", channel.as_str()),
            account_id: account.id.clone(),
        });
    }
    match s.store.apply(&writes, s.clock.now()).await? {
        ApplyOutcome::Committed => {
            account.version += 1;
            Ok(Attempt::Done(account))
        }
        ApplyOutcome::Refused(Refusal::AddressTaken) => Err(BindError::AddressTaken),
        ApplyOutcome::Refused(Refusal::SessionEnded) => Err(BindError::Unauthorized),
        // The code (or, in a rare race, the step-up token) was spent first.
        ApplyOutcome::Refused(Refusal::ProofUsed) => Err(CheckError::used().into()),
        ApplyOutcome::Refused(_) => Ok(Attempt::Retry),
    }
}
