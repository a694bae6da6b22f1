//! Ports: the narrow interfaces the use cases depend on. Adapters live in
//! `store` (memory, DynamoDB) and `captcha` (the renderer); tests substitute
//! their own clock, randomness and renderer.

use async_trait::async_trait;
use std::error::Error as StdError;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch.
pub type Timestamp = i64;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// A clock tests move by hand.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start)))
    }
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    pub fn set(&self, t: Timestamp) {
        self.0.store(t, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the system's random source failed")]
pub struct RandomError(#[source] pub Box<dyn StdError + Send + Sync>);

/// Cryptographically secure random bytes.
pub trait Random: Send + Sync {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's CSPRNG.
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf).map_err(|e| RandomError(e.to_string().into()))
    }
}

/// A rendered captcha: its answer and a PNG showing it.
pub struct RenderedCaptcha {
    pub answer: String,
    pub png: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("captcha rendering failed")]
pub struct RenderError;

pub trait CaptchaRenderer: Send + Sync {
    fn render(&self) -> Result<RenderedCaptcha, RenderError>;
}

/// Store failures that are not domain outcomes: the store could not be
/// reached, refused the request, or returned something unreadable. The
/// source chain is kept so an outage is never mistaken for a lost race.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store request failed")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
}

/// A captcha as stored: never the answer itself, only its keyed hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCaptcha {
    pub id: String,
    pub answer_hash: [u8; 32],
    pub expires_at: Timestamp,
}

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
}

/// The live code of a destination: sealed (AEAD), never in plain text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveCode {
    pub sealed: Vec<u8>,
    pub expires_at: Timestamp,
    pub attempts: u32,
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
    pub token: Option<LiveToken>,
    /// When all of the above is irrelevant (the TTL).
    pub expires_at: Timestamp,
}

/// A counter in a fixed window: `key` names the window; an increment is
/// refused once the count has reached `limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counter {
    pub key: String,
    pub limit: u32,
    pub expires_at: Timestamp,
}

/// Why a send's transaction was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendRejected {
    /// The captcha is wrong, used, expired or unknown (it is not consumed).
    Captcha,
    /// The destination record changed since it was read.
    Conflict,
    /// The counter at this index is at its limit.
    Counter(usize),
}

#[async_trait]
pub trait CodeStore: Send + Sync {
    /// The destination's record (an empty one at its stored version if
    /// missing or expired at `now`) and the account owning `address`
    /// (`email:…`/`sms:…`), in one round trip. Errors: `Unavailable`, `Corrupt`.
    async fn load_destination(
        &self,
        key: &str,
        address: &str,
        now: Timestamp,
    ) -> Result<(DestRecord, Option<String>), StoreError>;

    /// All or nothing, one round trip: consumes the captcha `(id, answer
    /// hash)` if given (it must match and be unexpired at `now`), saves
    /// `record` if the stored version is still `expected_version`, and adds
    /// one to each counter below its limit. `Ok(Err(_))` says which part refused.
    async fn commit_send(
        &self,
        captcha: Option<(&str, &[u8; 32])>,
        record: &DestRecord,
        expected_version: u64,
        counters: &[Counter],
        now: Timestamp,
    ) -> Result<Result<(), SendRejected>, StoreError>;

    /// Saves `record` if the stored version is still `expected_version`;
    /// `Ok(false)` when another write came first.
    async fn save_destination(
        &self,
        record: &DestRecord,
        expected_version: u64,
    ) -> Result<bool, StoreError>;

    /// Takes one back from each counter (a send the provider refused is not charged).
    async fn refund(&self, counters: &[Counter]) -> Result<(), StoreError>;
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
}

impl AccountRecord {
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

/// What a one-time secret (stored only as its keyed hash) is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    LoginLink,
    Invite,
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
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Errors: `Unavailable`, `Corrupt`.
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError>;

    /// The account owning an address key (`email:…`, `sms:…`): two reads.
    async fn account_by_address(&self, key: &str) -> Result<Option<AccountRecord>, StoreError>;

    /// The account and whether session `jti` was logged out, in one round trip.
    async fn load_session(
        &self,
        account_id: &str,
        jti: &str,
        now: Timestamp,
    ) -> Result<(Option<AccountRecord>, bool), StoreError>;

    /// Applies every write or none, in one round trip. `Ok(Err(i))`: the
    /// condition of `writes[i]` did not hold.
    async fn apply(
        &self,
        writes: &[AccountWrite],
        now: Timestamp,
    ) -> Result<Result<(), usize>, StoreError>;

    /// Refuses session `jti` until `expires_at` (when it would expire anyway).
    async fn revoke_session(&self, jti: &str, expires_at: Timestamp) -> Result<(), StoreError>;

    /// Stores a one-time secret's hash for `account_id` until `expires_at`.
    async fn put_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        account_id: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Uses a one-time secret up: of concurrent calls at most one gets the account id.
    async fn take_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<String>, StoreError>;

    /// Adds one to a counter below its limit; `Ok(false)` at the limit.
    async fn increment(&self, counter: &Counter, now: Timestamp) -> Result<bool, StoreError>;
}

/// Everything the use cases need from the store.
pub trait Store: CaptchaStore + CodeStore + AccountStore {}
impl<T: CaptchaStore + CodeStore + AccountStore> Store for T {}
