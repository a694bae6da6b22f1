//! A metrics log for tests: keeps every metric recorded.

use domain::ports::{Metric, Metrics};
use std::sync::Mutex;

#[derive(Default)]
pub struct MetricLog {
    entries: Mutex<Vec<Metric>>,
}

impl MetricLog {
    /// Every metric recorded so far, oldest first.
    pub fn all(&self) -> Vec<Metric> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Metrics for MetricLog {
    fn record(&self, metric: Metric) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).push(metric);
    }
}
