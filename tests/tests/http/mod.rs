//! A dev server over HTTP for attack tests, on either store: callers come
//! from several loopback addresses (127.0.0.x), so per-network limits are
//! exercised as API Gateway applies them.
#![allow(dead_code)]

use devserver::Dev;
use domain::address::{Channel, Destination};
use domain::codes::record_key;
use domain::ports::Clock as _;
use domain::purpose::Purpose;
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use vericode_tests::{Backend, TestApp, app_with, config};

pub struct Server {
    pub t: TestApp,
    pub base: String,
}

/// A response: status, headers that could tell requests apart, JSON body.
#[derive(Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Server {
    pub async fn start(b: Backend) -> Self {
        Self::start_with(b, config()).await
    }

    /// A server with settings of its own (the per-client send limit lifted).
    pub async fn start_with(b: Backend, mut cfg: domain::config::Config) -> Self {
        cfg.ip_window_max = 100_000;
        Self::serve(app_with(b, cfg).await).await
    }

    /// The dev server over `t`'s services, with its dev powers, on a free port.
    pub async fn serve(t: TestApp) -> Self {
        let dev = Dev {
            services: t.app.clone(),
            answers: Some(t.answers.clone()),
            mailbox: Some(t.mailbox.clone()),
            events: Some(t.events.clone()),
            relay: None,
            cors: devserver::Cors::Off,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let app = devserver::router(dev).into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app).await.unwrap();
        });
        Server { t, base: format!("http://{addr}") }
    }

    /// A request from `ip` (a loopback address).
    pub async fn call(
        &self,
        ip: &str,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        bearer: Option<&str>,
    ) -> Reply {
        self.call_as(ip, None, method, path, body, bearer).await
    }

    /// A request from `ip` by a client naming itself `user_agent`.
    pub async fn call_as(
        &self,
        ip: &str,
        user_agent: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        bearer: Option<&str>,
    ) -> Reply {
        let from: IpAddr = ip.parse().unwrap();
        let http = reqwest::Client::builder().local_address(from).build().unwrap();
        let mut req = http.request(method, format!("{}{path}", self.base)).json(body);
        if let Some(ua) = user_agent {
            req = req.header("user-agent", ua);
        }
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .filter(|(name, _)| *name != "date")
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
        Reply { status, headers, body }
    }

    pub async fn post(&self, path: &str, body: Value, bearer: Option<&str>) -> Reply {
        self.call("127.0.0.1", reqwest::Method::POST, path, &body, bearer).await
    }

    pub async fn put(&self, path: &str, body: Value, bearer: &str) -> Reply {
        self.call("127.0.0.1", reqwest::Method::PUT, path, &body, Some(bearer)).await
    }

    pub async fn captcha(&self) -> Value {
        let c = self.post("/v1/captchas", json!({}), None).await.body;
        let id = c["captcha_id"].as_str().unwrap().to_string();
        json!({"id": id, "answer": self.t.answers.answer(&id).unwrap()})
    }

    /// Sends a code (with a fresh captcha unless `bearer` is for bind/verify).
    pub async fn send(
        &self,
        channel: &str,
        to: &str,
        purpose: &str,
        bearer: Option<&str>,
    ) -> Reply {
        let mut body = json!({"channel": channel, "to": to, "purpose": purpose});
        if !matches!(purpose, "bind" | "verify") {
            body["captcha"] = self.captcha().await;
        }
        self.post("/v1/codes", body, bearer).await
    }

    pub async fn login_by_password(&self, ip: &str, email: &str, password: &str) -> Reply {
        let body = json!({"email": email, "password": password, "captcha": self.captcha().await});
        self.call(ip, reqwest::Method::POST, "/v1/sessions", &body, None).await
    }

    pub async fn register(&self, email: &str, password: &str) -> String {
        assert_eq!(self.send("email", email, "register", None).await.status, 202);
        let code = self.t.last_code(email).unwrap();
        let body = json!({"email": email, "password": password, "code": code});
        let reply = self.post("/v1/accounts", body, None).await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        reply.body["token"].as_str().unwrap().to_string()
    }

    /// A step-up token for the account of `bearer`: a `verify` code sent to
    /// its `email` (a minute later than any before), checked.
    pub async fn step_up_token(&self, email: &str, bearer: &str) -> String {
        self.t.clock.advance(61);
        assert_eq!(self.send("email", email, "verify", Some(bearer)).await.status, 202);
        let code = self.t.last_code(email).unwrap();
        let check = json!({"channel": "email", "to": email, "purpose": "verify", "code": code});
        let reply = self.post("/v1/codes/verify", check, Some(bearer)).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body["verification_token"].as_str().unwrap().to_string()
    }

    /// The destination's record: whether a code lives, its checks, sends and failures.
    pub async fn record_shape(&self, purpose: Purpose, email: &str) -> (bool, u32, usize, usize) {
        let dest = Destination::parse(Channel::Email, email, None, "to").unwrap();
        let key = record_key(purpose, &dest, None);
        let now = self.t.clock.now();
        let r = self.t.app.store.load_destination(&key, now).await.unwrap();
        let attempts = r.code.as_ref().map_or(0, |c| c.attempts);
        (r.code.is_some(), attempts, r.sends.len(), r.fails.len())
    }
}
