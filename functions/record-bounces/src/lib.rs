//! `record-bounces`: subscribed to the SNS topic that the SES configuration
//! set publishes bounce and complaint events to. A hard (`Permanent`)
//! bounce or a complaint suppresses each address it names; later sends to
//! them are accepted like any other and never delivered. Soft bounces
//! change nothing. An event it cannot read is logged and skipped (SNS
//! would only deliver it again); a store failure fails the invocation, so
//! SNS retries it.

use domain::Services;
use domain::error::Fault;
use domain::outbox::suppress_email;
use serde_json::Value;

/// What one SES notification asks: the addresses to suppress and why.
pub fn addresses(notification: &Value) -> (Vec<String>, &'static str) {
    let kind = notification["eventType"].as_str().or(notification["notificationType"].as_str());
    let (list, field, reason) = match kind {
        Some("Bounce") if notification["bounce"]["bounceType"] == "Permanent" => {
            (&notification["bounce"]["bouncedRecipients"], "emailAddress", "bounce")
        }
        Some("Complaint") => {
            (&notification["complaint"]["complainedRecipients"], "emailAddress", "complaint")
        }
        _ => return (Vec::new(), "none"),
    };
    let found = list
        .as_array()
        .map(|a| a.iter().filter_map(|r| r[field].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    (found, reason)
}

/// Handles one SNS event; returns how many addresses it suppressed.
pub async fn handle(s: &Services, event: &Value) -> Result<usize, Fault> {
    let mut suppressed = 0;
    for record in event["Records"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let message = record["Sns"]["Message"].as_str().unwrap_or_default();
        let Ok(notification) = serde_json::from_str::<Value>(message) else {
            tracing::warn!("an SNS message that is not an SES notification was skipped");
            continue;
        };
        let (found, reason) = addresses(&notification);
        for address in found {
            if suppress_email(&*s.store, &*s.clock, &address, reason).await? {
                suppressed += 1;
            }
        }
    }
    Ok(suppressed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hard_bounces_and_complaints_name_addresses_soft_bounces_do_not() {
        let hard = json!({"eventType": "Bounce", "bounce": {"bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": "a@example.com"}, {"emailAddress": "b@example.com"}]}});
        assert_eq!(
            addresses(&hard),
            (vec!["a@example.com".into(), "b@example.com".into()], "bounce")
        );
        let soft = json!({"eventType": "Bounce", "bounce": {"bounceType": "Transient",
            "bouncedRecipients": [{"emailAddress": "a@example.com"}]}});
        assert!(addresses(&soft).0.is_empty());
        let complaint = json!({"notificationType": "Complaint",
            "complaint": {"complainedRecipients": [{"emailAddress": "c@example.com"}]}});
        assert_eq!(addresses(&complaint), (vec!["c@example.com".into()], "complaint"));
        assert!(addresses(&json!({"eventType": "Delivery"})).0.is_empty());
    }
}
