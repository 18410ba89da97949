//! Duplicate links over HTTP (issue #4, item 6): an operator unlinks a wrong link
//! (`DELETE /api/v1/events/{id}/duplicate-of`) or links by hand (`PUT` with
//! `{"master": "<number or id>"}`), inside their scope; the admin reads and sets a
//! category's own rule (`/api/v1/duplicates/settings/{category_code}`). Detection
//! itself runs at intake, in storage.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::DuplicateRule;
use zhili_domain::Permission;
use zhili_storage::StoreError;

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .put(
            "/api/v1/events/{id}/duplicate-of",
            Permission::Dispatch,
            link,
        )
        .delete(
            "/api/v1/events/{id}/duplicate-of",
            Permission::Dispatch,
            unlink,
        )
        .put(
            "/api/v1/duplicates/settings/{category_code}",
            Permission::ManageSystem,
            put_settings,
        )
        .get(
            "/api/v1/duplicates/settings/{category_code}",
            Permission::ManageSystem,
            settings,
        )
}

/// A refusal of the role is a 403, not a field error.
fn refused(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid { field, message } if field == "role" => ApiError::forbidden(message),
        other => other.into(),
    }
}

fn event_id(raw: &str) -> Result<i64, ApiError> {
    // A malformed id is simply an event that does not exist.
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

/// The master by its number or its id, as text or as a JSON number.
#[derive(Deserialize)]
#[serde(untagged)]
enum MasterRef {
    Text(String),
    Id(i64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Link {
    master: MasterRef,
}

async fn link(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<Link>,
) -> Result<Response, ApiError> {
    let master = match b.master {
        MasterRef::Text(t) => t,
        MasterRef::Id(i) => i.to_string(),
    };
    let d = state
        .store
        .duplicates_for(&actor)
        .link(event_id(&id)?, &master, Utc::now())
        .await
        .map_err(refused)?;
    Ok(axum::Json(d).into_response())
}

async fn unlink(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let d = state
        .store
        .duplicates_for(&actor)
        .unlink(event_id(&id)?, Utc::now())
        .await
        .map_err(refused)?;
    Ok(axum::Json(d).into_response())
}

async fn settings(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let s = state
        .store
        .duplicates_for(&actor)
        .settings(&code)
        .await
        .map_err(refused)?;
    Ok(axum::Json(s).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    radius_m: f64,
    window_hours: u32,
    min_similarity: f64,
}

async fn put_settings(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
    JsonBody(b): JsonBody<Settings>,
) -> Result<Response, ApiError> {
    let repo = state.store.duplicates_for(&actor);
    // The role first: a refused caller learns nothing about the values.
    repo.settings(&code).await.map_err(refused)?;
    let rule = DuplicateRule::checked(b.radius_m, b.window_hours, b.min_similarity)
        .map_err(|e| ApiError::invalid(e.field, e.message))?;
    let s = repo
        .put_settings(&code, rule, Utc::now())
        .await
        .map_err(refused)?;
    Ok(axum::Json(s).into_response())
}
