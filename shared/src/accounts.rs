//! Accounts and sessions: register, log in (password + captcha, or code),
//! log out, the current account, change and reset the password, bind an
//! email or phone, login links and invites.
//!
//! Every change that uses a code, a verification token or an invite is one
//! all-or-nothing store write together with it (`AccountWrite`s).

use crate::App;
use crate::address::{Channel, Destination};
use crate::auth::{self, Principal};
use crate::captcha::{self, CaptchaInput};
use crate::codes::{self, Proof, Redemption};
use crate::config::RegistrationMode;
use crate::crypto::random_token;
use crate::error::{ApiError, BodyProblem};
use crate::password::Password;
use crate::ports::{AccountRecord, AccountWrite, Counter, SecretKind, Timestamp};
use crate::purpose::Purpose;
use serde::{Deserialize, Serialize};

pub const DEFAULT_SESSION_SECS: i64 = 86_400;
pub const MIN_SESSION_SECS: i64 = 5;
pub const MAX_SESSION_SECS: i64 = 2_592_000;
pub const LOGIN_LINK_SECS: i64 = 300;
pub const INVITE_SECS: i64 = 7 * 86_400;
/// Failed logins per account (or unknown address) in `LOGIN_FAIL_WINDOW_SECS`.
pub const LOGIN_FAIL_MAX: u32 = 10;
pub const LOGIN_FAIL_WINDOW_SECS: i64 = 900;
const MAX_RACES: u32 = 5;

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
fn address(
    email: Option<&str>,
    phone: Option<&str>,
    country_code: Option<u16>,
) -> Result<Destination, ApiError> {
    match (email, phone) {
        (Some(e), None) => Destination::parse(Channel::Email, e, None, "email"),
        (None, Some(p)) => Destination::parse(Channel::Sms, p, country_code, "phone"),
        (Some(_), Some(_)) => Err(ApiError::InvalidRequest {
            problem: BodyProblem::BadValue,
            field: Some("phone".into()),
        }),
        (None, None) => Err(ApiError::InvalidRequest {
            problem: BodyProblem::Missing,
            field: Some("email".into()),
        }),
    }
}

/// `code` or `verification_token`: exactly one.
fn proof<'a>(code: Option<&'a str>, token: Option<&'a str>) -> Result<Proof<'a>, ApiError> {
    match (code, token) {
        (Some(c), None) => Ok(Proof::Code(c)),
        (None, Some(t)) => Ok(Proof::Token(t)),
        (Some(_), Some(_)) => Err(ApiError::InvalidRequest {
            problem: BodyProblem::BadValue,
            field: Some("verification_token".into()),
        }),
        (None, None) => Err(ApiError::InvalidRequest {
            problem: BodyProblem::Missing,
            field: Some("code".into()),
        }),
    }
}

fn session_secs(expires_in: Option<i64>) -> Result<i64, ApiError> {
    match expires_in {
        None => Ok(DEFAULT_SESSION_SECS),
        Some(s) if (MIN_SESSION_SECS..=MAX_SESSION_SECS).contains(&s) => Ok(s),
        Some(_) => Err(ApiError::invalid_field("expires_in")),
    }
}

fn issue(app: &App, account: &AccountRecord, secs: i64) -> Result<SessionIssued, ApiError> {
    let (token, _) = auth::issue(app, account, secs)?;
    Ok(SessionIssued { account: account.into(), token, token_type: "Bearer", expires_in: secs })
}

fn display_name(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field("display_name"));
    }
    Ok(Some(name.to_string()))
}

fn proof_used() -> ApiError {
    ApiError::CodeInvalid { attempts_left: None }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country_code: Option<u16>,
    pub password: String,
    pub code: Option<String>,
    pub verification_token: Option<String>,
    pub invite: Option<String>,
    pub locale: Option<String>,
    pub display_name: Option<String>,
}

