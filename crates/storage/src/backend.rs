//! Every SQL statement zhili runs, written once as text and compiled for both
//! backends: the `impl_tx!` macro implements the statement-level [`Tx`] trait for a
//! SQLite and a PostgreSQL transaction, so the logic above it is plain generic Rust.
//! The SQL sticks to the portable subset (`$n`, `ON CONFLICT`, `RETURNING`).

use std::future::Future;

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use crate::sql::{Arg, Sql, bind_all, pow2_chunks};

/// Raw rows as stored; turned into domain types by the modules above.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct OrgRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub department_id: Option<i64>,
    pub township_id: Option<i64>,
    pub grid_type: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CategoryRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub parent_id: Option<i64>,
    pub platform: String,
    pub focus: bool,
    pub limit_days: i64,
    pub department_id: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub org_id: Option<i64>,
    pub active: bool,
    pub failed_logins: i64,
    pub failed_since: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
    pub must_change_password: bool,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub totp_secret: Option<String>,
    pub totp_pending: Option<String>,
    pub totp_last_step: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A session with its user, read in one statement: every request needs both.
/// Run on the pool without a transaction (see `Store::session`).
pub(crate) const SESSION_BY_TOKEN: &str = "SELECT s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, \
     u.id, u.username, u.display_name, u.password_hash, u.role, u.org_id, u.active, \
     u.failed_logins, u.failed_since, u.locked_until, u.must_change_password, u.password_changed_at, \
     u.totp_secret, u.totp_pending, u.totp_last_step \
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1";

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SessionUserRow {
    #[sqlx(flatten)]
    pub session: SessionRow,
    #[sqlx(flatten)]
    pub user: UserRow,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub id: i64,
    pub number: String,
    pub channel: String,
    pub external_id: Option<String>,
    pub reporter_kind: String,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    pub reporter_user_id: Option<i64>,
    pub text: String,
    pub address: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub priority: String,
    pub status: String,
    pub state: String,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub township_id: i64,
    pub township_code: String,
    pub township_name: String,
    pub village_id: Option<i64>,
    pub village_code: Option<String>,
    pub village_name: Option<String>,
    pub grid_id: Option<i64>,
    pub grid_code: Option<String>,
    pub grid_name: Option<String>,
    pub category_id: Option<i64>,
    pub category_code: Option<String>,
    pub category_name: Option<String>,
    pub lead_unit_id: Option<i64>,
    pub lead_unit_code: Option<String>,
    pub lead_unit_name: Option<String>,
    pub category_limit_days: Option<i64>,
    pub handle_due_at: Option<DateTime<Utc>>,
    pub feedback_due_at: Option<DateTime<Utc>>,
    pub deadline_estimated: bool,
    pub accept_due_at: Option<DateTime<Utc>>,
    pub accept_warn_at: Option<DateTime<Utc>>,
    pub handle_warn_at: Option<DateTime<Utc>>,
    pub feedback_warn_at: Option<DateTime<Utc>>,
    pub followup_due_at: Option<DateTime<Utc>>,
    pub followup_warn_at: Option<DateTime<Utc>>,
    /// The classifier's suggestions and evidence (JSON, `zhili_domain::Classification`).
    pub classification: Option<String>,
    /// Waits in its township's triage queue for an operator to choose the category.
    pub needs_triage: bool,
    /// The routing rule that suggested the event's units.
    pub routing_rule_id: Option<i64>,
    /// The open event this one duplicates (the master of its cluster).
    pub duplicate_of: Option<i64>,
    /// The processing notice its reporter was given (see `notices`).
    pub notice_version: Option<String>,
    /// `zhili_domain::Sensitivity` code, and why it was set.
    pub sensitivity: String,
    pub sensitivity_reason: Option<String>,
}

impl EventRow {
    /// The deadlines as stored.
    pub fn deadlines(&self) -> crate::deadlines::Deadlines {
        use crate::deadlines::Due;
        let due = |at: Option<DateTime<Utc>>, warn: Option<DateTime<Utc>>| {
            at.map(|at| Due {
                at,
                warn_at: warn.unwrap_or(at),
            })
        };
        crate::deadlines::Deadlines {
            accept: due(self.accept_due_at, self.accept_warn_at),
            handle: due(self.handle_due_at, self.handle_warn_at),
            feedback: due(self.feedback_due_at, self.feedback_warn_at),
            followup: due(self.followup_due_at, self.followup_warn_at),
            estimated: self.deadline_estimated,
        }
    }
}

pub(crate) const EVENT_SELECT: &str = "SELECT e.id, e.number, e.channel, e.external_id, \
 e.reporter_kind, e.reporter_name, e.reporter_phone, e.reporter_user_id, e.text, e.address, \
 e.lon, e.lat, e.priority, e.status, e.state, e.reported_at, e.updated_at, e.closed_at, \
 e.version, e.township_id, t.code AS township_code, t.name AS township_name, \
 e.village_id, v.code AS village_code, v.name AS village_name, \
 e.grid_id, g.code AS grid_code, g.name AS grid_name, \
 e.category_id, c.code AS category_code, c.name AS category_name, \
 e.lead_unit_id, u.code AS lead_unit_code, u.name AS lead_unit_name, \
 c.limit_days AS category_limit_days, e.handle_due_at, e.feedback_due_at, e.deadline_estimated, \
 e.accept_due_at, e.accept_warn_at, e.handle_warn_at, e.feedback_warn_at, e.followup_due_at, \
 e.followup_warn_at, e.classification, e.needs_triage, e.routing_rule_id, e.duplicate_of, e.notice_version, \
 e.sensitivity, e.sensitivity_reason FROM events e JOIN orgs t ON t.id = e.township_id \
 LEFT JOIN orgs v ON v.id = e.village_id LEFT JOIN orgs g ON g.id = e.grid_id \
 LEFT JOIN categories c ON c.id = e.category_id LEFT JOIN orgs u ON u.id = e.lead_unit_id ";

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TimelineRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_name: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct UnitLinkRow {
    pub unit_id: i64,
    pub code: String,
    pub name: String,
    pub role: String,
}

