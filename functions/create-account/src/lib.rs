//! `POST /v1/accounts`: register.
//!
//! Register: `201 {"account", "token", "token_type", "expires_in"}`. The
//! code or token is checked, then account, address, code and invite are
//! written in one transaction.

use domain::Services;
use domain::accounts::{self, Register};
use edge::request::{client, parse_request};
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<Register>(&req);
    let result = async {
        let issued = accounts::register(app, body?, &client(&req)).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::CREATED, &issued, true))
    };
    finish(result.await, locale)
}
