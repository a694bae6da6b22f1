//! Captchas, destination records (sends and checks) and counters.

use super::{MemoryStore, MessageState};
use async_trait::async_trait;
use domain::crypto::digest_eq;
use domain::ports::*;

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

    async fn spend_challenge(
        &self,
        nonce: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        inner.spent_challenges.retain(|_, until| *until > now);
        Ok(inner.spent_challenges.insert(nonce.to_string(), expires_at).is_none())
    }
}

#[async_trait]
impl CodeStore for MemoryStore {
    async fn load_destination(&self, key: &str, now: Timestamp) -> Result<DestRecord, StoreError> {
        Ok(self.lock().record(key, now))
    }

    async fn commit_send(
        &self,
        send: &SendWrite<'_>,
        now: Timestamp,
    ) -> Result<SendOutcome, StoreError> {
        let SendWrite { captcha, record, session, counters, guard, message } = *send;
        let mut inner = self.lock();
        let usable = match captcha {
            None => true,
            Some(SendCaptcha::Image { id, hash }) => inner
                .captchas
                .get(id)
                .is_some_and(|c| c.expires_at > now && digest_eq(&c.answer_hash, hash)),
            Some(SendCaptcha::Challenge { nonce, .. }) => {
                inner.spent_challenges.get(nonce).is_none_or(|until| *until <= now)
            }
        };
        if !usable {
            return Ok(SendOutcome::CaptchaRejected);
        }
        if let Some(refused) = inner.record_write_refusal(&record, now) {
            return Ok(refused);
        }
        for c in counters {
            if inner.counters.get(&c.key).is_some_and(|(n, exp)| *exp > now && *n >= c.limit) {
                return Ok(SendOutcome::LimitReached {
                    kind: c.kind,
                    key: c.key.clone(),
                    until: c.expires_at,
                });
            }
        }
        if let Some(refused) = guard.and_then(|g| inner.guard.refusal(g, now)) {
            return Ok(refused);
        }
        if !inner.stands(session, now) {
            return Ok(SendOutcome::SessionRefused);
        }
        if let Some(g) = guard {
            inner.guard.count(&g.touch, false, now);
        }
        match captcha {
            Some(SendCaptcha::Image { id, .. }) => {
                inner.captchas.remove(id);
            }
            Some(SendCaptcha::Challenge { nonce, expires_at }) => {
                inner.spent_challenges.insert(nonce.to_string(), expires_at);
            }
            None => {}
        }
        inner.write_record(&record, now);
        for c in counters {
            let entry = inner.counters.entry(c.key.clone()).or_insert((0, c.expires_at));
            if entry.1 <= now {
                *entry = (0, c.expires_at);
            }
            entry.0 += 1;
        }
        inner.messages.insert(message.id.clone(), (message.clone(), MessageState::Pending));
        Ok(SendOutcome::Committed)
    }

    async fn guess_code(&self, g: &Guess, now: Timestamp) -> Result<GuessOutcome, StoreError> {
        let mut inner = self.lock();
        if !inner.stands(g.session.as_ref(), now) {
            return Ok(GuessOutcome::SessionRefused);
        }
        let mut r = inner.stored(&g.key);
        let Some(right) = g.judge(&r, now) else {
            return Ok(GuessOutcome::Refused(inner.record(&g.key, now)));
        };
        let outcome = match (right, r.code.as_mut()) {
            (true, _) => {
                r.code = None;
                r.token = Some(g.token.clone());
                if let Some(touch) = &g.converts {
                    inner.guard.count(touch, true, now);
                }
                GuessOutcome::Right
            }
            (false, Some(code)) => {
                code.attempts += 1;
                let (attempts, long) = (code.attempts, code.long);
                r.fails.insert(0, now);
                r.checks.count(g.hour, &g.network);
                let network_fails = r.checks.at(g.hour, &g.network).1;
                let closed = g.open_code(&r, now).is_none();
                GuessOutcome::Wrong { attempts, network_fails, long, closed }
            }
            (false, None) => return Err(StoreError::Corrupt("judged a missing code".into())),
        };
        r.version += 1;
        r.expires_at = g.expires_at;
        inner.destinations.insert(g.key.clone(), r);
        Ok(outcome)
    }

    async fn save_destination(
        &self,
        record: &DestRecord,
        expected_version: u64,
    ) -> Result<SaveOutcome, StoreError> {
        let mut inner = self.lock();
        if inner.version(&record.key) != expected_version {
            return Ok(SaveOutcome::Conflict);
        }
        inner.destinations.insert(record.key.clone(), record.clone());
        Ok(SaveOutcome::Committed)
    }
}

#[async_trait]
impl CounterStore for MemoryStore {
    async fn increment(&self, c: &Counter, now: Timestamp) -> Result<CountOutcome, StoreError> {
        let mut inner = self.lock();
        let entry = inner.counters.entry(c.key.clone()).or_insert((0, c.expires_at));
        if entry.1 <= now {
            *entry = (0, c.expires_at);
        }
        if entry.0 >= c.limit {
            return Ok(CountOutcome::LimitReached { until: c.expires_at });
        }
        entry.0 += 1;
        Ok(CountOutcome::Counted { count: entry.0 })
    }

    async fn refund(&self, counters: &[Counter]) -> Result<(), StoreError> {
        self.lock().refund(counters);
        Ok(())
    }
}
