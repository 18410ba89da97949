//! A unit handler's work queue (我的待办) and the command room's bulk actions. The
//! queue is the open events the handler's unit holds now, as lead or assisting unit,
//! nearest handling deadline first, with the working time left. A bulk action is one
//! lifecycle action taken on many events, each through [`EventRepo::act`] in its own
//! transaction, so each gets its own timeline entry and audit record and a refusal
//! stops only its own event.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::{Action, Role, Status};

use crate::backend::Tx;
use crate::events::{capacities, parse_state, scope_sql, summary};
use crate::records::{Coded, EventSummary};
use crate::sql::{Arg, Sql};
use crate::{EventRepo, StoreError, in_tx};

/// At most this many events in one bulk action.
pub const BULK_MAX: usize = 200;

/// The statuses in which an event sits in its unit's queue.
pub const QUEUE_STATUSES: [Status; 2] = [Status::Dispatched, Status::Handling];

/// Red past the deadline, yellow past the warning time, green before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    Green,
    Yellow,
    Red,
}

impl Warning {
    pub fn at(now: DateTime<Utc>, due: DateTime<Utc>, warn: DateTime<Utc>) -> Warning {
        if now >= due {
            Warning::Red
        } else if now >= warn {
            Warning::Yellow
        } else {
            Warning::Green
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Warning::Green => "green",
            Warning::Yellow => "yellow",
            Warning::Red => "red",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Warning::Green => "绿",
            Warning::Yellow => "黄",
            Warning::Red => "红",
        }
    }
}

/// One event in a unit's queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueItem {
    pub event: EventSummary,
    /// lead 主办 or assist 协办.
    pub unit_role: Coded,
    pub handle_due_at: Option<DateTime<Utc>>,
    pub handle_warn_at: Option<DateTime<Utc>>,
    /// Working minutes until the handling deadline (office hours of working days);
    /// negative once overdue. `None` when the event has no handling deadline.
    pub working_minutes_left: Option<i64>,
    /// 红 / 黄 / 绿 by the stored warning times; `None` without a deadline.
    pub warning: Option<Coded>,
    /// An extension request waits for the command room.
    pub pending_extension: bool,
    /// What the handler may do now (签收, 退回, 办结, 申请延期 …).
    pub allowed_actions: Vec<Coded>,
}

/// What happened to one event of a bulk action.
#[derive(Debug)]
pub struct BulkOutcome {
    pub id: i64,
    pub result: Result<crate::records::EventDetail, StoreError>,
}

impl EventRepo<'_> {
    /// The open events the actor's unit holds now (lead or assisting), nearest
    /// handling deadline first; events without one come last. Empty for anyone but
    /// a unit handler.
    pub async fn unit_queue(&self, now: DateTime<Utc>) -> Result<Vec<QueueItem>, StoreError> {
        let actor = self.actor().clone();
        let (Role::UnitHandler, Some(unit)) = (actor.role, actor.org_id) else {
            return Ok(Vec::new());
        };
        let mut q = Sql::new("WHERE ");
        q.append(scope_sql(actor.scope()));
        q.push(" AND e.status IN ")
            .list(QUEUE_STATUSES.iter().map(|s| Arg::Text(s.code().into())))
            .push(
                " AND EXISTS (SELECT 1 FROM event_units qu WHERE qu.event_id = e.id AND qu.active = ",
            )
            .arg(Arg::Bool(true))
            .push(" AND qu.unit_id = ")
            .arg(Arg::I64(unit.0))
            .push(
                ") ORDER BY CASE WHEN e.handle_due_at IS NULL THEN 1 ELSE 0 END, e.handle_due_at, e.id LIMIT 500",
            );
        let store = self.the_store();
        let rows = in_tx!(store, Read, |tx| {
            tx.events_where(q).await.map_err(StoreError::from)
        })?;
        let cal = store.calendar();
        rows.into_iter()
            .map(|row| {
                let state = parse_state(&row)?;
                let caps = capacities(&actor, &row, &state);
                let lead = state.lead_unit == Some(unit);
                let due = row.handle_due_at;
                let warn = row.handle_warn_at.or(due);
                let minutes = due.map(|d| {
                    cal.working_minutes_between(&now, &d)
                        // Outside the calendar's years: wall-clock time is the best guess.
                        .unwrap_or_else(|_| (d - now).num_minutes())
                });
                let warning = match (due, warn) {
                    (Some(d), Some(w)) => {
                        let w = Warning::at(now, d, w);
                        Some(Coded {
                            code: w.code(),
                            label: w.label_zh(),
                        })
                    }
                    _ => None,
                };
                let allowed_actions = state
                    .allowed_actions(&caps)
                    .into_iter()
                    .map(|k| Coded {
                        code: k.code(),
                        label: k.label_zh(),
                    })
                    .collect();
                Ok(QueueItem {
                    unit_role: if lead {
                        Coded {
                            code: "lead",
                            label: "主办",
                        }
                    } else {
                        Coded {
                            code: "assist",
                            label: "协办",
                        }
                    },
                    handle_due_at: due,
                    handle_warn_at: warn,
                    working_minutes_left: minutes,
                    warning,
                    pending_extension: state.pending_extension.is_some(),
                    allowed_actions,
                    event: summary(row)?,
                })
            })
            .collect()
    }

    /// Takes `action` on each event of `ids` in turn, each in its own transaction
    /// (one [`EventRepo::act`] per event): each success has its timeline entry and
    /// audit record, and an event out of scope or in the wrong state fails alone.
    /// Results come in the order of `ids`.
    pub async fn act_many(
        &self,
        ids: &[i64],
        action: &Action,
        now: DateTime<Utc>,
    ) -> Result<Vec<BulkOutcome>, StoreError> {
        if ids.is_empty() {
            return Err(StoreError::invalid("ids", "请至少选择一个事件"));
        }
        if ids.len() > BULK_MAX {
            return Err(StoreError::invalid(
                "ids",
                format!("一次最多处理 {BULK_MAX} 个事件"),
            ));
        }
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let result = self.act(id, action, now).await;
            if let Err(e @ (StoreError::Database(_) | StoreError::Unavailable)) = &result {
                tracing::warn!(event = id, error = %e, "bulk action: one event failed");
            }
            out.push(BulkOutcome { id, result });
        }
        Ok(out)
    }
}
