//! A stand-in for an external captcha provider's siteverify endpoint
//! (Cloudflare Turnstile and hCaptcha answer alike), on 127.0.0.1.
//!
//! Tokens say what the stand-in does with them: `pass-…` passes once (a
//! second use is `timeout-or-duplicate`, as the real ones answer),
//! `slow-…` answers after 10 s, `error-…` is a `500`; anything else is
//! `invalid-input-response`. A wrong secret is `invalid-input-secret`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

pub const SECRET: &str = "stand-in-secret";

#[derive(Default)]
struct Seen {
    used: HashSet<String>,
    /// Every check: the token and the `remoteip` sent with it.
    checks: Vec<(String, Option<String>)>,
}

pub struct StandIn {
    /// `http://127.0.0.1:PORT/siteverify`.
    pub url: String,
    seen: Arc<Mutex<Seen>>,
}

impl StandIn {
    pub async fn start() -> StandIn {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let app = axum::Router::new()
            .route("/siteverify", axum::routing::post(siteverify))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/siteverify", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        StandIn { url, seen }
    }

    /// The `remoteip` sent with each check of `token`.
    pub fn remote_ips(&self, token: &str) -> Vec<Option<String>> {
        let seen = self.seen.lock().expect("lock");
        seen.checks.iter().filter(|(t, _)| t == token).map(|(_, ip)| ip.clone()).collect()
    }
}

async fn siteverify(
    State(seen): State<Arc<Mutex<Seen>>>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> axum::response::Response {
    let token = form.get("response").cloned().unwrap_or_default();
    let refused = |code: &str| json!({"success": false, "error-codes": [code]});
    if form.get("secret").map(String::as_str) != Some(SECRET) {
        return axum::Json(refused("invalid-input-secret")).into_response();
    }
    if token.starts_with("slow-") {
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    }
    if token.starts_with("error-") {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut seen = seen.lock().expect("lock");
    seen.checks.push((token.clone(), form.get("remoteip").cloned()));
    let body = if !token.starts_with("pass-") {
        refused("invalid-input-response")
    } else if !seen.used.insert(token) {
        refused("timeout-or-duplicate")
    } else {
        json!({"success": true, "error-codes": [], "hostname": "example.com"})
    };
    axum::Json(body).into_response()
}
