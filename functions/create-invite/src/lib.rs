//! `POST /v1/invites`: create an invite code.
//!
//! `201 {"invite", "expires_in"}`.

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
        let invite = accounts::create_invite(app, &who.account.id).await?;
        Ok(json(StatusCode::CREATED, &invite, true))
    };
    finish(result.await, locale)
}
