//! `DELETE /v1/me`: delete the account.
//!
//! Body: `current_password` or `step_up_token`. `204`; its addresses are free
//! again, its sessions and login links are dead.

use domain::Services;
use domain::accounts::{self, DeleteAccount};
use edge::auth;
use edge::request::{client, parse_request};
use edge::response::{empty, finish};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<DeleteAccount>(&req);
    let result = async {
        let session = auth::session(app, &req)?;
        accounts::delete_account(app, &session, body?, &client(&req)).await?;
        Ok::<_, edge::ApiError>(empty(StatusCode::NO_CONTENT))
    };
    finish(result.await, locale)
}
