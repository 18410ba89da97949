//! Supervision orders (督办) over HTTP: the scoped list and one order, replies and
//! closing, the focus-issue share (O6) and its responsibility table, and the public
//! counts for citizens (O2). Orders are issued through the event's `supervise`
//! action (`POST /api/v1/events/{id}/actions`). See docs/supervision.md.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use zhili_domain::Actor;
use zhili_domain::Permission;
use zhili_domain::supervision::{CloseOutcome, OrderStatus, SupervisionLevel};
use zhili_storage::supervision::{
    FocusLeaderInput, FocusShareFilter, SupervisionFilter, SupervisionRepo,
};

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/v1/supervision", Permission::Staff, list)
        .get(
            "/api/v1/supervision/focus-share",
            Permission::Staff,
            focus_share,
        )
        .get("/api/v1/supervision/{id}", Permission::Staff, one)
        .post(
            "/api/v1/supervision/{id}/replies",
            Permission::Supervise,
            reply,
        )
        .post(
            "/api/v1/supervision/{id}/close",
            Permission::Supervise,
            close,
        )
        .get("/api/v1/focus-leaders", Permission::Staff, focus_leaders)
        .put(
            "/api/v1/focus-leaders",
            Permission::ManageSystem,
            put_focus_leader,
        )
        .get("/api/public/v1/supervision", Permission::Public, public)
}

fn repo<'a>(state: &'a AppState, actor: &Actor) -> Result<SupervisionRepo<'a>, ApiError> {
    state
        .store
        .supervision_for(actor)
        .ok_or_else(|| ApiError::forbidden("无权查看督办单，请查看公开的督办情况"))
}

/// The list's query string; every value is text so that parsing names what is wrong.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisionQuery {
    pub status: Option<String>,
    pub level: Option<String>,
    pub township: Option<String>,
    pub overdue: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl SupervisionQuery {
    /// The filter, or the first bad value with its field.
    pub fn to_filter(&self) -> Result<SupervisionFilter, ApiError> {
        let status = given(&self.status)
            .map(|s| {
                OrderStatus::parse(s).ok_or_else(|| {
                    ApiError::invalid(
                        "status",
                        format!("未知督办状态，可选：{}", OrderStatus::codes().join(", ")),
                    )
                })
            })
            .transpose()?;
        let level = given(&self.level)
            .map(|s| {
                SupervisionLevel::parse(s).ok_or_else(|| {
                    ApiError::invalid(
                        "level",
                        format!(
                            "未知督办级别，可选：{}",
                            SupervisionLevel::codes().join(", ")
                        ),
                    )
                })
            })
            .transpose()?;
        let overdue = match given(&self.overdue) {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(_) => return Err(ApiError::invalid("overdue", "须为 true 或 false")),
        };
        let number = |field: &'static str, v: &Option<String>, max: u32| {
            given(v)
                .map(|s| {
                    s.parse::<u32>()
                        .ok()
                        .filter(|n| (1..=max).contains(n))
                        .ok_or_else(|| ApiError::invalid(field, format!("须为 1–{max} 的整数")))
                })
                .transpose()
        };
        Ok(SupervisionFilter {
            status,
            level,
            township: given(&self.township).map(str::to_string),
            overdue,
            event_id: None,
            page: number("page", &self.page, 100_000)?.unwrap_or(1),
            per_page: number("per_page", &self.per_page, 200)?.unwrap_or(20),
        })
    }
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<SupervisionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let filter = q.to_filter()?;
    let page = repo(&state, &actor)?.list(&filter, Utc::now()).await?;
    Ok(axum::Json(page).into_response())
}

