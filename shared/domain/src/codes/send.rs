//! `POST /v1/codes`: the orchestration that runs the policy against the ports.

use super::budget::Budget;
use super::policy::{self, Decision, Facts, Notice};
use super::record::{horizon, record_key, secs_until};
use super::types::{CodeSent, SendCode, SendError};
use crate::address::{Channel, Destination};
use crate::captcha::{self, CaptchaCheck, CaptchaError};
use crate::catalog::Locale;
use crate::crypto::{digest_eq, random_digits};
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::outbox::{Contents, Kind};
use crate::ports::{
    AccountRecord, Counter, DestRecord, LimitKind, LiveCode, Metric, OutgoingMessage, SendOutcome,
    SendResult, Timestamp,
};
use crate::purpose::Purpose;
use crate::retry::{self, Attempt};
use crate::services::Services;
use crate::sessions::{AuthError, Principal, Session};
use crate::templates::DEFAULT as DEFAULT_TEMPLATE;
use std::net::IpAddr;

const DAY: i64 = 86_400;

/// The language of a send's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MessageLocale {
    /// The request's, or the logged-in caller's account's.
    Named(Locale),
    /// The address owner's account's, if it has one (the delivery looks
    /// it up, off the request's path), else the default.
    Owners,
}

/// A send, validated: everything is known before the store is touched.
struct Target {
    purpose: Purpose,
    dest: Destination,
    /// The destination record's key.
    key: String,
    caller: Option<String>,
    /// The captcha's id and the keyed hash of the answer given.
    captcha: Option<(String, [u8; 32])>,
    /// An external provider's token, checked before anything is stored.
    captcha_token: Option<String>,
    /// Sends per client IP.
    ip: Option<Counter>,
    /// The SMS budgets (none for email), sharded.
    budgets: Vec<Budget>,
    /// The named template set, unless the built-in one.
    template: Option<String>,
}

/// Sends a code. `locale` is the one the request named, if any (else the
/// message speaks the account's language: the caller's, or the address
/// owner's, which the delivery looks up); `principal` is the caller when
/// the request carried a valid session token; `client_ip` the address API
/// Gateway saw.
///
/// A session sent along is loaded alongside the destination's first read,
/// except for `verify`, whose destination is the account's own address.
pub async fn send(
    s: &Services,
    req: SendCode,
    locale: Option<Locale>,
    session: Option<&Session>,
    client_ip: Option<IpAddr>,
) -> Result<CodeSent, SendError> {
    let loaded_first = match session {
        Some(session) if req.purpose == Purpose::Verify => Some(session.load(s).await?),
        _ => None,
    };
    let caller = session.map(Session::account_id);
    let own = loaded_first.as_ref().map(|p| &p.account);
    let target = prepare(s, &req, caller, own, client_ip)?;
    if let Some(token) = &target.captcha_token {
        match captcha::verify_token(s, token, client_ip).await {
            Ok(()) => {}
            Err(CaptchaError::Wrong) => {
                let (channel, purpose) = (target.dest.channel(), target.purpose);
                let outcome = SendResult::CaptchaInvalid;
                s.metrics.record(Metric::Send { channel, purpose, outcome });
                return Err(SendError::CaptchaInvalid);
            }
            Err(CaptchaError::Invalid(e)) => return Err(e.into()),
            Err(CaptchaError::Fault(f)) => return Err(SendError::Fault(f)),
        }
    }
    let (principal, mut first) = load_with_first_read(s, &target, session, loaded_first).await?;
    let caller_locale =
        principal.as_ref().and_then(|p| p.account.locale.as_deref()).map(Locale::from_field);
    let locale = match (locale, caller_locale) {
        (Some(named), _) => MessageLocale::Named(named),
        (None, Some(callers)) => MessageLocale::Named(callers),
        (None, None) => MessageLocale::Owners,
    };
    let result = retry::run(|| attempt(s, &target, locale, first.take())).await;
    let outcome = match &result {
        Ok(Some(_)) => Some(SendResult::Accepted),
        Err(SendError::RateLimited { .. }) => Some(SendResult::RateLimited),
        Err(SendError::SmsBudgetExhausted { .. }) => Some(SendResult::BudgetExhausted),
        Err(SendError::CaptchaInvalid) => Some(SendResult::CaptchaInvalid),
        _ => None,
    };
    if let Some(outcome) = outcome {
        let (channel, purpose) = (target.dest.channel(), target.purpose);
        s.metrics.record(Metric::Send { channel, purpose, outcome });
    }
    if outcome == Some(SendResult::CaptchaInvalid) {
        s.metrics.record(Metric::CaptchaFailed);
    }
    let message_id = result?.ok_or(SendError::Busy)?;
    tracing::info!(purpose = target.purpose.as_str(), to = %target.dest, "code send accepted");
    // Delivery is the outbox's job; in process only in the dev server and tests.
    s.relay.committed(&message_id).await;
    Ok(CodeSent {
        expires_in: s.config.code_ttl_secs,
        resend_in: s.config.code_resend_interval_secs,
    })
}

