//! One retry helper for optimistic concurrency: when a conditional write
//! loses a race (or the store says another transaction holds an item), the
//! operation runs again after an exponentially growing, fully jittered pause
//! (AWS's "full jitter"), a bounded number of times. Every retrying loop in
//! the service, in the use cases and in the DynamoDB adapter, goes through
//! `run`, so there is one set of constants.

use std::future::Future;
use std::time::Duration;

/// Attempts in all, the first included.
pub const MAX_ATTEMPTS: u32 = 10;
/// The pause before the second attempt is drawn from `0..=BASE`…
pub const BASE: Duration = Duration::from_millis(5);
/// …and doubles with each attempt up to this ceiling.
pub const CAP: Duration = Duration::from_millis(500);

/// What one attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Attempt<T> {
    Done(T),
    /// Lost a race: worth trying again from the start.
    Retry,
}

/// The pause after failed attempt number `attempt` (0-based), with the
/// jitter drawn from `unit` in `[0, 1]`.
pub fn backoff(attempt: u32, unit: f64) -> Duration {
    let ceiling = BASE.saturating_mul(1u32 << attempt.min(16)).min(CAP);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

fn jitter() -> f64 {
    let mut b = [0u8; 4];
    // Jitter only spreads retries out: without randomness, no pause is fine.
    if getrandom::fill(&mut b).is_err() {
        return 0.0;
    }
    f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
}

/// Runs `op` until it is `Done` or has asked to retry `MAX_ATTEMPTS` times:
/// `Ok(None)` then (the caller decides what exhaustion means). An `Err`
/// ends at once.
pub async fn run<T, E, F, Fut>(mut op: F) -> Result<Option<T>, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Attempt<T>, E>>,
{
    for attempt in 0..MAX_ATTEMPTS {
        if let Attempt::Done(value) = op().await? {
            return Ok(Some(value));
        }
        if attempt + 1 < MAX_ATTEMPTS {
            tokio::time::sleep(backoff(attempt, jitter())).await;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn pauses_grow_to_the_cap_and_are_jittered() {
        assert_eq!(backoff(0, 1.0), BASE);
        assert_eq!(backoff(1, 1.0), BASE * 2);
        assert_eq!(backoff(3, 1.0), BASE * 8);
        assert_eq!(backoff(30, 1.0), CAP);
        assert_eq!(backoff(5, 0.0), Duration::ZERO);
        assert_eq!(backoff(2, 0.5), BASE * 2);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_done_then_gives_up() {
        let calls = Cell::new(0);
        let done = run(|| async {
            calls.set(calls.get() + 1);
            Ok::<_, ()>(if calls.get() == 3 { Attempt::Done("won") } else { Attempt::Retry })
        })
        .await;
        assert_eq!((done, calls.get()), (Ok(Some("won")), 3));

        calls.set(0);
        let started = tokio::time::Instant::now();
        let never = run(|| async {
            calls.set(calls.get() + 1);
            Ok::<Attempt<()>, ()>(Attempt::Retry)
        })
        .await;
        assert_eq!((never, calls.get()), (Ok(None), MAX_ATTEMPTS));
        let most: Duration = (0..MAX_ATTEMPTS - 1).map(|a| backoff(a, 1.0)).sum();
        assert!(started.elapsed() <= most, "bounded: {:?}", started.elapsed());

        calls.set(0);
        let failed = run(|| async {
            calls.set(calls.get() + 1);
            Err::<Attempt<()>, _>("outage")
        })
        .await;
        assert_eq!((failed, calls.get()), (Err("outage"), 1));
    }
}
