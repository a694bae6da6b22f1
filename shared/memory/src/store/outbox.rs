//! Outgoing messages (claim, settle, release, fail) and suppressed addresses.

use super::{MemoryStore, MessageState};
use async_trait::async_trait;
use domain::ports::*;

#[async_trait]
impl OutboxStore for MemoryStore {
    async fn claim_message(
        &self,
        id: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let mut inner = self.lock();
        let Some((message, state)) = inner.messages.get_mut(id) else { return Ok(Claim::Settled) };
        if message.expires_at <= now {
            return Ok(Claim::Settled);
        }
        match *state {
            MessageState::Done | MessageState::Failed => Ok(Claim::Settled),
            MessageState::Sending { until } if until > now => Ok(Claim::Leased { until }),
            MessageState::Pending | MessageState::Sending { .. } => {
                *state = MessageState::Sending { until: lease_until };
                message.attempts += 1;
                Ok(Claim::Claimed(message.clone()))
            }
        }
    }

    async fn settle_message(&self, id: &str) -> Result<(), StoreError> {
        if let Some((_, state)) = self.lock().messages.get_mut(id) {
            *state = MessageState::Done;
        }
        Ok(())
    }

    async fn release_message(&self, id: &str) -> Result<(), StoreError> {
        if let Some((_, state)) = self.lock().messages.get_mut(id)
            && matches!(state, MessageState::Sending { .. })
        {
            *state = MessageState::Pending;
        }
        Ok(())
    }

    async fn fail_message(
        &self,
        id: &str,
        record: Option<(&DestRecord, u64)>,
        refunds: &[Counter],
    ) -> Result<FailOutcome, StoreError> {
        let mut inner = self.lock();
        let claimed = inner
            .messages
            .get(id)
            .is_some_and(|(_, state)| matches!(state, MessageState::Sending { .. }));
        if !claimed {
            return Ok(FailOutcome::NotClaimed);
        }
        if let Some((r, expected)) = record {
            if inner.version(&r.key) != expected {
                return Ok(FailOutcome::Conflict);
            }
            inner.destinations.insert(r.key.clone(), r.clone());
        }
        inner.refund(refunds);
        if let Some((_, state)) = inner.messages.get_mut(id) {
            *state = MessageState::Failed;
        }
        Ok(FailOutcome::Committed)
    }

    async fn is_suppressed(&self, address: &str) -> Result<bool, StoreError> {
        Ok(self.lock().suppressed.contains_key(address))
    }

    async fn suppress(
        &self,
        address: &str,
        reason: &str,
        _now: Timestamp,
    ) -> Result<(), StoreError> {
        self.lock().suppressed.insert(address.to_string(), reason.to_string());
        Ok(())
    }
}
