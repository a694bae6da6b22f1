//! HTTP glue shared by every function: body parsing, the request's locale and
//! client address, JSON responses and the error envelope.

use crate::error::{ApiError, BodyProblem, chain};
use crate::locale::Locale;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Reads a request: its locale (the body's `locale` field when it is a
/// string, else `Accept-Language`) and its JSON object body as `T` (which
/// should `deny_unknown_fields`). An empty body is read as `{}`, so a missing
/// field is named in the error. The locale is found even when the body is
/// refused, so the error speaks the caller's language.
pub fn parse_request<T: DeserializeOwned>(req: &Request) -> (Locale, Result<T, ApiError>) {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return (header_locale(req), Err(ApiError::PayloadTooLarge));
    }
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(_) => {
            let err = ApiError::InvalidRequest { problem: BodyProblem::NotJson, field: None };
            return (header_locale(req), Err(err));
        }
    };
    let locale = match value.get("locale").and_then(|l| l.as_str()) {
        Some(tag) => Locale::from_field(tag),
        None => header_locale(req),
    };
    if !value.is_object() {
        let err = ApiError::InvalidRequest { problem: BodyProblem::NotAnObject, field: None };
        return (locale, Err(err));
    }
    (locale, serde_path_to_error::deserialize(value).map_err(field_error))
}

/// `parse_request` without the locale.
pub fn parse_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    parse_request(req).1
}

fn field_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let message = e.inner().to_string();
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(|name| join_path(&path, name))
    };
    if let Some(field) = named("missing field `") {
        ApiError::InvalidRequest { problem: BodyProblem::Missing, field: Some(field) }
    } else if let Some(field) = named("unknown field `") {
        ApiError::InvalidRequest { problem: BodyProblem::Unknown, field: Some(field) }
    } else {
        let problem = if message.starts_with("invalid type") {
            BodyProblem::WrongType
        } else {
            BodyProblem::BadValue
        };
        let field = (path != ".").then_some(path);
        ApiError::InvalidRequest { problem, field }
    }
}

fn join_path(parent: &str, name: &str) -> String {
    if parent == "." || parent.is_empty() {
        name.to_string()
    } else if parent == name || parent.ends_with(&format!(".{name}")) {
        parent.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// The locale from `Accept-Language` (a body's `locale` field overrides it).
pub fn header_locale(req: &Request) -> Locale {
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Locale::from_accept_language)
        .unwrap_or_default()
}

/// The caller's address as API Gateway saw it (the dev server fills in the same field).
pub fn client_ip(req: &Request) -> Option<std::net::IpAddr> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.as_deref()?.parse().ok(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// A JSON response. `no_store` marks responses that carry secrets.
pub fn json<T: Serialize>(status: StatusCode, body: &T, no_store: bool) -> Response<Body> {
    let text = match serde_json::to_string(body) {
        Ok(t) => t,
        Err(e) => return error_response(ApiError::internal(e), Locale::En),
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
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        id: String,
        answer: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body_ {
        to: String,
        count: Option<u32>,
        captcha: Option<Inner>,
    }

    fn req(body: &str) -> Request {
        Request::new(Body::Text(body.to_string()))
    }

    fn problem(body: &str) -> (BodyProblem, Option<String>) {
        match parse_body::<Body_>(&req(body)).unwrap_err() {
            ApiError::InvalidRequest { problem, field } => (problem, field),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_the_field_at_fault() {
        assert_eq!(problem("{}"), (BodyProblem::Missing, Some("to".into())));
        assert_eq!(problem(""), (BodyProblem::Missing, Some("to".into())));
        assert_eq!(problem(r#"{"to":"a","x":1}"#), (BodyProblem::Unknown, Some("x".into())));
        assert_eq!(problem(r#"{"to":1}"#), (BodyProblem::WrongType, Some("to".into())));
        assert_eq!(
            problem(r#"{"to":"a","count":-1}"#),
            (BodyProblem::BadValue, Some("count".into()))
        );
        assert_eq!(
            problem(r#"{"to":"a","captcha":{"id":"x"}}"#),
            (BodyProblem::Missing, Some("captcha.answer".into()))
        );
        assert_eq!(
            problem(r#"{"to":"a","captcha":{"id":"x","answer":"y","z":0}}"#),
            (BodyProblem::Unknown, Some("captcha.z".into()))
        );
        assert_eq!(problem("{nope"), (BodyProblem::NotJson, None));
        assert_eq!(problem("[1]"), (BodyProblem::NotAnObject, None));
    }

    #[test]
    fn caps_the_body() {
        let big = format!(r#"{{"to":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        assert!(matches!(parse_body::<Body_>(&req(&big)), Err(ApiError::PayloadTooLarge)));
        assert!(parse_body::<Body_>(&req(r#"{"to":"a"}"#)).is_ok());
    }

    #[test]
    fn errors_carry_retry_after() {
        let resp = error_response(ApiError::RateLimited { retry_after: 42 }, Locale::En);
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "42");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    }
}
