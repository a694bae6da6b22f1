//! `POST /v1/sessions`: log in.
//!
//! Log in by password + captcha, or by code / verification token (purpose `login`).

use domain::Services;
use domain::accounts::{self, Login};
use edge::request::{client, parse_request};
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<Login>(&req);
    let result = async {
        let issued = accounts::login(app, body?, &client(&req)).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::OK, &issued, true))
    };
    finish(result.await, locale)
}
