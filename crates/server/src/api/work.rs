//! The day's work through the API: a unit handler's queue (`GET /api/v1/queue`), the
//! command room's bulk actions (`POST /api/v1/events/bulk`), and patrol check-ins
//! (`POST /api/v1/patrols`, `GET /api/v1/patrols`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zhili_domain::{Action, Actor, GeoPoint, Permission, Role};
use zhili_storage::StoreError;
use zhili_storage::patrols::{NewPatrol, PatrolFilter};
use zhili_storage::queue::{BULK_MAX, BulkOutcome};

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/v1/queue", Permission::UnitQueue, queue)
        .post("/api/v1/events/bulk", Permission::Dispatch, bulk)
        .post("/api/v1/patrols", Permission::PatrolCheckIn, check_in)
        .get("/api/v1/patrols", Permission::Patrols, patrols)
}

async fn queue(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    if actor.role != Role::UnitHandler {
        return Err(ApiError::forbidden("只有部门或派驻机构承办人有待办队列"));
    }
    let items = state
        .store
        .events_for(&actor)
        .unit_queue(Utc::now())
        .await?;
    Ok(axum::Json(serde_json::json!({ "total": items.len(), "items": items })).into_response())
}

/// Who may take bulk actions: the command rooms (each event is still checked for
/// role and area by the lifecycle).
pub(crate) fn may_bulk(actor: &Actor) -> bool {
    matches!(actor.role, Role::TownshipOperator | Role::CityOperator)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkRequest {
    ids: Vec<i64>,
    action: Action,
}

/// The ids of a bulk request, checked: some, not too many, each once.
pub(crate) fn check_ids(ids: &[i64]) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Err(ApiError::invalid("ids", "请至少选择一个事件"));
    }
    if ids.len() > BULK_MAX {
        return Err(ApiError::invalid(
            "ids",
            format!("一次最多处理 {BULK_MAX} 个事件"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if *id <= 0 {
            return Err(ApiError::invalid(format!("ids[{i}]"), "事件编号须为正整数"));
        }
        if !seen.insert(*id) {
            return Err(ApiError::invalid(format!("ids[{i}]"), "同一事件重复出现"));
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct BulkError {
    code: &'static str,
    message: String,
    field: Option<String>,
}

#[derive(Serialize)]
struct BulkItem {
    id: i64,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<zhili_storage::Coded>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<BulkError>,
}

/// A per-event failure as the client sees it: out of scope reads as not found.
pub(crate) fn outcome_error(e: StoreError) -> (StatusCode, &'static str, String, Option<String>) {
    let api = match e {
        StoreError::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "该事件不存在，或不在您的管辖范围内",
        ),
        other => ApiError::from(other),
    };
    (api.status, api.code, api.message, api.field)
}

async fn bulk(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(req): JsonBody<BulkRequest>,
) -> Result<Response, ApiError> {
    if !may_bulk(&actor) {
        return Err(ApiError::forbidden("只有综合指挥室可以批量处理事件"));
    }
    check_ids(&req.ids)?;
    let outcomes = state
        .store
        .events_for(&actor)
        .act_many(&req.ids, &req.action, Utc::now())
        .await?;
    let mut succeeded = 0;
    let results: Vec<BulkItem> = outcomes
        .into_iter()
        .map(|BulkOutcome { id, result }| match result {
            Ok(d) => {
                succeeded += 1;
                BulkItem {
                    id,
                    ok: true,
                    number: Some(d.number),
                    status: Some(d.status),
                    error: None,
                }
            }
            Err(e) => {
                let (_, code, message, field) = outcome_error(e);
                BulkItem {
                    id,
                    ok: false,
                    number: None,
                    status: None,
                    error: Some(BulkError {
                        code,
                        message,
                        field,
                    }),
                }
            }
        })
        .collect();
    let failed = results.len() - succeeded;
    Ok(axum::Json(serde_json::json!({
        "action": req.action.kind().code(),
        "succeeded": succeeded,
        "failed": failed,
        "results": results,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckInRequest {
    /// WGS-84, as a phone's browser gives it.
    lon: f64,
    lat: f64,
    #[serde(default)]
    accuracy_m: Option<f64>,
    #[serde(default)]
    note: Option<String>,
    idempotency_key: String,
}

/// A position in WGS-84 as a patrol point, and the grid it lies in.
pub(crate) fn patrol_point(
    state: &AppState,
    lon: f64,
    lat: f64,
) -> Result<(GeoPoint, Option<String>), ApiError> {
    let p = GeoPoint::parse(lon, lat).map_err(|e| ApiError::invalid("lon", e.to_string()))?;
    Ok((p, state.grids.grid_code(p)))
}

async fn check_in(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(req): JsonBody<CheckInRequest>,
) -> Result<Response, ApiError> {
    let repo = state
        .store
        .patrols_for(&actor)
        .filter(|r| r.may_check_in())
        .ok_or_else(|| ApiError::forbidden("只有网格员可以巡查打卡"))?;
    let (location, grid_code) = patrol_point(&state, req.lon, req.lat)?;
    let new = NewPatrol {
        location,
        grid_code,
        accuracy_m: req.accuracy_m,
        note: req.note,
        idempotency_key: req.idempotency_key,
        photo: None,
    };
    let (p, created) = repo.check_in(&new, Utc::now()).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(p)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatrolQuery {
    /// A day in China time, `YYYY-MM-DD`; today when absent.
    pub date: Option<String>,
    pub grid: Option<String>,
    /// `true`: only check-ins outside the worker's own grid.
    pub outside: Option<String>,
}

/// The China-time day `date` names (today without one) as a UTC window.
pub(crate) fn day_window(
    date: Option<&str>,
) -> Result<(NaiveDate, DateTime<Utc>, DateTime<Utc>), ApiError> {
    let tz = zhili_calendar::china_time();
    let day = match date.map(str::trim).filter(|d| !d.is_empty()) {
        None => Utc::now().with_timezone(&tz).date_naive(),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| ApiError::invalid("date", "日期格式须为 YYYY-MM-DD"))?,
    };
    let start = day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).single())
        .ok_or_else(|| ApiError::invalid("date", "日期超出范围"))?
        .with_timezone(&Utc);
    Ok((day, start, start + chrono::Duration::days(1)))
}

impl PatrolQuery {
    pub(crate) fn filter(&self) -> Result<(NaiveDate, PatrolFilter), ApiError> {
        let (day, from, to) = day_window(self.date.as_deref())?;
        let outside = match self.outside.as_deref().map(str::trim) {
            None | Some("") | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(_) => return Err(ApiError::invalid("outside", "须为 true 或 false")),
        };
        Ok((
            day,
            PatrolFilter {
                from: Some(from),
                to: Some(to),
                grid: self
                    .grid
                    .as_deref()
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_string),
                outside_only: outside,
                limit: 500,
            },
        ))
    }
}

async fn patrols(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<PatrolQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let repo = state
        .store
        .patrols_for(&actor)
        .ok_or_else(|| ApiError::forbidden("无权查看巡查记录"))?;
    let (day, f) = q.filter()?;
    let (items, counts) = tokio::try_join!(repo.list(&f), repo.counts_by_grid(&f))?;
    Ok(axum::Json(serde_json::json!({
        "date": day.to_string(),
        "total": items.len(),
        "items": items,
        "by_grid": counts,
    }))
    .into_response())
}
