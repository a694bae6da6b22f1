//! `POST /v1/sessions/mfa`: the second step of a login.
//!
//! Body: `mfa_token` and `totp` or `recovery_code`. `200` with the session,
//! as a login.

use domain::Services;
use domain::accounts::{self, CompleteMfa};
use edge::request::{client, parse_request};
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<CompleteMfa>(&req);
    let result = async {
        let issued = accounts::complete_mfa(app, body?, &client(&req)).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::OK, &issued, true))
    };
    finish(result.await, locale)
}
