//! What the store holds: captchas, destination records (codes, checks,
//! tokens), counters, outgoing messages, accounts, one-time secrets and API
//! keys, as the use cases see them. The operations on them are in `store`.

use super::system::Timestamp;

/// A captcha as stored: never the answer itself, only its keyed hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCaptcha {
    pub id: String,
    pub answer_hash: [u8; 32],
    pub expires_at: Timestamp,
}

/// The live code of a destination: sealed (AEAD) for its messages, and its
/// keyed hash for checks the store decides; never in plain text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveCode {
    pub sealed: Vec<u8>,
    /// `None` for a code stored before codes carried a hash: it is checked
    /// by reading it.
    pub hash: Option<[u8; 32]>,
    pub expires_at: Timestamp,
    pub attempts: u32,
    /// A code of the longer length, made while the destination is hardened:
    /// its checks are bounded per network and per hour, not per code.
    pub long: bool,
}

/// The id of the verification token issued for a destination's last
/// verified code, until it is used or expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveToken {
    pub jti: String,
    pub expires_at: Timestamp,
}

/// Everything about one (purpose, destination): when codes were sent, the
/// live code, recent failed checks and the live verification token.
/// Versioned: a write names the version it read and fails if another
/// request wrote in between (optimistic concurrency).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DestRecord {
    /// `<purpose>|<channel>:<address>`.
    pub key: String,
    /// 0 when nothing is stored yet.
    pub version: u64,
    /// Send times, newest first.
    pub sends: Vec<Timestamp>,
    pub code: Option<LiveCode>,
    /// Failed check times, newest first.
    pub fails: Vec<Timestamp>,
    /// Failed checks in the current hour: in all, and per client network.
    pub checks: HourChecks,
    pub token: Option<LiveToken>,
    /// When all of the above is irrelevant (the TTL).
    pub expires_at: Timestamp,
}

/// The failed checks of one (purpose, destination) in one clock hour, in
/// all and per client network (by its tag: `crypto::Keys::network_tag`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HourChecks {
    /// The hour (`timestamp / 3600`) the counts are of.
    pub hour: i64,
    pub total: u32,
    pub by_network: std::collections::BTreeMap<String, u32>,
}

impl HourChecks {
    /// The counts in `hour` (none if these are of another): in all, and from `network`.
    pub fn at(&self, hour: i64, network: &str) -> (u32, u32) {
        if self.hour != hour {
            return (0, 0);
        }
        (self.total, self.by_network.get(network).copied().unwrap_or(0))
    }

    /// One more failure from `network` in `hour`.
    pub fn count(&mut self, hour: i64, network: &str) {
        if self.hour != hour {
            *self = HourChecks { hour, ..Default::default() };
        }
        self.total += 1;
        *self.by_network.entry(network.to_string()).or_default() += 1;
    }
}

impl DestRecord {
    /// Whether the destination is hardened: `fail_max` failed checks since
    /// `since`. Its short codes are dead, and new codes are long.
    pub fn hardened(&self, fail_max: u32, since: Timestamp) -> bool {
        self.fails.get(fail_max.saturating_sub(1) as usize).is_some_and(|&t| t > since)
    }

    /// Whether the code is live at `now` and open to checks: unexpired and,
    /// if short, with checks left and the destination not hardened.
    pub fn open_code(&self, now: Timestamp, h: &Hardening) -> Option<&LiveCode> {
        let hardened = self.hardened(h.fail_max, now - h.remember_secs);
        self.code.as_ref().filter(|c| {
            c.expires_at > now && (c.long || (c.attempts < h.max_attempts && !hardened))
        })
    }
}

/// When a destination's codes are short and die after `max_attempts`
/// checks: until `fail_max` failures within `remember_secs` harden it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hardening {
    pub max_attempts: u32,
    pub fail_max: u32,
    pub remember_secs: i64,
}

/// What a counter limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LimitKind {
    /// Sends per client IP.
    Ip,
    /// Text messages per day, all countries.
    SmsDaily,
    /// Text messages per day to one country.
    SmsCountry,
    /// Failed password logins.
    FailedLogins,
    /// `bind` sends to one address from any account, and by one account.
    BindSends,
    /// Security notices to one address.
    Notices,
    /// Text messages per destination prefix in a clock hour (the SMS guard).
    SmsPrefix,
}

/// A counter in a fixed window: `key` names the window; an increment is
/// refused once the count has reached `limit`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counter {
    pub key: String,
    pub kind: LimitKind,
    pub limit: u32,
    pub expires_at: Timestamp,
}

