//! `DELETE /v1/sessions/current`: log out.
//!
//! `204`; the token is refused from then on. Round trips: 1 (session) + 1 (PutItem).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::accounts;
use shared::http::{empty, finish, header_locale};
use shared::{App, auth};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let locale = header_locale(&req);
    let result = async {
        let who = auth::require(app, &req).await?;
        accounts::logout(app, &who).await?;
        Ok(empty(StatusCode::NO_CONTENT))
    };
    finish(result.await, locale)
}
