//! `POST /v1/password-resets`: reset a forgotten password.
//!
//! `204`; every session of the account is revoked.

use domain::Services;
use domain::accounts::{self, ResetPassword};
use edge::request::{client, parse_request};
use edge::response::{empty, finish};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<ResetPassword>(&req);
    let result = async {
        accounts::reset_password(app, body?, &client(&req)).await?;
        Ok::<_, edge::ApiError>(empty(StatusCode::NO_CONTENT))
    };
    finish(result.await, locale)
}
