//! Recurring problems and governance topics (D4; the "deep-seated problems" of O5).
//! Reports of one category that keep coming back to one place
//! ([`zhili_geo::RecurrenceRule`]: by default three within 30 days within 300 m) raise
//! an alert for the township's command room; the room opens a governance topic
//! (治理专题) that links the events and is closed only with its root cause. Detection
//! runs in the background work of any instance: an alert is unique by its earliest
//! event, and an event belongs to at most one alert, so two instances make one alert.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use zhili_domain::{Actor, EventText, GeoPoint, Role, Scope};
use zhili_geo::{RecurrenceRule, Sighting};

use crate::backend::{TimelineInsert, Tx};
use crate::chat::EventRef;
use crate::events::row_in_scope;
use crate::records::{AuditRecord, Coded, Named};
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

#[derive(Debug, Clone, Serialize)]
pub struct RecurringAlert {
    pub id: i64,
    pub category: Named,
    pub township: Named,
    /// open 待研判, dismissed 已排除, topic 已立专题.
    pub status: Coded,
    /// The middle of the cluster (WGS-84).
    pub location: GeoPoint,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub note: Option<String>,
    pub topic_id: Option<i64>,
    pub events: Vec<EventRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Topic {
    pub id: i64,
    pub alert_id: Option<i64>,
    pub title: String,
    /// open 治理中, closed 已化解.
    pub status: Coded,
    pub township: Named,
    pub category: Option<Named>,
    pub root_cause: Option<String>,
    pub measures: Option<String>,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub closed_by: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub events: Vec<EventRef>,
}

fn alert_status(code: &str) -> Coded {
    match code {
        "dismissed" => Coded {
            code: "dismissed",
            label: "已排除",
        },
        "topic" => Coded {
            code: "topic",
            label: "已立专题",
        },
        _ => Coded {
            code: "open",
            label: "待研判",
        },
    }
}

fn topic_status(code: &str) -> Coded {
    match code {
        "closed" => Coded {
            code: "closed",
            label: "已化解",
        },
        _ => Coded {
            code: "open",
            label: "治理中",
        },
    }
}

#[derive(sqlx::FromRow)]
struct SightRow {
    id: i64,
    category_id: i64,
    township_id: i64,
    lon: f64,
    lat: f64,
    reported_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    event_id: i64,
    alert_id: i64,
    status: String,
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    category_id: i64,
    category_code: String,
    category_name: String,
    township_id: i64,
    township_code: String,
    township_name: String,
    status: String,
    lon: f64,
    lat: f64,
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    note: Option<String>,
    topic_id: Option<i64>,
}

const ALERT_SELECT: &str = "SELECT a.id, a.category_id, c.code AS category_code, c.name AS category_name, \
 a.township_id, t.code AS township_code, t.name AS township_name, a.status, a.lon, a.lat, a.first_at, \
 a.last_at, a.created_at, a.note, g.id AS topic_id FROM recurring_alerts a \
 JOIN categories c ON c.id = a.category_id JOIN orgs t ON t.id = a.township_id \
 LEFT JOIN governance_topics g ON g.alert_id = a.id";

#[derive(sqlx::FromRow)]
struct TopicRow {
    id: i64,
    alert_id: Option<i64>,
    title: String,
    status: String,
    township_id: i64,
    township_code: String,
    township_name: String,
    category_id: Option<i64>,
    category_code: Option<String>,
    category_name: Option<String>,
    root_cause: Option<String>,
    measures: Option<String>,
    opened_by: String,
    opened_at: DateTime<Utc>,
    closed_by: Option<String>,
    closed_at: Option<DateTime<Utc>>,
}

const TOPIC_SELECT: &str = "SELECT g.id, g.alert_id, g.title, g.status, g.township_id, t.code AS township_code, \
 t.name AS township_name, g.category_id, c.code AS category_code, c.name AS category_name, g.root_cause, \
 g.measures, g.opened_by, g.opened_at, g.closed_by, g.closed_at FROM governance_topics g \
 JOIN orgs t ON t.id = g.township_id LEFT JOIN categories c ON c.id = g.category_id";

#[derive(sqlx::FromRow)]
struct LinkRow {
    owner: i64,
    id: i64,
    number: String,
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    id: i64,
    status: String,
}

fn ids(q: &mut Sql, ids: &[i64]) {
    q.list(ids.iter().map(|i| Arg::I64(*i)));
}

impl Store {
    /// Which reports make a recurring problem (three within 30 days within 300 m
    /// unless set).
    pub fn with_recurrence_rule(mut self, rule: RecurrenceRule) -> Self {
        self.recurrence = rule;
        self
    }

