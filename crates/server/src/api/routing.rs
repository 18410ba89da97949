//! The routing matrix (分派规则, H3/H7) over HTTP: staff read the rules with each
//! rule's dispatches, returns and mis-routing rate; admins add, change and delete
//! them, and export or import the whole matrix as Excel (all rows or none).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use zhili_domain::Actor;
use zhili_domain::Permission;
use zhili_storage::StoreError;
use zhili_storage::imports::BadRow;
use zhili_storage::routing::{
    ImportOutcome, RoutingRepo, RoutingRule, RuleFilter, RuleInput, RuleLine,
};

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/v1/routing/rules", Permission::Staff, list)
        .post("/api/v1/routing/rules", Permission::ManageSystem, create)
        .get("/api/v1/routing/rules.xlsx", Permission::Staff, export_xlsx)
        .post(
            "/api/v1/routing/rules.xlsx",
            Permission::ManageSystem,
            import_xlsx,
        )
        .get("/api/v1/routing/rules/{id}", Permission::Staff, one)
        .put(
            "/api/v1/routing/rules/{id}",
            Permission::ManageSystem,
            update,
        )
        .delete(
            "/api/v1/routing/rules/{id}",
            Permission::ManageSystem,
            remove,
        )
}

fn repo<'a>(state: &'a AppState, actor: &Actor) -> Result<RoutingRepo<'a>, ApiError> {
    let repo = state.store.routing_for(actor);
    if !repo.may_read() {
        return Err(ApiError::forbidden("无权查看分派规则"));
    }
    Ok(repo)
}

fn editor<'a>(state: &'a AppState, actor: &Actor) -> Result<RoutingRepo<'a>, ApiError> {
    let repo = state.store.routing_for(actor);
    if !repo.may_edit() {
        return Err(ApiError::forbidden("只有系统管理员可以修改分派规则"));
    }
    Ok(repo)
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
struct ListQuery {
    category: Option<String>,
    area: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let items = repo(&state, &actor)?
        .list(&RuleFilter {
            category: q.category,
            area: q.area,
        })
        .await
        .map_err(refused)?;
    Ok(axum::Json(serde_json::json!({ "items": items })).into_response())
}

fn rule_id(raw: &str) -> Result<i64, ApiError> {
    // A malformed id is a rule that does not exist.
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

async fn one(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = repo(&state, &actor)?
        .get(rule_id(&id)?)
        .await
        .map_err(refused)?;
    Ok(axum::Json(r).into_response())
}

/// A rule as sent: codes, as in the Excel file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleBody {
    category: String,
    #[serde(default)]
    area: Option<String>,
    lead_unit: String,
    #[serde(default)]
    assisting_units: Vec<String>,
    level: String,
    #[serde(default)]
    note: Option<String>,
}

impl From<RuleBody> for RuleInput {
    fn from(b: RuleBody) -> Self {
        RuleInput {
            category: b.category,
            area: b.area,
            lead_unit: b.lead_unit,
            assisting_units: b.assisting_units,
            level: b.level,
            note: b.note,
        }
    }
}

async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(b): JsonBody<RuleBody>,
) -> Result<Response, ApiError> {
    let r = editor(&state, &actor)?
        .create(&b.into(), Utc::now())
        .await
        .map_err(refused)?;
    Ok((StatusCode::CREATED, axum::Json(r)).into_response())
}

async fn update(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RuleBody>,
) -> Result<Response, ApiError> {
    let r = editor(&state, &actor)?
        .update(rule_id(&id)?, &b.into(), Utc::now())
        .await
        .map_err(refused)?;
    Ok(axum::Json(r).into_response())
}

async fn remove(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    editor(&state, &actor)?
        .delete(rule_id(&id)?, Utc::now())
        .await
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The spreadsheet form of a level (网格, 村社区, 乡镇街道, 市).
fn level_cell(code: &str) -> &'static str {
    match code {
        "grid" => "网格",
        "village" => "村社区",
        "township" => "乡镇街道",
        _ => "市",
    }
}

/// `12.5%`, or — before any dispatch followed the rule.
pub fn rate_text(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |r| format!("{:.1}%", r * 100.0))
}

