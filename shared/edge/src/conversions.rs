//! Every use case's error, mapped to the API's. The one place that decides
//! which refusal is which status and code.

use crate::error::{ApiError, BodyProblem};
use domain::accounts::{
    BindError, EndError, FactorError, LinkError, LoginError, MfaError, PasswordError,
    RegisterError, ResetError,
};
use domain::api_keys::ApiKeyError;
use domain::captcha::{CaptchaError, CreateError};
use domain::codes::{CheckError, SendError};
use domain::ports::StoreError;
use domain::sessions::AuthError;
use domain::{Fault, Invalid};

/// Lost every race for a record (after backoff): try again in a second.
const BUSY: ApiError = ApiError::ServiceUnavailable { retry_after: 1, cause: None };

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        let field = |problem, f| ApiError::InvalidRequest { problem, field: Some(f) };
        match e {
            Invalid::Missing(f) => field(BodyProblem::Missing, f),
            Invalid::Unknown(f) => field(BodyProblem::Unknown, f),
            Invalid::Value(f) => field(BodyProblem::BadValue, f),
            Invalid::Email(f) => ApiError::InvalidEmail(f.into()),
            Invalid::Phone(f) => ApiError::InvalidPhone(f.into()),
            Invalid::WeakPassword(f) => ApiError::WeakPassword(f.into()),
        }
    }
}

/// A store or provider that failed or did not answer is a `503` (try again in a
/// second); an unreadable item, a randomness or library failure a `500`.
impl From<Fault> for ApiError {
    fn from(e: Fault) -> Self {
        match e {
            Fault::Store(StoreError::Unavailable(_)) | Fault::Provider(_) => {
                ApiError::ServiceUnavailable { retry_after: 1, cause: Some(Box::new(e)) }
            }
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthorized => ApiError::Unauthorized,
            AuthError::Fault(f) => f.into(),
        }
    }
}

/// With an external captcha provider there are no image captchas.
impl From<CreateError> for ApiError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::NotServed => ApiError::NotFound,
            CreateError::Fault(f) => f.into(),
        }
    }
}

impl From<CaptchaError> for ApiError {
    fn from(e: CaptchaError) -> Self {
        match e {
            CaptchaError::Invalid(i) => i.into(),
            CaptchaError::Wrong => ApiError::CaptchaInvalid,
            CaptchaError::Fault(f) => f.into(),
        }
    }
}

impl From<SendError> for ApiError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Invalid(i) => i.into(),
            SendError::Unauthorized => ApiError::Unauthorized,
            SendError::CaptchaInvalid => ApiError::CaptchaInvalid,
            SendError::NoBoundAddress => ApiError::NoBoundAddress,
            SendError::SmsCountryNotAllowed => ApiError::SmsCountryNotAllowed,
            SendError::SmsDestinationBlocked => ApiError::SmsDestinationBlocked,
            SendError::RateLimited { retry_after } => ApiError::RateLimited { retry_after },
            SendError::SmsBudgetExhausted { retry_after } => {
                ApiError::SmsBudgetExhausted { retry_after }
            }
            SendError::Busy => BUSY,
            SendError::Fault(f) => f.into(),
        }
    }
}

impl From<CheckError> for ApiError {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Invalid(i) => i.into(),
            CheckError::Unauthorized => ApiError::Unauthorized,
            CheckError::CodeInvalid { attempts_left } => ApiError::CodeInvalid { attempts_left },
            CheckError::RateLimited { retry_after } => ApiError::RateLimited { retry_after },
            CheckError::Busy => BUSY,
            CheckError::Fault(f) => f.into(),
        }
    }
}

impl From<RegisterError> for ApiError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::Invalid(i) => i.into(),
            RegisterError::InviteInvalid => ApiError::InviteInvalid,
            RegisterError::Check(c) => c.into(),
            RegisterError::AccountExists => ApiError::AccountExists,
            RegisterError::Fault(f) => f.into(),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Invalid(i) => i.into(),
            LoginError::Captcha(c) => c.into(),
            LoginError::InvalidCredentials => ApiError::InvalidCredentials,
            LoginError::RateLimited { retry_after } => ApiError::RateLimited { retry_after },
            LoginError::Check(c) => c.into(),
            LoginError::Fault(f) => f.into(),
        }
    }
}

impl From<PasswordError> for ApiError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Invalid(i) => i.into(),
            PasswordError::InvalidCredentials => ApiError::InvalidCredentials,
            PasswordError::RateLimited { retry_after } => ApiError::RateLimited { retry_after },
            PasswordError::Unauthorized => ApiError::Unauthorized,
            PasswordError::Busy => BUSY,
            PasswordError::Fault(f) => f.into(),
        }
    }
}

impl From<ResetError> for ApiError {
    fn from(e: ResetError) -> Self {
        match e {
            ResetError::Invalid(i) => i.into(),
            ResetError::Check(c) => c.into(),
            ResetError::Busy => BUSY,
            ResetError::Fault(f) => f.into(),
        }
    }
}

impl From<BindError> for ApiError {
    fn from(e: BindError) -> Self {
        match e {
            BindError::Invalid(i) => i.into(),
            BindError::Check(c) => c.into(),
            BindError::AddressTaken => ApiError::AddressTaken,
            BindError::InvalidCredentials => ApiError::InvalidCredentials,
            BindError::RateLimited { retry_after } => ApiError::RateLimited { retry_after },
            BindError::Unauthorized => ApiError::Unauthorized,
            BindError::Busy => BUSY,
            BindError::Fault(f) => f.into(),
        }
    }
}

impl From<ApiKeyError> for ApiError {
    fn from(e: ApiKeyError) -> Self {
        match e {
            ApiKeyError::Invalid(i) => i.into(),
            ApiKeyError::Unauthorized => ApiError::Unauthorized,
            ApiKeyError::Fault(f) => f.into(),
        }
    }
}

impl From<LinkError> for ApiError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Invalid(i) => i.into(),
            LinkError::InvalidCredentials => ApiError::InvalidCredentials,
            LinkError::Fault(f) => f.into(),
        }
    }
}

impl From<FactorError> for ApiError {
    fn from(e: FactorError) -> Self {
        match e {
            FactorError::Change(c) => c.into(),
            FactorError::NotFound => ApiError::NoSuchFactor,
            FactorError::FactorLimit => ApiError::FactorLimit,
            FactorError::CodeInvalid { attempts_left } => {
                ApiError::CodeInvalid { attempts_left: Some(attempts_left) }
            }
        }
    }
}

impl From<MfaError> for ApiError {
    fn from(e: MfaError) -> Self {
        match e {
            MfaError::Invalid(i) => i.into(),
            MfaError::InvalidCredentials => ApiError::InvalidCredentials,
            MfaError::RateLimited { retry_after } => ApiError::RateLimited { retry_after },
            MfaError::Busy => BUSY,
            MfaError::Fault(f) => f.into(),
        }
    }
}

impl From<EndError> for ApiError {
    fn from(e: EndError) -> Self {
        match e {
            EndError::Unauthorized => ApiError::Unauthorized,
            EndError::NotFound => ApiError::NoSuchSession,
            EndError::Busy => BUSY,
            EndError::Fault(f) => f.into(),
        }
    }
}