    /// One pass of detection at `now` over the reports of the last two windows: new
    /// clusters become alerts (with a notice to the township's command room), new
    /// reports at a known place join its alert (and its topic). Returns the number
    /// of new alerts.
    pub async fn detect_recurring(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let rule = self.recurrence;
        let since = now - Duration::seconds(rule.window_secs.saturating_mul(2));
        let mut q = Sql::new(
            "SELECT e.id, e.category_id, e.township_id, e.lon, e.lat, e.reported_at FROM events e \
             WHERE e.category_id IS NOT NULL AND e.lon IS NOT NULL AND e.lat IS NOT NULL AND e.reported_at >= ",
        );
        q.arg(Arg::Time(since))
            .push(" AND e.reported_at <= ")
            .arg(Arg::Time(now))
            .push(" AND e.status NOT IN ('rejected', 'transferred') ORDER BY e.id");
        let rows: Vec<SightRow> = in_tx!(self, Read, |tx| tx.rows(q).await)?;
        let mut groups: std::collections::BTreeMap<(i64, i64), Vec<&SightRow>> = Default::default();
        for r in &rows {
            groups
                .entry((r.category_id, r.township_id))
                .or_default()
                .push(r);
        }
        let mut created = 0;
        let pii = self.pii()?;
        for ((category, township), members) in groups {
            let sightings: Vec<Sighting> = members
                .iter()
                .map(|r| Sighting {
                    id: r.id,
                    at: (r.lon, r.lat),
                    time: r.reported_at.timestamp(),
                })
                .collect();
            for cluster in zhili_geo::clusters(&rule, &sightings) {
                let of: Vec<&SightRow> = members
                    .iter()
                    .copied()
                    .filter(|r| cluster.contains(&r.id))
                    .collect();
                let new = in_tx!(self, Write, |tx| {
                    record_cluster(&mut tx, pii, category, township, &of, now).await
                })?;
                created += usize::from(new);
            }
        }
        Ok(created)
    }

    pub fn recurring_for(&self, actor: &Actor) -> RecurringRepo<'_> {
        RecurringRepo {
            store: self,
            actor: actor.clone(),
        }
    }
}

