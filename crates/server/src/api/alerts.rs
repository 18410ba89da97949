//! Security alerts over HTTP (IP-09), for the security administrator: the list
//! (open ones, or `?all=true`) and the acknowledgement with a note. The page is
//! `pages::alerts`; a SIEM can poll this or read the `security alert` log lines.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::Permission;

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/v1/admin/alerts", Permission::ManageAccounts, list)
        .post(
            "/api/v1/admin/alerts/{id}/ack",
            Permission::ManageAccounts,
            acknowledge,
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    all: Option<bool>,
}

async fn list(
    State(state): State<AppState>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|_| ApiError::invalid("all", "须为 true 或 false"))?;
    let alerts = state
        .store
        .security_alerts(!q.all.unwrap_or(false), 500)
        .await?;
    Ok(axum::Json(alerts).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ack {
    note: String,
}

async fn acknowledge(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    JsonBody(ack): JsonBody<Ack>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .acknowledge_alert(
            id,
            &zhili_storage::Acting::from(&actor),
            &ack.note,
            Utc::now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
