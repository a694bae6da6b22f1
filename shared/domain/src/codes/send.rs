//! `POST /v1/codes`: the orchestration that runs the policy against the ports.

use super::counters::{bind_counters, budgets, ip_counter};
use super::policy;
use super::record::{horizon, longest, record_key, secs_until};
use super::types::{CodeSent, SendCode, SendError};
use crate::address::{Channel, Destination};
use crate::captcha::{self, CaptchaCheck, CaptchaError, pow};
use crate::catalog::Locale;
use crate::crypto::{digest_eq, random_digits};
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::outbox::Contents;
use crate::ports::{
    AccountRecord, Counter, DestRecord, GuardSend, LimitKind, LiveCode, Metric, OutgoingMessage,
    RecordWrite, SendCaptcha, SendOutcome, SendResult, SendWrite, SessionCheck, Timestamp,
};
use crate::purpose::Purpose;
use crate::retry::{self, Attempt};
use crate::services::Services;
use crate::sessions::{AuthError, Session};
use crate::sms::budget::Budget;
use crate::templates::DEFAULT as DEFAULT_TEMPLATE;
use std::net::IpAddr;

/// The language of a send's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MessageLocale {
    /// The request's, or the logged-in caller's account's.
    Named(Locale),
    /// The logged-in caller's account's, if it has one (the delivery looks
    /// it up), else the default.
    Callers,
    /// The address owner's account's, if it has one (the delivery looks
    /// it up, off the request's path), else the default.
    Owners,
}

impl MessageLocale {
    /// The request's language wins. A step-up send has read the caller's
    /// account (`own`): its language, else the owner's, who is the caller.
    /// Any other logged-in send leaves the caller's to the delivery; an
    /// anonymous one, the owner's.
    fn choose(named: Option<Locale>, own: Option<&AccountRecord>, logged_in: bool) -> Self {
        if let Some(named) = named {
            return Self::Named(named);
        }
        match own {
            Some(account) => match account.locale.as_deref() {
                Some(field) => Self::Named(Locale::from_field(field)),
                None => Self::Owners,
            },
            None if logged_in => Self::Callers,
            None => Self::Owners,
        }
    }
}

/// A send, validated: everything is known before the store is touched.
struct Target {
    purpose: Purpose,
    dest: Destination,
    /// The destination record's key.
    key: String,
    caller: Option<String>,
    /// The caller's session, checked inside the send's transaction.
    session: Option<SessionCheck>,
    /// The captcha the send's transaction uses up.
    captcha: Option<Spend>,
    /// An external provider's token, checked before anything is stored.
    captcha_token: Option<String>,
    /// Sends per client network.
    ip: Option<Counter>,
    /// A `bind` send's counters: per address across accounts, per account.
    bind: Vec<Counter>,
    /// The SMS budgets (none for email or a test number), sharded.
    budgets: Vec<Budget>,
    /// The SMS guard's tallies (none for email or a test number).
    guard: Option<GuardSend>,
    /// A test destination's fixed code (`TEST_PHONE_NUMBERS`, `TEST_EMAILS`).
    fixed_code: Option<String>,
    /// The named template set, unless the built-in one.
    template: Option<String>,
}

