//! `POST /v1/codes/verify`: check a code; returns a single-use verification token.
//!
//! `200 {"verification_token", "expires_in"}` with `Cache-Control: no-store`.
//! DynamoDB round trips: 2 (read the destination's record; one conditional write).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::codes::{self, VerifyCode};
use shared::http::{finish, json, parse_request};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<VerifyCode>(&req);
    let result = async {
        let verified = codes::verify(app, body?).await?;
        Ok(json(StatusCode::OK, &verified, true))
    };
    finish(result.await, locale)
}
