//! The requests, responses, token claims and errors of the code use cases.

use crate::address::Channel;
use crate::captcha::CaptchaInput;
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::ports::Timestamp;
use crate::purpose::Purpose;
use crate::token::Expiring;
use serde::{Deserialize, Serialize};

/// How long a verification token lives.
pub const VERIFICATION_TOKEN_TTL: i64 = 600;
pub(super) const VERIFICATION: &str = "verification";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendCode {
    pub channel: Channel,
    /// Ignored for `verify`, required otherwise.
    pub to: Option<String>,
    pub country_code: Option<u16>,
    pub purpose: Purpose,
    /// Read by the edge, with `Accept-Language`, into the message's locale.
    pub locale: Option<String>,
    pub captcha: Option<CaptchaInput>,
    /// A named template set (`TEMPLATES_DIR`); `default` is the built-in one.
    pub template: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct CodeSent {
    pub expires_in: i64,
    pub resend_in: i64,
    /// The digits of the code sent: what a client should ask for.
    pub code_length: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyCode {
    pub channel: Channel,
    pub to: String,
    pub country_code: Option<u16>,
    pub purpose: Purpose,
    pub code: String,
    #[allow(dead_code)]
    pub locale: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Verified {
    pub verification_token: String,
    pub expires_in: i64,
}

/// Claims of a verification token: proof that the holder read the code sent
/// to `sub` (a destination key) for `purpose`.
#[derive(Debug, Serialize, Deserialize)]
pub struct VerificationClaims {
    pub sub: String,
    pub purpose: Purpose,
    /// The account, for `bind` and `verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acct: Option<String>,
    pub jti: String,
    pub exp: Timestamp,
    pub typ: String,
}

impl Expiring for VerificationClaims {
    fn exp(&self) -> Timestamp {
        self.exp
    }
}

/// Why a send was refused.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// `bind` and `verify` need a session.
    #[error("a session is required")]
    Unauthorized,
    #[error("captcha invalid")]
    CaptchaInvalid,
    /// `verify` to a channel the account has no address on.
    #[error("no bound address")]
    NoBoundAddress,
    #[error("sms country not allowed")]
    SmsCountryNotAllowed,
    #[error("rate limited")]
    RateLimited { retry_after: u64 },
    #[error("sms budget exhausted")]
    SmsBudgetExhausted { retry_after: u64 },
    /// The SMS guard blocks the destination's prefix or country.
    #[error("sms destination blocked")]
    SmsDestinationBlocked,
    /// Lost every race for the destination's record.
    #[error("too busy")]
    Busy,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::faults!(SendError);

/// Why a code or verification token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// `bind` and `verify` codes need their account's session.
    #[error("a session is required")]
    Unauthorized,
    /// Wrong, expired or used; `attempts_left` while the code lives.
    #[error("code invalid")]
    CodeInvalid { attempts_left: Option<u32> },
    /// Too many failed checks for the destination.
    #[error("rate limited")]
    RateLimited { retry_after: u64 },
    /// Lost every race for the destination's record.
    #[error("too busy")]
    Busy,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::faults!(CheckError);

impl CheckError {
    /// A proof that was valid when read but used by another request first.
    pub fn used() -> Self {
        CheckError::CodeInvalid { attempts_left: None }
    }
}
