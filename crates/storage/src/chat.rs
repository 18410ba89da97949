//! Chat-group messages (圈群, D1): what a grid's WeChat group says arrives through a
//! webhook and is kept as a message, because most of it is chit-chat. An operator
//! promotes a message into an event (through the one event intake, keyed by the
//! message so a second promote finds the first event) or dismisses it. Groups are
//! registered to a grid or township; a message carries its group's area, which
//! decides who sees it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::{
    Actor, NewEvent, OrgId, OrgKind, PersonName, Phone, RawNewEvent, RawReporter, Role, mask_phone,
};

use crate::backend::Tx;
use crate::events::{Acting, CreateOutcome};
use crate::pii::Field;
use crate::records::{AuditRecord, Coded, Named, Page};
use crate::reference::{org_by_code, org_by_id};
use crate::sql::{Arg, Sql, bind_all};
use crate::{Store, StoreError, in_tx};

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatStatus {
    New,
    Promoted,
    Dismissed,
}

impl ChatStatus {
    pub const ALL: &'static [ChatStatus] =
        &[ChatStatus::New, ChatStatus::Promoted, ChatStatus::Dismissed];

    pub fn code(self) -> &'static str {
        match self {
            ChatStatus::New => "new",
            ChatStatus::Promoted => "promoted",
            ChatStatus::Dismissed => "dismissed",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ChatStatus::New => "待处理",
            ChatStatus::Promoted => "已转为事件",
            ChatStatus::Dismissed => "已忽略",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.code() == code)
    }
}

/// A forwarded message whose values have been checked at the edge.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChatMessage {
    pub group_id: String,
    pub group_name: String,
    pub message_id: String,
    pub sender_name: PersonName,
    pub sender_phone: Option<Phone>,
    /// May be empty for a picture-only message (then `images` is not).
    pub text: String,
    pub images: Vec<String>,
    pub sent_at: DateTime<Utc>,
}

/// What the webhook answers: the stored message, new or found again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub id: i64,
    pub created: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatSender {
    pub name: String,
    /// Always masked here: the full number reaches those who handle the event
    /// the message becomes.
    pub phone: Option<String>,
}

pub use crate::records::EventRef;

