//! Checking a code (`POST /v1/codes/verify`) and redeeming a code or a
//! verification token inside an account flow.

use super::policy;
use super::record::{fresh, horizon, key_of, longest, record_key, secs_until};
use super::types::{
    CheckError, VERIFICATION, VERIFICATION_TOKEN_TTL, VerificationClaims, Verified, VerifyCode,
};
use crate::address::Destination;
use crate::config::Config;
use crate::crypto::digest_eq;
use crate::error::Fault;
use crate::invalid::Invalid;
use crate::ports::{
    AccountRecord, AccountWrite, DestRecord, GuardTouch, Guess, GuessOutcome, LiveToken, Metric,
    SaveOutcome, SessionCheck, Timestamp,
};
use crate::purpose::Purpose;
use crate::retry::{self, Attempt};
use crate::services::Services;
use crate::sessions::{AuthError, Session};
use crate::sms::guard;
use crate::time::rfc3339;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

impl From<AuthError> for CheckError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthorized => CheckError::Unauthorized,
            AuthError::Fault(f) => CheckError::Fault(f),
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
    /// A text message's code used: one conversion more for the SMS guard.
    pub converts: Option<GuardTouch>,
}

impl Redemption {
    /// The writes that use the proof up inside the caller's transaction.
    pub fn writes(self) -> Vec<AccountWrite> {
        let Redemption { record, expected_version, converts } = self;
        let used = AccountWrite::SaveDestination { record, expected_version };
        std::iter::once(used).chain(converts.map(AccountWrite::Converted)).collect()
    }

    /// Uses the proof up on its own. `code_invalid` if another request used it first.
    pub async fn commit(&self, s: &Services) -> Result<(), CheckError> {
        match s.store.save_destination(&self.record, self.expected_version).await? {
            SaveOutcome::Committed => Ok(()),
            SaveOutcome::Conflict => Err(CheckError::used()),
        }
    }
}

/// Checks a code. Right: the code is used up and a single-use verification
/// token is returned. Anything else: `CodeInvalid` (with `attempts_left`
/// while the code lives), counted against the destination.
///
/// `bind` and `verify` codes belong to the account that asked for them: their
/// check needs that account's session, and the token names it. One round
/// trip: the store checks the guess against the code's keyed hash and
/// writes what follows (`CodeStore::guess_code`), and a session sent along
/// must still stand for anything to be written (a wrong guess under a
/// session takes a second trip to be counted).
pub async fn verify(
    s: &Services,
    req: VerifyCode,
    session: Option<&Session>,
    client_ip: Option<IpAddr>,
) -> Result<Verified, CheckError> {
    let dest = s.config.destination(req.channel, &req.to, req.country_code, "to")?;
    let account = match (req.purpose.needs_login(), session) {
        (true, None) => return Err(CheckError::Unauthorized),
        (true, Some(p)) => Some(p.account_id()),
        (false, _) => None,
    };
    let guess = well_formed(s, &dest, &req.code)?;
    let (key, session) =
        (&record_key(req.purpose, &dest, account), session.map(Session::condition));
    let (session, network) = (session.as_ref(), &network_tag(s, client_ip));
    let purpose = req.purpose;
    let converts = guard::touch(&s.config, &*s.random, &dest, s.clock.now())?;
    let converts = converts.as_ref();
    let (jti, now) = retry::run(|| guess_once(s, purpose, key, guess, network, session, converts))
        .await?
        .ok_or(CheckError::Busy)?;
    tracing::info!(purpose = req.purpose.as_str(), to = %dest, passed = true, "code checked");
    let claims = VerificationClaims {
        sub: dest.key(),
        purpose: req.purpose,
        acct: account.map(str::to_string),
        jti,
        exp: now + VERIFICATION_TOKEN_TTL,
        typ: VERIFICATION.into(),
    };
    let token = s.tokens.sign(&claims).map_err(|e| Fault::internal("token", e))?;
    Ok(Verified { verification_token: token, expires_in: VERIFICATION_TOKEN_TTL })
}

