//! `POST /v1/accounts`: register.
//!
//! Register: `201 {"account", "token", "token_type", "expires_in"}`. Round trips: 2 to check the
//! code or token, 1 transaction (account, address, code, invite).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::accounts::{self, Register};
use shared::http::{finish, json, parse_request};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<Register>(&req);
    let result = async {
        let issued = accounts::register(app, body?).await?;
        Ok(json(StatusCode::CREATED, &issued, true))
    };
    finish(result.await, locale)
}