/// Stores one cluster: a new alert (`true`), or its new reports added to the alert
/// that already holds some of them.
async fn record_cluster<T: crate::events::ActTx>(
    tx: &mut T,
    pii: &crate::pii::Pii,
    category: i64,
    township: i64,
    members: &[&SightRow],
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let member_ids: Vec<i64> = members.iter().map(|r| r.id).collect();
    let mut q = Sql::new(
        "SELECT ae.event_id, ae.alert_id, a.status FROM recurring_alert_events ae \
         JOIN recurring_alerts a ON a.id = ae.alert_id WHERE ae.event_id IN ",
    );
    ids(&mut q, &member_ids);
    let known: Vec<MemberRow> = tx.rows(q).await?;
    let newest = members
        .iter()
        .max_by_key(|r| (r.reported_at, r.id))
        .map(|r| r.id)
        .unwrap_or_default();
    let first = members.iter().map(|r| r.reported_at).min().unwrap_or(now);
    let last = members.iter().map(|r| r.reported_at).max().unwrap_or(now);
    if let Some(k) = known.first() {
        let alert = k.alert_id;
        let missing: Vec<i64> = member_ids
            .iter()
            .copied()
            .filter(|id| !known.iter().any(|m| m.event_id == *id))
            .collect();
        if missing.is_empty() {
            return Ok(false);
        }
        add_members(tx, alert, &missing).await?;
        let mut q = Sql::new("UPDATE recurring_alerts SET last_at = ");
        q.arg(Arg::Time(last))
            .push(" WHERE id = ")
            .arg(Arg::I64(alert));
        tx.exec(q).await?;
        let mut q = Sql::new(
            "INSERT INTO topic_events (topic_id, event_id) SELECT g.id, e.id FROM governance_topics g, events e \
             WHERE g.alert_id = ",
        );
        q.arg(Arg::I64(alert))
            .push(" AND g.status = 'open' AND e.id IN ");
        ids(&mut q, &missing);
        q.push(" ON CONFLICT DO NOTHING");
        tx.exec(q).await?;
        if k.status == "dismissed" {
            // It came back after being ruled out: the command room looks again.
            let mut q = Sql::new("UPDATE recurring_alerts SET status = 'open' WHERE id = ");
            q.arg(Arg::I64(alert));
            tx.exec(q).await?;
            notice(tx, pii, newest, alert, members.len(), true, now).await?;
        }
        return Ok(false);
    }
    let n = members.len() as f64;
    let lon = members.iter().map(|r| r.lon).sum::<f64>() / n;
    let lat = members.iter().map(|r| r.lat).sum::<f64>() / n;
    let anchor = member_ids.iter().copied().min().unwrap_or_default();
    let mut q = Sql::new(
        "INSERT INTO recurring_alerts (category_id, township_id, anchor_event_id, status, lon, lat, \
         first_at, last_at, created_at) VALUES (",
    );
    q.arg(Arg::I64(category))
        .push(", ")
        .arg(Arg::I64(township))
        .push(", ")
        .arg(Arg::I64(anchor))
        .push(", 'open', ")
        .arg(Arg::F64(Some(lon)))
        .push(", ")
        .arg(Arg::F64(Some(lat)))
        .push(", ")
        .arg(Arg::Time(first))
        .push(", ")
        .arg(Arg::Time(last))
        .push(", ")
        .arg(Arg::Time(now))
        .push(") ON CONFLICT DO NOTHING RETURNING id");
    let Some((alert,)) = tx.rows::<(i64,)>(q).await?.into_iter().next() else {
        return Ok(false);
    };
    add_members(tx, alert, &member_ids).await?;
    notice(tx, pii, newest, alert, members.len(), false, now).await?;
    tx.insert_audit(&AuditRecord {
        at: now,
        actor: crate::Acting::system(crate::warnings::SWEEP_ACTOR),
        action: "recurring.detect".into(),
        object_type: "recurring_alert",
        object_id: Some(alert.to_string()),
        detail: Some(serde_json::json!({ "events": member_ids })),
    })
    .await?;
    Ok(true)
}

async fn add_members<T: Tx>(tx: &mut T, alert: i64, events: &[i64]) -> Result<(), StoreError> {
    let mut q = Sql::new("INSERT INTO recurring_alert_events (alert_id, event_id) VALUES ");
    q.rows(events.iter().map(|e| [Arg::I64(alert), Arg::I64(*e)]));
    q.push(" ON CONFLICT DO NOTHING");
    tx.exec(q).await?;
    Ok(())
}

async fn notice<T: crate::events::ActTx>(
    tx: &mut T,
    pii: &crate::pii::Pii,
    newest: i64,
    alert: i64,
    count: usize,
    again: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(row) = row_in_scope(tx, Scope::ALL, newest).await? else {
        return Ok(());
    };
    let what = row
        .category_name
        .clone()
        .unwrap_or_else(|| "同类问题".into());
    let title = if again {
        format!("【反复发生】已排除的「{what}」问题又有新的反映")
    } else {
        format!("【反复发生】「{what}」同一地点已反映 {count} 次")
    };
    let body = format!(
        "{}同一地点反复出现「{what}」问题（预警 {alert}），最近一次为事件 {}。请研判是否立为治理专题、查找根源。",
        row.township_name, row.number
    );
    let n = crate::warnings::NewNotification {
        event_id: Some(row.id),
        // The township of the cluster, which is the newest report's.
        org_id: row.township_id,
        kind: "recurring",
        title,
        body,
        at: now,
    };
    crate::warnings::notify(tx, pii, &n).await
}

/// Recurring alerts and topics for one actor: the township's command room sees its
/// own, the city and oversight all; only operators change them.
pub struct RecurringRepo<'a> {
    store: &'a Store,
    actor: Actor,
}

