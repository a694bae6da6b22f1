//! Delivery in process, right after each commit: the dev server and the
//! tests run the same code the delivery function runs, without a stream.

use super::deliver::{DeliverError, Deliverer, deliver};
use crate::error::chain;
use crate::ports::Relay;
use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Hands each committed message to `deliver`, retrying as the stream would.
pub struct InlineRelay {
    deliverer: Arc<Deliverer>,
    /// Deliver in the background (the dev server) or before the request
    /// returns (tests, which then read the outbox at once).
    background: bool,
    /// The pause before the first retry; it doubles with each.
    retry_pause: Duration,
    in_flight: Arc<InFlight>,
}

#[derive(Default)]
struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

impl InlineRelay {
    pub fn background(deliverer: Arc<Deliverer>) -> Self {
        InlineRelay {
            deliverer,
            background: true,
            retry_pause: Duration::from_millis(200),
            in_flight: Arc::default(),
        }
    }

    /// Delivers before `committed` returns, retrying without a pause.
    pub fn immediate(deliverer: Arc<Deliverer>) -> Self {
        InlineRelay {
            deliverer,
            background: false,
            retry_pause: Duration::ZERO,
            in_flight: Arc::default(),
        }
    }

    /// Waits (at most `limit`) until no delivery is under way, so a reader
    /// of the outbox sees every message committed before it asked.
    pub async fn settled(&self, limit: Duration) {
        let wait = async {
            loop {
                let idle = self.in_flight.idle.notified();
                if self.in_flight.count.load(Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
    }
}

/// Delivers until the message is settled (`deliver` gives up on its own
/// after the configured attempts).
async fn run(d: &Deliverer, id: &str, pause: Duration) {
    let attempts = d.config.delivery_max_attempts + 2;
    for attempt in 0..attempts {
        match deliver(d, id).await {
            Ok(_) => return,
            Err(DeliverError::Leased { .. } | DeliverError::Retry { .. }) => {}
            Err(e) => tracing::warn!(message_id = id, error = %chain(&e), "delivery failed"),
        }
        tokio::time::sleep(pause.saturating_mul(1 << attempt.min(5))).await;
    }
    tracing::error!(message_id = id, "delivery did not settle the message");
}

#[async_trait]
impl Relay for InlineRelay {
    async fn committed(&self, message_id: &str) {
        if !self.background {
            return run(&self.deliverer, message_id, self.retry_pause).await;
        }
        let (deliverer, id, pause) =
            (self.deliverer.clone(), message_id.to_string(), self.retry_pause);
        let in_flight = self.in_flight.clone();
        in_flight.count.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            run(&deliverer, &id, pause).await;
            if in_flight.count.fetch_sub(1, Ordering::SeqCst) == 1 {
                in_flight.idle.notify_waiters();
            }
        });
    }
}