/// The guess, if it has the codes' shape — a short code's length, a
/// hardened destination's, or a test destination's fixed code's — (else
/// `invalid_request`, nothing counted).
fn well_formed<'a>(s: &Services, dest: &Destination, code: &'a str) -> Result<&'a str, CheckError> {
    let guess = code.trim();
    let digits = guess.bytes().all(|b| b.is_ascii_digit());
    let fixed = s.config.test_destinations.code(dest.channel(), dest.address()).map(str::len);
    let lengths = [s.config.code_length as usize, s.config.code_length_hardened as usize];
    if !(lengths.contains(&guess.len()) || fixed == Some(guess.len())) || !digits {
        return Err(Invalid::value("code").into());
    }
    Ok(guess)
}

/// The caller's network as a destination's record counts its failures.
pub(crate) fn network_tag(s: &Services, client_ip: Option<IpAddr>) -> String {
    let key = client_ip.map_or_else(|| "unknown".to_string(), crate::network::client_key);
    s.keys.network_tag(&key)
}

/// The checks a caller has left on a code after a wrong one: the code's own
/// (a short code's), and its network's in the hour, whichever is fewer.
fn attempts_left(cfg: &Config, attempts: u32, long: bool, network_fails: u32) -> u32 {
    let network = cfg.verify_network_fail_max.saturating_sub(network_fails);
    match long {
        true => network,
        false => network.min(cfg.code_max_attempts.saturating_sub(attempts)),
    }
}

/// One guess, decided by the store. Right: the token's id and when it was
/// issued. When the store refused to decide although the record it saw
/// holds a live code open to checks, the record changed under it (`Retry`),
/// or its code was stored without a hash: then it is checked by reading.
async fn guess_once(
    s: &Services,
    purpose: Purpose,
    key: &str,
    guess: &str,
    network: &str,
    session: Option<&SessionCheck>,
    converts: Option<&GuardTouch>,
) -> Result<Attempt<(String, Timestamp)>, CheckError> {
    let (cfg, now) = (&s.config, s.clock.now());
    let g = Guess {
        key: key.to_string(),
        hash: s.keys.code_hash(key, guess),
        token: LiveToken { jti: s.new_id()?, expires_at: now + VERIFICATION_TOKEN_TTL },
        hardening: policy::hardening(cfg, purpose),
        network: network.to_string(),
        hour: now.div_euclid(HOUR),
        network_max: cfg.verify_network_fail_max,
        ceiling: cfg.verify_fail_ceiling,
        keep: policy::limits(cfg, purpose).keep,
        expires_at: now + longest(cfg),
        session: session.cloned(),
        converts: converts.cloned(),
    };
    let stored = match s.store.guess_code(&g, now).await? {
        GuessOutcome::Right => {
            if let Some(touch) = converts {
                s.metrics.record(Metric::GuardConversion { country: touch.country });
            }
            return Ok(Attempt::Done((g.token.jti, now)));
        }
        GuessOutcome::SessionRefused => return Err(CheckError::Unauthorized),
        GuessOutcome::Busy => return Ok(Attempt::Retry),
        GuessOutcome::Wrong { attempts, network_fails, long, closed } => {
            let left = if closed { 0 } else { attempts_left(cfg, attempts, long, network_fails) };
            let attempts_left = Some(left);
            return Err(CheckError::CodeInvalid { attempts_left });
        }
        GuessOutcome::Refused(stored) => stored,
    };
    let record = fresh(&stored, now, cfg);
    if let Some(refused) = refusal(&record, now, cfg, purpose, network) {
        return Err(refused);
    }
    match &record.code {
        // Open to checks, yet refused: another write came between, unless
        // the record holds as many failures as a blind write may add to:
        // then the check is made from a read, which trims them.
        Some(c) if c.hash.is_some() && stored.fails.len() < g.keep as usize => Ok(Attempt::Retry),
        _ => check_by_reading(s, purpose, key, guess, network).await,
    }
}

