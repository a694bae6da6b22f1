//! Delivering one outgoing message: claim it, open it, send it, settle it —
//! or, when it fails for good, disable its code and refund its send.

use super::contents::{Contents, Kind};
use super::event::EventRecord;
use super::kind;
use super::notice::Notice;
use crate::address::{Channel, calling_code};
use crate::config::Config;
use crate::crypto::Keys;
use crate::error::{Fault, chain};
use crate::ports::{
    Claim, Clock, CountOutcome, Counter, Delivery, DeliveryError, DeliveryResult, DestRecord,
    EventBus, FailOutcome, LimitKind, Metric, Metrics, NoEvents, OutgoingMessage, Random, Store,
    Timestamp,
};
use crate::retry::{self, Attempt};
use crate::services::Services;
use crate::sms::{self, guard};
use crate::templates::TemplateSets;
use std::sync::Arc;

/// What the delivery function runs against.
pub struct Deliverer {
    pub config: Config,
    pub keys: Keys,
    pub store: Arc<dyn Store>,
    pub delivery: Arc<dyn Delivery>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn Metrics>,
    /// Picks SMS budget shards for notices.
    pub random: Arc<dyn Random>,
    /// Named template sets (`TEMPLATES_DIR`).
    pub templates: Arc<TemplateSets>,
    /// Where account events are published (`EVENT_BUS_NAME`).
    pub events: Arc<dyn EventBus>,
}

impl Deliverer {
    /// A deliverer sharing the services' settings, store, clock and metrics.
    pub fn new(s: &Services, delivery: Arc<dyn Delivery>) -> Self {
        Deliverer {
            config: s.config.clone(),
            keys: s.keys.clone(),
            store: s.store.clone(),
            delivery,
            clock: s.clock.clone(),
            metrics: s.metrics.clone(),
            random: s.random.clone(),
            templates: s.templates.clone(),
            events: Arc::new(NoEvents),
        }
    }

    /// The same, publishing account events to `events`.
    pub fn with_events(mut self, events: Arc<dyn EventBus>) -> Self {
        self.events = events;
        self
    }
}

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Handed to the provider (or, silent or suppressed, deliberately not).
    Done(DeliveryResult),
    /// Delivered, failed or expired before: nothing was done (a duplicate).
    AlreadySettled,
}

/// Why a message is not settled yet: try it again later.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The provider failed and attempts remain.
    #[error("the provider failed; attempt {attempts} of the message")]
    Retry { attempts: u32 },
    /// Another delivery holds the message until its lease ends.
    #[error("the message is being delivered elsewhere")]
    Leased { until: Timestamp },
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::faults!(DeliverError);

/// Delivers message `id` at least once. A duplicate (the stream's retry
/// after a success) finds it settled and does nothing.
pub async fn deliver(d: &Deliverer, id: &str) -> Result<Delivered, DeliverError> {
    let now = d.clock.now();
    let lease_until = now + d.config.delivery_lease_secs;
    let m = match d.store.claim_message(id, now, lease_until).await? {
        Claim::Claimed(m) => m,
        Claim::Settled => return Ok(Delivered::AlreadySettled),
        Claim::Leased { until } => return Err(DeliverError::Leased { until }),
    };
    let Some(contents) = Contents::open(&d.keys, &m) else {
        if let Some(notice) = Notice::open(&d.keys, &m) {
            return deliver_notice(d, &m, &notice, now).await;
        }
        if let Some(event) = EventRecord::open(&d.keys, &m) {
            return publish_event(d, &m, &event).await;
        }
        tracing::error!(message_id = id, "an outgoing message cannot be opened; marked failed");
        d.store.fail_message(id, None, &[]).await?;
        return Ok(Delivered::Done(DeliveryResult::Failed));
    };
    if review(d, &contents, m.attempts == 1, now).await {
        // Accepted before the block landed: it costs nothing either.
        tracing::info!(message_id = id, "not sent: the SMS guard blocks its destination");
        d.store.settle_message(id).await?;
        record(d, &contents, DeliveryResult::Blocked);
        return Ok(Delivered::Done(DeliveryResult::Blocked));
    }
    let result = send(d, &m, &contents, now).await;
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => {
            // Not settled: give the message back so the retry can claim it.
            d.store.release_message(id).await?;
            record(d, &contents, DeliveryResult::Retried);
            return Err(e);
        }
    };
    record(d, &contents, outcome);
    Ok(Delivered::Done(outcome))
}

