//! `DELETE /v1/me`: the account goes, with everything that made it usable.

use super::client::Client;
use super::step_up::{self, ChangeError, Reauth};
use crate::outbox::AccountChange;
use crate::ports::AccountWrite;
use crate::services::Services;
use crate::sessions::Session;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    /// Or `step_up_token`, or `step_up_totp`.
    pub current_password: Option<String>,
    pub step_up_token: Option<String>,
    pub step_up_totp: Option<String>,
    pub locale: Option<String>,
}

/// A refused deletion: as for a password change.
pub type DeleteError = ChangeError;

/// Deletes the caller's account after a step-up, in one transaction: the
/// account, its address claims (the addresses can register again) and the
/// step-up token. Its sessions and unused login links die with it: both
/// name the account, and each use looks it up.
pub async fn delete_account(
    s: &Services,
    session: &Session,
    req: DeleteAccount,
    client: &Client,
) -> Result<(), DeleteError> {
    let client_ip = client.ip;
    let reauth = Reauth::required(
        req.current_password.as_deref(),
        req.step_up_token.as_deref(),
        req.step_up_totp.as_deref(),
    )?;
    let (who, proven, pending) = step_up::reauthenticate(s, session, reauth, client_ip).await?;
    let who = &who;
    let told = Some((AccountChange::AccountDeleted, None, None));
    let change = step_up::apply_change(s, session, who, &proven, told, client, |account| {
        let mut writes =
            vec![AccountWrite::DeleteAccount { id: account.id.clone(), version: account.version }];
        for key in account.address_keys() {
            writes.push(AccountWrite::ReleaseAddress { key, account_id: account.id.clone() });
        }
        Ok::<_, DeleteError>((writes, ()))
    });
    step_up::with_give_back(s, pending, change).await?;
    tracing::info!(account = %who.account.id, "account deleted");
    Ok(())
}
