//! Bulk export of reporters' contacts (AC-09): `POST /api/v1/exports/contacts`
//! with the list's filters in the query and `{"reason": …}` in the body, for a
//! follow-up campaign of a command room. A permission of its own
//! (`ExportPersonalData`), a stated reason, at most 2,000 rows, 10 exports an hour
//! per address (`rate_limit`), one `pii.export` audit record with the row count and
//! the numbers, and a watermark: the first line names the exporter, the time and
//! the reason, and every row carries the exporter's id and the time, so a leaked
//! page still says whose export it was.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::Permission;

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;
use crate::filters::ListQuery;

pub fn routes() -> crate::Routes {
    crate::Routes::new().post(
        "/api/v1/exports/contacts",
        Permission::ExportPersonalData,
        contacts,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportRequest {
    reason: String,
}

async fn contacts(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
    JsonBody(req): JsonBody<ExportRequest>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let export = state
        .store
        .events_for(&actor)
        .export_contacts(&q.to_filter()?, &req.reason, Utc::now())
        .await?;
    contacts_csv(&export)
}

/// The export as the watermarked CSV download, for the API and the event list page.
pub(crate) fn contacts_csv(export: &zhili_storage::ContactExport) -> Result<Response, ApiError> {
    let at = export.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mark = format!("u{}@{at}", export.exporter_id);
    let io = |e: csv::Error| {
        tracing::error!(error = %e, "contact export");
        ApiError::internal()
    };
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    w.write_record([format!(
        "# 个人信息导出：{}（用户 {}），{at}，用途：{}。仅限该用途，用后删除，不得外传。共 {} 条。",
        export.exported_by,
        export.exporter_id,
        export.reason,
        export.rows.len()
    )])
    .map_err(io)?;
    w.write_record([
        "事件编号",
        "类别",
        "状态",
        "乡镇（街道）",
        "上报时间",
        "上报人",
        "联系电话",
        "导出标记",
    ])
    .map_err(io)?;
    for r in &export.rows {
        w.write_record([
            r.number.as_str(),
            r.category.as_deref().unwrap_or(""),
            r.status,
            r.township.as_str(),
            &crate::pages::china_time(r.reported_at),
            r.name.as_deref().unwrap_or(""),
            r.phone.as_deref().unwrap_or(""),
            &mark,
        ])
        .map_err(io)?;
    }
    let bytes = w.into_inner().map_err(|e| {
        tracing::error!(error = %e, "contact export");
        ApiError::internal()
    })?;
    // A byte-order mark, so that Excel opens the Chinese text as UTF-8.
    let mut body = "\u{FEFF}".as_bytes().to_vec();
    body.extend(bytes);
    let disposition = format!(
        "attachment; filename=\"contacts-u{}-{}.csv\"",
        export.exporter_id,
        export.at.format("%Y%m%dT%H%M%SZ")
    );
    Ok((
        [
            ("content-type", "text/csv; charset=utf-8".to_string()),
            ("content-disposition", disposition),
            ("cache-control", "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}
