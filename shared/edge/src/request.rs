//! Reading a request: its JSON body (with the field at fault named), its
//! locale, the caller's address and bearer token.

use crate::error::{ApiError, BodyProblem};
use domain::Locale;
use lambda_http::http::header;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A path parameter (`{id}` in the route), as API Gateway passes it.
pub fn path_param<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.path_parameters_ref().and_then(|p| p.first(name))
}

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

/// Who is calling, for the session a login records: the address and the
/// `User-Agent` (at most 512 bytes of it are read).
pub fn client(req: &Request) -> domain::accounts::Client {
    let user_agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let user_agent = user_agent.map(|ua| ua.chars().take(512).collect());
    domain::accounts::Client { ip: client_ip(req), user_agent }
}

/// The bearer token of the request: `None` without an `Authorization`
/// header, `Some(Err(()))` when the header is not a bearer token.
pub fn bearer(req: &Request) -> Option<Result<&str, ()>> {
    credentials(req, "bearer")
}

/// The credentials of `Authorization: <scheme> <credentials>`: `None`
/// without the header, `Some(Err(()))` when it names another scheme.
pub fn credentials<'r>(req: &'r Request, scheme: &str) -> Option<Result<&'r str, ()>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    let token = value.to_str().ok().and_then(|v| {
        let (named, token) = v.trim().split_once(' ')?;
        named.eq_ignore_ascii_case(scheme).then(|| token.trim())
    });
    Some(token.ok_or(()))
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
        Request::new(lambda_http::Body::Text(body.to_string()))
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
}
