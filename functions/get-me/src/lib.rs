//! `GET /v1/me`: the logged-in account.
//!
//! `200 {"id", "email", "phone", "display_name", "locale", "created_at"}`. Round trips: 1.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::accounts::AccountView;
use shared::http::{finish, header_locale, json};
use shared::{App, auth};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let locale = header_locale(&req);
    let result = async {
        let who = auth::require(app, &req).await?;
        Ok(json(StatusCode::OK, &AccountView::from(&who.account), true))
    };
    finish(result.await, locale)
}