/// Why a (fresh) record takes no check from `network`, if it does not: no
/// live code, a code closed to checks — a short one whose checks are used
/// up or whose destination is hardened (an unexpired one still says so:
/// `0`) — or the network, or all networks, spent the hour's failures
/// (`429`). Both ways of checking decide by this.
fn refusal(
    record: &DestRecord,
    now: Timestamp,
    cfg: &Config,
    purpose: Purpose,
    network: &str,
) -> Option<CheckError> {
    match &record.code {
        None => return Some(CheckError::CodeInvalid { attempts_left: None }),
        Some(_) if record.open_code(now, &policy::hardening(cfg, purpose)).is_none() => {
            return Some(CheckError::CodeInvalid { attempts_left: Some(0) });
        }
        Some(_) => {}
    }
    let hour = now.div_euclid(HOUR);
    let (total, mine) = record.checks.at(hour, network);
    (mine >= cfg.verify_network_fail_max || total >= cfg.verify_fail_ceiling)
        .then(|| CheckError::RateLimited { retry_after: secs_until((hour + 1) * HOUR, now) })
}

/// The hourly windows of failed checks.
const HOUR: i64 = 3600;

/// The check of a code stored without its hash: read, compare, write.
async fn check_by_reading(
    s: &Services,
    purpose: Purpose,
    key: &str,
    guess: &str,
    network: &str,
) -> Result<Attempt<(String, Timestamp)>, CheckError> {
    let Attempt::Done(Redemption { mut record, expected_version, .. }) =
        check_code(s, purpose, key, guess, network, None).await?
    else {
        return Ok(Attempt::Retry);
    };
    let (now, jti) = (s.clock.now(), s.new_id()?);
    record.token = Some(LiveToken { jti: jti.clone(), expires_at: now + VERIFICATION_TOKEN_TTL });
    record.expires_at = horizon(&record, now, &s.config);
    Ok(match s.store.save_destination(&record, expected_version).await? {
        SaveOutcome::Committed => Attempt::Done((jti, now)),
        // Another check came first; look again (the code may be gone).
        SaveOutcome::Conflict => Attempt::Retry,
    })
}

/// Checks `proof` for (`purpose`, `dest`) without using it up yet. A wrong
/// code is counted at once, as on `POST /v1/codes/verify`; a wrong, expired,
/// used or foreign token is `CodeInvalid`.
pub async fn redeem(
    s: &Services,
    purpose: Purpose,
    dest: &Destination,
    proof: Proof<'_>,
    client_ip: Option<IpAddr>,
) -> Result<Redemption, CheckError> {
    if purpose.needs_login() {
        return Err(CheckError::Unauthorized);
    }
    redeem_for(s, purpose, dest, None, proof, client_ip).await
}

/// `redeem` for a code that belongs to `account` (`bind`, `verify`).
pub async fn redeem_for(
    s: &Services,
    purpose: Purpose,
    dest: &Destination,
    account: Option<&str>,
    proof: Proof<'_>,
    client_ip: Option<IpAddr>,
) -> Result<Redemption, CheckError> {
    let key = record_key(purpose, dest, account);
    match proof {
        Proof::Token(token) => {
            let claims = token_claims(s, token)?;
            let foreign = claims.purpose != purpose
                || claims.sub != dest.key()
                || claims.acct.as_deref() != account.filter(|_| purpose.needs_login());
            if foreign {
                return Err(CheckError::used());
            }
            redeem_token(s, &claims, &key).await
        }
        Proof::Code(code) => {
            let (guess, network) = (well_formed(s, dest, code)?, &network_tag(s, client_ip));
            let converts = guard::touch(&s.config, &*s.random, dest, s.clock.now())?;
            let converts = converts.as_ref();
            retry::run(|| check_code(s, purpose, &key, guess, network, converts))
                .await?
                .ok_or(CheckError::Busy)
        }
    }
}

