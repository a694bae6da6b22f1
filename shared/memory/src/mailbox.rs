//! The dev server's mailbox: the messages it would have sent are kept in memory, newest first, and
//! read back with `GET /_dev/messages?to=ADDRESS`.

use async_trait::async_trait;
use domain::address::Channel;
use domain::messages::Message;
use domain::ports::dev::{self, SentMessage};
use domain::ports::{Clock, Delivery, DeliveryError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct Mailbox {
    clock: Arc<dyn Clock>,
    entries: Mutex<Vec<SentMessage>>,
    /// Addresses whose messages the mailbox refuses for good, to rehearse
    /// permanent provider failures…
    refuse: Mutex<Vec<String>>,
    /// …and how many more sends to an address fail as an outage would.
    outage: Mutex<HashMap<String, u32>>,
    /// Whether real sends are refused for good while probes are answered,
    /// as a provider does in its sandbox, past a quota or for one number.
    refuse_sends: Mutex<bool>,
}

impl Mailbox {
    const MAX: usize = 10_000;

    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Mailbox {
            clock,
            entries: Mutex::default(),
            refuse: Mutex::default(),
            outage: Mutex::default(),
            refuse_sends: Mutex::default(),
        }
    }

    /// Refuses every real send for good from now on, while probes (a
    /// decoy's silent message) are still answered: a partial failure.
    pub fn refuse_sends_but_answer_probes(&self) {
        *self.refuse_sends.lock().unwrap_or_else(|p| p.into_inner()) = true;
    }

    /// Messages to `to` (canonical form), newest first.
    pub fn to(&self, to: &str) -> Vec<SentMessage> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().rev().filter(|e| e.to == to).cloned().collect()
    }

    /// Makes every later send to `to` (and every probe on its behalf) fail
    /// like a permanent provider refusal.
    pub fn refuse(&self, to: &str) {
        self.refuse.lock().unwrap_or_else(|p| p.into_inner()).push(to.to_string());
    }

    /// Makes the next `times` sends to `to` (or probes on its behalf) fail
    /// like a provider outage.
    pub fn fail_next(&self, to: &str, times: u32) {
        self.outage.lock().unwrap_or_else(|p| p.into_inner()).insert(to.to_string(), times);
    }
}

impl Mailbox {
    /// The failure set up for `to`, if any (an outage uses one up).
    fn failure(&self, to: &str) -> Result<(), DeliveryError> {
        if self.refuse.lock().unwrap_or_else(|p| p.into_inner()).iter().any(|r| r == to) {
            return Err(DeliveryError::permanent("refused by the outbox"));
        }
        let mut outage = self.outage.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(left) = outage.get_mut(to).filter(|n| **n > 0) {
            *left -= 1;
            return Err(DeliveryError::transient("the outbox is down"));
        }
        Ok(())
    }
}

#[async_trait]
impl Delivery for Mailbox {
    async fn probe(&self, _: Channel, to: &str) -> Result<(), DeliveryError> {
        self.failure(to)
    }

    async fn send(&self, m: &Message) -> Result<(), DeliveryError> {
        self.failure(&m.to)?;
        if *self.refuse_sends.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(DeliveryError::permanent("sends refused by the outbox"));
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= Self::MAX {
            entries.drain(..Self::MAX / 2);
        }
        entries.push(SentMessage {
            channel: m.channel.as_str(),
            to: m.to.clone(),
            purpose: m.purpose,
            subject: m.subject.clone(),
            text: m.text.clone(),
            code: m.code.clone(),
            sent_at: self.clock.now(),
        });
        Ok(())
    }
}

impl dev::Mailbox for Mailbox {
    fn to(&self, to: &str) -> Vec<SentMessage> {
        Mailbox::to(self, to)
    }
}
