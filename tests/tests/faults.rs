//! Faults of the store, as an attacker or an outage would cause them: a
//! DynamoDB that accepts connections and never answers, a closed port, a
//! table that does not exist (or was deleted under a running service), and
//! an endpoint that answers only throttling and 500s. Each request gets
//! `503 service_unavailable` with `Retry-After` within 5 s — never a hang,
//! never a bare `500` — and nothing is half-written.

use aws::dynamodb::DynamoStore;
use domain::ports::Clock as _;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vericode_tests::{TestApp, config, dynamodb_client, dynamodb_endpoint, parts, request};

/// The longest a request may take when a dependency fails.
const LIMIT: Duration = Duration::from_secs(5);

/// An app whose store is DynamoDB at `endpoint`, table `table`.
async fn app_at(endpoint: &str, table: &str) -> TestApp {
    let client = aws::dynamodb::client(&aws::sdk_config().await, Some(endpoint));
    vericode_tests::services_over(Arc::new(DynamoStore::new(client, table)), config(), None)
}

/// A captcha and a send: both reach the store first thing.
async fn requests(t: &TestApp) -> Vec<(&'static str, u16, Value, Option<String>, Duration)> {
    let mut out = Vec::new();
    let send = json!({"channel": "email", "to": "fault@example.com", "purpose": "register",
        "captcha": {"id": uuid::Uuid::new_v4().to_string(), "answer": "ABCDE"}});
    for (name, body) in [("captcha", json!({})), ("send", send)] {
        let started = Instant::now();
        let req = request(&body, "192.0.2.50", None);
        let resp = if name == "captcha" {
            create_captcha::handle(&t.app, req).await
        } else {
            send_code::handle(&t.app, req).await
        };
        let took = started.elapsed();
        let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        let (status, body) = parts(&resp);
        out.push((name, status, body, retry, took));
    }
    out
}

fn assert_unavailable(results: &[(&'static str, u16, Value, Option<String>, Duration)]) {
    for (name, status, body, retry, took) in results {
        assert_eq!(*status, 503, "{name}: {body}");
        assert_eq!(body["error"]["code"], "service_unavailable", "{name}");
        assert_eq!(body["error"]["retry_after"], 1, "{name}");
        assert_eq!(retry.as_deref(), Some("1"), "{name}");
        assert!(*took < LIMIT, "{name} took {took:?}");
    }
}

#[tokio::test]
async fn a_stalled_store_is_a_503_within_5_s() {
    // Accepts every connection and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let t = app_at(&endpoint, "vericode").await;
    assert_unavailable(&requests(&t).await);
}

#[tokio::test]
async fn an_unreachable_store_is_a_503() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let t = app_at(&format!("http://127.0.0.1:{port}"), "vericode").await;
    assert_unavailable(&requests(&t).await);
}

#[tokio::test]
async fn throttling_and_500s_are_a_503() {
    // Answers every request with a throttling error or a 500, by turns.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut turn = 0u32;
        while let Ok((mut socket, _)) = listener.accept().await {
            turn += 1;
            let throttle = turn % 2 == 1;
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                loop {
                    let Ok(n) = socket.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    let (status, body) = if throttle {
                        (
                            "400 Bad Request",
                            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}"#,
                        )
                    } else {
                        (
                            "500 Internal Server Error",
                            r#"{"__type":"com.amazon.coral.availability#InternalFailure","message":"oops"}"#,
                        )
                    };
                    let resp = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let t = app_at(&endpoint, "vericode").await;
    assert_unavailable(&requests(&t).await);
}

#[tokio::test]
async fn a_missing_or_deleted_table_is_a_503_and_nothing_is_half_written() {
    let client = dynamodb_client().await;
    let missing = format!("missing-{}", uuid::Uuid::new_v4());
    let t = app_at(&dynamodb_endpoint(), &missing).await;
    assert_unavailable(&requests(&t).await);
    // What the edge recognises to log, once, that the table is missing.
    let e = t.app.store.take_captcha("x", 0).await.unwrap_err();
    assert!(domain::error::chain(&e).contains("ResourceNotFoundException"), "{e:?}");

    // A table deleted under a running service, then made again.
    let table = vericode_tests::fresh_table(&client).await;
    let t = app_at(&dynamodb_endpoint(), &table).await;
    let (status, _) =
        parts(&create_captcha::handle(&t.app, request(&json!({}), "192.0.2.50", None)).await);
    assert_eq!(status, 201);
    client.delete_table().table_name(&table).send().await.unwrap();
    assert_unavailable(&requests(&t).await);
    aws::dynamodb::ensure_table(&client, &table, aws::dynamodb::Stream::Disabled).await.unwrap();
    let scan = client.scan().table_name(&table).send().await.unwrap();
    assert_eq!(scan.count(), 0, "nothing was written while the table was gone");
    let (status, _) =
        parts(&create_captcha::handle(&t.app, request(&json!({}), "192.0.2.50", None)).await);
    assert_eq!(status, 201, "and the service recovers by itself");
}

/// How the proxy in front of DynamoDB Local fails one kind of request.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Fault {
    /// Refused before it reaches the store: nothing was written.
    Before,
    /// Refused after the store applied it: the answer is lost.
    After,
}

/// A DynamoDB endpoint in front of DynamoDB Local that fails the next
/// `UpdateItem` whose body holds `needle`, once, as `fault` says (with an error
/// the SDK does not retry), and passes everything else on.
async fn faulty_proxy(needle: &'static str, fault: Fault) -> String {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    let upstream = dynamodb_endpoint();
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let http = reqwest::Client::new();
    let handler = move |headers: HeaderMap, body: Bytes| {
        let (upstream, armed, http) = (upstream.clone(), armed.clone(), http.clone());
        async move {
            let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
            let hit = target == Some("DynamoDB_20120810.UpdateItem")
                && String::from_utf8_lossy(&body).contains(needle)
                && armed.swap(false, std::sync::atomic::Ordering::SeqCst);
            let refuse = || {
                let body = r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"injected fault"}"#;
                (
                    StatusCode::BAD_REQUEST,
                    [("content-type", "application/x-amz-json-1.0")],
                    body.to_string(),
                )
            };
            if hit && fault == Fault::Before {
                return refuse();
            }
            let mut req = http.post(&upstream).body(body);
            for (name, value) in &headers {
                if !matches!(name.as_str(), "host" | "content-length" | "accept-encoding") {
                    req = req.header(name, value);
                }
            }
            let resp = req.send().await.unwrap();
            let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
            let text = resp.text().await.unwrap();
            if hit {
                return refuse();
            }
            (status, [("content-type", "application/x-amz-json-1.0")], text)
        }
    };
    let app = axum::Router::new().fallback(axum::routing::post(handler));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    endpoint
}

