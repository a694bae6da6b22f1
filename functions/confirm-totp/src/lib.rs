//! `POST /v1/me/factors/totp/confirm`: confirm an enrolment with a code.
//!
//! Body: `factor_id`, `code`. `200 {"recovery_codes": [10]}`, shown once.

use domain::Services;
use domain::accounts::{self, ConfirmTotp};
use edge::auth;
use edge::request::{client, parse_request};
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<ConfirmTotp>(&req);
    let result = async {
        let session = auth::session(app, &req)?;
        let codes = accounts::confirm_totp(app, &session, body?, &client(&req)).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::OK, &codes, true))
    };
    finish(result.await, locale)
}
