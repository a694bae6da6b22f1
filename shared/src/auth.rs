//! Sessions: bearer tokens (HS256 JWTs) and who is calling.

use crate::App;
use crate::error::ApiError;
use crate::ports::{AccountRecord, Timestamp};
use crate::token::{self, Expiring};
use lambda_http::Request;
use lambda_http::http::header;
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

/// The bearer token of the request, if it has one.
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Requires a session: `401 unauthorized` without one.
pub async fn require(app: &App, req: &Request) -> Result<Principal, ApiError> {
    authenticate(app, req).await?.ok_or(ApiError::Unauthorized)
}

/// Issues a session token for `account` living `ttl` seconds.
pub fn issue(
    app: &App,
    account: &AccountRecord,
    ttl: i64,
) -> Result<(String, SessionClaims), ApiError> {
    let now = app.clock.now();
    let claims = SessionClaims {
        sub: account.id.clone(),
        iat: now,
        exp: now + ttl,
        jti: app.new_id()?,
        typ: SESSION.into(),
        epoch: account.session_epoch,
    };
    let token = token::sign(&app.config.jwt_secret, &claims).map_err(ApiError::internal)?;
    Ok((token, claims))
}

/// `None` without an `Authorization` header; `401 unauthorized` when the token
/// is malformed, forged, expired, of another kind, logged out, or its account
/// is gone or has revoked it (password change or reset). One round trip
/// (the account and the logout marker in one batch read).
pub async fn authenticate(app: &App, req: &Request) -> Result<Option<Principal>, ApiError> {
    if req.headers().get(header::AUTHORIZATION).is_none() {
        return Ok(None);
    }
    let token = bearer(req).ok_or(ApiError::Unauthorized)?;
    let claims: SessionClaims = token::verify(&app.config.jwt_secret, token, app.clock.now())
        .map_err(|_| ApiError::Unauthorized)?;
    if claims.typ != SESSION {
        return Err(ApiError::Unauthorized);
    }
    let (account, logged_out) = app
        .store
        .load_session(&claims.sub, &claims.jti, app.clock.now())
        .await
        .map_err(ApiError::internal)?;
    let account = account.ok_or(ApiError::Unauthorized)?;
    let superseded = claims.epoch < account.session_epoch
        && account.session_keeper.as_deref() != Some(claims.jti.as_str());
    if logged_out || superseded {
        return Err(ApiError::Unauthorized);
    }
    Ok(Some(Principal { account, jti: claims.jti, expires_at: claims.exp }))
}