/// Sends a code. `locale` is the one the request named, if any (else the
/// message speaks the account's language: the caller's, or the address
/// owner's, which the delivery looks up); `session` is the caller when
/// the request carried a session token; `client_ip` the address API
/// Gateway saw.
///
/// When no live code is there, the transaction writes a new code on the
/// store's own conditions (no live code, the destination's limits unspent)
/// without a read first, and checks the caller's session (if any) the same
/// way. A resend while the code lives finds it there and writes again from
/// what it found, repeating the code. `verify` loads the session first: its
/// code goes to the account's own address.
pub async fn send(
    s: &Services,
    req: SendCode,
    locale: Option<Locale>,
    session: Option<&Session>,
    client_ip: Option<IpAddr>,
) -> Result<CodeSent, SendError> {
    let principal = match session {
        Some(session) if req.purpose == Purpose::Verify => Some(session.load(s).await?),
        _ => None,
    };
    let own = principal.as_ref().map(|p| &p.account);
    let prepared = prepare(s, &req, session.map(Session::account_id), own, client_ip);
    if let Err(SendError::CaptchaInvalid) = prepared {
        let (channel, purpose, outcome) = (req.channel, req.purpose, SendResult::CaptchaInvalid);
        s.metrics.record(Metric::Send { channel, purpose, outcome });
    }
    let mut target = prepared?;
    target.session = session.filter(|_| principal.is_none()).map(Session::condition);
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
    let locale = MessageLocale::choose(locale, own, session.is_some());
    let mut blind = true;
    let result = retry::run(|| attempt(s, &target, locale, std::mem::take(&mut blind))).await;
    let outcome = match &result {
        Ok(Some(_)) => Some(SendResult::Accepted),
        Err(SendError::RateLimited { .. }) => Some(SendResult::RateLimited),
        Err(SendError::SmsBudgetExhausted { .. }) => Some(SendResult::BudgetExhausted),
        Err(SendError::CaptchaInvalid) => Some(SendResult::CaptchaInvalid),
        Err(SendError::SmsDestinationBlocked) => Some(SendResult::Blocked),
        _ => None,
    };
    if let Some(outcome) = outcome {
        let (channel, purpose) = (target.dest.channel(), target.purpose);
        s.metrics.record(Metric::Send { channel, purpose, outcome });
    }
    if outcome == Some(SendResult::CaptchaInvalid) {
        s.metrics.record(Metric::CaptchaFailed);
    }
    if let (Some(SendResult::Blocked), Destination::Phone(p)) = (outcome, &target.dest) {
        s.metrics.record(Metric::GuardRefusal { country: p.country_code(), monitor: false });
    }
    let (message_id, code_length) = result?.ok_or(SendError::Busy)?;
    tracing::info!(purpose = target.purpose.as_str(), to = %target.dest, "code send accepted");
    // Delivery is the outbox's job; in process only in the dev server and tests.
    s.relay.committed(&message_id).await;
    Ok(CodeSent {
        expires_in: s.config.code_ttl_secs,
        resend_in: s.config.code_resend_interval_secs,
        code_length,
    })
}

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
    let check = match (&req.captcha, waived) {
        (_, true) => None,
        (Some(c), false) => Some(c.check(&s.config.captcha_provider)?),
        (None, false) => return Err(Invalid::missing("captcha").into()),
    };
    let dest = destination(&s.config, req, own)?;
    let fixed_code = s.config.test_destinations.code(dest.channel(), dest.address());
    let sms_country = match &dest {
        // A test number is never sent anything: no country, no budgets.
        Destination::Phone(_) if fixed_code.is_some() => None,
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
    let (captcha, captcha_token) = match check {
        Some(check) => spend(s, check)?,
        None => (None, None),
    };
    let template = match req.template.as_deref().map(str::trim) {
        None | Some(DEFAULT_TEMPLATE) => None,
        Some(name) if s.template_index.serves(name, dest.channel()) => Some(name.to_string()),
        Some(_) => return Err(Invalid::value("template").into()),
    };
    let caller = caller.map(str::to_string);
    let guard = crate::sms::guard::send_part(&s.config, &*s.random, &dest, s.clock.now())?;
    Ok(Target {
        guard,
        fixed_code: fixed_code.map(str::to_string),
        template,
        purpose: req.purpose,
        key: record_key(req.purpose, &dest, caller.as_deref()),
        ip: client_ip.map(|ip| ip_counter(s, ip)),
        bind: match (req.purpose, caller.as_deref()) {
            (Purpose::Bind, Some(account)) => bind_counters(s, &dest, account),
            _ => Vec::new(),
        },
        budgets: sms_country.map(|cc| budgets(s, cc)).unwrap_or_default(),
        captcha,
        captcha_token,
        dest,
        caller,
        session: None,
    })
}

/// Where the code goes: `to`, or for `verify` the account's own address.
fn destination(
    cfg: &crate::config::Config,
    req: &SendCode,
    own: Option<&AccountRecord>,
) -> Result<Destination, SendError> {
    if let (Purpose::Verify, Some(account)) = (req.purpose, own) {
        let bound = match req.channel {
            Channel::Email => account.email.as_deref(),
            Channel::Sms => account.phone.as_deref(),
        };
        let bound = bound.ok_or(SendError::NoBoundAddress)?;
        return cfg
            .destination(req.channel, bound, None, "to")
            .map_err(|_| SendError::NoBoundAddress);
    }
    let to = req.to.as_deref().ok_or_else(|| Invalid::missing("to"))?;
    Ok(cfg.destination(req.channel, to, req.country_code, "to")?)
}

