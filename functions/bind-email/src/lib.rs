//! `PUT /v1/me/email`: bind or change the email address.
//!
//! Body: `email`, `code` or `verification_token` (purpose `bind`). `200` account.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::accounts::{self, BindAddress};
use shared::address::Channel;
use shared::http::{finish, json, parse_request};
use shared::{App, auth};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<BindAddress>(&req);
    let result = async {
        let who = auth::require(app, &req).await?;
        let account = accounts::bind(app, &who, Channel::Email, body?).await?;
        Ok(json(StatusCode::OK, &account, true))
    };
    finish(result.await, locale)
}
