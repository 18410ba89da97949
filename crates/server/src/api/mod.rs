//! The JSON API, `/api/v1/…`. Every route but login needs a Bearer token; every
//! event query goes through a repository built for the caller.

mod account;
mod alerts;
pub mod attachments;
pub(crate) mod audit;
pub mod body;
pub mod calendar;
pub mod channels;
pub mod chat;
mod classification;
pub(crate) mod command;
mod duplicates;
mod events;
pub mod exports;
pub(crate) mod kpi;
mod notifications;
pub mod public;
mod recurring;
pub mod rights;
pub(crate) mod routing;
pub mod supervision;
pub(crate) mod work;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zhili_domain::{Actor, OrgKind, Permission};

use crate::AppState;
use crate::auth::{ApiActor, Credentials, login};
use crate::error::ApiError;
pub use body::JsonBody;

pub const OPENAPI: &str = include_str!("openapi.json");

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/openapi.json", Permission::Public, openapi)
        .post("/api/v1/auth/login", Permission::Public, login_handler)
        .post("/api/v1/auth/logout", Permission::SignedIn, logout)
        .merge(account::routes())
        .merge(audit::routes())
        .post("/api/v1/events", Permission::ReportEvents, events::create)
        .get("/api/v1/events", Permission::ReadEvents, events::list)
        .get("/api/v1/events/{id}", Permission::ReadEvents, events::get)
        .post(
            "/api/v1/events/{id}/actions",
            Permission::HandleEvents,
            events::act,
        )
        .post(
            "/api/v1/events/{id}/reporter/reveal",
            Permission::HandleEvents,
            events::reveal_reporter,
        )
        .post(
            "/api/v1/events/{id}/sensitivity",
            Permission::HandleEvents,
            events::set_sensitivity,
        )
        .post(
            "/api/v1/channels/110/matters",
            Permission::ReportEvents,
            channels::matter_from_110,
        )
        .post(
            "/api/v1/channels/12345/orders",
            Permission::ReportEvents,
            channels::order_from_12345,
        )
        .post(
            "/api/v1/channels/12345/orders/batch",
            Permission::ReportEvents,
            channels::orders_from_12345,
        )
        .get(
            "/api/v1/outbox/health",
            Permission::Operations,
            outbox_health,
        )
        .get("/api/v1/categories", Permission::SignedIn, categories)
        .get("/api/v1/orgs", Permission::SignedIn, orgs)
        .get("/api/v1/grids", Permission::SignedIn, grids)
        .merge(chat::routes())
        .merge(classification::routes())
        .merge(attachments::routes())
        .merge(notifications::routes())
        .merge(alerts::routes())
        .merge(exports::routes())
        .merge(calendar::routes())
        .merge(public::routes())
        .merge(recurring::routes())
        .merge(rights::routes())
        .merge(duplicates::routes())
        .merge(routing::routes())
        .merge(supervision::routes())
        .merge(kpi::routes())
        .merge(command::routes())
        .merge(work::routes())
}

async fn openapi() -> Response {
    ([("content-type", "application/json")], OPENAPI).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    /// Secrets: zeroed when the request is dropped, never printed (RI-01).
    password: SecretString,
    /// The authenticator app's code, for accounts that have one bound.
    #[serde(default)]
    otp: Option<SecretString>,
}

#[derive(Serialize)]
pub(crate) struct UserView {
    id: i64,
    username: String,
    display_name: String,
    role: &'static str,
    role_label: &'static str,
    org_id: Option<i64>,
}

impl From<&Actor> for UserView {
    fn from(a: &Actor) -> Self {
        UserView {
            id: a.user_id.0,
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            role: a.role.code(),
            role_label: a.role.label_zh(),
            org_id: a.org_id.map(|o| o.0),
        }
    }
}

