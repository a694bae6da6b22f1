//! The local dev server: every endpoint's Lambda handler behind one axum
//! router, plus dev-only helpers. Requests are turned into the same
//! `lambda_http::Request` API Gateway would deliver (the caller's address as
//! `requestContext.http.sourceIp`), so the handlers run exactly as deployed.

pub mod headers;
pub mod settings;

pub use headers::Cors;
pub use settings::DevSettings;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, MethodRouter, get, on};
use domain::Services;
use domain::address::{EmailAddress, PhoneNumber};
use domain::catalog::Locale;
use domain::config::Secrets;
use domain::outbox::{Deliverer, InlineRelay};
use domain::ports::dev::{CaptchaAnswers, EventLog, Mailbox};
use domain::ports::{Delivery, Store, SystemClock};
use edge::ApiError;
use edge::compose::{Deployment, StartupError, config_from_env};
use edge::response::{error_response, json};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

pub type HandlerFuture = Pin<Box<dyn Future<Output = lambda_http::Response<Body>> + Send>>;
pub type Handler = fn(Arc<Services>, lambda_http::Request) -> HandlerFuture;

/// One deployed endpoint: its method, path, function crate and handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub function: &'static str,
    pub handler: Handler,
}

macro_rules! route {
    ($method:ident $path:literal => $krate:ident) => {
        Route {
            method: Method::$method,
            path: $path,
            function: stringify!($krate),
            handler: |app, req| Box::pin(async move { $krate::handle(&app, req).await }),
        }
    };
}

/// Every endpoint of the API, as template.yaml declares them.
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/.well-known/jwks.json" => get_jwks),
        route!(POST "/v1/captchas" => create_captcha),
        route!(POST "/v1/challenges" => create_challenge),
        route!(POST "/v1/codes" => send_code),
        route!(POST "/v1/codes/verify" => verify_code),
        route!(POST "/v1/verifications/redeem" => redeem_verification),
        route!(POST "/v1/accounts" => create_account),
        route!(POST "/v1/sessions" => create_session),
        route!(POST "/v1/sessions/mfa" => complete_mfa),
        route!(DELETE "/v1/sessions/current" => delete_session),
        route!(GET "/v1/me" => get_me),
        route!(DELETE "/v1/me" => delete_account),
        route!(PUT "/v1/me/password" => change_password),
        route!(GET "/v1/me/sessions" => list_sessions),
        route!(DELETE "/v1/me/sessions" => end_other_sessions),
        route!(DELETE "/v1/me/sessions/{id}" => end_session),
        route!(GET "/v1/me/factors" => list_factors),
        route!(POST "/v1/me/factors/totp" => enrol_totp),
        route!(POST "/v1/me/factors/totp/confirm" => confirm_totp),
        route!(DELETE "/v1/me/factors/{id}" => delete_factor),
        route!(POST "/v1/me/factors/recovery-codes" => renew_recovery_codes),
        route!(PUT "/v1/me/email" => bind_email),
        route!(PUT "/v1/me/phone" => bind_phone),
        route!(POST "/v1/password-resets" => reset_password),
        route!(POST "/v1/login-links" => create_login_link),
        route!(POST "/v1/login-links/redeem" => redeem_login_link),
        route!(POST "/v1/login-links/inspect" => inspect_login_link),
        route!(POST "/v1/invites" => create_invite),
    ]
}

/// Bodies above this are refused before a handler sees them (which refuses
/// anything above 16 KiB itself).
const DEV_BODY_LIMIT: usize = 1024 * 1024;

/// What the dev server serves: the services every handler runs against,
/// and the dev-only powers (ports no deployed function wires) behind the
/// `/_dev` routes.
#[derive(Clone)]
pub struct Dev {
    pub services: Arc<Services>,
    /// `GET /_dev/captchas/{id}`.
    pub answers: Option<Arc<dyn CaptchaAnswers>>,
    /// `GET /_dev/messages`.
    pub mailbox: Option<Arc<dyn Mailbox>>,
    /// `GET /_dev/events`.
    pub events: Option<Arc<dyn EventLog>>,
    /// Delivers each committed message in process; the messages route waits
    /// for deliveries under way.
    pub relay: Option<Arc<InlineRelay>>,
    /// The origins browser apps may call from (`CORS_ALLOWED_ORIGINS`).
    pub cors: Cors,
}

impl Dev {
    /// The services alone, without dev powers or CORS.
    pub fn new(services: Arc<Services>) -> Self {
        Dev { services, answers: None, mailbox: None, events: None, relay: None, cors: Cors::Off }
    }
}

/// The router serving the API and the dev-only routes.
pub fn router(dev: Dev) -> Router {
    router_with(dev, routes())
}

