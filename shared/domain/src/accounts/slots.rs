//! Failed-login slots: a slot is taken in two counters before a password
//! (or a second factor's code) is checked, and given back when it passes,
//! so only failures count and concurrent guesses cannot pass a limit.

use super::common::{
    LOGIN_FAIL_CEILING, LOGIN_FAIL_CEILING_WINDOW_SECS, LOGIN_FAIL_MAX, LOGIN_FAIL_WINDOW_SECS,
};
use crate::error::Fault;
use crate::ports::{CountOutcome, Counter, LimitKind, StoreError, Timestamp};
use crate::services::Services;
use std::net::IpAddr;

/// Runs `write` and gives `pending` slots back at the same time (one round
/// trip for both).
pub(super) async fn with_give_back<T, E: From<Fault>>(
    s: &Services,
    pending: Option<Slots>,
    write: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let give_back = async {
        match pending {
            Some(slots) => slots.give_back(s).await,
            None => Ok(()),
        }
    };
    let (written, given) = tokio::join!(write, give_back);
    match (written, given) {
        // The write landed: its result stands; the slots it could not give
        // back stay counted until their window ends.
        (Ok(done), Err(e)) => {
            tracing::warn!(error = %e, "failed-login slots not given back");
            Ok(done)
        }
        (written, given) => {
            given.map_err(Fault::Store)?;
            written
        }
    }
}

/// How a password check inside the failed-login limits came out.
pub(super) enum Checked {
    Passed,
    Failed,
    Limited { retry_after: u64 },
}

/// Whose doing a second-step failure is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SecondStep {
    /// A login's second step, after a password or a code.
    Login,
    /// A session's: a login link's second step, or a step-up by app code.
    Session,
}

/// Wrong app or recovery codes per account after a password or a code…
pub const MFA_LOGIN_FAILS: u32 = 10;
const MFA_LOGIN_WINDOW_SECS: i64 = 3600;
/// …and of a session's doing, apart (so a stolen session spends none of
/// the owner's), in a day.
pub const MFA_SESSION_FAILS: u32 = 10;
const MFA_SESSION_WINDOW_SECS: i64 = 86_400;

/// The account's counter of second-step failures of `kind`.
pub(super) fn second_step_counter(account_id: &str, kind: SecondStep, now: Timestamp) -> Counter {
    let (name, limit, window) = match kind {
        SecondStep::Login => ("login", MFA_LOGIN_FAILS, MFA_LOGIN_WINDOW_SECS),
        SecondStep::Session => ("session", MFA_SESSION_FAILS, MFA_SESSION_WINDOW_SECS),
    };
    let at = now.div_euclid(window);
    Counter {
        key: format!("mfa|{account_id}|{name}|{at}"),
        kind: LimitKind::FailedLogins,
        limit,
        expires_at: (at + 1) * window,
    }
}

/// A step-up by app code: a slot per (account, client network), as for a
/// password, and one in the account's session-made second-step failures.
pub(super) async fn take_app_code_slots(
    s: &Services,
    account_id: &str,
    ip: Option<IpAddr>,
) -> Result<Slots, StoreError> {
    let now = s.clock.now();
    let (per_ip, _) = login_counters(account_id, ip, now);
    let per_account = second_step_counter(account_id, SecondStep::Session, now);
    Slots::take(s, per_ip, per_account).await
}

/// The failed-login counters of `subject` (the address for a login, the
/// account for a step-up) as seen from `ip`: per (subject, IP), and per subject.
fn login_counters(subject: &str, ip: Option<IpAddr>, now: Timestamp) -> (Counter, Counter) {
    let ip = ip.map_or_else(|| "unknown".to_string(), crate::network::client_key);
    let short = now.div_euclid(LOGIN_FAIL_WINDOW_SECS);
    let long = now.div_euclid(LOGIN_FAIL_CEILING_WINDOW_SECS);
    let per_ip = Counter {
        key: format!("login|{subject}|{ip}|{short}"),
        kind: LimitKind::FailedLogins,
        limit: LOGIN_FAIL_MAX,
        expires_at: (short + 1) * LOGIN_FAIL_WINDOW_SECS,
    };
    let per_subject = Counter {
        key: format!("login|{subject}|{long}"),
        kind: LimitKind::FailedLogins,
        limit: LOGIN_FAIL_CEILING,
        expires_at: (long + 1) * LOGIN_FAIL_CEILING_WINDOW_SECS,
    };
    (per_ip, per_subject)
}

