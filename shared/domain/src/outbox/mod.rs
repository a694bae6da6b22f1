//! The transactional outbox. A send's one transaction stores the code, the
//! counters and an outgoing message together (`codes::send`); delivery
//! happens later, off the request path: the delivery function, fed by the
//! table's stream, claims the message, renders it, hands it to SES or SNS
//! and settles it (`deliver`). A message that fails for good disables its
//! code and refunds its send. Addresses that bounced or complained are
//! suppressed (`suppress`): sends to them are accepted like any other and
//! never delivered.
//!
//! At least once: a message is claimed with a conditional write (with a
//! lease) before the provider call and settled after it, so a retry after
//! a settled success does nothing. What remains is the window between the
//! provider's acceptance and the settling write: a crash there (or a
//! timeout) lets the message go out again once its lease ends.

mod contents;
mod deliver;
mod event;
mod kind;
mod notice;
mod relay;

pub use contents::{Contents, Kind, seal};
pub use deliver::{DeliverError, Delivered, Deliverer, deliver};
pub use event::{AccountEvent, EventRecord, event_message, login_failed_message};
pub use kind::{owner_decides, what_goes_out};
pub use notice::{AccountChange, Notice, notices, relay as relay_notices};
pub use relay::InlineRelay;

use crate::address::EmailAddress;
use crate::error::Fault;
use crate::ports::{Clock, Store};

/// Suppresses an email address that bounced for good or complained.
/// `Ok(false)` when `raw` is not an address the service could send to.
pub async fn suppress_email(
    store: &dyn Store,
    clock: &dyn Clock,
    raw: &str,
    reason: &str,
) -> Result<bool, Fault> {
    let Ok(email) = EmailAddress::parse(raw, "to") else { return Ok(false) };
    store.suppress(&format!("email:{}", email.as_str()), reason, clock.now()).await?;
    tracing::info!(to = %email.masked(), reason, "address suppressed");
    Ok(true)
}
