//! What an outgoing message holds, sealed: its kind, address, code and
//! locale, and what to take back if it fails for good.

use crate::address::Channel;
use crate::catalog::Locale;
use crate::crypto::Keys;
use crate::error::Fault;
use crate::messages::{self, Message};
use crate::ports::{Counter, OutgoingMessage, Random, Timestamp};
use crate::purpose::Purpose;
use crate::templates::TemplateSets;
use serde::{Deserialize, Serialize};

/// What goes out: decided at delivery (`outbox::what_goes_out`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The code.
    Code,
    /// "You already have an account" (a sign-up to an owned address).
    AccountExists,
    /// "Another account tried to add your address".
    BindAttempt,
    /// Nothing: the purpose's rule did not hold and no one is told.
    Silent,
}

/// The sealed contents. Serialised, then padded to a fixed size before
/// sealing, so stored messages of every kind look alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contents {
    pub channel: Channel,
    /// The canonical address (email or E.164).
    pub to: String,
    /// The country calling code of a phone number.
    pub country: Option<u16>,
    pub purpose: Purpose,
    /// The locale tag the message is written in…
    pub locale: String,
    /// …unless the address belongs to an account with a locale of its own
    /// (the request named none)…
    pub owners_locale: bool,
    /// …or the logged-in caller's account has one (the request named none).
    #[serde(default)]
    pub callers_locale: bool,
    /// The code the send stored (a decoy's too, though it never goes out).
    pub code: String,
    pub code_expires_at: Timestamp,
    /// The destination record that holds the code.
    pub record_key: String,
    /// When the send was made: the entry in the record's sends to take back.
    pub sent_at: Timestamp,
    /// The counters to refund if the message fails for good.
    pub refunds: Vec<Counter>,
    /// The named template set a code is written with (`None`: the built-in one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The logged-in account that asked, if any: a `bind` to an address it
    /// owns itself gets its code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

/// Sealed contents are padded to a multiple of this many bytes.
const PAD: usize = 512;

/// Seals what a message holds (a code's contents or a notice) into a new
/// outgoing message, padded so every kind looks alike.
pub fn seal(
    what: &impl Serialize,
    keys: &Keys,
    id: String,
    now: Timestamp,
    expires_at: Timestamp,
    random: &dyn Random,
) -> Result<OutgoingMessage, Fault> {
    let mut plain = serde_json::to_vec(what).map_err(|e| Fault::internal("message", e))?;
    // JSON ignores trailing whitespace.
    plain.resize(plain.len().div_ceil(PAD) * PAD, b' ');
    let sealed = keys.seal_message(&id, &plain, random)?;
    Ok(OutgoingMessage { id, sealed, created_at: now, expires_at, attempts: 0 })
}

impl Contents {
    /// `email:…`/`sms:…`: the key suppression uses.
    pub fn address_key(&self) -> String {
        format!("{}:{}", self.channel.as_str(), self.to)
    }

    /// The contents of a stored message, or `None` if they cannot be opened.
    pub fn open(keys: &Keys, m: &OutgoingMessage) -> Option<Contents> {
        serde_json::from_slice(&keys.open_message(&m.id, &m.sealed)?).ok()
    }

    /// The message of `kind` to hand to the provider, in `locale` (or the
    /// contents' own); a code's SMS ends with the WebOTP line when `webotp`
    /// names the app's domain. `None` for a silent one.
    pub fn render(
        &self,
        kind: Kind,
        app: &str,
        locale: Option<&str>,
        webotp: Option<&str>,
        templates: &TemplateSets,
    ) -> Result<Option<Message>, Fault> {
        let locale = Locale::from_field(locale.unwrap_or(&self.locale));
        let (to, channel) = (self.to.as_str(), self.channel);
        Ok(Some(match kind {
            Kind::Code => {
                let ttl = self.code_expires_at - self.sent_at;
                let custom = self.template.as_deref().map(|name| (templates, name));
                let (purpose, code) = (self.purpose, &self.code);
                let mut m = messages::code(channel, to, purpose, locale, app, code, ttl, custom)?;
                if let (Channel::Sms, Some(domain)) = (channel, webotp) {
                    m.text = format!("{}\n\n@{domain} #{}", m.text.trim_end(), self.code);
                }
                m
            }
            Kind::AccountExists => messages::account_exists(channel, to, locale, app)?,
            Kind::BindAttempt => messages::bind_attempt(channel, to, locale, app)?,
            Kind::Silent => return Ok(None),
        }))
    }
}
