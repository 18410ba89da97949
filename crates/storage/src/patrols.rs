//! Patrol check-ins (巡查打卡, D5): a grid worker on patrol records a position from
//! the phone. The grid comes from the position (the server's grid index finds it);
//! a check-in outside the worker's own grid is stored but flagged. Each check-in is
//! idempotent by the worker's own key and leaves an audit record. Grid workers see
//! their own check-ins, a township's command room those in its township, the city
//! (and oversight, read only) all of them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::{Actor, GeoPoint, OrgId, OrgKind, Role};

use crate::attachments::Photo;
use crate::backend::Tx;
use crate::records::{AuditRecord, Named};
use crate::reference::{org_by_code, org_by_id};
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// A note longer than this is refused.
pub const NOTE_MAX: usize = 500;

/// A check-in as the worker's phone sends it, position already in WGS-84 and its
/// grid (if any) looked up from the position.
#[derive(Debug, Clone)]
pub struct NewPatrol {
    pub location: GeoPoint,
    /// The grid the position lies in, by the grid index; `None` when in none.
    pub grid_code: Option<String>,
    /// The phone's accuracy estimate, metres.
    pub accuracy_m: Option<f64>,
    pub note: Option<String>,
    /// The phone's own key for this check-in: a retry returns the first one.
    pub idempotency_key: String,
    pub photo: Option<Photo>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Patrol {
    pub id: i64,
    pub worker: Named,
    pub own_grid: Option<Named>,
    /// Where the position lies; `None` outside every grid.
    pub grid: Option<Named>,
    pub township: Option<Named>,
    pub at: DateTime<Utc>,
    pub location: GeoPoint,
    pub accuracy_m: Option<f64>,
    pub note: Option<String>,
    /// Checked in outside the worker's own grid (or outside every grid).
    pub outside_own_grid: bool,
    pub has_photo: bool,
}

/// Which check-ins to list: a time window, optionally one grid (by code) or only
/// those outside the worker's own grid.
#[derive(Debug, Clone, Default)]
pub struct PatrolFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub grid: Option<String>,
    pub outside_only: bool,
    pub limit: u32,
}

/// Check-ins per grid in a window, for the command room's overview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridPatrolCount {
    pub grid: Named,
    pub total: i64,
    pub outside: i64,
}

#[derive(sqlx::FromRow)]
struct PatrolRow {
    id: i64,
    worker_id: i64,
    worker_username: String,
    worker_name: String,
    own_grid_id: Option<i64>,
    own_grid_code: Option<String>,
    own_grid_name: Option<String>,
    grid_id: Option<i64>,
    grid_code: Option<String>,
    grid_name: Option<String>,
    township_id: Option<i64>,
    township_code: Option<String>,
    township_name: Option<String>,
    at: DateTime<Utc>,
    lon: f64,
    lat: f64,
    accuracy_m: Option<f64>,
    note: Option<String>,
    outside_own_grid: bool,
    has_photo: bool,
}

const PATROL_SELECT: &str = "SELECT p.id, p.worker_id, w.username AS worker_username, \
 w.display_name AS worker_name, p.own_grid_id, og.code AS own_grid_code, og.name AS own_grid_name, \
 p.grid_id, g.code AS grid_code, g.name AS grid_name, p.township_id, t.code AS township_code, \
 t.name AS township_name, p.at, p.lon, p.lat, p.accuracy_m, p.note, p.outside_own_grid, \
 CASE WHEN p.photo IS NULL THEN FALSE ELSE TRUE END AS has_photo \
 FROM patrols p JOIN users w ON w.id = p.worker_id \
 LEFT JOIN orgs og ON og.id = p.own_grid_id LEFT JOIN orgs g ON g.id = p.grid_id \
 LEFT JOIN orgs t ON t.id = p.township_id ";

fn named(id: Option<i64>, code: Option<String>, name: Option<String>) -> Option<Named> {
    Some(Named {
        id: id?,
        code: code?,
        name: name?,
    })
}

impl From<PatrolRow> for Patrol {
    fn from(r: PatrolRow) -> Self {
        Patrol {
            id: r.id,
            worker: Named {
                id: r.worker_id,
                code: r.worker_username,
                name: r.worker_name,
            },
            own_grid: named(r.own_grid_id, r.own_grid_code, r.own_grid_name),
            grid: named(r.grid_id, r.grid_code, r.grid_name),
            township: named(r.township_id, r.township_code, r.township_name),
            at: r.at,
            location: GeoPoint {
                lon: r.lon,
                lat: r.lat,
            },
            accuracy_m: r.accuracy_m,
            note: r.note,
            outside_own_grid: r.outside_own_grid,
            has_photo: r.has_photo,
        }
    }
}

/// Whose check-ins an actor sees, as a WHERE condition over `patrols p`.
#[derive(Debug, Clone, Copy)]
enum PatrolScope {
    All,
    Township(OrgId),
    Worker(i64),
}

/// Patrol access for one actor; `None` from [`Store::patrols_for`] for roles that
/// have no business with patrols.
pub struct PatrolRepo<'a> {
    store: &'a Store,
    actor: Actor,
    scope: PatrolScope,
}

