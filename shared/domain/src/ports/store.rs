//! The store: one port per kind of item. Every method's doc says what it
//! returns when a condition does not hold; conditional refusals are domain
//! outcomes (`SendOutcome`, `SaveOutcome`, `ApplyOutcome`, `CountOutcome`),
//! and only an outage or an unreadable item is a `StoreError`.

pub use super::error::StoreError;
use super::guard::{GuardSend, GuardTouch};
pub use super::records::*;
use super::system::Timestamp;
use async_trait::async_trait;

#[async_trait]
pub trait CaptchaStore: Send + Sync {
    /// Saves a new captcha. Errors: `Unavailable`.
    async fn put_captcha(&self, captcha: &StoredCaptcha) -> Result<(), StoreError>;

    /// Removes the captcha atomically and returns it if it existed and had
    /// not expired at `now`. Of any number of concurrent calls for one id, at
    /// most one gets `Some`. An expired item that TTL has not yet deleted is
    /// removed and reported as `None`. Errors: `Unavailable`, `Corrupt`.
    async fn take_captcha(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<StoredCaptcha>, StoreError>;

    /// Records that the proof-of-work challenge with this nonce was used:
    /// `true` the first time, `false` ever after. Of any number of
    /// concurrent calls for one nonce, at most one gets `true`. The record
    /// lives until `expires_at`, the challenge's own expiry (one that has
    /// ended at `now` counts as gone). Errors: `Unavailable`.
    async fn spend_challenge(
        &self,
        nonce: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
}

/// The limits a send without a read first must find unspent in the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendLimits {
    /// The newest send must be at least this old…
    pub resend_secs: i64,
    /// …and fewer than `window_max` sends younger than `window_secs`.
    pub window_secs: i64,
    pub window_max: u32,
    /// When a code is live (`DestRecord::open_code`), and when the
    /// destination is hardened: then a new code is long, so it is written
    /// from a read.
    pub hardening: Hardening,
    /// A write without a read adds to the record's sends (and a wrong
    /// check to its failures) without dropping what has aged out: a record
    /// holding this many of either is written from a read instead, which
    /// trims them, so no record grows without bound.
    pub keep: u32,
}

impl SendLimits {
    /// The store's condition for a `NewCode` write into `r` (as stored) at
    /// `now`: no live code, not hardened, the resend interval past, the
    /// window not full, fewer than `keep` sends and failures held.
    pub fn admit(&self, r: &DestRecord, now: Timestamp) -> bool {
        let h = &self.hardening;
        let live = r.open_code(now, h).is_some();
        let hardened = r.hardened(h.fail_max, now - h.remember_secs);
        let nth = self.window_max.saturating_sub(1) as usize;
        let resent = r.sends.first().is_none_or(|&t| t <= now - self.resend_secs);
        let room = r.sends.get(nth).is_none_or(|&t| t <= now - self.window_secs);
        let small = r.sends.len().max(r.fails.len()) < self.keep as usize;
        !live && !hardened && resent && room && small
    }
}

/// How a send's transaction writes the destination's record.
#[derive(Clone, Copy, Debug)]
pub enum RecordWrite<'a> {
    /// Replaces it, if it is still at `expected_version` (else `Conflict`).
    Replace { record: &'a DestRecord, expected_version: u64 },
    /// Without reading it first: puts `code` in, this send first in its
    /// window (at `now`), the version up by one and the TTL at
    /// `expires_at`; the failed checks and the token stay. Only if the
    /// record holds no live code (none, expired, or checked
    /// `max_attempts` times), fewer than `limits.keep` sends and failures,
    /// and `limits` allow a send at `now`; else `Occupied` with the record
    /// as stored.
    NewCode { key: &'a str, code: &'a LiveCode, limits: SendLimits, expires_at: Timestamp },
}

/// The outcome of a send's transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Captcha used up, record saved, every counter incremented.
    Committed,
    /// The captcha is wrong, used, expired or unknown (it is not consumed).
    CaptchaRejected,
    /// The destination record changed since it was read.
    Conflict,
    /// A `NewCode` write found a live code or a spent limit: the record as
    /// stored (empty at its version if expired, as `load_destination`).
    Occupied(DestRecord),
    /// The session the send was made under no longer stands.
    SessionRefused,
    /// The counter named `key` is at its limit until `until`.
    LimitReached { kind: LimitKind, key: String, until: Timestamp },
    /// The SMS guard blocks the destination's prefix or country until `until`.
    Blocked { until: Timestamp },
}

