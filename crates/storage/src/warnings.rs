//! Deadline warnings, escalation and notices (issue #5, item 3). A sweep that any
//! instance may run compares every running clock with its stored yellow time and
//! deadline (see [`crate::deadlines`]); a warning that is due fires once — the row
//! in `deadline_alerts` is unique per (event, clock, level, deadline), so two
//! instances sweeping together, or one sweeping after hours of downtime, fire each
//! missed warning exactly once. Firing writes, in one transaction: the alert, a notice
//! to the responsible unit and its supervisors, outbox messages for SMS and e-mail
//! where the recipients gave a number or address, a timeline entry and an audit
//! record; a red acceptance or handling clock also moves the event up the ladder.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::{Action, Actor, Capacities, Level, OrgKind, Role, Scope, Status, mask_in_text};

use crate::backend::{TimelineInsert, Tx};
use crate::deadlines::{Clock, Rules};
use crate::events::{ActContext, Acting, act_on, parse_state, row_in_scope};
use crate::records::{AuditRecord, Coded, EventRef, Page};
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// The e-mail topic of the pluggable outbound notice channels (docs/connectors.md);
/// SMS is [`TOPIC_SMS`], shared with the reporters' rating links.
pub const TOPIC_EMAIL: &str = "email";
use crate::outbox::TOPIC_SMS;

/// Who the timeline and audit name for what the sweep does.
pub const SWEEP_ACTOR: &str = "系统（时限监控）";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alarm {
    Yellow,
    Red,
}