impl Store {
    pub fn patrols_for(&self, actor: &Actor) -> Option<PatrolRepo<'_>> {
        let scope = match (actor.role, actor.org_id) {
            (Role::Admin | Role::CityOperator | Role::CityLeader | Role::Oversight, _) => {
                PatrolScope::All
            }
            (Role::TownshipOperator, Some(t)) => PatrolScope::Township(t),
            (Role::GridWorker, Some(_)) => PatrolScope::Worker(actor.user_id.0),
            _ => return None,
        };
        Some(PatrolRepo {
            store: self,
            actor: actor.clone(),
            scope,
        })
    }
}

fn scope_sql(scope: PatrolScope) -> Sql {
    let mut q = Sql::default();
    match scope {
        PatrolScope::All => {
            q.push("1 = 1");
        }
        PatrolScope::Township(t) => {
            q.push("p.township_id = ").arg(Arg::I64(t.0));
        }
        PatrolScope::Worker(w) => {
            q.push("p.worker_id = ").arg(Arg::I64(w));
        }
    }
    q
}

fn filter_sql(scope: PatrolScope, f: &PatrolFilter) -> Sql {
    let mut q = Sql::new("WHERE ");
    q.append(scope_sql(scope));
    if let Some(from) = f.from {
        q.push(" AND p.at >= ").arg(Arg::Time(from));
    }
    if let Some(to) = f.to {
        q.push(" AND p.at < ").arg(Arg::Time(to));
    }
    if let Some(g) = &f.grid {
        q.push(" AND p.grid_id IN (SELECT id FROM orgs WHERE code = ")
            .arg(Arg::Text(g.clone()))
            .push(")");
    }
    if f.outside_only {
        q.push(" AND p.outside_own_grid = ").arg(Arg::Bool(true));
    }
    q
}

async fn patrol_by<T: Tx>(tx: &mut T, cond: Sql) -> Result<Option<Patrol>, StoreError> {
    let mut q = Sql::new(PATROL_SELECT);
    q.append(cond);
    Ok(tx
        .rows::<PatrolRow>(q)
        .await?
        .into_iter()
        .next()
        .map(Patrol::from))
}

