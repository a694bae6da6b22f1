//! Headers on every dev-server response: `nosniff`, `no-referrer`, the
//! playground's Content-Security-Policy, and CORS for the origins in
//! `CORS_ALLOWED_ORIGINS` (deployed, the HTTP API's `CorsConfiguration`
//! does the same from a template parameter).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The origins a browser app may call the API from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Cors {
    /// No CORS headers for anyone (the default).
    #[default]
    Off,
    /// Any origin (`*`, for development).
    Any,
    /// These origins, exactly (`https://app.example.com`).
    Origins(Arc<Vec<String>>),
}

impl Cors {
    /// From `CORS_ALLOWED_ORIGINS`: a comma list, or `*`.
    pub fn parse(raw: Option<&str>) -> Self {
        let origins: Vec<String> = raw
            .unwrap_or_default()
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_string())
            .filter(|o| !o.is_empty())
            .collect();
        if origins.iter().any(|o| o == "*") {
            Cors::Any
        } else if origins.is_empty() {
            Cors::Off
        } else {
            Cors::Origins(Arc::new(origins))
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`.
    fn allow(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        match self {
            Cors::Off => None,
            Cors::Any => Some(HeaderValue::from_static("*")),
            Cors::Origins(list) => {
                let o = origin.to_str().ok()?;
                list.iter().any(|allowed| allowed == o).then(|| origin.clone())
            }
        }
    }
}

pub const METHODS: &str = "GET, POST, PUT, DELETE";
pub const HEADERS: &str = "authorization, content-type";

/// Answers preflights from allowed origins; adds CORS headers to their
/// other requests; adds the security headers to every response.
pub async fn apply(State(cors): State<Cors>, req: Request, next: Next) -> Response {
    let allowed = cors.allow(req.headers());
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut resp = match (&allowed, preflight) {
        (Some(_), true) => {
            let mut resp = StatusCode::NO_CONTENT.into_response();
            let h = resp.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(METHODS));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(HEADERS));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            resp
        }
        _ => next.run(req).await,
    };
    let h = resp.headers_mut();
    if let Some(origin) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("retry-after"));
    }
    if cors != Cors::Off {
        h.append(header::VARY, HeaderValue::from_static("origin"));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

/// A page's policy (the playground, /login): its one inline script and one inline style, by
/// hash; the `altcha` widget's script and style from this origin and its workers from
/// `blob:`; images only as `data:` (the captcha); requests only to this origin.
pub fn page_csp(html: &str) -> String {
    let hash = |open: &str, close: &str| {
        let start = html.find(open).map_or(0, |i| i + open.len());
        let end = html[start..].find(close).map_or(start, |i| start + i);
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&html[start..end]))
    };
    format!(
        "default-src 'none'; script-src 'self' 'sha256-{}'; style-src 'self' 'sha256-{}'; \
         img-src data:; worker-src blob:; connect-src 'self'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'",
        hash("<script>", "</script>"),
        hash("<style>", "</style>"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse() {
        assert_eq!(Cors::parse(None), Cors::Off);
        assert_eq!(Cors::parse(Some(" ")), Cors::Off);
        assert_eq!(Cors::parse(Some("*")), Cors::Any);
        let list = Cors::parse(Some("https://a.example, https://b.example/"));
        assert_eq!(
            list,
            Cors::Origins(Arc::new(vec!["https://a.example".into(), "https://b.example".into()]))
        );
    }

    #[test]
    fn the_policy_names_the_inline_script_and_style() {
        let csp = page_csp("<style>a{}</style><script>go()</script>");
        let digest = |s: &str| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s));
        assert!(csp.contains(&format!("script-src 'self' 'sha256-{}'", digest("go()"))));
        assert!(csp.contains(&format!("style-src 'self' 'sha256-{}'", digest("a{}"))));
        assert!(csp.starts_with("default-src 'none'"));
    }
}
