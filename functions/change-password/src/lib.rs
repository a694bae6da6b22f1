//! `PUT /v1/me/password`: change the password.
//!
//! `204`; every other session of the account is revoked.

use domain::Services;
use domain::accounts::{self, ChangePassword};
use edge::auth;
use edge::request::{client, parse_request};
use edge::response::{empty, finish};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<ChangePassword>(&req);
    let result = async {
        let session = auth::session(app, &req)?;
        accounts::change_password(app, &session, body?, &client(&req)).await?;
        Ok::<_, edge::ApiError>(empty(StatusCode::NO_CONTENT))
    };
    finish(result.await, locale)
}