/// The SMS guard's review of a text message's send, at each delivery
/// attempt (reported once, at the first), before anything about the
/// message is decided: a block depends on the destination's prefix, never
/// on its owner. Whether the guard blocks the destination now (then the
/// message is not sent). A store failure skips the review (the next send
/// to the prefix is reviewed).
async fn review(d: &Deliverer, c: &Contents, first: bool, now: Timestamp) -> bool {
    let cfg = &d.config;
    let counted = c.channel == Channel::Sms && guard::counts(cfg, &c.to);
    let Some(cc) = c.country.filter(|_| counted) else { return false };
    let review = guard::Review { store: &*d.store, metrics: &*d.metrics, cfg };
    review.after_send(&c.to, cc, now, first).await.unwrap_or_else(|e| {
        tracing::warn!(error = %chain(&e), "the SMS guard could not review a send");
        false
    })
}

/// Whether `to` is a test destination: it is never sent anything.
fn is_test(cfg: &Config, channel: Channel, to: &str) -> bool {
    cfg.test_destinations.code(channel, to).is_some()
}

/// Security notices one address is sent in an hour; later ones that hour
/// are dropped (the first ones already told the owner to look).
const NOTICES_PER_ADDRESS_HOUR: u32 = 3;

/// Sends a claimed security notice and settles it. Nothing to refund: a
/// notice that fails for good is only marked failed. A notice is spend
/// like any message: at most `NOTICES_PER_ADDRESS_HOUR` an hour to one
/// address, and a text message only to an allowed country and within the
/// day's SMS budgets (else it is dropped; the account's other addresses
/// are told all the same).
async fn deliver_notice(
    d: &Deliverer,
    m: &OutgoingMessage,
    n: &Notice,
    now: Timestamp,
) -> Result<Delivered, DeliverError> {
    let mut taken = Vec::new();
    let outcome = send_notice(d, m, n, now, &mut taken).await;
    let result = match &outcome {
        Ok(result) => *result,
        Err(_) => DeliveryResult::Retried,
    };
    d.metrics.record(Metric::Notice { channel: n.channel, outcome: result });
    match outcome {
        Ok(result) => Ok(Delivered::Done(result)),
        Err(e) => {
            // Not sent: what it took goes back, and the retry takes it again.
            d.store.refund(&taken).await.map_err(Fault::Store)?;
            d.store.release_message(&m.id).await?;
            Err(e)
        }
    }
}

/// Publishes a claimed account event and settles it; a transient failure
/// gives it back to be tried again (under the same id) whenever the stream
/// retries it, a permanent one marks it failed.
async fn publish_event(
    d: &Deliverer,
    m: &OutgoingMessage,
    event: &EventRecord,
) -> Result<Delivered, DeliverError> {
    if event.account_id.is_empty() {
        // A failed login at an address without an account: nothing to tell.
        d.store.settle_message(&m.id).await?;
        return Ok(Delivered::Done(DeliveryResult::Silent));
    }
    match d.events.publish(&event.published(&m.id)).await {
        Ok(()) => {
            d.store.settle_message(&m.id).await?;
            tracing::info!(message_id = %m.id, event = event.event.as_str(), "event published");
            Ok(Delivered::Done(DeliveryResult::Delivered))
        }
        // A transient failure is tried again for as long as the stream
        // retries the record (then it goes to the dead-letter queue, the
        // message still pending in the table): an event is not given up
        // after `DELIVERY_MAX_ATTEMPTS` as a message is.
        Err(e) if e.permanent => {
            log_failure(m, &e, "gave up on an event");
            d.store.fail_message(&m.id, None, &[]).await?;
            Ok(Delivered::Done(DeliveryResult::Failed))
        }
        Err(e) => {
            log_failure(m, &e, "an event will be tried again");
            d.store.release_message(&m.id).await?;
            Err(DeliverError::Retry { attempts: m.attempts })
        }
    }
}

