//! Tokens for integrators: EdDSA JWTs with a `kid`, checked offline by a
//! stock JWT library against `GET /.well-known/jwks.json`, and keys that
//! rotate without logging anyone out.

use devserver::Dev;
use domain::ports::{Clock, SystemClock};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::Command;
use vericode_tests::{Backend, app, app_with, config, parts, request};

async fn serve(dev: Dev) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = devserver::router(dev);
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

/// What a backend with only the JWKS URL does, in PyJWT: fetch the key the
/// token's `kid` names and verify the token (EdDSA only).
const VERIFY: &str = r#"
import sys, jwt
url, token = sys.argv[1], sys.argv[2]
key = jwt.PyJWKClient(url).get_signing_key_from_jwt(token)
claims = jwt.decode(token, key.key, algorithms=["EdDSA"])
print(claims["sub"])
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_with_only_the_jwks_url_verifies_a_session() {
    let t = app(Backend::Memory).await;
    // A real clock: a stock library checks `exp` and `iat` against its own.
    t.clock.set(SystemClock.now());
    let base = serve(Dev::new(t.app.clone())).await;
    let (account, session) = t.account(Some("jwks@example.com"), None).await;

    let resp = reqwest::get(format!("{base}/.well-known/jwks.json")).await.unwrap();
    assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
    let jwks: Value = resp.json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (&key["kty"], &key["crv"], &key["alg"]),
        (&json!("OKP"), &json!("Ed25519"), &json!("EdDSA"))
    );

    let url = format!("{base}/.well-known/jwks.json");
    let run = |token: String| {
        let (python, url) = (vericode_tests::venv_python(), url.clone());
        tokio::task::spawn_blocking(move || {
            Command::new(python).args(["-c", VERIFY, &url, &token]).output().unwrap()
        })
    };
    let out = run(session.clone()).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), account.id);

    // A token from another key is refused by the stock library too.
    let mut other = config();
    other.jwt_signing_key = [7; 32];
    let stranger = app_with(Backend::Memory, other).await;
    stranger.clock.set(SystemClock.now());
    let (_, forged) = stranger.account(Some("jwks@example.com"), None).await;
    let out = run(forged).await.unwrap();
    assert!(!out.status.success(), "a token from an unknown key verified");
}

#[tokio::test]
async fn keys_rotate_without_logging_anyone_out() {
    let before = app(Backend::Memory).await;
    let (_, old_session) = before.account(Some("rotate@example.com"), None).await;
    let old_public = domain::token::public_key(&before.app.config.jwt_signing_key);

    // The same store, a new signing key, the old one's public half kept.
    let mut cfg = config();
    cfg.jwt_signing_key = [9; 32];
    cfg.jwt_previous_public_keys = vec![old_public];
    let after = vericode_tests::services_over(before.app.store.clone(), cfg.clone(), None);
    let me = |t: &vericode_tests::TestApp, token: &str| {
        let (app, token) = (t.app.clone(), token.to_string());
        async move { parts(&get_me::handle(&app, request(&json!({}), "192.0.2.7", Some(&token))).await) }
    };
    assert_eq!(me(&after, &old_session).await.0, 200, "a token of the previous key");
    let jwks = after.app.tokens.jwks();
    assert_eq!(jwks.keys.len(), 2);
    assert_eq!(jwks.keys[0].kid, after.app.tokens.kid());

    // New tokens carry the new kid; the old deployment does not know it.
    let (_, new_session) = after.account(Some("new@example.com"), None).await;
    let header = new_session.split('.').next().unwrap();
    use base64::Engine as _;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], after.app.tokens.kid());
    assert_eq!(me(&before, &new_session).await.1["error"]["code"], "unauthorized");

    // Once the previous key is dropped, its tokens stop working.
    cfg.jwt_previous_public_keys.clear();
    let later = vericode_tests::services_over(before.app.store.clone(), cfg, None);
    assert_eq!(me(&later, &old_session).await.0, 401);
    assert_eq!(me(&later, &new_session).await.0, 200);
}
