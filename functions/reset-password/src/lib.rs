//! `POST /v1/password-resets`: reset a forgotten password.
//!
//! `204`; every session of the account is revoked.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::accounts::{self, ResetPassword};
use shared::http::{empty, finish, parse_request};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<ResetPassword>(&req);
    let result = async {
        accounts::reset_password(app, body?).await?;
        Ok(empty(StatusCode::NO_CONTENT))
    };
    finish(result.await, locale)
}