/// One message as an operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessageView {
    pub id: i64,
    pub group_id: String,
    pub group_name: String,
    pub message_id: String,
    pub township: Option<Named>,
    pub grid: Option<Named>,
    pub sender: ChatSender,
    pub text: String,
    pub images: Vec<String>,
    pub sent_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub status: Coded,
    pub event: Option<EventRef>,
    pub handled_by: Option<String>,
    pub handled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct ChatFilter {
    pub status: Option<ChatStatus>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

/// What the operator adds when promoting; the area defaults to the group's.
#[derive(Debug, Clone, Default)]
pub struct Promotion {
    pub category: Option<String>,
    pub priority: Option<String>,
    /// Grid code, for a message whose group is not registered to a grid.
    pub grid: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Promoted {
    pub message: ChatMessageView,
    /// `Existing` when the message had been promoted before (or a concurrent promote won).
    pub outcome: CreateOutcome,
}

/// The area a group is registered to: a grid (its township follows) or a township.
#[derive(Debug, Clone, Default)]
pub struct GroupArea {
    pub grid: Option<String>,
    pub township: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatGroupView {
    pub group_id: String,
    pub township: Named,
    pub grid: Option<Named>,
    /// Messages still waiting that moved to the new area with the group.
    pub messages_moved: u64,
}

/// Which messages an actor sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChatScope {
    All,
    Township(i64),
    Grid(i64),
}

fn chat_scope(actor: &Actor) -> Option<ChatScope> {
    match (actor.role, actor.org_id) {
        (Role::Admin | Role::CityOperator, _) => Some(ChatScope::All),
        (Role::TownshipOperator, Some(o)) => Some(ChatScope::Township(o.0)),
        (Role::GridWorker, Some(o)) => Some(ChatScope::Grid(o.0)),
        _ => None,
    }
}

/// Whether the actor has a chat-message list at all (for navigation).
pub fn can_view_chat(actor: &Actor) -> bool {
    chat_scope(actor).is_some()
}

/// Operators promote and dismiss; a grid worker only reads their group, since an
/// event they created would name them as its reporter.
fn may_handle(actor: &Actor) -> bool {
    matches!(
        chat_scope(actor),
        Some(ChatScope::All | ChatScope::Township(_))
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct ChatRow {
    id: i64,
    group_id: String,
    message_id: String,
    group_name: String,
    township_id: Option<i64>,
    township_code: Option<String>,
    township_name: Option<String>,
    grid_id: Option<i64>,
    grid_code: Option<String>,
    grid_name: Option<String>,
    sender_name: String,
    sender_phone: Option<String>,
    text: String,
    images: String,
    sent_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    status: String,
    event_id: Option<i64>,
    event_number: Option<String>,
    handled_by_name: Option<String>,
    handled_at: Option<DateTime<Utc>>,
}

const CHAT_SELECT: &str = "SELECT m.id, m.group_id, m.message_id, m.group_name, \
 m.township_id, t.code AS township_code, t.name AS township_name, \
 m.grid_id, g.code AS grid_code, g.name AS grid_name, \
 m.sender_name, m.sender_phone, m.text, m.images, m.sent_at, m.received_at, m.status, \
 m.event_id, e.number AS event_number, u.display_name AS handled_by_name, m.handled_at \
 FROM chat_messages m LEFT JOIN orgs t ON t.id = m.township_id \
 LEFT JOIN orgs g ON g.id = m.grid_id LEFT JOIN events e ON e.id = m.event_id \
 LEFT JOIN users u ON u.id = m.handled_by ";

fn scope_sql(scope: ChatScope) -> Sql {
    let mut q = Sql::default();
    match scope {
        ChatScope::All => {
            q.push("1 = 1");
        }
        ChatScope::Township(id) => {
            q.push("m.township_id = ").arg(Arg::I64(id));
        }
        ChatScope::Grid(id) => {
            q.push("m.grid_id = ").arg(Arg::I64(id));
        }
    }
    q
}

/// Runs `$sql` (a [`Sql`] of the form `SELECT … FROM chat_messages m …`) on the
/// transaction `$tx`, whichever backend it is, returning every [`ChatRow`].
macro_rules! chat_rows {
    ($tx:ident, $sql:expr) => {{
        let sql: Sql = $sql;
        bind_all!(
            sqlx::query_as::<_, ChatRow>(sqlx::AssertSqlSafe(sql.text)),
            sql.args
        )
        .fetch_all(&mut *$tx)
        .await
    }};
}

fn one_in_scope(scope: ChatScope, id: i64) -> Sql {
    let mut q = Sql::new(CHAT_SELECT);
    q.push("WHERE m.id = ").arg(Arg::I64(id)).push(" AND ");
    q.append(scope_sql(scope));
    q
}

fn named(id: Option<i64>, code: Option<String>, name: Option<String>) -> Option<Named> {
    Some(Named {
        id: id?,
        code: code?,
        name: name?,
    })
}

fn view(pii: &crate::pii::Pii, row: ChatRow) -> Result<ChatMessageView, StoreError> {
    let status = ChatStatus::parse(&row.status)
        .ok_or_else(|| StoreError::Corrupt(format!("chat message status {}", row.status)))?;
    let images: Vec<String> = serde_json::from_str(&row.images)
        .map_err(|e| StoreError::Corrupt(format!("images of chat message {}: {e}", row.id)))?;
    Ok(ChatMessageView {
        id: row.id,
        township: named(row.township_id, row.township_code, row.township_name),
        grid: named(row.grid_id, row.grid_code, row.grid_name),
        sender: ChatSender {
            name: pii.open(Field::SenderName, &row.sender_name)?,
            phone: pii
                .open_opt(Field::SenderPhone, row.sender_phone.as_deref())?
                .as_deref()
                .map(mask_phone),
        },
        images,
        status: Coded {
            code: status.code(),
            label: status.label_zh(),
        },
        event: EventRef::of(row.event_id, row.event_number),
        group_id: row.group_id,
        message_id: row.message_id,
        group_name: row.group_name,
        text: row.text,
        sent_at: row.sent_at,
        received_at: row.received_at,
        handled_by: row.handled_by_name,
        handled_at: row.handled_at,
    })
}

/// The idempotency key of a promoted message's event: one event per message.
pub fn external_id(group_id: &str, message_id: &str) -> String {
    format!("{group_id}:{message_id}")
}

/// The event text: the message, then its pictures so the handler can open them.
fn event_text(text: &str, images: &[String]) -> String {
    let mut out = text.trim().to_string();
    if out.is_empty() {
        out = format!("（圈群图片消息，共 {} 张）", images.len());
    }
    if !images.is_empty() {
        out.push_str("\n图片：");
        for i in images {
            out.push('\n');
            out.push_str(i);
        }
    }
    out
}

/// Accepting forwarded messages; only an integration account gets one.
pub struct ChatIntake<'a> {
    store: &'a Store,
    actor: Actor,
}

/// Chat messages for one actor: every query carries the actor's scope.
pub struct ChatRepo<'a> {
    store: &'a Store,
    actor: Actor,
    scope: ChatScope,
}

impl Store {
    pub fn chat_intake(&self, actor: &Actor) -> Option<ChatIntake<'_>> {
        (actor.role == Role::Integration).then(|| ChatIntake {
            store: self,
            actor: actor.clone(),
        })
    }

    /// `None` when the actor's role has no chat messages to see.
    pub fn chat_for(&self, actor: &Actor) -> Option<ChatRepo<'_>> {
        Some(ChatRepo {
            store: self,
            actor: actor.clone(),
            scope: chat_scope(actor)?,
        })
    }
}

