//! `POST /v1/verifications/redeem`: an app's server learns what a `confirm`
//! verification token proves, and uses it up.
//!
//! `Authorization: ApiKey <key>`; body `{"verification_token"}`. `200
//! {"channel", "to", "purpose", "verified_at"}`; a missing, wrong or
//! revoked key `401`; a used, expired or foreign token `400 code_invalid`.

use domain::Services;
use domain::codes::{self, RedeemVerification};
use edge::auth;
use edge::request::parse_request;
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<RedeemVerification>(&req);
    let result = async {
        // The token's record is read while the key is looked up; nothing is
        // written unless the key stands.
        let read = async { Ok::<_, edge::ApiError>(codes::read_verification(app, body?).await?) };
        let (key, read) = tokio::join!(auth::require_api_key(app, &req), read);
        let key = key?;
        let redeemed = codes::redeem_verification(app, &key.id, read?).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::OK, &redeemed, true))
    };
    finish(result.await, locale)
}
