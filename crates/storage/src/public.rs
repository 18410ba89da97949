//! Public disclosure (双公开, O2): what anyone may read without an account — the
//! progress of events by area and category, recent events with their text masked,
//! and a reporter's own event by number and check code. Nothing here names or
//! reaches a reporter: no name, phone or account, no address, no photo, positions
//! rounded to about 100 m, and the text through [`mask_for_public`].

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::{ActionKind, EventState, Role, Status};

use crate::backend::{EventRow, Tx};
use crate::feedback::{
    FeedbackTx, latest_link, link_state_label, mask_for_public, public_result, reporter_name,
};
use crate::records::Coded;
use crate::sql::{Arg, Sql, bind_all};
use crate::{Store, StoreError, in_tx};

/// Channels whose events are never listed in public: petitions (信访) and matters
/// from 110 concern people more than places.
pub const UNLISTED_CHANNELS: &[&str] = &["petition", "exchange_110"];

/// Events per page of the public list.
pub const PUBLIC_PAGE_SIZE: u32 = 20;

#[derive(Debug, Clone, Default)]
pub struct PublicFilter {
    /// Township code.
    pub township: Option<String>,
    /// Category code; a 大类 finds its 小类.
    pub category: Option<String>,
    pub status: Option<Status>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// 1-based.
    pub page: u32,
}

/// One event as the public sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicEvent {
    pub number: String,
    pub category: Option<String>,
    pub township: String,
    pub township_code: String,
    /// The village or community (村/社区), never an address.
    pub village: Option<String>,
    pub status: Coded,
    pub text: String,
    /// (lon, lat) rounded to 0.001° (about 100 m), WGS-84.
    pub location: Option<[f64; 2]>,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicPage {
    pub items: Vec<PublicEvent>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// Counts for one township or one category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    pub code: String,
    pub name: String,
    pub received: i64,
    pub accepted: i64,
    pub in_handling: i64,
    pub resolved: i64,
    /// Resolved events that had a handling deadline, and of those, resolved by it.
    pub resolved_with_deadline: i64,
    pub resolved_on_time: i64,
    /// `resolved_on_time / resolved_with_deadline`, when there is one.
    pub on_time_share: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicStats {
    pub by_township: Vec<StatsRow>,
    pub by_category: Vec<StatsRow>,
    pub total: StatsRow,
}

/// One step of an event's history in public: which office acted, never who.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicStep {
    pub at: DateTime<Utc>,
    pub action: Coded,
    pub status: Coded,
    /// The unit or office that acted, or the kind of actor ("群众", "系统").
    pub by: String,
}

/// What a reporter sees with the number and check code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicLookup {
    pub event: PublicEvent,
    pub lead_unit: Option<String>,
    pub satisfaction: Option<Coded>,
    pub result: Option<String>,
    pub handle_due_at: Option<DateTime<Utc>>,
    pub feedback_due_at: Option<DateTime<Utc>>,
    pub timeline: Vec<PublicStep>,
    /// The rating link: none, open, answered, expired, spent.
    pub rating_link: Coded,
    pub rating_link_expires_at: Option<DateTime<Utc>>,
}

