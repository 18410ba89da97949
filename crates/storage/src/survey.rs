//! Survey results (知晓率, 参与率, O5): per area and month, how many were asked,
//! how many knew the four platforms, how many had taken part. Imported from a file
//! all or nothing: every bad row is reported by its number and, if there is one,
//! nothing is stored. A row for an (area, month) already stored replaces it.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use zhili_domain::{Actor, Role};

use crate::backend::Tx;
use crate::events::Acting;
use crate::imports::BadRow;
use crate::records::AuditRecord;
use crate::reference::org_by_code;
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, in_tx};

/// One row of a survey file, as read (checked here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyRow {
    /// The row number as the user sees it in the file.
    pub row: usize,
    pub area_code: String,
    /// YYYY-MM.
    pub month: String,
    pub respondents: i64,
    pub aware: i64,
    pub participated: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyReport {
    /// Rows stored (0 when any row is bad).
    pub stored: usize,
    pub bad_rows: Vec<BadRow>,
}

fn bad(row: usize, field: &str, reason: impl Into<String>) -> BadRow {
    BadRow {
        row,
        field: field.into(),
        reason: reason.into(),
    }
}

/// The checks of one row that need no database.
fn check(r: &SurveyRow) -> Option<BadRow> {
    let month_ok = r.month.len() == 7
        && NaiveDate::parse_from_str(&format!("{}-01", r.month), "%Y-%m-%d").is_ok();
    if !month_ok {
        return Some(bad(r.row, "month", "月份格式应为 YYYY-MM，如 2026-05"));
    }
    if r.respondents <= 0 {
        return Some(bad(r.row, "respondents", "受访人数须大于 0"));
    }
    if r.aware < 0 || r.aware > r.respondents {
        return Some(bad(r.row, "aware", "知晓人数须在 0 与受访人数之间"));
    }
    if r.participated < 0 || r.participated > r.respondents {
        return Some(bad(r.row, "participated", "参与人数须在 0 与受访人数之间"));
    }
    None
}

impl Store {
    /// Stores survey rows for `actor` (admin, the city command centre, or a
    /// township command room for its own areas). `bad_rows` are rows the file
    /// reader already refused; any bad row and nothing is stored.
    pub async fn import_surveys(
        &self,
        actor: &Actor,
        rows: &[SurveyRow],
        bad_rows: Vec<BadRow>,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<SurveyReport, StoreError> {
        let own = match (actor.role, actor.org_id) {
            (Role::Admin | Role::CityOperator, _) => None,
            (Role::TownshipOperator, Some(t)) => Some(t),
            _ => {
                return Err(StoreError::invalid(
                    "actor",
                    format!("{}无权导入问卷调查结果", actor.role.label_zh()),
                ));
            }
        };
        let acting = Acting::from(actor);
        let outcome = in_tx!(self, Write, |tx| {
            let mut report = SurveyReport {
                stored: 0,
                bad_rows,
            };
            let mut first: HashMap<(&str, &str), usize> = HashMap::new();
            let mut good = Vec::new();
            for r in rows {
                if let Some(b) = check(r) {
                    report.bad_rows.push(b);
                    continue;
                }
                let code = r.area_code.trim();
                let org = org_by_code(&mut tx, code).await?;
                let Some(org) = org.filter(|o| !o.kind.is_unit()) else {
                    report
                        .bad_rows
                        .push(bad(r.row, "area_code", format!("未知区域编码 {code}")));
                    continue;
                };
                if let Some(t) = own
                    && org.id != t
                    && org.township_id != Some(t)
                {
                    report.bad_rows.push(bad(
                        r.row,
                        "area_code",
                        format!("{} 不在本乡镇（街道）", org.name),
                    ));
                    continue;
                }
                if let Some(f) = first.insert((code, r.month.as_str()), r.row) {
                    report.bad_rows.push(bad(
                        r.row,
                        "area_code",
                        format!("与第 {f} 行的区域和月份重复"),
                    ));
                    continue;
                }
                good.push((org.id.0, r));
            }
            if !report.bad_rows.is_empty() {
                report.bad_rows.sort_by_key(|b| b.row);
                // Not committed: dropping the transaction stores nothing.
                Err::<SurveyReport, SurveyReport>(report)
            } else {
                for (org_id, r) in &good {
                    let mut q = Sql::new(
                        "INSERT INTO survey_results (org_id, month, respondents, aware, participated, \
                         imported_at, imported_by) VALUES ",
                    );
                    q.list([
                        Arg::I64(*org_id),
                        Arg::Text(r.month.clone()),
                        Arg::I64(r.respondents),
                        Arg::I64(r.aware),
                        Arg::I64(r.participated),
                        Arg::Time(now),
                        Arg::OptI64(acting.user_id.map(|u| u.0)),
                    ])
                    .push(
                        " ON CONFLICT (org_id, month) DO UPDATE SET respondents = excluded.respondents, \
                         aware = excluded.aware, participated = excluded.participated, \
                         imported_at = excluded.imported_at, imported_by = excluded.imported_by",
                    );
                    tx.exec(q).await?;
                }
                crate::backend::Tx::insert_audit(
                    &mut tx,
                    &AuditRecord {
                        at: now,
                        actor: acting.clone(),
                        action: "surveys.import".into(),
                        object_type: "survey",
                        object_id: None,
                        detail: Some(serde_json::json!({ "source": source, "rows": good.len() })),
                    },
                )
                .await?;
                report.stored = good.len();
                Ok(report)
            }
        });
        Ok(match outcome {
            Ok(r) | Err(r) => r,
        })
    }
}