fn order_id(raw: &str) -> Result<i64, ApiError> {
    // A malformed id is simply an order that does not exist.
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

async fn one(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let o = repo(&state, &actor)?
        .get(order_id(&id)?, Utc::now())
        .await?;
    Ok(axum::Json(o).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    text: String,
}

async fn reply(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReplyBody>,
) -> Result<Response, ApiError> {
    let id = order_id(&id)?;
    let o = repo(&state, &actor)?
        .reply(id, &body.text, Utc::now())
        .await?;
    Ok(axum::Json(o).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    outcome: String,
    #[serde(default)]
    note: Option<String>,
}

async fn close(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CloseBody>,
) -> Result<Response, ApiError> {
    let id = order_id(&id)?;
    let outcome = CloseOutcome::parse(body.outcome.trim()).ok_or_else(|| {
        ApiError::invalid(
            "outcome",
            format!("可选：{}", CloseOutcome::codes().join(", ")),
        )
    })?;
    let o = repo(&state, &actor)?
        .close(id, outcome, body.note.as_deref(), Utc::now())
        .await?;
    Ok(axum::Json(o).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareQuery {
    township: Option<String>,
    /// First day, China time (YYYY-MM-DD).
    from: Option<String>,
    /// Last day, China time, included.
    to: Option<String>,
}

/// The start of a China day, or of the day after it.
fn day_start(field: &str, v: &str, next: bool) -> Result<DateTime<Utc>, ApiError> {
    let d = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(field, "日期格式为 YYYY-MM-DD"))?;
    let d = if next { d.succ_opt().unwrap_or(d) } else { d };
    // China has one offset all year (no DST).
    let china = chrono::FixedOffset::east_opt(8 * 3600)
        .ok_or_else(|| ApiError::invalid(field, "日期无效"))?;
    d.and_time(chrono::NaiveTime::MIN)
        .and_local_timezone(china)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::invalid(field, "日期无效"))
}

async fn focus_share(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<ShareQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let filter = FocusShareFilter {
        township: given(&q.township).map(str::to_string),
        from: given(&q.from)
            .map(|v| day_start("from", v, false))
            .transpose()?,
        to: given(&q.to).map(|v| day_start("to", v, true)).transpose()?,
    };
    if let (Some(f), Some(t)) = (filter.from, filter.to)
        && f >= t
    {
        return Err(ApiError::invalid("to", "结束日期不能早于开始日期"));
    }
    let share = repo(&state, &actor)?.focus_share(&filter).await?;
    Ok(axum::Json(share).into_response())
}

async fn focus_leaders(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    repo(&state, &actor)?;
    Ok(axum::Json(state.store.focus_leaders().await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FocusLeaderBody {
    category: String,
    #[serde(default)]
    township: Option<String>,
    leader_name: String,
    #[serde(default)]
    leader_username: Option<String>,
}

async fn put_focus_leader(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(body): JsonBody<FocusLeaderBody>,
) -> Result<Response, ApiError> {
    if actor.role != zhili_domain::Role::Admin {
        return Err(ApiError::forbidden(
            "只有系统管理员可以设置焦点问题责任领导",
        ));
    }
    let input = FocusLeaderInput {
        category: body.category,
        township: body.township,
        leader_name: body.leader_name,
        leader_username: body.leader_username,
    };
    let v = repo(&state, &actor)?
        .set_focus_leader(&input, Utc::now())
        .await?;
    Ok(axum::Json(v).into_response())
}

/// No login (O2): counts by township, level and status, and the focus-issue share by
/// category. No names of reporters, no event texts.
async fn public(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.store.public_supervision().await?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries_name_the_bad_value() {
        let q = SupervisionQuery {
            status: Some("open".into()),
            level: Some("listed".into()),
            overdue: Some("true".into()),
            ..Default::default()
        };
        let f = q.to_filter().unwrap();
        assert_eq!(f.status, Some(OrderStatus::Open));
        assert!(f.overdue);
        let bad = SupervisionQuery {
            level: Some("urgent".into()),
            ..Default::default()
        };
        assert_eq!(bad.to_filter().unwrap_err().field.as_deref(), Some("level"));
        let bad = SupervisionQuery {
            overdue: Some("yes".into()),
            ..Default::default()
        };
        assert_eq!(
            bad.to_filter().unwrap_err().field.as_deref(),
            Some("overdue")
        );
    }
}
