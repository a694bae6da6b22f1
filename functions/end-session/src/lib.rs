//! `DELETE /v1/me/sessions/{id}`: end one of the account's sessions.
//!
//! `204`; that session is refused from then on. `404` when the account has
//! no such live session.

use domain::Services;
use domain::accounts;
use edge::auth;
use edge::request::{client, header_locale, path_param};
use edge::response::{empty, finish};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let locale = header_locale(&req);
    let result = async {
        let session = auth::session(app, &req)?;
        let id = path_param(&req, "id").ok_or(edge::ApiError::NoSuchSession)?;
        accounts::end_session(app, &session, id, &client(&req)).await?;
        Ok::<_, edge::ApiError>(empty(StatusCode::NO_CONTENT))
    };
    finish(result.await, locale)
}
