//! Duplicate linking (issue #4, item 6). At intake a new event of a category, with a
//! location, is compared with the open events of that category reported nearby
//! within the window ([`zhili_domain::duplicates`] decides); the best one becomes its
//! master (`events.duplicate_of`). When the master informs its reporter (反馈), every
//! duplicate gets the same feedback — timeline, audit and an SMS to its reporter —
//! in the same transaction; the deadline sweep leaves duplicates alone, their
//! clocks follow the master's. Operators unlink a wrong link and link by hand.
//!
//! A cluster is one level deep: a master is never itself a duplicate, so the
//! master's feedback reaches every report of the problem in one step.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::duplicates::{Report, best_master, bounding_box};
use zhili_domain::{Action, Actor, DuplicateRule, GeoPoint, Role, Status, mask_in_text};

use crate::backend::{EventInsert, EventRow, TimelineInsert, Tx};
use crate::chat::EventRef;
use crate::events::{ActContext, Acting, row_in_scope};
use crate::pii::Field;
use crate::records::{AuditRecord, Coded};
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// The statuses a master may have at intake: open and not yet fed back. A report
/// joined to an event that has informed its reporter already would never hear the
/// result; closed, rejected and transferred events are no longer handled here.
const MASTER_STATUSES: &[Status] = &[
    Status::Reported,
    Status::Accepted,
    Status::Dispatched,
    Status::Handling,
    Status::Resolved,
    Status::Verified,
    Status::Suspended,
];

/// At most this many candidates are compared: a bounding box of a few hundred
/// metres and days rarely holds more, and an unusual flood must not slow intake.
const MAX_CANDIDATES: i64 = 200;

/// The timeline's entries of this module, with their labels.
pub(crate) fn timeline_action(code: &str) -> Option<Coded> {
    let c = |code, label| Some(Coded { code, label });
    match code {
        "duplicate_link" => c("duplicate_link", "关联重复件"),
        "duplicate_unlink" => c("duplicate_unlink", "解除重复关联"),
        "duplicate_inform" => c("duplicate_inform", "随主件反馈"),
        _ => None,
    }
}

/// The rules of one intake batch: the store-wide default and each category's own,
/// read at most once per batch.
pub(crate) struct IntakeRules {
    default: DuplicateRule,
    by_category: Mutex<HashMap<i64, DuplicateRule>>,
    /// The candidates of each event of the batch, read together by `preload`.
    candidates: Mutex<HashMap<CandidateKey, Vec<CandidateRow>>>,
}

/// One event's candidate query: its category, position (bits of lon, lat) and time.
type CandidateKey = (i64, u64, u64, i64);

fn candidate_key(category: i64, at: GeoPoint, now: DateTime<Utc>) -> CandidateKey {
    (
        category,
        at.lon.to_bits(),
        at.lat.to_bits(),
        now.timestamp_micros(),
    )
}

impl IntakeRules {
    pub(crate) fn new(default: DuplicateRule) -> Self {
        IntakeRules {
            default,
            by_category: Mutex::default(),
            candidates: Mutex::default(),
        }
    }

