//! Writing a response: JSON bodies and the error envelope.

use crate::error::ApiError;
use domain::Locale;
use domain::error::chain;
use futures_util::FutureExt;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use std::panic::AssertUnwindSafe;

/// A JSON response. `no_store` marks responses that carry secrets.
pub fn json<T: Serialize>(status: StatusCode, body: &T, no_store: bool) -> Response<Body> {
    let text = match serde_json::to_string(body) {
        Ok(t) => t,
        Err(e) => return error_response(ApiError::internal(e), Locale::default()),
    };
    let mut resp = empty(status);
    *resp.body_mut() = Body::Text(text);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if no_store {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// An empty response, e.g. `204`. Every response starts here, with the
/// headers every response carries: no MIME sniffing, no referrer.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

/// The error envelope. Internal errors and outages are logged with their
/// whole cause chain (which never holds a request's body).
pub fn error_response(err: ApiError, locale: Locale) -> Response<Body> {
    match &err {
        ApiError::Internal(_) => tracing::error!(error = %chain(&err), "request failed"),
        ApiError::ServiceUnavailable { cause: Some(_), .. } => {
            let error = chain(&err);
            if error.contains("ResourceNotFoundException") {
                let table = crate::compose::Deployment::from_env().table_name;
                tracing::error!(
                    table,
                    "the DynamoDB table does not exist: deploy template.yaml, or run the dev \
                     server with STORE=dynamodb, which creates it"
                );
            }
            tracing::error!(error, "a dependency failed");
        }
        ApiError::ServiceUnavailable { cause: None, .. } => {
            tracing::warn!("every retry of a conflicting write lost");
        }
        _ => {}
    }
    let mut resp = json(err.status(), &err.body(locale), false);
    if let Some(secs) = err.retry_after() {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// Runs a handler; a panic in it becomes a `500` in the error envelope
/// (logged, with the invocation's request id from the span around it)
/// instead of a dropped connection or the platform's bare error.
pub async fn guarded(handler: impl Future<Output = Response<Body>>) -> Response<Body> {
    match AssertUnwindSafe(handler).catch_unwind().await {
        Ok(resp) => resp,
        Err(_) => error_response(ApiError::internal("the handler panicked"), Locale::default()),
    }
}

/// Turns a handler's result into a response.
pub fn finish(result: Result<Response<Body>, ApiError>, locale: Locale) -> Response<Body> {
    result.unwrap_or_else(|e| error_response(e, locale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_a_500_in_the_envelope() {
        let resp = guarded(async { panic!("boom") }).await;
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let Body::Text(text) = resp.body() else { panic!("a JSON body") };
        assert!(text.contains("internal_error") && !text.contains("boom"), "{text}");
        let ok = guarded(async { empty(StatusCode::NO_CONTENT) }).await;
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    }

    #[test]
    fn errors_carry_retry_after() {
        let resp = error_response(ApiError::RateLimited { retry_after: 42 }, Locale::default());
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "42");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(resp.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(resp.headers()[header::REFERRER_POLICY], "no-referrer");
    }
}
