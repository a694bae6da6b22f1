//! `DELETE /v1/me/sessions?scope=others`: end every session of the account
//! but the caller's.
//!
//! `204`. `scope` must be `others` (`400 invalid_request` naming `scope`
//! otherwise): ending them all is `DELETE /v1/sessions/current` here and a
//! password change elsewhere.

use domain::Services;
use domain::accounts;
use edge::auth;
use edge::error::BodyProblem;
use edge::request::{client, header_locale};
use edge::response::{empty, finish};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let locale = header_locale(&req);
    let result = async {
        let session = auth::session(app, &req)?;
        if req.query_string_parameters_ref().and_then(|q| q.first("scope")) != Some("others") {
            let field = Some("scope".to_string());
            return Err(edge::ApiError::InvalidRequest { problem: BodyProblem::BadValue, field });
        }
        accounts::end_other_sessions(app, &session, &client(&req)).await?;
        Ok::<_, edge::ApiError>(empty(StatusCode::NO_CONTENT))
    };
    finish(result.await, locale)
}