impl Alarm {
    pub fn code(self) -> &'static str {
        match self {
            Alarm::Yellow => "yellow",
            Alarm::Red => "red",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Alarm::Yellow => "黄色预警",
            Alarm::Red => "红色预警（超期）",
        }
    }

    /// The timeline's action code for this warning.
    pub fn timeline_action(self) -> &'static str {
        match self {
            Alarm::Yellow => "warn_yellow",
            Alarm::Red => "warn_red",
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub yellow: usize,
    pub red: usize,
    pub escalated: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct NewNotification {
    pub event_id: Option<i64>,
    pub org_id: i64,
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct NotificationRow {
    pub id: i64,
    pub event_id: Option<i64>,
    pub event_number: Option<String>,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

/// One in-app notice as its reader sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    pub id: i64,
    pub event: Option<EventRef>,
    pub kind: Coded,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

fn notice_kind(code: &str) -> Coded {
    match code {
        "warn_yellow" => Coded {
            code: "warn_yellow",
            label: "黄色预警",
        },
        "warn_red" => Coded {
            code: "warn_red",
            label: "红色预警",
        },
        "escalated" => Coded {
            code: "escalated",
            label: "事件升级",
        },
        "recurring" => Coded {
            code: "recurring",
            label: "反复发生",
        },
        crate::rights::RIGHTS_OVERDUE => Coded {
            code: crate::rights::RIGHTS_OVERDUE,
            label: "个人信息申请超期",
        },
        _ => Coded {
            code: "other",
            label: "通知",
        },
    }
}

/// The SELECT of the events whose `clock` has reached `alarm` at `now` and not
/// fired it yet for its current deadline, earliest first.
fn candidates(clock: Clock, alarm: Alarm, now: DateTime<Utc>, limit: i64) -> Sql {
    let (due, warn) = match clock {
        Clock::Accept => ("e.accept_due_at", "e.accept_warn_at"),
        Clock::Handle => ("e.handle_due_at", "e.handle_warn_at"),
        Clock::Feedback => ("e.feedback_due_at", "e.feedback_warn_at"),
        Clock::Followup => ("e.followup_due_at", "e.followup_warn_at"),
    };
    let trigger = match alarm {
        Alarm::Yellow => warn,
        Alarm::Red => due,
    };
    let mut q = Sql::new("SELECT e.id, ");
    q.push(due).push(" FROM events e WHERE e.status IN ");
    q.list(
        clock
            .running_statuses()
            .into_iter()
            .map(|s| Arg::Text(s.code().into())),
    );
    // A linked duplicate's clocks follow its master's: only the master is warned.
    q.push(" AND e.duplicate_of IS NULL AND ")
        .push(due)
        .push(" IS NOT NULL AND ");
    q.push(trigger).push(" <= ").arg(Arg::Time(now));
    q.push(
        " AND NOT EXISTS (SELECT 1 FROM deadline_alerts a WHERE a.event_id = e.id AND a.clock = ",
    )
    .arg(Arg::Text(clock.code().into()))
    .push(" AND a.level = ")
    .arg(Arg::Text(alarm.code().into()))
    .push(" AND a.due_at = ")
    .push(due)
    .push(") ORDER BY ")
    .push(trigger)
    .push(", e.id LIMIT ")
    .arg(Arg::I64(limit));
    q
}

pub(crate) fn china(t: DateTime<Utc>) -> String {
    t.with_timezone(&zhili_calendar::china_time())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn excerpt(text: &str) -> String {
    let masked = mask_in_text(text);
    let mut s: String = masked.chars().take(30).collect();
    if masked.chars().count() > 30 {
        s.push('…');
    }
    s
}

impl Store {
    /// One pass of the deadline sweep at `now`: fires every due warning, in batches of
    /// `batch` per clock and level, until none is left (so a sweep after downtime
    /// catches up at once). Safe to run on several instances at the same time: the
    /// alert's unique key decides which of them fires a warning; `by` names the
    /// instance in the alerts it fired ([`Store::work_by_instance`]).
    pub async fn sweep_deadlines(
        &self,
        by: &str,
        now: DateTime<Utc>,
        batch: i64,
    ) -> Result<SweepReport, StoreError> {
        let batch = batch.max(1);
        let mut report = SweepReport::default();
        for clock in Clock::ALL {
            for alarm in [Alarm::Yellow, Alarm::Red] {
                // Bounded: each round either fires what it found or finds it fired
                // or changed already, so the next round finds fewer.
                for _ in 0..1_000 {
                    let found = in_tx!(self, Read, |tx| {
                        tx.rows::<(i64, DateTime<Utc>)>(candidates(clock, alarm, now, batch))
                            .await
                    })?;
                    let rules = self.deadline_rules();
                    let sweep = Sweep {
                        rules: &rules,
                        pii: self.pii()?,
                        now,
                        by,
                    };
                    for (id, due) in &found {
                        let fired = in_tx!(self, Write, |tx| {
                            fire(&mut tx, &sweep, *id, clock, alarm, *due).await
                        })?;
                        if let Some(escalated) = fired {
                            match alarm {
                                Alarm::Yellow => report.yellow += 1,
                                Alarm::Red => report.red += 1,
                            }
                            report.escalated += usize::from(escalated);
                        }
                    }
                    if (found.len() as i64) < batch {
                        break;
                    }
                }
            }
        }
        Ok(report)
    }

    /// The actor's notices, newest first.
    pub async fn notifications(
        &self,
        actor: &Actor,
        unread_only: bool,
        page: u32,
        per_page: u32,
    ) -> Result<Page<Notification>, StoreError> {
        let per_page = per_page.clamp(1, 200);
        let page = page.max(1);
        let mut cond = Sql::new(" WHERE ");
        cond.append(audience(actor));
        if unread_only {
            cond.push(" AND NOT EXISTS (SELECT 1 FROM notification_reads r0 WHERE r0.notification_id = n.id AND r0.user_id = ")
                .arg(Arg::I64(actor.user_id.0))
                .push(")");
        }
        let mut count = Sql::new("SELECT COUNT(*) FROM notifications n");
        count.append(cond.clone());
        let mut rows = Sql::new(
            "SELECT n.id, n.event_id, e.number AS event_number, n.kind, n.title, n.body, n.created_at, \
             EXISTS (SELECT 1 FROM notification_reads r WHERE r.notification_id = n.id AND r.user_id = ",
        );
        rows.arg(Arg::I64(actor.user_id.0))
            .push(") AS read FROM notifications n LEFT JOIN events e ON e.id = n.event_id");
        rows.append(cond);
        rows.push(" ORDER BY n.created_at DESC, n.id DESC LIMIT ")
            .arg(Arg::I64(i64::from(per_page)))
            .push(" OFFSET ")
            .arg(Arg::I64(i64::from(page - 1) * i64::from(per_page)));
        let (total, found) = in_tx!(self, Read, |tx| {
            let total = tx.count(count).await?;
            Ok::<_, StoreError>((total, tx.rows::<NotificationRow>(rows).await?))
        })?;
        Ok(Page {
            items: found
                .into_iter()
                .map(|r| Notification {
                    id: r.id,
                    event: EventRef::of(r.event_id, r.event_number),
                    kind: notice_kind(&r.kind),
                    title: r.title,
                    body: r.body,
                    created_at: r.created_at,
                    read: r.read,
                })
                .collect(),
            total,
            page,
            per_page,
        })
    }

    /// How many of the actor's notices they have not read.
    pub async fn unread_notifications(&self, actor: &Actor) -> Result<i64, StoreError> {
        Ok(self.notifications(actor, true, 1, 1).await?.total)
    }

    /// Marks one of the actor's notices read; someone else's is `NotFound`.
    pub async fn mark_notification_read(
        &self,
        actor: &Actor,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut q = Sql::new("SELECT COUNT(*) FROM notifications n WHERE n.id = ");
        q.arg(Arg::I64(id)).push(" AND ");
        q.append(audience(actor));
        in_tx!(self, Write, |tx| {
            if tx.count(q).await? == 0 {
                return Err(StoreError::NotFound);
            }
            tx.mark_notification_read(id, actor.user_id.0, now).await?;
            Ok(())
        })
    }

    /// Where a staff member is told by SMS and e-mail (empty clears), by username.
    pub async fn set_user_contact(
        &self,
        username: &str,
        phone: Option<&str>,
        email: Option<&str>,
    ) -> Result<(), StoreError> {
        let phone = phone
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                zhili_domain::Phone::parse(p)
                    .map(|p| p.as_str().to_string())
                    .map_err(|e| StoreError::invalid("phone", e.to_string()))
            })
            .transpose()?;
        let email = email
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| {
                if e.len() <= 254
                    && e.split_once('@')
                        .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
                {
                    Ok(e.to_string())
                } else {
                    Err(StoreError::invalid("email", "电子邮箱格式不正确"))
                }
            })
            .transpose()?;
        let phone = phone
            .map(|p| {
                self.pii()
                    .map(|k| k.seal(crate::pii::Field::StaffPhone, &p))
            })
            .transpose()?;
        let mut q = Sql::new("UPDATE users SET phone = ");
        q.arg(Arg::OptText(phone))
            .push(", email = ")
            .arg(Arg::OptText(email))
            .push(" WHERE username = ")
            .arg(Arg::Text(username.to_string()));
        let n = in_tx!(self, Write, |tx| tx.exec(q).await)?;
        if n == 0 {
            return Err(StoreError::invalid(
                "username",
                format!("未知用户 {username}"),
            ));
        }
        Ok(())
    }
}

/// Whether the actor has notices at all (the pages show the link only then).
pub fn receives_notices(actor: &Actor) -> bool {
    match actor.role {
        Role::CityOperator | Role::CityLeader => true,
        Role::TownshipOperator | Role::UnitHandler | Role::GridWorker => actor.org_id.is_some(),
        _ => false,
    }
}

/// The notices an actor reads: those addressed to their org; city staff read the
/// city's.
fn audience(actor: &Actor) -> Sql {
    let mut q = Sql::default();
    match (actor.role, actor.org_id) {
        (Role::CityOperator | Role::CityLeader, _) => {
            q.push("n.org_id IN (SELECT id FROM orgs WHERE kind = ")
                .arg(Arg::Text(OrgKind::City.code().into()))
                .push(")");
        }
        (Role::TownshipOperator | Role::UnitHandler | Role::GridWorker, Some(org)) => {
            q.push("n.org_id = ").arg(Arg::I64(org.0));
        }
        _ => {
            q.push("1 = 0");
        }
    }
    // A notice quotes its event: none about an event beyond the reader's clearance.
    if let Some(c) = crate::events::clearance_sql(actor.role.clearance()) {
        q.push(" AND (n.event_id IS NULL OR n.event_id IN (SELECT e.id FROM events e WHERE ")
            .append(c)
            .push("))");
    }
    q
}

/// What one sweep fires its warnings with: the rules, its moment and its instance.
#[derive(Clone, Copy)]
struct Sweep<'a> {
    rules: &'a Rules,
    pii: &'a crate::pii::Pii,
    now: DateTime<Utc>,
    by: &'a str,
}