/// `deliver_notice`'s work; `taken` collects the counters it took.
async fn send_notice(
    d: &Deliverer,
    m: &OutgoingMessage,
    n: &Notice,
    now: Timestamp,
    taken: &mut Vec<Counter>,
) -> Result<DeliveryResult, DeliverError> {
    if now >= m.expires_at {
        tracing::warn!(message_id = %m.id, "a notice expired before it went out");
        d.store.fail_message(&m.id, None, &[]).await?;
        return Ok(DeliveryResult::Failed);
    }
    if d.store.is_suppressed(&n.address_key()).await? {
        d.store.settle_message(&m.id).await?;
        return Ok(DeliveryResult::Suppressed);
    }
    if is_test(&d.config, n.channel, &n.to) {
        d.store.settle_message(&m.id).await?;
        return Ok(DeliveryResult::Silent);
    }
    let Some(country) = admit_notice(d, n, now, taken).await? else {
        d.store.settle_message(&m.id).await?;
        return Ok(DeliveryResult::Silent);
    };
    match d.delivery.send(&n.render(&d.config.app_name)?).await {
        Ok(()) => {
            d.store.settle_message(&m.id).await?;
            if let Some(country) = country {
                d.metrics.record(Metric::SmsSent { country });
            }
            taken.clear();
            Ok(DeliveryResult::Delivered)
        }
        Err(e) if e.permanent || m.attempts >= d.config.delivery_max_attempts => {
            log_failure(m, &e, "gave up on a notice");
            d.store.fail_message(&m.id, None, taken).await?;
            taken.clear();
            Ok(DeliveryResult::Failed)
        }
        Err(e) => {
            log_failure(m, &e, "the provider failed; the notice will be tried again");
            Err(DeliverError::Retry { attempts: m.attempts })
        }
    }
}

/// Takes what a notice spends: the address's hourly slot and, for a text
/// message, one from the day's SMS budgets (to an allowed country only).
/// `Some(country)` (`None` inside for an email) when it may go, with what it
/// took in `taken`; `None` when it is dropped, with nothing taken.
async fn admit_notice(
    d: &Deliverer,
    n: &Notice,
    now: Timestamp,
    taken: &mut Vec<Counter>,
) -> Result<Option<Option<u16>>, DeliverError> {
    let hour = now.div_euclid(3600);
    let slot = Counter {
        key: format!("notice|{}|{hour}", n.address_key()),
        kind: LimitKind::Notices,
        limit: NOTICES_PER_ADDRESS_HOUR,
        expires_at: (hour + 1) * 3600,
    };
    let country = match (n.channel, calling_code(&n.to)) {
        (Channel::Sms, Some(cc)) => Some(cc),
        // A stored number without a country code has no country to allow.
        (Channel::Sms, None) => return Ok(None),
        (Channel::Email, _) => None,
    };
    let allowed = d.config.sms_allowed_country_codes.as_ref();
    if country.is_some_and(|cc| allowed.is_some_and(|a| !a.contains(&cc))) {
        return Ok(None);
    }
    match d.store.increment(&slot, now).await.map_err(Fault::Store)? {
        CountOutcome::Counted { .. } => taken.push(slot),
        CountOutcome::LimitReached { .. } => return Ok(None),
    }
    if let Some(cc) = country {
        let spent = sms::take_sms(&*d.store, &*d.random, &d.config, cc, now).await;
        match spent.map_err(|e| Fault::internal("sms budget", e))? {
            Some(shards) => taken.extend(shards),
            None => {
                d.store.refund(taken).await.map_err(Fault::Store)?;
                taken.clear();
                return Ok(None);
            }
        }
    }
    Ok(Some(country))
}