impl RecurringRepo<'_> {
    fn township_filter(&self, column: &'static str) -> Result<Sql, StoreError> {
        let mut q = Sql::default();
        match (self.actor.role, self.actor.org_id) {
            (Role::Admin | Role::CityOperator | Role::CityLeader | Role::Oversight, _) => {
                q.push("1 = 1");
            }
            (Role::TownshipOperator, Some(t)) => {
                q.push(column).push(" = ").arg(Arg::I64(t.0));
            }
            _ => return Err(StoreError::invalid("role", "无权查看反复发生的问题")),
        }
        Ok(q)
    }

    fn may_change(&self, township: i64) -> bool {
        match self.actor.role {
            Role::CityOperator => true,
            Role::TownshipOperator => self.actor.org_id.is_some_and(|o| o.0 == township),
            _ => false,
        }
    }

    pub fn may_read(actor: &Actor) -> bool {
        matches!(
            actor.role,
            Role::Admin | Role::CityOperator | Role::CityLeader | Role::Oversight
        ) || (actor.role == Role::TownshipOperator && actor.org_id.is_some())
    }

    pub async fn alerts(&self, status: Option<&str>) -> Result<Vec<RecurringAlert>, StoreError> {
        let mut q = Sql::new(ALERT_SELECT);
        q.push(" WHERE ");
        q.append(self.township_filter("a.township_id")?);
        if let Some(s) = status {
            q.push(" AND a.status = ").arg(Arg::Text(s.into()));
        }
        q.push(" ORDER BY a.last_at DESC, a.id DESC LIMIT 500");
        self.load_alerts(q).await
    }

    async fn load_alerts(&self, q: Sql) -> Result<Vec<RecurringAlert>, StoreError> {
        in_tx!(self.store, Read, |tx| {
            let rows: Vec<AlertRow> = tx.rows(q).await?;
            alerts_with_events(&mut tx, rows).await
        })
    }

    pub async fn alert(&self, id: i64) -> Result<RecurringAlert, StoreError> {
        let mut q = Sql::new(ALERT_SELECT);
        q.push(" WHERE a.id = ").arg(Arg::I64(id)).push(" AND ");
        q.append(self.township_filter("a.township_id")?);
        self.load_alerts(q).await?.pop().ok_or(StoreError::NotFound)
    }

    /// Rules an alert out (not one problem after all), with the reason.
    pub async fn dismiss(
        &self,
        id: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<RecurringAlert, StoreError> {
        let note = EventText::parse_max(note, 2_000)
            .map_err(|e| StoreError::invalid("note", e.to_string()))?;
        let alert = self.alert(id).await?;
        if !self.may_change(alert.township.id) {
            return Err(StoreError::invalid("role", "无权处理该预警"));
        }
        if alert.status.code != "open" {
            return Err(StoreError::invalid(
                "status",
                format!("该预警{}，不能排除", alert.status.label),
            ));
        }
        let by = crate::Acting::from(&self.actor);
        let store = self.store;
        in_tx!(store, Write, |tx| {
            let mut q = Sql::new("UPDATE recurring_alerts SET status = 'dismissed', note = ");
            q.arg(Arg::Text(note.as_str().into()))
                .push(", handled_by = ")
                .arg(Arg::Text(by.name.clone()))
                .push(", handled_at = ")
                .arg(Arg::Time(now))
                .push(" WHERE id = ")
                .arg(Arg::I64(id));
            tx.exec(q).await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: "recurring.dismiss".into(),
                object_type: "recurring_alert",
                object_id: Some(id.to_string()),
                detail: None,
            })
            .await?;
            Ok::<_, StoreError>(())
        })?;
        self.alert(id).await
    }

    /// Opens a governance topic from an alert: its events are linked (each with a
    /// timeline entry) and it is tracked until closed with its root cause.
    pub async fn open_topic(
        &self,
        alert_id: i64,
        title: &str,
        now: DateTime<Utc>,
    ) -> Result<Topic, StoreError> {
        let title = EventText::parse_max(title, 200)
            .map_err(|e| StoreError::invalid("title", e.to_string()))?;
        let alert = self.alert(alert_id).await?;
        if !self.may_change(alert.township.id) {
            return Err(StoreError::invalid("role", "无权立治理专题"));
        }
        if alert.topic_id.is_some() {
            return Err(StoreError::Duplicate {
                field: "alert_id".into(),
            });
        }
        let by = crate::Acting::from(&self.actor);
        let events: Vec<i64> = alert.events.iter().map(|e| e.id).collect();
        let store = self.store;
        let id = in_tx!(store, Write, |tx| {
            let mut q = Sql::new(
                "INSERT INTO governance_topics (alert_id, township_id, category_id, title, status, opened_by, opened_at) VALUES (",
            );
            q.arg(Arg::I64(alert_id))
                .push(", ")
                .arg(Arg::I64(alert.township.id))
                .push(", ")
                .arg(Arg::I64(alert.category.id))
                .push(", ")
                .arg(Arg::Text(title.as_str().into()))
                .push(", 'open', ")
                .arg(Arg::Text(by.name.clone()))
                .push(", ")
                .arg(Arg::Time(now))
                .push(") ON CONFLICT DO NOTHING RETURNING id");
            let Some((id,)) = tx.rows::<(i64,)>(q).await?.into_iter().next() else {
                return Err(StoreError::Duplicate {
                    field: "alert_id".into(),
                });
            };
            let mut q = Sql::new("INSERT INTO topic_events (topic_id, event_id) VALUES ");
            q.rows(events.iter().map(|e| [Arg::I64(id), Arg::I64(*e)]));
            tx.exec(q).await?;
            let mut q = Sql::new("UPDATE recurring_alerts SET status = 'topic', handled_by = ");
            q.arg(Arg::Text(by.name.clone()))
                .push(", handled_at = ")
                .arg(Arg::Time(now))
                .push(" WHERE id = ")
                .arg(Arg::I64(alert_id));
            tx.exec(q).await?;
            on_events(
                &mut tx,
                &events,
                &by,
                "topic_link",
                &format!("纳入治理专题「{}」", title.as_str()),
                now,
            )
            .await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: "topic.open".into(),
                object_type: "governance_topic",
                object_id: Some(id.to_string()),
                detail: Some(serde_json::json!({ "alert": alert_id, "events": events })),
            })
            .await?;
            Ok::<_, StoreError>(id)
        })?;
        self.topic(id).await
    }

    pub async fn topics(&self, status: Option<&str>) -> Result<Vec<Topic>, StoreError> {
        let mut q = Sql::new(TOPIC_SELECT);
        q.push(" WHERE ");
        q.append(self.township_filter("g.township_id")?);
        if let Some(s) = status {
            q.push(" AND g.status = ").arg(Arg::Text(s.into()));
        }
        q.push(" ORDER BY g.opened_at DESC, g.id DESC LIMIT 500");
        self.load_topics(q).await
    }

    async fn load_topics(&self, q: Sql) -> Result<Vec<Topic>, StoreError> {
        in_tx!(self.store, Read, |tx| {
            let rows: Vec<TopicRow> = tx.rows(q).await?;
            topics_with_events(&mut tx, rows).await
        })
    }

    pub async fn topic(&self, id: i64) -> Result<Topic, StoreError> {
        let mut q = Sql::new(TOPIC_SELECT);
        q.push(" WHERE g.id = ").arg(Arg::I64(id)).push(" AND ");
        q.append(self.township_filter("g.township_id")?);
        self.load_topics(q).await?.pop().ok_or(StoreError::NotFound)
    }

    /// Closes a topic: solved, with the root cause found and the measures taken.
    pub async fn close_topic(
        &self,
        id: i64,
        root_cause: &str,
        measures: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Topic, StoreError> {
        let root = EventText::parse_max(root_cause, 2_000)
            .map_err(|e| StoreError::invalid("root_cause", e.to_string()))?;
        let measures = measures
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(|m| {
                EventText::parse_max(m, 2_000)
                    .map_err(|e| StoreError::invalid("measures", e.to_string()))
            })
            .transpose()?;
        let topic = self.topic(id).await?;
        if !self.may_change(topic.township.id) {
            return Err(StoreError::invalid("role", "无权办结治理专题"));
        }
        if topic.status.code == "closed" {
            return Err(StoreError::invalid("status", "该专题已化解"));
        }
        let by = crate::Acting::from(&self.actor);
        let events: Vec<i64> = topic.events.iter().map(|e| e.id).collect();
        let store = self.store;
        in_tx!(store, Write, |tx| {
            let mut q = Sql::new("UPDATE governance_topics SET status = 'closed', root_cause = ");
            q.arg(Arg::Text(root.as_str().into()))
                .push(", measures = ")
                .arg(Arg::OptText(
                    measures.as_ref().map(|m| m.as_str().to_string()),
                ))
                .push(", closed_by = ")
                .arg(Arg::Text(by.name.clone()))
                .push(", closed_at = ")
                .arg(Arg::Time(now))
                .push(" WHERE id = ")
                .arg(Arg::I64(id))
                .push(" AND status = 'open'");
            if tx.exec(q).await? == 0 {
                return Err(StoreError::Conflict);
            }
            on_events(
                &mut tx,
                &events,
                &by,
                "topic_close",
                &format!("治理专题「{}」已化解，根源：{}", topic.title, root.as_str()),
                now,
            )
            .await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: by.clone(),
                action: "topic.close".into(),
                object_type: "governance_topic",
                object_id: Some(id.to_string()),
                detail: None,
            })
            .await?;
            Ok::<_, StoreError>(())
        })?;
        self.topic(id).await
    }
}

