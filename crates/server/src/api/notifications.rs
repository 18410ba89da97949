//! Notices over HTTP: deadline warnings and escalations addressed to the caller's
//! org (a unit, a township's command room, or the city), read marks per user, and
//! the phone and e-mail a staff member is told at.

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
        .get("/api/v1/notifications", Permission::SignedIn, list)
        .post(
            "/api/v1/notifications/{id}/read",
            Permission::SignedIn,
            read,
        )
        .put("/api/v1/me/contact", Permission::SignedIn, contact)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    unread: Option<bool>,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    per_page: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let page = state
        .store
        .notifications(
            &actor,
            q.unread.unwrap_or(false),
            q.page.unwrap_or(1),
            q.per_page.unwrap_or(50),
        )
        .await?;
    Ok(axum::Json(page).into_response())
}

async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .mark_notification_read(&actor, id, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Contact {
    phone: Option<String>,
    email: Option<String>,
}

/// Staff set where their notices reach them by SMS and e-mail; empty clears.
async fn contact(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(c): JsonBody<Contact>,
) -> Result<StatusCode, ApiError> {
    use zhili_domain::Role;
    if matches!(actor.role, Role::Citizen | Role::Integration) {
        return Err(ApiError::forbidden("只有工作人员可以设置提醒方式"));
    }
    state
        .store
        .set_user_contact(&actor.username, c.phone.as_deref(), c.email.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