/// Takes a slot in both failed-login counters of `subject` as seen from
/// `ip` (at once), before the password is checked.
pub(super) async fn take_slots(
    s: &Services,
    subject: &str,
    ip: Option<IpAddr>,
) -> Result<Slots, StoreError> {
    let (per_ip, per_subject) = login_counters(subject, ip, s.clock.now());
    Slots::take(s, per_ip, per_subject).await
}

/// Slots taken in the failed-login counters: a slot is taken in both
/// first (so concurrent guesses cannot pass a limit), and given back when
/// the check passes (or is not made), so only failures count.
///
/// - 10 failures per (subject, client network) in 15 minutes: `Limited`
///   for that network only — a stranger's failures never touch the owner's.
/// - 100 failures per subject in an hour (the ceiling): then no password is
///   checked from any network unless a second factor came with it (the
///   address's `login` code for a login), so guesses stay bounded however
///   many networks make them. The owner still gets in: by code, by
///   password with the code, or by resetting the password.
pub(super) struct Slots {
    per_ip: Counter,
    per_subject: Counter,
    by_ip: CountOutcome,
    by_subject: CountOutcome,
    now: Timestamp,
}

impl Slots {
    /// Takes a slot in both counters at once: `per_ip`, the narrower, and
    /// `per_subject`, the ceiling (see `check_deferred`).
    pub(super) async fn take(
        s: &Services,
        per_ip: Counter,
        per_subject: Counter,
    ) -> Result<Slots, StoreError> {
        let now = s.clock.now();
        let (by_ip, by_subject) =
            tokio::join!(s.store.increment(&per_ip, now), s.store.increment(&per_subject, now));
        match (by_ip, by_subject) {
            (Ok(by_ip), Ok(by_subject)) => {
                Ok(Slots { per_ip, per_subject, by_ip, by_subject, now })
            }
            // One failed: the slot the other took goes back (nothing is
            // checked), so an outage spends no one's failures.
            (Ok(CountOutcome::Counted { .. }), Err(e)) => {
                give_back(s, std::slice::from_ref(&per_ip)).await.ok();
                Err(e)
            }
            (Err(e), Ok(CountOutcome::Counted { .. })) => {
                give_back(s, std::slice::from_ref(&per_subject)).await.ok();
                Err(e)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    /// The counters a slot was taken in.
    fn taken(&self) -> Vec<Counter> {
        [(&self.by_ip, &self.per_ip), (&self.by_subject, &self.per_subject)]
            .into_iter()
            .filter(|(outcome, _)| matches!(outcome, CountOutcome::Counted { .. }))
            .map(|(_, counter)| counter.clone())
            .collect()
    }

    /// Gives the slots back without a check (the request failed before it).
    pub(super) async fn give_back(self, s: &Services) -> Result<(), StoreError> {
        give_back(s, &self.taken()).await
    }

    /// Runs `check` unless a limit is reached (giving the slots back when
    /// it is not run); after a pass the slots come back to the caller, to
    /// be given back alongside its next write. `second_factor`: a proof
    /// besides the password came with it, which lets it past the ceiling.
    pub(super) async fn check_deferred(
        self,
        s: &Services,
        second_factor: bool,
        check: impl FnOnce() -> bool,
    ) -> Result<(Checked, Option<Slots>), StoreError> {
        let retry_after = |until: Timestamp| (until - self.now).max(1) as u64;
        let limited = match (self.by_ip, self.by_subject) {
            (CountOutcome::LimitReached { until }, _) => Some(retry_after(until)),
            (_, CountOutcome::LimitReached { until }) if !second_factor => Some(retry_after(until)),
            (CountOutcome::Counted { .. }, _) => None,
        };
        if let Some(retry_after) = limited {
            // Nothing was tried: the slots taken are given back.
            self.give_back(s).await?;
            return Ok((Checked::Limited { retry_after }, None));
        }
        if !check() {
            return Ok((Checked::Failed, None));
        }
        Ok((Checked::Passed, Some(self)))
    }
}

/// Refunds the slots taken, concurrently (one round trip).
async fn give_back(s: &Services, taken: &[Counter]) -> Result<(), StoreError> {
    match taken {
        [a, b] => {
            let (a, b) = tokio::join!(
                s.store.refund(std::slice::from_ref(a)),
                s.store.refund(std::slice::from_ref(b))
            );
            a.and(b)
        }
        other => s.store.refund(other).await,
    }
}