/// The caller (already loaded, or loaded now alongside the destination's
/// first read), and that read.
async fn load_with_first_read(
    s: &Services,
    target: &Target,
    session: Option<&Session>,
    loaded: Option<Principal>,
) -> Result<(Option<Principal>, Option<FirstRead>), SendError> {
    Ok(match (session, loaded) {
        (_, Some(principal)) => (Some(principal), None),
        (Some(session), None) => {
            let (now, address) = (s.clock.now(), target.dest.key());
            let (principal, read) =
                tokio::join!(session.load(s), s.store.load_destination(&target.key, &address, now));
            (Some(principal?), Some((read?, now)))
        }
        (None, None) => (None, None),
    })
}

/// The destination's record and its address's owner, read at a time.
type FirstRead = ((DestRecord, Option<String>), Timestamp);

/// Validates the request: session, captcha, destination, SMS country,
/// template set (an unknown one, or one without this channel, is `400`).
fn prepare(
    s: &Services,
    req: &SendCode,
    caller: Option<&str>,
    own: Option<&AccountRecord>,
    client_ip: Option<IpAddr>,
) -> Result<Target, SendError> {
    if req.purpose.needs_login() && caller.is_none() {
        return Err(SendError::Unauthorized);
    }
    // A session waives the captcha only where one is required anyway.
    let waived = caller.is_some() && req.purpose.needs_login();
    let (captcha, captcha_token) = match (&req.captcha, waived) {
        (_, true) => (None, None),
        (Some(c), false) => match c.check(&s.config.captcha_provider)? {
            CaptchaCheck::Image { id, answer } => (Some((id, answer)), None),
            CaptchaCheck::Token(token) => (None, Some(token)),
        },
        (None, false) => return Err(Invalid::missing("captcha").into()),
    };
    let dest = destination(req, own)?;
    let sms_country = match &dest {
        Destination::Phone(p) => {
            let cc = p.country_code();
            let allowed = s.config.sms_allowed_country_codes.as_ref();
            if allowed.is_some_and(|allowed| !allowed.contains(&cc)) {
                return Err(SendError::SmsCountryNotAllowed);
            }
            Some(cc)
        }
        Destination::Email(_) => None,
    };
    if captcha.as_ref().is_some_and(|(id, _)| uuid::Uuid::try_parse(id).is_err()) {
        return Err(SendError::CaptchaInvalid);
    }
    let template = match req.template.as_deref().map(str::trim) {
        None | Some(DEFAULT_TEMPLATE) => None,
        Some(name) if s.templates.serves(name, dest.channel()) => Some(name.to_string()),
        Some(_) => return Err(Invalid::value("template").into()),
    };
    let caller = caller.map(str::to_string);
    Ok(Target {
        template,
        purpose: req.purpose,
        key: record_key(req.purpose, &dest, caller.as_deref()),
        ip: client_ip.map(|ip| ip_counter(s, ip)),
        budgets: sms_country.map(|cc| budgets(s, cc)).unwrap_or_default(),
        captcha: captcha.map(|(id, a)| {
            let hash = s.keys.captcha_answer_hash(&id, a.as_str());
            (id, hash)
        }),
        captcha_token,
        dest,
        caller,
    })
}