fn round_100m(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn public_event(pii: &crate::pii::Pii, row: &EventRow) -> Result<PublicEvent, StoreError> {
    let status = Status::parse(&row.status)
        .ok_or_else(|| StoreError::Corrupt(format!("status {}", row.status)))?;
    Ok(PublicEvent {
        number: row.number.clone(),
        category: row.category_name.clone(),
        township: row.township_name.clone(),
        township_code: row.township_code.clone(),
        village: row.village_name.clone(),
        status: Coded::of_status(status),
        text: mask_for_public(&row.text, reporter_name(pii, row)?.as_deref()),
        location: match (row.lon, row.lat) {
            (Some(lon), Some(lat)) => Some([round_100m(lon), round_100m(lat)]),
            _ => None,
        },
        reported_at: row.reported_at,
        updated_at: row.updated_at,
        closed_at: row.closed_at,
    })
}

/// The filter as a condition over `events e`, without the channel rule.
fn filter_sql(f: &PublicFilter) -> Sql {
    let mut q = Sql::new("1 = 1");
    if let Some(t) = &f.township {
        q.push(" AND e.township_id IN (SELECT id FROM orgs WHERE code = ")
            .arg(Arg::Text(t.clone()))
            .push(")");
    }
    if let Some(c) = &f.category {
        q.push(" AND e.category_id IN (SELECT c2.id FROM categories c2 LEFT JOIN categories p2 ON p2.id = c2.parent_id WHERE c2.code = ")
            .arg(Arg::Text(c.clone()))
            .push(" OR p2.code = ")
            .arg(Arg::Text(c.clone()))
            .push(")");
    }
    if let Some(s) = f.status {
        q.push(" AND e.status = ").arg(Arg::Text(s.code().into()));
    }
    if let Some(from) = f.from {
        q.push(" AND e.reported_at >= ").arg(Arg::Time(from));
    }
    if let Some(to) = f.to {
        q.push(" AND e.reported_at < ").arg(Arg::Time(to));
    }
    q
}

fn listed_sql() -> Sql {
    // Nor are sensitive events (AC-08), whatever the channel.
    let mut q = Sql::new(
        " AND e.status NOT IN ('rejected', 'transferred') AND e.sensitivity = 'normal' AND e.channel NOT IN ",
    );
    q.list(UNLISTED_CHANNELS.iter().map(|c| Arg::Text((*c).into())));
    q
}

#[derive(Debug, sqlx::FromRow)]
struct CountRow {
    code: String,
    name: String,
    received: i64,
    accepted: i64,
    in_handling: i64,
    resolved: i64,
    resolved_with_deadline: i64,
    resolved_on_time: i64,
}

impl From<CountRow> for StatsRow {
    fn from(r: CountRow) -> Self {
        StatsRow {
            on_time_share: (r.resolved_with_deadline > 0)
                .then(|| r.resolved_on_time as f64 / r.resolved_with_deadline as f64),
            code: r.code,
            name: r.name,
            received: r.received,
            accepted: r.accepted,
            in_handling: r.in_handling,
            resolved: r.resolved,
            resolved_with_deadline: r.resolved_with_deadline,
            resolved_on_time: r.resolved_on_time,
        }
    }
}

/// The counted columns. "Accepted" and "resolved" mean the event got that far at
/// some point (a timeline entry), so an event closed after 不予受理 is neither.
const COUNTS: &str = "COUNT(*) AS received, \
 COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM timeline ta WHERE ta.event_id = e.id AND ta.action = 'accept') THEN 1 ELSE 0 END), 0) AS accepted, \
 COALESCE(SUM(CASE WHEN e.status IN ('accepted', 'dispatched', 'handling', 'suspended') THEN 1 ELSE 0 END), 0) AS in_handling, \
 COALESCE(SUM(CASE WHEN e.status IN ('resolved', 'verified', 'informed', 'rated', 'closed') AND EXISTS (SELECT 1 FROM timeline tr WHERE tr.event_id = e.id AND tr.action = 'resolve') THEN 1 ELSE 0 END), 0) AS resolved, \
 COALESCE(SUM(CASE WHEN e.status IN ('resolved', 'verified', 'informed', 'rated', 'closed') AND e.handle_due_at IS NOT NULL AND EXISTS (SELECT 1 FROM timeline tr WHERE tr.event_id = e.id AND tr.action = 'resolve') THEN 1 ELSE 0 END), 0) AS resolved_with_deadline, \
 COALESCE(SUM(CASE WHEN e.status IN ('resolved', 'verified', 'informed', 'rated', 'closed') AND e.handle_due_at IS NOT NULL AND (SELECT MAX(tr.at) FROM timeline tr WHERE tr.event_id = e.id AND tr.action = 'resolve') <= e.handle_due_at THEN 1 ELSE 0 END), 0) AS resolved_on_time ";

const STATS_FROM: &str = "FROM events e JOIN orgs t ON t.id = e.township_id \
 LEFT JOIN categories c ON c.id = e.category_id LEFT JOIN categories p ON p.id = c.parent_id WHERE ";

/// Runs a stats statement on the transaction, whichever backend it is.
macro_rules! count_rows {
    ($tx:ident, $sql:expr) => {{
        let sql: Sql = $sql;
        bind_all!(
            sqlx::query_as::<_, CountRow>(sqlx::AssertSqlSafe(sql.text)),
            sql.args
        )
        .fetch_all(&mut *$tx)
        .await
    }};
}

fn stats_sql(select: &'static str, group: &'static str, f: &PublicFilter) -> Sql {
    let mut q = Sql::new(select);
    q.push(COUNTS).push(STATS_FROM);
    q.append(filter_sql(f));
    q.push(group);
    q
}

/// Who acted, as the public may know it: their office, not their name.
fn public_actor(org: Option<String>, role: Option<&str>, actor_name: &str) -> String {
    if let Some(o) = org {
        return o;
    }
    if let Some(r) = role.and_then(Role::parse) {
        return match r {
            Role::Citizen => "群众".into(),
            Role::CityOperator | Role::Admin => "市综合指挥中心".into(),
            other => other.label_zh().into(),
        };
    }
    match actor_name {
        "系统" | crate::feedback::LINK_ACTOR => actor_name.into(),
        _ => "工作人员".into(),
    }
}

#[derive(Debug, sqlx::FromRow)]
struct StepRow {
    at: DateTime<Utc>,
    action: String,
    actor_name: String,
    to_status: String,
    role: Option<String>,
    org_name: Option<String>,
}

async fn lookup_in<T: Tx + FeedbackTx>(
    tx: &mut T,
    pii: &crate::pii::Pii,
    row: EventRow,
    steps: Vec<StepRow>,
    now: DateTime<Utc>,
) -> Result<PublicLookup, StoreError> {
    let state: EventState = serde_json::from_str(&row.state)
        .map_err(|e| StoreError::Corrupt(format!("state of event {}: {e}", row.id)))?;
    let timeline = steps
        .into_iter()
        .filter_map(|s| {
            let action = match s.action.as_str() {
                "report" => Coded {
                    code: "report",
                    label: "上报",
                },
                "ack_110" => Coded {
                    code: "ack_110",
                    label: "110已接收",
                },
                // Entries of kinds this view does not know stay internal.
                other => {
                    let k = ActionKind::parse(other)?;
                    Coded {
                        code: k.code(),
                        label: k.label_zh(),
                    }
                }
            };
            Some(PublicStep {
                at: s.at,
                action,
                status: Coded::of_status(Status::parse(&s.to_status)?),
                by: public_actor(s.org_name, s.role.as_deref(), &s.actor_name),
            })
        })
        .collect();
    let link = latest_link(tx, row.id).await?;
    Ok(PublicLookup {
        result: public_result(tx, pii, &row).await?,
        rating_link: link_state_label(link.as_ref(), now),
        rating_link_expires_at: link
            .as_ref()
            .filter(|t| t.used_at.is_none())
            .map(|t| t.expires_at),
        lead_unit: row.lead_unit_name.clone(),
        satisfaction: state.satisfaction.map(crate::records::coded_satisfaction),
        handle_due_at: row.handle_due_at,
        feedback_due_at: row.feedback_due_at,
        event: public_event(pii, &row)?,
        timeline,
    })
}

impl Store {
    /// Recent events for the public, newest first.
    pub async fn public_events(&self, f: &PublicFilter) -> Result<PublicPage, StoreError> {
        let mut cond = Sql::new("WHERE ");
        cond.append(filter_sql(f));
        cond.append(listed_sql());
        let mut count = Sql::new("SELECT COUNT(*) FROM events e ");
        count.append(cond.clone());
        let page = f.page.max(1);
        let per_page = PUBLIC_PAGE_SIZE;
        let mut rows = cond;
        rows.push(" ORDER BY e.reported_at DESC, e.id DESC LIMIT ")
            .arg(Arg::I64(i64::from(per_page)))
            .push(" OFFSET ")
            .arg(Arg::I64(i64::from(page - 1) * i64::from(per_page)));
        let (total, found) = in_tx!(self, Read, |tx| {
            let total = tx.count(count).await?;
            Ok::<_, StoreError>((total, tx.events_where(rows).await?))
        })?;
        Ok(PublicPage {
            items: found
                .iter()
                .map(|r| public_event(self.pii()?, r))
                .collect::<Result<_, _>>()?,
            total,
            page,
            per_page,
        })
    }

    /// Progress by township and by category (大类). Counts include every channel:
    /// a number names no one.
    pub async fn public_stats(&self, f: &PublicFilter) -> Result<PublicStats, StoreError> {
        let by_township = stats_sql(
            "SELECT t.code AS code, t.name AS name, ",
            " GROUP BY t.code, t.name ORDER BY t.code",
            f,
        );
        let by_category = stats_sql(
            "SELECT COALESCE(p.code, c.code, '') AS code, COALESCE(p.name, c.name, '未分类') AS name, ",
            " GROUP BY COALESCE(p.code, c.code, ''), COALESCE(p.name, c.name, '未分类') ORDER BY 1",
            f,
        );
        let total = stats_sql("SELECT '' AS code, '合计' AS name, ", "", f);
        let (t, c, all) = in_tx!(self, Read, |tx| {
            let t = count_rows!(tx, by_township)?;
            let c = count_rows!(tx, by_category)?;
            let all = count_rows!(tx, total)?;
            Ok::<_, StoreError>((t, c, all))
        })?;
        Ok(PublicStats {
            by_township: t.into_iter().map(StatsRow::from).collect(),
            by_category: c.into_iter().map(StatsRow::from).collect(),
            total: all
                .into_iter()
                .next()
                .map(StatsRow::from)
                .ok_or_else(|| StoreError::Corrupt("totals without a row".into()))?,
        })
    }

    /// A reporter's own event, by its number and check code. A wrong number and a
    /// wrong code are the same `NotFound`.
    pub async fn public_lookup(
        &self,
        number: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<PublicLookup, StoreError> {
        let number = number.trim();
        if number.is_empty() || number.len() > 64 || !self.check_code_matches(number, code).await? {
            return Err(StoreError::NotFound);
        }
        let mut cond = Sql::new("WHERE e.number = ");
        cond.arg(Arg::Text(number.to_string()));
        in_tx!(self, Read, |tx| {
            let row = tx
                .events_where(cond)
                .await?
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound)?;
            let steps: Vec<StepRow> = sqlx::query_as(
                "SELECT tl.at, tl.action, tl.actor_name, tl.to_status, u.role, o.name AS org_name \
                 FROM timeline tl LEFT JOIN users u ON u.id = tl.actor_id \
                 LEFT JOIN orgs o ON o.id = u.org_id WHERE tl.event_id = $1 ORDER BY tl.seq",
            )
            .bind(row.id)
            .fetch_all(&mut *tx)
            .await?;
            lookup_in(&mut tx, self.pii()?, row, steps, now).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_rounded_to_about_100_m() {
        assert_eq!(round_100m(121.154_67), 121.155);
        assert_eq!(round_100m(30.001_49), 30.001);
    }

    #[test]
    fn actors_are_named_by_office() {
        assert_eq!(
            public_actor(Some("梨洲派出所".into()), Some("unit_handler"), "张三"),
            "梨洲派出所"
        );
        assert_eq!(public_actor(None, Some("citizen"), "李四"), "群众");
        assert_eq!(public_actor(None, None, "王五（导入）"), "工作人员");
        assert_eq!(
            public_actor(None, None, crate::feedback::LINK_ACTOR),
            crate::feedback::LINK_ACTOR
        );
    }
}
