//! KPIs (O5), assessment (O4) and survey imports over HTTP. Every number links to
//! the events behind it; an area or unit outside the caller's scope is a 404.
//! Definitions and formats: docs/kpis.md.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zhili_domain::Permission;
use zhili_domain::kpi::{KpiKind, KpiUnit, KpiValue, Scheme};
use zhili_storage::assessment::Scores;
use zhili_storage::imports::BadRow;
use zhili_storage::kpi::{KpiReport, Part, Period};
use zhili_storage::survey::SurveyRow;

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/v1/kpis", Permission::Kpi, kpis)
        .get("/api/v1/kpis/{kind}/events", Permission::Kpi, kpi_events)
        .get("/api/v1/assessment/schemes", Permission::Command, schemes)
        .post(
            "/api/v1/assessment/schemes",
            Permission::Operations,
            save_scheme,
        )
        .get("/api/v1/assessment/scores", Permission::Command, scores)
        .get(
            "/api/v1/assessment/scores.xlsx",
            Permission::Command,
            scores_xlsx,
        )
        .post("/api/v1/surveys", Permission::Operations, import_surveys)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiQuery {
    pub area: Option<String>,
    pub unit: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub part: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

fn filled(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn date(field: &str, v: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(field, "日期格式应为 YYYY-MM-DD，如 2026-03-01"))
}

/// The period asked for: `from` and `to` (exclusive) or, without them, this month.
pub fn period(q: &KpiQuery) -> Result<Period, ApiError> {
    match (filled(&q.from), filled(&q.to)) {
        (None, None) => Ok(Period::month_of(Utc::now())),
        (Some(f), Some(t)) => Ok(Period::new(date("from", f)?, date("to", t)?)?),
        (Some(_), None) => Err(ApiError::invalid("to", "请同时提供 from 与 to")),
        (None, Some(_)) => Err(ApiError::invalid("from", "请同时提供 from 与 to")),
    }
}

/// Which of `area`/`unit` was asked for: (code, is the unit parameter). Without
/// either, the caller's own area or unit (the city for city roles).
pub async fn subject(
    state: &AppState,
    actor: &zhili_domain::Actor,
    q: &KpiQuery,
) -> Result<(String, Option<bool>), ApiError> {
    match (filled(&q.area), filled(&q.unit)) {
        (Some(_), Some(_)) => Err(ApiError::invalid("unit", "area 与 unit 只能二选一")),
        (Some(a), None) => Ok((a.to_string(), Some(false))),
        (None, Some(u)) => Ok((u.to_string(), Some(true))),
        (None, None) => match state.store.kpis_for(actor).home().await? {
            Some(org) => Ok((org.code, None)),
            None => Err(ApiError::forbidden("您的账号无权查看考核指标")),
        },
    }
}

/// The report, with `area`/`unit` checked against what the code turned out to be.
pub async fn report(
    state: &AppState,
    actor: &zhili_domain::Actor,
    q: &KpiQuery,
) -> Result<KpiReport, ApiError> {
    let (code, asked_unit) = subject(state, actor, q).await?;
    let period = period(q)?;
    let report = state.store.kpis_for(actor).kpis(&code, period).await?;
    match asked_unit {
        Some(true) if !report.subject_kind.is_unit() => Err(ApiError::invalid(
            "unit",
            format!("{code} 不是单位编码，请用 area"),
        )),
        Some(false) if report.subject_kind.is_unit() => Err(ApiError::invalid(
            "area",
            format!("{code} 是单位编码，请用 unit"),
        )),
        _ => Ok(report),
    }
}

/// The query string naming a report's subject and period, for links.
pub fn subject_query(r: &KpiReport) -> String {
    let key = if r.subject_kind.is_unit() {
        "unit"
    } else {
        "area"
    };
    format!(
        "{key}={}&from={}&to={}",
        url_escape(&r.subject.code),
        r.period.from,
        r.period.to
    )
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Serialize)]
struct Links {
    numerator: Option<String>,
    denominator: Option<String>,
}

#[derive(Serialize)]
struct KpiJson {
    kind: KpiKind,
    label: &'static str,
    definition: &'static str,
    unit: KpiUnit,
    numerator: f64,
    denominator: Option<f64>,
    value: Option<f64>,
    display: String,
    events: Links,
}

