//! The API's errors and their one mapping to HTTP: status, stable `code`,
//! localised `message`, optional `field`, and `retry_after` / `attempts_left`.

use crate::locale::Locale;
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
    InvalidEmail(&'static str),
    #[error("invalid phone")]
    InvalidPhone(&'static str),
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
    #[error("delivery failed")]
    DeliveryFailed,
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
    #[error("no bound address")]
    NoBoundAddress,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Anything unexpected. The source chain is logged; the client sees a generic 500.
    #[error("internal error")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl ApiError {
    pub fn internal(e: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        ApiError::Internal(e.into())
    }

    pub fn invalid_field(field: &str) -> Self {
        ApiError::InvalidRequest { problem: BodyProblem::BadValue, field: Some(field.to_string()) }
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
            CaptchaInvalid | SmsCountryNotAllowed | InviteInvalid => StatusCode::FORBIDDEN,
            RateLimited { .. } | SmsBudgetExhausted { .. } => StatusCode::TOO_MANY_REQUESTS,
            DeliveryFailed => StatusCode::BAD_GATEWAY,
            AccountExists | AddressTaken | NoBoundAddress => StatusCode::CONFLICT,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
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
            DeliveryFailed => "delivery_failed",
            CodeInvalid { .. } => "code_invalid",
            WeakPassword(_) => "weak_password",
            AccountExists => "account_exists",
            InviteInvalid => "invite_invalid",
            InvalidCredentials => "invalid_credentials",
            AddressTaken => "address_taken",
            NoBoundAddress => "no_bound_address",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
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

    /// Seconds until a retry can succeed, for 429s.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after }
            | ApiError::SmsBudgetExhausted { retry_after } => Some((*retry_after).max(1)),
            _ => None,
        }
    }

    pub fn message(&self, locale: Locale) -> String {
        use ApiError::*;
        let zh = locale == Locale::ZhHans;
        let pick = |en: &str, zh_text: &str| if zh { zh_text.to_string() } else { en.to_string() };
        match self {
            InvalidRequest { problem, field } => {
                let f = field.as_deref().unwrap_or("");
                match (problem, zh) {
                    (BodyProblem::NotJson, false) => "The request body is not valid JSON.".into(),
                    (BodyProblem::NotJson, true) => "请求体不是有效的 JSON。".into(),
                    (BodyProblem::NotAnObject, false) => {
                        "The request body must be a JSON object.".into()
                    }
                    (BodyProblem::NotAnObject, true) => "请求体必须是 JSON 对象。".into(),
                    (BodyProblem::Missing, false) => format!("The field `{f}` is required."),
                    (BodyProblem::Missing, true) => format!("缺少必填字段 `{f}`。"),
                    (BodyProblem::Unknown, false) => {
                        format!("The field `{f}` is not accepted here.")
                    }
                    (BodyProblem::Unknown, true) => format!("不接受字段 `{f}`。"),
                    (BodyProblem::WrongType, false) => {
                        format!("The field `{f}` has the wrong type.")
                    }
                    (BodyProblem::WrongType, true) => format!("字段 `{f}` 的类型不正确。"),
                    (BodyProblem::BadValue, false) => {
                        format!("The field `{f}` has an invalid value.")
                    }
                    (BodyProblem::BadValue, true) => format!("字段 `{f}` 的值无效。"),
                }
            }
            PayloadTooLarge => {
                pick("The request body is larger than 16 KiB.", "请求体超过 16 KiB。")
            }
            InvalidEmail(_) => pick("That is not a valid email address.", "邮箱地址无效。"),
            InvalidPhone(_) => pick("That is not a valid phone number.", "手机号码无效。"),
            Unauthorized => pick(
                "Log in first; the token is missing, expired or revoked.",
                "请先登录：令牌缺失、已过期或已撤销。",
            ),
            CaptchaInvalid => pick(
                "The captcha answer is wrong or the captcha has expired; get a new one.",
                "图形验证码错误或已过期，请重新获取。",
            ),
            SmsCountryNotAllowed => pick(
                "Text messages cannot be sent to this country.",
                "不支持向该国家或地区发送短信。",
            ),
            RateLimited { .. } => {
                pick("Too many requests; try again later.", "请求过于频繁，请稍后再试。")
            }
            SmsBudgetExhausted { .. } => pick(
                "The daily text message budget is used up; try again later.",
                "今日短信额度已用完，请稍后再试。",
            ),
            DeliveryFailed => pick(
                "The message could not be delivered; try again later.",
                "消息发送失败，请稍后再试。",
            ),
            CodeInvalid { .. } => {
                pick("The code is wrong, expired or used up.", "验证码错误、已过期或已失效。")
            }
            WeakPassword(_) => pick(
                "The password must be 8 to 128 characters long.",
                "密码长度须为 8 到 128 个字符。",
            ),
            AccountExists => {
                pick("An account with this address already exists.", "该地址已注册账号。")
            }
            InviteInvalid => {
                pick("Registration needs a valid, unused invite.", "注册需要有效且未使用的邀请码。")
            }
            InvalidCredentials => {
                pick("The account or the credentials are wrong.", "账号或凭据错误。")
            }
            AddressTaken => {
                pick("This address belongs to another account.", "该地址已被其他账号使用。")
            }
            NoBoundAddress => pick(
                "The account has no address bound on that channel.",
                "该账号未绑定此渠道的地址。",
            ),
            NotFound => pick("No such endpoint.", "接口不存在。"),
            MethodNotAllowed => {
                pick("That method is not allowed on this endpoint.", "该接口不支持此请求方法。")
            }
            Internal(_) => {
                pick("Something went wrong on our side; try again.", "服务器内部错误，请重试。")
            }
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

/// `err: cause: cause…`, for logs.
pub fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_shape() {
        let body = ApiError::RateLimited { retry_after: 0 }.body(Locale::En);
        assert_eq!(body["error"]["code"], "rate_limited");
        assert_eq!(body["error"]["retry_after"], 1);
        assert!(body["error"].get("field").is_none());

        let body =
            ApiError::InvalidRequest { problem: BodyProblem::Missing, field: Some("to".into()) }
                .body(Locale::ZhHans);
        assert_eq!(body["error"]["field"], "to");
        assert!(body["error"]["message"].as_str().unwrap().contains("缺少"));
    }

    #[test]
    fn internal_errors_say_nothing_inside() {
        let e = ApiError::internal(std::io::Error::other("table vericode-secret missing"));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = e.body(Locale::En).to_string();
        assert!(!text.contains("vericode-secret"));
        assert!(chain(&e).contains("vericode-secret"));
    }
}
