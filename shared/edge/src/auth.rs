//! The caller, from the request's `Authorization` header.

use crate::error::ApiError;
use crate::request::bearer;
use domain::Services;
use domain::sessions::{self, Principal};
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

/// Requires a session: `401 unauthorized` without one.
pub async fn require(s: &Services, req: &Request) -> Result<Principal, ApiError> {
    optional(s, req).await?.ok_or(ApiError::Unauthorized)
}