    /// Reads the settings of these events' categories in one statement, then their
    /// candidates in one statement per 32 events (a `UNION ALL` of each event's own
    /// query), for `link_at_intake` to find in memory.
    pub(crate) async fn preload<T: Tx>(
        &self,
        tx: &mut T,
        wanted: &[(i64, GeoPoint, DateTime<Utc>)],
    ) -> Result<(), StoreError> {
        let mut missing: Vec<i64> = {
            let known = self.by_category.lock().unwrap_or_else(|e| e.into_inner());
            wanted
                .iter()
                .map(|(c, _, _)| *c)
                .filter(|c| !known.contains_key(c))
                .collect()
        };
        missing.sort_unstable();
        missing.dedup();
        for chunk in missing.chunks(500) {
            let mut q = Sql::new(
                "SELECT c.id AS category_id, s.category_id AS set_on, s.radius_m, s.window_hours, \
                 s.min_similarity FROM duplicate_settings s \
                 JOIN categories c ON s.category_id = c.id OR s.category_id = c.parent_id WHERE c.id IN ",
            );
            q.list(chunk.iter().copied().map(Arg::I64));
            let rows: Vec<BatchSettingRow> = tx.bulk_rows(q).await?;
            let mut found: HashMap<i64, (bool, DuplicateRule)> = HashMap::new();
            for r in rows {
                let own = r.set_on == r.category_id;
                let rule =
                    checked_rule(r.category_id, r.radius_m, r.window_hours, r.min_similarity)?;
                // The category's own setting beats its 大类's.
                match found.get(&r.category_id) {
                    Some((true, _)) => {}
                    Some((false, _)) if !own => {}
                    _ => {
                        found.insert(r.category_id, (own, rule));
                    }
                }
            }
            let mut known = self.by_category.lock().unwrap_or_else(|e| e.into_inner());
            for c in chunk {
                known.insert(*c, found.get(c).map_or(self.default, |(_, r)| *r));
            }
        }
        let rules: HashMap<i64, DuplicateRule> = self
            .by_category
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for chunk in wanted.chunks(32) {
            let mut q = Sql::default();
            for (k, (category, at, now)) in chunk.iter().enumerate() {
                let rule = rules.get(category).copied().unwrap_or(self.default);
                if k > 0 {
                    q.push(" UNION ALL ");
                }
                q.push("SELECT * FROM (SELECT ")
                    .arg(Arg::I64(k as i64))
                    .push(" AS job, e.id, e.number, e.text, e.lon, e.lat, e.reported_at FROM events e WHERE ");
                candidate_filter(&mut q, *category, *at, *now, &rule);
                q.push(") AS b");
            }
            let rows: Vec<BatchCandidateRow> = tx.bulk_rows(q).await?;
            let mut found: Vec<Vec<CandidateRow>> = vec![Vec::new(); chunk.len()];
            for r in rows {
                if let Some(v) = usize::try_from(r.job).ok().and_then(|j| found.get_mut(j)) {
                    v.push(r.row);
                }
            }
            let mut cache = self.candidates.lock().unwrap_or_else(|e| e.into_inner());
            for ((category, at, now), rows) in chunk.iter().zip(found) {
                cache.insert(candidate_key(*category, *at, *now), rows);
            }
        }
        Ok(())
    }

    /// The candidates `preload` read for this event, taken out of the cache.
    fn preloaded(&self, key: &CandidateKey) -> Option<Vec<CandidateRow>> {
        self.candidates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key)
    }

    async fn rule<T: Tx>(&self, tx: &mut T, category: i64) -> Result<DuplicateRule, StoreError> {
        // A poisoned lock only means a panic elsewhere mid-insert into a cache.
        let cached = |m: &Mutex<HashMap<i64, DuplicateRule>>| {
            m.lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&category)
                .copied()
        };
        if let Some(r) = cached(&self.by_category) {
            return Ok(r);
        }
        let rule = category_rule(tx, category).await?.unwrap_or(self.default);
        self.by_category
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(category, rule);
        Ok(rule)
    }
}

#[derive(sqlx::FromRow)]
struct SettingRow {
    radius_m: f64,
    window_hours: i64,
    min_similarity: f64,
}

/// The category's own rule, else its 大类's: a rule set on a 大类 holds for every
/// 小类 under it that has none of its own.
async fn category_rule<T: Tx>(
    tx: &mut T,
    category: i64,
) -> Result<Option<DuplicateRule>, StoreError> {
    let mut q = Sql::new(
        "SELECT s.radius_m, s.window_hours, s.min_similarity FROM duplicate_settings s \
         JOIN categories c ON s.category_id = c.id OR s.category_id = c.parent_id WHERE c.id = ",
    );
    q.arg(Arg::I64(category))
        .push(" ORDER BY CASE WHEN s.category_id = c.id THEN 0 ELSE 1 END LIMIT 1");
    let Some(r) = tx.rows::<SettingRow>(q).await?.into_iter().next() else {
        return Ok(None);
    };
    checked_rule(category, r.radius_m, r.window_hours, r.min_similarity).map(Some)
}

