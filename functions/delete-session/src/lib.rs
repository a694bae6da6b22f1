//! `DELETE /v1/sessions/current`: log out.
//!
//! `204`; the token is refused from then on (its logout marker lives until
//! the token would have expired).

use domain::Services;
use domain::accounts;
use edge::auth;
use edge::request::{client, header_locale};
use edge::response::{empty, finish};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let locale = header_locale(&req);
    let result = async {
        let who = auth::require(app, &req).await?;
        accounts::logout(app, &who, &client(&req)).await?;
        Ok::<_, edge::ApiError>(empty(StatusCode::NO_CONTENT))
    };
    finish(result.await, locale)
}
