//! Who is calling: the network and `User-Agent` of a request, the device
//! label read from it, and the account events (for integrators) it makes.

use crate::error::Fault;
use crate::outbox::{self, AccountEvent, EventRecord};
use crate::ports::{AccountRecord, AccountWrite, ApplyOutcome, OutgoingMessage};
use crate::services::Services;
use std::net::IpAddr;

/// The caller of a login, as its request shows it.
#[derive(Clone, Debug, Default)]
pub struct Client {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// The outgoing message of account event `event` of `account_id`, made by
/// `client`: to write in the action's own transaction, then relay.
pub(super) fn event_message(
    s: &Services,
    event: AccountEvent,
    account_id: &str,
    client: &Client,
) -> Result<OutgoingMessage, Fault> {
    outbox::event_message(s, &event_record(s, event, account_id, client))
}

fn event_record(
    s: &Services,
    event: AccountEvent,
    account_id: &str,
    client: &Client,
) -> EventRecord {
    EventRecord {
        event,
        account_id: account_id.to_string(),
        at: s.clock.now(),
        network: client.ip.map_or_else(|| "unknown".into(), crate::network::masked),
        device: device_label(client.user_agent.as_deref()),
    }
}

/// Tells integrators of a wrong password at `address_key` (`account`, if
/// the address has one), at most once a minute per address: one
/// conditional write, the same for an address without an account.
pub(super) async fn tell_login_failed(
    s: &Services,
    address_key: &str,
    account: Option<&AccountRecord>,
    client: &Client,
) -> Result<(), Fault> {
    let id = account.map_or("", |a| a.id.as_str());
    let record = event_record(s, AccountEvent::LoginFailed, id, client);
    let m = outbox::login_failed_message(s, address_key, &record)?;
    let outcome = s.store.apply(&[AccountWrite::PutMessage(m.clone())], record.at).await?;
    if outcome == ApplyOutcome::Committed {
        outbox::relay_notices(s, std::slice::from_ref(&m)).await;
    }
    Ok(())
}

/// "Chrome on macOS", from a `User-Agent`: the browser (or client) and the
/// system, each from a short list; what is not on it is "Unknown".
pub fn device_label(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or("");
    let has = |s: &str| ua.contains(s);
    let browser = if has("Edg/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("Firefox/") || has("FxiOS/") {
        "Firefox"
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else {
        let lower = ua.to_ascii_lowercase();
        ["curl", "Wget", "okhttp", "python-requests", "node"]
            .into_iter()
            .find(|t| lower.starts_with(&t.to_ascii_lowercase()))
            .unwrap_or("Unknown browser")
    };
    let system = if has("iPhone") || has("iPad") || has("iPod") {
        "iOS"
    } else if has("Android") {
        "Android"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("Windows") {
        "Windows"
    } else if has("Linux") {
        "Linux"
    } else {
        return browser.to_string();
    };
    format!("{browser} on {system}")
}

#[cfg(test)]
mod tests {
    use super::device_label;

    #[test]
    fn devices_read_from_user_agents() {
        let mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
        for (ua, label) in [
            (Some(mac), "Chrome on macOS"),
            (Some(iphone), "Safari on iOS"),
            (Some(edge), "Edge on Windows"),
            (Some(firefox), "Firefox on Linux"),
            (Some(android), "Chrome on Android"),
            (Some("curl/8.5.0"), "curl"),
            (Some(""), "Unknown browser"),
            (None, "Unknown browser"),
        ] {
            assert_eq!(device_label(ua), label, "{ua:?}");
        }
    }
}