/// A step-up token (`POST /v1/codes/verify` with purpose `verify`) of
/// `account`, checked like `redeem`: it must be the account's own and name
/// one of the addresses bound to it now. Not used up yet.
pub async fn redeem_step_up(
    s: &Services,
    account: &AccountRecord,
    token: &str,
) -> Result<Redemption, CheckError> {
    read_step_up(s, token).await?.for_account(account)
}

/// A step-up token checked offline and its record read, before the account
/// is known (the token names the account and the address): the caller
/// reads the session alongside, then `for_account` checks the pair.
#[derive(Debug)]
pub struct StepUpRead {
    claims: VerificationClaims,
    redemption: Redemption,
}

/// `redeem_step_up`'s first half: one read.
pub async fn read_step_up(s: &Services, token: &str) -> Result<StepUpRead, CheckError> {
    let claims = token_claims(s, token)?;
    let acct = claims.acct.clone().filter(|_| claims.purpose == Purpose::Verify);
    let acct = acct.ok_or_else(CheckError::used)?;
    let key = key_of(Purpose::Verify, &claims.sub, Some(&acct));
    let redemption = redeem_token(s, &claims, &key).await?;
    Ok(StepUpRead { claims, redemption })
}

impl StepUpRead {
    /// The redemption, if the token is `account`'s, for one of its own
    /// addresses.
    pub fn for_account(self, account: &AccountRecord) -> Result<Redemption, CheckError> {
        let c = &self.claims;
        let own = c.acct.as_deref() == Some(account.id.as_str())
            && account.address_keys().contains(&c.sub);
        if !own {
            return Err(CheckError::used());
        }
        Ok(self.redemption)
    }
}

/// `POST /v1/verifications/redeem`: an app's server asks what a `confirm`
/// token proves, and uses it up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemVerification {
    pub verification_token: String,
}

/// What a redeemed token proved: control of `to` on `channel`, for
/// `purpose`, when its code was checked (RFC 3339).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Redeemed {
    pub channel: &'static str,
    pub to: String,
    pub purpose: Purpose,
    pub verified_at: String,
}

/// A `confirm` token checked offline and its record read, nothing written:
/// the first half of `POST /v1/verifications/redeem`. It needs no API key,
/// so the request runs it alongside the key's lookup.
pub struct VerificationRead {
    claims: VerificationClaims,
    channel: &'static str,
    key: String,
    first: Redemption,
}

/// Reads what a `confirm` token would use up. Tokens of other purposes
/// belong to the account endpoints and are refused like used ones
/// (`code_invalid`).
pub async fn read_verification(
    s: &Services,
    req: RedeemVerification,
) -> Result<VerificationRead, CheckError> {
    let claims = token_claims(s, req.verification_token.trim())?;
    if claims.purpose != Purpose::Confirm {
        return Err(CheckError::used());
    }
    let channel = match claims.sub.split_once(':') {
        Some(("email", _)) => "email",
        Some(("sms", _)) => "sms",
        _ => return Err(CheckError::used()),
    };
    let key = key_of(Purpose::Confirm, &claims.sub, None);
    let first = redeem_token(s, &claims, &key).await?;
    Ok(VerificationRead { claims, channel, key, first })
}

/// Uses the token read by `read_verification` up, once, for the server
/// holding API key `api_key` (its id, for the log): one conditional write,
/// the read having gone alongside the key's lookup.
pub async fn redeem_verification(
    s: &Services,
    api_key: &str,
    read: VerificationRead,
) -> Result<Redeemed, CheckError> {
    let VerificationRead { claims, channel, key, first } = read;
    let (claims, key, mut first) = (&claims, &key, Some(first));
    retry::run(|| {
        let read = first.take();
        async move {
            let redemption = match read {
                Some(redemption) => redemption,
                None => redeem_token(s, claims, key).await?,
            };
            let Redemption { record, expected_version, .. } = &redemption;
            Ok::<_, CheckError>(match s.store.save_destination(record, *expected_version).await? {
                SaveOutcome::Committed => Attempt::Done(()),
                // A check on the same address came in between: look again.
                SaveOutcome::Conflict => Attempt::Retry,
            })
        }
    })
    .await?
    .ok_or(CheckError::Busy)?;
    tracing::info!(api_key, "verification redeemed");
    let to = claims.sub.split_once(':').map_or("", |(_, to)| to);
    Ok(Redeemed {
        channel,
        to: to.to_string(),
        purpose: claims.purpose,
        verified_at: rfc3339(claims.exp - VERIFICATION_TOKEN_TTL),
    })
}

