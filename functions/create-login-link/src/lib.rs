//! `POST /v1/login-links`: create a one-time login link.
//!
//! `201 {"authorization", "url", "expires_in": 300}`.

use domain::Services;
use domain::accounts;
use edge::auth;
use edge::request::parse_request;
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {
    #[allow(dead_code)]
    locale: Option<String>,
}

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<Empty>(&req);
    let result = async {
        let session = auth::session(app, &req)?;
        body?;
        let link = accounts::create_login_link(app, &session).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::CREATED, &link, true))
    };
    finish(result.await, locale)
}
