//! `POST /v1/me/factors/totp`: enrol an authenticator app.
//!
//! Body: `current_password`, `step_up_token` or `step_up_totp`. `201
//! {"factor_id", "secret", "otpauth_uri", "qr"}`; the factor is pending
//! until `POST /v1/me/factors/totp/confirm`.

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
        let enrolled = accounts::enrol_totp(app, &session, body?, &client(&req)).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::CREATED, &enrolled, true))
    };
    finish(result.await, locale)
}
