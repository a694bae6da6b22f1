//! Security notices: when how an account is reached changes (an address
//! added, replaced or removed, the password changed or reset, the account
//! deleted), every address the account had before the change is told what
//! changed, when, from which network (masked), and what to do if it was
//! not them. A notice is an outgoing message written in the change's own
//! transaction, so it goes out exactly when the change commits.

use crate::address::Channel;
use crate::catalog::Locale;
use crate::crypto::Keys;
use crate::error::Fault;
use crate::messages::{self, Message};
use crate::ports::{AccountRecord, OutgoingMessage, Timestamp};
use crate::services::Services;
use crate::time::rfc3339;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// How long a notice may wait for delivery before it is of no use.
const NOTICE_SECS: i64 = 86_400;

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountChange {
    /// An address was bound where the channel had none.
    AddressAdded,
    /// A bound address was replaced by another.
    AddressReplaced,
    /// A bound address was removed.
    AddressRemoved,
    PasswordChanged,
    PasswordReset,
    AccountDeleted,
    /// An authenticator app was confirmed.
    FactorAdded,
    /// An authenticator app was removed.
    FactorRemoved,
    /// A recovery code was used to log in.
    RecoveryCodeUsed,
}

impl AccountChange {
    /// The account event integrators are told of it (a recovery code's use
    /// is a login, told as `logged_in`).
    pub fn event(self) -> Option<super::AccountEvent> {
        use super::AccountEvent as E;
        Some(match self {
            AccountChange::AddressAdded => E::AddressAdded,
            AccountChange::AddressReplaced => E::AddressReplaced,
            AccountChange::AddressRemoved => E::AddressRemoved,
            AccountChange::PasswordChanged => E::PasswordChanged,
            AccountChange::PasswordReset => E::PasswordReset,
            AccountChange::AccountDeleted => E::AccountDeleted,
            AccountChange::FactorAdded => E::FactorAdded,
            AccountChange::FactorRemoved => E::FactorRemoved,
            AccountChange::RecoveryCodeUsed => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountChange::AddressAdded => "address_added",
            AccountChange::AddressReplaced => "address_replaced",
            AccountChange::AddressRemoved => "address_removed",
            AccountChange::PasswordChanged => "password_changed",
            AccountChange::PasswordReset => "password_reset",
            AccountChange::AccountDeleted => "account_deleted",
            AccountChange::FactorAdded => "factor_added",
            AccountChange::FactorRemoved => "factor_removed",
            AccountChange::RecoveryCodeUsed => "recovery_code_used",
        }
    }
}

/// A notice as sealed in its outgoing message. It has no code, which is
/// how an opened message tells a notice from a code's message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub channel: Channel,
    /// The canonical address told (email or E.164).
    pub to: String,
    /// The account's locale tag (`en` when it has none).
    pub locale: String,
    pub change: AccountChange,
    /// The address the change concerns, masked (`+86*******8000`), if any.
    pub address: Option<String>,
    /// When the change was made.
    pub at: Timestamp,
    /// The network it was made from, masked (`203.0.113.0/24`).
    pub network: Option<String>,
    /// Whether the address told still leads to the account after the
    /// change (not for a replaced address, nor after a deletion): only then
    /// can a reset from it take the account back.
    pub kept: bool,
}

impl Notice {
    /// `email:…`/`sms:…`: the key suppression uses.
    pub fn address_key(&self) -> String {
        format!("{}:{}", self.channel.as_str(), self.to)
    }

    /// The message to hand to the provider.
    pub fn render(&self, app: &str) -> Result<Message, Fault> {
        let when = rfc3339(self.at);
        messages::security_notice(
            self.channel,
            &self.to,
            Locale::from_field(&self.locale),
            app,
            self.change.as_str(),
            self.address.as_deref(),
            &when,
            self.network.as_deref(),
            self.kept,
        )
    }

    /// The notice of a stored message, or `None` if it holds something else.
    pub fn open(keys: &Keys, m: &OutgoingMessage) -> Option<Notice> {
        serde_json::from_slice(&keys.open_message(&m.id, &m.sealed)?).ok()
    }
}

/// The notices of `change` to every address `before` (the account as it
/// was) had, sealed as outgoing messages for the change's transaction.
/// `address` is the address the change concerns (masked in the text);
/// `leaving` the canonical address the change takes from the account, if
/// one (a replaced address), which is told it no longer leads there.
pub fn notices(
    s: &Services,
    before: &AccountRecord,
    change: AccountChange,
    address: Option<String>,
    leaving: Option<&str>,
    client_ip: Option<IpAddr>,
) -> Result<Vec<OutgoingMessage>, Fault> {
    let now = s.clock.now();
    let locale = Locale::from_field(before.locale.as_deref().unwrap_or("en")).as_str().to_string();
    let addresses = [(Channel::Email, &before.email), (Channel::Sms, &before.phone)];
    addresses
        .into_iter()
        .filter_map(|(channel, to)| Some((channel, to.clone()?)))
        .map(|(channel, to)| {
            let kept = change != AccountChange::AccountDeleted && leaving != Some(to.as_str());
            let notice = Notice {
                kept,
                channel,
                to,
                locale: locale.clone(),
                change,
                address: address.clone(),
                at: now,
                network: client_ip.map(crate::network::masked),
            };
            super::contents::seal(&notice, &s.keys, s.new_id()?, now, now + NOTICE_SECS, &*s.random)
        })
        .collect()
}

/// Hands each committed notice to the relay (the stream does it when deployed).
pub async fn relay(s: &Services, messages: &[OutgoingMessage]) {
    for m in messages {
        s.relay.committed(&m.id).await;
    }
}
