//! Supervision orders (督办) and focus issues (焦点问题, O6). An order is issued by
//! the event's `supervise` action inside its `act_on` transaction; a focus event
//! gets a 挂牌督办 order with its responsible leader when it is accepted, in the same
//! transaction. Replies and closing write a timeline entry and an audit record on
//! the event. Every list query carries the actor's event scope.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use zhili_domain::supervision::{
    self as rules, CloseOutcome, OrderContext, OrderStatus, SupervisionError, SupervisionLevel,
};
use zhili_domain::{
    Action, ActionKind, Actor, LifecycleError, OrgId, OrgKind, Role, Scope, Status, mask_in_text,
};

use crate::backend::{EventRow, TimelineInsert, Tx};
use crate::events::{Acting, scope_sql};
use crate::records::{AuditRecord, Coded, Named, Page};
use crate::reference::{category_by_code, org_by_code, user_by_username};
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// The name the timeline and the orders give the system's own focus-issue orders.
pub const SYSTEM_NAME: &str = "系统（焦点问题自动挂牌督办）";

const REPLY_ACTION: &str = "supervision_reply";
const CLOSE_ACTION: &str = "supervision_close";

/// The timeline's label for this module's own entries (replies, closing), which are
/// not lifecycle actions.
pub(crate) fn timeline_action(code: &str) -> Option<Coded> {
    match code {
        REPLY_ACTION => Some(Coded {
            code: REPLY_ACTION,
            label: "督办回复",
        }),
        CLOSE_ACTION => Some(Coded {
            code: CLOSE_ACTION,
            label: "督办办结",
        }),
        _ => None,
    }
}

fn invalid(e: SupervisionError) -> StoreError {
    StoreError::invalid(e.field, e.message)
}

fn forbidden() -> StoreError {
    StoreError::Lifecycle(LifecycleError::Forbidden {
        action: ActionKind::Supervise,
    })
}

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {v}"))
}

// ---------------------------------------------------------------------------
// Issuing, inside the event's transaction

