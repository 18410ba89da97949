//! The transactional outbox: messages for other systems are stored with the change
//! that causes them, then leased, delivered and settled by background work on any
//! instance. Delivery is at least once; the receiver deduplicates by `dedup_key`, so
//! in effect every message arrives exactly once.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::backend::{TimelineInsert, Tx};
use crate::records::EventRef;
use crate::{Store, StoreError, in_tx};

/// Topic of matters handed to 110 (D3).
pub const TOPIC_110: &str = "exchange_110.transfer";
/// Text messages to reporters (the rating link, see `feedback`); an SMS gateway
/// connector delivers them. Payload: `phone`, `text`, `message_id`.
pub const TOPIC_SMS: &str = "sms";
/// Dispatches of 综合执法 events, for the province's mobile law-enforcement
/// platform (H8); docs/connectors.md.
pub const TOPIC_LAW_ENFORCEMENT: &str = "province.law_enforcement";
/// Dispatches of 市场监管 events, for the province's "Internet + supervision"
/// platform (互联网+监管, H8); docs/connectors.md.
pub const TOPIC_MARKET_SUPERVISION: &str = "province.market_supervision";

/// The province platform that follows events of a platform (四平台) up, if any.
pub fn province_topic(platform: zhili_domain::Platform) -> Option<&'static str> {
    match platform {
        zhili_domain::Platform::LawEnforcement => Some(TOPIC_LAW_ENFORCEMENT),
        zhili_domain::Platform::MarketSupervision => Some(TOPIC_MARKET_SUPERVISION),
        _ => None,
    }
}

/// A dispatch the province's platform must know of goes into the outbox with it.
/// The province needs the case, not the citizen: no reporter name or phone, and
/// phone and ID numbers inside the text masked. Each dispatch is its own message
/// (a re-dispatch after a return is news there too), keyed by the event's version.
pub(crate) async fn to_province<T: Tx>(
    tx: &mut T,
    pii: &crate::pii::Pii,
    row: &crate::backend::EventRow,
    lead_unit: zhili_domain::OrgId,
    handle_due_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(code) = &row.category_code else {
        return Ok(());
    };
    let Some((category, _)) = crate::reference::category_by_code(tx, code).await? else {
        return Ok(());
    };
    let Some(topic) = province_topic(category.platform) else {
        return Ok(());
    };
    let unit = crate::reference::org_by_id(tx, lead_unit).await?;
    let message_id = format!("zhili-{}-{}-d{}", topic, row.number, row.version + 1);
    let payload = serde_json::json!({
        "message_id": message_id,
        "event_number": row.number,
        "platform": category.platform.code(),
        "category": { "code": category.code, "name": category.name },
        "text": zhili_domain::mask_in_text(&row.text),
        "address": row.address,
        "location": match (row.lon, row.lat) {
            (Some(lon), Some(lat)) => serde_json::json!({ "lon": lon, "lat": lat, "crs": "wgs84" }),
            _ => serde_json::Value::Null,
        },
        "township": row.township_name,
        "lead_unit": unit.map(|u| serde_json::json!({ "code": u.code, "name": u.name })),
        "reported_at": row.reported_at,
        "dispatched_at": now,
        "handle_due_at": handle_due_at,
    });
    enqueue(tx, pii, topic, &message_id, Some(row.id), &payload, now).await
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: i64,
    pub topic: String,
    pub dedup_key: String,
    pub event_id: Option<i64>,
    pub payload: serde_json::Value,
    /// Delivery attempts before this one.
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
}

/// How the outbound channels are doing, for the command room.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxHealth {
    pub pending: i64,
    /// Pending messages that have failed at least once.
    pub failing: i64,
    pub oldest_pending: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// Queues a message; its payload is sealed at rest, as it carries phone numbers
/// and reporters' names (see `pii`).
pub(crate) async fn enqueue<T: Tx>(
    tx: &mut T,
    pii: &crate::pii::Pii,
    topic: &str,
    dedup_key: &str,
    event_id: Option<i64>,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let sealed = pii.seal(crate::pii::Field::OutboxPayload, &payload.to_string());
    tx.insert_outbox(topic, dedup_key, event_id, &sealed, now)
        .await?;
    Ok(())
}

/// What the timeline says when a message about an event has been received.
fn receipt_entry(topic: &str) -> Option<(&'static str, &'static str)> {
    match topic {
        TOPIC_110 => Some(("ack_110", "110 已接收")),
        _ => None,
    }
}