impl ChatIntake<'_> {
    /// Stores a message once: the same (group, message id) again returns the first
    /// message unchanged, whatever the retry carries.
    pub async fn receive(
        &self,
        m: &NewChatMessage,
        now: DateTime<Utc>,
    ) -> Result<Received, StoreError> {
        let acting = Acting::from(&self.actor);
        let images =
            serde_json::to_string(&m.images).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let pii = self.store.pii()?;
        in_tx!(self.store, Write, |tx| {
            let area: Option<(i64, Option<i64>)> =
                sqlx::query_as("SELECT township_id, grid_id FROM chat_groups WHERE group_id = $1")
                    .bind(&m.group_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            // ON CONFLICT: a concurrent retry waits for this one and then finds it.
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO chat_messages (group_id, message_id, group_name, township_id, \
                 grid_id, sender_name, sender_phone, text, images, sent_at, received_at, \
                 received_by, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (group_id, message_id) DO NOTHING RETURNING id",
            )
            .bind(&m.group_id)
            .bind(&m.message_id)
            .bind(&m.group_name)
            .bind(area.map(|a| a.0))
            .bind(area.and_then(|a| a.1))
            .bind(pii.seal(Field::SenderName, m.sender_name.as_str()))
            .bind(pii.seal_opt(
                Field::SenderPhone,
                m.sender_phone.as_ref().map(Phone::as_str),
            ))
            .bind(&m.text)
            .bind(&images)
            .bind(m.sent_at)
            .bind(now)
            .bind(self.actor.user_id.0)
            .bind(ChatStatus::New.code())
            .fetch_optional(&mut *tx)
            .await?;
            match inserted {
                Some(id) => {
                    tx.insert_audit(&AuditRecord {
                        at: now,
                        actor: acting.clone(),
                        action: "chat.receive".into(),
                        object_type: "chat_message",
                        object_id: Some(id.to_string()),
                        detail: Some(serde_json::json!({
                            "group_id": m.group_id,
                            "message_id": m.message_id,
                        })),
                    })
                    .await?;
                    Ok::<_, StoreError>(Received { id, created: true })
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "SELECT id FROM chat_messages WHERE group_id = $1 AND message_id = $2",
                    )
                    .bind(&m.group_id)
                    .bind(&m.message_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    Ok(Received { id, created: false })
                }
            }
        })
    }
}

