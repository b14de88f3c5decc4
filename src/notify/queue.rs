//! The persisted notification queue: one [`Pending`] record per (receiver, event),
//! holding the exact body bytes (so every retry sends, and signs, the same bytes) and
//! the delivery id, attempts and next-attempt time.
//!
//! Records name their receiver by URL, not by position, so a config edited between a
//! restart and the delivery never sends a notification to another receiver.

use super::{url_label, Event, NotifyTarget};
use crate::money::format_2dp;
use crate::store::{Store, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use std::sync::Arc;

/// One notification for one receiver, as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct Pending {
    /// Unique per notification and receiver; the same on every retry.
    pub(super) delivery_id: String,
    pub(super) target_url: String,
    /// The event name (also in the body), for the `X-Autoinvest-Event` header.
    pub(super) event: String,
    /// The JSON body, byte for byte what is sent and signed.
    pub(super) body: String,
    pub(super) created_at: DateTime<Utc>,
    /// Failed attempts so far.
    pub(super) attempts: u32,
    pub(super) next_attempt_at: DateTime<Utc>,
}

impl Pending {
    /// `host[:port]` of the receiver, for logs and metrics.
    pub(super) fn target_label(&self) -> String {
        reqwest::Url::parse(&self.target_url)
            .map(|url| url_label(&url))
            .unwrap_or_else(|_| "unknown".to_string())
    }
}

/// The body's wire shape; fields that do not apply are left out.
#[derive(serde::Serialize)]
struct Body<'e> {
    event: &'static str,
    at: String,
    dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    strategy: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    opportunity_id: Option<&'e str>,
    /// A string with two decimals: JSON numbers are floats to most receivers.
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<String>,
    message: String,
}

/// The JSON body of `event`. A dry run says so twice, in `dry_run` and in the message,
/// because a bare "invested $25" email about a dry run misleads whoever reads it.
pub(super) fn render_body(event: &Event, dry_run: bool, at: DateTime<Utc>) -> String {
    let message = if dry_run {
        format!("[dry run] {}", event.message)
    } else {
        event.message.clone()
    };
    let body = Body {
        event: event.kind.name(),
        at: at.to_rfc3339_opts(SecondsFormat::Millis, true),
        dry_run,
        platform: event.platform.as_deref(),
        strategy: event.strategy.as_deref(),
        opportunity_id: event.opportunity_id.as_deref(),
        amount: event.amount.map(format_2dp),
        message,
    };
    // A struct of strings and a bool always serializes; the fallback is unreachable
    // but keeps this path free of panics.
    serde_json::to_string(&body).unwrap_or_else(|_| String::from("{}"))
}

/// One record per receiver in `targets`, due now, each with a fresh delivery id.
pub(super) fn address(
    event: &Event,
    targets: &[&NotifyTarget],
    dry_run: bool,
    now: DateTime<Utc>,
) -> Vec<Pending> {
    let body = render_body(event, dry_run, now);
    targets
        .iter()
        .map(|target| Pending {
            delivery_id: new_delivery_id(),
            target_url: target.url.to_string(),
            event: event.kind.name().to_string(),
            body: body.clone(),
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
        })
        .collect()
}

/// 128 random bits: unique across restarts and across the live and dry-run stores,
/// which may notify the same receiver.
fn new_delivery_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The queue over the store's notification tree.
pub(super) struct Queue {
    store: Arc<Store>,
}

impl Queue {
    pub(super) fn new(store: Arc<Store>) -> Queue {
        Queue { store }
    }

    /// Writes `records` and flushes: once this returns they survive a crash.
    pub(super) fn push(&self, records: &[Pending]) -> Result<(), StoreError> {
        for record in records {
            self.put(record)?;
        }
        self.store.flush()
    }

