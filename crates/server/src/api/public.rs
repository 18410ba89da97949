//! The public API, `/api/public/v1/…`, without login (双公开, O2, and the rating
//! link of O3): progress statistics, recent events with masked text, a reporter's
//! own event by number and check code, and the JSON twin of the rating link page.
//! Nothing here names or reaches a reporter (see docs/public.md).

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use zhili_domain::{Permission, Satisfaction, Status};
use zhili_storage::feedback::{AnswerOutcome, FeedbackAnswer, LinkState};
use zhili_storage::public::PublicFilter;

use super::JsonBody;
use crate::AppState;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/public/v1/stats", Permission::Public, stats)
        .get("/api/public/v1/events", Permission::Public, events)
        .get("/api/public/v1/lookup", Permission::Public, lookup)
        .get("/api/public/v1/notice", Permission::Public, notice)
        .get(
            "/api/public/v1/feedback/{token}",
            Permission::Public,
            feedback_get,
        )
        .post(
            "/api/public/v1/feedback/{token}",
            Permission::Public,
            feedback_post,
        )
}

/// The query of the public list and statistics, as typed into a URL.
#[derive(Debug, Default, Deserialize)]
pub struct PublicQuery {
    pub township: Option<String>,
    pub category: Option<String>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<String>,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The start of a China day (UTC+8) in UTC.
fn day_start(field: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(field, "日期格式应为 YYYY-MM-DD，例如 2026-11-01"))?;
    let china = chrono::FixedOffset::east_opt(8 * 3600).ok_or_else(ApiError::internal)?;
    day.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(china).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::invalid(field, "日期无效"))
}

impl PublicQuery {
    /// Checks the query; errors name the field. `to` is a whole day, inclusive.
    pub fn to_filter(&self) -> Result<PublicFilter, ApiError> {
        let status = blank(&self.status)
            .map(|s| {
                Status::parse(s).ok_or_else(|| {
                    ApiError::invalid(
                        "status",
                        format!("未知状态，可选：{}", Status::codes().join(", ")),
                    )
                })
            })
            .transpose()?;
        let from = blank(&self.from)
            .map(|d| day_start("from", d))
            .transpose()?;
        let to = blank(&self.to)
            .map(|d| day_start("to", d).map(|t| t + chrono::Duration::days(1)))
            .transpose()?;
        let page = match blank(&self.page) {
            None => 1,
            Some(p) => p
                .parse::<u32>()
                .ok()
                .filter(|p| (1..=10_000).contains(p))
                .ok_or_else(|| ApiError::invalid("page", "页码应为 1 到 10000 的整数"))?,
        };
        Ok(PublicFilter {
            township: blank(&self.township).map(str::to_string),
            category: blank(&self.category).map(str::to_string),
            status,
            from,
            to,
            page,
        })
    }
}

fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::invalid("query", e.body_text()))
}

/// Answers that concern one person are not kept by caches on the way.
fn private(r: impl IntoResponse) -> Response {
    let mut r = r.into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

async fn stats(
    State(state): State<AppState>,
    q: Result<Query<PublicQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let f = query(q)?.to_filter()?;
    Ok(axum::Json(state.store.public_stats(&f).await?).into_response())
}

/// `?version=`: one version of the processing notice, as an event records it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeQuery {
    pub version: Option<String>,
}

/// The processing notice (PI-02): the one in force, or the version asked for.
/// Every channel's client shows it before a reporter gives a name or number.
pub(crate) async fn find_notice(
    state: &AppState,
    version: Option<&str>,
) -> Result<zhili_storage::notices::PublishedNotice, ApiError> {
    let found = match version.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) if v.len() > 40 => return Err(ApiError::invalid("version", "版本号过长")),
        Some(v) => state.store.notice(v).await?,
        None => state.store.notice_in_force().await?,
    };
    found.ok_or_else(ApiError::not_found)
}

