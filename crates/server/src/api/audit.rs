//! The audit log for the audit administrator (审计管理员, AC-07, AU-08): search it
//! and check its hash chain. Nobody else reads it here, and every search is itself
//! recorded.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::{Actor, Permission, Role};
use zhili_storage::Acting;
use zhili_storage::audit::AuditFilter;

use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;
use crate::filters::{nonempty, parse_time};

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/v1/audit", Permission::ReadAudit, search)
        .get("/api/v1/audit/verify", Permission::ReadAudit, verify)
}

/// The query string of a search; all parts optional.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub object_type: Option<String>,
    pub object: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<String>,
}

pub const PER_PAGE: u32 = 50;

impl AuditQuery {
    /// The filter, or the first part that does not parse, named.
    pub fn filter(&self) -> Result<AuditFilter, ApiError> {
        let time = |field: &'static str, v: &Option<String>, end: bool| match nonempty(v) {
            None => Ok(None),
            Some(t) => parse_time(t, end)
                .map(Some)
                .ok_or_else(|| ApiError::invalid(field, "日期应为 YYYY-MM-DD 或 RFC 3339 时间")),
        };
        let page = match nonempty(&self.page) {
            None => 1,
            Some(p) => p
                .parse::<u32>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| ApiError::invalid("page", "页码应为正整数"))?,
        };
        Ok(AuditFilter {
            action: nonempty(&self.action).map(String::from),
            actor: nonempty(&self.actor).map(String::from),
            object_type: nonempty(&self.object_type).map(String::from),
            object_id: nonempty(&self.object).map(String::from),
            ip: nonempty(&self.ip).map(String::from),
            request_id: nonempty(&self.request_id).map(String::from),
            from: time("from", &self.from, false)?,
            to: time("to", &self.to, true)?,
            page,
            per_page: PER_PAGE,
        })
    }
}

/// Only the audit administrator reads the audit log.
pub fn require_auditor(actor: &Actor) -> Result<(), ApiError> {
    if actor.role == Role::Auditor {
        Ok(())
    } else {
        Err(ApiError::forbidden("审计日志只对审计管理员开放"))
    }
}

async fn search(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    require_auditor(&actor)?;
    let page = state
        .store
        .search_audit(&q.filter()?, &Acting::from(&actor), Utc::now())
        .await?;
    Ok(axum::Json(page).into_response())
}

async fn verify(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    require_auditor(&actor)?;
    let report = state.store.verify_audit_chain(None).await?;
    Ok(axum::Json(report).into_response())
}
