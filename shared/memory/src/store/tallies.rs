//! The SMS guard's tallies (`GuardStore`), kept by `crate::guard::Tallies`.

use super::MemoryStore;
use async_trait::async_trait;
use domain::ports::*;

#[async_trait]
impl GuardStore for MemoryStore {
    async fn guard_tallies(
        &self,
        keys: &[String],
        now: Timestamp,
    ) -> Result<Vec<GuardTally>, StoreError> {
        Ok(self.lock().guard.read(keys, now))
    }

    async fn guard_block(
        &self,
        keys: &[String],
        listed: &ListedBlock,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self.lock().guard.block(keys, listed, now))
    }

    async fn guard_unblock(&self, keys: &[String], name: &str) -> Result<(), StoreError> {
        self.lock().guard.unblock(keys, name);
        Ok(())
    }

    async fn guard_blocks(&self, now: Timestamp) -> Result<Vec<ListedBlock>, StoreError> {
        Ok(self.lock().guard.listed(now))
    }

    async fn guard_trim(&self, key: &str, hours: &[i64]) -> Result<(), StoreError> {
        self.lock().guard.trim(key, hours);
        Ok(())
    }
}
