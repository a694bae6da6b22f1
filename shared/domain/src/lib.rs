//! Vericode's domain: the types, the ports (traits the adapters implement)
//! and the use cases — captchas, one-time codes, accounts and sessions.
//!
//! Nothing here knows about AWS, HTTP or Lambda: the adapters (`memory`,
//! `aws`) implement the ports, and the HTTP edge (`edge`) turns requests into
//! use-case calls and use-case errors into responses. See
//! `docs/architecture.md`.

pub mod accounts;
pub mod address;
pub mod api_keys;
pub mod captcha;
pub mod catalog;
pub mod codes;
pub mod config;
pub mod crypto;
pub mod error;
pub mod invalid;
mod jwt_crypto;
pub mod messages;
pub mod network;
pub mod outbox;
pub mod password;
mod phone;
pub mod ports;
pub mod purpose;
pub mod retry;
pub mod services;
pub mod sessions;
pub mod sms;
pub mod templates;
pub mod time;
pub mod token;
pub mod totp;

pub use catalog::Locale;
pub use error::Fault;
pub use invalid::Invalid;
pub use services::Services;
