//! The dev server's event bus: account events it would have published are
//! kept in memory, newest last, and read back with `GET /_dev/events`.

use async_trait::async_trait;
use domain::ports::dev::EventLog as DevEventLog;
use domain::ports::{DeliveryError, EventBus, PublishedEvent};
use std::sync::Mutex;

#[derive(Default)]
pub struct EventLog {
    events: Mutex<Vec<PublishedEvent>>,
}

impl EventLog {
    const MAX: usize = 10_000;
}

#[async_trait]
impl EventBus for EventLog {
    async fn publish(&self, event: &PublishedEvent) -> Result<(), DeliveryError> {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if events.len() >= Self::MAX {
            events.remove(0);
        }
        events.push(event.clone());
        Ok(())
    }
}

impl DevEventLog for EventLog {
    fn events(&self) -> Vec<PublishedEvent> {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.iter().rev().cloned().collect()
    }
}
