//! Metrics in CloudWatch Embedded Metric Format: one JSON line per metric
//! on standard output, which Lambda's log agent turns into CloudWatch
//! metrics (namespace `Vericode`). Dimensions are channel, purpose, outcome
//! and country calling code — never an address.

use domain::ports::{Metric, Metrics};
use serde_json::{Value, json};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

pub const NAMESPACE: &str = "Vericode";

/// Writes each metric as an EMF line on standard output.
pub struct EmfMetrics;

/// The EMF document for one metric at `timestamp_ms`.
pub fn document(metric: Metric, timestamp_ms: u128) -> Value {
    let (name, dims): (&str, Vec<(&str, String)>) = match metric {
        Metric::Send { channel, purpose, outcome } => (
            "Sends",
            vec![
                ("channel", channel.as_str().into()),
                ("purpose", purpose.as_str().into()),
                ("outcome", outcome.as_str().into()),
            ],
        ),
        Metric::CaptchaFailed => ("CaptchaFailures", vec![]),
        Metric::Delivery { channel, purpose, outcome } => (
            "Deliveries",
            vec![
                ("channel", channel.as_str().into()),
                ("purpose", purpose.as_str().into()),
                ("outcome", outcome.as_str().into()),
            ],
        ),
        Metric::Notice { channel, outcome } => (
            "Notices",
            vec![("channel", channel.as_str().into()), ("outcome", outcome.as_str().into())],
        ),
        Metric::SmsSent { country } => ("SmsSent", vec![("country", country.to_string())]),
        Metric::GuardSend { country } => ("SmsGuardSends", vec![("country", country.to_string())]),
        Metric::GuardConversion { country } => {
            ("SmsGuardConversions", vec![("country", country.to_string())])
        }
        Metric::GuardBlock { country, scope, monitor } => (
            "SmsGuardBlocks",
            vec![
                ("country", country.to_string()),
                ("scope", scope.as_str().into()),
                ("mode", mode(monitor).into()),
            ],
        ),
        Metric::GuardRefusal { country, monitor } => (
            "SmsGuardRefusals",
            vec![("country", country.to_string()), ("mode", mode(monitor).into())],
        ),
    };
    let names: Vec<&str> = dims.iter().map(|(k, _)| *k).collect();
    // Each metric also without dimensions, for totals (and alarms on them).
    let mut sets = vec![json!([])];
    if !names.is_empty() {
        sets.push(json!(names));
    }
    let mut doc = json!({
        "_aws": {
            "Timestamp": timestamp_ms as u64,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": sets,
                "Metrics": [{ "Name": name, "Unit": "Count" }],
            }],
        },
        name: 1,
    });
    for (k, v) in dims {
        doc[k] = Value::String(v);
    }
    doc
}

/// The guard's mode, as a metric dimension.
fn mode(monitor: bool) -> &'static str {
    if monitor { "monitor" } else { "enforce" }
}

impl Metrics for EmfMetrics {
    fn record(&self, metric: Metric) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let mut line = document(metric, now).to_string();
        line.push('\n');
        // One write per line, so lines from concurrent tasks never interleave.
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::address::Channel;
    use domain::ports::SendResult;
    use domain::purpose::Purpose;

    #[test]
    fn a_send_is_one_count_with_its_dimensions_and_a_total() {
        let metric = Metric::Send {
            channel: Channel::Sms,
            purpose: Purpose::Login,
            outcome: SendResult::Accepted,
        };
        let doc = document(metric, 1_800_000_000_000);
        assert_eq!(doc["Sends"], 1);
        assert_eq!(
            (doc["channel"].as_str(), doc["purpose"].as_str()),
            (Some("sms"), Some("login"))
        );
        assert_eq!(doc["outcome"], "accepted");
        let spec = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], "Vericode");
        assert_eq!(spec["Dimensions"], json!([[], ["channel", "purpose", "outcome"]]));
        assert_eq!(spec["Metrics"], json!([{ "Name": "Sends", "Unit": "Count" }]));
        assert_eq!(doc["_aws"]["Timestamp"], 1_800_000_000_000u64);
    }

    #[test]
    fn sms_are_counted_by_country() {
        let doc = document(Metric::SmsSent { country: 86 }, 0);
        assert_eq!((doc["SmsSent"].as_i64(), doc["country"].as_str()), (Some(1), Some("86")));
        let block = Metric::GuardBlock {
            country: 44,
            scope: domain::ports::GuardScope::Prefix,
            monitor: true,
        };
        let doc = document(block, 0);
        assert_eq!(
            (doc["SmsGuardBlocks"].as_i64(), doc["mode"].as_str()),
            (Some(1), Some("monitor"))
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[], ["country", "scope", "mode"]])
        );
        let doc = document(Metric::CaptchaFailed, 0);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
    }
}
