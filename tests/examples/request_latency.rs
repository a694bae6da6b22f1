//! Latency per request on DynamoDB Local, at concurrency 1 and 16: p50
//! and p99 of the handler as deployed (no delivery on the request path),
//! N requests per endpoint and concurrency. Each request is prepared first
//! (a captcha solved, a code sent and read, an account made) by a second app
//! over the same table; only the handler is timed.
//!
//! `scripts/bench/bench.sh` runs this (`cargo run --profile bench -p
//! vericode-tests --example request_latency -- [N]`, DynamoDB Local
//! running, `VERICODE_TEST_DYNAMODB` set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws::dynamodb::DynamoStore;
use domain::Services;
use futures_util::future::BoxFuture;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;
use vericode_tests::{Backend, TestApp, app_with, config, parts, request};

/// The app that prepares requests (captchas answered, codes delivered to
/// its outbox) and the one that serves the timed requests, as deployed.
struct Rig {
    prep: TestApp,
    timed: Arc<Services>,
    /// A session of an account with a password.
    session: String,
}

/// A request made ready for the timed handler, and which handler.
type Prepared = (Request, Handler);
type Handler = fn(Arc<Services>, Request) -> BoxFuture<'static, Response<Body>>;

macro_rules! handler {
    ($krate:ident) => {
        |app: Arc<Services>, req: Request| -> BoxFuture<'static, Response<Body>> {
            Box::pin(async move { $krate::handle(&app, req).await })
        }
    };
}

const PASSWORD: &str = "a long enough password";
const OWNER: &str = "owner@bench.example.com";

fn ip(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

impl Rig {
    async fn new() -> Rig {
        let mut cfg = config();
        cfg.ip_window_max = 1_000_000;
        let prep = app_with(Backend::Dynamo, cfg.clone()).await;
        let (client, table) = prep.dynamo.clone().expect("DynamoDB");
        let timed = Services::new(cfg, Arc::new(DynamoStore::new(client, table)))
            .expect("services")
            .with_image_renderer()
            .with_clock(Arc::new(prep.clock.clone()));
        let mut rig = Rig { prep, timed: Arc::new(timed), session: String::new() };
        let token = rig.verified("email", OWNER, "register", 0).await;
        let body = json!({"email": OWNER, "password": PASSWORD, "verification_token": token});
        let (status, body) = rig.call(handler!(create_account), body, None, 0).await;
        assert_eq!(status, 201, "{body}");
        rig.session = body["token"].as_str().unwrap().to_string();
        rig
    }

    async fn call(&self, h: Handler, body: Value, bearer: Option<&str>, i: usize) -> (u16, Value) {
        parts(&h(self.prep.app.clone(), request(&body, &ip(i), bearer)).await)
    }

    async fn captcha(&self) -> Value {
        let (id, answer) = self.prep.captcha().await;
        json!({"id": id, "answer": answer})
    }

    async fn code(&self, channel: &str, to: &str, purpose: &str, i: usize) -> String {
        let body = json!({"channel": channel, "to": to, "purpose": purpose,
            "captcha": self.captcha().await});
        let (status, body) = self.call(handler!(send_code), body, None, i).await;
        assert_eq!(status, 202, "{body}");
        self.prep.last_code(to).expect("a code")
    }

    async fn verified(&self, channel: &str, to: &str, purpose: &str, i: usize) -> Value {
        let code = self.code(channel, to, purpose, i).await;
        let body = json!({"channel": channel, "to": to, "purpose": purpose, "code": code});
        let (status, body) = self.call(handler!(verify_code), body, None, i).await;
        assert_eq!(status, 200, "{body}");
        body["verification_token"].clone()
    }

    /// Request `i` of endpoint `name`, ready to be timed.
    async fn prepare(&self, name: &str, i: usize) -> Prepared {
        let to = format!("{name}-{i}@bench.example.com").replace(' ', "-");
        let (body, bearer, h): (Value, Option<&str>, Handler) = match name {
            "create captcha" => (json!({}), None, handler!(create_captcha)),
            "send a code" => (
                json!({"channel": "email", "to": to, "purpose": "register",
                    "captcha": self.captcha().await}),
                None,
                handler!(send_code),
            ),
            "verify a code" => {
                let code = self.code("email", &to, "register", i).await;
                let body =
                    json!({"channel": "email", "to": to, "purpose": "register", "code": code});
                (body, None, handler!(verify_code))
            }
            "get me" => (json!({}), Some(self.session.as_str()), handler!(get_me)),
            "register" => {
                let token = self.verified("email", &to, "register", i).await;
                let body = json!({"email": to, "password": PASSWORD, "verification_token": token});
                (body, None, handler!(create_account))
            }
            "log in by password" => (
                json!({"email": OWNER, "password": PASSWORD, "captcha": self.captcha().await}),
                None,
                handler!(create_session),
            ),
            "log in by code" => {
                self.prep.account(Some(&to), None).await;
                let code = self.code("email", &to, "login", i).await;
                (json!({"email": to, "code": code}), None, handler!(create_session))
            }
            "create a login link" => {
                (json!({}), Some(self.session.as_str()), handler!(create_login_link))
            }
            "redeem a login link" => {
                let (status, link) =
                    self.call(handler!(create_login_link), json!({}), Some(&self.session), i).await;
                assert_eq!(status, 201, "{link}");
                let body = json!({"authorization": link["authorization"]});
                (body, None, handler!(redeem_login_link))
            }
            other => panic!("no such endpoint: {other}"),
        };
        (request(&body, &ip(i), bearer), h)
    }
}

const ENDPOINTS: &[&str] = &[
    "create captcha",
    "send a code",
    "verify a code",
    "get me",
    "register",
    "log in by password",
    "log in by code",
    "create a login link",
    "redeem a login link",
];

/// Milliseconds per request of `name`, `n` requests by `workers` at once.
async fn measure(
    rig: &Arc<Rig>,
    name: &'static str,
    n: usize,
    workers: usize,
    base: usize,
) -> Vec<f64> {
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let rig = rig.clone();
            tokio::spawn(async move {
                let mut times = Vec::new();
                for i in (w..n).step_by(workers) {
                    let (req, h) = rig.prepare(name, base + i).await;
                    let started = Instant::now();
                    let resp = h(rig.timed.clone(), req).await;
                    times.push(started.elapsed().as_secs_f64() * 1e3);
                    let status = resp.status().as_u16();
                    assert!(status < 300, "{name}: {status} {:?}", resp.body());
                }
                times
            })
        })
        .collect();
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(f64::total_cmp);
    all
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let rig = Arc::new(Rig::new().await);
    // Warm up connections and DynamoDB Local.
    measure(&rig, "create captcha", 200, 4, 0).await;
    println!("request latency on DynamoDB Local (ms), n = {n} per cell");
    println!(
        "{:<22} {:>9} {:>9} {:>10} {:>10}",
        "request", "c1 p50", "c1 p99", "c16 p50", "c16 p99"
    );
    for (k, name) in ENDPOINTS.iter().enumerate() {
        let base = (k + 1) * 1_000_000;
        let one = measure(&rig, name, n, 1, base).await;
        let sixteen = measure(&rig, name, n, 16, base + 500_000).await;
        println!(
            "{name:<22} {:>9.2} {:>9.2} {:>10.2} {:>10.2}",
            pct(&one, 0.5),
            pct(&one, 0.99),
            pct(&sixteen, 0.5),
            pct(&sixteen, 0.99)
        );
    }
}
