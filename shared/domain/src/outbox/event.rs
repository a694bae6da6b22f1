//! Account events for integrators: what happened to an account (registered,
//! logged in, a password changed, …), written as an outgoing message in the
//! action's own transaction and published by `deliver` — so an event goes
//! out exactly when its action commits, at least once, under a stable id.
//! An event carries the account id, the time, the network (masked) and the
//! device; never an address, a code, a token or a password.

use super::contents::seal;
use crate::crypto::Keys;
use crate::error::Fault;
use crate::ports::{OutgoingMessage, PublishedEvent, Timestamp};
use crate::services::Services;
use crate::time::rfc3339;
use serde::{Deserialize, Serialize};

/// How long an event may wait to be published.
const EVENT_SECS: i64 = 86_400;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountEvent {
    Registered,
    LoggedIn,
    /// A wrong password (at most one a minute per address is told).
    LoginFailed,
    LoggedOut,
    PasswordChanged,
    PasswordReset,
    AddressAdded,
    AddressReplaced,
    AddressRemoved,
    /// A session ended from another (or all the others at once).
    SessionEnded,
    FactorAdded,
    FactorRemoved,
    AccountDeleted,
}

impl AccountEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountEvent::Registered => "registered",
            AccountEvent::LoggedIn => "logged_in",
            AccountEvent::LoginFailed => "login_failed",
            AccountEvent::LoggedOut => "logged_out",
            AccountEvent::PasswordChanged => "password_changed",
            AccountEvent::PasswordReset => "password_reset",
            AccountEvent::AddressAdded => "address_added",
            AccountEvent::AddressReplaced => "address_replaced",
            AccountEvent::AddressRemoved => "address_removed",
            AccountEvent::SessionEnded => "session_ended",
            AccountEvent::FactorAdded => "factor_added",
            AccountEvent::FactorRemoved => "factor_removed",
            AccountEvent::AccountDeleted => "account_deleted",
        }
    }
}

/// An event as sealed in its outgoing message. Its fields tell it from a
/// code's contents and a notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRecord {
    pub event: AccountEvent,
    pub account_id: String,
    pub at: Timestamp,
    /// Masked (`203.0.113.0/24`), or `unknown`.
    pub network: String,
    /// From `User-Agent` ("Chrome on macOS").
    pub device: String,
}

impl EventRecord {
    /// The event a stored message holds, if it holds one.
    pub fn open(keys: &Keys, m: &OutgoingMessage) -> Option<EventRecord> {
        serde_json::from_slice(&keys.open_message(&m.id, &m.sealed)?).ok()
    }

    /// As published, under the message's id.
    pub fn published(&self, id: &str) -> PublishedEvent {
        let time = rfc3339(self.at);
        PublishedEvent {
            id: id.to_string(),
            detail_type: format!("account.{}", self.event.as_str()),
            time: time.clone(),
            at: self.at,
            detail: serde_json::json!({
                "event_id": id,
                "event": self.event.as_str(),
                "account_id": self.account_id,
                "time": time,
                "network": self.network,
                "device": self.device,
            }),
        }
    }
}

/// The outgoing message of `record`, to write in its action's transaction.
pub fn event_message(s: &Services, record: &EventRecord) -> Result<OutgoingMessage, Fault> {
    let now = s.clock.now();
    seal(record, &s.keys, s.new_id()?, now, now + EVENT_SECS, &*s.random)
}

/// The message of a failed password login at `address_key`: its id is the
/// address's and the minute's (keyed), so the store takes one a minute per
/// address. `record` names no account (`account_id` empty) for an address
/// without one: the same write, which publishes nothing, so the store tells
/// no one which addresses have accounts.
pub fn login_failed_message(
    s: &Services,
    address_key: &str,
    record: &EventRecord,
) -> Result<OutgoingMessage, Fault> {
    let minute = record.at.div_euclid(60);
    let id =
        crate::crypto::hex(&s.keys.secret_hash("login_failed", &format!("{address_key}|{minute}")))
            [..32]
            .to_string();
    seal(record, &s.keys, id, record.at, record.at + EVENT_SECS, &*s.random)
}