/// `POST /v1/accounts`. Round trips: 2 to check the code (or token), then 1
/// transaction: account, address, code and invite, all or nothing.
pub async fn register(app: &App, req: Register) -> Result<SessionIssued, ApiError> {
    let dest = address(req.email.as_deref(), req.phone.as_deref(), req.country_code)?;
    let password = Password::parse(&req.password, "password")?;
    let proof = proof(req.code.as_deref(), req.verification_token.as_deref())?;
    let display_name = display_name(req.display_name.as_deref())?;
    let locale =
        req.locale.as_deref().map(|l| crate::locale::Locale::from_field(l).as_str().to_string());
    let invite = match (app.config.registration_mode, req.invite.as_deref()) {
        (RegistrationMode::Invite, None) => return Err(ApiError::InviteInvalid),
        (RegistrationMode::Invite, Some(i)) => Some(app.keys.secret_hash("invite", i.trim())),
        (RegistrationMode::Open, _) => None,
    };
    // The code first: it is cheap, and hashing only for a good one keeps
    // argon2 from being a lever for anyone without a code.
    let Redemption { record, expected_version } =
        codes::redeem(app, Purpose::Register, &dest, proof).await?;
    let password_hash = app.passwords.hash(&password, &*app.random)?;
    let now = app.clock.now();
    let account = AccountRecord {
        id: app.new_id()?,
        email: matches!(dest, Destination::Email(_)).then(|| dest.address().to_string()),
        phone: matches!(dest, Destination::Phone(_)).then(|| dest.address().to_string()),
        password_hash: Some(password_hash),
        display_name,
        locale,
        created_at: now,
        ..Default::default()
    };
    let mut writes = vec![
        AccountWrite::PutAccount(account.clone()),
        AccountWrite::ClaimAddress { key: dest.key(), account_id: account.id.clone() },
        AccountWrite::SaveDestination { record, expected_version },
    ];
    if let Some(hash) = invite {
        writes.push(AccountWrite::UseSecret { kind: SecretKind::Invite, hash });
    }
    match app.store.apply(&writes, now).await.map_err(ApiError::internal)? {
        Ok(()) => {}
        Err(1) => return Err(ApiError::AccountExists),
        Err(2) => return Err(proof_used()),
        Err(3) => return Err(ApiError::InviteInvalid),
        Err(_) => return Err(ApiError::internal("account id collision")),
    }
    tracing::info!(account = %account.id, to = %dest, "account registered");
    let stored = AccountRecord { version: 1, ..account };
    issue(app, &stored, DEFAULT_SESSION_SECS)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country_code: Option<u16>,
    pub password: Option<String>,
    pub captcha: Option<CaptchaInput>,
    pub code: Option<String>,
    pub verification_token: Option<String>,
    pub expires_in: Option<i64>,
    pub locale: Option<String>,
}

/// `POST /v1/sessions`. By password: the captcha and the account are read at
/// once (2 round trips, the account being 2 reads), a failed-login slot is
/// taken (1) and given back on success (1). By code: 2 to check, 1 to use it,
/// 2 to read the account.
pub async fn login(app: &App, req: Login) -> Result<SessionIssued, ApiError> {
    let dest = address(req.email.as_deref(), req.phone.as_deref(), req.country_code)?;
    let secs = session_secs(req.expires_in)?;
    if let Some(password) = req.password.as_deref() {
        if req.code.is_some() || req.verification_token.is_some() {
            return Err(ApiError::invalid_field("password"));
        }
        let captcha = req.captcha.as_ref().ok_or(ApiError::InvalidRequest {
            problem: BodyProblem::Missing,
            field: Some("captcha".into()),
        })?;
        let key = dest.key();
        let (checked, account) =
            tokio::join!(captcha::consume(app, captcha), app.store.account_by_address(&key));
        checked?;
        let account = account.map_err(ApiError::internal)?;
        let subject = account.as_ref().map_or_else(|| dest.key(), |a| a.id.clone());
        with_login_slot(app, &subject, || async {
            let ok = app
                .passwords
                .verify(password, account.as_ref().and_then(|a| a.password_hash.as_deref()));
            match (&account, ok) {
                (Some(a), true) => Ok(a.clone()),
                _ => Err(ApiError::InvalidCredentials),
            }
        })
        .await
        .and_then(|a| {
            tracing::info!(account = %a.id, "logged in by password");
            issue(app, &a, secs)
        })
    } else {
        let proof = proof(req.code.as_deref(), req.verification_token.as_deref())?;
        let Redemption { record, expected_version } =
            codes::redeem(app, Purpose::Login, &dest, proof).await?;
        let account = app
            .store
            .account_by_address(&dest.key())
            .await
            .map_err(ApiError::internal)?
            .ok_or(ApiError::InvalidCredentials)?;
        let writes = [AccountWrite::SaveDestination { record, expected_version }];
        app.store
            .apply(&writes, app.clock.now())
            .await
            .map_err(ApiError::internal)?
            .map_err(|_| proof_used())?;
        tracing::info!(account = %account.id, "logged in by code");
        issue(app, &account, secs)
    }
}