/// Where the code goes: `to`, or for `verify` the account's own address.
fn destination(req: &SendCode, own: Option<&AccountRecord>) -> Result<Destination, SendError> {
    if let (Purpose::Verify, Some(account)) = (req.purpose, own) {
        let bound = match req.channel {
            Channel::Email => account.email.as_deref(),
            Channel::Sms => account.phone.as_deref(),
        };
        let bound = bound.ok_or(SendError::NoBoundAddress)?;
        return Destination::parse(req.channel, bound, None, "to")
            .map_err(|_| SendError::NoBoundAddress);
    }
    let to = req.to.as_deref().ok_or_else(|| Invalid::missing("to"))?;
    Ok(Destination::parse(req.channel, to, req.country_code, "to")?)
}

/// Sends from one client IP, in a fixed window.
fn ip_counter(s: &Services, ip: IpAddr) -> Counter {
    let cfg = &s.config;
    let bucket = s.clock.now().div_euclid(cfg.ip_window_secs);
    Counter {
        key: format!("ip|{ip}|{bucket}"),
        kind: LimitKind::Ip,
        limit: cfg.ip_window_max,
        expires_at: (bucket + 1) * cfg.ip_window_secs,
    }
}

/// Today's SMS budgets: all countries, and country `cc`.
fn budgets(s: &Services, cc: u16) -> Vec<Budget> {
    let cfg = &s.config;
    let day = s.clock.now().div_euclid(DAY);
    let end = (day + 1) * DAY;
    vec![
        Budget::new(LimitKind::SmsDaily, format!("sms|{day}"), cfg.sms_daily_max, end),
        Budget::new(
            LimitKind::SmsCountry,
            format!("sms|{day}|{cc}"),
            cfg.sms_country_daily_max,
            end,
        ),
    ]
}

/// One read-decide-write round; `Retry` when another request wrote the
/// destination's record in between. Done: the id of the stored message.
async fn attempt(
    s: &Services,
    t: &Target,
    locale: MessageLocale,
    read: Option<FirstRead>,
) -> Result<Attempt<String>, SendError> {
    let ((old, owner), now) = match read {
        Some(read) => read,
        None => {
            let now = s.clock.now();
            (s.store.load_destination(&t.key, &t.dest.key(), now).await?, now)
        }
    };
    let facts = Facts {
        purpose: t.purpose,
        channel: t.dest.channel(),
        owner: owner.as_deref(),
        caller: t.caller.as_deref(),
        record: &old,
        now,
    };
    let decision = policy::decide(&facts, &s.config);
    if let Decision::Wait { retry_after } = decision {
        captcha_anyway(s, t, now).await?;
        return Err(SendError::RateLimited { retry_after });
    }
    // A decoy stores its code exactly as a real send does.
    let mut new = policy::next_record(&old, now, &s.config);
    let code = place_code(s, &t.key, &old, &mut new, now)?;
    new.expires_at = horizon(&new, now, &s.config);
    let captcha = t.captcha.as_ref().map(|(id, h)| (id.as_str(), h));
    // A shard of an SMS budget found full is closed and another one tried
    // at once; the send is refused only when a whole budget is used up.
    let mut budgets = t.budgets.clone();
    loop {
        let mut counters: Vec<Counter> = t.ip.iter().cloned().collect();
        for budget in &budgets {
            match budget.pick(&*s.random)? {
                Some(shard) => counters.push(shard),
                None => {
                    captcha_anyway(s, t, now).await?;
                    let retry_after = secs_until(budget.resets_at(), now);
                    return Err(SendError::SmsBudgetExhausted { retry_after });
                }
            }
        }
        let message = outgoing(s, t, decision, &new, code.clone(), locale, now, &counters)?;
        match s.store.commit_send(captcha, &new, old.version, &counters, &message, now).await? {
            SendOutcome::Committed => return Ok(Attempt::Done(message.id)),
            SendOutcome::Conflict => return Ok(Attempt::Retry),
            SendOutcome::CaptchaRejected => {
                if let Some((id, _)) = &t.captcha {
                    s.store.take_captcha(id, now).await?;
                }
                return Err(SendError::CaptchaInvalid);
            }
            SendOutcome::LimitReached { key, .. } if budgets.iter_mut().any(|b| b.close(&key)) => {}
            SendOutcome::LimitReached { until, .. } => {
                captcha_anyway(s, t, now).await?;
                return Err(SendError::RateLimited { retry_after: secs_until(until, now) });
            }
        }
    }
}

