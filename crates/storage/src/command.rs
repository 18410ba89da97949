//! The command centre's picture (D4, H1): what is open, late and new in the viewer's
//! area, per day, category, township and grid, and the open events on the map. Read
//! straight from the database on every request, so that several instances on one
//! PostgreSQL show the same numbers. Every count here has an event-list filter that
//! lists exactly its events (the server builds the links; docs/command-centre.md).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use zhili_calendar::china_time;
use zhili_domain::{Actor, Role, Status, mask_in_text};

use crate::backend::Tx;
use crate::deadlines::Clock;
use crate::events::scope_sql;
use crate::records::{Coded, Named};
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// Not yet handled to the end: on the desk of the command room or of a unit.
pub const OPEN_STATUSES: &[Status] = &[
    Status::Reported,
    Status::Accepted,
    Status::Dispatched,
    Status::Handling,
    Status::Suspended,
];

/// Days in the trend and the category breakdown, today included.
pub const WINDOW_DAYS: i64 = 30;

/// At most this many events go to the map at once (newest first).
pub const MAP_LIMIT: i64 = 5000;

/// Who sees the command centre: the city, leaders and oversight (all, read-only for
/// oversight), township command rooms (their own township), administrators.
pub fn may_view(actor: &Actor) -> bool {
    match actor.role {
        Role::Admin | Role::CityOperator | Role::CityLeader | Role::Oversight => true,
        Role::TownshipOperator => actor.org_id.is_some(),
        Role::GridWorker
        | Role::UnitHandler
        | Role::Citizen
        | Role::Integration
        | Role::SecurityAdmin
        | Role::Auditor => false,
    }
}

