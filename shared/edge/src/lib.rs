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