async fn login_handler(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    if req.username.trim().is_empty() {
        return Err(ApiError::invalid("username", "请输入用户名"));
    }
    let password = req.password.expose_secret();
    if password.is_empty() || password.len() > 1024 {
        return Err(ApiError::invalid("password", "请输入密码"));
    }
    let s = login(
        &state,
        Credentials {
            username: req.username.trim(),
            password,
            otp: req.otp.as_ref().map(ExposeSecret::expose_secret),
        },
    )
    .await?;
    // What the account must do first, so that a client can go straight to it.
    let gate = state
        .config
        .password_policy
        .gate(s.actor.role, &s.credentials, chrono::Utc::now());
    Ok(axum::Json(serde_json::json!({
        "token": s.token,
        "user": UserView::from(&s.actor),
        "gate": gate.map(|g| g.code()),
    }))
    .into_response())
}

async fn logout(
    State(state): State<AppState>,
    session: crate::auth::ApiSession,
) -> Result<StatusCode, ApiError> {
    let by = zhili_storage::Acting::from(&session.actor);
    state
        .store
        .end_session(&session.token_hash, &by, chrono::Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn categories(
    State(state): State<AppState>,
    ApiActor(_): ApiActor,
) -> Result<Response, ApiError> {
    Ok(axum::Json(state.store.categories().await?).into_response())
}

/// Outbound channel health for the command room: a lasting failure shows here.
async fn outbox_health(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    let Some(scope) = zhili_storage::command::channel_scope(&actor) else {
        return Err(ApiError::forbidden("无权查看渠道状态"));
    };
    Ok(axum::Json(state.store.outbox_health(scope).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgQuery {
    kind: Option<String>,
}

/// Areas and units, public reference data for forms (no personal data here).
async fn orgs(
    State(state): State<AppState>,
    ApiActor(_): ApiActor,
    axum::extract::Query(q): axum::extract::Query<OrgQuery>,
) -> Result<Response, ApiError> {
    let kinds: Vec<OrgKind> = match q.kind.as_deref() {
        None => OrgKind::ALL
            .iter()
            .copied()
            .filter(|k| *k != OrgKind::Grid)
            .collect(),
        Some("unit") => OrgKind::ALL
            .iter()
            .copied()
            .filter(|k| k.is_unit())
            .collect(),
        Some(k) => vec![OrgKind::parse(k).ok_or_else(|| {
            ApiError::invalid(
                "kind",
                format!("未知类型，可选：unit, {}", OrgKind::codes().join(", ")),
            )
        })?],
    };
    Ok(axum::Json(state.store.orgs_of_kind(&kinds).await?).into_response())
}

/// Grid outlines as a GeoJSON FeatureCollection (WGS-84), each with a point inside
/// it for its label: for maps, and for clients placing a report in a grid.
/// Reference data only, no personal data.
async fn grids(State(state): State<AppState>, ApiActor(_): ApiActor) -> Result<Response, ApiError> {
    Ok(axum::Json(serde_json::json!({
        "type": "FeatureCollection",
        "features": grid_features(&state).await?,
    }))
    .into_response())
}

/// The features of [`grids`], for the pages' maps too.
pub(crate) async fn grid_features(state: &AppState) -> Result<Vec<serde_json::Value>, ApiError> {
    let orgs: std::collections::HashMap<i64, zhili_storage::Org> = state
        .store
        .orgs_of_kind(&[OrgKind::Grid])
        .await?
        .into_iter()
        .map(|o| (o.id.0, o))
        .collect();
    let features: Vec<serde_json::Value> = state
        .store
        .grid_polygons()
        .await?
        .into_iter()
        .filter_map(|(id, ring)| {
            let org = orgs.get(&id.0)?;
            let label = zhili_geo::interior_point(&ring);
            Some(serde_json::json!({
                "type": "Feature",
                "id": org.code,
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [ring.iter().map(|(x, y)| [*x, *y]).collect::<Vec<_>>()],
                },
                "properties": {
                    "id": org.id.0,
                    "code": org.code,
                    "name": org.name,
                    "township_id": org.township_id.map(|t| t.0),
                    "village_id": org.parent_id.map(|p| p.0),
                    "grid_type": org.grid_type.map(|g| g.code()),
                    "label": label.map(|(x, y)| [x, y]),
                },
            }))
        })
        .collect();
    Ok(features)
}