/// Which outbound messages the viewer sees the state of (oversight none): `None`
/// none, `Some(None)` the city's, `Some(Some(t))` those about township `t`'s events
/// (a township command room).
pub fn channel_scope(actor: &Actor) -> Option<Option<i64>> {
    match actor.role {
        Role::Admin | Role::CityOperator | Role::CityLeader => Some(None),
        Role::TownshipOperator => actor.org_id.map(|o| Some(o.0)),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counts {
    /// Reported since midnight China time.
    pub today: i64,
    /// Waiting to be accepted (上报).
    pub pending_accept: i64,
    /// In one of [`OPEN_STATUSES`].
    pub open: i64,
    /// Past the handling deadline with the handling clock running.
    pub overdue: i64,
    /// Reported in the last [`WINDOW_DAYS`] days.
    pub window: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayCount {
    pub date: NaiveDate,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryCount {
    /// A top-level category (大类); its sub-categories count to it.
    pub category: Named,
    pub count: i64,
}

/// Open and overdue events of one area (a township or a grid).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaLoad {
    pub area: Named,
    pub open: i64,
    pub overdue: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueEvent {
    pub id: i64,
    pub number: String,
    pub excerpt: String,
    pub township: String,
    pub category: Option<String>,
    pub handle_due_at: DateTime<Utc>,
}

/// Everything on the command centre but the map's markers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub at: DateTime<Utc>,
    /// Today in China time, and the first day of the window.
    pub today: NaiveDate,
    pub window_from: NaiveDate,
    pub counts: Counts,
    /// One entry per day of the window, oldest first, zeros included.
    pub trend: Vec<DayCount>,
    /// Reported in the window, by top-level category, most first.
    pub categories: Vec<CategoryCount>,
    /// Townships with open events, most overdue first.
    pub townships: Vec<AreaLoad>,
    /// Grids with open events (for colouring the map).
    pub grids: Vec<AreaLoad>,
    /// The longest overdue, at most 10.
    pub overdue: Vec<OverdueEvent>,
    /// Focus issues (O6): open events per focus category.
    pub focus: Vec<CategoryCount>,
}

/// An event as a marker on the map. No reporter data; the excerpt is masked for
/// viewers who do not handle events (oversight).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapEvent {
    pub id: i64,
    pub number: String,
    pub lon: f64,
    pub lat: f64,
    pub status: Coded,
    pub open: bool,
    pub overdue: bool,
    pub category: Option<String>,
    pub township: String,
    pub grid_id: Option<i64>,
    pub excerpt: String,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct CountsRow {
    today: i64,
    pending_accept: i64,
    open: i64,
    overdue: i64,
    in_window: i64,
}

#[derive(sqlx::FromRow)]
struct DayRow {
    day: i64,
    n: i64,
}

#[derive(sqlx::FromRow)]
struct NamedCountRow {
    id: i64,
    code: String,
    name: String,
    n: i64,
}

#[derive(sqlx::FromRow)]
struct LoadRow {
    id: i64,
    code: String,
    name: String,
    open: i64,
    overdue: i64,
}

#[derive(sqlx::FromRow)]
struct OverdueRow {
    id: i64,
    number: String,
    text: String,
    township: String,
    category: Option<String>,
    handle_due_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct MapRow {
    id: i64,
    number: String,
    lon: f64,
    lat: f64,
    status: String,
    handle_due_at: Option<DateTime<Utc>>,
    category: Option<String>,
    township: String,
    grid_id: Option<i64>,
    text: String,
    reported_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The command centre for one viewer; every query carries their scope.
pub struct CommandRepo<'a> {
    store: &'a Store,
    actor: Actor,
}

impl Store {
    /// `None` for a viewer who may not see the command centre.
    pub fn command_for(&self, actor: &Actor) -> Option<CommandRepo<'_>> {
        may_view(actor).then(|| CommandRepo {
            store: self,
            actor: actor.clone(),
        })
    }
}

fn china_midnight(d: NaiveDate) -> DateTime<Utc> {
    let naive = d.and_time(chrono::NaiveTime::MIN);
    naive
        .and_local_timezone(china_time())
        .single()
        .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc))
}

fn text_list(q: &mut Sql, statuses: &[Status]) {
    q.list(statuses.iter().map(|s| Arg::Text(s.code().into())));
}

/// `e.status IN (handling clock running) AND e.handle_due_at < now`.
pub(crate) fn overdue_sql(now: DateTime<Utc>) -> Sql {
    let mut q = Sql::new("(e.status IN ");
    text_list(&mut q, &Clock::Handle.running_statuses());
    q.push(" AND e.handle_due_at IS NOT NULL AND e.handle_due_at < ")
        .arg(Arg::Time(now))
        .push(")");
    q
}

fn open_sql() -> Sql {
    let mut q = Sql::new("e.status IN ");
    text_list(&mut q, OPEN_STATUSES);
    q
}

/// `SUM(CASE WHEN <overdue> THEN 1 ELSE 0 END)` and the open count, for the area loads.
fn load_columns(now: DateTime<Utc>) -> Sql {
    let mut q = Sql::new("COUNT(*) AS open, COALESCE(SUM(CASE WHEN ");
    q.append(overdue_sql(now))
        .push(" THEN 1 ELSE 0 END), 0) AS overdue");
    q
}

impl CommandRepo<'_> {
    fn masks(&self) -> bool {
        self.actor.role == Role::Oversight
    }

    fn excerpt(&self, text: &str, chars: usize) -> String {
        let short: String = text.chars().take(chars).collect();
        if self.masks() {
            mask_in_text(&short)
        } else {
            short
        }
    }

    pub async fn snapshot(&self, now: DateTime<Utc>) -> Result<Snapshot, StoreError> {
        let today = now.with_timezone(&china_time()).date_naive();
        let window_from = today - Duration::days(WINDOW_DAYS - 1);
        let scope = scope_sql(self.actor.scope());
        let (counts, days, categories, townships, grids, overdue, focus) =
            in_tx!(self.store, Read, |tx| {
                snapshot_in(&mut tx, &scope, now, today, window_from).await
            })?;
        let mut trend: Vec<DayCount> = (0..WINDOW_DAYS)
            .map(|i| DayCount {
                date: window_from + Duration::days(i),
                count: 0,
            })
            .collect();
        for d in days {
            if let Some(slot) = usize::try_from(d.day).ok().and_then(|i| trend.get_mut(i)) {
                slot.count = d.n;
            }
        }
        let named = |r: NamedCountRow| CategoryCount {
            category: Named {
                id: r.id,
                code: r.code,
                name: r.name,
            },
            count: r.n,
        };
        let load = |r: LoadRow| AreaLoad {
            area: Named {
                id: r.id,
                code: r.code,
                name: r.name,
            },
            open: r.open,
            overdue: r.overdue,
        };
        Ok(Snapshot {
            at: now,
            today,
            window_from,
            counts: Counts {
                today: counts.today,
                pending_accept: counts.pending_accept,
                open: counts.open,
                overdue: counts.overdue,
                window: counts.in_window,
            },
            trend,
            categories: categories.into_iter().map(named).collect(),
            townships: townships.into_iter().map(load).collect(),
            grids: grids.into_iter().map(load).collect(),
            overdue: overdue
                .into_iter()
                .map(|r| OverdueEvent {
                    excerpt: self.excerpt(&r.text, 40),
                    id: r.id,
                    number: r.number,
                    township: r.township,
                    category: r.category,
                    handle_due_at: r.handle_due_at,
                })
                .collect(),
            focus: focus.into_iter().map(named).collect(),
        })
    }

    /// Events with a position for the map: without `since`, the open ones (newest
    /// first, at most [`MAP_LIMIT`]); with it, every event changed at or after
    /// `since`, open or not, so that a client can move or remove its markers.
    pub async fn map_events(
        &self,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<MapEvent>, StoreError> {
        let mut q = Sql::new(
            "SELECT e.id, e.number, e.lon, e.lat, e.status, e.handle_due_at, c.name AS category, \
             t.name AS township, e.grid_id, e.text, e.reported_at, e.updated_at \
             FROM events e JOIN orgs t ON t.id = e.township_id \
             LEFT JOIN categories c ON c.id = e.category_id \
             WHERE e.lon IS NOT NULL AND e.lat IS NOT NULL AND ",
        );
        q.append(scope_sql(self.actor.scope()));
        match since {
            Some(t) => {
                q.push(" AND e.updated_at >= ").arg(Arg::Time(t));
            }
            None => {
                q.push(" AND ");
                q.append(open_sql());
            }
        }
        q.push(" ORDER BY e.updated_at DESC, e.id DESC LIMIT ")
            .arg(Arg::I64(MAP_LIMIT));
        let rows: Vec<MapRow> = in_tx!(self.store, Read, |tx| tx
            .rows(q)
            .await
            .map_err(StoreError::from))?;
        rows.into_iter()
            .map(|r| {
                let status = Status::parse(&r.status)
                    .ok_or_else(|| StoreError::Corrupt(format!("status {}", r.status)))?;
                Ok(MapEvent {
                    open: OPEN_STATUSES.contains(&status),
                    overdue: Clock::Handle.runs_in(status)
                        && r.handle_due_at.is_some_and(|d| d < now),
                    status: Coded::of_status(status),
                    excerpt: self.excerpt(&r.text, 60),
                    id: r.id,
                    number: r.number,
                    lon: r.lon,
                    lat: r.lat,
                    category: r.category,
                    township: r.township,
                    grid_id: r.grid_id,
                    reported_at: r.reported_at,
                    updated_at: r.updated_at,
                })
            })
            .collect()
    }
}

type SnapshotRows = (
    CountsRow,
    Vec<DayRow>,
    Vec<NamedCountRow>,
    Vec<LoadRow>,
    Vec<LoadRow>,
    Vec<OverdueRow>,
    Vec<NamedCountRow>,
);

async fn snapshot_in<T: Tx>(
    tx: &mut T,
    scope: &Sql,
    now: DateTime<Utc>,
    today: NaiveDate,
    window_from: NaiveDate,
) -> Result<SnapshotRows, StoreError> {
    let window_start = china_midnight(window_from);

    // The tiles: one pass over the open events and the window's.
    let mut q = Sql::new("SELECT COALESCE(SUM(CASE WHEN e.reported_at >= ");
    q.arg(Arg::Time(china_midnight(today)))
        .push(" THEN 1 ELSE 0 END), 0) AS today, COALESCE(SUM(CASE WHEN e.status = ")
        .arg(Arg::Text(Status::Reported.code().into()))
        .push(" THEN 1 ELSE 0 END), 0) AS pending_accept, COALESCE(SUM(CASE WHEN ")
        .append(open_sql())
        .push(" THEN 1 ELSE 0 END), 0) AS open, COALESCE(SUM(CASE WHEN ")
        .append(overdue_sql(now))
        .push(" THEN 1 ELSE 0 END), 0) AS overdue, COALESCE(SUM(CASE WHEN e.reported_at >= ")
        .arg(Arg::Time(window_start))
        .push(" THEN 1 ELSE 0 END), 0) AS in_window FROM events e WHERE ")
        .append(scope.clone())
        .push(" AND (")
        .append(open_sql())
        .push(" OR e.reported_at >= ")
        .arg(Arg::Time(window_start))
        .push(")");
    let counts: CountsRow = tx
        .rows(q)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Corrupt("command counts: no row".into()))?;

    // Per day of the window: the days as a derived table of [start, end) instants,
    // so that the bucketing is the same SQL on both backends.
    let mut q = Sql::new("SELECT d.i AS day, COUNT(e.id) AS n FROM (");
    for i in 0..WINDOW_DAYS {
        let day = window_from + Duration::days(i);
        q.push(if i == 0 {
            "SELECT CAST("
        } else {
            " UNION ALL SELECT CAST("
        });
        q.arg(Arg::I64(i))
            .push(" AS BIGINT) AS i, ")
            .arg(Arg::Time(china_midnight(day)))
            .push(" AS s, ")
            .arg(Arg::Time(china_midnight(day + Duration::days(1))))
            .push(" AS t");
    }
    q.push(") d JOIN events e ON e.reported_at >= d.s AND e.reported_at < d.t WHERE ")
        .append(scope.clone())
        .push(" GROUP BY d.i");
    let days: Vec<DayRow> = tx.rows(q).await?;

    // The window by top-level category.
    let mut q = Sql::new(
        "SELECT COALESCE(p.id, c.id) AS id, COALESCE(p.code, c.code) AS code, \
         COALESCE(p.name, c.name) AS name, COUNT(*) AS n FROM events e \
         JOIN categories c ON c.id = e.category_id LEFT JOIN categories p ON p.id = c.parent_id \
         WHERE e.reported_at >= ",
    );
    q.arg(Arg::Time(window_start))
        .push(" AND ")
        .append(scope.clone())
        .push(
            " GROUP BY COALESCE(p.id, c.id), COALESCE(p.code, c.code), COALESCE(p.name, c.name) \
             ORDER BY n DESC, code",
        );
    let categories: Vec<NamedCountRow> = tx.rows(q).await?;

    let loads = |column: &'static str, order: &'static str| {
        let mut q = Sql::new("SELECT o.id, o.code, o.name, ");
        q.append(load_columns(now))
            .push(" FROM events e JOIN orgs o ON o.id = ")
            .push(column)
            .push(" WHERE ")
            .append(open_sql())
            .push(" AND ")
            .append(scope.clone())
            .push(" GROUP BY o.id, o.code, o.name ORDER BY ")
            .push(order);
        q
    };
    let townships: Vec<LoadRow> = tx
        .rows(loads("e.township_id", "overdue DESC, open DESC, o.code"))
        .await?;
    let grids: Vec<LoadRow> = tx.rows(loads("e.grid_id", "o.code")).await?;

    let mut q = Sql::new(
        "SELECT e.id, e.number, e.text, t.name AS township, c.name AS category, e.handle_due_at \
         FROM events e JOIN orgs t ON t.id = e.township_id \
         LEFT JOIN categories c ON c.id = e.category_id WHERE ",
    );
    q.append(overdue_sql(now))
        .push(" AND ")
        .append(scope.clone())
        .push(" ORDER BY e.handle_due_at ASC, e.id ASC LIMIT 10");
    let overdue: Vec<OverdueRow> = tx.rows(q).await?;

    let mut q = Sql::new(
        "SELECT c.id, c.code, c.name, COUNT(e.id) AS n FROM categories c \
         JOIN categories sub ON sub.id = c.id OR sub.parent_id = c.id \
         JOIN events e ON e.category_id = sub.id AND ",
    );
    q.append(open_sql())
        .push(" AND ")
        .append(scope.clone())
        .push(" WHERE c.focus GROUP BY c.id, c.code, c.name ORDER BY n DESC, c.code");
    let focus: Vec<NamedCountRow> = tx.rows(q).await?;

    Ok((counts, days, categories, townships, grids, overdue, focus))
}
