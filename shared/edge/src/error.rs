//! The API's errors and their one mapping to HTTP: status, stable `code`,
//! localised `message` (from the catalog), optional `field`, and
//! `retry_after` / `attempts_left`. Every use case's error converts into an
//! `ApiError` here (`conversions`), and nowhere else.

use domain::catalog::{Locale, catalog};
use lambda_http::http::StatusCode;
use serde_json::{Map, Value, json};
use std::error::Error as StdError;

/// What is wrong with a request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyProblem {
    NotJson,
    NotAnObject,
    Missing,
    Unknown,
    WrongType,
    BadValue,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request")]
    InvalidRequest { problem: BodyProblem, field: Option<String> },
    #[error("payload too large")]
    PayloadTooLarge,
    /// The field holding the address is named.
    #[error("invalid email")]
    InvalidEmail(String),
    #[error("invalid phone")]
    InvalidPhone(String),
    #[error("unauthorized")]
    Unauthorized,
    #[error("captcha invalid")]
    CaptchaInvalid,
    #[error("sms country not allowed")]
    SmsCountryNotAllowed,
    #[error("rate limited")]
    RateLimited { retry_after: u64 },
    #[error("sms budget exhausted")]
    SmsBudgetExhausted { retry_after: u64 },
    #[error("sms destination blocked")]
    SmsDestinationBlocked,
    #[error("code invalid")]
    CodeInvalid { attempts_left: Option<u32> },
    /// The field holding the password is named.
    #[error("weak password")]
    WeakPassword(String),
    #[error("account exists")]
    AccountExists,
    #[error("invite invalid")]
    InviteInvalid,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("address taken")]
    AddressTaken,
    /// The account has as many authenticators as it may.
    #[error("factor limit")]
    FactorLimit,
    #[error("no bound address")]
    NoBoundAddress,
    #[error("not found")]
    NotFound,
    /// The account has no such authenticator (`not_found`, with a message
    /// of its own).
    #[error("no such factor")]
    NoSuchFactor,
    /// The account has no such live session (`not_found`, with a message
    /// of its own).
    #[error("no such session")]
    NoSuchSession,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A dependency (the store) failed or did not answer in time, or every
    /// retry of a conflict lost. The cause is logged; the client is told
    /// when to try again.
    #[error("service unavailable")]
    ServiceUnavailable {
        retry_after: u64,
        #[source]
        cause: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// Anything unexpected. The source chain is logged; the client sees a generic 500.
    #[error("internal error")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl ApiError {
    pub fn internal(e: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        ApiError::Internal(e.into())
    }

    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            InvalidRequest { .. }
            | InvalidEmail(_)
            | InvalidPhone(_)
            | CodeInvalid { .. }
            | WeakPassword(_) => StatusCode::BAD_REQUEST,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Unauthorized | InvalidCredentials => StatusCode::UNAUTHORIZED,
            CaptchaInvalid | SmsCountryNotAllowed | SmsDestinationBlocked | InviteInvalid => {
                StatusCode::FORBIDDEN
            }
            RateLimited { .. } | SmsBudgetExhausted { .. } => StatusCode::TOO_MANY_REQUESTS,
            AccountExists | AddressTaken | NoBoundAddress | FactorLimit => StatusCode::CONFLICT,
            NotFound | NoSuchFactor | NoSuchSession => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            InvalidRequest { .. } => "invalid_request",
            PayloadTooLarge => "payload_too_large",
            InvalidEmail(_) => "invalid_email",
            InvalidPhone(_) => "invalid_phone",
            Unauthorized => "unauthorized",
            CaptchaInvalid => "captcha_invalid",
            SmsCountryNotAllowed => "sms_country_not_allowed",
            RateLimited { .. } => "rate_limited",
            SmsBudgetExhausted { .. } => "sms_budget_exhausted",
            SmsDestinationBlocked => "sms_destination_blocked",
            CodeInvalid { .. } => "code_invalid",
            WeakPassword(_) => "weak_password",
            AccountExists => "account_exists",
            InviteInvalid => "invite_invalid",
            InvalidCredentials => "invalid_credentials",
            AddressTaken => "address_taken",
            FactorLimit => "factor_limit",
            NoBoundAddress => "no_bound_address",
            NotFound | NoSuchFactor | NoSuchSession => "not_found",
            MethodNotAllowed => "method_not_allowed",
            ServiceUnavailable { .. } => "service_unavailable",
            Internal(_) => "internal_error",
        }
    }

    /// The field at fault, where one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::InvalidRequest { field, .. } => field.as_deref(),
            ApiError::InvalidEmail(field) | ApiError::InvalidPhone(field) => Some(field),
            ApiError::WeakPassword(field) => Some(field),
            ApiError::CaptchaInvalid => Some("captcha"),
            _ => None,
        }
    }

    /// Seconds until a retry can succeed, for 429s and 503s.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after }
            | ApiError::SmsBudgetExhausted { retry_after }
            | ApiError::ServiceUnavailable { retry_after, .. } => Some((*retry_after).max(1)),
            _ => None,
        }
    }

    /// The message key in the catalog (`locales/<tag>/catalog.json`).
    fn message_key(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest { problem, .. } => match problem {
                BodyProblem::NotJson => "invalid_request.not_json",
                BodyProblem::NotAnObject => "invalid_request.not_an_object",
                BodyProblem::Missing => "invalid_request.missing",
                BodyProblem::Unknown => "invalid_request.unknown",
                BodyProblem::WrongType => "invalid_request.wrong_type",
                BodyProblem::BadValue => "invalid_request.bad_value",
            },
            ApiError::NoSuchFactor => "not_found.factor",
            ApiError::NoSuchSession => "not_found.session",
            other => other.code(),
        }
    }

    /// The message in `locale`, from the catalog.
    pub fn message(&self, locale: Locale) -> String {
        match catalog() {
            Ok(c) => c.error_text(locale, self.message_key(), self.field()),
            Err(_) => self.code().to_string(),
        }
    }

    /// The envelope: `{"error": {"code", "message", "field"?, "retry_after"?, "attempts_left"?}}`.
    pub fn body(&self, locale: Locale) -> Value {
        let mut e = Map::new();
        e.insert("code".into(), json!(self.code()));
        e.insert("message".into(), json!(self.message(locale)));
        if let Some(f) = self.field() {
            e.insert("field".into(), json!(f));
        }
        if let Some(r) = self.retry_after() {
            e.insert("retry_after".into(), json!(r));
        }
        if let ApiError::CodeInvalid { attempts_left: Some(n) } = self {
            e.insert("attempts_left".into(), json!(n));
        }
        json!({ "error": e })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::error::chain;

    #[test]
    fn envelope_shape() {
        let body = ApiError::RateLimited { retry_after: 0 }.body(Locale::default());
        assert_eq!(body["error"]["code"], "rate_limited");
        assert_eq!(body["error"]["retry_after"], 1);
        assert!(body["error"].get("field").is_none());

        let body =
            ApiError::InvalidRequest { problem: BodyProblem::Missing, field: Some("to".into()) }
                .body(Locale::from_field("zh-Hans"));
        assert_eq!(body["error"]["field"], "to");
        assert!(body["error"]["message"].as_str().unwrap().contains("缺少"));
    }

    #[test]
    fn an_outage_is_a_503_that_says_when_to_retry_and_nothing_inside() {
        let cause = std::io::Error::other("dispatch failure: table vericode-secret");
        let e = ApiError::ServiceUnavailable { retry_after: 1, cause: Some(Box::new(cause)) };
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = e.body(Locale::default());
        assert_eq!(
            (body["error"]["code"].as_str(), body["error"]["retry_after"].as_u64()),
            (Some("service_unavailable"), Some(1))
        );
        assert!(!body.to_string().contains("vericode-secret"));
        assert!(chain(&e).contains("vericode-secret"));
    }

    #[test]
    fn internal_errors_say_nothing_inside() {
        let e = ApiError::internal(std::io::Error::other("table vericode-secret missing"));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = e.body(Locale::default()).to_string();
        assert!(!text.contains("vericode-secret"));
        assert!(chain(&e).contains("vericode-secret"));
    }
}