    /// Stores a record's new attempt count and time. Not flushed: losing it to a crash
    /// only makes the next attempt come sooner.
    pub(super) fn put(&self, record: &Pending) -> Result<(), StoreError> {
        let value = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt {
            key: format!("notifications/{}", record.delivery_id),
            message: format!("cannot encode: {e}"),
        })?;
        self.store.put_notification(&record.delivery_id, &value)
    }

    /// Removes a delivered (or abandoned) record, flushed so a restart does not send it
    /// again.
    pub(super) fn remove(&self, delivery_id: &str) -> Result<(), StoreError> {
        self.store.remove_notification(delivery_id)?;
        self.store.flush()
    }

    /// Every record, oldest first. A record that cannot be read is removed and logged:
    /// unlike an order intent, forgetting a notification costs no money, and keeping it
    /// would stop every later one.
    pub(super) fn all(&self) -> Result<Vec<Pending>, StoreError> {
        let mut records = Vec::new();
        for (id, value) in self.store.notifications()? {
            match serde_json::from_slice::<Pending>(&value) {
                Ok(record) => records.push(record),
                Err(error) => {
                    tracing::error!(delivery_id = %id, %error, "unreadable queued notification; removing it");
                    self.store.remove_notification(&id)?;
                }
            }
        }
        records.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.delivery_id.cmp(&b.delivery_id))
        });
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::EventKind;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap()
    }

    #[test]
    fn body_has_the_documented_shape_and_leaves_out_what_does_not_apply() {
        let event = Event::new(EventKind::OrderPlaced, "bought L1")
            .platform("fc")
            .strategy("prime-loans")
            .opportunity("L1")
            .amount(dec!(25));
        assert_eq!(
            render_body(&event, false, at()),
            r#"{"event":"order_placed","at":"2026-03-04T05:06:07.000Z","dry_run":false,"platform":"fc","strategy":"prime-loans","opportunity_id":"L1","amount":"25.00","message":"bought L1"}"#
        );
        let event = Event::new(EventKind::PlatformDown, "fc unreachable");
        assert_eq!(
            render_body(&event, true, at()),
            r#"{"event":"platform_down","at":"2026-03-04T05:06:07.000Z","dry_run":true,"message":"[dry run] fc unreachable"}"#
        );
    }

    #[test]
    fn each_receiver_gets_its_own_delivery_id_and_the_same_body() {
        let target = |url: &str| NotifyTarget {
            url: reqwest::Url::parse(url).unwrap(),
            events: EventKind::ALL.into_iter().collect(),
            secret: None,
            timeout: std::time::Duration::from_secs(1),
        };
        let (a, b) = (target("http://a.example/"), target("http://b.example/"));
        let event = Event::new(EventKind::Test, "hello");
        let records = address(&event, &[&a, &b], false, at());
        assert_eq!(records.len(), 2);
        assert_ne!(records[0].delivery_id, records[1].delivery_id);
        assert_eq!(records[0].delivery_id.len(), 32);
        assert_eq!(records[0].body, records[1].body);
        assert_eq!(
            (records[0].target_label(), records[1].target_label()),
            ("a.example".to_string(), "b.example".to_string())
        );
        assert_eq!((records[0].attempts, records[0].next_attempt_at), (0, at()));
    }

    #[test]
    fn unreadable_records_are_dropped_not_blocking() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        store.put_notification("broken", b"{nope").unwrap();
        let queue = Queue::new(store.clone());
        let event = Event::new(EventKind::Test, "hello");
        let target = NotifyTarget {
            url: reqwest::Url::parse("http://a.example/").unwrap(),
            events: EventKind::ALL.into_iter().collect(),
            secret: None,
            timeout: std::time::Duration::from_secs(1),
        };
        queue
            .push(&address(&event, &[&target], false, at()))
            .unwrap();
        let records = queue.all().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(store.notifications().unwrap().len(), 1);
        queue.remove(&records[0].delivery_id).unwrap();
        assert!(queue.all().unwrap().is_empty());
    }
}
