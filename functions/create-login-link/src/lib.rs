//! `POST /v1/login-links`: create a one-time login link.
//!
//! `201 {"authorization", "url", "expires_in": 300}`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::accounts;
use shared::http::{finish, json, parse_request};
use shared::{App, auth};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {
    #[allow(dead_code)]
    locale: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<Empty>(&req);
    let result = async {
        let who = auth::require(app, &req).await?;
        body?;
        let link = accounts::create_login_link(app, &who).await?;
        Ok(json(StatusCode::CREATED, &link, true))
    };
    finish(result.await, locale)
}