async fn notice(
    State(state): State<AppState>,
    q: Result<Query<NoticeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = q.map_err(|_| ApiError::invalid("version", "查询参数无效"))?;
    Ok(axum::Json(find_notice(&state, q.version.as_deref()).await?).into_response())
}

async fn events(
    State(state): State<AppState>,
    q: Result<Query<PublicQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let f = query(q)?.to_filter()?;
    Ok(axum::Json(state.store.public_events(&f).await?).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct LookupQuery {
    pub number: Option<String>,
    pub code: Option<String>,
}

async fn lookup(
    State(state): State<AppState>,
    q: Result<Query<LookupQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let number = blank(&q.number).ok_or_else(|| ApiError::invalid("number", "请输入事件编号"))?;
    let code = blank(&q.code).ok_or_else(|| ApiError::invalid("code", "请输入查询码"))?;
    let found = state
        .store
        .public_lookup(number, code, Utc::now())
        .await
        .map_err(|e| match e {
            zhili_storage::StoreError::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "未找到：事件编号或查询码不正确",
            ),
            other => other.into(),
        })?;
    Ok(private(axum::Json(found)))
}

/// A used or expired link: 410 with a Chinese message.
pub fn gone(expired: bool) -> ApiError {
    if expired {
        ApiError::new(
            StatusCode::GONE,
            "link_expired",
            "该评价链接已过期。如需评价，请拨打12345热线。",
        )
    } else {
        ApiError::new(
            StatusCode::GONE,
            "link_used",
            "该评价链接已使用或已失效，感谢您的反馈。",
        )
    }
}

fn unknown_link(e: zhili_storage::StoreError) -> ApiError {
    match e {
        zhili_storage::StoreError::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "评价链接不存在，请核对短信中的链接。",
        ),
        other => other.into(),
    }
}

async fn feedback_get(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    match state
        .store
        .feedback_link(&token, Utc::now())
        .await
        .map_err(unknown_link)?
    {
        LinkState::Open(link) => Ok(private(axum::Json(serde_json::json!({
            "state": "open",
            "event_number": link.event_number,
            "category": link.category,
            "township": link.township,
            "status": link.status,
            "result": link.result,
            "expires_at": link.expires_at,
            "levels": Satisfaction::ALL.iter().map(|s| serde_json::json!({
                "code": s.code(), "label": s.label_zh(), "level": s.level(),
            })).collect::<Vec<_>>(),
        })))),
        LinkState::Used => Err(gone(false)),
        LinkState::Expired => Err(gone(true)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    satisfaction: Satisfaction,
    #[serde(default)]
    comment: Option<String>,
    /// "要求重新办理" with the reason; only with a dissatisfied answer.
    #[serde(default)]
    reopen_reason: Option<String>,
}

async fn feedback_post(
    State(state): State<AppState>,
    Path(token): Path<String>,
    JsonBody(body): JsonBody<AnswerBody>,
) -> Result<Response, ApiError> {
    let answer = FeedbackAnswer {
        satisfaction: body.satisfaction,
        comment: body.comment,
        reopen_reason: body.reopen_reason,
    };
    match state
        .store
        .answer_feedback(&token, &answer, Utc::now())
        .await
        .map_err(unknown_link)?
    {
        AnswerOutcome::Answered(a) => Ok(private(axum::Json(a))),
        AnswerOutcome::Used => Err(gone(false)),
        AnswerOutcome::Expired => Err(gone(true)),
    }
}

/// A created event with its check code (查询码), for whoever reported it to pass
/// on: with it and the number the reporter follows the event in public.
#[derive(serde::Serialize)]
pub struct WithCheckCode<T> {
    #[serde(flatten)]
    pub event: T,
    pub check_code: String,
}

pub async fn with_check_code(
    state: &AppState,
    event: Box<zhili_storage::EventDetail>,
) -> Result<axum::Json<WithCheckCode<Box<zhili_storage::EventDetail>>>, ApiError> {
    let check_code = state.store.check_code(&event.number).await?;
    Ok(axum::Json(WithCheckCode { event, check_code }))
}
