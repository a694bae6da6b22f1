//! Vericode's domain crate: configuration, domain types, ports, use cases,
//! store adapters and the HTTP glue every function shares.

pub mod accounts;
pub mod address;
pub mod app;
pub mod auth;
pub mod captcha;
pub mod codes;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod error;
pub mod http;
pub mod locale;
pub mod messages;
pub mod password;
pub mod ports;
pub mod purpose;
pub mod store;
pub mod telemetry;
pub mod token;

pub use app::App;
pub use error::ApiError;