impl PatrolRepo<'_> {
    /// Grid workers check in; everyone else with access only reads.
    pub fn may_check_in(&self) -> bool {
        matches!(self.scope, PatrolScope::Worker(_))
    }

    /// Stores a check-in, or returns the one stored earlier under the same key
    /// (`false` then). The check-in and its audit record commit together.
    pub async fn check_in(
        &self,
        new: &NewPatrol,
        now: DateTime<Utc>,
    ) -> Result<(Patrol, bool), StoreError> {
        let PatrolScope::Worker(worker) = self.scope else {
            return Err(StoreError::invalid("actor", "只有网格员可以巡查打卡"));
        };
        let key = new.idempotency_key.trim();
        if key.is_empty() || key.len() > 100 {
            return Err(StoreError::invalid(
                "idempotency_key",
                "须为 1–100 个字符的打卡标识",
            ));
        }
        let note = new
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        if note.as_ref().is_some_and(|n| n.chars().count() > NOTE_MAX) {
            return Err(StoreError::invalid(
                "note",
                format!("备注不能超过 {NOTE_MAX} 个字符"),
            ));
        }
        if new.accuracy_m.is_some_and(|a| !a.is_finite() || a < 0.0) {
            return Err(StoreError::invalid("accuracy_m", "定位精度须为非负数"));
        }
        let actor = &self.actor;
        in_tx!(self.store, Write, |tx| {
            let mut existing = Sql::new("WHERE p.worker_id = ");
            existing
                .arg(Arg::I64(worker))
                .push(" AND p.idempotency_key = ")
                .arg(Arg::Text(key.to_string()));
            if let Some(p) = patrol_by(&mut tx, existing).await? {
                return Ok((p, false));
            }
            let own = match actor.org_id {
                Some(o) => org_by_id(&mut tx, o)
                    .await?
                    .filter(|o| o.kind == OrgKind::Grid),
                None => None,
            };
            let at = match &new.grid_code {
                Some(code) => org_by_code(&mut tx, code)
                    .await?
                    .filter(|o| o.kind == OrgKind::Grid),
                None => None,
            };
            let outside = match (&own, &at) {
                (Some(o), Some(g)) => o.id != g.id,
                _ => true,
            };
            let township = at
                .as_ref()
                .and_then(|g| g.township_id)
                .or_else(|| own.as_ref().and_then(|o| o.township_id));
            let mut ins = Sql::new(
                "INSERT INTO patrols (worker_id, own_grid_id, grid_id, township_id, at, lon, lat, \
                 accuracy_m, note, outside_own_grid, photo, photo_type, idempotency_key) VALUES ",
            );
            ins.list([
                Arg::I64(worker),
                Arg::OptI64(own.as_ref().map(|o| o.id.0)),
                Arg::OptI64(at.as_ref().map(|g| g.id.0)),
                Arg::OptI64(township.map(|t| t.0)),
                Arg::Time(now),
                Arg::F64(Some(new.location.lon)),
                Arg::F64(Some(new.location.lat)),
                Arg::F64(new.accuracy_m),
                Arg::OptText(note.clone()),
                Arg::Bool(outside),
                Arg::Bytes(new.photo.as_ref().map(|p| p.public().to_vec())),
                Arg::OptText(
                    new.photo
                        .as_ref()
                        .map(|p| p.kind().content_type().to_string()),
                ),
                Arg::Text(key.to_string()),
            ])
            // Two requests with one key at once: the second finds the first's row.
            .push(" ON CONFLICT (worker_id, idempotency_key) DO NOTHING RETURNING id");
            let Some((id,)) = tx.rows::<(i64,)>(ins).await?.into_iter().next() else {
                let mut again = Sql::new("WHERE p.worker_id = ");
                again
                    .arg(Arg::I64(worker))
                    .push(" AND p.idempotency_key = ")
                    .arg(Arg::Text(key.to_string()));
                let p = patrol_by(&mut tx, again)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("patrol key taken but not found".into()))?;
                return Ok((p, false));
            };
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: crate::Acting::from(actor),
                action: "patrol.check_in".into(),
                object_type: "patrol",
                object_id: Some(id.to_string()),
                detail: Some(serde_json::json!({
                    "grid": at.as_ref().map(|g| g.code.clone()),
                    "outside_own_grid": outside,
                })),
            })
            .await?;
            let mut by_id = Sql::new("WHERE p.id = ");
            by_id.arg(Arg::I64(id));
            let p = patrol_by(&mut tx, by_id)
                .await?
                .ok_or_else(|| StoreError::Corrupt("patrol vanished after insert".into()))?;
            Ok::<_, StoreError>((p, true))
        })
    }

    /// Check-ins in the actor's scope, newest first.
    pub async fn list(&self, f: &PatrolFilter) -> Result<Vec<Patrol>, StoreError> {
        let mut q = Sql::new(PATROL_SELECT);
        q.append(filter_sql(self.scope, f));
        q.push(" ORDER BY p.at DESC, p.id DESC LIMIT ")
            .arg(Arg::I64(i64::from(f.limit.clamp(1, 1000))));
        let rows = in_tx!(self.store, Read, |tx| tx
            .rows::<PatrolRow>(q)
            .await
            .map_err(StoreError::from))?;
        Ok(rows.into_iter().map(Patrol::from).collect())
    }

    /// One check-in in the actor's scope.
    pub async fn get(&self, id: i64) -> Result<Patrol, StoreError> {
        let mut cond = Sql::new("WHERE p.id = ");
        cond.arg(Arg::I64(id)).push(" AND ");
        cond.append(scope_sql(self.scope));
        in_tx!(self.store, Read, |tx| patrol_by(&mut tx, cond).await)?.ok_or(StoreError::NotFound)
    }

    /// The photo of a check-in in the actor's scope: (content type, bytes without
    /// metadata). Not found when there is none.
    pub async fn photo(&self, id: i64) -> Result<(String, Vec<u8>), StoreError> {
        #[derive(sqlx::FromRow)]
        struct PhotoRow {
            photo_type: Option<String>,
            photo: Option<Vec<u8>>,
        }
        let mut q = Sql::new("SELECT p.photo_type, p.photo FROM patrols p WHERE p.id = ");
        q.arg(Arg::I64(id)).push(" AND ");
        q.append(scope_sql(self.scope));
        let rows = in_tx!(self.store, Read, |tx| tx
            .rows::<PhotoRow>(q)
            .await
            .map_err(StoreError::from))?;
        match rows.into_iter().next() {
            Some(PhotoRow {
                photo_type: Some(t),
                photo: Some(b),
            }) => Ok((t, b)),
            _ => Err(StoreError::NotFound),
        }
    }

    /// Check-ins per grid (by the grid of the position) in the window, most first;
    /// those in no grid are left out.
    pub async fn counts_by_grid(
        &self,
        f: &PatrolFilter,
    ) -> Result<Vec<GridPatrolCount>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct CountRow {
            id: i64,
            code: String,
            name: String,
            total: i64,
            outside: i64,
        }
        let mut q = Sql::new(
            "SELECT g.id, g.code, g.name, COUNT(*) AS total, \
             SUM(CASE WHEN p.outside_own_grid THEN 1 ELSE 0 END) AS outside \
             FROM patrols p JOIN orgs g ON g.id = p.grid_id ",
        );
        q.append(filter_sql(self.scope, f));
        q.push(" GROUP BY g.id, g.code, g.name ORDER BY total DESC, g.code");
        let rows = in_tx!(self.store, Read, |tx| tx
            .rows::<CountRow>(q)
            .await
            .map_err(StoreError::from))?;
        Ok(rows
            .into_iter()
            .map(|r| GridPatrolCount {
                grid: Named {
                    id: r.id,
                    code: r.code,
                    name: r.name,
                },
                total: r.total,
                outside: r.outside,
            })
            .collect())
    }
}
