//! One-time codes: send (`POST /v1/codes`) and check (`POST /v1/codes/verify`).
//!
//! Everything about one (purpose, destination) lives in one versioned record
//! (`DestRecord`): recent sends, the live code (sealed), recent failed checks
//! and the live verification token. A request reads it, decides, and writes
//! it back on condition that nobody wrote in between; a lost race is retried
//! from the read. Per-IP and SMS budget limits are fixed-window counters
//! incremented in the same transaction as the captcha and the record, so no
//! concurrent requests can exceed any limit.
//!
//! Round trips: send = 2 (read record + owner; one transaction), plus 1 to
//! read the account when authenticated. Verify = 2 (read; conditional write).

use crate::App;
use crate::address::{Channel, Destination};
use crate::auth::Principal;
use crate::captcha::{CaptchaAnswer, CaptchaInput};
use crate::crypto::{digest_eq, random_digits};
use crate::error::{ApiError, BodyProblem};
use crate::locale::Locale;
use crate::messages::Message;
use crate::ports::{Counter, DestRecord, LiveCode, LiveToken, SendRejected, Timestamp};
use crate::purpose::Purpose;
use crate::token::{self, Expiring};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;
use tokio::time::Instant;

/// How long a verification token lives.
pub const VERIFICATION_TOKEN_TTL: i64 = 600;
/// How often a request re-reads after losing a race before giving up with a 429.
const MAX_RACES: u32 = 40;
const DAY: i64 = 86_400;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendCode {
    pub channel: Channel,
    /// Ignored for `verify`, required otherwise.
    pub to: Option<String>,
    pub country_code: Option<u16>,
    pub purpose: Purpose,
    #[allow(dead_code)]
    pub locale: Option<String>,
    pub captcha: Option<CaptchaInput>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct CodeSent {
    pub expires_in: i64,
    pub resend_in: i64,
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

const VERIFICATION: &str = "verification";

/// The record key of a (purpose, destination). Codes for `bind` and
/// `verify` also belong to the logged-in account that asked for them, so one
/// account's code (or token) can never serve another account.
pub fn record_key(purpose: Purpose, dest: &Destination, account: Option<&str>) -> String {
    match account.filter(|_| purpose.needs_login()) {
        Some(id) => format!("{}|{}|{id}", purpose.as_str(), dest.key()),
        None => format!("{}|{}", purpose.as_str(), dest.key()),
    }
}

fn secs_until(t: Timestamp, now: Timestamp) -> u64 {
    (t - now).max(1) as u64
}

/// What the request is allowed to do, given who owns the address.
enum Rule {
    /// Send a code.
    Code,
    /// Anti-enumeration: count the send, send this notice instead.
    Notice,
    /// Anti-enumeration: count the send, send nothing.
    Silent,
}

/// Sends a code. `principal` is the caller when the request carried a valid
/// session token; `client_ip` the address API Gateway saw.
pub async fn send(
    app: &App,
    req: SendCode,
    locale: Locale,
    principal: Option<&Principal>,
    client_ip: Option<IpAddr>,
) -> Result<CodeSent, ApiError> {
    let cfg = &app.config;
    if req.purpose.needs_login() && principal.is_none() {
        return Err(ApiError::Unauthorized);
    }
    // Validate everything before touching the store.
    let captcha = match (&req.captcha, principal) {
        (_, Some(_)) => None,
        (Some(c), None) => Some((c.id.clone(), CaptchaAnswer::parse(&c.answer)?)),
        (None, None) => {
            return Err(ApiError::InvalidRequest {
                problem: BodyProblem::Missing,
                field: Some("captcha".into()),
            });
        }
    };
    let dest = match (req.purpose, principal) {
        (Purpose::Verify, Some(p)) => {
            let bound = match req.channel {
                Channel::Email => p.account.email.as_deref(),
                Channel::Sms => p.account.phone.as_deref(),
            };
            Destination::parse(req.channel, bound.ok_or(ApiError::NoBoundAddress)?, None, "to")
                .map_err(|_| ApiError::NoBoundAddress)?
        }
        _ => {
            let to = req.to.as_deref().ok_or_else(|| ApiError::InvalidRequest {
                problem: BodyProblem::Missing,
                field: Some("to".into()),
            })?;
            Destination::parse(req.channel, to, req.country_code, "to")?
        }
    };
    let sms_country = match &dest {
        Destination::Phone(p) => {
            let cc = p.country_code();
            if cfg.sms_allowed_country_codes.as_ref().is_some_and(|allowed| !allowed.contains(&cc))
            {
                return Err(ApiError::SmsCountryNotAllowed);
            }
            Some(cc)
        }
        Destination::Email(_) => None,
    };

    let key = record_key(req.purpose, &dest, principal.map(|p| p.account.id.as_str()));
    let counters = send_counters(app, client_ip, sms_country);
    let captcha_hash = captcha
        .as_ref()
        .map(|(id, answer)| (id.clone(), app.keys.captcha_answer_hash(id, answer.as_str())));
    if captcha.as_ref().is_some_and(|(id, _)| uuid::Uuid::try_parse(id).is_err()) {
        return Err(ApiError::CaptchaInvalid);
    }

    for _ in 0..MAX_RACES {
        let now = app.clock.now();
        let (old, owner) =
            app.store.load_destination(&key, &dest.key(), now).await.map_err(ApiError::internal)?;
        let caller = principal.map(|p| p.account.id.as_str());
        let rule = match req.purpose {
            Purpose::Register if owner.is_none() => Rule::Code,
            Purpose::Register if dest.channel() == Channel::Email => Rule::Notice,
            Purpose::Register => Rule::Silent,
            Purpose::Login | Purpose::ResetPassword if owner.is_some() => Rule::Code,
            Purpose::Login | Purpose::ResetPassword => Rule::Silent,
            Purpose::Bind if owner.is_none() || owner.as_deref() == caller => Rule::Code,
            Purpose::Bind => return Err(ApiError::AddressTaken),
            Purpose::Verify => Rule::Code,
        };

        // The destination's own limits, from what was read; the write below
        // is conditional on nothing having changed since.
        let recent: Vec<Timestamp> =
            old.sends.iter().copied().filter(|&t| t > now - cfg.code_window_secs).collect();
        let mut retry_at = None;
        if let Some(&last) = old.sends.first()
            && last > now - cfg.code_resend_interval_secs
        {
            retry_at = Some(last + cfg.code_resend_interval_secs);
        }
        if let Some(&nth) = recent.get(cfg.code_window_max as usize - 1) {
            let at = nth + cfg.code_window_secs;
            retry_at = Some(retry_at.map_or(at, |r: Timestamp| r.max(at)));
        }
        if let Some(at) = retry_at {
            check_captcha_anyway(app, captcha_hash.as_ref(), now).await?;
            return Err(ApiError::RateLimited { retry_after: secs_until(at, now) });
        }

        let mut new = fresh(&old, now, cfg.verify_fail_window_secs);
        new.sends = std::iter::once(now).chain(recent).take(cfg.code_window_max as usize).collect();
        let mut code = None;
        if let Rule::Code = rule {
            let live = old
                .code
                .as_ref()
                .filter(|c| c.expires_at > now && c.attempts < cfg.code_max_attempts)
                .and_then(|c| app.keys.open_code(&key, &c.sealed).map(|plain| (plain, c.attempts)));
            let (plain, attempts) = match live {
                // A resend while the code lives repeats it, with a fresh lifetime.
                Some(live) => live,
                None => (
                    random_digits(&*app.random, cfg.code_length as usize)
                        .map_err(ApiError::internal)?,
                    0,
                ),
            };
            let sealed =
                app.keys.seal_code(&key, &plain, &*app.random).map_err(ApiError::internal)?;
            new.code = Some(LiveCode { sealed, expires_at: now + cfg.code_ttl_secs, attempts });
            code = Some(plain);
        }
        new.expires_at = horizon(&new, now, app);
        new.version = old.version + 1;

        let committed = app
            .store
            .commit_send(
                captcha_hash.as_ref().map(|(id, h)| (id.as_str(), h)),
                &new,
                old.version,
                &counters,
                now,
            )
            .await
            .map_err(ApiError::internal)?;
        match committed {
            Ok(()) => {}
            Err(SendRejected::Conflict) => continue,
            Err(SendRejected::Captcha) => {
                if let Some((id, _)) = &captcha_hash {
                    app.store.take_captcha(id, now).await.map_err(ApiError::internal)?;
                }
                return Err(ApiError::CaptchaInvalid);
            }
            Err(SendRejected::Counter(i)) => {
                check_captcha_anyway(app, captcha_hash.as_ref(), now).await?;
                let c = counters.get(i).ok_or_else(|| ApiError::internal("counter index"))?;
                let retry_after = secs_until(c.expires_at, now);
                return Err(if c.key.starts_with("ip|") {
                    ApiError::RateLimited { retry_after }
                } else {
                    ApiError::SmsBudgetExhausted { retry_after }
                });
            }
        }
        tracing::info!(purpose = req.purpose.as_str(), to = %dest, "code send accepted");

        let message = match (&rule, &code) {
            (Rule::Code, Some(code)) => Some(
                app.templates
                    .code(&dest, req.purpose, locale, &cfg.app_name, code, cfg.code_ttl_secs)
                    .map_err(ApiError::internal)?,
            ),
            (Rule::Notice, _) => Some(
                app.templates
                    .account_exists(&dest, locale, &cfg.app_name)
                    .map_err(ApiError::internal)?,
            ),
            _ => None,
        };
        match message {
            None => app.pace.idle().await,
            Some(m) => {
                if let Err(e) = app.pace.deliver(&*app.delivery, &m).await {
                    if let Rule::Code = rule {
                        tracing::warn!(error = %crate::error::chain(&e), to = %dest, "delivery failed");
                        undo_send(app, &old, &new, &counters).await;
                        return Err(ApiError::DeliveryFailed);
                    }
                    // A notice that fails must look like one that went out.
                    tracing::warn!(error = %crate::error::chain(&e), "notice delivery failed");
                }
            }
        }
        return Ok(CodeSent {
            expires_in: cfg.code_ttl_secs,
            resend_in: cfg.code_resend_interval_secs,
        });
    }
    Err(ApiError::RateLimited { retry_after: 1 })
}

/// A refused send neither leaves the code usable nor counts: the record goes
/// back to what it was, without the code, and the SMS budgets get theirs back.
async fn undo_send(app: &App, old: &DestRecord, sent: &DestRecord, counters: &[Counter]) {
    let mut restored = old.clone();
    restored.code = None;
    restored.version = sent.version + 1;
    restored.expires_at = restored.expires_at.max(app.clock.now() + 1);
    if let Err(e) = app.store.save_destination(&restored, sent.version).await {
        tracing::error!(error = %crate::error::chain(&e), "could not take back a refused send");
    }
    let budgets: Vec<Counter> =
        counters.iter().filter(|c| !c.key.starts_with("ip|")).cloned().collect();
    if let Err(e) = app.store.refund(&budgets).await {
        tracing::error!(error = %crate::error::chain(&e), "could not refund the SMS budget");
    }
}

/// A captcha that came with a refused request is still used up, and a wrong
/// one is reported as such first.
async fn check_captcha_anyway(
    app: &App,
    captcha: Option<&(String, [u8; 32])>,
    now: Timestamp,
) -> Result<(), ApiError> {
    let Some((id, hash)) = captcha else { return Ok(()) };
    let taken = app.store.take_captcha(id, now).await.map_err(ApiError::internal)?;
    if taken.is_some_and(|c| digest_eq(&c.answer_hash, hash)) {
        Ok(())
    } else {
        Err(ApiError::CaptchaInvalid)
    }
}

/// The counters one send increments: per client IP, and the SMS budgets.
fn send_counters(app: &App, ip: Option<IpAddr>, sms_country: Option<u16>) -> Vec<Counter> {
    let cfg = &app.config;
    let now = app.clock.now();
    let mut counters = Vec::new();
    if let Some(ip) = ip {
        let w = cfg.ip_window_secs;
        let bucket = now.div_euclid(w);
        counters.push(Counter {
            key: format!("ip|{ip}|{bucket}"),
            limit: cfg.ip_window_max,
            expires_at: (bucket + 1) * w,
        });
    }
    if let Some(cc) = sms_country {
        let day = now.div_euclid(DAY);
        let end = (day + 1) * DAY;
        counters.push(Counter {
            key: format!("sms|{day}"),
            limit: cfg.sms_daily_max,
            expires_at: end,
        });
        counters.push(Counter {
            key: format!("sms|{day}|{cc}"),
            limit: cfg.sms_country_daily_max,
            expires_at: end,
        });
    }
    counters
}

/// A copy of `old` without what has expired by `now`.
fn fresh(old: &DestRecord, now: Timestamp, fail_window: i64) -> DestRecord {
    DestRecord {
        key: old.key.clone(),
        version: old.version,
        sends: old.sends.clone(),
        code: old.code.clone().filter(|c| c.expires_at > now),
        fails: old.fails.iter().copied().filter(|&t| t > now - fail_window).collect(),
        token: old.token.clone().filter(|t| t.expires_at > now),
        expires_at: old.expires_at,
    }
}

/// When nothing in the record matters any more.
fn horizon(r: &DestRecord, now: Timestamp, app: &App) -> Timestamp {
    let cfg = &app.config;
    let mut t = now + 1;
    if let Some(&s) = r.sends.first() {
        t = t.max(s + cfg.code_window_secs.max(cfg.code_resend_interval_secs));
    }
    if let Some(c) = &r.code {
        t = t.max(c.expires_at);
    }
    if let Some(&f) = r.fails.first() {
        t = t.max(f + cfg.verify_fail_window_secs);
    }
    if let Some(tok) = &r.token {
        t = t.max(tok.expires_at);
    }
    t
}

/// Checks a code. Right: the code is used up and a single-use verification
/// token is returned. Anything else: `code_invalid` (with `attempts_left`
/// while the code lives), counted against the destination.
///
/// `bind` and `verify` codes belong to the account that asked for them: their
/// check needs that account's session (`principal`), and the token names it.
pub async fn verify(
    app: &App,
    req: VerifyCode,
    principal: Option<&Principal>,
) -> Result<Verified, ApiError> {
    let cfg = &app.config;
    let dest = Destination::parse(req.channel, &req.to, req.country_code, "to")?;
    let account = match (req.purpose.needs_login(), principal) {
        (true, None) => return Err(ApiError::Unauthorized),
        (true, Some(p)) => Some(p.account.id.as_str()),
        (false, _) => None,
    };
    for _ in 0..MAX_RACES {
        let Redemption { mut record, expected_version } =
            redeem_for(app, req.purpose, &dest, account, Proof::Code(&req.code)).await?;
        let now = app.clock.now();
        let jti = app.new_id()?;
        record.token =
            Some(LiveToken { jti: jti.clone(), expires_at: now + VERIFICATION_TOKEN_TTL });
        record.expires_at = horizon(&record, now, app);
        if !app
            .store
            .save_destination(&record, expected_version)
            .await
            .map_err(ApiError::internal)?
        {
            // Another check came first; look again (the code may be gone).
            continue;
        }
        tracing::info!(purpose = req.purpose.as_str(), to = %dest, passed = true, "code checked");
        let claims = VerificationClaims {
            sub: dest.key(),
            purpose: req.purpose,
            acct: account.map(str::to_string),
            jti,
            exp: now + VERIFICATION_TOKEN_TTL,
            typ: VERIFICATION.into(),
        };
        let token = token::sign(&cfg.jwt_secret, &claims).map_err(ApiError::internal)?;
        return Ok(Verified { verification_token: token, expires_in: VERIFICATION_TOKEN_TTL });
    }
    Err(ApiError::RateLimited { retry_after: 1 })
}

/// Keeps the time a send takes independent of whether a message went out,
/// so response times do not tell whether an address has an account: when
/// nothing is sent, the request waits about as long as deliveries take.
#[derive(Default)]
pub struct Pacer {
    /// Moving average of delivery time, in microseconds.
    average_us: std::sync::atomic::AtomicU64,
}

impl Pacer {
    pub async fn deliver(
        &self,
        delivery: &dyn crate::delivery::Delivery,
        m: &Message,
    ) -> Result<(), crate::delivery::DeliveryError> {
        let started = Instant::now();
        let result = delivery.send(m).await;
        let took = started.elapsed().as_micros().min(5_000_000) as u64;
        let avg = self.average_us.load(std::sync::atomic::Ordering::Relaxed);
        let next = if avg == 0 { took } else { (avg * 7 + took) / 8 };
        self.average_us.store(next, std::sync::atomic::Ordering::Relaxed);
        result
    }

    pub async fn idle(&self) {
        let avg = self.average_us.load(std::sync::atomic::Ordering::Relaxed);
        if avg > 0 {
            tokio::time::sleep(Duration::from_micros(avg)).await;
        }
    }
}

/// What proves control of an address in an account request: the code
/// itself, or the verification token `POST /v1/codes/verify` returned.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    Code(&'a str),
    Token(&'a str),
}

/// The write that uses a proof up: the destination's record without the
/// code or token, to be saved on condition that it is still at
/// `expected_version` — alone (`commit`) or inside the caller's transaction.
#[derive(Debug, Clone)]
pub struct Redemption {
    pub record: DestRecord,
    pub expected_version: u64,
}

impl Redemption {
    /// Uses the proof up on its own. `code_invalid` if another request used it first.
    pub async fn commit(&self, app: &App) -> Result<(), ApiError> {
        if app
            .store
            .save_destination(&self.record, self.expected_version)
            .await
            .map_err(ApiError::internal)?
        {
            Ok(())
        } else {
            Err(ApiError::CodeInvalid { attempts_left: None })
        }
    }
}

/// Checks `proof` for (`purpose`, `dest`) without using it up yet. A wrong
/// code is counted at once, as on `POST /v1/codes/verify`; a wrong, expired,
/// used or foreign token is `code_invalid`.
pub async fn redeem(
    app: &App,
    purpose: Purpose,
    dest: &Destination,
    proof: Proof<'_>,
) -> Result<Redemption, ApiError> {
    if purpose.needs_login() {
        return Err(ApiError::Unauthorized);
    }
    redeem_for(app, purpose, dest, None, proof).await
}

/// `redeem` for a code that belongs to `account` (`bind`, `verify`).
pub async fn redeem_for(
    app: &App,
    purpose: Purpose,
    dest: &Destination,
    account: Option<&str>,
    proof: Proof<'_>,
) -> Result<Redemption, ApiError> {
    let cfg = &app.config;
    let key = record_key(purpose, dest, account);
    match proof {
        Proof::Token(token) => {
            let now = app.clock.now();
            let claims: VerificationClaims = token::verify(&cfg.jwt_secret, token, now)
                .map_err(|_| ApiError::CodeInvalid { attempts_left: None })?;
            if claims.typ != VERIFICATION
                || claims.purpose != purpose
                || claims.sub != dest.key()
                || claims.acct.as_deref() != account.filter(|_| purpose.needs_login())
            {
                return Err(ApiError::CodeInvalid { attempts_left: None });
            }
            let (old, _) = app
                .store
                .load_destination(&key, &dest.key(), now)
                .await
                .map_err(ApiError::internal)?;
            let live =
                old.token.as_ref().is_some_and(|t| t.jti == claims.jti && t.expires_at > now);
            if !live {
                return Err(ApiError::CodeInvalid { attempts_left: None });
            }
            let mut record = fresh(&old, now, cfg.verify_fail_window_secs);
            record.token = None;
            record.version = old.version + 1;
            record.expires_at = horizon(&record, now, app);
            Ok(Redemption { record, expected_version: old.version })
        }
        Proof::Code(code) => {
            let guess = code.trim();
            if guess.len() != cfg.code_length as usize || !guess.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(ApiError::invalid_field("code"));
            }
            for _ in 0..MAX_RACES {
                let now = app.clock.now();
                let (old, _) = app
                    .store
                    .load_destination(&key, &dest.key(), now)
                    .await
                    .map_err(ApiError::internal)?;
                let mut record = fresh(&old, now, cfg.verify_fail_window_secs);
                if let Some(&nth) = record.fails.get(cfg.verify_fail_max as usize - 1) {
                    return Err(ApiError::RateLimited {
                        retry_after: secs_until(nth + cfg.verify_fail_window_secs, now),
                    });
                }
                record.version = old.version + 1;
                let live = record.code.as_ref().filter(|c| c.attempts < cfg.code_max_attempts);
                let right = live
                    .and_then(|c| app.keys.open_code(&key, &c.sealed))
                    .is_some_and(|p| digest_eq(p.as_bytes(), guess.as_bytes()));
                if right {
                    record.code = None;
                    record.expires_at = horizon(&record, now, app);
                    return Ok(Redemption { record, expected_version: old.version });
                }
                // Wrong: counted now, whatever the caller does next.
                let attempts_left =
                    match record.code.as_mut().filter(|c| c.attempts < cfg.code_max_attempts) {
                        Some(c) => {
                            c.attempts += 1;
                            Some(cfg.code_max_attempts - c.attempts)
                        }
                        None => None,
                    };
                record.fails.insert(0, now);
                record.fails.truncate(cfg.verify_fail_max as usize);
                record.expires_at = horizon(&record, now, app);
                if app
                    .store
                    .save_destination(&record, old.version)
                    .await
                    .map_err(ApiError::internal)?
                {
                    return Err(ApiError::CodeInvalid { attempts_left });
                }
            }
            Err(ApiError::RateLimited { retry_after: 1 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::{Delivery, DeliveryError};
    use async_trait::async_trait;

    struct Slow(u64);

    #[async_trait]
    impl Delivery for Slow {
        async fn send(&self, _: &Message) -> Result<(), DeliveryError> {
            tokio::time::sleep(Duration::from_millis(self.0)).await;
            Ok(())
        }
    }

    fn message() -> Message {
        Message {
            channel: Channel::Email,
            to: "a@example.com".into(),
            purpose: Purpose::Register,
            subject: None,
            text: String::new(),
            html: None,
            code: None,
        }
    }

    /// Sending nothing takes about as long as recent deliveries took.
    #[tokio::test(start_paused = true)]
    async fn the_pacer_waits_as_long_as_deliveries_take() {
        let pacer = Pacer::default();
        let started = Instant::now();
        pacer.idle().await;
        assert_eq!(started.elapsed(), Duration::ZERO, "nothing measured yet");
        for _ in 0..8 {
            pacer.deliver(&Slow(200), &message()).await.unwrap();
        }
        let started = Instant::now();
        pacer.idle().await;
        assert_eq!(started.elapsed().as_millis(), 200);
        // The average follows slower deliveries.
        for _ in 0..40 {
            pacer.deliver(&Slow(400), &message()).await.unwrap();
        }
        let started = Instant::now();
        pacer.idle().await;
        assert!((395..=400).contains(&started.elapsed().as_millis()));
    }
}
