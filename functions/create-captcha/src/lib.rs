//! `POST /v1/captchas`: a new image captcha.
//!
//! Body: empty or `{}` (optionally `{"locale": "..."}`, which only picks the
//! language of errors). `201 {"captcha_id", "image", "expires_in"}` with
//! `Cache-Control: no-store`. The captcha is stored as its answer's keyed hash.

use domain::{Services, captcha};
use edge::request::parse_request;
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCaptcha {
    #[allow(dead_code)]
    locale: Option<String>,
}

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<CreateCaptcha>(&req);
    let result = async {
        body?;
        let created = captcha::create(app).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::CREATED, &created, true))
    };
    finish(result.await, locale)
}
