//! Sessions: bearer tokens (EdDSA JWTs, `token`) and who is calling.

use crate::error::Fault;
use crate::ports::{AccountRecord, SessionCheck, Timestamp};
use crate::services::Services;
use crate::token::Expiring;
use serde::{Deserialize, Serialize};

/// Claims of a session token.
#[derive(Debug, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The account id.
    pub sub: String,
    pub iat: Timestamp,
    pub exp: Timestamp,
    pub jti: String,
    /// Always `session`, so no other kind of token is ever taken for one.
    pub typ: String,
    /// The account's session epoch when issued; raising the epoch revokes it.
    pub epoch: u64,
}

impl Expiring for SessionClaims {
    fn exp(&self) -> Timestamp {
        self.exp
    }
}

const SESSION: &str = "session";

/// The caller, once their token checked out.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account: AccountRecord,
    pub jti: String,
    pub expires_at: Timestamp,
}

/// Why a session token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Malformed, forged, expired, of another kind, logged out, or its
    /// account is gone or has revoked it.
    #[error("unauthorized")]
    Unauthorized,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::faults!(AuthError);

/// Issues a session token for `account` living `ttl` seconds.
pub fn issue(
    s: &Services,
    account: &AccountRecord,
    ttl: i64,
) -> Result<(String, SessionClaims), Fault> {
    let now = s.clock.now();
    let claims = SessionClaims {
        sub: account.id.clone(),
        iat: now,
        exp: now + ttl,
        jti: s.new_id()?,
        typ: SESSION.into(),
        epoch: account.session_epoch,
    };
    let token = s.tokens.sign(&claims).map_err(|e| Fault::internal("token", e))?;
    Ok((token, claims))
}

/// A session token whose signature, expiry and kind checked out (no store
/// asked yet): its account id is known, so a use case can start reading
/// what it needs alongside `load`.
#[derive(Debug)]
pub struct Session {
    claims: SessionClaims,
}

impl Session {
    /// Checks `token` offline. `Unauthorized` when it is malformed, forged,
    /// expired or not a session token.
    pub fn check(s: &Services, token: &str) -> Result<Self, AuthError> {
        let claims: SessionClaims =
            s.tokens.verify(token, s.clock.now()).map_err(|_| AuthError::Unauthorized)?;
        if claims.typ != SESSION {
            return Err(AuthError::Unauthorized);
        }
        Ok(Session { claims })
    }

    /// The account the token names (not yet known to exist).
    pub fn account_id(&self) -> &str {
        &self.claims.sub
    }

    /// The account's session epoch when the token was issued.
    pub fn epoch(&self) -> u64 {
        self.claims.epoch
    }

    /// Who it is: one round trip (the account and the logout marker of this
    /// token in one batch read). `Unauthorized` when logged out, revoked by
    /// a password change or reset, or the account is gone.
    pub async fn load(&self, s: &Services) -> Result<Principal, AuthError> {
        let claims = &self.claims;
        let (account, logged_out) =
            s.store.load_session(&claims.sub, &claims.jti, s.clock.now()).await?;
        if !self.condition().stands(account.as_ref(), logged_out) {
            return Err(AuthError::Unauthorized);
        }
        let account = account.ok_or(AuthError::Unauthorized)?;
        Ok(Principal { account, jti: claims.jti.clone(), expires_at: claims.exp })
    }

    /// What the store checks when a write is made under this session
    /// without loading it first.
    pub fn condition(&self) -> SessionCheck {
        let c = &self.claims;
        SessionCheck { account_id: c.sub.clone(), jti: c.jti.clone(), epoch: c.epoch }
    }
}

/// Who presents `token`: `Session::check`, then `load`. One round trip.
pub async fn authenticate(s: &Services, token: &str) -> Result<Principal, AuthError> {
    Session::check(s, token)?.load(s).await
}