fn checked_rule(
    category: i64,
    radius_m: f64,
    window_hours: i64,
    min_similarity: f64,
) -> Result<DuplicateRule, StoreError> {
    let hours = u32::try_from(window_hours).unwrap_or(0);
    DuplicateRule::checked(radius_m, hours, min_similarity)
        .map_err(|e| StoreError::Corrupt(format!("duplicate settings of category {category}: {e}")))
}

#[derive(sqlx::FromRow)]
struct BatchSettingRow {
    category_id: i64,
    set_on: i64,
    radius_m: f64,
    window_hours: i64,
    min_similarity: f64,
}

#[derive(sqlx::FromRow)]
struct BatchCandidateRow {
    job: i64,
    #[sqlx(flatten)]
    row: CandidateRow,
}

/// The open events of the category near `at` within the rule's window before `now`,
/// oldest first, at most [`MAX_CANDIDATES`]: the WHERE clause (and order) of one
/// event's candidate query, on `events e`.
fn candidate_filter(
    q: &mut Sql,
    category: i64,
    at: GeoPoint,
    now: DateTime<Utc>,
    rule: &DuplicateRule,
) {
    let (x0, y0, x1, y1) = bounding_box(at, rule.radius_m);
    let since = now - chrono::Duration::hours(i64::from(rule.window_hours));
    q.push("e.category_id = ")
        .arg(Arg::I64(category))
        .push(" AND e.duplicate_of IS NULL AND e.reported_at >= ")
        .arg(Arg::Time(since))
        .push(" AND e.reported_at <= ")
        .arg(Arg::Time(now))
        .push(" AND e.status IN ")
        .list(MASTER_STATUSES.iter().map(|s| Arg::Text(s.code().into())))
        .push(" AND e.lon >= ")
        .arg(Arg::F64(Some(x0)))
        .push(" AND e.lon <= ")
        .arg(Arg::F64(Some(x1)))
        .push(" AND e.lat >= ")
        .arg(Arg::F64(Some(y0)))
        .push(" AND e.lat <= ")
        .arg(Arg::F64(Some(y1)))
        .push(" ORDER BY e.reported_at, e.id LIMIT ")
        .arg(Arg::I64(MAX_CANDIDATES));
}

#[derive(Clone, sqlx::FromRow)]
struct CandidateRow {
    id: i64,
    number: String,
    text: String,
    lon: f64,
    lat: f64,
    reported_at: DateTime<Utc>,
}