/// The router over a given route table (tests add their own routes).
pub fn router_with(dev: Dev, routes: Vec<Route>) -> Router {
    let mut by_path: BTreeMap<&'static str, MethodRouter<Dev>> = BTreeMap::new();
    for r in routes {
        let (handler, template) = (r.handler, r.path);
        let filter = match MethodFilter::try_from(r.method.clone()) {
            Ok(f) => f,
            Err(_) => continue,
        };
        let mr = by_path.remove(r.path).unwrap_or_default();
        let endpoint = on(
            filter,
            move |State(dev): State<Dev>,
                  ConnectInfo(peer): ConnectInfo<SocketAddr>,
                  req: axum::extract::Request| {
                dispatch(dev.services, handler, template, peer, req)
            },
        );
        by_path.insert(r.path, mr.merge(endpoint));
    }
    let mut router = Router::new();
    for (path, mr) in by_path {
        router = router.route(path, mr);
    }
    let cors = dev.cors.clone();
    router
        .route("/_dev/captchas/{id}", get(dev_captcha_answer))
        .route("/_dev/messages", get(dev_messages))
        .route("/_dev/events", get(dev_events))
        .route("/_dev/invites", axum::routing::post(dev_invite))
        .route("/_dev/api-keys", axum::routing::post(dev_api_key))
        .route("/openapi.yaml", get(openapi))
        .route("/", get(playground))
        .route("/login", get(login_page))
        .route("/altcha/altcha.js", get(|| async { asset(ALTCHA_JS, "text/javascript") }))
        .route("/altcha/altcha.css", get(|| async { asset(ALTCHA_CSS, "text/css") }))
        .fallback(|| async { to_axum(error_response(ApiError::NotFound, Locale::default())) })
        .method_not_allowed_fallback(|| async {
            to_axum(error_response(ApiError::MethodNotAllowed, Locale::default()))
        })
        .with_state(dev)
        .layer(axum::middleware::from_fn_with_state(cors, headers::apply))
}

async fn dispatch(
    app: Arc<Services>,
    handler: Handler,
    template: &'static str,
    peer: SocketAddr,
    req: axum::extract::Request,
) -> axum::response::Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let (method, path) = (parts.method.clone(), parts.uri.path().to_string());
    let query = parts.uri.query().map(str::to_string);
    let bytes = match axum::body::to_bytes(body, DEV_BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return to_axum(error_response(ApiError::PayloadTooLarge, Locale::default())),
    };
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.http.method = method.clone();
    ctx.http.path = Some(path.clone());
    ctx.http.source_ip = Some(peer.ip().to_string());
    ctx.stage = Some("$default".into());
    ctx.request_id = app.new_id().ok();
    let request_id = ctx.request_id.clone().unwrap_or_default();
    let body = if bytes.is_empty() { Body::Empty } else { Body::Binary(bytes.to_vec()) };
    let req = lambda_http::Request::from_parts(parts, body)
        .with_request_context(RequestContext::ApiGatewayV2(ctx))
        .with_path_parameters(path_parameters(template, &path))
        .with_query_string_parameters(query_parameters(query.as_deref()));
    // As in Lambda: a panic is a 500 envelope, logged with the request id.
    let span = tracing::info_span!("request", request_id);
    let resp = edge::response::guarded(handler(app, req)).instrument(span).await;
    tracing::info!(%method, %path, status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    to_axum(resp)
}

/// The `{name}` segments of a route's path, as API Gateway passes them.
fn path_parameters(template: &str, path: &str) -> HashMap<String, String> {
    template
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(t, p)| {
            let name = t.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_string(), p.to_string()))
        })
        .collect()
}

/// The query string's parameters, as API Gateway passes them.
fn query_parameters(query: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let pairs = query.unwrap_or("").split('&').filter(|p| !p.is_empty());
    for pair in pairs {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_decode(&s.replace('+', " "));
        out.entry(decode(k)).or_default().push(decode(v));
    }
    out
}

/// `%XX` escapes decoded (invalid ones kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A Lambda response as an axum response.
pub fn to_axum(resp: lambda_http::Response<Body>) -> axum::response::Response {
    let (parts, body) = resp.into_parts();
    let body = match body {
        Body::Empty => axum::body::Body::empty(),
        Body::Text(t) => axum::body::Body::from(t),
        Body::Binary(b) => axum::body::Body::from(b),
        _ => axum::body::Body::empty(),
    };
    axum::response::Response::from_parts(parts, body)
}

async fn dev_captcha_answer(
    State(dev): State<Dev>,
    Path(id): Path<String>,
) -> axum::response::Response {
    let answer = dev.answers.as_ref().and_then(|log| log.answer(&id));
    to_axum(match answer {
        Some(answer) => json(StatusCode::OK, &serde_json::json!({ "answer": answer }), true),
        None => error_response(ApiError::NotFound, Locale::default()),
    })
}