/// Everything a send's transaction writes.
#[derive(Clone, Copy, Debug)]
pub struct SendWrite<'a> {
    /// The captcha to use up.
    pub captcha: Option<SendCaptcha<'a>>,
    pub record: RecordWrite<'a>,
    /// The session the send is made under, which must still stand.
    pub session: Option<&'a SessionCheck>,
    pub counters: &'a [Counter],
    /// The SMS guard's tallies (a text message that is not to a test number).
    pub guard: Option<&'a GuardSend>,
    pub message: &'a OutgoingMessage,
}

/// The captcha a send uses up inside its transaction; refused
/// (`SendOutcome::CaptchaRejected`) if it cannot be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendCaptcha<'a> {
    /// An image captcha: it must hold this answer hash and be unexpired;
    /// it is removed.
    Image { id: &'a str, hash: &'a [u8; 32] },
    /// A proof-of-work challenge whose proof held: it must not be spent yet
    /// (`CaptchaStore::spend_challenge`); it is, until `expires_at`.
    Challenge { nonce: &'a str, expires_at: Timestamp },
}

/// The outcome of a conditional save of a destination record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveOutcome {
    Committed,
    /// Another write came first: the record is no longer at the expected version.
    Conflict,
}

/// One guess at a destination's code, decided by the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guess {
    /// The destination record's key.
    pub key: String,
    /// The keyed hash of the code guessed (`LiveCode::hash`).
    pub hash: [u8; 32],
    /// Stored in place of the code when the guess is right.
    pub token: LiveToken,
    /// Which codes are open to checks (`DestRecord::open_code`).
    pub hardening: Hardening,
    /// The caller's network (its tag) and the hour (`now / 3600`): checks
    /// are refused once `network_max` failures from that network, or
    /// `ceiling` from all, are counted in the hour.
    pub network: String,
    pub hour: i64,
    pub network_max: u32,
    pub ceiling: u32,
    /// A record holding this many failures takes no blind check (the check
    /// is made from a read, which trims them), so it never grows unbounded.
    pub keep: u32,
    /// The record's TTL after either write.
    pub expires_at: Timestamp,
    /// The session the check is made under, if any: it must still stand.
    pub session: Option<SessionCheck>,
    /// A text message's code: a right guess is one conversion more in the
    /// SMS guard's tallies.
    pub converts: Option<GuardTouch>,
}

impl Guess {
    /// The store's condition and decision for `r` (as stored) at `now`:
    /// `None` when no code is open to checks (or it has no hash) or this
    /// network, or all, have spent the hour's failures; else whether the
    /// guess is right.
    pub fn judge(&self, r: &DestRecord, now: Timestamp) -> Option<bool> {
        let small = r.fails.len() < self.keep as usize;
        let code = self.open_code(r, now).filter(|_| small)?;
        code.hash.map(|hash| hash == self.hash)
    }

    /// The code, if it takes a check from this network now: open
    /// (`DestRecord::open_code`), and neither the network's nor the hour's
    /// failures spent.
    pub fn open_code<'r>(&self, r: &'r DestRecord, now: Timestamp) -> Option<&'r LiveCode> {
        let (total, mine) = r.checks.at(self.hour, &self.network);
        let open = mine < self.network_max && total < self.ceiling;
        r.open_code(now, &self.hardening).filter(|_| open)
    }
}

/// What the store made of a `Guess`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(clippy::large_enum_variant, reason = "one per check; boxing would buy nothing")]
pub enum GuessOutcome {
    /// The code was live and right: removed, the token stored.
    Right,
    /// The code was live and wrong: the check counted (`attempts` now),
    /// the failure added to the record's failed checks and to the hour's
    /// (`network_fails` from this network now); whether the code is long,
    /// and whether it is now closed to this network (`Guess::judge` finds
    /// nothing to decide: spent, hardened, or a limit of the hour reached).
    Wrong { attempts: u32, network_fails: u32, long: bool, closed: bool },
    /// Nothing was written — no live code, or checks refused: the record as
    /// stored (empty at its version if expired, as `load_destination`).
    Refused(DestRecord),
    /// Nothing was written: the guess's session no longer stands.
    SessionRefused,
    /// Nothing was written: another write held the record at that moment.
    Busy,
}

