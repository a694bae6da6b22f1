//! `POST /v1/invites`: create an invite code.
//!
//! `201 {"invite", "expires_in"}`.

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
        let who = auth::require(app, &req).await?;
        body?;
        let invite = accounts::create_invite(app, &who.account.id).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::CREATED, &invite, true))
    };
    finish(result.await, locale)
}
