//! The working-day calendar over HTTP: the years in force (shipped or loaded), a
//! working-day sum for forms and checks, and — for administrators — loading a new
//! year's holidays without a release (the State Council publishes them each
//! November). A loaded year applies at once here and within one background round on
//! every other instance; deadlines that were estimates are counted again.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zhili_calendar::{YearData, YearDataError, parse_year_file};
use zhili_domain::{Actor, Permission, Role};

use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/v1/calendar/years", Permission::SignedIn, years)
        .post("/api/v1/calendar/years", Permission::ManageSystem, load)
        .get(
            "/api/v1/calendar/add-working-days",
            Permission::SignedIn,
            add_working_days,
        )
}

#[derive(Serialize)]
pub struct YearView {
    pub year: i32,
    /// `shipped` with the release, or `loaded` by an administrator.
    pub source: &'static str,
    pub holidays: usize,
    pub workdays: usize,
}

/// The years in force, oldest first.
pub async fn year_views(state: &AppState) -> Result<Vec<YearView>, ApiError> {
    let loaded: Vec<i32> = state
        .store
        .calendar_years()
        .await?
        .into_iter()
        .map(|(y, _)| y)
        .collect();
    let cal = state.store.calendar();
    Ok(cal
        .covered_years()
        .filter_map(|y| {
            cal.year(y).map(|d| YearView {
                year: y,
                source: if loaded.contains(&y) {
                    "loaded"
                } else {
                    "shipped"
                },
                holidays: d.holidays().len(),
                workdays: d.workdays().len(),
            })
        })
        .collect())
}

async fn years(State(state): State<AppState>, ApiActor(_): ApiActor) -> Result<Response, ApiError> {
    Ok(axum::Json(serde_json::json!({ "years": year_views(&state).await? })).into_response())
}

/// Checks a year file; every problem is named with its date, in Chinese.
pub fn check_year_file(text: &str) -> Result<Vec<YearData>, ApiError> {
    match parse_year_file(text) {
        Ok(years) if years.is_empty() => Err(ApiError::invalid("file", "文件中没有年份")),
        Ok(years) => Ok(years),
        Err(YearDataError::Invalid(p)) => {
            let messages: Vec<String> = p.0.iter().map(|x| x.message_zh()).collect();
            let mut e = ApiError::invalid(
                "file",
                format!(
                    "年份文件有 {} 处问题：{}",
                    messages.len(),
                    messages.join("；")
                ),
            );
            e.detail = Some(serde_json::json!({ "problems": messages }));
            Err(e)
        }
        Err(e) => Err(ApiError::invalid("file", format!("无法读取年份文件：{e}"))),
    }
}

pub fn may_load(actor: &Actor) -> bool {
    actor.role == Role::Admin
}

/// Loads the years of a file (the shipped format or one year's object) for everyone.
pub async fn load_years(
    state: &AppState,
    actor: &Actor,
    text: &str,
) -> Result<(Vec<i32>, usize), ApiError> {
    if !may_load(actor) {
        return Err(ApiError::forbidden("只有系统管理员可以导入节假日"));
    }
    let years = check_year_file(text)?;
    let by = format!("{}（{}）", actor.display_name, actor.role.label_zh());
    let recounted = state
        .store
        .load_calendar_years(&years, &by, Utc::now())
        .await?;
    Ok((years.iter().map(YearData::year).collect(), recounted))
}

async fn load(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Bytes,
) -> Result<Response, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::invalid("file", "文件须为 UTF-8 编码的 JSON"))?;
    let (loaded, recounted) = load_years(&state, &actor, text).await?;
    Ok(
        axum::Json(serde_json::json!({ "loaded": loaded, "recounted_deadlines": recounted }))
            .into_response(),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddQuery {
    date: String,
    days: u32,
}

/// `?date=2024-02-08&days=2` → `2024-02-18`: the working day `days` after `date`.
async fn add_working_days(
    State(state): State<AppState>,
    ApiActor(_): ApiActor,
    Query(q): Query<AddQuery>,
) -> Result<Response, ApiError> {
    let date = NaiveDate::parse_from_str(q.date.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::invalid("date", "日期应为 YYYY-MM-DD"))?;
    if q.days > 3_650 {
        return Err(ApiError::invalid("days", "天数不能超过 3650"));
    }
    let d = state
        .store
        .calendar()
        .add_working_days(date, q.days)
        .map_err(|e| ApiError::invalid("date", format!("该年度节假日尚未导入：{e}")))?;
    Ok(axum::Json(serde_json::json!({ "date": d.to_string() })).into_response())
}