/// The outcome of adding one to a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountOutcome {
    /// Added; `count` is the window's count now, this one included.
    Counted { count: u32 },
    /// At its limit until `until`; nothing was added.
    LimitReached { until: Timestamp },
}

#[async_trait]
pub trait CodeStore: Send + Sync {
    /// The destination's record: an empty one at its stored version if
    /// missing or expired at `now`. Errors: `Unavailable`, `Corrupt`.
    async fn load_destination(&self, key: &str, now: Timestamp) -> Result<DestRecord, StoreError>;

    /// All or nothing, one round trip: consumes the captcha `(id, answer
    /// hash)` if given (it must match and be unexpired at `now`), writes
    /// the record (`RecordWrite`), adds one to each counter below its
    /// limit, adds the send to the SMS guard's tallies (`GuardSend`), and
    /// stores the outgoing `message` (pending) — if `session`, when given,
    /// still stands. A refusal names the part that refused:
    /// `CaptchaRejected`, `Conflict`, `Occupied`, `LimitReached`,
    /// `Blocked` or `SessionRefused`, in that order; nothing is written
    /// then. Errors: `Unavailable`.
    async fn commit_send(
        &self,
        send: &SendWrite<'_>,
        now: Timestamp,
    ) -> Result<SendOutcome, StoreError>;

    /// Checks a guess against the record's code at `now` and writes what
    /// follows, in one round trip, without a read first. The code must be
    /// live (unexpired, checked fewer than `max_attempts` times) and
    /// checks allowed (fewer than `fail_max` failures after
    /// `fails_since`); then a right guess swaps the code for the token, a
    /// wrong one is counted; either way the version goes up by one. Of
    /// concurrent right guesses at most one is `Right`. A guess made under
    /// a session that no longer stands is `SessionRefused` and writes
    /// nothing. Errors: `Unavailable`, `Corrupt`.
    async fn guess_code(&self, guess: &Guess, now: Timestamp) -> Result<GuessOutcome, StoreError>;

    /// Saves `record` if the stored version is still `expected_version`;
    /// `Conflict` when another write came first. Errors: `Unavailable`.
    async fn save_destination(
        &self,
        record: &DestRecord,
        expected_version: u64,
    ) -> Result<SaveOutcome, StoreError>;
}

#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Adds one to a counter below its limit; `LimitReached` at the limit
    /// (nothing added). Errors: `Unavailable`.
    async fn increment(
        &self,
        counter: &Counter,
        now: Timestamp,
    ) -> Result<CountOutcome, StoreError>;

    /// Takes one back from each counter (a send the provider refused, or a
    /// login that passed, is not charged); a counter already at zero or gone
    /// stays so. Errors: `Unavailable`.
    async fn refund(&self, counters: &[Counter]) -> Result<(), StoreError>;
}

/// One part of an all-or-nothing account write.
#[derive(Clone, Debug)]
pub enum AccountWrite {
    /// Creates the account (`version` 0: it must not exist) or updates it
    /// (it must still be at `version`); stored with `version + 1`.
    PutAccount(AccountRecord),
    /// The address must be free or already the account's.
    ClaimAddress { key: String, account_id: String },
    /// The address must belong to the account.
    ReleaseAddress { key: String, account_id: String },
    /// Uses a code or verification token up (see `codes::Redemption`).
    SaveDestination { record: DestRecord, expected_version: u64 },
    /// Uses an unexpired one-time secret up.
    UseSecret { kind: SecretKind, hash: [u8; 32] },
    /// Deletes the account; it must still be at `version`.
    DeleteAccount { id: String, version: u64 },
    /// The write is made under this session, which must still stand
    /// (`SessionCheck::stands`): a logout, a password change or reset, or
    /// a deletion that commits first refuses the whole write.
    Session(SessionCheck),
    /// A new outgoing message (a security notice), pending delivery.
    PutMessage(OutgoingMessage),
    /// A text message's code was used: one conversion more in the SMS
    /// guard's tallies (no condition).
    Converted(GuardTouch),
    /// Records a new session (no condition: its id is new).
    PutSession(SessionRecord),
    /// Ends a session of the account: its record goes (if it is there),
    /// and the session is refused until `expires_at` — if it was not ended
    /// already (a live logout marker), else `AlreadyEnded`.
    EndSession { account_id: String, jti: String, expires_at: Timestamp },
}