/// Sends a claimed message and settles it; `Err` leaves it to be released.
async fn send(
    d: &Deliverer,
    m: &OutgoingMessage,
    c: &Contents,
    now: Timestamp,
) -> Result<DeliveryResult, DeliverError> {
    if now >= c.code_expires_at {
        tracing::warn!(message_id = %m.id, "the code expired before its message went out");
        return give_up(d, m, c).await;
    }
    if is_test(&d.config, c.channel, &c.to) {
        tracing::info!(message_id = %m.id, "a test destination: nothing is sent");
        d.store.settle_message(&m.id).await?;
        return Ok(DeliveryResult::Silent);
    }
    let key = c.address_key();
    let (suppressed, decided) =
        tokio::join!(d.store.is_suppressed(&key), what_goes_out(d, c, &key));
    if suppressed? {
        d.store.settle_message(&m.id).await?;
        return Ok(DeliveryResult::Suppressed);
    }
    let (mut kind, locale) = decided?;
    let mut notice_slot = None;
    if kind == Kind::BindAttempt {
        // One such notice an hour per address: told within it, say nothing.
        match bind_notice_slot(d, &key, now).await? {
            Some(slot) => notice_slot = Some(slot),
            None => kind = Kind::Silent,
        }
    }
    // A silent message asks the provider without sending, so an outage
    // treats it as it treats a real one.
    let webotp = d.config.webotp_domain.as_deref();
    let app = &d.config.app_name;
    let handed = match c.render(kind, app, locale.as_deref(), webotp, &d.templates)? {
        Some(message) => d.delivery.send(&message).await,
        None => d.delivery.probe(c.channel, &c.to).await,
    };
    match handed {
        Ok(()) => {
            d.store.settle_message(&m.id).await?;
            if kind == Kind::Silent {
                return Ok(DeliveryResult::Silent);
            }
            if let Some(country) = c.country {
                d.metrics.record(Metric::SmsSent { country });
            }
            Ok(DeliveryResult::Delivered)
        }
        Err(e) if e.permanent || m.attempts >= d.config.delivery_max_attempts => {
            log_failure(m, &e, "gave up on a message");
            give_up(d, m, c).await
        }
        Err(e) => {
            log_failure(m, &e, "the provider failed; the message will be tried again");
            if let Some(slot) = notice_slot {
                // Not told yet: the retry takes the hour's slot again.
                d.store.refund(&[slot]).await.map_err(Fault::Store)?;
            }
            Err(DeliverError::Retry { attempts: m.attempts })
        }
    }
}

/// What the message is, by who owns the address now (the request that
/// stored it never looked), and the locale of the owner's or the caller's
/// account where the request named none and there is something to write.
/// The message's suppression is read beside these reads, so a delivery
/// reads once before it sends.
async fn what_goes_out(
    d: &Deliverer,
    c: &Contents,
    key: &str,
) -> Result<(Kind, Option<String>), DeliverError> {
    let wants_owner = kind::owner_decides(c.purpose) || c.owners_locale;
    let callers = c.caller.as_deref().filter(|_| c.callers_locale);
    // Both reads go out together: one round trip.
    let (owner, caller) = tokio::join!(
        async {
            match wants_owner {
                true => d.store.account_by_address(key).await,
                false => Ok(None),
            }
        },
        async {
            match callers {
                Some(id) => d.store.get_account(id).await,
                None => Ok(None),
            }
        },
    );
    let (owner, caller) = (owner?, caller?);
    let owner_id = owner.as_ref().map(|a| a.id.as_str());
    let kind = kind::what_goes_out(c.purpose, owner_id, c.caller.as_deref());
    if kind == Kind::Silent {
        return Ok((kind, None));
    }
    let locale = match callers {
        Some(_) => caller.and_then(|a| a.locale),
        None => owner.and_then(|a| a.locale).filter(|_| c.owners_locale),
    };
    Ok((kind, locale))
}