fn kpi_json(r: &KpiReport, v: &KpiValue) -> KpiJson {
    let link = |part: Part| {
        r.has_events(v.kind, part).then(|| {
            format!(
                "/api/v1/kpis/{}/events?part={}&{}",
                v.kind.code(),
                part.code(),
                subject_query(r)
            )
        })
    };
    KpiJson {
        kind: v.kind,
        label: v.kind.label_zh(),
        definition: v.kind.definition(),
        unit: v.kind.unit(),
        numerator: v.numerator,
        denominator: v.denominator,
        value: v.value,
        display: v.display(),
        events: Links {
            numerator: link(Part::Numerator),
            denominator: link(Part::Denominator),
        },
    }
}

async fn kpis(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<KpiQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let r = report(&state, &actor, &q).await?;
    let kpis: Vec<KpiJson> = r.values.iter().map(|v| kpi_json(&r, v)).collect();
    Ok(axum::Json(serde_json::json!({
        "subject": {
            "id": r.subject.id,
            "code": r.subject.code,
            "name": r.subject.name,
            "kind": r.subject_kind.code(),
            "kind_label": r.subject_kind.label_zh(),
        },
        "from": r.period.from,
        "to": r.period.to,
        "kpis": kpis,
    }))
    .into_response())
}

pub fn kind(code: &str) -> Result<KpiKind, ApiError> {
    KpiKind::parse(code).ok_or_else(|| {
        ApiError::invalid(
            "kind",
            format!("未知指标，可选：{}", KpiKind::codes().join(", ")),
        )
    })
}

pub fn part(v: Option<&str>) -> Result<Part, ApiError> {
    match v {
        None => Ok(Part::Numerator),
        Some(p) => Part::parse(p).ok_or_else(|| {
            ApiError::invalid("part", "可选：numerator（分子）、denominator（分母）")
        }),
    }
}

fn number(field: &str, v: Option<&str>, default: u32, max: u32) -> Result<u32, ApiError> {
    match v {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid(field, format!("须为 1–{max} 之间的整数"))),
    }
}

async fn kpi_events(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(code): Path<String>,
    query: Result<Query<KpiQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let kind = kind(&code)?;
    let part = part(filled(&q.part))?;
    let page = number("page", filled(&q.page), 1, u32::MAX)?;
    let per_page = number("per_page", filled(&q.per_page), 50, 200)?;
    let (subject, _) = subject(&state, &actor, &q).await?;
    let period = period(&q)?;
    let events = state
        .store
        .kpis_for(&actor)
        .kpi_events(kind, part, &subject, period, page, per_page)
        .await?;
    Ok(axum::Json(serde_json::json!({
        "kind": kind,
        "label": kind.label_zh(),
        "part": part.code(),
        "part_label": part.label_zh(),
        "from": period.from,
        "to": period.to,
        "events": events,
    }))
    .into_response())
}

async fn schemes(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    if !zhili_storage::assessment::can_view_assessment(&actor) {
        return Err(ApiError::forbidden("您的账号无权查看考核方案"));
    }
    Ok(axum::Json(state.store.schemes(&actor).await?).into_response())
}

