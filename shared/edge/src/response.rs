//! Writing a response: JSON bodies and the error envelope.

use crate::error::ApiError;
use domain::Locale;
use domain::error::chain;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// A JSON response. `no_store` marks responses that carry secrets.
pub fn json<T: Serialize>(status: StatusCode, body: &T, no_store: bool) -> Response<Body> {
    let text = match serde_json::to_string(body) {
        Ok(t) => t,
        Err(e) => return error_response(ApiError::internal(e), Locale::default()),
    };
    let mut resp = Response::new(Body::Text(text));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if no_store {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// An empty response, e.g. `204`.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = status;
    resp
}

/// The error envelope. Internal errors are logged with their whole cause chain.
pub fn error_response(err: ApiError, locale: Locale) -> Response<Body> {
    if let ApiError::Internal(_) = &err {
        tracing::error!(error = %chain(&err), "request failed");
    }
    let mut resp = json(err.status(), &err.body(locale), false);
    if let Some(secs) = err.retry_after() {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// Turns a handler's result into a response.
pub fn finish(result: Result<Response<Body>, ApiError>, locale: Locale) -> Response<Body> {
    result.unwrap_or_else(|e| error_response(e, locale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_retry_after() {
        let resp = error_response(ApiError::RateLimited { retry_after: 42 }, Locale::default());
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "42");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    }
}
