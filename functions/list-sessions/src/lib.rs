//! `GET /v1/me/sessions`: where the account is logged in.
//!
//! `200 {"sessions": [{"id", "device", "network", "created_at", "expires_at", "current"}]}`,
//! newest first.

use domain::Services;
use domain::accounts;
use edge::auth;
use edge::request::header_locale;
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let locale = header_locale(&req);
    let result = async {
        let session = auth::session(app, &req)?;
        let list = accounts::list_sessions(app, &session).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::OK, &list, true))
    };
    finish(result.await, locale)
}
