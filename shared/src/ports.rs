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

/// Everything the use cases need from the store.
pub trait Store: CaptchaStore {}
impl<T: CaptchaStore> Store for T {}