/// The matrix as an Excel workbook: the import's columns (codes as text, so that
/// leading zeros survive), then each rule's counts, which an import ignores.
pub fn rules_to_xlsx(rules: &[RoutingRule]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("分派规则")?;
    let bold = Format::new().set_bold();
    let headers =
        zhili_intake::routing::HEADERS
            .iter()
            .copied()
            .chain(["按规则派单", "被退回", "错派率"]);
    for (c, h) in headers.enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)?;
    }
    for (i, r) in rules.iter().enumerate() {
        let row = i as u32 + 1;
        let assisting: Vec<&str> = r.assisting_units.iter().map(|u| u.code.as_str()).collect();
        let cells = [
            r.category.code.as_str(),
            r.category.name.as_str(),
            r.area.as_ref().map_or("", |a| a.code.as_str()),
            r.area.as_ref().map_or("全市", |a| a.name.as_str()),
            r.lead_unit.code.as_str(),
            r.lead_unit.name.as_str(),
            &assisting.join(zhili_intake::routing::UNIT_SEPARATOR),
            level_cell(r.level.code),
            r.note.as_deref().unwrap_or(""),
        ];
        for (c, v) in cells.iter().enumerate() {
            ws.write_string(row, c as u16, *v)?;
        }
        ws.write_number(row, 9, r.stats.followed as f64)?;
        ws.write_number(row, 10, r.stats.returned as f64)?;
        ws.write_string(row, 11, rate_text(r.stats.misrouting_rate))?;
    }
    ws.set_column_width(1, 16)?;
    ws.set_column_width(3, 16)?;
    ws.set_column_width(5, 24)?;
    ws.set_column_width(6, 24)?;
    wb.save_to_buffer()
}

/// The whole matrix as an Excel file, for a reader of the matrix.
pub async fn export(state: &AppState, actor: &Actor) -> Result<Response, ApiError> {
    let rules = repo(state, actor)?
        .list(&RuleFilter::default())
        .await
        .map_err(refused)?;
    let bytes = tokio::task::spawn_blocking(move || rules_to_xlsx(&rules))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "xlsx task");
            ApiError::internal()
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "xlsx export");
            ApiError::internal()
        })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"routing-rules.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn export_xlsx(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    export(&state, &actor).await
}

/// One refused row as the client sees it: `text` is `第 N 行 · 列名: 原因`.
#[derive(Serialize)]
pub struct BadRowJson {
    pub row: usize,
    pub column: String,
    pub message: String,
    pub text: String,
}

fn bad_json(b: &BadRow) -> BadRowJson {
    let column = zhili_intake::routing::column_name(&b.field).to_string();
    BadRowJson {
        text: format!("第 {} 行 · {}: {}", b.row, column, b.reason),
        row: b.row,
        column,
        message: b.reason.clone(),
    }
}

/// Replaces the matrix with a file's rules (Excel or CSV), all or nothing: a 422
/// `bad_rows` error lists every bad row and nothing is stored.
pub async fn import_file(
    state: &AppState,
    actor: &Actor,
    bytes: &[u8],
    source: &str,
) -> Result<ImportOutcome, ApiError> {
    let repo = editor(state, actor)?;
    let rows =
        zhili_intake::routing::read(bytes).map_err(|e| ApiError::invalid("file", e.to_string()))?;
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for r in rows {
        match r {
            Ok(r) => lines.push(RuleLine {
                row: r.row,
                rule: RuleInput {
                    category: r.category,
                    area: r.area,
                    lead_unit: r.lead_unit,
                    assisting_units: r.assisting_units,
                    level: r.level,
                    note: r.note,
                },
            }),
            Err(e) => bad.push(BadRow {
                row: e.row,
                field: zhili_intake::routing::field_name(&e.field).to_string(),
                reason: e.message,
            }),
        }
    }
    match repo
        .import(&lines, bad, source, Utc::now())
        .await
        .map_err(refused)?
    {
        Ok(out) => Ok(out),
        Err(refusal) => {
            let rows: Vec<BadRowJson> = refusal.bad_rows.iter().map(bad_json).collect();
            let mut e = ApiError::invalid(
                "file",
                format!("有 {} 行不正确，未导入任何规则", rows.len()),
            );
            e.code = "bad_rows";
            e.detail = Some(serde_json::json!({ "bad_rows": rows }));
            Err(e)
        }
    }
}

async fn import_xlsx(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Bytes,
) -> Result<Response, ApiError> {
    let out = import_file(&state, &actor, &body, "api").await?;
    Ok(axum::Json(out).into_response())
}