/// Called once at the end of `act_on`, after the action's timeline and audit: a
/// `supervise` action becomes an order; accepting a focus event gives it its
/// 挂牌督办 order (O6), whoever accepts it, live or in a replay.
pub(crate) async fn after_action<T: Tx>(
    tx: &mut T,
    cal: &zhili_calendar::Calendar,
    row: &EventRow,
    acting: &Acting,
    action: &Action,
    to: Status,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    match action {
        Action::Supervise {
            level,
            due_date,
            note,
            leader,
        } => {
            let (focus, _) = focus_of(tx, row.category_id).await?;
            let leader = leader
                .as_deref()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string);
            let due_date = rules::parse_due_date(due_date).map_err(invalid)?;
            rules::check_order_for_event(
                *level,
                leader.as_deref(),
                due_date,
                focus,
                china_date(now),
            )
            .map_err(invalid)?;
            let order = NewOrderRow {
                event_id: row.id,
                level: *level,
                leader_name: leader,
                leader_user_id: None,
                due_at: due_at_close(cal, due_date),
                note: note.trim().to_string(),
                issued_by: acting.user_id.map(|u| u.0),
                issued_by_name: acting.name.clone(),
                automatic: false,
                at: now,
            };
            insert_order(tx, &order, acting).await?;
            Ok(())
        }
        Action::Accept { .. } => {
            let (focus, parent) = focus_of(tx, row.category_id).await?;
            let Some(category) = row.category_id.filter(|_| focus) else {
                return Ok(());
            };
            let leader = responsible_leader(tx, category, parent, row.township_id).await?;
            let due_at = row
                .handle_due_at
                .or(row.feedback_due_at)
                .unwrap_or(now + chrono::Duration::days(5));
            let note = match &leader {
                Some((name, _)) => format!("焦点问题自动挂牌督办，责任领导：{name}"),
                None => "焦点问题自动挂牌督办（该类别尚未设置责任领导，请管理员补充）".to_string(),
            };
            let system = Acting::system(SYSTEM_NAME);
            let order = NewOrderRow {
                event_id: row.id,
                level: SupervisionLevel::Listed,
                leader_name: leader.as_ref().map(|l| l.0.clone()),
                leader_user_id: leader.and_then(|l| l.1),
                due_at,
                note: note.clone(),
                issued_by: None,
                issued_by_name: SYSTEM_NAME.into(),
                automatic: true,
                at: now,
            };
            insert_order(tx, &order, &system).await?;
            let data =
                serde_json::json!({ "level": SupervisionLevel::Listed.code(), "automatic": true });
            tx.insert_timeline(&TimelineInsert {
                event_id: row.id,
                at: now,
                actor_id: None,
                actor_name: SYSTEM_NAME.into(),
                action: ActionKind::Supervise.code().into(),
                from_status: Some(to.code().into()),
                to_status: to.code().into(),
                note: Some(note),
                data: Some(data.to_string()),
            })
            .await?;
            Ok(())
        }
        // An archived event's supervision is over: what is still open ends with it.
        Action::Close { .. } => {
            let mut q = Sql::new("UPDATE supervision_orders SET status = ");
            q.arg(Arg::Text(OrderStatus::Done.code().into()))
                .push(", closed_at = ")
                .arg(Arg::Time(now))
                .push(", closed_by_name = ")
                .arg(Arg::Text(acting.name.clone()))
                .push(", close_note = ")
                .arg(Arg::Text(ARCHIVED_NOTE.into()))
                .push(" WHERE event_id = ")
                .arg(Arg::I64(row.id))
                .push(" AND status IN ")
                .list([
                    Arg::Text(OrderStatus::Open.code().into()),
                    Arg::Text(OrderStatus::Replied.code().into()),
                ]);
            let closed = tx.exec(q).await?;
            if closed > 0 {
                tx.insert_audit(&AuditRecord {
                    at: now,
                    actor: acting.clone(),
                    action: "supervision.close".into(),
                    object_type: "event",
                    object_id: Some(row.id.to_string()),
                    detail: Some(serde_json::json!({
                        "number": row.number,
                        "orders_closed": closed,
                        "reason": "event archived",
                    })),
                })
                .await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The closing note of orders still open when their event is archived.
pub const ARCHIVED_NOTE: &str = "事件已归档，督办随之办结";

fn china_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&zhili_calendar::china_time()).date_naive()
}

/// An order's due date is due at the close of office hours that day, like the
/// event deadlines.
fn due_at_close(cal: &zhili_calendar::Calendar, d: NaiveDate) -> DateTime<Utc> {
    let close = cal.working_hours().close();
    d.and_time(close)
        .and_local_timezone(zhili_calendar::china_time())
        .single()
        .map_or_else(|| d.and_time(close).and_utc(), |t| t.with_timezone(&Utc))
}

#[derive(sqlx::FromRow)]
struct FocusRow {
    focus: bool,
    parent_id: Option<i64>,
    parent_focus: Option<bool>,
}

/// Whether the category is a focus issue (itself or its 大类), and its parent.
async fn focus_of<T: Tx>(
    tx: &mut T,
    category: Option<i64>,
) -> Result<(bool, Option<i64>), StoreError> {
    let Some(id) = category else {
        return Ok((false, None));
    };
    let mut q = Sql::new(
        "SELECT c.focus, c.parent_id, p.focus AS parent_focus FROM categories c \
         LEFT JOIN categories p ON p.id = c.parent_id WHERE c.id = ",
    );
    q.arg(Arg::I64(id));
    let rows: Vec<FocusRow> = tx.rows(q).await?;
    Ok(rows.into_iter().next().map_or((false, None), |r| {
        (r.focus || r.parent_focus.unwrap_or(false), r.parent_id)
    }))
}

/// The responsible leader of a focus category in a township: the category's own
/// entry for the township, then its city-wide one, then the same for its 大类.
async fn responsible_leader<T: Tx>(
    tx: &mut T,
    category: i64,
    parent: Option<i64>,
    township: i64,
) -> Result<Option<(String, Option<i64>)>, StoreError> {
    let parent = parent.unwrap_or(category);
    let mut q =
        Sql::new("SELECT leader_name, leader_user_id FROM focus_leaders WHERE category_id IN ");
    q.list([Arg::I64(category), Arg::I64(parent)])
        .push(" AND (township_id = ")
        .arg(Arg::I64(township))
        .push(" OR township_id IS NULL) ORDER BY CASE WHEN category_id = ")
        .arg(Arg::I64(category))
        .push(" THEN 0 ELSE 1 END, CASE WHEN township_id IS NULL THEN 1 ELSE 0 END LIMIT 1");
    let rows: Vec<(String, Option<i64>)> = tx.rows(q).await?;
    Ok(rows.into_iter().next())
}

struct NewOrderRow {
    event_id: i64,
    level: SupervisionLevel,
    leader_name: Option<String>,
    leader_user_id: Option<i64>,
    due_at: DateTime<Utc>,
    note: String,
    issued_by: Option<i64>,
    issued_by_name: String,
    automatic: bool,
    at: DateTime<Utc>,
}

async fn insert_order<T: Tx>(
    tx: &mut T,
    o: &NewOrderRow,
    acting: &Acting,
) -> Result<i64, StoreError> {
    let mut q = Sql::new(
        "INSERT INTO supervision_orders (event_id, level, leader_name, leader_user_id, due_at, \
         note, issued_by, issued_by_name, issued_by_role, issued_at, automatic, status) VALUES (",
    );
    q.arg(Arg::I64(o.event_id))
        .push(", ")
        .arg(Arg::Text(o.level.code().into()))
        .push(", ")
        .arg(Arg::OptText(o.leader_name.clone()))
        .push(", ")
        .arg(Arg::OptI64(o.leader_user_id))
        .push(", ")
        .arg(Arg::Time(o.due_at))
        .push(", ")
        .arg(Arg::Text(o.note.clone()))
        .push(", ")
        .arg(Arg::OptI64(o.issued_by))
        .push(", ")
        .arg(Arg::Text(o.issued_by_name.clone()))
        .push(", (SELECT role FROM users WHERE id = ")
        .arg(Arg::OptI64(o.issued_by))
        .push("), ")
        .arg(Arg::Time(o.at))
        .push(", ")
        .arg(Arg::Bool(o.automatic))
        .push(", ")
        .arg(Arg::Text(OrderStatus::Open.code().into()))
        .push(") RETURNING id");
    let id: Vec<(i64,)> = tx.rows(q).await?;
    let id = id.into_iter().next().map(|r| r.0).ok_or_else(|| {
        StoreError::Corrupt("insert of a supervision order returned no id".into())
    })?;
    tx.insert_audit(&AuditRecord {
        at: o.at,
        actor: acting.clone(),
        action: "supervision.issue".into(),
        object_type: "supervision_order",
        object_id: Some(id.to_string()),
        detail: Some(serde_json::json!({
            "event_id": o.event_id,
            "level": o.level.code(),
            "leader": o.leader_name,
            "due_at": o.due_at,
            "automatic": o.automatic,
        })),
    })
    .await?;
    Ok(id)
}

// ---------------------------------------------------------------------------
// Reading

#[derive(Debug, Clone, sqlx::FromRow)]
struct OrderRow {
    id: i64,
    event_id: i64,
    event_number: String,
    event_text: String,
    event_status: String,
    township_id: i64,
    township_code: String,
    township_name: String,
    category_id: Option<i64>,
    category_code: Option<String>,
    category_name: Option<String>,
    lead_unit_id: Option<i64>,
    lead_unit_name: Option<String>,
    level: String,
    leader_name: Option<String>,
    due_at: DateTime<Utc>,
    note: String,
    issued_by_name: String,
    issued_by_role: Option<String>,
    issued_at: DateTime<Utc>,
    automatic: bool,
    status: String,
    closed_at: Option<DateTime<Utc>>,
    closed_by_name: Option<String>,
    close_note: Option<String>,
}

const ORDER_SELECT: &str = "SELECT o.id, o.event_id, e.number AS event_number, \
 e.text AS event_text, e.status AS event_status, e.township_id, t.code AS township_code, \
 t.name AS township_name, e.category_id, c.code AS category_code, c.name AS category_name, \
 e.lead_unit_id, u.name AS lead_unit_name, o.level, o.leader_name, o.due_at, o.note, \
 o.issued_by_name, o.issued_by_role, o.issued_at, o.automatic, o.status, o.closed_at, \
 o.closed_by_name, o.close_note \
 FROM supervision_orders o JOIN events e ON e.id = o.event_id \
 JOIN orgs t ON t.id = e.township_id LEFT JOIN categories c ON c.id = e.category_id \
 LEFT JOIN orgs u ON u.id = e.lead_unit_id ";

#[derive(Debug, Clone, sqlx::FromRow)]
struct ReplyRow {
    id: i64,
    order_id: i64,
    text: String,
    by_name: String,
    at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderEvent {
    pub id: i64,
    pub number: String,
    pub status: Coded,
    /// The start of the event's text, numbers and e-mail addresses masked.
    pub excerpt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplyView {
    pub id: i64,
    pub text: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// One order as an actor in whose scope its event lies sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderView {
    pub id: i64,
    pub event: OrderEvent,
    pub township: Named,
    pub category: Option<Named>,
    pub lead_unit: Option<String>,
    pub level: Coded,
    pub leader_name: Option<String>,
    pub due_at: DateTime<Utc>,
    /// Still without a reply after its due time.
    pub overdue: bool,
    pub note: String,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    /// Made by the system for a focus issue.
    pub automatic: bool,
    pub status: Coded,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub close_note: Option<String>,
    pub replies: Vec<ReplyView>,
    /// What the viewer may do with it now.
    pub may_reply: bool,
    pub may_close: bool,
}

fn named(id: Option<i64>, code: Option<String>, name: Option<String>) -> Option<Named> {
    Some(Named {
        id: id?,
        code: code?,
        name: name?,
    })
}

fn context(row: &OrderRow) -> OrderContext {
    OrderContext {
        event_township: OrgId(row.township_id),
        event_lead_unit: row.lead_unit_id.map(OrgId),
        issued_by_role: row.issued_by_role.as_deref().and_then(Role::parse),
    }
}

fn order_status(row: &OrderRow) -> Result<OrderStatus, StoreError> {
    OrderStatus::parse(&row.status).ok_or_else(|| corrupt("supervision order status", &row.status))
}

fn view(
    actor: &Actor,
    row: OrderRow,
    replies: Vec<ReplyView>,
    now: DateTime<Utc>,
) -> Result<OrderView, StoreError> {
    let status = order_status(&row)?;
    let level = SupervisionLevel::parse(&row.level)
        .ok_or_else(|| corrupt("supervision level", &row.level))?;
    let event_status =
        Status::parse(&row.event_status).ok_or_else(|| corrupt("status", &row.event_status))?;
    let ctx = context(&row);
    let open = !status.is_closed();
    Ok(OrderView {
        id: row.id,
        event: OrderEvent {
            id: row.event_id,
            number: row.event_number,
            status: Coded::of_status(event_status),
            excerpt: mask_in_text(&row.event_text.chars().take(80).collect::<String>()),
        },
        township: Named {
            id: row.township_id,
            code: row.township_code,
            name: row.township_name,
        },
        category: named(row.category_id, row.category_code, row.category_name),
        lead_unit: row.lead_unit_name,
        level: Coded {
            code: level.code(),
            label: level.label_zh(),
        },
        leader_name: row.leader_name,
        due_at: row.due_at,
        overdue: rules::is_overdue(status, row.due_at, now),
        note: row.note,
        issued_by: row.issued_by_name,
        issued_at: row.issued_at,
        automatic: row.automatic,
        status: Coded {
            code: status.code(),
            label: status.label_zh(),
        },
        closed_at: row.closed_at,
        closed_by: row.closed_by_name,
        close_note: row.close_note,
        replies,
        may_reply: open && rules::may_reply(actor, &ctx),
        may_close: open && rules::may_close(actor, &ctx),
    })
}

/// Orders with their replies, as views for `actor`.
async fn views<T: Tx>(
    tx: &mut T,
    actor: &Actor,
    rows: Vec<OrderRow>,
    now: DateTime<Utc>,
) -> Result<Vec<OrderView>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(
        "SELECT id, order_id, text, by_name, at FROM supervision_replies WHERE order_id IN ",
    );
    q.list(rows.iter().map(|r| Arg::I64(r.id)))
        .push(" ORDER BY at, id");
    let replies: Vec<ReplyRow> = tx.rows(q).await?;
    rows.into_iter()
        .map(|row| {
            let mine = replies
                .iter()
                .filter(|r| r.order_id == row.id)
                .map(|r| ReplyView {
                    id: r.id,
                    text: r.text.clone(),
                    by: r.by_name.clone(),
                    at: r.at,
                })
                .collect();
            view(actor, row, mine, now)
        })
        .collect()
}

fn one_in_scope(scope: Scope, id: i64) -> Sql {
    let mut q = Sql::new(ORDER_SELECT);
    q.push("WHERE o.id = ").arg(Arg::I64(id)).push(" AND ");
    q.append(scope_sql(scope));
    q
}

/// One order in the scope, as stored now; `NotFound` outside it.
async fn order_in_scope<T: Tx>(tx: &mut T, scope: Scope, id: i64) -> Result<OrderRow, StoreError> {
    tx.rows::<OrderRow>(one_in_scope(scope, id))
        .await?
        .into_iter()
        .next()
        .ok_or(StoreError::NotFound)
}

#[derive(Debug, Clone, Default)]
pub struct SupervisionFilter {
    pub status: Option<OrderStatus>,
    pub level: Option<SupervisionLevel>,
    /// Township code.
    pub township: Option<String>,
    /// Only open orders past their due time.
    pub overdue: bool,
    pub event_id: Option<i64>,
    /// 1-based.
    pub page: u32,
    /// At most 200; 0 means 50.
    pub per_page: u32,
}

/// Supervision for one actor: every query carries the actor's event scope.
pub struct SupervisionRepo<'a> {
    store: &'a Store,
    actor: Actor,
}

impl Store {
    /// `None` for roles that have no supervision orders to read (citizens, other
    /// systems' accounts): they see the public view.
    pub fn supervision_for(&self, actor: &Actor) -> Option<SupervisionRepo<'_>> {
        rules::may_read(actor).then(|| SupervisionRepo {
            store: self,
            actor: actor.clone(),
        })
    }
}

