//! The caller, from the request's `Authorization` header.

use crate::error::ApiError;
use crate::request::{bearer, credentials};
use domain::Services;
use domain::api_keys;
use domain::ports::ApiKeyRecord;
use domain::sessions::{self, Principal, Session};
use lambda_http::Request;

/// `None` without an `Authorization` header; `401 unauthorized` when the
/// header is not a bearer token or the token is not accepted.
pub async fn optional(s: &Services, req: &Request) -> Result<Option<Principal>, ApiError> {
    match bearer(req) {
        None => Ok(None),
        Some(Err(())) => Err(ApiError::Unauthorized),
        Some(Ok(token)) => Ok(Some(sessions::authenticate(s, token).await?)),
    }
}

/// The session token if the request carries one, checked offline (the use
/// case loads it): `401 unauthorized` when the header is not a bearer token
/// or the token is not a well-signed, unexpired session token.
pub fn optional_session(s: &Services, req: &Request) -> Result<Option<Session>, ApiError> {
    match bearer(req) {
        None => Ok(None),
        Some(Err(())) => Err(ApiError::Unauthorized),
        Some(Ok(token)) => Ok(Some(Session::check(s, token)?)),
    }
}

/// Requires a well-signed session token, checked offline (the use case
/// loads it, alongside its own reads): `401 unauthorized` without one.
pub fn session(s: &Services, req: &Request) -> Result<Session, ApiError> {
    match bearer(req) {
        Some(Ok(token)) => Ok(Session::check(s, token)?),
        _ => Err(ApiError::Unauthorized),
    }
}

/// Requires a session: `401 unauthorized` without one.
pub async fn require(s: &Services, req: &Request) -> Result<Principal, ApiError> {
    optional(s, req).await?.ok_or(ApiError::Unauthorized)
}

/// Requires a server's API key (`Authorization: ApiKey <key>`): `401
/// unauthorized` without one, or for a malformed, unknown or revoked key.
pub async fn require_api_key(s: &Services, req: &Request) -> Result<ApiKeyRecord, ApiError> {
    match credentials(req, "apikey") {
        Some(Ok(key)) => Ok(api_keys::authenticate(s, key).await?),
        _ => Err(ApiError::Unauthorized),
    }
}
