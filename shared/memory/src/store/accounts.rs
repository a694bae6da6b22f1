//! Accounts, address ownership, logged-out sessions, one-time secrets and API keys.

use super::{MemoryStore, kind_tag};
use async_trait::async_trait;
use domain::ports::*;

#[async_trait]
impl AccountStore for MemoryStore {
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        Ok(self.lock().accounts.get(id).cloned())
    }

    async fn account_by_address(&self, key: &str) -> Result<Option<AccountRecord>, StoreError> {
        let inner = self.lock();
        Ok(inner.owners.get(key).and_then(|id| inner.accounts.get(id)).cloned())
    }

    async fn load_session(
        &self,
        account_id: &str,
        jti: &str,
        now: Timestamp,
    ) -> Result<(Option<AccountRecord>, bool), StoreError> {
        let inner = self.lock();
        let revoked = inner.revoked.get(jti).is_some_and(|&exp| exp > now);
        Ok((inner.accounts.get(account_id).cloned(), revoked))
    }

    async fn apply(
        &self,
        writes: &[AccountWrite],
        now: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        let mut inner = self.lock();
        if let Some(refused) = writes.iter().find(|w| !inner.holds(w, now)) {
            return Ok(ApplyOutcome::Refused(refused.refusal()));
        }
        for w in writes {
            inner.write(w, now);
        }
        Ok(ApplyOutcome::Committed)
    }

    async fn revoke_session(&self, jti: &str, expires_at: Timestamp) -> Result<(), StoreError> {
        self.lock().revoked.insert(jti.to_string(), expires_at);
        Ok(())
    }

    async fn list_sessions(&self, account_id: &str) -> Result<Vec<SessionRecord>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .sessions
            .get(account_id)
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default())
    }
}

#[async_trait]
impl SecretStore for MemoryStore {
    async fn put_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        owner: &SecretOwner,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.lock().secrets.insert((kind_tag(kind), *hash), (owner.clone(), expires_at));
        Ok(())
    }

    async fn take_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SecretOwner>, StoreError> {
        let taken = self.lock().secrets.remove(&(kind_tag(kind), *hash));
        Ok(taken.filter(|(_, exp)| *exp > now).map(|(id, _)| id))
    }

    async fn peek_secret(
        &self,
        kind: SecretKind,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SecretOwner>, StoreError> {
        let inner = self.lock();
        let found = inner.secrets.get(&(kind_tag(kind), *hash));
        Ok(found.filter(|(_, exp)| *exp > now).map(|(owner, _)| owner.clone()))
    }
}

#[async_trait]
impl ApiKeyStore for MemoryStore {
    async fn put_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.lock().api_keys.insert(key.id.clone(), key.clone());
        Ok(())
    }

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        Ok(self.lock().api_keys.get(id).cloned())
    }

    async fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().api_keys.remove(id).is_some())
    }
}