/// A check is two concurrent updates of the code's record, of which one
/// can hold. A fault on either one loses nothing: a right guess whose
/// update landed but whose answer was lost still gives its token (which
/// works), a right guess whose update failed is sent again, and a wrong
/// guess whose count failed is counted all the same.
#[tokio::test]
async fn a_fault_on_one_update_of_a_check_loses_nothing() {
    let client = dynamodb_client().await;
    for (needle, fault, right) in [
        // The right guess's update, and the wrong one's.
        ("SET token_jti = :jti", Fault::After, true),
        ("SET token_jti = :jti", Fault::Before, true),
        (":now_list", Fault::Before, false),
        (":now_list", Fault::After, false),
    ] {
        let table = vericode_tests::fresh_table(&client).await;
        let t = app_at(&faulty_proxy(needle, fault).await, &table).await;
        let to = format!("fault-{}@example.com", uuid::Uuid::new_v4().simple());
        let (id, answer) = t.captcha().await;
        let send = json!({"channel": "email", "to": to, "purpose": "register",
            "captcha": {"id": id, "answer": answer}});
        let (status, body) =
            parts(&send_code::handle(&t.app, request(&send, "192.0.2.51", None)).await);
        assert_eq!(status, 202, "{body}");
        let code = t.last_code(&to).unwrap();
        let guess = if right {
            code.clone()
        } else if code == "000000" {
            "111111".into()
        } else {
            "000000".into()
        };
        let check = json!({"channel": "email", "to": to, "purpose": "register", "code": guess});
        let (status, body) =
            parts(&verify_code::handle(&t.app, request(&check, "192.0.2.51", None)).await);
        let case = format!("{needle} {fault:?}");
        if right {
            assert_eq!(status, 200, "{case}: {body}");
            let register = json!({"email": to, "password": "long enough",
                "verification_token": body["verification_token"]});
            let (status, body) = parts(
                &create_account::handle(&t.app, request(&register, "192.0.2.51", None)).await,
            );
            assert_eq!(status, 201, "{case}: the token works: {body}");
        } else {
            assert_eq!(status, 400, "{case}: {body}");
            let left = body["error"]["attempts_left"].as_u64().unwrap();
            assert!(left <= 4, "{case}: the wrong guess was counted: {body}");
            let dest = domain::address::Destination::parse(
                domain::address::Channel::Email,
                &to,
                None,
                "to",
            )
            .unwrap();
            let key = domain::codes::record_key(domain::purpose::Purpose::Register, &dest, None);
            let record = t.app.store.load_destination(&key, t.clock.now()).await.unwrap();
            assert!(!record.fails.is_empty(), "{case}: {record:?}");
        }
    }
}