async fn save_scheme(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(scheme): JsonBody<Scheme>,
) -> Result<Response, ApiError> {
    if !matches!(
        actor.role,
        zhili_domain::Role::Admin | zhili_domain::Role::CityOperator
    ) {
        return Err(ApiError::forbidden(
            "只有管理员或市综合指挥中心可以编辑考核方案",
        ));
    }
    let saved = state.store.save_scheme(&actor, &scheme, Utc::now()).await?;
    Ok((StatusCode::CREATED, axum::Json(saved)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoresQuery {
    scheme: Option<String>,
    month: Option<String>,
}

async fn load_scores(
    state: &AppState,
    actor: &zhili_domain::Actor,
    q: &ScoresQuery,
) -> Result<Scores, ApiError> {
    let scheme = filled(&q.scheme)
        .ok_or_else(|| ApiError::invalid("scheme", "请给出考核方案编号 scheme"))?
        .parse::<i64>()
        .map_err(|_| ApiError::invalid("scheme", "考核方案编号须为整数"))?;
    let month = match filled(&q.month) {
        Some(m) => m.to_string(),
        None => Period::month_of(Utc::now())
            .from
            .format("%Y-%m")
            .to_string(),
    };
    Ok(state.store.scores(actor, scheme, &month).await?)
}

async fn scores(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<ScoresQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    Ok(axum::Json(load_scores(&state, &actor, &q).await?).into_response())
}

async fn scores_xlsx(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<ScoresQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let s = load_scores(&state, &actor, &q).await?;
    let bytes = tokio::task::spawn_blocking(move || scores_to_xlsx(&s))
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
                "attachment; filename=\"assessment-scores.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SurveyQuery {
    source: Option<String>,
}

#[derive(Serialize)]
struct BadRowJson {
    row: usize,
    column: String,
    message: String,
}

fn bad_json(b: &BadRow) -> BadRowJson {
    BadRowJson {
        row: b.row,
        column: zhili_intake::survey::column_name(&b.field).to_string(),
        message: b.reason.clone(),
    }
}

/// A survey file (CSV or XLSX) as the body: all rows stored, or none and every bad
/// row listed (422).
async fn import_surveys(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<SurveyQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use zhili_domain::Role;
    if !matches!(
        actor.role,
        Role::Admin | Role::CityOperator | Role::TownshipOperator
    ) {
        return Err(ApiError::forbidden("您的账号无权导入问卷调查结果"));
    }
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let lines =
        zhili_intake::survey::read(&body).map_err(|e| ApiError::invalid("file", e.to_string()))?;
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for l in lines {
        match l {
            Ok(l) => rows.push(SurveyRow {
                row: l.row,
                area_code: l.area_code,
                month: l.month,
                respondents: l.respondents,
                aware: l.aware,
                participated: l.participated,
            }),
            Err(e) => bad.push(BadRow {
                row: e.row,
                field: zhili_intake::survey::FIELDS
                    .iter()
                    .find(|(_, c)| *c == e.field)
                    .map_or(e.field.clone(), |(f, _)| f.to_string()),
                reason: e.message,
            }),
        }
    }
    let source = filled(&q.source).unwrap_or("api").to_string();
    let report = state
        .store
        .import_surveys(&actor, &rows, bad, &source, Utc::now())
        .await?;
    if report.bad_rows.is_empty() {
        Ok(
            axum::Json(serde_json::json!({ "stored": report.stored, "bad_rows": [] }))
                .into_response(),
        )
    } else {
        let rows: Vec<BadRowJson> = report.bad_rows.iter().map(bad_json).collect();
        let mut e = ApiError::invalid(
            "file",
            format!("有 {} 行不正确，未导入任何数据", rows.len()),
        );
        e.code = "bad_rows";
        e.detail = Some(serde_json::json!({ "bad_rows": rows }));
        Err(e)
    }
}

/// The month's ranking as an Excel workbook: one sheet, one row per assessed body,
/// Chinese headers; each indicator's value and its 0–100 score side by side.
pub fn scores_to_xlsx(s: &Scores) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(format!("{} 考核排名", s.month))?;
    let bold = Format::new().set_bold();
    ws.write_string_with_format(
        0,
        0,
        format!("{}（{}）", s.scheme.scheme.name, s.month),
        &bold,
    )?;
    let mut headers: Vec<String> = ["排名", "编码", "名称", "总分", "红黑榜"]
        .iter()
        .map(|h| h.to_string())
        .collect();
    for i in &s.scheme.scheme.indicators {
        headers.push(format!("{}（权重 {}%）", i.kpi.label_zh(), i.weight));
        headers.push(format!("{}得分", i.kpi.label_zh()));
    }
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, h, &bold)?;
    }
    for (i, r) in s.rows.iter().enumerate() {
        let row = i as u32 + 2;
        match r.rank {
            Some(n) => ws.write_number(row, 0, n as f64)?,
            None => ws.write_string(row, 0, "—")?,
        };
        // Codes as text: a long division code typed as a number loses digits.
        ws.write_string(row, 1, &r.body.code)?;
        ws.write_string(row, 2, &r.body.name)?;
        match r.score.total {
            Some(t) => ws.write_number(row, 3, t)?,
            None => ws.write_string(row, 3, "无数据")?,
        };
        ws.write_string(row, 4, r.board.map_or("", |b| b.label_zh()))?;
        for (j, p) in r.score.parts.iter().enumerate() {
            let col = 5 + 2 * j as u16;
            let shown = r
                .values
                .iter()
                .find(|v| v.kind == p.kpi)
                .map_or_else(|| "无数据".to_string(), KpiValue::display);
            ws.write_string(row, col, shown)?;
            match p.score {
                Some(x) => ws.write_number(row, col + 1, x)?,
                None => ws.write_string(row, col + 1, "无数据")?,
            };
        }
    }
    ws.set_column_width(2, 24)?;
    wb.save_to_buffer()
}
