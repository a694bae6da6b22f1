//! `POST /v1/login-links/inspect`: whom a login link would log in, without
//! spending it — so the page at the link can ask "Log in as …?" first.
//!
//! `200 {"login_as": {"display_name", "email", "phone"}}`, addresses masked;
//! an unknown, used or expired link `401 invalid_credentials`.

use domain::Services;
use domain::accounts::{self, LoginLinkRef};
use edge::request::parse_request;
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

#[derive(Serialize)]
struct Inspected {
    login_as: accounts::LoginAs,
}

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<LoginLinkRef>(&req);
    let result = async {
        let login_as = accounts::inspect_login_link(app, body?).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::OK, &Inspected { login_as }, true))
    };
    finish(result.await, locale)
}
