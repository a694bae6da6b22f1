//! `PUT /v1/me/phone`: bind or change the phone number.
//!
//! Body: `phone` (+`country_code`), `code` or `verification_token` (purpose `bind`). `200` account.

use domain::Services;
use domain::accounts::{self, BindAddress};
use domain::address::Channel;
use edge::auth;
use edge::request::parse_request;
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<BindAddress>(&req);
    let result = async {
        let who = auth::require(app, &req).await?;
        let account = accounts::bind(app, &who, Channel::Sms, body?).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::OK, &account, true))
    };
    finish(result.await, locale)
}