impl SupervisionRepo<'_> {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Newest first.
    pub async fn list(
        &self,
        f: &SupervisionFilter,
        now: DateTime<Utc>,
    ) -> Result<Page<OrderView>, StoreError> {
        let mut cond = Sql::new("WHERE ");
        cond.append(scope_sql(self.actor.scope()));
        if let Some(s) = f.status {
            cond.push(" AND o.status = ")
                .arg(Arg::Text(s.code().into()));
        }
        if let Some(l) = f.level {
            cond.push(" AND o.level = ").arg(Arg::Text(l.code().into()));
        }
        if let Some(t) = &f.township {
            cond.push(" AND e.township_id IN (SELECT id FROM orgs WHERE code = ")
                .arg(Arg::Text(t.clone()))
                .push(")");
        }
        if f.overdue {
            cond.push(" AND o.status = ")
                .arg(Arg::Text(OrderStatus::Open.code().into()))
                .push(" AND o.due_at < ")
                .arg(Arg::Time(now));
        }
        if let Some(id) = f.event_id {
            cond.push(" AND o.event_id = ").arg(Arg::I64(id));
        }
        let mut count = Sql::new(
            "SELECT COUNT(*) FROM supervision_orders o JOIN events e ON e.id = o.event_id ",
        );
        count.append(cond.clone());
        // 0: not given.
        let per_page = if f.per_page == 0 {
            50
        } else {
            f.per_page.min(200)
        };
        let page = f.page.max(1);
        let mut rows = Sql::new(ORDER_SELECT);
        rows.append(cond);
        rows.push(" ORDER BY o.issued_at DESC, o.id DESC LIMIT ")
            .arg(Arg::I64(i64::from(per_page)))
            .push(" OFFSET ")
            .arg(Arg::I64(i64::from(page - 1) * i64::from(per_page)));
        let actor = &self.actor;
        let (total, items) = in_tx!(self.store, Read, |tx| {
            let total: Vec<(i64,)> = tx.rows(count).await?;
            let found: Vec<OrderRow> = tx.rows(rows).await?;
            let items = views(&mut tx, actor, found, now).await?;
            Ok::<_, StoreError>((total.first().map_or(0, |t| t.0), items))
        })?;
        Ok(Page {
            items,
            total,
            page,
            per_page,
        })
    }

    /// The orders of one event (oldest first), empty when it is not in scope.
    pub async fn for_event(
        &self,
        event_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderView>, StoreError> {
        let mut q = Sql::new(ORDER_SELECT);
        q.push("WHERE o.event_id = ")
            .arg(Arg::I64(event_id))
            .push(" AND ");
        q.append(scope_sql(self.actor.scope()));
        q.push(" ORDER BY o.issued_at, o.id");
        let actor = &self.actor;
        in_tx!(self.store, Read, |tx| {
            let found: Vec<OrderRow> = tx.rows(q).await?;
            views(&mut tx, actor, found, now).await
        })
    }

    pub async fn get(&self, id: i64, now: DateTime<Utc>) -> Result<OrderView, StoreError> {
        let q = one_in_scope(self.actor.scope(), id);
        let actor = &self.actor;
        in_tx!(self.store, Read, |tx| {
            let found: Vec<OrderRow> = tx.rows(q).await?;
            views(&mut tx, actor, found, now).await
        })?
        .into_iter()
        .next()
        .ok_or(StoreError::NotFound)
    }

    /// The supervised side answers: the order is replied, the event's timeline says
    /// so, the audit log records it — in one transaction.
    pub async fn reply(
        &self,
        id: i64,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<OrderView, StoreError> {
        let scope = self.actor.scope();
        let acting = Acting::from(&self.actor);
        let actor = &self.actor;
        in_tx!(self.store, Write, |tx| {
            let row = order_in_scope(&mut tx, scope, id).await?;
            if !rules::may_reply(actor, &context(&row)) {
                return Err(forbidden());
            }
            let from = order_status(&row)?;
            let next = from.after_reply().map_err(invalid)?;
            let text = rules::parse_reply(text).map_err(invalid)?;
            let mut ins = Sql::new(
                "INSERT INTO supervision_replies (order_id, text, by_user_id, by_name, at) VALUES ",
            );
            ins.list([
                Arg::I64(id),
                Arg::Text(text.clone()),
                Arg::OptI64(acting.user_id.map(|u| u.0)),
                Arg::Text(acting.name.clone()),
                Arg::Time(now),
            ]);
            tx.exec(ins).await?;
            move_status(&mut tx, id, from, next, None).await?;
            record(
                &mut tx,
                &row,
                &acting,
                REPLY_ACTION,
                "supervision.reply",
                format!("回复{}：{text}", level_label(&row)),
                now,
            )
            .await?;
            let row = order_in_scope(&mut tx, scope, id).await?;
            views(&mut tx, actor, vec![row], now)
                .await?
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound)
        })
    }

    /// The issuing side closes the order as done or withdrawn.
    pub async fn close(
        &self,
        id: i64,
        outcome: CloseOutcome,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<OrderView, StoreError> {
        let scope = self.actor.scope();
        let acting = Acting::from(&self.actor);
        let actor = &self.actor;
        in_tx!(self.store, Write, |tx| {
            let row = order_in_scope(&mut tx, scope, id).await?;
            if !rules::may_close(actor, &context(&row)) {
                return Err(forbidden());
            }
            let from = order_status(&row)?;
            let next = from.after_close(outcome).map_err(invalid)?;
            let note = rules::parse_close_note(note).map_err(invalid)?;
            move_status(
                &mut tx,
                id,
                from,
                next,
                Some((&acting, note.as_deref(), now)),
            )
            .await?;
            let what = match outcome {
                CloseOutcome::Done => "办结",
                CloseOutcome::Withdrawn => "撤销",
            };
            let mut text = format!("{}{what}", level_label(&row));
            if let Some(n) = &note {
                text.push('：');
                text.push_str(n);
            }
            record(
                &mut tx,
                &row,
                &acting,
                CLOSE_ACTION,
                "supervision.close",
                text,
                now,
            )
            .await?;
            let row = order_in_scope(&mut tx, scope, id).await?;
            views(&mut tx, actor, vec![row], now)
                .await?
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound)
        })
    }

    /// The focus-issue share in the actor's scope.
    pub async fn focus_share(&self, f: &FocusShareFilter) -> Result<FocusShare, StoreError> {
        let scope = self.actor.scope();
        in_tx!(self.store, Read, |tx| focus_share_in(&mut tx, scope, f)
            .await)
    }

    /// Admin only: who answers for a focus category (city-wide or in one township).
    pub async fn set_focus_leader(
        &self,
        input: &FocusLeaderInput,
        now: DateTime<Utc>,
    ) -> Result<FocusLeaderView, StoreError> {
        if self.actor.role != Role::Admin {
            return Err(StoreError::Lifecycle(LifecycleError::Forbidden {
                action: ActionKind::Supervise,
            }));
        }
        self.store
            .put_focus_leader(&Acting::from(&self.actor), input, now)
            .await
    }
}

