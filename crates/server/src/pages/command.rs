//! The city command centre (市综合指挥中心, D4): `GET /command` (desk layout;
//! `?wall=1` for the wall screen), a live map of grids and events with KPI tiles,
//! charts, lists and channel health. The page is complete as HTML (every number a
//! link to its events); its script adds the map and charts and polls
//! `/command/summary.json` and `/command/events.json` (the session's JSON twins of
//! `/api/v1/command/…`). `/map/grids.json` serves the grid and township outlines to
//! the maps of every page. Docs: docs/command-centre.md.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::OrgKind;
use zhili_domain::Permission;

use super::session::PageUser;
use super::view::{Header, china_time, error_page, internal, render};
use crate::AppState;
use crate::api::command::{EventsQuery, Summary, build_summary, map_events};
use crate::error::ApiError;

/// The page's script: map, charts, polling. Works with the HTML it finds.
const COMMAND_JS: &str = include_str!("../../static/command.js");
/// The report form's map pick (WGS-84 into the form's longitude and latitude).
const MAP_PICK_JS: &str = include_str!("../../static/map-pick.js");
/// Styles of the command centre and the maps.
const MAP_CSS: &str = include_str!("../../static/map.css");

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/command", Permission::Command, page)
        .get("/command/summary.json", Permission::Command, summary_json)
        .get("/command/events.json", Permission::Command, events_json)
        .get("/map/grids.json", Permission::SignedIn, grids_json)
        .get("/static/command.js", Permission::Public, || {
            script(COMMAND_JS)
        })
        .get("/static/map-pick.js", Permission::Public, || {
            script(MAP_PICK_JS)
        })
        .get("/static/map.css", Permission::Public, css)
}

async fn script(body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    super::asset("text/css; charset=utf-8", MAP_CSS)
}

/// The vendored libraries' base URLs, for the templates.
pub(super) struct Vendor {
    pub leaflet: &'static str,
    pub markercluster: &'static str,
    pub echarts: &'static str,
}

pub(super) const VENDOR: Vendor = Vendor {
    leaflet: crate::vendor::LEAFLET,
    markercluster: crate::vendor::LEAFLET_MARKERCLUSTER,
    echarts: crate::vendor::ECHARTS,
};

struct TrendBar {
    date: String,
    count: i64,
    href: String,
}

#[derive(Template)]
#[template(path = "command.html")]
struct CommandPage {
    lang: Lang,
    header: Option<Header>,
    wall: bool,
    vendor: Vendor,
    /// Background tiles an admin configured (`map_tile_url`); empty: none.
    tile_url: String,
    s: Summary,
    updated: String,
    trend: Vec<TrendBar>,
    /// The summary as the script's first data (JSON in a `<script>` block).
    data_json: String,
    /// The area's name, or 全市 in the page's language.
    area: String,
    /// The area is an organisation's name (data, shown as entered).
    area_is_name: bool,
    /// The texts the script builds, in the page's language (JSON in a `<script>`).
    i18n_json: String,
}