/// Why an all-or-nothing account write was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The account changed since it was read (or, for a new one, its id exists).
    AccountChanged,
    /// Another account owns the address.
    AddressTaken,
    /// The code or verification token was used or checked by another request first.
    ProofUsed,
    /// The one-time secret is unknown, used or expired.
    SecretUnusable,
    /// The session the write was made under was logged out or revoked.
    SessionEnded,
    /// The session to end was ended already.
    AlreadyEnded,
}

impl AccountWrite {
    /// What it means when this write's condition does not hold. Every
    /// adapter reports a refused transaction through this.
    pub fn refusal(&self) -> Refusal {
        match self {
            AccountWrite::PutAccount(_)
            | AccountWrite::ReleaseAddress { .. }
            | AccountWrite::DeleteAccount { .. }
            | AccountWrite::PutMessage(_)
            | AccountWrite::PutSession(_)
            | AccountWrite::Converted(_) => Refusal::AccountChanged,
            AccountWrite::EndSession { .. } => Refusal::AlreadyEnded,
            AccountWrite::Session(_) => Refusal::SessionEnded,
            AccountWrite::ClaimAddress { .. } => Refusal::AddressTaken,
            AccountWrite::SaveDestination { .. } => Refusal::ProofUsed,
            AccountWrite::UseSecret { .. } => Refusal::SecretUnusable,
        }
    }
}

/// The outcome of an all-or-nothing account write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    Committed,
    /// Nothing was written: the first write whose condition failed says why.
    Refused(Refusal),
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Errors: `Unavailable`, `Corrupt`.
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError>;

    /// The account owning an address key (`email:…`, `sms:…`), in one
    /// round trip. Errors: `Unavailable`, `Corrupt`.
    async fn account_by_address(&self, key: &str) -> Result<Option<AccountRecord>, StoreError>;

    /// The account and whether session `jti` was logged out, in one round trip.
    async fn load_session(
        &self,
        account_id: &str,
        jti: &str,
        now: Timestamp,
    ) -> Result<(Option<AccountRecord>, bool), StoreError>;

    /// Applies every write or none, in one round trip; `Refused` names the
    /// first write whose condition did not hold. Errors: `Unavailable`.
    async fn apply(
        &self,
        writes: &[AccountWrite],
        now: Timestamp,
    ) -> Result<ApplyOutcome, StoreError>;

    /// Refuses session `jti` until `expires_at` (when it would expire anyway).
    async fn revoke_session(&self, jti: &str, expires_at: Timestamp) -> Result<(), StoreError>;

    /// The account's session records (ended ones may be among them until
    /// their TTL: `SessionRecord::live` tells), in one round trip.
    /// Errors: `Unavailable`, `Corrupt`.
    async fn list_sessions(&self, account_id: &str) -> Result<Vec<SessionRecord>, StoreError>;
}

#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Stores a one-time secret's hash for `owner` until `expires_at`.
    /// Errors: `Unavailable`.
    async fn put_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        owner: &SecretOwner,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Uses a one-time secret up: of concurrent calls at most one gets its
    /// owner; an unknown, used or expired secret is `None` (an expired
    /// one is removed all the same). Errors: `Unavailable`.
    async fn take_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SecretOwner>, StoreError>;

    /// Whom an unexpired one-time secret belongs to, without using it up:
    /// `None` when unknown, used or expired at `now`. Errors: `Unavailable`,
    /// `Corrupt`.
    async fn peek_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SecretOwner>, StoreError>;
}

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Stores a new key (its id is new). Errors: `Unavailable`.
    async fn put_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;

    /// The key with this id, unless revoked. Errors: `Unavailable`, `Corrupt`.
    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Revokes (deletes) the key; whether it existed. Errors: `Unavailable`.
    async fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError>;
}
