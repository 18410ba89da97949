//! Assessment (考核, O4, H5): schemes of weighted KPIs per kind of assessed body,
//! stored and edited by the city, and monthly scores with ranks and 红黑榜
//! computed from the same KPIs as `kpi`. The city sees every body; a township's
//! command room sees the stationed units and grid teams of its own township, which
//! it assesses.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhili_domain::kpi::{AssessedKind, Board, Indicator, KpiValue, Scheme, Score, boards, rank};
use zhili_domain::{Actor, OrgKind, Role};

use crate::backend::Tx;
use crate::events::Acting;
use crate::kpi::{Period, Subject, compute};
use crate::records::{AuditRecord, Named};
use crate::reference::org_by_code;
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// How many bodies the red and the black list each name at most; with fewer than
/// twice as many bodies ranked, each names half of them, so the two never meet.
pub const BOARD_SIZE: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredScheme {
    pub id: i64,
    #[serde(flatten)]
    pub scheme: Scheme,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScoreRow {
    pub body: Named,
    /// 1-based, shared by equal scores; `None` without any data.
    pub rank: Option<usize>,
    pub board: Option<Board>,
    #[serde(flatten)]
    pub score: Score,
    pub values: Vec<KpiValue>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    pub scheme: StoredScheme,
    /// YYYY-MM.
    pub month: String,
    /// Best first; bodies without a score last.
    pub rows: Vec<ScoreRow>,
}

#[derive(sqlx::FromRow)]
struct SchemeRow {
    id: i64,
    name: String,
    assessed: String,
    indicators: String,
    updated_at: DateTime<Utc>,
}

fn stored(row: SchemeRow) -> Result<StoredScheme, StoreError> {
    let assessed = AssessedKind::parse(&row.assessed)
        .ok_or_else(|| StoreError::Corrupt(format!("assessed kind {}", row.assessed)))?;
    let indicators: Vec<Indicator> = serde_json::from_str(&row.indicators)
        .map_err(|e| StoreError::Corrupt(format!("indicators of scheme {}: {e}", row.id)))?;
    Ok(StoredScheme {
        id: row.id,
        scheme: Scheme {
            name: row.name,
            assessed,
            indicators,
        },
        updated_at: row.updated_at,
    })
}

/// Which schemes' scores the actor may read, and of which bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    All,
    /// Stationed units and grid teams of this township.
    Township(i64),
}

fn reach(actor: &Actor) -> Option<Reach> {
    match (actor.role, actor.org_id) {
        (Role::Admin | Role::CityOperator | Role::CityLeader | Role::Oversight, _) => {
            Some(Reach::All)
        }
        (Role::TownshipOperator, Some(t)) => Some(Reach::Township(t.0)),
        _ => None,
    }
}

fn covers(reach: Reach, kind: AssessedKind) -> bool {
    match reach {
        Reach::All => true,
        Reach::Township(_) => matches!(kind, AssessedKind::StationedUnit | AssessedKind::GridTeam),
    }
}

/// Whether the actor sees any assessment (for navigation).
pub fn can_view_assessment(actor: &Actor) -> bool {
    reach(actor).is_some()
}

const SCHEME_SELECT: &str =
    "SELECT id, name, assessed, indicators, updated_at FROM assessment_schemes ";

