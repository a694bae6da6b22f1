//! `POST /v1/login-links/redeem`: exchange a login link for a session.
//!
//! Only by POST, so link scanners that GET the URL cannot use it up. `200` as log in.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::accounts::{self, RedeemLoginLink};
use shared::http::{finish, json, parse_request};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<RedeemLoginLink>(&req);
    let result = async {
        let issued = accounts::redeem_login_link(app, body?).await?;
        Ok(json(StatusCode::OK, &issued, true))
    };
    finish(result.await, locale)
}