/// The claims of a well-signed, unexpired verification token.
fn token_claims(s: &Services, token: &str) -> Result<VerificationClaims, CheckError> {
    let claims: VerificationClaims =
        s.tokens.verify(token, s.clock.now()).map_err(|_| CheckError::used())?;
    if claims.typ != VERIFICATION {
        return Err(CheckError::used());
    }
    Ok(claims)
}

/// The token must still be its record's live one.
async fn redeem_token(
    s: &Services,
    claims: &VerificationClaims,
    key: &str,
) -> Result<Redemption, CheckError> {
    let now = s.clock.now();
    let old = s.store.load_destination(key, now).await?;
    if !old.token.as_ref().is_some_and(|t| t.jti == claims.jti && t.expires_at > now) {
        return Err(CheckError::used());
    }
    let mut record = fresh(&old, now, &s.config);
    record.token = None;
    record.version = old.version + 1;
    record.expires_at = horizon(&record, now, &s.config);
    Ok(Redemption { record, expected_version: old.version, converts: None })
}

/// One read-check-write of a code. Right: the redemption (nothing written
/// yet). Wrong against a live code: counted now, whatever the caller does
/// next. With no live code (none sent, expired, used — or used a moment ago
/// by a concurrent right check) nothing is counted: a guess then can lock no
/// one out, and a double-submitted form is not an attack.
async fn check_code(
    s: &Services,
    purpose: Purpose,
    key: &str,
    guess: &str,
    network: &str,
    converts: Option<&GuardTouch>,
) -> Result<Attempt<Redemption>, CheckError> {
    let cfg = &s.config;
    let now = s.clock.now();
    let old = s.store.load_destination(key, now).await?;
    let mut record = fresh(&old, now, cfg);
    if let Some(refused) = refusal(&record, now, cfg, purpose, network) {
        return Err(refused);
    }
    let Some(code) = record.code.as_mut() else {
        return Err(CheckError::CodeInvalid { attempts_left: None });
    };
    record.version = old.version + 1;
    let right = s
        .keys
        .open_code(key, &code.sealed)
        .is_some_and(|p| digest_eq(p.as_bytes(), guess.as_bytes()));
    if right {
        record.code = None;
        record.expires_at = horizon(&record, now, cfg);
        if let Some(touch) = converts {
            s.metrics.record(Metric::GuardConversion { country: touch.country });
        }
        let converts = converts.cloned();
        return Ok(Attempt::Done(Redemption { record, expected_version: old.version, converts }));
    }
    code.attempts += 1;
    let (attempts, long) = (code.attempts, code.long);
    record.fails.insert(0, now);
    record.fails.truncate(cfg.verify_fail_max as usize);
    let hour = now.div_euclid(HOUR);
    record.checks.count(hour, network);
    let network_fails = record.checks.at(hour, network).1;
    // Closed by this failure (spent, hardened, or the hour's limit reached): 0.
    let closed = refusal(&record, now, cfg, purpose, network).is_some();
    let left = if closed { 0 } else { attempts_left(cfg, attempts, long, network_fails) };
    let attempts_left = Some(left);
    record.expires_at = horizon(&record, now, cfg);
    match s.store.save_destination(&record, old.version).await? {
        SaveOutcome::Committed => Err(CheckError::CodeInvalid { attempts_left }),
        SaveOutcome::Conflict => Ok(Attempt::Retry),
    }
}
