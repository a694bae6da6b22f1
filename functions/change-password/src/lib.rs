//! `PUT /v1/me/password`: change the password.
//!
//! `204`; every other session of the account is revoked.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::accounts::{self, ChangePassword};
use shared::http::{empty, finish, parse_request};
use shared::{App, auth};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<ChangePassword>(&req);
    let result = async {
        let who = auth::require(app, &req).await?;
        accounts::change_password(app, &who, body?).await?;
        Ok(empty(StatusCode::NO_CONTENT))
    };
    finish(result.await, locale)
}