/// The hour's slot for the "another account tried to add your address"
/// notice to `key`, if it is free: at most one such notice an hour per
/// address, however many accounts try. `None`: told within the hour.
async fn bind_notice_slot(
    d: &Deliverer,
    key: &str,
    now: Timestamp,
) -> Result<Option<Counter>, DeliverError> {
    let hour = now.div_euclid(3600);
    let counter = Counter {
        key: format!("bind-notice|{key}|{hour}"),
        kind: LimitKind::BindSends,
        limit: 1,
        expires_at: (hour + 1) * 3600,
    };
    let counted = d.store.increment(&counter, now).await.map_err(Fault::Store)?;
    Ok(matches!(counted, CountOutcome::Counted { .. }).then_some(counter))
}

fn log_failure(m: &OutgoingMessage, e: &DeliveryError, what: &str) {
    tracing::warn!(
        message_id = %m.id,
        attempts = m.attempts,
        permanent = e.permanent,
        error = %chain(e),
        "{what}"
    );
}

fn record(d: &Deliverer, c: &Contents, outcome: DeliveryResult) {
    d.metrics.record(Metric::Delivery { channel: c.channel, purpose: c.purpose, outcome });
    if outcome == DeliveryResult::Failed && !kind::owner_decides(c.purpose) {
        d.metrics.record(Metric::Delivery {
            channel: c.channel,
            purpose: c.purpose,
            outcome: DeliveryResult::Refunded,
        });
    }
}

/// Fails the message for good, once: for a purpose without decoys
/// (`verify`, `confirm`) its code is disabled, its send taken out of the
/// destination's window and its counters refunded, in one transaction
/// with the message's own state; for one with decoys, only the message.
async fn give_up(
    d: &Deliverer,
    m: &OutgoingMessage,
    c: &Contents,
) -> Result<DeliveryResult, DeliverError> {
    if kind::owner_decides(c.purpose) {
        // A purpose with decoys: a decoy asks the provider only whether it
        // is up, so a provider that refuses real sends but answers probes
        // would fail only the real ones. Their code and counts stay as a
        // decoy's do, so nothing afterwards tells the two apart.
        d.store.fail_message(&m.id, None, &[]).await?;
        return Ok(DeliveryResult::Failed);
    }
    let done = retry::run(|| async {
        let now = d.clock.now();
        let old = d.store.load_destination(&c.record_key, now).await?;
        let new = without_send(d, &old, c);
        let record = new.as_ref().map(|r| (r, old.version));
        Ok::<_, DeliverError>(match d.store.fail_message(&m.id, record, &c.refunds).await? {
            FailOutcome::Committed | FailOutcome::NotClaimed => Attempt::Done(()),
            FailOutcome::Conflict => Attempt::Retry,
        })
    })
    .await?;
    if done.is_none() {
        return Err(DeliverError::Retry { attempts: m.attempts });
    }
    Ok(DeliveryResult::Failed)
}

/// The record without this message's send and, if it still holds this
/// message's code, without the code; `None` when neither is there.
fn without_send(d: &Deliverer, old: &DestRecord, c: &Contents) -> Option<DestRecord> {
    let mut new = old.clone();
    let sent = new.sends.iter().position(|&t| t == c.sent_at);
    if let Some(i) = sent {
        new.sends.remove(i);
    }
    let holds_code = old
        .code
        .as_ref()
        .and_then(|code| d.keys.open_code(&c.record_key, &code.sealed))
        .is_some_and(|plain| plain == c.code);
    if holds_code {
        new.code = None;
    }
    if sent.is_none() && !holds_code {
        return None;
    }
    new.version = old.version + 1;
    Some(new)
}
