//! `POST /v1/sessions`: log in.
//!
//! Log in by password + captcha, or by code / verification token (purpose `login`).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::accounts::{self, Login};
use shared::http::{finish, json, parse_request};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<Login>(&req);
    let result = async {
        let issued = accounts::login(app, body?).await?;
        Ok(json(StatusCode::OK, &issued, true))
    };
    finish(result.await, locale)
}
