//! `POST /v1/me/factors/recovery-codes`: a fresh set of recovery codes.
//!
//! Body: `current_password`, `step_up_token` or `step_up_totp`. `200
//! {"recovery_codes": [10]}`; the old set no longer works.

use domain::Services;
use domain::accounts::{self, FactorStepUp};
use edge::auth;
use edge::request::{client, parse_request};
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<FactorStepUp>(&req);
    let result = async {
        let session = auth::session(app, &req)?;
        let codes = accounts::renew_recovery_codes(app, &session, body?, &client(&req)).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::OK, &codes, true))
    };
    finish(result.await, locale)
}