/// One round: if `blind`, a new code written without a read first, and if
/// the record turns out to hold a live code or spent limits, a write from
/// what it holds; otherwise read, decide, write. `Retry` when another
/// request wrote the record in between. Done: the stored message's id and
/// the code's length.
async fn attempt(
    s: &Services,
    t: &Target,
    locale: MessageLocale,
    blind: bool,
) -> Result<Attempt<(String, usize)>, SendError> {
    let found = match blind {
        true => match send_new(s, t, locale).await? {
            Committed::Done(sent) => return Ok(Attempt::Done(sent)),
            Committed::Occupied(record) => Some(record),
            Committed::Conflict => None,
        },
        false => None,
    };
    let now = s.clock.now();
    let old = match found {
        Some(record) => record,
        None => s.store.load_destination(&t.key, now).await?,
    };
    if let Some(retry_after) = policy::wait(&old, now, &s.config) {
        captcha_anyway(s, t, now).await?;
        return Err(SendError::RateLimited { retry_after });
    }
    let mut new = policy::next_record(&old, now, &s.config);
    let code = place_code(s, t, &old, &mut new, now)?;
    new.expires_at = horizon(&new, now, &s.config);
    let code_expires_at = new.code.as_ref().map_or(now, |c| c.expires_at);
    let write = RecordWrite::Replace { record: &new, expected_version: old.version };
    Ok(match commit(s, t, write, (code, code_expires_at), locale, now).await? {
        Committed::Done(sent) => Attempt::Done(sent),
        Committed::Conflict | Committed::Occupied(_) => Attempt::Retry,
    })
}

/// A new code, written without reading the record: the store refuses it
/// (`Occupied`) if a live code is there or the destination's limits are spent.
async fn send_new(s: &Services, t: &Target, locale: MessageLocale) -> Result<Committed, SendError> {
    let (cfg, now) = (&s.config, s.clock.now());
    let plain = match &t.fixed_code {
        Some(code) => code.clone(),
        None => random_digits(&*s.random, policy::code_length(cfg, t.purpose, false) as usize)?,
    };
    let code = LiveCode {
        sealed: s.keys.seal_code(&t.key, &plain, &*s.random)?,
        hash: Some(s.keys.code_hash(&t.key, &plain)),
        expires_at: now + cfg.code_ttl_secs,
        attempts: 0,
        long: false,
    };
    let (limits, expires_at) = (policy::limits(cfg, t.purpose), now + longest(cfg));
    let write = RecordWrite::NewCode { key: &t.key, code: &code, limits, expires_at };
    commit(s, t, write, (plain, code.expires_at), locale, now).await
}

/// What a send's transaction came to, short of a refusal.
enum Committed {
    /// The id of the stored message, and the code's length.
    Done((String, usize)),
    Conflict,
    Occupied(DestRecord),
}

