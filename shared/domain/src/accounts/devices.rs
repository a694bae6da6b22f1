//! Sessions per device: every login records its session (the device it
//! came from, its network masked, when it started and ends) in the login's
//! own write. `GET /v1/me/sessions` lists the live ones,
//! `DELETE /v1/me/sessions/{id}` ends one, and
//! `DELETE /v1/me/sessions?scope=others` ends all but the caller's.
//!
//! A session is still checked offline plus its logout marker: ending one
//! writes that marker (and drops the record) in one transaction; ending
//! the others raises the account's session epoch, keeping the caller's.

use super::common::{SessionIssued, issue};
use super::step_up::{self, ChangeError, Proven};
use crate::error::Fault;
use crate::outbox::{self, AccountEvent, EventRecord};
use crate::ports::{AccountRecord, AccountWrite, ApplyOutcome, OutgoingMessage, SessionRecord};
use crate::services::Services;
use crate::sessions::{AuthError, Session};
use crate::time::rfc3339;
use serde::Serialize;
use std::net::IpAddr;

/// The caller of a login, as its request shows it.
#[derive(Clone, Debug, Default)]
pub struct Client {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

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

/// The outgoing message of account event `event` of `account_id`, made by
/// `client`: to write in the action's own transaction, then relay.
pub(super) fn event_message(
    s: &Services,
    event: AccountEvent,
    account_id: &str,
    client: &Client,
) -> Result<OutgoingMessage, Fault> {
    outbox::event_message(s, &event_record(s, event, account_id, client))
}

fn event_record(
    s: &Services,
    event: AccountEvent,
    account_id: &str,
    client: &Client,
) -> EventRecord {
    EventRecord {
        event,
        account_id: account_id.to_string(),
        at: s.clock.now(),
        network: client.ip.map_or_else(|| "unknown".into(), crate::network::masked),
        device: device_label(client.user_agent.as_deref()),
    }
}

/// Tells integrators of a wrong password at `address_key` (`account`, if
/// the address has one), at most once a minute per address: one
/// conditional write, the same for an address without an account.
pub(super) async fn tell_login_failed(
    s: &Services,
    address_key: &str,
    account: Option<&AccountRecord>,
    client: &Client,
) -> Result<(), Fault> {
    let id = account.map_or("", |a| a.id.as_str());
    let record = event_record(s, AccountEvent::LoginFailed, id, client);
    let m = outbox::login_failed_message(s, address_key, &record)?;
    let outcome = s.store.apply(&[AccountWrite::PutMessage(m.clone())], record.at).await?;
    if outcome == ApplyOutcome::Committed {
        outbox::relay_notices(s, std::slice::from_ref(&m)).await;
    }
    Ok(())
}

/// "Chrome on macOS", from a `User-Agent`: the browser (or client) and the
/// system, each from a short list; what is not on it is "Unknown".
pub fn device_label(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or("");
    let has = |s: &str| ua.contains(s);
    let browser = if has("Edg/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("Firefox/") || has("FxiOS/") {
        "Firefox"
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else {
        let lower = ua.to_ascii_lowercase();
        ["curl", "Wget", "okhttp", "python-requests", "node"]
            .into_iter()
            .find(|t| lower.starts_with(&t.to_ascii_lowercase()))
            .unwrap_or("Unknown browser")
    };
    let system = if has("iPhone") || has("iPad") || has("iPod") {
        "iOS"
    } else if has("Android") {
        "Android"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("Windows") {
        "Windows"
    } else if has("Linux") {
        "Linux"
    } else {
        return browser.to_string();
    };
    format!("{browser} on {system}")
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
    if let ApplyOutcome::Refused(_) = s.store.apply(&writes, now).await? {
        // Only the caller's session can refuse it.
        return Err(EndError::Unauthorized);
    }
    outbox::relay_notices(s, std::slice::from_ref(&event)).await;
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

#[cfg(test)]
mod tests {
    use super::device_label;

    #[test]
    fn devices_read_from_user_agents() {
        let mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
        for (ua, label) in [
            (Some(mac), "Chrome on macOS"),
            (Some(iphone), "Safari on iOS"),
            (Some(edge), "Edge on Windows"),
            (Some(firefox), "Firefox on Linux"),
            (Some(android), "Chrome on Android"),
            (Some("curl/8.5.0"), "curl"),
            (Some(""), "Unknown browser"),
            (None, "Unknown browser"),
        ] {
            assert_eq!(device_label(ua), label, "{ua:?}");
        }
    }
}
