//! The KPI page (`GET /kpi`): every KPI of the viewer's area (or an area or unit
//! they cover) for a period, each number a link to the events behind it
//! (`GET /kpi/{kind}/events`).

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use zhili_domain::Permission;
use zhili_domain::kpi::{KpiKind, KpiUnit, KpiValue};
use zhili_storage::kpi::Part;

use super::session::PageUser;
use super::view::{Header, china_time, error_page, render};
use crate::AppState;
use crate::api::kpi::{KpiQuery, kind, part, period, report, subject, subject_query};
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new().get("/kpi", Permission::Kpi, page).get(
        "/kpi/{kind}/events",
        Permission::Kpi,
        events,
    )
}

struct Line {
    label: &'static str,
    definition: &'static str,
    numerator: String,
    numerator_href: Option<String>,
    denominator: String,
    denominator_href: Option<String>,
    display: String,
}

#[derive(Template)]
#[template(path = "kpi.html")]
struct KpiPage {
    lang: Lang,
    header: Option<Header>,
    subject_name: String,
    subject_kind: &'static str,
    code: String,
    /// The area field's value: the code of an area, empty for a unit.
    area: String,
    from: String,
    to: String,
    lines: Vec<Line>,
}

fn fail(header: Header, e: ApiError) -> Response {
    let message = match e.status {
        StatusCode::NOT_FOUND => "该区域或单位不存在，或不在您的管辖范围内。".to_string(),
        _ => e.message,
    };
    error_page(Some(header), e.status, message)
}

fn number(lang: Lang, unit: KpiUnit, part: Part, v: f64) -> String {
    match (unit, part) {
        (KpiUnit::Hours, Part::Numerator) => lang.f("{} 小时", &[&format!("{v:.1}")]),
        (KpiUnit::PerTenThousand, Part::Denominator) => lang.f("{} 人", &[&format!("{v:.0}")]),
        _ => format!("{v:.0}"),
    }
}

/// The value as people read it (`KpiValue::display`, in the reader's language).
fn display(lang: Lang, v: &KpiValue) -> String {
    let Some(x) = v.value else {
        return lang.t("无数据").to_string();
    };
    match v.kind.unit() {
        KpiUnit::Count => lang.f("{} 件", &[&format!("{x:.0}")]),
        KpiUnit::Ratio => format!("{:.1}%", x * 100.0),
        KpiUnit::Hours => lang.f("{} 小时", &[&format!("{x:.1}")]),
        KpiUnit::PerTenThousand => lang.f("{} 人/万人", &[&format!("{x:.2}")]),
    }
}

async fn page(
    State(state): State<AppState>,
    user: PageUser,
    query: Result<Query<KpiQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let header = user.header();
    let lang = header.lang;
    let Ok(Query(q)) = query else {
        return error_page(Some(header), StatusCode::BAD_REQUEST, "查询参数有误。");
    };
    let r = match report(&state, &user.actor, &q).await {
        Ok(r) => r,
        Err(e) => return fail(header, e),
    };
    let link = |k: KpiKind, p: Part| {
        r.has_events(k, p).then(|| {
            format!(
                "/kpi/{}/events?part={}&{}",
                k.code(),
                p.code(),
                subject_query(&r)
            )
        })
    };
    let lines = r
        .values
        .iter()
        .map(|v| Line {
            label: v.kind.label_zh(),
            definition: v.kind.definition(),
            numerator: number(lang, v.kind.unit(), Part::Numerator, v.numerator),
            numerator_href: link(v.kind, Part::Numerator),
            denominator: v.denominator.map_or_else(
                || "—".to_string(),
                |d| number(lang, v.kind.unit(), Part::Denominator, d),
            ),
            denominator_href: link(v.kind, Part::Denominator),
            display: display(lang, v),
        })
        .collect();
    render(
        StatusCode::OK,
        &KpiPage {
            lang: header.lang,
            header: Some(header),
            subject_name: r.subject.name.clone(),
            subject_kind: r.subject_kind.label_zh(),
            code: r.subject.code.clone(),
            area: if r.subject_kind.is_unit() {
                String::new()
            } else {
                r.subject.code.clone()
            },
            from: r.period.from.to_string(),
            to: r.period.to.to_string(),
            lines,
        },
    )
}

struct EventLine {
    id: i64,
    number: String,
    excerpt: String,
    area: String,
    status: &'static str,
    reported_at: String,
}

#[derive(Template)]
#[template(path = "kpi_events.html")]
struct EventsPage {
    lang: Lang,
    header: Option<Header>,
    /// The area's or unit's name (data) and what of it the list shows.
    subject: String,
    title: String,
    back: String,
    total: i64,
    rows: Vec<EventLine>,
    next: Option<String>,
}

async fn events(
    State(state): State<AppState>,
    user: PageUser,
    Path(code): Path<String>,
    query: Result<Query<KpiQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let header = user.header();
    let lang = header.lang;
    let Ok(Query(q)) = query else {
        return error_page(Some(header), StatusCode::BAD_REQUEST, "查询参数有误。");
    };
    let run = async {
        let kind = kind(&code)?;
        let part = part(q.part.as_deref().map(str::trim).filter(|s| !s.is_empty()))?;
        let page: u32 = q
            .page
            .as_deref()
            .and_then(|p| p.trim().parse().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1);
        let r = report(&state, &user.actor, &q).await?;
        let (subject, _) = subject(&state, &user.actor, &q).await?;
        let period = period(&q)?;
        let list = state
            .store
            .kpis_for(&user.actor)
            .kpi_events(kind, part, &subject, period, page, 100)
            .await?;
        Ok::<_, ApiError>((kind, part, page, r, list))
    };
    let (kind, part, page, r, list) = match run.await {
        Ok(x) => x,
        Err(e) => return fail(header, e),
    };
    let shown = i64::from(page) * i64::from(list.per_page);
    let query = subject_query(&r);
    render(
        StatusCode::OK,
        &EventsPage {
            lang: header.lang,
            header: Some(header),
            subject: r.subject.name.clone(),
            title: lang.f(
                "{}的{}（{} 至 {}）",
                &[
                    &lang.t(kind.label_zh()),
                    &lang.t(part.label_zh()),
                    &r.period.from,
                    &r.period.to,
                ],
            ),
            back: format!("/kpi?{query}"),
            total: list.total,
            next: (shown < list.total).then(|| {
                format!(
                    "/kpi/{}/events?part={}&{query}&page={}",
                    kind.code(),
                    part.code(),
                    page + 1
                )
            }),
            rows: list
                .items
                .into_iter()
                .map(|e| EventLine {
                    id: e.id,
                    number: e.number,
                    excerpt: e.excerpt,
                    area: match e.grid {
                        Some(g) => format!("{} / {}", e.township.name, g.name),
                        None => e.township.name,
                    },
                    status: e.status.label,
                    reported_at: china_time(e.reported_at),
                })
                .collect(),
        },
    )
}