/// Runs a password check inside the failed-login limit: a slot is taken
/// first (so concurrent guesses cannot exceed the limit) and given back when
/// the check passes. 10 failures per subject in 15 minutes: `429`.
async fn with_login_slot<F, Fut>(
    app: &App,
    subject: &str,
    check: F,
) -> Result<AccountRecord, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<AccountRecord, ApiError>>,
{
    let now = app.clock.now();
    let bucket = now.div_euclid(LOGIN_FAIL_WINDOW_SECS);
    let counter = Counter {
        key: format!("login|{subject}|{bucket}"),
        limit: LOGIN_FAIL_MAX,
        expires_at: (bucket + 1) * LOGIN_FAIL_WINDOW_SECS,
    };
    if !app.store.increment(&counter, now).await.map_err(ApiError::internal)? {
        return Err(ApiError::RateLimited {
            retry_after: (counter.expires_at - now).max(1) as u64,
        });
    }
    let result = check().await;
    if result.is_ok() {
        app.store.refund(std::slice::from_ref(&counter)).await.map_err(ApiError::internal)?;
    }
    result
}

/// `DELETE /v1/sessions/current`: that token is refused from now on. 1 write.
pub async fn logout(app: &App, who: &Principal) -> Result<(), ApiError> {
    app.store.revoke_session(&who.jti, who.expires_at).await.map_err(ApiError::internal)?;
    tracing::info!(account = %who.account.id, "logged out");
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
    pub locale: Option<String>,
}

/// `PUT /v1/me/password`: every other session of the account is revoked.
pub async fn change_password(
    app: &App,
    who: &Principal,
    req: ChangePassword,
) -> Result<(), ApiError> {
    let new = Password::parse(&req.new_password, "new_password")?;
    let mut account = who.account.clone();
    with_login_slot(app, &account.id, || async {
        if app.passwords.verify(&req.current_password, account.password_hash.as_deref()) {
            Ok(account.clone())
        } else {
            Err(ApiError::InvalidCredentials)
        }
    })
    .await?;
    let hash = app.passwords.hash(&new, &*app.random)?;
    for _ in 0..MAX_RACES {
        account.password_hash = Some(hash.clone());
        account.session_epoch += 1;
        account.session_keeper = Some(who.jti.clone());
        let writes = [AccountWrite::PutAccount(account.clone())];
        if app.store.apply(&writes, app.clock.now()).await.map_err(ApiError::internal)?.is_ok() {
            tracing::info!(account = %account.id, "password changed");
            return Ok(());
        }
        account = app
            .store
            .get_account(&who.account.id)
            .await
            .map_err(ApiError::internal)?
            .ok_or(ApiError::Unauthorized)?;
    }
    Err(ApiError::RateLimited { retry_after: 1 })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country_code: Option<u16>,
    pub code: Option<String>,
    pub verification_token: Option<String>,
    pub new_password: String,
    pub locale: Option<String>,
}

