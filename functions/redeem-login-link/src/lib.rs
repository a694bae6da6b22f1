//! `POST /v1/login-links/redeem`: exchange a login link for a session.
//!
//! Only by POST, so link scanners that GET the URL cannot use it up. `200` as log in.

use domain::Services;
use domain::accounts::{self, RedeemLoginLink};
use edge::request::{client, parse_request};
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<RedeemLoginLink>(&req);
    let result = async {
        let issued = accounts::redeem_login_link(app, body?, &client(&req)).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::OK, &issued, true))
    };
    finish(result.await, locale)
}