/// Fires one warning if it is still due and has not fired: `Some(escalated)` when it
/// fired, `None` when there was nothing (left) to do.
async fn fire<T: crate::events::ActTx>(
    tx: &mut T,
    sweep: &Sweep<'_>,
    id: i64,
    clock: Clock,
    alarm: Alarm,
    due: DateTime<Utc>,
) -> Result<Option<bool>, StoreError> {
    let Sweep {
        rules,
        pii,
        now,
        by,
    } = *sweep;
    // Read again inside the write: the event may have moved on since the scan.
    let Some(row) = row_in_scope(tx, Scope::ALL, id).await? else {
        return Ok(None);
    };
    let status = Status::parse(&row.status)
        .ok_or_else(|| StoreError::Corrupt(format!("status {}", row.status)))?;
    let Some(d) = row.deadlines().get(clock) else {
        return Ok(None);
    };
    let trigger = match alarm {
        Alarm::Yellow => d.warn_at,
        Alarm::Red => d.at,
    };
    if !clock.runs_in(status) || d.at != due || trigger > now {
        return Ok(None);
    }
    if tx
        .insert_alert(id, clock.code(), alarm.code(), due, now, by)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let state = parse_state(&row)?;
    let what = match alarm {
        Alarm::Yellow => format!("{}将到（{}）", clock.label_zh(), china(due)),
        Alarm::Red => format!("已超过{}（{}）", clock.label_zh(), china(due)),
    };
    let title = format!("【{}】{} {}", alarm.label_zh(), row.number, what);
    let body = format!(
        "事件 {}（{}）「{}」{}，请及时处理。",
        row.number,
        row.township_name,
        excerpt(&row.text),
        what
    );
    // The unit handling it when there is one, else the township's command room; a
    // red warning also reaches the command room, and the city once it runs the event.
    let responsible = match (status, row.lead_unit_id) {
        (Status::Dispatched | Status::Handling, Some(unit)) => unit,
        _ => row.township_id,
    };
    let mut to = vec![responsible];
    if alarm == Alarm::Red {
        to.push(row.township_id);
        if state.level == Level::City {
            to.extend(city_org(tx).await?);
        }
    }
    to.dedup();
    for org in to {
        let n = NewNotification {
            event_id: Some(row.id),
            org_id: org,
            kind: alarm.timeline_action(),
            title: title.clone(),
            body: body.clone(),
            at: now,
        };
        notify(tx, pii, &n).await?;
    }
    tx.insert_timeline(&TimelineInsert {
        event_id: id,
        at: now,
        actor_id: None,
        actor_name: SWEEP_ACTOR.into(),
        action: alarm.timeline_action().into(),
        from_status: Some(status.code().into()),
        to_status: status.code().into(),
        note: Some(what.clone()),
        data: Some(
            serde_json::json!({ "clock": clock.code(), "level": alarm.code(), "due_at": due })
                .to_string(),
        ),
    })
    .await?;
    tx.insert_audit(&AuditRecord {
        at: now,
        actor: crate::Acting::system(SWEEP_ACTOR),
        action: format!("event.{}", alarm.timeline_action()),
        object_type: "event",
        object_id: Some(id.to_string()),
        detail: Some(
            serde_json::json!({ "number": row.number, "clock": clock.code(), "due_at": due }),
        ),
    })
    .await?;

    // Overdue at its level: the event moves up the ladder with its history.
    let overdue_here = alarm == Alarm::Red && matches!(clock, Clock::Accept | Clock::Handle);
    let Some(up) = state.level.up().filter(|_| overdue_here) else {
        return Ok(Some(false));
    };
    let reason = format!("{}，自动升级至{}", what, level_office(up));
    let ctx = ActContext {
        rules,
        replay: false,
        feedback: None,
        pii,
    };
    let caps = Capacities {
        operator: true,
        ..Default::default()
    };
    let acting = Acting::system(SWEEP_ACTOR);
    act_on(
        tx,
        &ctx,
        &row,
        &caps,
        &acting,
        &Action::Escalate {
            reason: reason.clone(),
        },
        now,
    )
    .await?;
    let title = format!("【事件升级】{} {}", row.number, reason);
    let body = format!(
        "事件 {}（{}）「{}」{}。",
        row.number,
        row.township_name,
        excerpt(&row.text),
        reason
    );
    let mut to: Vec<i64> = Vec::new();
    if up == Level::City {
        to.extend(city_org(tx).await?);
    }
    to.push(row.township_id);
    for org in to {
        let n = NewNotification {
            event_id: Some(row.id),
            org_id: org,
            kind: "escalated",
            title: title.clone(),
            body: body.clone(),
            at: now,
        };
        notify(tx, pii, &n).await?;
    }
    Ok(Some(true))
}