/// The script's texts: `{}` stands for a value. Labels the summary JSON carries in
/// Chinese (statuses, the outbox state) come keyed by their codes.
fn script_texts(lang: Lang) -> serde_json::Value {
    let statuses: serde_json::Map<String, serde_json::Value> = zhili_domain::Status::ALL
        .iter()
        .map(|s| (s.code().to_string(), lang.t(s.label_zh()).into()))
        .collect();
    serde_json::json!({
        "overdue_total": lang.t("共 {} 件"),
        "count": lang.t("{} 件"),
        "day": lang.t("{}：{}"),
        "sep": lang.t("："),
        "recurring_total": lang.t("待研判 {} 条"),
        "alert_events": lang.t("{} 起"),
        "comma": lang.t("，"),
        "outbox_pending": lang.t("待发送 {} 条"),
        "outbox_failing": lang.t("其中失败重试 {} 条"),
        "last_error": lang.t("；最近错误：{}"),
        "live_ok": lang.t("，每 5 秒自动更新"),
        "live_retry": lang.t("，连接中断，正在重试…"),
        "live_map_failed": lang.t("，地图数据加载失败，正在重试…"),
        "zoom_in": lang.t("放大"),
        "zoom_out": lang.t("缩小"),
        "legend_open": lang.t("在办事件数："),
        "legend_late": lang.t("超期占比："),
        "open_11": lang.t("11 以上"),
        "late_none": lang.t("无超期"),
        "late_25": lang.t("25% 以下"),
        "late_75": lang.t("75% 以上"),
        "grid_open": lang.t("在办 {}"),
        "grid_late": lang.t("，超期 {}"),
        "code": lang.t("（{}）"),
        "overdue": lang.t(" · 超期"),
        "reported": lang.t("上报"),
        "status": statuses,
        "state": {
            "failing": lang.t("发送失败，自动重试中"),
            "pending": lang.t("有待发送消息"),
            "ok": lang.t("正常"),
        },
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    wall: Option<String>,
}

/// `</script>` cannot end the JSON block early: every `<` is escaped.
fn script_json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
}

async fn page(
    State(state): State<AppState>,
    user: PageUser,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let header = user.header();
    let Ok(Query(q)) = query else {
        return error_page(Some(header), StatusCode::BAD_REQUEST, "查询参数有误。");
    };
    if !zhili_storage::command::may_view(&user.actor) {
        return error_page(
            Some(header),
            StatusCode::FORBIDDEN,
            "指挥中心供市综合指挥中心、市领导、乡镇（街道）综合指挥室和监督机构查看。",
        );
    }
    let now = Utc::now();
    let s = match build_summary(&state, &user.actor, now).await {
        Ok(s) => s,
        Err(e) if e.status.is_server_error() => return internal(Some(header)),
        Err(e) => return error_page(Some(header), e.status, e.message),
    };
    let trend = s
        .trend
        .iter()
        .map(|d| TrendBar {
            date: d.date.format("%m-%d").to_string(),
            count: d.count,
            href: d.href.clone(),
        })
        .collect();
    let lang = header.lang;
    let area_is_name = s.area != "全市";
    let view = CommandPage {
        area: if area_is_name {
            s.area.clone()
        } else {
            lang.t("全市").to_string()
        },
        area_is_name,
        i18n_json: script_json(&script_texts(lang)),
        lang,
        header: Some(header),
        wall: matches!(q.wall.as_deref().map(str::trim), Some("1" | "true")),
        vendor: VENDOR,
        tile_url: state.config.map_tile_url.clone().unwrap_or_default(),
        updated: china_time(now),
        data_json: script_json(&s),
        trend,
        s,
    };
    let mut res = render(StatusCode::OK, &view);
    // ECharts writes its tooltips and labels as HTML with style attributes: this
    // page alone allows inline style attributes (never inline script or <style>).
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        crate::content_security_policy(&state.config, crate::InlineStyleAttrs::Allowed),
    );
    res
}

fn json(v: impl serde::Serialize) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(v)).into_response()
}

async fn summary_json(State(state): State<AppState>, user: PageUser) -> Response {
    match build_summary(&state, &user.actor, Utc::now()).await {
        Ok(s) => json(s),
        Err(e) => e.into_response(),
    }
}

async fn events_json(
    State(state): State<AppState>,
    user: PageUser,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => return ApiError::invalid("query", e.body_text()).into_response(),
    };
    match map_events(&state, &user.actor, &q).await {
        Ok(v) => json(v),
        Err(e) => e.into_response(),
    }
}

/// Grid outlines (reference data, no personal data) and each township's outline
/// as the union of its grids, for any signed-in user's map.
async fn grids_json(State(state): State<AppState>, _user: PageUser) -> Response {
    let run = async {
        let mut features = crate::api::grid_features(&state).await?;
        let (polygons, townships, grids) = tokio::try_join!(
            state.store.grid_polygons(),
            state.store.orgs_of_kind(&[OrgKind::Township]),
            state.store.orgs_of_kind(&[OrgKind::Grid]),
        )?;
        let township_of: std::collections::HashMap<i64, i64> = grids
            .iter()
            .filter_map(|g| Some((g.id.0, g.township_id?.0)))
            .collect();
        for t in &townships {
            let rings: Vec<zhili_geo::Ring> = polygons
                .iter()
                .filter(|(id, _)| township_of.get(&id.0) == Some(&t.id.0))
                .map(|(_, r)| r.clone())
                .collect();
            let outline = zhili_geo::outline(&rings);
            if outline.is_empty() {
                continue;
            }
            let coords: Vec<Vec<Vec<[f64; 2]>>> = outline
                .iter()
                .map(|r| vec![r.iter().map(|(x, y)| [*x, *y]).collect()])
                .collect();
            features.push(serde_json::json!({
                "type": "Feature",
                "id": t.code,
                "geometry": { "type": "MultiPolygon", "coordinates": coords },
                "properties": { "kind": "township", "id": t.id.0, "code": t.code, "name": t.name },
            }));
        }
        Ok::<_, ApiError>(features)
    };
    match run.await {
        Ok(features) => (
            [(header::CACHE_CONTROL, "private, max-age=300")],
            axum::Json(serde_json::json!({ "type": "FeatureCollection", "features": features })),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_json_cannot_close_its_script_block() {
        let j = super::script_json(&serde_json::json!({ "excerpt": "</script><b>" }));
        assert!(!j.contains('<'), "{j}");
        let back: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(back["excerpt"], "</script><b>");
    }
}
