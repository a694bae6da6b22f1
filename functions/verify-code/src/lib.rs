//! `POST /v1/codes/verify`: check a code; returns a single-use verification token.
//!
//! `200 {"verification_token", "expires_in"}` with `Cache-Control: no-store`.
//! `bind` and `verify` codes need the session of the account that asked for
//! them. DynamoDB round trips: 2 (read the destination's record; one
//! conditional write), plus 1 with a session.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::codes::{self, VerifyCode};
use shared::http::{finish, json, parse_request};
use shared::{App, auth};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<VerifyCode>(&req);
    let result = async {
        let body = body?;
        let principal = auth::authenticate(app, &req).await?;
        let verified = codes::verify(app, body, principal.as_ref()).await?;
        Ok(json(StatusCode::OK, &verified, true))
    };
    finish(result.await, locale)
}
