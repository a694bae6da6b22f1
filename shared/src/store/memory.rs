//! The embedded store: process memory behind a mutex. Each operation holds
//! the lock for its whole read-modify-write, which gives it the same
//! atomicity as the DynamoDB adapter's conditional writes.

use crate::ports::{CaptchaStore, StoreError, StoredCaptcha, Timestamp};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    captchas: HashMap<String, StoredCaptcha>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied write
        // behind (every write is a single insert/remove), so poisoning is ignored.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl CaptchaStore for MemoryStore {
    async fn put_captcha(&self, captcha: &StoredCaptcha) -> Result<(), StoreError> {
        self.lock().captchas.insert(captcha.id.clone(), captcha.clone());
        Ok(())
    }

    async fn take_captcha(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<StoredCaptcha>, StoreError> {
        Ok(self.lock().captchas.remove(id).filter(|c| c.expires_at > now))
    }
}
