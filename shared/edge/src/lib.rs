//! The HTTP edge: what sits between a Lambda (or the dev server) and the
//! use cases. It reads requests (JSON body, locale, client address, bearer
//! token), turns every use case's error into the API's error envelope in
//! one place, and composes the service from the environment (the
//! composition root: configuration, AWS clients, adapters).

pub mod auth;
pub mod compose;
mod conversions;
pub mod error;
pub mod metrics;
pub mod request;
pub mod response;
pub mod telemetry;

pub use error::ApiError;

/// The `main` of a function behind the HTTP API: JSON logs, the services
/// built once per cold start from the environment (then wired further by
/// the block, if given: `|app| app.with_image_renderer()`), and every
/// request through its `handle` under `response::guarded`.
#[macro_export]
macro_rules! http_main {
    ($handle:path) => {
        $crate::http_main!($handle, |app| app);
    };
    ($handle:path, |$app:ident| $wire:expr) => {
        #[::tokio::main]
        async fn main() -> Result<(), ::lambda_http::Error> {
            $crate::telemetry::init_json();
            let $app = $crate::compose::from_env().await?;
            let app = $wire;
            ::lambda_http::run(::lambda_http::service_fn(|req| async {
                Ok::<_, ::lambda_http::Error>($crate::response::guarded($handle(&app, req)).await)
            }))
            .await
        }
    };
}
