//! Keeps the time a send takes independent of whether a message went out,
//! so response times do not tell whether an address has an account: when
//! nothing is sent, the request waits about as long as deliveries take.

use crate::messages::Message;
use crate::ports::{Delivery, DeliveryError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Default)]
pub struct Pacer {
    /// Moving average of delivery time, in microseconds.
    average_us: AtomicU64,
}

impl Pacer {
    pub async fn deliver(&self, delivery: &dyn Delivery, m: &Message) -> Result<(), DeliveryError> {
        let started = Instant::now();
        let result = delivery.send(m).await;
        let took = started.elapsed().as_micros().min(5_000_000) as u64;
        let avg = self.average_us.load(Ordering::Relaxed);
        let next = if avg == 0 { took } else { (avg * 7 + took) / 8 };
        self.average_us.store(next, Ordering::Relaxed);
        result
    }

    pub async fn idle(&self) {
        let avg = self.average_us.load(Ordering::Relaxed);
        if avg > 0 {
            tokio::time::sleep(Duration::from_micros(avg)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Channel;
    use crate::purpose::Purpose;
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