impl Store {
    /// Creates a scheme, or replaces the one of the same name. Admin and the city
    /// command centre only; the scheme is checked first (the 30% rule among others).
    pub async fn save_scheme(
        &self,
        actor: &Actor,
        scheme: &Scheme,
        now: DateTime<Utc>,
    ) -> Result<StoredScheme, StoreError> {
        if !matches!(actor.role, Role::Admin | Role::CityOperator) {
            return Err(StoreError::invalid(
                "actor",
                "只有管理员或市综合指挥中心可以编辑考核方案",
            ));
        }
        scheme.validate().map_err(|e| {
            let field = e.field();
            StoreError::invalid(field, e.to_string())
        })?;
        let mut clean = scheme.clone();
        clean.name = scheme.name.trim().to_string();
        let indicators = serde_json::to_string(&clean.indicators)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let acting = Acting::from(actor);
        in_tx!(self, Write, |tx| {
            let mut q = Sql::new(
                "INSERT INTO assessment_schemes (name, assessed, indicators, updated_at, updated_by) VALUES ",
            );
            q.list([
                Arg::Text(clean.name.clone()),
                Arg::Text(clean.assessed.code().into()),
                Arg::Text(indicators.clone()),
                Arg::Time(now),
                Arg::OptI64(acting.user_id.map(|u| u.0)),
            ])
            .push(
                " ON CONFLICT (name) DO UPDATE SET assessed = excluded.assessed, \
                 indicators = excluded.indicators, updated_at = excluded.updated_at, \
                 updated_by = excluded.updated_by",
            );
            tx.exec(q).await?;
            let mut find = Sql::new(SCHEME_SELECT);
            find.push("WHERE name = ")
                .arg(Arg::Text(clean.name.clone()));
            let row: SchemeRow = tx
                .rows(find)
                .await?
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound)?;
            let saved = stored(row)?;
            tx.insert_audit(&AuditRecord {
                at: now,
                actor: acting.clone(),
                action: "assessment.save_scheme".into(),
                object_type: "assessment_scheme",
                object_id: Some(saved.id.to_string()),
                detail: Some(
                    serde_json::json!({ "name": saved.scheme.name, "indicators": indicators }),
                ),
            })
            .await?;
            Ok::<_, StoreError>(saved)
        })
    }

    /// The schemes the actor may read.
    pub async fn schemes(&self, actor: &Actor) -> Result<Vec<StoredScheme>, StoreError> {
        let Some(reach) = reach(actor) else {
            return Ok(Vec::new());
        };
        let rows: Vec<SchemeRow> = in_tx!(self, Read, |tx| {
            let mut q = Sql::new(SCHEME_SELECT);
            q.push("ORDER BY name");
            Ok::<_, StoreError>(tx.rows(q).await?)
        })?;
        Ok(rows
            .into_iter()
            .map(stored)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|s| covers(reach, s.scheme.assessed))
            .collect())
    }

    /// The month's scores under one scheme, ranked; `NotFound` for a scheme the
    /// actor may not read.
    pub async fn scores(
        &self,
        actor: &Actor,
        scheme_id: i64,
        month: &str,
    ) -> Result<Scores, StoreError> {
        let reach = reach(actor).ok_or(StoreError::NotFound)?;
        let period = Period::month(month)?;
        let cal = self.calendar();
        let (scheme, bodies, values) = in_tx!(self, Read, |tx| {
            let mut q = Sql::new(SCHEME_SELECT);
            q.push("WHERE id = ").arg(Arg::I64(scheme_id));
            let row: SchemeRow = tx
                .rows(q)
                .await?
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound)?;
            let scheme = stored(row)?;
            if !covers(reach, scheme.scheme.assessed) {
                return Err(StoreError::NotFound);
            }
            let kind: OrgKind = scheme.scheme.assessed.org_kind();
            let mut cond = Sql::new("kind = ");
            cond.arg(Arg::Text(kind.code().into()));
            if let Reach::Township(t) = reach {
                cond.push(" AND township_id = ").arg(Arg::I64(t));
            }
            cond.push(" ORDER BY code");
            let codes: Vec<String> = tx
                .org_where(cond)
                .await?
                .into_iter()
                .map(|o| o.code)
                .collect();
            let kinds: Vec<_> = scheme.scheme.indicators.iter().map(|i| i.kpi).collect();
            let mut bodies = Vec::new();
            let mut values = Vec::new();
            for code in codes {
                let org = org_by_code(&mut tx, &code)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                let subject = Subject { org };
                values.push(compute(&mut tx, &cal, &subject, &period, &kinds).await?);
                bodies.push(subject.org);
            }
            Ok::<_, StoreError>((scheme, bodies, values))
        })?;
        let scored: Vec<Score> = values.iter().map(|v| scheme.scheme.score(v)).collect();
        let totals: Vec<Option<f64>> = scored.iter().map(|s| s.total).collect();
        let ranks = rank(&totals);
        let ranked = totals.iter().flatten().count();
        let board = boards(&totals, BOARD_SIZE.min(ranked / 2));
        let mut rows: Vec<ScoreRow> = bodies
            .into_iter()
            .zip(scored)
            .zip(values)
            .zip(ranks.into_iter().zip(board))
            .map(|(((org, score), values), (rank, board))| ScoreRow {
                body: Named {
                    id: org.id.0,
                    code: org.code,
                    name: org.name,
                },
                rank,
                board,
                score,
                values,
            })
            .collect();
        rows.sort_by(|a, b| {
            let key = |r: &ScoreRow| r.rank.unwrap_or(usize::MAX);
            key(a)
                .cmp(&key(b))
                .then_with(|| a.body.code.cmp(&b.body.code))
        });
        Ok(Scores {
            scheme,
            month: period.from.format("%Y-%m").to_string(),
            rows,
        })
    }
}