/// A timeline entry (and its audit record) on each linked event.
async fn on_events<T: Tx>(
    tx: &mut T,
    events: &[i64],
    by: &crate::Acting,
    action: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new("SELECT id, status FROM events WHERE id IN ");
    ids(&mut q, events);
    let rows: Vec<StatusRow> = tx.rows(q).await?;
    for r in rows {
        tx.insert_timeline(&TimelineInsert {
            event_id: r.id,
            at: now,
            actor_id: by.user_id.map(|u| u.0),
            actor_name: by.name.clone(),
            action: action.into(),
            from_status: Some(r.status.clone()),
            to_status: r.status,
            note: Some(note.into()),
            data: None,
        })
        .await?;
        tx.insert_audit(&AuditRecord {
            at: now,
            actor: by.clone(),
            action: format!("event.{action}"),
            object_type: "event",
            object_id: Some(r.id.to_string()),
            detail: None,
        })
        .await?;
    }
    Ok(())
}

async fn links<T: Tx>(
    tx: &mut T,
    sql: &'static str,
    owners: &[i64],
) -> Result<Vec<LinkRow>, StoreError> {
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(sql);
    ids(&mut q, owners);
    q.push(" ORDER BY e.reported_at, e.id");
    Ok(tx.rows(q).await?)
}

