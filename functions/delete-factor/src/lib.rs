//! `DELETE /v1/me/factors/{id}`: remove an authenticator.
//!
//! Body: `current_password`, `step_up_token` or `step_up_totp`. `204`; with
//! the last one, the recovery codes go too.

use domain::Services;
use domain::accounts::{self, FactorStepUp};
use edge::auth;
use edge::request::{client, parse_request, path_param};
use edge::response::{empty, finish};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<FactorStepUp>(&req);
    let result = async {
        let session = auth::session(app, &req)?;
        let id = path_param(&req, "id").ok_or(edge::ApiError::NotFound)?;
        accounts::delete_factor(app, &session, id, body?, &client(&req)).await?;
        Ok::<_, edge::ApiError>(empty(StatusCode::NO_CONTENT))
    };
    finish(result.await, locale)
}
