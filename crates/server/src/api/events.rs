//! Event endpoints: create (idempotent), list, read, act.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use zhili_domain::{Action, RawNewEvent};
use zhili_storage::CreateOutcome;

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;
use crate::filters::ListQuery;

pub async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(raw): JsonBody<RawNewEvent>,
) -> Result<Response, ApiError> {
    if !actor.can_report_events() {
        return Err(ApiError::forbidden("监督账号只读，不能上报事件"));
    }
    let new = crate::intake::prepare(&state, raw)?;
    let outcome = state
        .store
        .events_for(&actor)
        .create(&new, Utc::now())
        .await?;
    Ok(match outcome {
        CreateOutcome::Created(d) => (
            StatusCode::CREATED,
            super::public::with_check_code(&state, d).await?,
        )
            .into_response(),
        CreateOutcome::Existing(d) => (
            StatusCode::OK,
            super::public::with_check_code(&state, d).await?,
        )
            .into_response(),
    })
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

/// Why a handler opens the reporter's contact; kept in the audit record.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    pub reason: String,
}

/// The reporter's name and phone in full, for those handling the event; every
/// call is audited with its reason (`pii.reveal`).
pub async fn reveal_reporter(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<RevealRequest>,
) -> Result<Response, ApiError> {
    let contact = state
        .store
        .events_for(&actor)
        .reveal_reporter(event_id(&id)?, &req.reason, Utc::now())
        .await?;
    Ok(axum::Json(contact).into_response())
}

/// A hand-set sensitivity label and why (AC-08).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelRequest {
    pub sensitivity: zhili_domain::Sensitivity,
    pub reason: String,
}

/// Raises or lowers an event's label; for the command room running it. Answers
/// with the event as the caller now sees it.
pub async fn set_sensitivity(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<LabelRequest>,
) -> Result<Response, ApiError> {
    let d = state
        .store
        .events_for(&actor)
        .set_sensitivity(event_id(&id)?, req.sensitivity, &req.reason, Utc::now())
        .await?;
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