fn level_label(row: &OrderRow) -> &'static str {
    SupervisionLevel::parse(&row.level).map_or("督办", SupervisionLevel::label_zh)
}

/// Moves an order from the status that was read to the next one; another change in
/// between is a conflict.
async fn move_status<T: Tx>(
    tx: &mut T,
    id: i64,
    from: OrderStatus,
    next: OrderStatus,
    closing: Option<(&Acting, Option<&str>, DateTime<Utc>)>,
) -> Result<(), StoreError> {
    let mut q = Sql::new("UPDATE supervision_orders SET status = ");
    q.arg(Arg::Text(next.code().into()));
    if let Some((acting, note, at)) = closing {
        q.push(", closed_at = ")
            .arg(Arg::Time(at))
            .push(", closed_by_name = ")
            .arg(Arg::Text(acting.name.clone()))
            .push(", close_note = ")
            .arg(Arg::OptText(note.map(str::to_string)));
    }
    q.push(" WHERE id = ")
        .arg(Arg::I64(id))
        .push(" AND status = ")
        .arg(Arg::Text(from.code().into()));
    if tx.exec(q).await? != 1 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

/// The event's timeline entry and the audit record of a reply or a closing.
async fn record<T: Tx>(
    tx: &mut T,
    row: &OrderRow,
    acting: &Acting,
    timeline_code: &str,
    audit_action: &str,
    note: String,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.insert_timeline(&TimelineInsert {
        event_id: row.event_id,
        at: now,
        actor_id: acting.user_id.map(|u| u.0),
        actor_name: acting.name.clone(),
        action: timeline_code.into(),
        from_status: Some(row.event_status.clone()),
        to_status: row.event_status.clone(),
        note: Some(note),
        data: Some(serde_json::json!({ "order_id": row.id }).to_string()),
    })
    .await?;
    tx.insert_audit(&AuditRecord {
        at: now,
        actor: acting.clone(),
        action: audit_action.into(),
        // On the event, like its other changes; the order is named in the detail.
        object_type: "event",
        object_id: Some(row.event_id.to_string()),
        detail: Some(serde_json::json!({ "order_id": row.id, "number": row.event_number })),
    })
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Focus issues: responsibility and share

#[derive(Debug, Clone, Default)]
pub struct FocusShareFilter {
    /// Township code.
    pub township: Option<String>,
    /// Accepted at or after.
    pub from: Option<DateTime<Utc>>,
    /// Accepted before.
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryShare {
    pub category: Named,
    /// Focus events accepted.
    pub focus_events: i64,
    /// Of those, under 挂牌督办 or 包案督办.
    pub supervised: i64,
    /// Of those, with a named responsible leader.
    pub with_leader: i64,
    /// Percent supervised; `None` without focus events.
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FocusShare {
    pub focus_events: i64,
    pub supervised: i64,
    pub with_leader: i64,
    /// Must be 100 (O6); `None` without focus events.
    pub share: Option<f64>,
    pub by_category: Vec<CategoryShare>,
}

#[derive(sqlx::FromRow)]
struct ShareRow {
    id: i64,
    code: String,
    name: String,
    focus_events: i64,
    supervised: i64,
    with_leader: i64,
}

async fn focus_share_in<T: Tx>(
    tx: &mut T,
    scope: Scope,
    f: &FocusShareFilter,
) -> Result<FocusShare, StoreError> {
    let levels = || {
        SupervisionLevel::ALL
            .iter()
            .filter(|l| l.counts_for_focus())
            .map(|l| Arg::Text(l.code().into()))
            .collect::<Vec<_>>()
    };
    let mut q = Sql::new(
        "SELECT c.id, c.code, c.name, COUNT(*) AS focus_events, \
         SUM(CASE WHEN EXISTS (SELECT 1 FROM supervision_orders so WHERE so.event_id = e.id AND so.level IN ",
    );
    q.list(levels()).push(
        ") THEN 1 ELSE 0 END) AS supervised, \
         SUM(CASE WHEN EXISTS (SELECT 1 FROM supervision_orders sl WHERE sl.event_id = e.id AND sl.leader_name IS NOT NULL AND sl.level IN ",
    );
    q.list(levels()).push(
        ") THEN 1 ELSE 0 END) AS with_leader \
         FROM events e JOIN categories c ON c.id = e.category_id \
         LEFT JOIN categories p ON p.id = c.parent_id \
         JOIN (SELECT event_id, MIN(at) AS accepted_at FROM timeline WHERE action = ",
    );
    q.arg(Arg::Text(ActionKind::Accept.code().into()))
        .push(" GROUP BY event_id) a ON a.event_id = e.id WHERE (c.focus OR p.focus) AND ");
    q.append(scope_sql(scope));
    if let Some(t) = &f.township {
        q.push(" AND e.township_id IN (SELECT id FROM orgs WHERE code = ")
            .arg(Arg::Text(t.clone()))
            .push(")");
    }
    if let Some(from) = f.from {
        q.push(" AND a.accepted_at >= ").arg(Arg::Time(from));
    }
    if let Some(to) = f.to {
        q.push(" AND a.accepted_at < ").arg(Arg::Time(to));
    }
    q.push(" GROUP BY c.id, c.code, c.name ORDER BY c.code");
    let rows: Vec<ShareRow> = tx.rows(q).await?;
    let by_category: Vec<CategoryShare> = rows
        .into_iter()
        .map(|r| CategoryShare {
            share: rules::focus_share(r.focus_events, r.supervised),
            category: Named {
                id: r.id,
                code: r.code,
                name: r.name,
            },
            focus_events: r.focus_events,
            supervised: r.supervised,
            with_leader: r.with_leader,
        })
        .collect();
    let sum = |f: fn(&CategoryShare) -> i64| by_category.iter().map(f).sum::<i64>();
    let (focus_events, supervised, with_leader) = (
        sum(|c| c.focus_events),
        sum(|c| c.supervised),
        sum(|c| c.with_leader),
    );
    Ok(FocusShare {
        focus_events,
        supervised,
        with_leader,
        share: rules::focus_share(focus_events, supervised),
        by_category,
    })
}

/// One entry of the responsibility table, as the API takes it (codes, not ids).
#[derive(Debug, Clone, Default)]
pub struct FocusLeaderInput {
    pub category: String,
    /// `None`: the whole city.
    pub township: Option<String>,
    pub leader_name: String,
    /// The leader's own account, if they have one.
    pub leader_username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FocusLeaderView {
    pub category: Named,
    pub township: Option<Named>,
    pub leader_name: String,
    pub leader_username: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct LeaderRow {
    category_id: i64,
    category_code: String,
    category_name: String,
    township_id: Option<i64>,
    township_code: Option<String>,
    township_name: Option<String>,
    leader_name: String,
    leader_username: Option<String>,
    updated_at: DateTime<Utc>,
}

const LEADER_SELECT: &str = "SELECT f.category_id, c.code AS category_code, \
 c.name AS category_name, f.township_id, t.code AS township_code, t.name AS township_name, \
 f.leader_name, u.username AS leader_username, f.updated_at \
 FROM focus_leaders f JOIN categories c ON c.id = f.category_id \
 LEFT JOIN orgs t ON t.id = f.township_id LEFT JOIN users u ON u.id = f.leader_user_id ";

fn leader_view(r: LeaderRow) -> FocusLeaderView {
    FocusLeaderView {
        category: Named {
            id: r.category_id,
            code: r.category_code,
            name: r.category_name,
        },
        township: named(r.township_id, r.township_code, r.township_name),
        leader_name: r.leader_name,
        leader_username: r.leader_username,
        updated_at: r.updated_at,
    }
}

/// The public view (O2): counts only, no personal data and no event text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicSupervision {
    pub orders: Vec<PublicCount>,
    pub focus: FocusShare,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicCount {
    pub township: PublicArea,
    pub level: Coded,
    pub status: Coded,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicArea {
    pub code: String,
    pub name: String,
}

#[derive(sqlx::FromRow)]
struct CountRow {
    township_code: String,
    township_name: String,
    level: String,
    status: String,
    n: i64,
}

impl Store {
    /// Sets the responsible leader of a focus category, for the city or a township;
    /// replaces what was there. The caller has checked the right (admin, or the demo
    /// loader).
    pub async fn put_focus_leader(
        &self,
        acting: &Acting,
        input: &FocusLeaderInput,
        now: DateTime<Utc>,
    ) -> Result<FocusLeaderView, StoreError> {
        let leader_name = rules::parse_leader(&input.leader_name).map_err(invalid)?;
        in_tx!(self, Write, |tx| {
            let (category, _) = category_by_code(&mut tx, input.category.trim())
                .await?
                .ok_or_else(|| {
                    StoreError::invalid("category", format!("未知事件类别 {}", input.category))
                })?;
            let mut focus = Sql::new("SELECT COUNT(*) FROM categories WHERE focus AND (id = ");
            focus
                .arg(Arg::I64(category.id.0))
                .push(" OR parent_id = ")
                .arg(Arg::I64(category.id.0))
                .push(")");
            let n: Vec<(i64,)> = tx.rows(focus).await?;
            if n.first().map_or(0, |n| n.0) == 0 {
                return Err(StoreError::invalid(
                    "category",
                    format!("{} 不是焦点问题类别", category.name),
                ));
            }
            let township = match input
                .township
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
            {
                None => None,
                Some(code) => Some(
                    org_by_code(&mut tx, code)
                        .await?
                        .filter(|o| o.kind == OrgKind::Township)
                        .ok_or_else(|| {
                            StoreError::invalid("township", format!("未知乡镇（街道）编码 {code}"))
                        })?,
                ),
            };
            let leader_user = match input
                .leader_username
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
            {
                None => None,
                Some(u) => Some(
                    user_by_username(&mut tx, self.pii.as_deref(), u)
                        .await?
                        .ok_or_else(|| {
                            StoreError::invalid("leader_username", format!("未知用户 {u}"))
                        })?
                        .actor
                        .user_id
                        .0,
                ),
            };
            let township_id = township.as_ref().map(|t| t.id.0);
            let mut del = Sql::new("DELETE FROM focus_leaders WHERE category_id = ");
            del.arg(Arg::I64(category.id.0));
            match township_id {
                Some(t) => {
                    del.push(" AND township_id = ").arg(Arg::I64(t));
                }
                None => {
                    del.push(" AND township_id IS NULL");
                }
            }
            tx.exec(del).await?;
            let mut ins = Sql::new(
                "INSERT INTO focus_leaders (category_id, township_id, leader_name, leader_user_id, \
                 updated_at, updated_by) VALUES ",
            );
            ins.list([
                Arg::I64(category.id.0),
                Arg::OptI64(township_id),
                Arg::Text(leader_name.clone()),
                Arg::OptI64(leader_user),
                Arg::Time(now),
                Arg::OptI64(acting.user_id.map(|u| u.0)),
            ]);
            tx.exec(ins).await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: acting.clone(),
                action: "supervision.focus_leader".into(),
                object_type: "focus_leader",
                object_id: Some(category.code.clone()),
                detail: Some(serde_json::json!({
                    "category": category.code,
                    "township": township.as_ref().map(|t| t.code.clone()),
                    "leader": leader_name,
                })),
            })
            .await?;
            let mut q = Sql::new(LEADER_SELECT);
            q.push("WHERE f.category_id = ")
                .arg(Arg::I64(category.id.0));
            match township_id {
                Some(t) => {
                    q.push(" AND f.township_id = ").arg(Arg::I64(t));
                }
                None => {
                    q.push(" AND f.township_id IS NULL");
                }
            }
            let rows: Vec<LeaderRow> = tx.rows(q).await?;
            rows.into_iter()
                .next()
                .map(leader_view)
                .ok_or(StoreError::NotFound)
        })
    }

    /// The whole responsibility table, by category then township (city-wide first).
    pub async fn focus_leaders(&self) -> Result<Vec<FocusLeaderView>, StoreError> {
        let mut q = Sql::new(LEADER_SELECT);
        q.push("ORDER BY c.code, t.code IS NOT NULL, t.code");
        let rows: Vec<LeaderRow> = in_tx!(self, Read, |tx| Ok::<_, StoreError>(tx.rows(q).await?))?;
        Ok(rows.into_iter().map(leader_view).collect())
    }

    /// For citizens, without login (O2): orders counted by township, level and
    /// status, and the focus-issue share by category.
    pub async fn public_supervision(&self) -> Result<PublicSupervision, StoreError> {
        let q = Sql::new(
            "SELECT t.code AS township_code, t.name AS township_name, o.level, o.status, \
             COUNT(*) AS n FROM supervision_orders o JOIN events e ON e.id = o.event_id \
             JOIN orgs t ON t.id = e.township_id \
             GROUP BY t.code, t.name, o.level, o.status ORDER BY t.code, o.level, o.status",
        );
        let (rows, focus) = in_tx!(self, Read, |tx| {
            let rows: Vec<CountRow> = tx.rows(q).await?;
            let focus = focus_share_in(&mut tx, Scope::ALL, &FocusShareFilter::default()).await?;
            Ok::<_, StoreError>((rows, focus))
        })?;
        let orders = rows
            .into_iter()
            .map(|r| {
                let level = SupervisionLevel::parse(&r.level)
                    .ok_or_else(|| corrupt("supervision level", &r.level))?;
                let status = OrderStatus::parse(&r.status)
                    .ok_or_else(|| corrupt("supervision order status", &r.status))?;
                Ok(PublicCount {
                    township: PublicArea {
                        code: r.township_code,
                        name: r.township_name,
                    },
                    level: Coded {
                        code: level.code(),
                        label: level.label_zh(),
                    },
                    status: Coded {
                        code: status.code(),
                        label: status.label_zh(),
                    },
                    count: r.n,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(PublicSupervision { orders, focus })
    }
}

#[cfg(test)]
#[path = "supervision_tests.rs"]
mod tests;
