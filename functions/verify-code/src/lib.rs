//! `POST /v1/codes/verify`: check a code; returns a single-use verification token.
//!
//! `200 {"verification_token", "expires_in"}` with `Cache-Control: no-store`.
//! `bind` and `verify` codes need the session of the account that asked for
//! them. The store decides the guess (`codes::verify`); the round trips
//! are in docs/performance.md.

use domain::Services;
use domain::codes::{self, VerifyCode};
use edge::auth;
use edge::request::{client_ip, parse_request};
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<VerifyCode>(&req);
    let result = async {
        let body = body?;
        let session = auth::optional_session(app, &req)?;
        let verified = codes::verify(app, body, session.as_ref(), client_ip(&req)).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::OK, &verified, true))
    };
    finish(result.await, locale)
}