const PLAYGROUND: &str = include_str!("playground.html");

/// `GET /`: a page to try the API by hand (captcha, send, outbox, verify,
/// register, log in), in English and Chinese, under a strict
/// Content-Security-Policy.
async fn playground() -> axum::response::Response {
    static CSP: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| headers::page_csp(PLAYGROUND));
    page(PLAYGROUND, &CSP)
}

/// An HTML page under its Content-Security-Policy.
fn page(html: &'static str, csp: &str) -> axum::response::Response {
    let mut resp = axum::response::Html(html).into_response();
    if let Ok(csp) = axum::http::HeaderValue::from_str(csp) {
        resp.headers_mut().insert(axum::http::header::CONTENT_SECURITY_POLICY, csp);
    }
    resp
}

/// The `altcha` widget (assets/altcha/README.md), for the pages' proof of work.
const ALTCHA_JS: &str = include_str!("../assets/altcha/altcha.js");
const ALTCHA_CSS: &str = include_str!("../assets/altcha/altcha.css");

/// A static file the pages load.
fn asset(body: &'static str, content_type: &'static str) -> axum::response::Response {
    let mut resp = body.into_response();
    let value = axum::http::HeaderValue::from_static(content_type);
    resp.headers_mut().insert(axum::http::header::CONTENT_TYPE, value);
    resp
}

const LOGIN: &str = include_str!("login.html");

/// `GET /login?authorization=…`: where the dev server's login links point.
/// It redeems the link by `POST` only when the button is pressed, so a
/// link scanner that fetches the page cannot spend it.
async fn login_page() -> axum::response::Response {
    static CSP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| headers::page_csp(LOGIN));
    page(LOGIN, &CSP)
}

/// The API's OpenAPI document.
pub const OPENAPI: &str = include_str!("../../openapi.yaml");

async fn openapi() -> axum::response::Response {
    let mut resp = axum::response::Response::new(axum::body::Body::from(OPENAPI));
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/yaml"),
    );
    resp
}