#[derive(Debug, Clone)]
pub(crate) struct EventInsert {
    pub number: String,
    pub channel: String,
    pub external_id: Option<String>,
    pub reporter_kind: String,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    /// The keyed hash of the phone (see `pii`).
    pub reporter_phone_index: Option<String>,
    pub reporter_user_id: Option<i64>,
    pub text: String,
    pub address: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub category_id: Option<i64>,
    pub township_id: i64,
    pub village_id: Option<i64>,
    pub grid_id: Option<i64>,
    pub priority: String,
    pub status: String,
    pub lead_unit_id: Option<i64>,
    pub state: String,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
    pub deadlines: crate::deadlines::Deadlines,
    pub classification: Option<String>,
    pub needs_triage: bool,
    pub routing_rule_id: Option<i64>,
    pub duplicate_of: Option<i64>,
    /// The rung it starts at (a copy of the state's, for querying).
    pub level: &'static str,
    /// The processing notice in force (see `notices`); none for replayed history.
    pub notice_version: Option<String>,
    pub sensitivity: zhili_domain::Sensitivity,
    pub sensitivity_reason: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct TimelineInsert {
    pub event_id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
    pub data: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct OutboxRow {
    pub id: i64,
    pub topic: String,
    pub dedup_key: String,
    pub event_id: Option<i64>,
    pub payload: String,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct OutboxHealthRow {
    pub pending: i64,
    pub failing: i64,
    pub oldest_pending: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PendingOutboxRow {
    pub id: i64,
    pub topic: String,
    pub event_id: Option<i64>,
    pub event_number: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A staff member's (phone, e-mail) for notices.
pub(crate) type Contact = (Option<String>, Option<String>);

/// A lifecycle change to write, guarded by the version that was read.
#[derive(Debug, Clone)]
pub(crate) struct StateUpdate<'a> {
    pub id: i64,
    pub version: i64,
    pub status: &'a str,
    pub lead_unit_id: Option<i64>,
    pub state: &'a str,
    pub at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub deadlines: crate::deadlines::Deadlines,
    pub level: &'a str,
}

/// The statements, one method each. Implemented for both backends' transactions.
pub(crate) trait Tx: Send + Sized {
    fn commit(self) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    fn insert_org(
        &mut self,
        o: &crate::records::NewOrg,
    ) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;
    fn set_township(
        &mut self,
        id: i64,
        township_id: i64,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn org_where(
        &mut self,
        sql: Sql,
    ) -> impl Future<Output = Result<Vec<OrgRow>, sqlx::Error>> + Send;
    fn grid_polygons(
        &mut self,
    ) -> impl Future<Output = Result<Vec<(i64, String)>, sqlx::Error>> + Send;
    fn insert_category(
        &mut self,
        c: &crate::records::NewCategory,
    ) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;
    fn category_where(
        &mut self,
        sql: Sql,
    ) -> impl Future<Output = Result<Vec<CategoryRow>, sqlx::Error>> + Send;
    fn insert_user(
        &mut self,
        u: &crate::records::NewUser,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;
    fn user_where(
        &mut self,
        sql: Sql,
    ) -> impl Future<Output = Result<Option<UserRow>, sqlx::Error>> + Send;

    fn insert_session(
        &mut self,
        token_hash: &str,
        user_id: i64,
        csrf: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn touch_session(
        &mut self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn delete_session(
        &mut self,
        token_hash: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Takes the next `by` values of a named counter; returns the last of them.
    fn next_counter(
        &mut self,
        name: &str,
        by: i64,
    ) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;
    /// The ids of the events stored under these external ids of one channel.
    fn events_by_external_ids(
        &mut self,
        channel: &str,
        external_ids: &[&str],
    ) -> impl Future<Output = Result<Vec<(String, i64)>, sqlx::Error>> + Send;
    /// New events in one statement (a group commit's or an import's); returns
    /// (id, number) of each, in no particular order.
    fn insert_events(
        &mut self,
        events: &[&EventInsert],
    ) -> impl Future<Output = Result<Vec<(i64, String)>, sqlx::Error>> + Send;
    /// The first timeline entry (seq 1) of new events, in one statement.
    fn insert_first_timelines(
        &mut self,
        entries: &[TimelineInsert],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Appends records to the audit chain, each from the request being served now
    /// (if any).
    fn insert_audits(
        &mut self,
        records: &[crate::records::AuditRecord],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Appends records each from the request given with it: for a batch that
    /// serves several requests at once (group commit).
    fn insert_audits_from(
        &mut self,
        records: &[(
            &crate::records::AuditRecord,
            Option<&crate::audit::RequestContext>,
        )],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn event_by_external_id(
        &mut self,
        channel: &str,
        external_id: &str,
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send;
    fn update_event_state(
        &mut self,
        u: &StateUpdate<'_>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    fn link_units(
        &mut self,
        event_id: i64,
        lead: i64,
        assisting: &[i64],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn unlink_units(
        &mut self,
        event_id: i64,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn unit_links(
        &mut self,
        event_id: i64,
    ) -> impl Future<Output = Result<Vec<UnitLinkRow>, sqlx::Error>> + Send;
    fn insert_timeline(
        &mut self,
        t: &TimelineInsert,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn timeline(
        &mut self,
        event_id: i64,
    ) -> impl Future<Output = Result<Vec<TimelineRow>, sqlx::Error>> + Send;
    fn events_where(
        &mut self,
        sql: Sql,
    ) -> impl Future<Output = Result<Vec<EventRow>, sqlx::Error>> + Send;
    fn count(&mut self, sql: Sql) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;
    fn insert_outbox(
        &mut self,
        topic: &str,
        dedup_key: &str,
        event_id: Option<i64>,
        payload: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Leases up to `limit` due messages to `owner` until `until`. Two instances never
    /// lease the same message at once (SKIP LOCKED on PostgreSQL, the single writer
    /// on SQLite).
    fn lease_outbox(
        &mut self,
        owner: &str,
        topic: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<OutboxRow>, sqlx::Error>> + Send;
    fn outbox_done(
        &mut self,
        id: i64,
        owner: &str,
        receipt: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    fn outbox_retry(
        &mut self,
        id: i64,
        owner: &str,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    /// Pending messages, of the events of `township` only when given (a message
    /// without an event then does not count).
    fn outbox_health(
        &mut self,
        township: Option<i64>,
    ) -> impl Future<Output = Result<OutboxHealthRow, sqlx::Error>> + Send;
    /// Pending messages oldest first, scoped as [`Tx::outbox_health`].
    fn pending_outbox(
        &mut self,
        township: Option<i64>,
        failing_only: bool,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<PendingOutboxRow>, sqlx::Error>> + Send;
    fn put_calendar_year(
        &mut self,
        year: i64,
        data: &str,
        at: DateTime<Utc>,
        by: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn calendar_years(
        &mut self,
    ) -> impl Future<Output = Result<Vec<(i64, String)>, sqlx::Error>> + Send;
    /// Appends one record to the audit chain (`audit.rs`), from the request being
    /// served now (if any).
    fn insert_audit(
        &mut self,
        a: &crate::records::AuditRecord,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// The hash the next audit record follows, with the chain held for this
    /// transaction: on PostgreSQL an advisory lock until commit, on SQLite the write
    /// lock the transaction holds already.
    fn audit_chain_head(&mut self) -> impl Future<Output = Result<String, sqlx::Error>> + Send;

    /// Records that a warning fired; `None` when it had fired already (by this or
    /// another instance): the unique key makes each warning fire once.
    /// `by`: the instance whose sweep fired it.
    fn insert_alert(
        &mut self,
        event_id: i64,
        clock: &str,
        level: &str,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
        by: &str,
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send;
    fn insert_notification(
        &mut self,
        n: &crate::warnings::NewNotification,
    ) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;
    /// Phone and e-mail of the active users a notice for `org_id` reaches.
    fn notice_contacts(
        &mut self,
        org_id: i64,
    ) -> impl Future<Output = Result<Vec<Contact>, sqlx::Error>> + Send;
    fn mark_notification_read(
        &mut self,
        id: i64,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Rows of any shape from a built statement: for the modules whose statements are
    /// their own (supervision, KPIs, recurring problems).
    fn rows<R>(&mut self, sql: Sql) -> impl Future<Output = Result<Vec<R>, sqlx::Error>> + Send
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin;
    /// Like [`Tx::rows`], for statements whose text changes with the size of a batch
    /// (long `IN` lists, `UNION ALL` of one branch per job): not kept prepared, and
    /// with anonymous placeholders on SQLite, so each placeholder must appear once,
    /// in order.
    fn bulk_rows<R>(
        &mut self,
        sql: Sql,
    ) -> impl Future<Output = Result<Vec<R>, sqlx::Error>> + Send
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin;
    /// A built statement's affected-row count.
    fn exec(&mut self, sql: Sql) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    /// Every deadline of an event, counted again; guarded by the version read.
    fn update_deadlines(
        &mut self,
        id: i64,
        version: i64,
        d: &crate::deadlines::Deadlines,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
}

/// An audit record as stored and chained after `prev`: its time cut to what both
/// backends keep, its detail as text, where it came from, its hash.
struct Chained<'a> {
    at: DateTime<Utc>,
    detail: Option<String>,
    actor_role: Option<&'static str>,
    ip: Option<&'a str>,
    request_id: Option<&'a str>,
    hash: String,
}

fn chained<'a>(
    a: &crate::records::AuditRecord,
    from: Option<&'a crate::audit::RequestContext>,
    prev: &str,
) -> Chained<'a> {
    let at = crate::audit::stored_time(a.at);
    let detail = a.detail.as_ref().map(|d| d.to_string());
    let actor_role = a.actor.role.map(|r| r.code());
    let ip = from.and_then(|f| f.ip.as_deref());
    let request_id = from.and_then(|f| f.request_id.as_deref());
    let hash = crate::audit::Canonical::new(crate::audit::Columns {
        at,
        actor_id: a.actor.user_id.map(|u| u.0),
        actor_name: &a.actor.name,
        action: &a.action,
        object_type: a.object_type,
        object_id: a.object_id.as_deref(),
        detail: detail.as_deref(),
        actor_role,
        actor_org_id: a.actor.org_id.map(|o| o.0),
        ip,
        request_id,
    })
    .hash(prev);
    Chained {
        at,
        detail,
        actor_role,
        ip,
        request_id,
        hash,
    }
}

macro_rules! impl_tx {
    ($db:ty, $skip_locked:literal, $chain_lock:literal, $bulk_text:path) => {
        impl<'c> Tx for sqlx::Transaction<'c, $db> {
            async fn commit(self) -> Result<(), sqlx::Error> {
                sqlx::Transaction::commit(self).await
            }

            async fn insert_org(&mut self, o: &crate::records::NewOrg) -> Result<i64, sqlx::Error> {
                let polygon = o
                    .polygon
                    .as_ref()
                    .map(|p| serde_json::to_string(&p.iter().map(|(x, y)| [*x, *y]).collect::<Vec<_>>()))
                    .transpose()
                    .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
                sqlx::query_scalar(
                    "INSERT INTO orgs (code, name, kind, parent_id, department_id, township_id, grid_type, polygon) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(&o.code)
                .bind(&o.name)
                .bind(o.kind.code())
                .bind(o.parent_id.map(|i| i.0))
                .bind(o.department_id.map(|i| i.0))
                .bind(o.township_id.map(|i| i.0))
                .bind(o.grid_type.map(|g| g.code()))
                .bind(polygon)
                .fetch_one(&mut **self)
                .await
            }

            async fn set_township(&mut self, id: i64, township_id: i64) -> Result<(), sqlx::Error> {
                sqlx::query("UPDATE orgs SET township_id = $2 WHERE id = $1")
                    .bind(id)
                    .bind(township_id)
                    .execute(&mut **self)
                    .await
                    .map(|_| ())
            }

            async fn org_where(&mut self, sql: Sql) -> Result<Vec<OrgRow>, sqlx::Error> {
                let mut full = Sql::new(
                    "SELECT id, code, name, kind, parent_id, department_id, township_id, grid_type FROM orgs WHERE ",
                );
                full.append(sql);
                bind_all!(sqlx::query_as::<_, OrgRow>(AssertSqlSafe(full.text)), full.args)
                    .fetch_all(&mut **self)
                    .await
            }

            async fn grid_polygons(&mut self) -> Result<Vec<(i64, String)>, sqlx::Error> {
                sqlx::query_as("SELECT id, polygon FROM orgs WHERE kind = 'grid' AND polygon IS NOT NULL ORDER BY id")
                    .fetch_all(&mut **self)
                    .await
            }

            async fn insert_category(&mut self, c: &crate::records::NewCategory) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO categories (code, name, parent_id, platform, focus, limit_days, department_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(&c.code)
                .bind(&c.name)
                .bind(c.parent_id.map(|i| i.0))
                .bind(c.platform.code())
                .bind(c.focus)
                .bind(i64::from(c.limit_days))
                .bind(c.department_id.map(|i| i.0))
                .fetch_one(&mut **self)
                .await
            }

            async fn category_where(&mut self, sql: Sql) -> Result<Vec<CategoryRow>, sqlx::Error> {
                let mut full = Sql::new(
                    "SELECT id, code, name, parent_id, platform, focus, limit_days, department_id FROM categories WHERE ",
                );
                full.append(sql);
                bind_all!(sqlx::query_as::<_, CategoryRow>(AssertSqlSafe(full.text)), full.args)
                    .fetch_all(&mut **self)
                    .await
            }

            async fn insert_user(&mut self, u: &crate::records::NewUser, at: DateTime<Utc>) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO users (username, display_name, password_hash, role, org_id, active, created_at, \
                     password_changed_at, must_change_password) VALUES ($1, $2, $3, $4, $5, TRUE, $6, $6, $7) RETURNING id",
                )
                .bind(&u.username)
                .bind(&u.display_name)
                .bind(&u.password_hash)
                .bind(u.role.code())
                .bind(u.org_id.map(|i| i.0))
                .bind(at)
                .bind(u.must_change_password)
                .fetch_one(&mut **self)
                .await
            }

            async fn user_where(&mut self, sql: Sql) -> Result<Option<UserRow>, sqlx::Error> {
                let mut full = Sql::new(
                    "SELECT id, username, display_name, password_hash, role, org_id, active, failed_logins, failed_since, locked_until, \
                     must_change_password, password_changed_at, totp_secret, totp_pending, totp_last_step FROM users WHERE ",
                );
                full.append(sql);
                bind_all!(sqlx::query_as::<_, UserRow>(AssertSqlSafe(full.text)), full.args)
                    .fetch_optional(&mut **self)
                    .await
            }

            async fn insert_session(
                &mut self,
                token_hash: &str,
                user_id: i64,
                csrf: &str,
                now: DateTime<Utc>,
                expires_at: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $4, $5)",
                )
                .bind(token_hash)
                .bind(user_id)
                .bind(csrf)
                .bind(now)
                .bind(expires_at)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn touch_session(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
                sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
                    .bind(token_hash)
                    .bind(now)
                    .execute(&mut **self)
                    .await
                    .map(|_| ())
            }

            async fn delete_session(&mut self, token_hash: &str) -> Result<(), sqlx::Error> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&mut **self)
                    .await
                    .map(|_| ())
            }

            async fn next_counter(&mut self, name: &str, by: i64) -> Result<i64, sqlx::Error> {
                // The row lock (PostgreSQL) or the write lock (SQLite) makes this
                // atomic across processes: no two events get the same number.
                sqlx::query_scalar(
                    "INSERT INTO counters (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET value = counters.value + $2 RETURNING value",
                )
                .bind(name)
                .bind(by)
                .fetch_one(&mut **self)
                .await
            }

            async fn events_by_external_ids(&mut self, channel: &str, external_ids: &[&str]) -> Result<Vec<(String, i64)>, sqlx::Error> {
                let mut out = Vec::new();
                for chunk in pow2_chunks(external_ids, 128) {
                    let mut q = Sql::new("SELECT external_id, id FROM events WHERE channel = ");
                    q.arg(Arg::Text(channel.to_string())).push(" AND external_id IN ");
                    q.list(chunk.iter().map(|ext| Arg::Text(ext.to_string())));
                    let rows: Vec<(String, i64)> =
                        bind_all!(sqlx::query_as(AssertSqlSafe($bulk_text(q.text))), q.args)
                            .fetch_all(&mut **self)
                            .await?;
                    out.extend(rows);
                }
                Ok(out)
            }

            async fn insert_events(&mut self, events: &[&EventInsert]) -> Result<Vec<(i64, String)>, sqlx::Error> {
                let mut out = Vec::with_capacity(events.len());
                // 40 values a row, 64 rows: far below either backend's limit on
                // parameters. Runs of powers of two keep the statements prepared.
                for chunk in pow2_chunks(events, 64) {
                    let mut q = Sql::new(
                        "INSERT INTO events (number, channel, external_id, reporter_kind, reporter_name, reporter_phone, \
                         reporter_phone_index, reporter_user_id, text, address, lon, lat, category_id, township_id, village_id, grid_id, \
                         priority, status, lead_unit_id, state, reported_at, updated_at, closed_at, created_by, version, \
                         handle_due_at, feedback_due_at, deadline_estimated, accept_due_at, accept_warn_at, \
                         handle_warn_at, feedback_warn_at, classification, needs_triage, routing_rule_id, \
                         duplicate_of, level, notice_version, sensitivity, sensitivity_reason) VALUES ",
                    );
                    q.rows(chunk.iter().map(|e| {
                        [
                            Arg::Text(e.number.clone()),
                            Arg::Text(e.channel.clone()),
                            Arg::OptText(e.external_id.clone()),
                            Arg::Text(e.reporter_kind.clone()),
                            Arg::OptText(e.reporter_name.clone()),
                            Arg::OptText(e.reporter_phone.clone()),
                            Arg::OptText(e.reporter_phone_index.clone()),
                            Arg::OptI64(e.reporter_user_id),
                            Arg::Text(e.text.clone()),
                            Arg::OptText(e.address.clone()),
                            Arg::F64(e.lon),
                            Arg::F64(e.lat),
                            Arg::OptI64(e.category_id),
                            Arg::I64(e.township_id),
                            Arg::OptI64(e.village_id),
                            Arg::OptI64(e.grid_id),
                            Arg::Text(e.priority.clone()),
                            Arg::Text(e.status.clone()),
                            Arg::OptI64(e.lead_unit_id),
                            Arg::Text(e.state.clone()),
                            Arg::Time(e.reported_at),
                            Arg::Time(e.updated_at),
                            Arg::OptTime(e.closed_at),
                            Arg::OptI64(e.created_by),
                            Arg::I64(0),
                            Arg::OptTime(e.deadlines.handle.map(|d| d.at)),
                            Arg::OptTime(e.deadlines.feedback.map(|d| d.at)),
                            Arg::Bool(e.deadlines.estimated),
                            Arg::OptTime(e.deadlines.accept.map(|d| d.at)),
                            Arg::OptTime(e.deadlines.accept.map(|d| d.warn_at)),
                            Arg::OptTime(e.deadlines.handle.map(|d| d.warn_at)),
                            Arg::OptTime(e.deadlines.feedback.map(|d| d.warn_at)),
                            Arg::OptText(e.classification.clone()),
                            Arg::Bool(e.needs_triage),
                            Arg::OptI64(e.routing_rule_id),
                            Arg::OptI64(e.duplicate_of),
                            Arg::Text(e.level.into()),
                            Arg::OptText(e.notice_version.clone()),
                            Arg::Text(e.sensitivity.code().into()),
                            Arg::OptText(e.sensitivity_reason.clone()),
                        ]
                    }));
                    q.push(" RETURNING id, number");
                    let rows: Vec<(i64, String)> =
                        bind_all!(sqlx::query_as(AssertSqlSafe($bulk_text(q.text))), q.args)
                            .fetch_all(&mut **self)
                            .await?;
                    out.extend(rows);
                }
                Ok(out)
            }

            async fn insert_first_timelines(&mut self, entries: &[TimelineInsert]) -> Result<(), sqlx::Error> {
                for chunk in pow2_chunks(entries, 128) {
                    let mut q = Sql::new(
                        "INSERT INTO timeline (event_id, seq, at, actor_id, actor_name, action, from_status, to_status, note, data) VALUES ",
                    );
                    q.rows(chunk.iter().map(|t| {
                        [
                            Arg::I64(t.event_id),
                            Arg::I64(1),
                            Arg::Time(t.at),
                            Arg::OptI64(t.actor_id),
                            Arg::Text(t.actor_name.clone()),
                            Arg::Text(t.action.clone()),
                            Arg::OptText(t.from_status.clone()),
                            Arg::Text(t.to_status.clone()),
                            Arg::OptText(t.note.clone()),
                            Arg::OptText(t.data.clone()),
                        ]
                    }));
                    bind_all!(sqlx::query(AssertSqlSafe($bulk_text(q.text))), q.args)
                        .execute(&mut **self)
                        .await?;
                }
                Ok(())
            }

            async fn insert_audits(&mut self, records: &[crate::records::AuditRecord]) -> Result<(), sqlx::Error> {
                let from = crate::audit::RequestContext::current();
                let sourced: Vec<_> = records.iter().map(|r| (r, from.as_ref())).collect();
                self.insert_audits_from(&sourced).await
            }

            async fn insert_audits_from(
                &mut self,
                records: &[(&crate::records::AuditRecord, Option<&crate::audit::RequestContext>)],
            ) -> Result<(), sqlx::Error> {
                if records.is_empty() {
                    return Ok(());
                }
                let mut prev = self.audit_chain_head().await?;
                for chunk in pow2_chunks(records, 128) {
                    let mut q = Sql::new(
                        "INSERT INTO audit_log (at, actor_id, actor_name, action, object_type, object_id, detail, \
                         actor_role, actor_org_id, ip, request_id, prev_hash, hash) VALUES ",
                    );
                    q.rows(chunk.iter().map(|(a, from)| {
                        let c = chained(a, *from, &prev);
                        [
                            Arg::Time(c.at),
                            Arg::OptI64(a.actor.user_id.map(|u| u.0)),
                            Arg::Text(a.actor.name.clone()),
                            Arg::Text(a.action.clone()),
                            Arg::Text(a.object_type.to_string()),
                            Arg::OptText(a.object_id.clone()),
                            Arg::OptText(c.detail),
                            Arg::OptText(c.actor_role.map(String::from)),
                            Arg::OptI64(a.actor.org_id.map(|o| o.0)),
                            Arg::OptText(c.ip.map(String::from)),
                            Arg::OptText(c.request_id.map(String::from)),
                            Arg::Text(std::mem::replace(&mut prev, c.hash.clone())),
                            Arg::Text(c.hash),
                        ]
                    }));
                    bind_all!(sqlx::query(AssertSqlSafe($bulk_text(q.text))), q.args)
                        .execute(&mut **self)
                        .await?;
                }
                Ok(())
            }

            async fn event_by_external_id(&mut self, channel: &str, external_id: &str) -> Result<Option<i64>, sqlx::Error> {
                sqlx::query_scalar("SELECT id FROM events WHERE channel = $1 AND external_id = $2")
                    .bind(channel)
                    .bind(external_id)
                    .fetch_optional(&mut **self)
                    .await
            }

            async fn update_event_state(&mut self, u: &StateUpdate<'_>) -> Result<u64, sqlx::Error> {
                // Optimistic: the version read must still be the version stored.
                sqlx::query(
                    "UPDATE events SET status = $3, lead_unit_id = $4, state = $5, updated_at = $6, \
                     closed_at = $7, handle_due_at = $8, deadline_estimated = $9, handle_warn_at = $10, \
                     followup_due_at = $11, followup_warn_at = $12, level = $13, version = version + 1 \
                     WHERE id = $1 AND version = $2",
                )
                .bind(u.id)
                .bind(u.version)
                .bind(u.status)
                .bind(u.lead_unit_id)
                .bind(u.state)
                .bind(u.at)
                .bind(u.closed_at)
                .bind(u.deadlines.handle.map(|d| d.at))
                .bind(u.deadlines.estimated)
                .bind(u.deadlines.handle.map(|d| d.warn_at))
                .bind(u.deadlines.followup.map(|d| d.at))
                .bind(u.deadlines.followup.map(|d| d.warn_at))
                .bind(u.level)
                .execute(&mut **self)
                .await
                .map(|r| r.rows_affected())
            }

            async fn link_units(&mut self, event_id: i64, lead: i64, assisting: &[i64], at: DateTime<Utc>) -> Result<(), sqlx::Error> {
                self.unlink_units(event_id).await?;
                let roles = std::iter::once((lead, "lead")).chain(assisting.iter().map(|u| (*u, "assist")));
                for (unit, role) in roles {
                    sqlx::query(
                        "INSERT INTO event_units (event_id, unit_id, role, assigned_at, active) VALUES ($1, $2, $3, $4, TRUE) \
                         ON CONFLICT (event_id, unit_id) DO UPDATE SET role = $3, assigned_at = $4, active = TRUE",
                    )
                    .bind(event_id)
                    .bind(unit)
                    .bind(role)
                    .bind(at)
                    .execute(&mut **self)
                    .await?;
                }
                Ok(())
            }

            async fn unlink_units(&mut self, event_id: i64) -> Result<(), sqlx::Error> {
                sqlx::query("UPDATE event_units SET active = FALSE WHERE event_id = $1")
                    .bind(event_id)
                    .execute(&mut **self)
                    .await
                    .map(|_| ())
            }

            async fn unit_links(&mut self, event_id: i64) -> Result<Vec<UnitLinkRow>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT eu.unit_id, o.code, o.name, eu.role FROM event_units eu JOIN orgs o ON o.id = eu.unit_id \
                     WHERE eu.event_id = $1 AND eu.active ORDER BY eu.role DESC, o.code",
                )
                .bind(event_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn insert_timeline(&mut self, t: &TimelineInsert) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO timeline (event_id, seq, at, actor_id, actor_name, action, from_status, to_status, note, data) \
                     VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM timeline WHERE event_id = $1), \
                     $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(t.event_id)
                .bind(t.at)
                .bind(t.actor_id)
                .bind(&t.actor_name)
                .bind(&t.action)
                .bind(&t.from_status)
                .bind(&t.to_status)
                .bind(&t.note)
                .bind(&t.data)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn timeline(&mut self, event_id: i64) -> Result<Vec<TimelineRow>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT seq, at, actor_name, action, from_status, to_status, note FROM timeline \
                     WHERE event_id = $1 ORDER BY seq",
                )
                .bind(event_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn events_where(&mut self, sql: Sql) -> Result<Vec<EventRow>, sqlx::Error> {
                let mut full = Sql::new(EVENT_SELECT);
                full.append(sql);
                bind_all!(sqlx::query_as::<_, EventRow>(AssertSqlSafe(full.text)), full.args)
                    .fetch_all(&mut **self)
                    .await
            }

            async fn count(&mut self, sql: Sql) -> Result<i64, sqlx::Error> {
                bind_all!(sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.text)), sql.args)
                    .fetch_one(&mut **self)
                    .await
            }

            async fn insert_outbox(
                &mut self,
                topic: &str,
                dedup_key: &str,
                event_id: Option<i64>,
                payload: &str,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                // The same key twice is the same message: keep the first.
                sqlx::query(
                    "INSERT INTO outbox (topic, dedup_key, event_id, payload, status, attempts, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) ON CONFLICT (dedup_key) DO NOTHING",
                )
                .bind(topic)
                .bind(dedup_key)
                .bind(event_id)
                .bind(payload)
                .bind(now)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn lease_outbox(
                &mut self,
                owner: &str,
                topic: &str,
                now: DateTime<Utc>,
                until: DateTime<Utc>,
                limit: i64,
            ) -> Result<Vec<OutboxRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "UPDATE outbox SET lease_owner = $1, lease_until = $2 WHERE id IN (",
                    "SELECT id FROM outbox WHERE status = 'pending' AND topic = $5 AND next_attempt_at <= $3 ",
                    "AND (lease_until IS NULL OR lease_until < $3) ORDER BY id LIMIT $4 ",
                    $skip_locked,
                    ") RETURNING id, topic, dedup_key, event_id, payload, attempts, created_at"
                ))
                .bind(owner)
                .bind(until)
                .bind(now)
                .bind(limit)
                .bind(topic)
                .fetch_all(&mut **self)
                .await
            }

            async fn outbox_done(&mut self, id: i64, owner: &str, receipt: &str, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
                sqlx::query(
                    "UPDATE outbox SET status = 'delivered', delivered_at = $4, receipt = $3, attempts = attempts + 1, \
                     delivered_by = lease_owner, lease_owner = NULL, lease_until = NULL, last_error = NULL \
                     WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
                )
                .bind(id)
                .bind(owner)
                .bind(receipt)
                .bind(now)
                .execute(&mut **self)
                .await
                .map(|r| r.rows_affected())
            }

            async fn outbox_retry(
                &mut self,
                id: i64,
                owner: &str,
                error: &str,
                next_attempt_at: DateTime<Utc>,
            ) -> Result<u64, sqlx::Error> {
                sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4, \
                     lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
                )
                .bind(id)
                .bind(owner)
                .bind(error)
                .bind(next_attempt_at)
                .execute(&mut **self)
                .await
                .map(|r| r.rows_affected())
            }

            async fn outbox_health(&mut self, township: Option<i64>) -> Result<OutboxHealthRow, sqlx::Error> {
                sqlx::query_as(
                    "SELECT COUNT(*) AS pending, \
                     COUNT(CASE WHEN o.attempts > 0 THEN 1 END) AS failing, \
                     MIN(o.created_at) AS oldest_pending, \
                     (SELECT o2.last_error FROM outbox o2 LEFT JOIN events e2 ON e2.id = o2.event_id \
                      WHERE o2.status = 'pending' AND o2.last_error IS NOT NULL \
                      AND ($1 IS NULL OR e2.township_id = $1) ORDER BY o2.id DESC LIMIT 1) AS last_error \
                     FROM outbox o LEFT JOIN events e ON e.id = o.event_id \
                     WHERE o.status = 'pending' AND ($1 IS NULL OR e.township_id = $1)",
                )
                .bind(township)
                .fetch_one(&mut **self)
                .await
            }

            async fn pending_outbox(
                &mut self,
                township: Option<i64>,
                failing_only: bool,
                limit: i64,
            ) -> Result<Vec<PendingOutboxRow>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT o.id, o.topic, o.event_id, e.number AS event_number, o.attempts, \
                     o.last_error, o.next_attempt_at, o.created_at \
                     FROM outbox o LEFT JOIN events e ON e.id = o.event_id \
                     WHERE o.status = 'pending' AND ($1 IS NULL OR e.township_id = $1) \
                     AND ($2 = 0 OR o.attempts > 0) ORDER BY o.id LIMIT $3",
                )
                .bind(township)
                .bind(i64::from(failing_only))
                .bind(limit)
                .fetch_all(&mut **self)
                .await
            }

            async fn put_calendar_year(&mut self, year: i64, data: &str, at: DateTime<Utc>, by: &str) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO calendar_years (year, data, loaded_at, loaded_by) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (year) DO UPDATE SET data = $2, loaded_at = $3, loaded_by = $4",
                )
                .bind(year)
                .bind(data)
                .bind(at)
                .bind(by)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn calendar_years(&mut self) -> Result<Vec<(i64, String)>, sqlx::Error> {
                sqlx::query_as("SELECT year, data FROM calendar_years ORDER BY year")
                    .fetch_all(&mut **self)
                    .await
            }

            async fn insert_audit(&mut self, a: &crate::records::AuditRecord) -> Result<(), sqlx::Error> {
                let prev = self.audit_chain_head().await?;
                let from = crate::audit::RequestContext::current();
                let c = chained(a, from.as_ref(), &prev);
                sqlx::query(
                    "INSERT INTO audit_log (at, actor_id, actor_name, action, object_type, object_id, detail, \
                     actor_role, actor_org_id, ip, request_id, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(c.at)
                .bind(a.actor.user_id.map(|u| u.0))
                .bind(&a.actor.name)
                .bind(&a.action)
                .bind(a.object_type)
                .bind(&a.object_id)
                .bind(c.detail)
                .bind(c.actor_role)
                .bind(a.actor.org_id.map(|o| o.0))
                .bind(c.ip)
                .bind(c.request_id)
                .bind(prev)
                .bind(c.hash)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn audit_chain_head(&mut self) -> Result<String, sqlx::Error> {
                if !$chain_lock.is_empty() {
                    sqlx::query($chain_lock).execute(&mut **self).await?;
                }
                let last: Option<Option<String>> =
                    sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
                        .fetch_optional(&mut **self)
                        .await?;
                // An unsealed last record cannot be followed properly; chaining on from
                // the start leaves the break where `audit verify` will show it.
                Ok(last.flatten().unwrap_or_else(|| crate::audit::GENESIS.to_string()))
            }


            async fn insert_alert(
                &mut self,
                event_id: i64,
                clock: &str,
                level: &str,
                due_at: DateTime<Utc>,
                now: DateTime<Utc>,
                by: &str,
            ) -> Result<Option<i64>, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO deadline_alerts (event_id, clock, level, due_at, fired_at, fired_by) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(event_id)
                .bind(clock)
                .bind(level)
                .bind(due_at)
                .bind(now)
                .bind(by)
                .fetch_optional(&mut **self)
                .await
            }

            async fn insert_notification(&mut self, n: &crate::warnings::NewNotification) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO notifications (event_id, org_id, kind, title, body, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(n.event_id)
                .bind(n.org_id)
                .bind(n.kind)
                .bind(&n.title)
                .bind(&n.body)
                .bind(n.at)
                .fetch_one(&mut **self)
                .await
            }

            async fn notice_contacts(&mut self, org_id: i64) -> Result<Vec<Contact>, sqlx::Error> {
                // A notice to the city reaches its command centre and leaders, who
                // belong to no org below the city.
                sqlx::query_as(
                    "SELECT u.phone, u.email FROM users u WHERE u.active AND (u.phone IS NOT NULL OR u.email IS NOT NULL) \
                     AND (u.org_id = $1 OR (u.role IN ('city_operator', 'city_leader') \
                     AND EXISTS (SELECT 1 FROM orgs o WHERE o.id = $1 AND o.kind = 'city'))) ORDER BY u.id",
                )
                .bind(org_id)
                .fetch_all(&mut **self)
                .await
            }


            async fn rows<R>(&mut self, sql: Sql) -> Result<Vec<R>, sqlx::Error>
            where
                R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
                    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
                    + Send
                    + Unpin,
            {
                bind_all!(sqlx::query_as::<_, R>(AssertSqlSafe(sql.text)), sql.args)
                    .fetch_all(&mut **self)
                    .await
            }

            async fn bulk_rows<R>(&mut self, sql: Sql) -> Result<Vec<R>, sqlx::Error>
            where
                R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
                    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
                    + Send
                    + Unpin,
            {
                bind_all!(sqlx::query_as::<_, R>(AssertSqlSafe($bulk_text(sql.text))), sql.args)
                    .persistent(false)
                    .fetch_all(&mut **self)
                    .await
            }

            async fn exec(&mut self, sql: Sql) -> Result<u64, sqlx::Error> {
                bind_all!(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
                    .execute(&mut **self)
                    .await
                    .map(|r| r.rows_affected())
            }

            async fn update_deadlines(&mut self, id: i64, version: i64, d: &crate::deadlines::Deadlines) -> Result<u64, sqlx::Error> {
                let at = |c: Option<crate::deadlines::Due>| c.map(|x| x.at);
                let warn = |c: Option<crate::deadlines::Due>| c.map(|x| x.warn_at);
                sqlx::query(
                    "UPDATE events SET accept_due_at = $3, accept_warn_at = $4, handle_due_at = $5, handle_warn_at = $6, \
                     feedback_due_at = $7, feedback_warn_at = $8, followup_due_at = $9, followup_warn_at = $10, \
                     deadline_estimated = $11, version = version + 1 WHERE id = $1 AND version = $2",
                )
                .bind(id)
                .bind(version)
                .bind(at(d.accept))
                .bind(warn(d.accept))
                .bind(at(d.handle))
                .bind(warn(d.handle))
                .bind(at(d.feedback))
                .bind(warn(d.feedback))
                .bind(at(d.followup))
                .bind(warn(d.followup))
                .bind(d.estimated)
                .execute(&mut **self)
                .await
                .map(|r| r.rows_affected())
            }

            async fn mark_notification_read(&mut self, id: i64, user_id: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO notification_reads (notification_id, user_id, read_at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(user_id)
                .bind(now)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }
        }
    };
}

// The dialect differences: in leasing, PostgreSQL skips rows another instance has
// locked, while SQLite has a single writer (BEGIN IMMEDIATE) and needs no lock
// clause; multi-row statements use anonymous `?` placeholders on SQLite (see
// `sql::anonymous_placeholders`).
// Audit records are chained one writer at a time: SQLite's writer holds its lock
// already; PostgreSQL writers take an advisory lock (an arbitrary key, "zhili audit"),
// released at commit or rollback.
impl_tx!(sqlx::Sqlite, "", "", crate::sql::anonymous_placeholders);
impl_tx!(
    sqlx::Postgres,
    "FOR UPDATE SKIP LOCKED",
    "SELECT pg_advisory_xact_lock(7291550001)",
    std::convert::identity
);