/// The send's transaction: captcha, record, counters and message. A shard
/// of an SMS budget found full is closed and another one tried at once;
/// the send is refused only when a whole budget is used up.
async fn commit(
    s: &Services,
    t: &Target,
    write: RecordWrite<'_>,
    code: (String, Timestamp),
    locale: MessageLocale,
    now: Timestamp,
) -> Result<Committed, SendError> {
    let captcha = t.captcha.as_ref().map(Spend::as_send);
    let mut budgets = t.budgets.clone();
    loop {
        let mut counters: Vec<Counter> = t.ip.iter().chain(&t.bind).cloned().collect();
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
        let message = outgoing(s, t, &code, locale, now, &counters)?;
        let (session, guard) = (t.session.as_ref(), t.guard.as_ref());
        let send = SendWrite {
            captcha,
            record: write,
            session,
            counters: &counters,
            guard,
            message: &message,
        };
        match s.store.commit_send(&send, now).await? {
            SendOutcome::Committed => return Ok(Committed::Done((message.id, code.0.len()))),
            SendOutcome::Blocked { .. } => {
                captcha_anyway(s, t, now).await?;
                return Err(SendError::SmsDestinationBlocked);
            }
            SendOutcome::SessionRefused => return Err(SendError::Unauthorized),
            SendOutcome::Conflict => return Ok(Committed::Conflict),
            SendOutcome::Occupied(record) => return Ok(Committed::Occupied(record)),
            SendOutcome::CaptchaRejected => {
                // A wrong answer still uses the image up; a refused proof
                // was spent already.
                if let Some(Spend::Image { id, .. }) = &t.captcha {
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
/// it (with a fresh lifetime); otherwise a new one, long if the destination
/// is hardened (its short code, if any, is dead then). Returns it in plain
/// text.
fn place_code(
    s: &Services,
    t: &Target,
    old: &DestRecord,
    new: &mut DestRecord,
    now: Timestamp,
) -> Result<String, SendError> {
    let (cfg, key) = (&s.config, t.key.as_str());
    let hardening = policy::hardening(cfg, t.purpose);
    let live = old
        .open_code(now, &hardening)
        .and_then(|c| s.keys.open_code(key, &c.sealed).map(|plain| (plain, c.attempts, c.long)));
    let (plain, attempts, long) = match live {
        Some(live) => live,
        None => {
            let hardened = old.hardened(hardening.fail_max, now - hardening.remember_secs);
            // A code that belongs to the account asking dies after its
            // checks, hardened or not: the record is that account's alone.
            let long = hardened && !t.purpose.needs_login();
            let length = policy::code_length(cfg, t.purpose, hardened);
            match &t.fixed_code {
                // A fixed code stays short whatever happens: once the
                // destination is hardened it is closed to checks, so it
                // is never open to thousands of guesses.
                Some(code) => (code.clone(), 0, false),
                None => (random_digits(&*s.random, length as usize)?, 0, long),
            }
        }
    };
    let sealed = s.keys.seal_code(key, &plain, &*s.random)?;
    let hash = Some(s.keys.code_hash(key, &plain));
    let expires_at = now + cfg.code_ttl_secs;
    new.code = Some(LiveCode { sealed, hash, expires_at, attempts, long });
    Ok(plain)
}

/// A captcha that came with a refused request is still used up, and a wrong
/// one is reported as such first.
async fn captcha_anyway(s: &Services, t: &Target, now: Timestamp) -> Result<(), SendError> {
    let passed = match &t.captcha {
        None => return Ok(()),
        Some(Spend::Image { id, hash }) => {
            let taken = s.store.take_captcha(id, now).await?;
            taken.is_some_and(|c| digest_eq(&c.answer_hash, hash))
        }
        Some(Spend::Challenge(p)) => s.store.spend_challenge(&p.nonce, p.expires_at, now).await?,
    };
    if passed { Ok(()) } else { Err(SendError::CaptchaInvalid) }
}

/// What a send's captcha comes to: what its transaction uses up, or an
/// external provider's token to ask about first. An image id that is no
/// captcha's, or a proof of work that does not hold, is wrong at once.
fn spend(s: &Services, check: CaptchaCheck) -> Result<(Option<Spend>, Option<String>), SendError> {
    match check {
        CaptchaCheck::Image { id, answer } => {
            if uuid::Uuid::try_parse(&id).is_err() {
                return Err(SendError::CaptchaInvalid);
            }
            let hash = s.keys.captcha_answer_hash(&id, answer.as_str());
            Ok((Some(Spend::Image { id, hash }), None))
        }
        CaptchaCheck::Pow(payload) => match pow::verify(&s.keys, &payload, s.clock.now()) {
            Ok(proof) => Ok((Some(Spend::Challenge(proof)), None)),
            Err(_) => {
                s.metrics.record(Metric::CaptchaFailed);
                Err(SendError::CaptchaInvalid)
            }
        },
        CaptchaCheck::Token(token) => Ok((None, Some(token))),
    }
}

/// The captcha a send uses up.
enum Spend {
    /// An image captcha's id and the keyed hash of the answer given.
    Image { id: String, hash: [u8; 32] },
    /// A proof of work that holds.
    Challenge(pow::Proof),
}

impl Spend {
    fn as_send(&self) -> SendCaptcha<'_> {
        match self {
            Spend::Image { id, hash } => SendCaptcha::Image { id, hash },
            Spend::Challenge(p) => {
                SendCaptcha::Challenge { nonce: &p.nonce, expires_at: p.expires_at }
            }
        }
    }
}

/// The outgoing message of an accepted send, sealed: the delivery decides
/// whether it is the code, a notice or nothing at all — stored alike, so
/// every send writes the same items.
fn outgoing(
    s: &Services,
    t: &Target,
    (code, code_expires_at): &(String, Timestamp),
    locale: MessageLocale,
    now: Timestamp,
    counters: &[Counter],
) -> Result<OutgoingMessage, Fault> {
    let contents = Contents {
        channel: t.dest.channel(),
        to: t.dest.address().to_string(),
        country: match &t.dest {
            Destination::Phone(p) => Some(p.country_code()),
            Destination::Email(_) => None,
        },
        purpose: t.purpose,
        locale: match locale {
            MessageLocale::Named(l) => l,
            MessageLocale::Owners | MessageLocale::Callers => Locale::default(),
        }
        .as_str()
        .to_string(),
        owners_locale: locale == MessageLocale::Owners,
        callers_locale: locale == MessageLocale::Callers,
        code: code.clone(),
        code_expires_at: *code_expires_at,
        record_key: t.key.clone(),
        sent_at: now,
        // The client IP's count stands: it limits the caller, not the address.
        refunds: counters
            .iter()
            .filter(|c| !matches!(c.kind, LimitKind::Ip | LimitKind::BindSends))
            .cloned()
            .collect(),
        template: t.template.clone(),
        caller: t.caller.clone(),
    };
    // Kept a day past the code, for operators to see what became of it.
    let expires_at = code_expires_at + MESSAGE_KEPT_SECS;
    crate::outbox::seal(&contents, &s.keys, s.new_id()?, now, expires_at, &*s.random)
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