fn level_office(level: Level) -> &'static str {
    match level {
        Level::Grid => "网格",
        Level::Township => "乡镇（街道）综合指挥室",
        Level::City => "市综合指挥中心",
    }
}

pub(crate) async fn city_org<T: Tx>(tx: &mut T) -> Result<Option<i64>, StoreError> {
    let mut q = Sql::new("kind = ");
    q.arg(Arg::Text(OrgKind::City.code().into()));
    Ok(tx.org_where(q).await?.into_iter().map(|o| o.id).min())
}

/// One notice to an org, and its SMS and e-mail through the outbox for those of
/// the org who gave a number or an address.
pub(crate) async fn notify<T: Tx>(
    tx: &mut T,
    pii: &crate::pii::Pii,
    n: &NewNotification,
) -> Result<(), StoreError> {
    let nid = tx.insert_notification(n).await?;
    let (title, body, now) = (&n.title, &n.body, n.at);
    let contacts = tx.notice_contacts(n.org_id).await?;
    let phones: Vec<String> = contacts
        .iter()
        .filter_map(|(p, _)| p.as_deref())
        .map(|p| pii.open(crate::pii::Field::StaffPhone, p))
        .collect::<Result<_, _>>()?;
    let emails: Vec<&String> = contacts.iter().filter_map(|(_, e)| e.as_ref()).collect();
    if !phones.is_empty() {
        crate::outbox::enqueue(
            tx,
            pii,
            TOPIC_SMS,
            &format!("notice-{nid}-sms"),
            n.event_id,
            &serde_json::json!({ "to": phones, "text": format!("{title}。{body}") }),
            now,
        )
        .await?;
    }
    if !emails.is_empty() {
        crate::outbox::enqueue(
            tx,
            pii,
            TOPIC_EMAIL,
            &format!("notice-{nid}-email"),
            n.event_id,
            &serde_json::json!({ "to": emails, "subject": title, "text": body }),
            now,
        )
        .await?;
    }
    Ok(())
}