/// Puts the code in the new record: a resend while the code lives repeats
/// it (with a fresh lifetime); otherwise a new one. Returns it in plain text.
fn place_code(
    s: &Services,
    key: &str,
    old: &DestRecord,
    new: &mut DestRecord,
    now: Timestamp,
) -> Result<String, SendError> {
    let cfg = &s.config;
    let live = old
        .code
        .as_ref()
        .filter(|c| c.expires_at > now && c.attempts < cfg.code_max_attempts)
        .and_then(|c| s.keys.open_code(key, &c.sealed).map(|plain| (plain, c.attempts)));
    let (plain, attempts) = match live {
        Some(live) => live,
        None => (random_digits(&*s.random, cfg.code_length as usize)?, 0),
    };
    let sealed = s.keys.seal_code(key, &plain, &*s.random)?;
    new.code = Some(LiveCode { sealed, expires_at: now + cfg.code_ttl_secs, attempts });
    Ok(plain)
}

/// A captcha that came with a refused request is still used up, and a wrong
/// one is reported as such first.
async fn captcha_anyway(s: &Services, t: &Target, now: Timestamp) -> Result<(), SendError> {
    let Some((id, hash)) = &t.captcha else { return Ok(()) };
    let taken = s.store.take_captcha(id, now).await?;
    if taken.is_some_and(|c| digest_eq(&c.answer_hash, hash)) {
        Ok(())
    } else {
        Err(SendError::CaptchaInvalid)
    }
}

/// The outgoing message of an accepted send, sealed: the code, a notice,
/// or nothing at all — stored alike, so every send writes the same items.
#[allow(clippy::too_many_arguments)]
fn outgoing(
    s: &Services,
    t: &Target,
    decision: Decision,
    new: &DestRecord,
    code: String,
    locale: MessageLocale,
    now: Timestamp,
    counters: &[Counter],
) -> Result<OutgoingMessage, Fault> {
    let kind = match decision {
        Decision::Deliver => Kind::Code,
        Decision::Decoy { notice: Some(Notice::AccountExists) } => Kind::AccountExists,
        Decision::Decoy { notice: Some(Notice::BindAttempt) } => Kind::BindAttempt,
        Decision::Decoy { notice: None } | Decision::Wait { .. } => Kind::Silent,
    };
    let code_expires_at = new.code.as_ref().map_or(now, |c| c.expires_at);
    let contents = Contents {
        kind,
        channel: t.dest.channel(),
        to: t.dest.address().to_string(),
        country: match &t.dest {
            Destination::Phone(p) => Some(p.country_code()),
            Destination::Email(_) => None,
        },
        purpose: t.purpose,
        locale: match locale {
            MessageLocale::Named(l) => l,
            MessageLocale::Owners => Locale::default(),
        }
        .as_str()
        .to_string(),
        owners_locale: locale == MessageLocale::Owners,
        code,
        code_expires_at,
        record_key: t.key.clone(),
        sent_at: now,
        // The client IP's count stands: it limits the caller, not the address.
        refunds: counters.iter().filter(|c| c.kind != LimitKind::Ip).cloned().collect(),
        template: t.template.clone(),
    };
    // Kept a day past the code, for operators to see what became of it.
    let expires_at = code_expires_at + MESSAGE_KEPT_SECS;
    contents.seal(&s.keys, s.new_id()?, now, expires_at, &*s.random)
}

/// How long a message outlives its code.
const MESSAGE_KEPT_SECS: i64 = 86_400;

impl From<AuthError> for SendError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthorized => SendError::Unauthorized,
            AuthError::Fault(f) => SendError::Fault(f),
        }
    }
}