impl ChatRepo<'_> {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Whether this actor may promote and dismiss (and register groups).
    pub fn may_handle(&self) -> bool {
        may_handle(&self.actor)
    }

    fn refuse_readers(&self) -> Result<(), StoreError> {
        if self.may_handle() {
            Ok(())
        } else {
            Err(StoreError::invalid(
                "actor",
                "只有指挥中心（室）可以处理圈群消息",
            ))
        }
    }

    /// Newest first.
    pub async fn list(&self, filter: &ChatFilter) -> Result<Page<ChatMessageView>, StoreError> {
        let mut cond = Sql::new("WHERE ");
        cond.append(scope_sql(self.scope));
        if let Some(s) = filter.status {
            cond.push(" AND m.status = ")
                .arg(Arg::Text(s.code().into()));
        }
        let mut count = Sql::new("SELECT COUNT(*) FROM chat_messages m ");
        count.append(cond.clone());
        let per_page = filter.per_page.clamp(1, 200);
        let page = filter.page.max(1);
        let mut rows = Sql::new(CHAT_SELECT);
        rows.append(cond);
        rows.push(" ORDER BY m.sent_at DESC, m.id DESC LIMIT ")
            .arg(Arg::I64(i64::from(per_page)))
            .push(" OFFSET ")
            .arg(Arg::I64(i64::from(page - 1) * i64::from(per_page)));
        let (total, found) = in_tx!(self.store, Read, |tx| {
            let total = bind_all!(
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count.text)),
                count.args
            )
            .fetch_one(&mut *tx)
            .await?;
            let found = chat_rows!(tx, rows)?;
            Ok::<_, StoreError>((total, found))
        })?;
        Ok(Page {
            items: found
                .into_iter()
                .map(|r| view(self.store.pii()?, r))
                .collect::<Result<_, _>>()?,
            total,
            page,
            per_page,
        })
    }

    pub async fn get(&self, id: i64) -> Result<ChatMessageView, StoreError> {
        let scope = self.scope;
        let row = in_tx!(self.store, Read, |tx| {
            Ok::<_, StoreError>(chat_rows!(tx, one_in_scope(scope, id))?)
        })?
        .into_iter()
        .next()
        .ok_or(StoreError::NotFound)?;
        view(self.store.pii()?, row)
    }

    /// Makes the message an event through the one event intake, keyed by the
    /// message, then links the message to it. A retry (also after a failure between
    /// the two steps) or a second operator finds the same event.
    pub async fn promote(
        &self,
        id: i64,
        p: &Promotion,
        now: DateTime<Utc>,
    ) -> Result<Promoted, StoreError> {
        self.refuse_readers()?;
        let scope = self.scope;
        let (row, sender_is_worker) = in_tx!(self.store, Read, |tx| {
            let row = chat_rows!(tx, one_in_scope(scope, id))?
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound)?;
            // A grid worker posting in their own grid's group reports as one (D1).
            let workers: i64 = match row.grid_id {
                Some(grid) => {
                    sqlx::query_scalar(
                        "SELECT COUNT(*) FROM users WHERE role = $1 AND org_id = $2 \
                         AND display_name = $3 AND active = $4",
                    )
                    .bind(Role::GridWorker.code())
                    .bind(grid)
                    .bind(
                        self.store
                            .pii()?
                            .open(Field::SenderName, &row.sender_name)?,
                    )
                    .bind(true)
                    .fetch_one(&mut *tx)
                    .await?
                }
                None => 0,
            };
            Ok::<_, StoreError>((row, workers > 0))
        })?;
        let events = self.store.events_for(&self.actor);
        if let (Some(event_id), ChatStatus::Promoted) = (
            row.event_id,
            ChatStatus::parse(&row.status).unwrap_or(ChatStatus::New),
        ) {
            let event = events.get(event_id).await?;
            return Ok(Promoted {
                message: view(self.store.pii()?, row)?,
                outcome: CreateOutcome::Existing(Box::new(event)),
            });
        }
        let images: Vec<String> = serde_json::from_str(&row.images)
            .map_err(|e| StoreError::Corrupt(format!("images of chat message {}: {e}", row.id)))?;
        let grid = p
            .grid
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .or_else(|| row.grid_code.clone());
        if grid.is_none() && row.township_code.is_none() {
            return Err(StoreError::invalid(
                "grid",
                "该圈群尚未登记所属区域，请选择事件所在网格",
            ));
        }
        let raw = RawNewEvent {
            channel: zhili_domain::Channel::ChatGroup.code().into(),
            external_id: Some(external_id(&row.group_id, &row.message_id)),
            reporter: Some(RawReporter {
                kind: if sender_is_worker {
                    zhili_domain::ReporterKind::GridWorker
                } else {
                    zhili_domain::ReporterKind::Citizen
                }
                .code()
                .into(),
                name: Some(
                    self.store
                        .pii()?
                        .open(Field::SenderName, &row.sender_name)?,
                ),
                phone: self
                    .store
                    .pii()?
                    .open_opt(Field::SenderPhone, row.sender_phone.as_deref())?,
            }),
            text: event_text(&row.text, &images),
            township: if grid.is_none() {
                row.township_code.clone()
            } else {
                None
            },
            grid,
            category: p.category.clone(),
            priority: p.priority.clone(),
            ..Default::default()
        };
        let new = NewEvent::parse(raw).map_err(|e| {
            // The message's own names for what came from it.
            let field = match e.field.as_str() {
                "external_id" => "message_id".to_string(),
                f => f.replace("reporter.", "sender."),
            };
            StoreError::Invalid {
                field,
                message: e.message,
            }
        })?;
        let outcome = events.create(&new, now).await?;
        let event = match &outcome {
            CreateOutcome::Created(d) | CreateOutcome::Existing(d) => d.id,
        };
        let acting = Acting::from(&self.actor);
        let message = in_tx!(self.store, Write, |tx| {
            // Only a message not linked yet: a concurrent promote linked the same event.
            let changed = sqlx::query(
                "UPDATE chat_messages SET status = $1, event_id = $2, handled_by = $3, \
                 handled_at = $4 WHERE id = $5 AND event_id IS NULL",
            )
            .bind(ChatStatus::Promoted.code())
            .bind(event)
            .bind(self.actor.user_id.0)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 {
                tx.insert_audit(&AuditRecord {
                    at: now,
                    actor: acting.clone(),
                    action: "chat.promote".into(),
                    object_type: "chat_message",
                    object_id: Some(id.to_string()),
                    detail: Some(serde_json::json!({ "event_id": event, "from": row.status })),
                })
                .await?;
            }
            let row = chat_rows!(tx, one_in_scope(scope, id))?
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound)?;
            view(self.store.pii()?, row)
        })?;
        Ok(Promoted { message, outcome })
    }

    /// Marks the message as chit-chat. Dismissing twice changes nothing; a message
    /// already made an event cannot be dismissed. A dismissed one can still be
    /// promoted, should the operator think again.
    pub async fn dismiss(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<ChatMessageView, StoreError> {
        self.refuse_readers()?;
        let scope = self.scope;
        let acting = Acting::from(&self.actor);
        in_tx!(self.store, Write, |tx| {
            let row = chat_rows!(tx, one_in_scope(scope, id))?
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound)?;
            match ChatStatus::parse(&row.status) {
                Some(ChatStatus::Dismissed) => return view(self.store.pii()?, row),
                Some(ChatStatus::Promoted) => {
                    return Err(StoreError::invalid(
                        "status",
                        "该消息已转为事件，不能再忽略",
                    ));
                }
                _ => {}
            }
            let changed = sqlx::query(
                "UPDATE chat_messages SET status = $1, handled_by = $2, handled_at = $3 \
                 WHERE id = $4 AND status = $5",
            )
            .bind(ChatStatus::Dismissed.code())
            .bind(self.actor.user_id.0)
            .bind(now)
            .bind(id)
            .bind(ChatStatus::New.code())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed != 1 {
                return Err(StoreError::Conflict);
            }
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: acting.clone(),
                action: "chat.dismiss".into(),
                object_type: "chat_message",
                object_id: Some(id.to_string()),
                detail: Some(serde_json::json!({
                    "group_id": row.group_id,
                    "message_id": row.message_id,
                })),
            })
            .await?;
            let row = chat_rows!(tx, one_in_scope(scope, id))?
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound)?;
            view(self.store.pii()?, row)
        })
    }

    /// Registers (or moves) a group to a grid or a township. A township's command
    /// room registers its own groups only; the city registers any. Messages still
    /// waiting move with the group, handled ones stay where they were handled.
    pub async fn register_group(
        &self,
        group_id: &str,
        area: &GroupArea,
        now: DateTime<Utc>,
    ) -> Result<ChatGroupView, StoreError> {
        self.refuse_readers()?;
        let scope = self.scope;
        let acting = Acting::from(&self.actor);
        in_tx!(self.store, Write, |tx| {
            let (township, grid) = match (&area.grid, &area.township) {
                (Some(_), Some(_)) => {
                    return Err(StoreError::invalid(
                        "township",
                        "grid 与 township 只需提供其一：网格所属乡镇（街道）自动确定",
                    ));
                }
                (None, None) => {
                    return Err(StoreError::invalid(
                        "grid",
                        "请提供 grid（网格编码）或 township（乡镇编码）",
                    ));
                }
                (Some(code), None) => {
                    let g = org_by_code(&mut tx, code)
                        .await?
                        .filter(|o| o.kind == OrgKind::Grid)
                        .ok_or_else(|| {
                            StoreError::invalid("grid", format!("未知网格编码 {code}"))
                        })?;
                    let t = g.township_id.ok_or_else(|| {
                        StoreError::Corrupt(format!("grid {code} without township"))
                    })?;
                    let t = org_by_id(&mut tx, t)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt(format!("township of grid {code}")))?;
                    (t, Some(g))
                }
                (None, Some(code)) => {
                    let t = org_by_code(&mut tx, code)
                        .await?
                        .filter(|o| o.kind == OrgKind::Township)
                        .ok_or_else(|| {
                            StoreError::invalid("township", format!("未知乡镇（街道）编码 {code}"))
                        })?;
                    (t, None)
                }
            };
            if let ChatScope::Township(own) = scope {
                if township.id != OrgId(own) {
                    let field = if grid.is_some() { "grid" } else { "township" };
                    return Err(StoreError::invalid(field, "只能登记到本乡镇（街道）的区域"));
                }
                let current: Option<i64> =
                    sqlx::query_scalar("SELECT township_id FROM chat_groups WHERE group_id = $1")
                        .bind(group_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if current.is_some_and(|c| c != own) {
                    return Err(StoreError::invalid(
                        "group_id",
                        "该圈群已登记在其他乡镇（街道），请联系市综合指挥中心调整",
                    ));
                }
            }
            let grid_id = grid.as_ref().map(|g| g.id.0);
            sqlx::query(
                "INSERT INTO chat_groups (group_id, township_id, grid_id, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_id) DO UPDATE SET \
                 township_id = excluded.township_id, grid_id = excluded.grid_id, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(group_id)
            .bind(township.id.0)
            .bind(grid_id)
            .bind(now)
            .bind(self.actor.user_id.0)
            .execute(&mut *tx)
            .await?;
            let moved = sqlx::query(
                "UPDATE chat_messages SET township_id = $1, grid_id = $2 \
                 WHERE group_id = $3 AND status = $4",
            )
            .bind(township.id.0)
            .bind(grid_id)
            .bind(group_id)
            .bind(ChatStatus::New.code())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: acting.clone(),
                action: "chat.register_group".into(),
                object_type: "chat_group",
                object_id: Some(group_id.to_string()),
                detail: Some(serde_json::json!({
                    "township": township.code,
                    "grid": grid.as_ref().map(|g| g.code.clone()),
                    "messages_moved": moved,
                })),
            })
            .await?;
            Ok::<_, StoreError>(ChatGroupView {
                group_id: group_id.to_string(),
                township: Named {
                    id: township.id.0,
                    code: township.code,
                    name: township.name,
                },
                grid: grid.map(|g| Named {
                    id: g.id.0,
                    code: g.code,
                    name: g.name,
                }),
                messages_moved: moved,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_follow_the_text_of_the_event() {
        assert_eq!(event_text(" 路灯坏了 ", &[]), "路灯坏了");
        assert_eq!(
            event_text("", &["https://x/1.jpg".into(), "att:2".into()]),
            "（圈群图片消息，共 2 张）\n图片：\nhttps://x/1.jpg\natt:2"
        );
    }

    #[test]
    fn statuses_round_trip() {
        for s in ChatStatus::ALL {
            assert_eq!(ChatStatus::parse(s.code()), Some(*s));
        }
        assert_eq!(ChatStatus::parse("deleted"), None);
    }

    async fn actor(store: &Store, username: &str) -> Actor {
        store
            .user_by_username(username)
            .await
            .unwrap()
            .unwrap()
            .actor
    }

    async fn audits(store: &Store, action: &str) -> i64 {
        let count = async {
            in_tx!(store, Read, |tx| {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log WHERE action = $1")
                    .bind(action)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(StoreError::from)
            })
        };
        count.await.unwrap()
    }

    fn message(id: &str) -> NewChatMessage {
        NewChatMessage {
            group_id: "sb1@chatroom".into(),
            group_name: "舜北1网格群".into(),
            message_id: id.into(),
            sender_name: PersonName::parse("王五").unwrap(),
            sender_phone: None,
            text: "楼道里堆满杂物".into(),
            images: vec![],
            sent_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn every_change_is_audited_and_concurrent_promotes_make_one_event() {
        for store in crate::testing::fresh_stores().await {
            crate::testing::with_small_city(&store, "x").await;
            let now = Utc::now();
            let sys = actor(&store, "sys110").await;
            let fengshan = actor(&store, "fengshan").await;
            let city = actor(&store, "city").await;
            assert!(store.chat_intake(&fengshan).is_none());
            assert!(store.chat_for(&sys).is_none());
            let room = store.chat_for(&fengshan).unwrap();
            room.register_group(
                "sb1@chatroom",
                &GroupArea {
                    grid: Some("33028100200101".into()),
                    township: None,
                },
                now,
            )
            .await
            .unwrap();
            let intake = store.chat_intake(&sys).unwrap();
            let a = intake.receive(&message("a"), now).await.unwrap();
            let again = intake.receive(&message("a"), now).await.unwrap();
            assert_eq!((a.id, a.created, again.created), (a.id, true, false));
            let b = intake.receive(&message("b"), now).await.unwrap();
            assert_eq!(audits(&store, "chat.receive").await, 2);
            assert_eq!(audits(&store, "chat.register_group").await, 1);

            // The command room and the city press 转为事件 at the same moment.
            let city_room = store.chat_for(&city).unwrap();
            let p = Promotion::default();
            let (x, y) = tokio::join!(
                room.promote(a.id, &p, now),
                city_room.promote(a.id, &p, now)
            );
            let (x, y) = (x.unwrap(), y.unwrap());
            let id = |o: &CreateOutcome| match o {
                CreateOutcome::Created(d) | CreateOutcome::Existing(d) => d.id,
            };
            assert_eq!(id(&x.outcome), id(&y.outcome));
            assert_eq!(x.message.event.as_ref().map(|e| e.id), Some(id(&x.outcome)));
            assert_eq!(audits(&store, "chat.promote").await, 1);
            assert_eq!(audits(&store, "event.create").await, 1);

            room.dismiss(b.id, now).await.unwrap();
            room.dismiss(b.id, now).await.unwrap();
            assert_eq!(audits(&store, "chat.dismiss").await, 1);
            let grid1 = store.chat_for(&actor(&store, "grid1").await).unwrap();
            assert!(!grid1.may_handle());
            assert!(matches!(
                grid1.dismiss(b.id, now).await,
                Err(StoreError::Invalid { .. })
            ));
        }
    }
}
