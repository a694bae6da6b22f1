//! `PUT /v1/me/phone`: bind or change the phone number.
//!
//! Body: `phone` (+`country_code`), `code` or `verification_token` (purpose `bind`);
//! replacing a bound address also needs `current_password` or `step_up_token`.
//! `200` account.

use domain::Services;
use domain::accounts::{self, BindAddress};
use domain::address::Channel;
use edge::auth;
use edge::request::{client, parse_request};
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<BindAddress>(&req);
    let result = async {
        let session = auth::session(app, &req)?;
        let account = accounts::bind(app, &session, Channel::Sms, body?, &client(&req)).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::OK, &account, true))
    };
    finish(result.await, locale)
}
