//! `GET /.well-known/jwks.json`: the public keys that verify this service's
//! tokens (`{"keys": [{"kty": "OKP", "crv": "Ed25519", "x", "kid", "alg":
//! "EdDSA", "use": "sig"}]}`), the current key first, then the previous
//! ones. An app's backend checks session tokens offline against them.
//!
//! Cached for 5 minutes: a rotation lists the new key as current and keeps
//! the old one, so caches that lag behind still verify everything.

use domain::Services;
use edge::response::json;
use lambda_http::http::header::CACHE_CONTROL;
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &Services, _req: Request) -> Response<Body> {
    let mut resp = json(StatusCode::OK, app.tokens.jwks(), false);
    resp.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    resp
}