/// An outgoing message as stored: everything about it (kind, address,
/// code, locale) is sealed (AEAD) under the message's id, so the item shows
/// the same shape for a code, a notice and a message that is never sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub id: String,
    pub sealed: Vec<u8>,
    pub created_at: Timestamp,
    /// The TTL: after this the message is of no use to anyone.
    pub expires_at: Timestamp,
    /// Delivery attempts so far, this one included once claimed.
    pub attempts: u32,
}

/// A session that must still stand when a write is made, checked by the
/// store inside that write: its account exists, it was issued under the
/// account's session epoch (or it is the session that raised it), and it
/// was not logged out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionCheck {
    pub account_id: String,
    pub jti: String,
    pub epoch: u64,
}

impl SessionCheck {
    /// Whether it stands, given its account (if it exists) and whether
    /// this session was logged out.
    pub fn stands(&self, account: Option<&AccountRecord>, logged_out: bool) -> bool {
        let current = |a: &AccountRecord| {
            self.epoch >= a.session_epoch || a.session_keeper.as_deref() == Some(self.jti.as_str())
        };
        !logged_out && account.is_some_and(current)
    }
}

/// A session as the account's list of devices shows it: written with the
/// login that made it, ended by a logout or from another session, gone
/// (TTL) when it would have expired. Never the token itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionRecord {
    pub account_id: String,
    /// The token's id (`jti`): the session's id in the list.
    pub jti: String,
    /// What logged in, from its `User-Agent` ("Chrome on macOS").
    pub device: String,
    /// The network it logged in from, masked (`203.0.113.0/24`).
    pub network: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The account's session epoch when it was issued: a later epoch ends
    /// it (unless it is the account's `session_keeper`).
    pub epoch: u64,
}

impl SessionRecord {
    /// Whether the session still stands for `account` at `now` (as far as
    /// the record tells: a logout deletes the record with its marker).
    pub fn live(&self, account: &AccountRecord, now: Timestamp) -> bool {
        let check = SessionCheck {
            account_id: self.account_id.clone(),
            jti: self.jti.clone(),
            epoch: self.epoch,
        };
        self.expires_at > now && check.stands(Some(account), false)
    }
}

/// An account as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: String,
    /// 0 before it is stored; every update names the version it read.
    pub version: u64,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password_hash: Option<String>,
    pub display_name: Option<String>,
    pub locale: Option<String>,
    pub created_at: Timestamp,
    /// Sessions issued under an older epoch are revoked…
    pub session_epoch: u64,
    /// …except this one (the session that changed the password).
    pub session_keeper: Option<String>,
    /// Authenticator apps (TOTP), confirmed or pending.
    pub factors: Vec<TotpFactor>,
    /// The keyed hashes of its unused recovery codes.
    pub recovery_codes: Vec<[u8; 32]>,
}

/// An authenticator app (TOTP, RFC 6238) of an account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TotpFactor {
    pub id: String,
    /// The shared secret, sealed (AEAD) to the account and the factor.
    pub sealed_secret: Vec<u8>,
    pub created_at: Timestamp,
    /// Pending until a code from it is shown (`POST /v1/me/factors/totp/confirm`).
    pub confirmed: bool,
    /// The last time step a code was accepted for: it and older steps are
    /// refused from then on, so a code is used once.
    pub last_step: i64,
    /// Wrong codes given to confirm it while pending.
    pub attempts: u32,
}

impl AccountRecord {
    /// Whether logging in takes a second step (a confirmed authenticator).
    pub fn has_second_factor(&self) -> bool {
        self.factors.iter().any(|f| f.confirmed)
    }

    /// The ownership keys of its addresses (`email:…`, `sms:…`).
    pub fn address_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(e) = &self.email {
            keys.push(format!("email:{e}"));
        }
        if let Some(p) = &self.phone {
            keys.push(format!("sms:{p}"));
        }
        keys
    }
}

/// Whom a one-time secret belongs to: the account, and its session epoch
/// when the secret was made (a password change or reset raises the epoch,
/// which revokes the account's unused login links with its sessions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretOwner {
    pub account_id: String,
    pub session_epoch: u64,
}

/// What a one-time secret (stored only as its keyed hash) is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    LoginLink,
    Invite,
}

/// A server's API key as stored: its id, a name for people, and only the
/// keyed hash of its secret part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub hash: [u8; 32],
    pub created_at: Timestamp,
}