/// `POST /_dev/invites`: an invite on the dev server's own store (memory
/// or DynamoDB), for the first account of an invite-only setup — what
/// `vericode-admin invite` does against a deployment's table.
async fn dev_invite(State(dev): State<Dev>) -> axum::response::Response {
    to_axum(match domain::accounts::create_invite(&dev.services, "dev-server").await {
        Ok(invite) => json(StatusCode::CREATED, &invite, true),
        Err(e) => error_response(e.into(), Locale::default()),
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyRequest {
    name: String,
}

/// `POST /_dev/api-keys {"name"}`: an API key on the dev server's own store
/// (as `vericode-admin api-key create` makes one on DynamoDB), for trying
/// `POST /v1/verifications/redeem`. `201 {"id", "name", "api_key"}`.
async fn dev_api_key(State(dev): State<Dev>, body: axum::body::Bytes) -> axum::response::Response {
    // Read as the API reads bodies: JSON whatever the Content-Type says.
    let Ok(req) = serde_json::from_slice::<ApiKeyRequest>(&body) else {
        let missing = ApiError::from(domain::Invalid::missing("name"));
        return to_axum(error_response(missing, Locale::default()));
    };
    to_axum(match domain::api_keys::create(&dev.services, &req.name).await {
        Ok(key) => {
            let body = serde_json::json!({"id": key.id, "name": key.name, "api_key": key.key});
            json(StatusCode::CREATED, &body, true)
        }
        Err(e) => error_response(e.into(), Locale::default()),
    })
}

#[derive(serde::Deserialize)]
struct MessagesQuery {
    to: String,
}

/// `GET /_dev/messages?to=ADDRESS`: the messages sent to an address, newest
/// first. The address may be spelled any way the API accepts (a `+` that a
/// query string turned into a space is restored).
/// `GET /_dev/events`: the account events published, newest first (once
/// the deliveries under way are done).
async fn dev_events(State(dev): State<Dev>) -> axum::response::Response {
    let Some(events) = &dev.events else {
        return to_axum(error_response(ApiError::NotFound, Locale::default()));
    };
    if let Some(relay) = &dev.relay {
        relay.settled(std::time::Duration::from_secs(2)).await;
    }
    let events = serde_json::json!({ "events": events.events() });
    to_axum(json(StatusCode::OK, &events, true))
}

async fn dev_messages(
    State(dev): State<Dev>,
    Query(q): Query<MessagesQuery>,
) -> axum::response::Response {
    let Some(mailbox) = &dev.mailbox else {
        return to_axum(error_response(ApiError::NotFound, Locale::default()));
    };
    if let Some(relay) = &dev.relay {
        relay.settled(std::time::Duration::from_secs(2)).await;
    }
    let raw = q.to.trim();
    let canonical = if raw.contains('@') {
        EmailAddress::parse(raw, "to").map(|e| e.as_str().to_string())
    } else {
        let phone = if raw.starts_with('+') { raw.to_string() } else { format!("+{raw}") };
        PhoneNumber::parse(&phone, None, "to").map(|p| p.as_str().to_string())
    }
    .map_err(ApiError::from);
    to_axum(match canonical {
        Ok(to) => json(StatusCode::OK, &serde_json::json!({ "messages": mailbox.to(&to) }), true),
        Err(e) => error_response(e, Locale::default()),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("STORE must be memory or dynamodb, not {0:?}")]
    Store(String),
    #[error("could not prepare the DynamoDB table")]
    Table(#[source] domain::ports::StoreError),
    #[error("DELIVERY must be mailbox or aws, not {0:?}")]
    Delivery(String),
}

impl From<domain::config::ConfigError> for DevError {
    fn from(e: domain::config::ConfigError) -> Self {
        DevError::Startup(e.into())
    }
}

impl From<domain::Fault> for DevError {
    fn from(e: domain::Fault) -> Self {
        DevError::Startup(e.into())
    }
}

/// The store `STORE` names: `memory` (default) or `dynamodb`, creating the
/// table if it is missing.
async fn store_from_env(
    choice: &str,
    sdk: Option<&aws_config::SdkConfig>,
) -> Result<Arc<dyn Store>, DevError> {
    match (choice, sdk) {
        ("" | "memory", _) => Ok(Arc::new(memory::MemoryStore::new())),
        ("dynamodb", Some(sdk)) => {
            let store = Deployment::from_env().store(sdk);
            aws::dynamodb::ensure_table(
                store.client(),
                store.table(),
                aws::dynamodb::Stream::Disabled,
            )
            .await
            .map_err(DevError::Table)?;
            Ok(Arc::new(store))
        }
        (other, _) => Err(DevError::Store(other.to_string())),
    }
}

/// The dev server: configuration from the environment (secrets generated
/// when unset; both captchas, `builtin,pow`, unless `CAPTCHA_PROVIDER` is
/// set), the store `STORE` names, the delivery `DELIVERY` names
/// (`mailbox` by default, or `aws`: SES and SNS, which need `EMAIL_FROM`),
/// run in process right after each send commits, and the captcha answer log.
pub async fn dev_from_env(settings: &DevSettings) -> Result<Dev, DevError> {
    let mut config = config_from_env(Secrets::GenerateIfMissing)?;
    // Both captchas, so the pages can show either, unless told otherwise.
    if !settings.captcha_provider_set {
        config.captcha_provider = domain::config::CaptchaProvider::BuiltinOrPow;
    }
    // Login links point at this server's own /login unless told otherwise.
    if !settings.login_link_base_set {
        config.login_link_base = format!("http://127.0.0.1:{}/login", settings.port);
    }
    edge::compose::check_templates()?;
    let (store_choice, delivery_choice) = (&settings.store, &settings.delivery);
    // AWS configuration only when an AWS adapter is asked for.
    let sdk = if store_choice == "dynamodb" || delivery_choice == "aws" {
        Some(aws::sdk_config().await)
    } else {
        None
    };
    let store = store_from_env(store_choice, sdk.as_ref()).await?;
    let answers = Arc::new(memory::AnswerLog::default());
    let templates = edge::compose::templates_from_env()?;
    let services = Services::new(config, store)?
        .with_image_renderer()
        .with_captcha_log(answers.clone())
        .with_templates(templates);
    let services = edge::compose::with_captcha_provider(services)?;
    let (delivery, mailbox): (Arc<dyn Delivery>, Option<Arc<dyn Mailbox>>) =
        match (delivery_choice.as_str(), &sdk) {
            ("" | "mailbox", _) => {
                let mailbox = Arc::new(memory::Mailbox::new(Arc::new(SystemClock)));
                (mailbox.clone(), Some(mailbox))
            }
            ("aws", Some(sdk)) => (Arc::new(Deployment::from_env().delivery(sdk)?), None),
            (other, _) => return Err(DevError::Delivery(other.to_string())),
        };
    let events = Arc::new(memory::EventLog::default());
    let deliverer = Deliverer::new(&services, delivery).with_events(events.clone());
    let relay = Arc::new(InlineRelay::background(Arc::new(deliverer)));
    let services = services.with_relay(relay.clone());
    let cors = settings.cors.clone();
    Ok(Dev {
        services: Arc::new(services),
        answers: Some(answers),
        mailbox,
        events: Some(events),
        relay: Some(relay),
        cors,
    })
}
