//! Vericode's domain crate: configuration, domain types, ports, use cases,
//! store adapters and the HTTP glue every function shares.

pub mod app;
pub mod captcha;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod locale;
pub mod ports;
pub mod store;
pub mod telemetry;

pub use app::App;
pub use error::ApiError;