impl Store {
    /// Leases due messages of `topic` to `owner` for `lease`; another instance takes
    /// them over only after the lease runs out (when this one died mid-delivery).
    /// By topic, so that an instance leases only what it has a connector for, and
    /// messages for a receiver not configured yet wait instead of failing.
    pub async fn lease_outbox(
        &self,
        owner: &str,
        topic: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = in_tx!(self, Write, |tx| tx
            .lease_outbox(owner, topic, now, now + lease, limit)
            .await
            .map_err(StoreError::from))?;
        let pii = self.pii()?;
        rows.into_iter()
            .map(|r| {
                let payload = pii.open(crate::pii::Field::OutboxPayload, &r.payload)?;
                Ok(OutboxMessage {
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| StoreError::Corrupt(format!("outbox {}: {e}", r.id)))?,
                    id: r.id,
                    topic: r.topic,
                    dedup_key: r.dedup_key,
                    event_id: r.event_id,
                    attempts: r.attempts,
                    created_at: r.created_at,
                })
            })
            .collect()
    }

    /// Settles a delivered message and notes the receipt on the event's timeline, in
    /// one transaction. False when the lease was lost (another instance took over).
    pub async fn outbox_delivered(
        &self,
        msg: &OutboxMessage,
        owner: &str,
        receipt: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        in_tx!(self, Write, |tx| {
            let changed = tx.outbox_done(msg.id, owner, receipt, now).await?;
            if changed == 1
                && let (Some(event_id), Some((action, label))) =
                    (msg.event_id, receipt_entry(&msg.topic))
            {
                let status: Option<String> = tx
                    .events_where({
                        let mut q = crate::sql::Sql::new("WHERE e.id = ");
                        q.arg(crate::sql::Arg::I64(event_id));
                        q
                    })
                    .await?
                    .into_iter()
                    .next()
                    .map(|r| r.status);
                if let Some(status) = status {
                    tx.insert_timeline(&TimelineInsert {
                        event_id,
                        at: now,
                        actor_id: None,
                        actor_name: "系统".into(),
                        action: action.into(),
                        from_status: Some(status.clone()),
                        to_status: status,
                        note: Some(format!("{label}，回执 {receipt}")),
                        data: None,
                    })
                    .await?;
                }
            }
            Ok::<bool, StoreError>(changed == 1)
        })
    }

    /// Records a failed attempt and when to try again.
    pub async fn outbox_failed(
        &self,
        msg: &OutboxMessage,
        owner: &str,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let error: String = error.chars().take(500).collect();
        in_tx!(self, Write, |tx| tx
            .outbox_retry(msg.id, owner, &error, next_attempt_at)
            .await
            .map(|_| ())
            .map_err(StoreError::from))
    }

    /// The pending messages' counts, city-wide or (`township`) of that township's
    /// events only.
    pub async fn outbox_health(&self, township: Option<i64>) -> Result<OutboxHealth, StoreError> {
        let r = in_tx!(self, Read, |tx| tx
            .outbox_health(township)
            .await
            .map_err(StoreError::from))?;
        Ok(OutboxHealth {
            pending: r.pending,
            failing: r.failing,
            oldest_pending: r.oldest_pending,
            last_error: r.last_error,
        })
    }
}

impl Store {
    /// The messages still to deliver, oldest first (at most `limit`), scoped as
    /// [`Store::outbox_health`]; `failing_only`: those that failed at least once.
    pub async fn pending_outbox(
        &self,
        township: Option<i64>,
        failing_only: bool,
        limit: i64,
    ) -> Result<Vec<PendingOutbox>, StoreError> {
        let rows = in_tx!(self, Read, |tx| tx
            .pending_outbox(township, failing_only, limit)
            .await
            .map_err(StoreError::from))?;
        Ok(rows
            .into_iter()
            .map(|r| PendingOutbox {
                id: r.id,
                event: EventRef::of(r.event_id, r.event_number),
                topic_label: topic_label(&r.topic),
                topic: r.topic,
                attempts: r.attempts,
                last_error: r.last_error,
                next_attempt_at: r.next_attempt_at,
                created_at: r.created_at,
            })
            .collect())
    }
}

/// The background work one instance has done, as the database records it: who
/// delivered each outbox message and whose sweep fired each deadline warning.
/// Instances are named by their worker (host and process id), so a restarted
/// process counts apart from the one that died.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceWork {
    pub instance: String,
    pub delivered: i64,
    pub warnings: i64,
}

impl Store {
    /// Every instance that has delivered a message or fired a warning, by name.
    pub async fn work_by_instance(&self) -> Result<Vec<InstanceWork>, StoreError> {
        let q = crate::sql::Sql::new(
            "SELECT instance, SUM(delivered) AS delivered, SUM(warnings) AS warnings FROM (\
             SELECT delivered_by AS instance, 1 AS delivered, 0 AS warnings FROM outbox \
             WHERE status = 'delivered' AND delivered_by IS NOT NULL \
             UNION ALL SELECT fired_by, 0, 1 FROM deadline_alerts WHERE fired_by IS NOT NULL\
             ) w GROUP BY instance ORDER BY instance",
        );
        let rows = in_tx!(self, Read, |tx| tx.rows::<(String, i64, i64)>(q).await)?;
        Ok(rows
            .into_iter()
            .map(|(instance, delivered, warnings)| InstanceWork {
                instance,
                delivered,
                warnings,
            })
            .collect())
    }
}

/// What a topic's messages go to, for people.
pub fn topic_label(topic: &str) -> &'static str {
    match topic {
        TOPIC_110 => "移交110",
        TOPIC_SMS => "短信",
        crate::warnings::TOPIC_EMAIL => "电子邮件",
        TOPIC_LAW_ENFORCEMENT => "省移动执法平台",
        TOPIC_MARKET_SUPERVISION => "省互联网+监管平台",
        _ => "其他接收方",
    }
}

/// One message still to deliver, as the command room sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingOutbox {
    pub id: i64,
    pub topic: String,
    pub topic_label: &'static str,
    pub event: Option<EventRef>,
    /// Failed attempts so far.
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Exponential back-off: 5 s, 10 s, 20 s … capped at 10 minutes, so an outage of an
/// hour costs a few dozen attempts and recovery is noticed within minutes.
pub fn backoff(attempts: i64) -> chrono::Duration {
    let secs = 5i64.saturating_mul(1i64 << attempts.clamp(0, 10));
    chrono::Duration::seconds(secs.min(600))
}
