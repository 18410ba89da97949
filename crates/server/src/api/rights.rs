//! A reporter's rights over their data over HTTP (PI-08, IA-11; storage `rights`).
//!
//! Public, for a reporter without an account: `POST /api/public/v1/phone-codes`
//! sends a one-time code to the phone, `…/phone-codes/verify` turns the right code
//! into a pass, and with the pass in the `X-Reporter-Pass` header
//! `GET /api/public/v1/my-data` answers everything held about them in their reports
//! and `POST /api/public/v1/my-data/requests` asks for a correction or deletion.
//! Both code endpoints are rate-limited per address as well (`rate_limit.rs`).
//!
//! Staff: the command rooms list the requests on their events and decide them.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::Permission;
use zhili_domain::rights::CodePolicy;
use zhili_storage::rights::NewRequest;

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

/// The header that carries a reporter's pass.
pub const PASS_HEADER: &str = "x-reporter-pass";

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .post("/api/public/v1/phone-codes", Permission::Public, send_code)
        .post(
            "/api/public/v1/phone-codes/verify",
            Permission::Public,
            verify_code,
        )
        .get("/api/public/v1/my-data", Permission::Public, my_data)
        .post(
            "/api/public/v1/my-data/requests",
            Permission::Public,
            file_request,
        )
        .get("/api/v1/rights-requests", Permission::HandleEvents, list)
        .post(
            "/api/v1/rights-requests/{id}/decision",
            Permission::HandleEvents,
            decide,
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendCode {
    phone: String,
}

async fn send_code(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<SendCode>,
) -> Result<Response, ApiError> {
    let sent = state
        .store
        .send_phone_code(&req.phone, &CodePolicy::default(), Utc::now())
        .await?;
    Ok((StatusCode::ACCEPTED, axum::Json(sent)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyCode {
    phone: String,
    code: String,
}

async fn verify_code(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<VerifyCode>,
) -> Result<Response, ApiError> {
    let pass = state
        .store
        .verify_phone_code(&req.phone, &req.code, &CodePolicy::default(), Utc::now())
        .await?;
    Ok(axum::Json(pass).into_response())
}

fn pass_of(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(PASS_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "pass_required",
                "请先用短信验证码验证手机号",
            )
        })
}

async fn my_data(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let reports = state
        .store
        .my_reports(pass_of(&headers)?, Utc::now())
        .await?;
    Ok(axum::Json(serde_json::json!({ "reports": reports })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRequest {
    event: String,
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

async fn file_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<FileRequest>,
) -> Result<Response, ApiError> {
    let filed = state
        .store
        .file_rights_request(
            pass_of(&headers)?,
            &NewRequest {
                number: req.event,
                kind: req.kind,
                new_name: req.name,
                new_phone: req.phone,
                note: req.note,
            },
            Utc::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(filed)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    all: Option<bool>,
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|_| ApiError::invalid("all", "须为 true 或 false"))?;
    let found = state
        .store
        .rights_requests(&actor, !q.all.unwrap_or(false), Utc::now())
        .await?;
    Ok(axum::Json(found).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    approve: bool,
    #[serde(default)]
    note: String,
}

async fn decide(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    JsonBody(d): JsonBody<Decision>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::invalid("id", "申请编号须为数字"))?;
    let decided = state
        .store
        .decide_rights_request(&actor, id, d.approve, &d.note, Utc::now())
        .await?;
    Ok(axum::Json(decided).into_response())
}
