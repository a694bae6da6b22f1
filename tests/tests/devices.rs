//! Sessions per device over HTTP, on both stores: every login records its
//! session (device, masked network, times), the account lists its live
//! ones, ends one or all the others; and the attacks on it — another
//! account's session named, a guessed id, a session ended racing its use.

mod http;

use http::{Reply, Server};
use reqwest::Method;
use serde_json::{Value, json};
use vericode_tests::{Backend, both_stores};

const MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const PASSWORD: &str = "correct horse battery";

/// A password login from `ip` as `ua`: the session token.
async fn login(s: &Server, ip: &str, ua: &str, email: &str) -> String {
    let body = json!({"email": email, "password": PASSWORD, "captcha": s.captcha().await});
    let reply = s.call_as(ip, Some(ua), Method::POST, "/v1/sessions", &body, None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["token"].as_str().unwrap().to_string()
}

async fn list(s: &Server, token: &str) -> Reply {
    s.call("127.0.0.1", Method::GET, "/v1/me/sessions", &Value::Null, Some(token)).await
}

async fn me(s: &Server, token: &str) -> u16 {
    s.call("127.0.0.1", Method::GET, "/v1/me", &Value::Null, Some(token)).await.status
}

async fn end(s: &Server, token: &str, id: &str) -> Reply {
    let path = format!("/v1/me/sessions/{id}");
    s.call("127.0.0.1", Method::DELETE, &path, &Value::Null, Some(token)).await
}

/// The id of the session `token` is.
async fn current_id(s: &Server, token: &str) -> String {
    let listed = list(s, token).await.body;
    let sessions = listed["sessions"].as_array().unwrap();
    let current = sessions.iter().find(|v| v["current"] == true).unwrap();
    current["id"].as_str().unwrap().to_string()
}

fn ids(list: &Reply) -> Vec<String> {
    let sessions = list.body["sessions"].as_array().unwrap();
    sessions.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

/// Each login is listed with its device, its network masked and its times,
/// newest first, the caller's marked; never another account's.
async fn logins_are_listed_by_device(b: Backend) {
    let s = Server::start(b).await;
    let first = s.register("devices@example.com", PASSWORD).await;
    s.register("stranger@example.com", PASSWORD).await;
    s.t.clock.advance(10);
    login(&s, "127.0.0.2", MAC, "devices@example.com").await;
    s.t.clock.advance(10);
    let phone = login(&s, "127.0.0.3", IPHONE, "devices@example.com").await;
    login(&s, "127.0.0.4", MAC, "stranger@example.com").await;

    let reply = list(&s, &phone).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let sessions = reply.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    let devices: Vec<_> = sessions.iter().map(|s| s["device"].as_str().unwrap()).collect();
    assert_eq!(devices, ["Safari on iOS", "Chrome on macOS", "Unknown browser"]);
    let networks: Vec<_> = sessions.iter().map(|s| s["network"].as_str().unwrap()).collect();
    assert_eq!(networks, ["127.0.0.0/24"; 3], "masked");
    let current: Vec<_> = sessions.iter().map(|s| s["current"].as_bool().unwrap()).collect();
    assert_eq!(current, [true, false, false]);
    let created = sessions[0]["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z') && sessions[0]["expires_at"].is_string());
    let body = reply.body.to_string();
    for secret in [phone.as_str(), first.as_str(), "stranger"] {
        assert!(!body.contains(secret), "the list shows no token and no other account");
    }
}

/// Ending one: its token is refused at once and it leaves the list; the
/// caller's own is ended the same way. A logout leaves the list too.
async fn one_session_ends(b: Backend) {
    let s = Server::start(b).await;
    let laptop = s.register("end@example.com", PASSWORD).await;
    let phone = login(&s, "127.0.0.3", IPHONE, "end@example.com").await;
    let tablet = login(&s, "127.0.0.4", IPHONE, "end@example.com").await;
    let all = ids(&list(&s, &laptop).await);
    let phone_id = current_id(&s, &phone).await;
    assert_eq!(end(&s, &laptop, &phone_id).await.status, 204);
    assert_eq!(me(&s, &phone).await, 401, "ended");
    assert_eq!(me(&s, &laptop).await, 200);
    let left = ids(&list(&s, &laptop).await);
    assert_eq!(left.len(), all.len() - 1);
    assert!(!left.contains(&phone_id));
    let again = end(&s, &laptop, &phone_id).await;
    assert_eq!((again.status, &again.body["error"]["code"]), (404, &json!("not_found")));

    let logout = "/v1/sessions/current";
    let reply = s.call("127.0.0.1", Method::DELETE, logout, &json!({}), Some(&tablet)).await;
    assert_eq!(reply.status, 204);
    assert_eq!(ids(&list(&s, &laptop).await).len(), 1, "a logout leaves the list");
    let mine = current_id(&s, &laptop).await;
    assert_eq!(end(&s, &laptop, &mine).await.status, 204);
    assert_eq!(me(&s, &laptop).await, 401, "its own session ended");
}

/// Another account's session, a guessed id, or no id: `404`, and nothing
/// ends.
async fn another_accounts_session_cannot_be_ended(b: Backend) {
    let s = Server::start(b).await;
    let mine = s.register("mine@example.com", PASSWORD).await;
    let theirs = s.register("theirs@example.com", PASSWORD).await;
    let their_id = ids(&list(&s, &theirs).await).remove(0);
    for id in [their_id.as_str(), "00000000-0000-4000-8000-000000000000", "x"] {
        let reply = end(&s, &mine, id).await;
        assert_eq!(reply.status, 404, "{id}: {:?}", reply.body);
    }
    assert_eq!(me(&s, &theirs).await, 200, "untouched");
    assert_eq!(ids(&list(&s, &theirs).await), [their_id]);
}

/// Ending the others leaves the caller's alone; `scope` must say so.
async fn the_others_end_together(b: Backend) {
    let s = Server::start(b).await;
    let keeper = s.register("others@example.com", PASSWORD).await;
    let mut others = Vec::new();
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        others.push(login(&s, ip, MAC, "others@example.com").await);
    }
    let bare = s.call("127.0.0.1", Method::DELETE, "/v1/me/sessions", &Value::Null, Some(&keeper));
    let bare = bare.await;
    assert_eq!((bare.status, &bare.body["error"]["field"]), (400, &json!("scope")));
    let path = "/v1/me/sessions?scope=others";
    let reply = s.call("127.0.0.1", Method::DELETE, path, &Value::Null, Some(&keeper)).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    for other in &others {
        assert_eq!(me(&s, other).await, 401);
    }
    assert_eq!(me(&s, &keeper).await, 200);
    let left = list(&s, &keeper).await;
    assert_eq!(left.body["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(left.body["sessions"][0]["current"], true);
    let fresh = login(&s, "127.0.0.5", IPHONE, "others@example.com").await;
    assert_eq!(ids(&list(&s, &fresh).await).len(), 2, "a later login is listed");
    // A session ended meanwhile cannot end the others.
    let reply = s.call("127.0.0.1", Method::DELETE, path, &Value::Null, Some(&others[0])).await;
    assert_eq!(reply.status, 401);
}

/// Sessions a password change or reset revoked leave the list; one past
/// its expiry too.
async fn revoked_and_expired_sessions_leave_the_list(b: Backend) {
    let s = Server::start(b).await;
    let keeper = s.register("revoked@example.com", PASSWORD).await;
    login(&s, "127.0.0.2", MAC, "revoked@example.com").await;
    let change = json!({"current_password": PASSWORD, "new_password": "a new password here"});
    assert_eq!(s.put("/v1/me/password", change, &keeper).await.status, 204);
    assert_eq!(ids(&list(&s, &keeper).await).len(), 1, "only the session that changed it");
    let body = json!({"email": "revoked@example.com", "password": "a new password here",
        "captcha": s.captcha().await, "expires_in": 60});
    let short =
        s.post("/v1/sessions", body, None).await.body["token"].as_str().unwrap().to_string();
    assert_eq!(ids(&list(&s, &keeper).await).len(), 2);
    s.t.clock.advance(61);
    assert_eq!(me(&s, &short).await, 401);
    assert_eq!(ids(&list(&s, &keeper).await).len(), 1, "expired");
}

/// A login link and a login's second step each record their session; the
/// first step of a login with an authenticator records none.
async fn every_way_in_is_recorded(b: Backend) {
    let s = Server::start(b).await;
    let first = s.register("ways@example.com", PASSWORD).await;
    let link = s.post("/v1/login-links", json!({}), Some(&first)).await.body;
    s.t.clock.advance(10);
    let redeem = json!({"authorization": link["authorization"]});
    let reply =
        s.call_as("127.0.0.9", Some(IPHONE), Method::POST, "/v1/login-links/redeem", &redeem, None);
    let linked = reply.await;
    assert_eq!(linked.status, 200, "{:?}", linked.body);
    let listed = list(&s, &first).await.body;
    assert_eq!(listed["sessions"][0]["device"], "Safari on iOS", "{listed}");
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 2);

    let step_up = json!({"step_up_token": s.step_up_token("ways@example.com", &first).await});
    let e = s.post("/v1/me/factors/totp", step_up, Some(&first)).await.body;
    let secret = domain::totp::secret_from_base32(e["secret"].as_str().unwrap()).unwrap();
    use domain::ports::Clock as _;
    let step = s.t.clock.now() / domain::totp::STEP_SECS;
    let confirm =
        json!({"factor_id": e["factor_id"], "code": domain::totp::code_at(&secret, step)});
    assert_eq!(s.post("/v1/me/factors/totp/confirm", confirm, Some(&first)).await.status, 200);
    s.t.clock.advance(60);
    let body =
        json!({"email": "ways@example.com", "password": PASSWORD, "captcha": s.captcha().await});
    let reply = s.call_as("127.0.0.7", Some(MAC), Method::POST, "/v1/sessions", &body, None).await;
    assert_eq!(ids(&list(&s, &first).await).len(), 2, "no session before the second step");
    let second = json!({"mfa_token": reply.body["mfa_token"], "totp": domain::totp::code_at(&secret, step + 2)});
    let reply = s.call_as("127.0.0.7", Some(MAC), Method::POST, "/v1/sessions/mfa", &second, None);
    assert_eq!(reply.await.status, 200);
    let listed = list(&s, &first).await.body;
    assert_eq!(listed["sessions"][0]["device"], "Chrome on macOS", "{listed}");
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 3);
}

both_stores!(
    logins_are_listed_by_device,
    one_session_ends,
    another_accounts_session_cannot_be_ended,
    the_others_end_together,
    revoked_and_expired_sessions_leave_the_list,
    every_way_in_is_recorded,
);