/// Links a new event to the open event it duplicates, if there is one, and says so
/// in its first timeline note. Events without category or location are never
/// linked. Reads only, like the rest of `prepare`.
///
/// Events stored in one group commit (or one import file) do not see each other:
/// the candidates are the events committed before this transaction. Two reports of
/// one problem arriving in the same instant stay apart until an operator links them.
pub(crate) async fn link_at_intake<T: Tx>(
    tx: &mut T,
    rules: Option<&IntakeRules>,
    insert: &mut EventInsert,
    note: &mut String,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (Some(rules), Some(category), Some(lon), Some(lat)) =
        (rules, insert.category_id, insert.lon, insert.lat)
    else {
        return Ok(());
    };
    let rule = rules.rule(tx, category).await?;
    let at = GeoPoint { lon, lat };
    let rows: Vec<CandidateRow> = match rules.preloaded(&candidate_key(category, at, now)) {
        Some(rows) => rows,
        None => {
            let mut q = Sql::new(
                "SELECT e.id, e.number, e.text, e.lon, e.lat, e.reported_at FROM events e WHERE ",
            );
            candidate_filter(&mut q, category, at, now, &rule);
            tx.rows(q).await?
        }
    };
    let candidates: Vec<Report<'_>> = rows
        .iter()
        .map(|r| Report {
            id: r.id,
            text: &r.text,
            at: GeoPoint {
                lon: r.lon,
                lat: r.lat,
            },
            reported_at: r.reported_at,
        })
        .collect();
    let new = Report {
        // Not stored yet: no id can be its own.
        id: 0,
        text: &insert.text,
        at,
        reported_at: now,
    };
    if let Some(id) = best_master(&new, &candidates, &rule)
        && let Some(m) = rows.iter().find(|r| r.id == id)
    {
        insert.duplicate_of = Some(m.id);
        note.push_str(&format!("；疑似重复件，已关联主件 {}", m.number));
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct LinkedRow {
    id: i64,
    number: String,
    status: String,
    reporter_phone: Option<String>,
}

async fn duplicates_of<T: Tx>(tx: &mut T, master: i64) -> Result<Vec<LinkedRow>, StoreError> {
    let mut q =
        Sql::new("SELECT id, number, status, reporter_phone FROM events WHERE duplicate_of = ");
    q.arg(Arg::I64(master)).push(" ORDER BY reported_at, id");
    Ok(tx.rows(q).await?)
}

/// The master an event is linked to, and the duplicates linked to it, for the
/// event's detail. Numbers only: the linked events keep their own scope.
pub(crate) async fn links<T: Tx>(
    tx: &mut T,
    row: &EventRow,
) -> Result<(Option<EventRef>, Vec<EventRef>), StoreError> {
    let master = match row.duplicate_of {
        None => None,
        Some(id) => {
            let mut q = Sql::new("SELECT id, number FROM events WHERE id = ");
            q.arg(Arg::I64(id));
            tx.rows::<(i64, String)>(q)
                .await?
                .into_iter()
                .next()
                .map(|(id, number)| EventRef { id, number })
        }
    };
    let dups = duplicates_of(tx, row.id)
        .await?
        .into_iter()
        .map(|d| EventRef {
            id: d.id,
            number: d.number,
        })
        .collect();
    Ok((master, dups))
}

/// The hook `act_on` calls after every action on an event. An inform on a master
/// reaches every duplicate: a timeline entry, an audit record and, for a reporter
/// who left a phone, an SMS (once per duplicate and inform). A master rejected or
/// transferred to 110 lets its duplicates go, to be handled on their own.
pub(crate) async fn after_action<T: Tx>(
    tx: &mut T,
    ctx: &ActContext<'_>,
    row: &EventRow,
    acting: &Acting,
    action: &Action,
    to: Status,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // History replayed from another system brings no links and sends nothing.
    if ctx.replay {
        return Ok(());
    }
    match action {
        Action::Inform { note, .. } => {
            inform_duplicates(tx, ctx.pii, row, acting, note.as_deref(), now).await
        }
        Action::Reject { .. } | Action::TransferTo110 { .. } => {
            let why = format!(
                "主件 {}「{}」，解除重复关联，按独立事件办理",
                row.number,
                to.label_zh()
            );
            for d in duplicates_of(tx, row.id).await? {
                set_link(tx, d.id, None).await?;
                entry(tx, d.id, &d.status, acting, "duplicate_unlink", &why, now).await?;
                audit(
                    tx,
                    acting,
                    "event.duplicate_unlink",
                    d.id,
                    &d.number,
                    Some(&row.number),
                    now,
                )
                .await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The timeline and audit name whoever informed the master: the feedback is theirs.
async fn inform_duplicates<T: Tx>(
    tx: &mut T,
    pii: &crate::pii::Pii,
    master: &EventRow,
    acting: &Acting,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let dups = duplicates_of(tx, master.id).await?;
    if dups.is_empty() {
        return Ok(());
    }
    let what = note
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("已办理并反馈结果");
    let text = format!("随主件 {} 反馈：{what}", master.number);
    // The master's version after this inform: a later inform (after a reopening)
    // is a new message, a retry of this one is not.
    let inform = master.version + 1;
    for d in &dups {
        entry(tx, d.id, &d.status, acting, "duplicate_inform", &text, now).await?;
        audit(
            tx,
            acting,
            "event.duplicate_inform",
            d.id,
            &d.number,
            Some(&master.number),
            now,
        )
        .await?;
        let Some(phone) = pii.open_opt(Field::ReporterPhone, d.reporter_phone.as_deref())? else {
            continue;
        };
        let message_id = format!(
            "zhili-sms-duplicate-{}-{}-v{inform}",
            d.number, master.number
        );
        // Someone else's report: what the unit wrote is masked like public text.
        let said: String = mask_in_text(what).chars().take(200).collect();
        let payload = serde_json::json!({
            "message_id": message_id,
            // The one SMS shape (docs/connectors.md): recipients and text.
            "to": [phone],
            "text": format!(
                "【基层治理四平台】您反映的事件（编号{}）与事件{}为同一问题，已合并办理。办理结果：{said}",
                d.number, master.number
            ),
            "event_number": d.number,
            "master_number": master.number,
        });
        crate::outbox::enqueue(
            tx,
            pii,
            crate::outbox::TOPIC_SMS,
            &message_id,
            Some(d.id),
            &payload,
            now,
        )
        .await?;
    }
    Ok(())
}

async fn set_link<T: Tx>(tx: &mut T, id: i64, master: Option<i64>) -> Result<(), StoreError> {
    // Not version-guarded against lifecycle actions: the link is its own column and
    // neither changes what the other wrote.
    let mut q = Sql::new("UPDATE events SET duplicate_of = ");
    q.arg(Arg::OptI64(master))
        .push(" WHERE id = ")
        .arg(Arg::I64(id));
    tx.exec(q).await?;
    Ok(())
}

async fn entry<T: Tx>(
    tx: &mut T,
    id: i64,
    status: &str,
    acting: &Acting,
    action: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.insert_timeline(&TimelineInsert {
        event_id: id,
        at: now,
        actor_id: acting.user_id.map(|u| u.0),
        actor_name: acting.name.clone(),
        action: action.into(),
        from_status: Some(status.into()),
        to_status: status.into(),
        note: Some(note.into()),
        data: None,
    })
    .await?;
    Ok(())
}

async fn audit<T: Tx>(
    tx: &mut T,
    acting: &Acting,
    action: &str,
    id: i64,
    number: &str,
    master: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.insert_audit(&AuditRecord {
        at: now,
        actor: acting.clone(),
        action: action.into(),
        object_type: "event",
        object_id: Some(id.to_string()),
        detail: Some(serde_json::json!({ "number": number, "master": master })),
    })
    .await?;
    Ok(())
}

/// A category's duplicate rule as the admin sees it: its own, or the default.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateSettings {
    pub category_code: String,
    pub category_name: String,
    pub radius_m: f64,
    pub window_hours: u32,
    pub min_similarity: f64,
    /// false: the store-wide default applies (true also when set on its 大类).
    pub custom: bool,
}

/// Duplicate links and settings for one actor: operators link and unlink events in
/// their scope; only the admin changes the settings.
pub struct DuplicateRepo<'a> {
    store: &'a Store,
    actor: Actor,
}

impl Store {
    /// The store-wide duplicate rule (200 m, 72 h, similarity 0.4 unless set); a
    /// category's own settings replace it.
    pub fn with_duplicate_rule(mut self, rule: DuplicateRule) -> Self {
        self.duplicates = rule;
        self
    }

    pub fn duplicate_rule(&self) -> DuplicateRule {
        self.duplicates
    }

    pub fn duplicates_for(&self, actor: &Actor) -> DuplicateRepo<'_> {
        DuplicateRepo {
            store: self,
            actor: actor.clone(),
        }
    }
}

fn refused(message: &str) -> StoreError {
    StoreError::invalid("role", message)
}

fn status_of(row: &EventRow) -> Result<Status, StoreError> {
    Status::parse(&row.status).ok_or_else(|| StoreError::Corrupt(format!("status {}", row.status)))
}

impl DuplicateRepo<'_> {
    /// Command rooms decide what is one problem; units, grids, citizens and oversight
    /// do not. A refusal is `Invalid { field: "role" }`.
    fn may_link(&self) -> Result<(), StoreError> {
        match self.actor.role {
            Role::CityOperator | Role::TownshipOperator => Ok(()),
            _ => Err(refused("无权关联或解除重复件")),
        }
    }

    /// Links event `id` to the master named by `master` (its number, or its id) by
    /// hand. The event must not be a master itself; a master that is a duplicate
    /// stands for its own master. Linking again to the same master changes nothing.
    pub async fn link(
        &self,
        id: i64,
        master: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::EventDetail, StoreError> {
        let master = master.trim();
        if master.is_empty() {
            return Err(StoreError::invalid("master", "请填写主件编号"));
        }
        self.may_link()?;
        let actor = &self.actor;
        let acting = Acting::from(actor);
        let scope = actor.scope();
        in_tx!(self.store, Write, |tx| {
            let row = row_in_scope(&mut tx, scope, id)
                .await?
                .ok_or(StoreError::NotFound)?;
            let mut q = Sql::new("WHERE (e.number = ");
            q.arg(Arg::Text(master.to_string())).push(" OR e.id = ");
            // An id that is not a number matches no event.
            q.arg(Arg::I64(master.parse::<i64>().unwrap_or(-1)))
                .push(") AND ");
            q.append(crate::events::scope_sql(scope));
            let not_found = || StoreError::invalid("master", format!("未找到主件 {master}"));
            let mut m = tx
                .events_where(q)
                .await?
                .into_iter()
                .next()
                .ok_or_else(not_found)?;
            if m.id == row.id {
                return Err(StoreError::invalid("master", "不能关联到事件本身"));
            }
            if let Some(root) = m.duplicate_of {
                m = row_in_scope(&mut tx, scope, root)
                    .await?
                    .ok_or_else(not_found)?;
            }
            if m.id == row.id {
                // Named one of its own duplicates.
                return Err(StoreError::invalid("master", "不能关联到自己的重复件"));
            }
            let ms = status_of(&m)?;
            if matches!(ms, Status::Closed | Status::Rejected | Status::Transferred) {
                return Err(StoreError::invalid(
                    "master",
                    format!("主件 {} {}，不能关联", m.number, ms.label_zh()),
                ));
            }
            if row.duplicate_of != Some(m.id) {
                if !duplicates_of(&mut tx, row.id).await?.is_empty() {
                    return Err(StoreError::invalid(
                        "master",
                        "该事件是其他事件的主件，请先解除其重复件",
                    ));
                }
                set_link(&mut tx, row.id, Some(m.id)).await?;
                let note = format!("人工关联为主件 {} 的重复件", m.number);
                entry(
                    &mut tx,
                    row.id,
                    &row.status,
                    &acting,
                    "duplicate_link",
                    &note,
                    now,
                )
                .await?;
                let note = format!("关联重复件 {}", row.number);
                entry(
                    &mut tx,
                    m.id,
                    &m.status,
                    &acting,
                    "duplicate_link",
                    &note,
                    now,
                )
                .await?;
                // Moved from another master: its record says where the report went.
                if let Some(old) = row.duplicate_of
                    && let Some(o) = row_in_scope(&mut tx, zhili_domain::Scope::ALL, old).await?
                {
                    let note = format!("重复件 {} 改为关联主件 {}", row.number, m.number);
                    entry(
                        &mut tx,
                        o.id,
                        &o.status,
                        &acting,
                        "duplicate_unlink",
                        &note,
                        now,
                    )
                    .await?;
                }
                audit(
                    &mut tx,
                    &acting,
                    "event.duplicate_link",
                    row.id,
                    &row.number,
                    Some(&m.number),
                    now,
                )
                .await?;
            }
            Ok::<_, StoreError>(())
        })?;
        self.store.events_for(actor).get(id).await
    }

    /// Undoes a link: the event is handled on its own from now on.
    pub async fn unlink(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<crate::EventDetail, StoreError> {
        self.may_link()?;
        let actor = &self.actor;
        let acting = Acting::from(actor);
        in_tx!(self.store, Write, |tx| {
            let row = row_in_scope(&mut tx, actor.scope(), id)
                .await?
                .ok_or(StoreError::NotFound)?;
            let Some(master) = row.duplicate_of else {
                return Err(StoreError::invalid("duplicate_of", "该事件未关联主件"));
            };
            let m = row_in_scope(&mut tx, zhili_domain::Scope::ALL, master)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("master {master} of {id}")))?;
            set_link(&mut tx, row.id, None).await?;
            let note = format!("解除与主件 {} 的重复关联，按独立事件办理", m.number);
            entry(
                &mut tx,
                row.id,
                &row.status,
                &acting,
                "duplicate_unlink",
                &note,
                now,
            )
            .await?;
            let note = format!("重复件 {} 已解除关联", row.number);
            entry(
                &mut tx,
                m.id,
                &m.status,
                &acting,
                "duplicate_unlink",
                &note,
                now,
            )
            .await?;
            audit(
                &mut tx,
                &acting,
                "event.duplicate_unlink",
                row.id,
                &row.number,
                Some(&m.number),
                now,
            )
            .await?;
            Ok::<_, StoreError>(())
        })?;
        self.store.events_for(actor).get(id).await
    }

    fn admin_only(&self) -> Result<(), StoreError> {
        if self.actor.role == Role::Admin {
            Ok(())
        } else {
            Err(refused("只有系统管理员可以查看和修改重复件设置"))
        }
    }

    /// The duplicate rule of a category (小类 or 大类 code).
    pub async fn settings(&self, category_code: &str) -> Result<DuplicateSettings, StoreError> {
        self.admin_only()?;
        let default = self.store.duplicates;
        in_tx!(self.store, Read, |tx| {
            settings_of(&mut tx, default, category_code).await
        })
    }

    /// Sets a category's own rule, with an audit record.
    pub async fn put_settings(
        &self,
        category_code: &str,
        rule: DuplicateRule,
        now: DateTime<Utc>,
    ) -> Result<DuplicateSettings, StoreError> {
        self.admin_only()?;
        let default = self.store.duplicates;
        let acting = Acting::from(&self.actor);
        in_tx!(self.store, Write, |tx| {
            let id = category_id(&mut tx, category_code).await?;
            let mut q = Sql::new(
                "INSERT INTO duplicate_settings (category_id, radius_m, window_hours, min_similarity, updated_at, updated_by) VALUES (",
            );
            q.arg(Arg::I64(id))
                .push(", ")
                .arg(Arg::F64(Some(rule.radius_m)))
                .push(", ")
                .arg(Arg::I64(i64::from(rule.window_hours)))
                .push(", ")
                .arg(Arg::F64(Some(rule.min_similarity)))
                .push(", ")
                .arg(Arg::Time(now))
                .push(", ")
                .arg(Arg::Text(acting.name.clone()))
                .push(
                    ") ON CONFLICT (category_id) DO UPDATE SET radius_m = excluded.radius_m, \
                     window_hours = excluded.window_hours, min_similarity = excluded.min_similarity, \
                     updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                );
            tx.exec(q).await?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: acting.clone(),
                action: "duplicates.settings".into(),
                object_type: "category",
                object_id: Some(category_code.to_string()),
                detail: Some(serde_json::json!({
                    "radius_m": rule.radius_m,
                    "window_hours": rule.window_hours,
                    "min_similarity": rule.min_similarity,
                })),
            })
            .await?;
            settings_of(&mut tx, default, category_code).await
        })
    }
}

async fn category_id<T: Tx>(tx: &mut T, code: &str) -> Result<i64, StoreError> {
    let mut q = Sql::new("code = ");
    q.arg(Arg::Text(code.to_string()));
    tx.category_where(q)
        .await?
        .into_iter()
        .next()
        .map(|c| c.id)
        .ok_or(StoreError::NotFound)
}

async fn settings_of<T: Tx>(
    tx: &mut T,
    default: DuplicateRule,
    code: &str,
) -> Result<DuplicateSettings, StoreError> {
    let mut q = Sql::new("code = ");
    q.arg(Arg::Text(code.to_string()));
    let c = tx
        .category_where(q)
        .await?
        .into_iter()
        .next()
        .ok_or(StoreError::NotFound)?;
    let own = category_rule(tx, c.id).await?;
    let r = own.unwrap_or(default);
    Ok(DuplicateSettings {
        category_code: c.code,
        category_name: c.name,
        radius_m: r.radius_m,
        window_hours: r.window_hours,
        min_similarity: r.min_similarity,
        custom: own.is_some(),
    })
}

#[cfg(test)]
mod tests {
    //! The audit records, which only the crate can read; the behaviour is in
    //! `tests/duplicates.rs`.
    use super::*;
    use crate::testing::{fresh_stores, with_small_city};
    use zhili_domain::{NewEvent, RawNewEvent, RawReporter};

    async fn audits(store: &Store, action: &str) -> i64 {
        let count = async || -> Result<i64, StoreError> {
            in_tx!(store, Read, |tx| {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log WHERE action = $1")
                    .bind(action)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(StoreError::from)
            })
        };
        count().await.unwrap()
    }

    fn report(north_m: f64) -> NewEvent {
        NewEvent::parse(RawNewEvent {
            channel: "hotline_12345".into(),
            reporter: Some(RawReporter {
                kind: "citizen".into(),
                name: None,
                phone: Some("13800000009".into()),
            }),
            text: "舜北路工地夜间施工噪音扰民".into(),
            category: Some("0101".into()),
            grid: Some("33028100200101".into()),
            location: Some(zhili_domain::event::RawLocation {
                lon: 121.155,
                lat: 30.004 + north_m / 111_195.0,
                crs: None,
            }),
            ..Default::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn every_change_of_a_link_is_audited() {
        for store in fresh_stores().await {
            with_small_city(&store, "x").await;
            let op = store
                .user_by_username("fengshan")
                .await
                .unwrap()
                .unwrap()
                .actor;
            let now = Utc::now();
            let events = store.events_for(&op);
            let m = events.store(&report(0.0), now).await.unwrap();
            let d = events.store(&report(30.0), now).await.unwrap();
            assert_eq!(
                events.get(d.id).await.unwrap().duplicate_of.map(|r| r.id),
                Some(m.id)
            );
            let repo = store.duplicates_for(&op);
            repo.unlink(d.id, now).await.unwrap();
            repo.link(d.id, &m.number, now).await.unwrap();
            assert_eq!(audits(&store, "event.duplicate_unlink").await, 1);
            assert_eq!(audits(&store, "event.duplicate_link").await, 1);

            let acting = Acting::from(&op);
            let sent = async || -> Result<(), StoreError> {
                in_tx!(store, Write, |tx| {
                    let row = row_in_scope(&mut tx, zhili_domain::Scope::ALL, m.id)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    inform_duplicates(&mut tx, store.pii()?, &row, &acting, Some("已处理"), now)
                        .await
                })
            };
            // Twice for the same inform of the master (a retry): one SMS, as the
            // audit and timeline record each pass.
            sent().await.unwrap();
            sent().await.unwrap();
            assert_eq!(audits(&store, "event.duplicate_inform").await, 2);
            let sms = store
                .lease_outbox("t", crate::TOPIC_SMS, now, chrono::Duration::days(1), 10)
                .await
                .unwrap();
            assert_eq!(sms.iter().filter(|s| s.event_id == Some(d.id)).count(), 1);
        }
    }
}
