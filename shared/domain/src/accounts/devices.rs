//! Sessions per device: every login records its session (the device it
//! came from, its network masked, when it started and ends) in the login's
//! own write. `GET /v1/me/sessions` lists the live ones,
//! `DELETE /v1/me/sessions/{id}` ends one, and
//! `DELETE /v1/me/sessions?scope=others` ends all but the caller's.
//!
//! A session is still checked offline plus its logout marker: ending one
//! writes that marker (and drops the record) in one transaction; ending
//! the others raises the account's session epoch, keeping the caller's.

use super::client::{Client, device_label, event_message};
use super::common::{SessionIssued, issue};
use super::step_up::{self, ChangeError, Proven};
use crate::error::Fault;
use crate::outbox::{self, AccountEvent};
use crate::ports::{
    AccountRecord, AccountWrite, ApplyOutcome, OutgoingMessage, Refusal, SessionRecord,
};
use crate::services::Services;
use crate::sessions::{AuthError, Session};
use crate::time::rfc3339;
use serde::Serialize;

/// A session about to be given: the answer, and the record to write with
/// the login that gives it.
pub(super) struct NewSession {
    pub issued: SessionIssued,
    pub record: SessionRecord,
    /// The account event it makes (`logged_in`, or `registered`).
    pub event: OutgoingMessage,
}

impl NewSession {
    /// Signs a session for `account` and describes it for its list, with
    /// its account event (`registered` or `logged_in`).
    pub(super) fn issue(
        s: &Services,
        account: &AccountRecord,
        (secs, kind): (i64, AccountEvent),
        client: &Client,
    ) -> Result<Self, Fault> {
        let (issued, claims) = issue(s, account, secs)?;
        let event = event_message(s, kind, &account.id, client)?;
        let record = SessionRecord {
            account_id: account.id.clone(),
            jti: claims.jti,
            device: device_label(client.user_agent.as_deref()),
            network: client.ip.map_or_else(|| "unknown".into(), crate::network::masked),
            created_at: claims.iat,
            expires_at: claims.exp,
            epoch: claims.epoch,
        };
        Ok(NewSession { issued, record, event })
    }

    /// The record's write and the event's, to go into the login's
    /// transaction (then `relay` the event).
    pub(super) fn writes(&self) -> [AccountWrite; 2] {
        [
            AccountWrite::PutSession(self.record.clone()),
            AccountWrite::PutMessage(self.event.clone()),
        ]
    }

    /// Hands the event to the outbox's relay, once its write committed.
    pub(super) async fn relay(&self, s: &Services) {
        outbox::relay_notices(s, std::slice::from_ref(&self.event)).await;
    }
}

/// One session in `GET /v1/me/sessions`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SessionView {
    pub id: String,
    pub device: String,
    pub network: String,
    pub created_at: String,
    pub expires_at: String,
    /// The session that asked.
    pub current: bool,
}

/// `GET /v1/me/sessions`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

/// The account's live sessions, newest first, the caller's marked. Round
/// trips: the session and the records together (1).
pub async fn list_sessions(s: &Services, session: &Session) -> Result<SessionList, AuthError> {
    let (who, records) = tokio::join!(session.load(s), s.store.list_sessions(session.account_id()));
    let (who, mut records) = (who?, records.map_err(Fault::Store)?);
    let now = s.clock.now();
    records.retain(|r| r.live(&who.account, now));
    records.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.jti.cmp(&b.jti)));
    let sessions = records
        .into_iter()
        .map(|r| SessionView {
            current: r.jti == who.jti,
            id: r.jti,
            device: r.device,
            network: r.network,
            created_at: rfc3339(r.created_at),
            expires_at: rfc3339(r.expires_at),
        })
        .collect();
    Ok(SessionList { sessions })
}

/// Why a session could not be ended.
#[derive(Debug, thiserror::Error)]
pub enum EndError {
    /// The caller's own session no longer stands.
    #[error("unauthorized")]
    Unauthorized,
    /// The account has no such live session.
    #[error("not found")]
    NotFound,
    #[error("too busy")]
    Busy,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::faults!(EndError);

impl From<AuthError> for EndError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthorized => EndError::Unauthorized,
            AuthError::Fault(f) => EndError::Fault(f),
        }
    }
}

impl From<ChangeError> for EndError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Busy => EndError::Busy,
            ChangeError::Fault(f) => EndError::Fault(f),
            _ => EndError::Unauthorized,
        }
    }
}

/// Ends session `id` of the caller's account (the caller's own included):
/// its logout marker and the record's removal in one transaction, made
/// under the caller's session. A session not in the account's list (another
/// account's, or one over already) is `NotFound`. Round trips: the session and the records (1),
/// the transaction (1).
pub async fn end_session(
    s: &Services,
    session: &Session,
    id: &str,
    client: &Client,
) -> Result<(), EndError> {
    let (who, records) = tokio::join!(session.load(s), s.store.list_sessions(session.account_id()));
    let (who, records) = (who?, records.map_err(Fault::Store)?);
    let now = s.clock.now();
    let record = records
        .into_iter()
        .find(|r| r.jti == id && r.live(&who.account, now))
        .ok_or(EndError::NotFound)?;
    let end = AccountWrite::EndSession {
        account_id: who.account.id.clone(),
        jti: record.jti,
        expires_at: record.expires_at,
    };
    // Ending another session is made under the caller's; ending its own
    // needs no such condition (and DynamoDB takes one operation per item).
    let own = id == who.jti;
    let kind = if own { AccountEvent::LoggedOut } else { AccountEvent::SessionEnded };
    let event = event_message(s, kind, &who.account.id, client)?;
    let mut writes = vec![end, AccountWrite::PutMessage(event.clone())];
    if !own {
        writes.push(AccountWrite::Session(session.condition()));
    }
    match s.store.apply(&writes, now).await? {
        ApplyOutcome::Committed => outbox::relay_notices(s, std::slice::from_ref(&event)).await,
        // Ended meanwhile (a double-submitted form): done, and told once.
        ApplyOutcome::Refused(Refusal::AlreadyEnded) => return Ok(()),
        ApplyOutcome::Refused(_) => return Err(EndError::Unauthorized),
    }
    tracing::info!(account = %who.account.id, "session ended");
    Ok(())
}

/// Ends every session of the account but the caller's: the account's
/// session epoch goes up with the caller's session kept (as a password
/// change does), which also voids unused login links. Round trips: the
/// session (1), the account's write (1).
pub async fn end_other_sessions(
    s: &Services,
    session: &Session,
    client: &Client,
) -> Result<(), EndError> {
    let who = session.load(s).await?;
    let jti = who.jti.clone();
    let event = event_message(s, AccountEvent::SessionEnded, &who.account.id, client)?;
    step_up::apply_change(s, session, &who, &Proven::Nothing, None, client, |mut account| {
        account.session_epoch += 1;
        account.session_keeper = Some(jti.clone());
        let writes =
            vec![AccountWrite::PutAccount(account), AccountWrite::PutMessage(event.clone())];
        Ok::<_, ChangeError>((writes, ()))
    })
    .await?;
    outbox::relay_notices(s, std::slice::from_ref(&event)).await;
    tracing::info!(account = %who.account.id, "other sessions ended");
    Ok(())
}
