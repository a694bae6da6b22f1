//! `GET /v1/me`: the logged-in account.
//!
//! `200 {"id", "email", "phone", "display_name", "locale", "created_at"}`:
//! the account and the token's logout marker, read together.

use domain::Services;
use domain::accounts::AccountView;
use edge::auth;
use edge::request::header_locale;
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let locale = header_locale(&req);
    let result = async {
        let who = auth::require(app, &req).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::OK, &AccountView::from(&who.account), true))
    };
    finish(result.await, locale)
}
