//! Event endpoints: create (idempotent), list, read, act.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use zhili_domain::{Action, Channel, NewEvent, RawNewEvent, Status};
use zhili_storage::{CreateOutcome, EventFilter, SortKey};

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

pub async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(raw): JsonBody<RawNewEvent>,
) -> Result<Response, ApiError> {
    if !actor.can_report_events() {
        return Err(ApiError::forbidden("监督账号只读，不能上报事件"));
    }
    let new = NewEvent::parse(raw).map_err(|e| ApiError::invalid(e.field, e.message))?;
    let outcome = state
        .store
        .events_for(&actor)
        .create(&new, Utc::now())
        .await?;
    Ok(match outcome {
        CreateOutcome::Created(d) => (StatusCode::CREATED, axum::Json(d)).into_response(),
        CreateOutcome::Existing(d) => (StatusCode::OK, axum::Json(d)).into_response(),
    })
}

/// Query string of the event list. Dates are `YYYY-MM-DD` (China time) or RFC 3339.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<String>,
    pub township: Option<String>,
    pub grid: Option<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub channel: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

fn parse_time(field: &str, v: &str, end_of_day: bool) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(field, "日期格式应为 YYYY-MM-DD"))?;
    let d = if end_of_day {
        d.succ_opt().unwrap_or(d)
    } else {
        d
    };
    let china = chrono::FixedOffset::east_opt(8 * 3600).ok_or_else(ApiError::internal)?;
    d.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(china).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::invalid(field, "日期无效"))
}

impl ListQuery {
    pub fn to_filter(&self) -> Result<EventFilter, ApiError> {
        let statuses = match self.status.as_deref().filter(|s| !s.is_empty()) {
            None => Vec::new(),
            Some(s) => s
                .split(',')
                .map(|c| {
                    Status::parse(c.trim()).ok_or_else(|| {
                        ApiError::invalid(
                            "status",
                            format!(
                                "未知状态 {c}，可选：{}",
                                Status::ALL
                                    .iter()
                                    .map(|s| s.code())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let channel = match self.channel.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(c) => {
                Some(Channel::parse(c).ok_or_else(|| ApiError::invalid("channel", "未知渠道"))?)
            }
        };
        let (sort, descending) = match self.sort.as_deref().unwrap_or("-reported_at") {
            "reported_at" => (SortKey::ReportedAt, false),
            "-reported_at" => (SortKey::ReportedAt, true),
            "updated_at" => (SortKey::UpdatedAt, false),
            "-updated_at" => (SortKey::UpdatedAt, true),
            "number" => (SortKey::Number, false),
            "-number" => (SortKey::Number, true),
            "status" => (SortKey::Status, false),
            "-status" => (SortKey::Status, true),
            _ => {
                return Err(ApiError::invalid(
                    "sort",
                    "可选：reported_at, updated_at, number, status（前加 - 为倒序）",
                ));
            }
        };
        let per_page = self.per_page.unwrap_or(20);
        if !(1..=200).contains(&per_page) {
            return Err(ApiError::invalid("per_page", "每页 1–200 条"));
        }
        let nonempty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Ok(EventFilter {
            statuses,
            township: nonempty(&self.township),
            grid: nonempty(&self.grid),
            category: nonempty(&self.category),
            unit: nonempty(&self.unit),
            channel,
            from: nonempty(&self.from)
                .map(|v| parse_time("from", &v, false))
                .transpose()?,
            to: nonempty(&self.to)
                .map(|v| parse_time("to", &v, true))
                .transpose()?,
            text: nonempty(&self.q).map(|t| t.chars().take(100).collect()),
            sort,
            descending,
            page: self.page.unwrap_or(1).max(1),
            per_page,
        })
    }
}

pub async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let page = state.store.events_for(&actor).list(&q.to_filter()?).await?;
    Ok(axum::Json(page).into_response())
}

fn event_id(raw: &str) -> Result<i64, ApiError> {
    // A malformed id is simply an event that does not exist.
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

pub async fn get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let d = state.store.events_for(&actor).get(event_id(&id)?).await?;
    Ok(axum::Json(d).into_response())
}

pub async fn act(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    JsonBody(action): JsonBody<Action>,
) -> Result<Response, ApiError> {
    let d = state
        .store
        .events_for(&actor)
        .act(event_id(&id)?, &action, Utc::now())
        .await?;
    Ok(axum::Json(d).into_response())
}