/// `POST /v1/password-resets`: a new password with a `reset_password` code;
/// every session of the account is revoked.
pub async fn reset_password(app: &App, req: ResetPassword) -> Result<(), ApiError> {
    let dest = address(req.email.as_deref(), req.phone.as_deref(), req.country_code)?;
    let new = Password::parse(&req.new_password, "new_password")?;
    let proof = proof(req.code.as_deref(), req.verification_token.as_deref())?;
    let mut hash = None;
    for _ in 0..MAX_RACES {
        let Redemption { record, expected_version } =
            codes::redeem(app, Purpose::ResetPassword, &dest, proof).await?;
        // Hashed once, and only after a good code.
        let hash = match &hash {
            Some(h) => h,
            None => hash.insert(app.passwords.hash(&new, &*app.random)?),
        };
        let mut account = app
            .store
            .account_by_address(&dest.key())
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(proof_used)?;
        account.password_hash = Some(hash.clone());
        account.session_epoch += 1;
        account.session_keeper = None;
        let writes = [
            AccountWrite::PutAccount(account.clone()),
            AccountWrite::SaveDestination { record, expected_version },
        ];
        match app.store.apply(&writes, app.clock.now()).await.map_err(ApiError::internal)? {
            Ok(()) => {
                tracing::info!(account = %account.id, "password reset");
                return Ok(());
            }
            Err(0) => continue,
            Err(_) => return Err(proof_used()),
        }
    }
    Err(ApiError::RateLimited { retry_after: 1 })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindAddress {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country_code: Option<u16>,
    pub code: Option<String>,
    pub verification_token: Option<String>,
    pub locale: Option<String>,
}

/// `PUT /v1/me/email` and `PUT /v1/me/phone`: binds a new address (proved by
/// a `bind` code) and releases the old one, all at once.
pub async fn bind(
    app: &App,
    who: &Principal,
    channel: Channel,
    req: BindAddress,
) -> Result<AccountView, ApiError> {
    let dest = match channel {
        Channel::Email if req.phone.is_none() && req.country_code.is_none() => {
            address(req.email.as_deref(), None, None)?
        }
        Channel::Sms if req.email.is_none() => {
            address(None, req.phone.as_deref(), req.country_code)?
        }
        Channel::Email => {
            return Err(ApiError::InvalidRequest {
                problem: BodyProblem::Unknown,
                field: Some("phone".into()),
            });
        }
        Channel::Sms => {
            return Err(ApiError::InvalidRequest {
                problem: BodyProblem::Unknown,
                field: Some("email".into()),
            });
        }
    };
    let proof = proof(req.code.as_deref(), req.verification_token.as_deref())?;
    let mut account = who.account.clone();
    for _ in 0..MAX_RACES {
        let Redemption { record, expected_version } =
            codes::redeem_for(app, Purpose::Bind, &dest, Some(&who.account.id), proof).await?;
        let old = match channel {
            Channel::Email => account.email.replace(dest.address().to_string()),
            Channel::Sms => account.phone.replace(dest.address().to_string()),
        };
        let mut writes = vec![
            AccountWrite::PutAccount(account.clone()),
            AccountWrite::ClaimAddress { key: dest.key(), account_id: account.id.clone() },
            AccountWrite::SaveDestination { record, expected_version },
        ];
        if let Some(old) = old.filter(|o| o != dest.address()) {
            writes.push(AccountWrite::ReleaseAddress {
                key: format!("{}:{old}", channel.as_str()),
                account_id: account.id.clone(),
            });
        }
        match app.store.apply(&writes, app.clock.now()).await.map_err(ApiError::internal)? {
            Ok(()) => {
                tracing::info!(account = %account.id, to = %dest, "address bound");
                account.version += 1;
                return Ok((&account).into());
            }
            Err(1) => return Err(ApiError::AddressTaken),
            Err(2) => return Err(proof_used()),
            Err(_) => {
                account = app
                    .store
                    .get_account(&who.account.id)
                    .await
                    .map_err(ApiError::internal)?
                    .ok_or(ApiError::Unauthorized)?;
            }
        }
    }
    Err(ApiError::RateLimited { retry_after: 1 })
}

#[derive(Debug, Serialize)]
pub struct LoginLink {
    pub authorization: String,
    pub url: String,
    pub expires_in: i64,
}

/// `POST /v1/login-links`: a single-use link, stored hashed, living 5 minutes.
pub async fn create_login_link(app: &App, who: &Principal) -> Result<LoginLink, ApiError> {
    let secret = random_token(&*app.random, 32).map_err(ApiError::internal)?;
    let hash = app.keys.secret_hash("login_link", &secret);
    let expires_at = app.clock.now() + LOGIN_LINK_SECS;
    app.store
        .put_secret(SecretKind::LoginLink, &hash, &who.account.id, expires_at)
        .await
        .map_err(ApiError::internal)?;
    let base = &app.config.login_link_base;
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}authorization={secret}");
    Ok(LoginLink { authorization: secret, url, expires_in: LOGIN_LINK_SECS })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemLoginLink {
    pub authorization: String,
    pub expires_in: Option<i64>,
    pub locale: Option<String>,
}

/// `POST /v1/login-links/redeem`: exchanges a link for a session, once.
/// Round trips: 1 (delete returning the link) + 1 (the account).
pub async fn redeem_login_link(app: &App, req: RedeemLoginLink) -> Result<SessionIssued, ApiError> {
    let secs = session_secs(req.expires_in)?;
    let secret = req.authorization.trim();
    if secret.is_empty() || secret.len() > 128 {
        return Err(ApiError::InvalidCredentials);
    }
    let hash = app.keys.secret_hash("login_link", secret);
    let account_id = app
        .store
        .take_secret(SecretKind::LoginLink, &hash, app.clock.now())
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::InvalidCredentials)?;
    let account = app
        .store
        .get_account(&account_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::InvalidCredentials)?;
    tracing::info!(account = %account.id, "logged in by link");
    issue(app, &account, secs)
}

#[derive(Debug, Serialize)]
pub struct Invite {
    pub invite: String,
    pub expires_in: i64,
}

/// `POST /v1/invites`: an invite code (single-use, 7 days), stored hashed.
pub async fn create_invite(app: &App, created_by: &str) -> Result<Invite, ApiError> {
    let secret = random_token(&*app.random, 12).map_err(ApiError::internal)?;
    let hash = app.keys.secret_hash("invite", &secret);
    app.store
        .put_secret(SecretKind::Invite, &hash, created_by, app.clock.now() + INVITE_SECS)
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(created_by, "invite created");
    Ok(Invite { invite: secret, expires_in: INVITE_SECS })
}

/// Epoch seconds as RFC 3339 UTC (`2026-11-28T04:40:00Z`).
pub fn rfc3339(t: Timestamp) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_840_800), "2026-11-28T04:40:00Z");
        assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
    }
}
