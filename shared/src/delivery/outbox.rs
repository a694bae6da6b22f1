//! The dev server's outbox: messages are kept in memory, newest first, and
//! read back with `GET /_dev/outbox?to=ADDRESS`.

use super::{Delivery, DeliveryError};
use crate::messages::Message;
use crate::ports::{Clock, Timestamp};
use async_trait::async_trait;
use serde::Serialize;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Serialize)]
pub struct OutboxEntry {
    pub channel: &'static str,
    pub to: String,
    pub purpose: &'static str,
    pub subject: Option<String>,
    pub text: String,
    pub code: Option<String>,
    pub sent_at: Timestamp,
}

pub struct Outbox {
    clock: Arc<dyn Clock>,
    entries: Mutex<Vec<OutboxEntry>>,
    /// Addresses whose messages the outbox refuses, to rehearse provider failures.
    refuse: Mutex<Vec<String>>,
}

impl Outbox {
    const MAX: usize = 10_000;

    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Outbox { clock, entries: Mutex::default(), refuse: Mutex::default() }
    }

    /// Messages to `to` (canonical form), newest first.
    pub fn to(&self, to: &str) -> Vec<OutboxEntry> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().rev().filter(|e| e.to == to).cloned().collect()
    }

    /// Makes every later send to `to` fail like a provider refusal.
    pub fn refuse(&self, to: &str) {
        self.refuse.lock().unwrap_or_else(|p| p.into_inner()).push(to.to_string());
    }
}

#[async_trait]
impl Delivery for Outbox {
    async fn send(&self, m: &Message) -> Result<(), DeliveryError> {
        if self.refuse.lock().unwrap_or_else(|p| p.into_inner()).contains(&m.to) {
            return Err(DeliveryError("refused by the outbox".into()));
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= Self::MAX {
            entries.drain(..Self::MAX / 2);
        }
        entries.push(OutboxEntry {
            channel: m.channel.as_str(),
            to: m.to.clone(),
            purpose: m.purpose.as_str(),
            subject: m.subject.clone(),
            text: m.text.clone(),
            code: m.code.clone(),
            sent_at: self.clock.now(),
        });
        Ok(())
    }
}