async fn alerts_with_events<T: Tx>(
    tx: &mut T,
    rows: Vec<AlertRow>,
) -> Result<Vec<RecurringAlert>, StoreError> {
    let owners: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let l = links(
        tx,
        "SELECT ae.alert_id AS owner, e.id, e.number FROM recurring_alert_events ae \
         JOIN events e ON e.id = ae.event_id WHERE ae.alert_id IN ",
        &owners,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RecurringAlert {
            events: l
                .iter()
                .filter(|x| x.owner == r.id)
                .map(|x| EventRef {
                    id: x.id,
                    number: x.number.clone(),
                })
                .collect(),
            id: r.id,
            category: Named {
                id: r.category_id,
                code: r.category_code,
                name: r.category_name,
            },
            township: Named {
                id: r.township_id,
                code: r.township_code,
                name: r.township_name,
            },
            status: alert_status(&r.status),
            location: GeoPoint {
                lon: r.lon,
                lat: r.lat,
            },
            first_at: r.first_at,
            last_at: r.last_at,
            created_at: r.created_at,
            note: r.note,
            topic_id: r.topic_id,
        })
        .collect())
}

async fn topics_with_events<T: Tx>(
    tx: &mut T,
    rows: Vec<TopicRow>,
) -> Result<Vec<Topic>, StoreError> {
    let owners: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let l = links(
        tx,
        "SELECT te.topic_id AS owner, e.id, e.number FROM topic_events te \
         JOIN events e ON e.id = te.event_id WHERE te.topic_id IN ",
        &owners,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Topic {
            events: l
                .iter()
                .filter(|x| x.owner == r.id)
                .map(|x| EventRef {
                    id: x.id,
                    number: x.number.clone(),
                })
                .collect(),
            id: r.id,
            alert_id: r.alert_id,
            title: r.title,
            status: topic_status(&r.status),
            township: Named {
                id: r.township_id,
                code: r.township_code,
                name: r.township_name,
            },
            category: match (r.category_id, r.category_code, r.category_name) {
                (Some(id), Some(code), Some(name)) => Some(Named { id, code, name }),
                _ => None,
            },
            root_cause: r.root_cause,
            measures: r.measures,
            opened_by: r.opened_by,
            opened_at: r.opened_at,
            closed_by: r.closed_by,
            closed_at: r.closed_at,
        })
        .collect())
}
