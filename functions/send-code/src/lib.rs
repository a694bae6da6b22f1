//! `POST /v1/codes`: send a one-time code by email or SMS.
//!
//! `202 {"expires_in", "resend_in", "code_length"}`. No provider call: the
//! message is stored with the code in the send's transaction (captcha,
//! limits, code, message) and delivered by the `deliver` function, which
//! decides what goes out; the request never reads who owns the address.
//! Round trips: docs/performance.md.

use domain::Services;
use domain::codes::{self, SendCode};
use edge::auth;
use edge::request::{client_ip, parse_request};
use edge::response::{finish, json};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, req: Request) -> Response<Body> {
    let (locale, body) = parse_request::<SendCode>(&req);
    let result = async {
        let body = body?;
        let session = auth::optional_session(app, &req)?;
        // Named by the body or the browser; otherwise the account's own.
        let asked = body.locale.is_some() || req.headers().contains_key("accept-language");
        let locale = asked.then_some(locale);
        let sent = codes::send(app, body, locale, session.as_ref(), client_ip(&req)).await?;
        Ok::<_, edge::ApiError>(json(StatusCode::ACCEPTED, &sent, false))
    };
    finish(result.await, locale)
}
