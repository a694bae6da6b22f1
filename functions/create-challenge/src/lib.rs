//! `POST /v1/challenges`: a new proof-of-work challenge (ALTCHA).
//!
//! Body: empty or `{}` (optionally `{"locale": "..."}`, which only picks the
//! language of errors). `201 {"parameters", "signature"}` in the protocol of
//! `altcha-lib` 2.x, with `Cache-Control: no-store`; `404` unless
//! `CAPTCHA_PROVIDER` includes `pow`. Nothing is stored: a challenge is
//! remembered only once it is used.

use domain::Services;
use domain::captcha::pow;
use edge::request::parse_request;
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateChallenge {
    #[allow(dead_code)]
    locale: Option<String>,
}

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<CreateChallenge>(&req);
    let result = async {
        body?;
        let created = pow::create(app)?;
        Ok::<_, edge::ApiError>(json(StatusCode::CREATED, &created, true))
    };
    finish(result.await, locale)
}
