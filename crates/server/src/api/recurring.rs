//! Recurring problems (反复发生的问题, D4) and governance topics (治理专题) over HTTP:
//! the alerts the background detection raised for a township's command room, ruling
//! one out, opening a topic that links its events, and closing the topic with the
//! root cause found. The city and oversight read everything; oversight changes
//! nothing.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::Permission;
use zhili_storage::StoreError;
use zhili_storage::recurring::RecurringRepo;

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/v1/recurring", Permission::Command, alerts)
        .get("/api/v1/recurring/{id}", Permission::Command, alert)
        .post(
            "/api/v1/recurring/{id}/dismiss",
            Permission::Dispatch,
            dismiss,
        )
        .post(
            "/api/v1/recurring/{id}/topic",
            Permission::Dispatch,
            open_topic,
        )
        .get("/api/v1/topics", Permission::Command, topics)
        .get("/api/v1/topics/{id}", Permission::Command, topic)
        .post(
            "/api/v1/topics/{id}/close",
            Permission::Dispatch,
            close_topic,
        )
}

fn repo<'a>(
    state: &'a AppState,
    actor: &zhili_domain::Actor,
) -> Result<RecurringRepo<'a>, ApiError> {
    if !RecurringRepo::may_read(actor) {
        return Err(ApiError::forbidden("无权查看反复发生的问题与治理专题"));
    }
    Ok(state.store.recurring_for(actor))
}

/// A refusal of the role is a 403, not a field error.
fn refused(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid { field, message } if field == "role" => ApiError::forbidden(message),
        other => other.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    status: Option<String>,
}

fn status(q: &StatusQuery, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if allowed.contains(&s) => Ok(Some(s.to_string())),
        Some(_) => Err(ApiError::invalid(
            "status",
            format!("可选：{}", allowed.join(", ")),
        )),
    }
}

async fn alerts(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<StatusQuery>,
) -> Result<Response, ApiError> {
    let s = status(&q, &["open", "dismissed", "topic"])?;
    let list = repo(&state, &actor)?.alerts(s.as_deref()).await?;
    Ok(axum::Json(serde_json::json!({ "items": list })).into_response())
}

async fn alert(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(repo(&state, &actor)?.alert(id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Dismiss {
    note: String,
}

async fn dismiss(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<Dismiss>,
) -> Result<Response, ApiError> {
    let a = repo(&state, &actor)?
        .dismiss(id, &b.note, Utc::now())
        .await
        .map_err(refused)?;
    Ok(axum::Json(a).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenTopic {
    title: String,
}

async fn open_topic(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<OpenTopic>,
) -> Result<Response, ApiError> {
    let t = repo(&state, &actor)?
        .open_topic(id, &b.title, Utc::now())
        .await
        .map_err(refused)?;
    Ok((axum::http::StatusCode::CREATED, axum::Json(t)).into_response())
}

async fn topics(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<StatusQuery>,
) -> Result<Response, ApiError> {
    let s = status(&q, &["open", "closed"])?;
    let list = repo(&state, &actor)?.topics(s.as_deref()).await?;
    Ok(axum::Json(serde_json::json!({ "items": list })).into_response())
}

async fn topic(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(repo(&state, &actor)?.topic(id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseTopic {
    root_cause: String,
    #[serde(default)]
    measures: Option<String>,
}

async fn close_topic(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<CloseTopic>,
) -> Result<Response, ApiError> {
    let t = repo(&state, &actor)?
        .close_topic(id, &b.root_cause, b.measures.as_deref(), Utc::now())
        .await
        .map_err(refused)?;
    Ok(axum::Json(t).into_response())
}
