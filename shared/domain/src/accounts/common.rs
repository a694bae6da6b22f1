//! What the account use cases share: the account as shown, a new session,
//! limits, and the reading of addresses and proofs.

use crate::address::{Channel, Destination};
use crate::codes::Proof;
use crate::config::Config;
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::ports::AccountRecord;
use crate::services::Services;
use crate::sessions;
use crate::time::rfc3339;
use serde::Serialize;

pub const DEFAULT_SESSION_SECS: i64 = 86_400;
pub const MIN_SESSION_SECS: i64 = 5;
pub const MAX_SESSION_SECS: i64 = 2_592_000;
pub const LOGIN_LINK_SECS: i64 = 300;
pub const INVITE_SECS: i64 = 7 * 86_400;
/// Failed password logins per (account or unknown address, client IP) in
/// `LOGIN_FAIL_WINDOW_SECS`.
pub const LOGIN_FAIL_MAX: u32 = 10;
pub const LOGIN_FAIL_WINDOW_SECS: i64 = 900;
/// Failed password logins per account (or unknown address) from all IPs in
/// `LOGIN_FAIL_CEILING_WINDOW_SECS` (NIST SP 800-63B's 100).
pub const LOGIN_FAIL_CEILING: u32 = 100;
pub const LOGIN_FAIL_CEILING_WINDOW_SECS: i64 = 3600;

/// `GET /v1/me` and the `account` of session responses.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct AccountView {
    pub id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub display_name: Option<String>,
    pub locale: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl From<&AccountRecord> for AccountView {
    fn from(a: &AccountRecord) -> Self {
        AccountView {
            id: a.id.clone(),
            email: a.email.clone(),
            phone: a.phone.clone(),
            display_name: a.display_name.clone(),
            locale: a.locale.clone(),
            created_at: rfc3339(a.created_at),
        }
    }
}

/// A new session: `{"account", "token", "token_type": "Bearer", "expires_in"}`.
#[derive(Debug, Serialize)]
pub struct SessionIssued {
    pub account: AccountView,
    pub token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

/// An address given as `email`, or `phone` (+ `country_code`): exactly one.
pub(super) fn address(
    cfg: &Config,
    email: Option<&str>,
    phone: Option<&str>,
    country_code: Option<u16>,
) -> Result<Destination, Invalid> {
    match (email, phone) {
        (Some(e), None) => cfg.destination(Channel::Email, e, None, "email"),
        (None, Some(p)) => cfg.destination(Channel::Sms, p, country_code, "phone"),
        (Some(_), Some(_)) => Err(Invalid::value("phone")),
        (None, None) => Err(Invalid::missing("email")),
    }
}

/// `code` or `verification_token`: exactly one.
pub(super) fn proof<'a>(
    code: Option<&'a str>,
    token: Option<&'a str>,
) -> Result<Proof<'a>, Invalid> {
    match (code, token) {
        (Some(c), None) => Ok(Proof::Code(c)),
        (None, Some(t)) => Ok(Proof::Token(t)),
        (Some(_), Some(_)) => Err(Invalid::value("verification_token")),
        (None, None) => Err(Invalid::missing("code")),
    }
}

pub(super) fn session_secs(expires_in: Option<i64>) -> Result<i64, Invalid> {
    match expires_in {
        None => Ok(DEFAULT_SESSION_SECS),
        Some(s) if (MIN_SESSION_SECS..=MAX_SESSION_SECS).contains(&s) => Ok(s),
        Some(_) => Err(Invalid::value("expires_in")),
    }
}

/// A session token for `account`, as answered, with its claims.
pub(super) fn issue(
    s: &Services,
    account: &AccountRecord,
    secs: i64,
) -> Result<(SessionIssued, sessions::SessionClaims), Fault> {
    let (token, claims) = sessions::issue(s, account, secs)?;
    let issued =
        SessionIssued { account: account.into(), token, token_type: "Bearer", expires_in: secs };
    Ok((issued, claims))
}
