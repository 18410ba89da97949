//! Patrol check-in (`GET /patrol`, `POST /patrol`, 巡查打卡), phone-sized: a grid
//! worker presses one big button, the browser gives the position (WGS-84), the
//! grid is found from it, and the day's check-ins are listed below; one outside the
//! worker's own grid is recorded but flagged. Command rooms get the day's check-ins
//! in their area per grid, each count linking to its list.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::Permission;
use zhili_storage::StoreError;
use zhili_storage::patrols::{GridPatrolCount, NewPatrol, Patrol};

use super::forms::Msg;
use super::session::PageUser;
use super::upload::{PageForm, photo_message, photo_status};
use super::view::{Header, china_time, error_page, internal, render, url_encode};
use crate::AppState;
use crate::api::work::{PatrolQuery, patrol_point};

/// Gets the position on the button press and sends the form; works without it
/// (the coordinates can be typed).
const PATROL_JS: &str = include_str!("../../static/patrol.js");

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/patrol", Permission::Patrols, page)
        .get("/static/patrol.js", Permission::Public, js)
        .get("/patrol/{id}/photo", Permission::Patrols, photo)
}

async fn js() -> Response {
    (
        StatusCode::OK,
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        PATROL_JS,
    )
        .into_response()
}

struct Item {
    id: i64,
    time: String,
    worker: String,
    /// `None`: outside every grid.
    grid: Option<String>,
    position: String,
    note: String,
    outside: bool,
    has_photo: bool,
}

impl From<Patrol> for Item {
    fn from(p: Patrol) -> Self {
        Item {
            id: p.id,
            time: china_time(p.at),
            worker: p.worker.name,
            grid: p.grid.map(|g| g.name),
            position: format!("{:.5}, {:.5}", p.location.lon, p.location.lat),
            note: p.note.unwrap_or_default(),
            outside: p.outside_own_grid,
            has_photo: p.has_photo,
        }
    }
}

struct CountRow {
    grid: String,
    total: i64,
    outside: i64,
    href: String,
    outside_href: String,
}

#[derive(Template)]
#[template(path = "patrol.html")]
struct PatrolPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    may_check_in: bool,
    /// A fresh key per rendered form: a double tap sends the same one.
    key: String,
    date: String,
    /// The day shown is today (今天).
    is_today: bool,
    items: Vec<Item>,
    counts: Vec<CountRow>,
    /// The list is narrowed to one grid or to flagged check-ins.
    narrowed: bool,
    /// A catalog text.
    done: Option<&'static str>,
    error: Option<Msg>,
    note: String,
    lon: String,
    lat: String,
}

#[derive(Deserialize)]
pub struct PageParams {
    date: Option<String>,
    grid: Option<String>,
    outside: Option<String>,
    done: Option<String>,
}

/// What the user typed in the form, to show again after an error.
#[derive(Default)]
struct Typed {
    note: String,
    lon: String,
    lat: String,
}

async fn patrol_page(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    q: PatrolQuery,
    done: Option<&'static str>,
    error: Option<String>,
    typed: Typed,
) -> Response {
    let header = user.header();
    let Some(repo) = state.store.patrols_for(&user.actor) else {
        return error_page(
            Some(header),
            StatusCode::FORBIDDEN,
            "巡查打卡只对网格员和综合指挥室开放。",
        );
    };
    let (day, f) = match q.filter() {
        Ok(x) => x,
        Err(e) => return error_page(Some(header), StatusCode::UNPROCESSABLE_ENTITY, e.message),
    };
    let (items, counts) = match tokio::try_join!(repo.list(&f), repo.counts_by_grid(&f)) {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = ?e, "patrol page");
            return internal(Some(header));
        }
    };
    let today = Utc::now()
        .with_timezone(&zhili_calendar::china_time())
        .date_naive();
    let date = day.to_string();
    let count_row = |c: GridPatrolCount| {
        let base = format!("/patrol?date={date}&grid={}", url_encode(&c.grid.code));
        CountRow {
            grid: format!("{}（{}）", c.grid.name, c.grid.code),
            total: c.total,
            outside: c.outside,
            outside_href: format!("{base}&outside=true"),
            href: base,
        }
    };
    let view = PatrolPage {
        lang: header.lang,
        header: Some(header),
        csrf: user.csrf.clone(),
        may_check_in: repo.may_check_in(),
        key: hex::encode(rand::random::<[u8; 12]>()),
        is_today: day == today,
        narrowed: f.grid.is_some() || f.outside_only,
        items: items.into_iter().map(Item::from).collect(),
        counts: counts.into_iter().map(count_row).collect(),
        date,
        done,
        error: error.map(|m| Msg::new(user.lang, &m)),
        note: typed.note,
        lon: typed.lon,
        lat: typed.lat,
    };
    render(status, &view)
}

async fn page(
    State(state): State<AppState>,
    user: PageUser,
    params: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let p = match params {
        Ok(Query(p)) => p,
        Err(_) => {
            return error_page(
                Some(user.header()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "查询条件格式不正确。",
            );
        }
    };
    let done = match p.done.as_deref() {
        Some("in") => Some("打卡成功。"),
        Some("outside") => Some("打卡成功，但位置不在您负责的网格内，已标记。"),
        _ => None,
    };
    let q = PatrolQuery {
        date: p.date,
        grid: p.grid,
        outside: p.outside,
    };
    patrol_page(
        &state,
        &user,
        StatusCode::OK,
        q,
        done,
        None,
        Typed::default(),
    )
    .await
}

/// `GET /patrol/{id}/photo`: a check-in's photo (without metadata), for those who
/// see the check-in.
async fn photo(
    State(state): State<AppState>,
    user: PageUser,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let missing = || error_page(Some(user.header()), StatusCode::NOT_FOUND, "该照片不存在。");
    let (Some(repo), Ok(id)) = (state.store.patrols_for(&user.actor), id.parse::<i64>()) else {
        return missing();
    };
    match repo.photo(id).await {
        Ok((content_type, bytes)) => (
            StatusCode::OK,
            [
                (axum::http::header::CONTENT_TYPE, content_type),
                (
                    axum::http::header::CACHE_CONTROL,
                    "private, max-age=3600".to_string(),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(StoreError::NotFound) => missing(),
        Err(e) => {
            tracing::error!(error = ?e, "patrol photo");
            internal(Some(user.header()))
        }
    }
}

/// `POST /patrol`: one check-in from the form (with an optional photo).
pub async fn submit(State(state): State<AppState>, user: PageUser, mut form: PageForm) -> Response {
    if let Some(r) = user.csrf_rejection(&form.fields) {
        return r;
    }
    let Some(repo) = state
        .store
        .patrols_for(&user.actor)
        .filter(|r| r.may_check_in())
    else {
        return error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            "只有网格员可以巡查打卡。",
        );
    };
    let f = &form.fields;
    let typed = Typed {
        note: f.value("note"),
        lon: f.value("lon"),
        lat: f.value("lat"),
    };
    let again = async |status, message: String, typed| {
        patrol_page(
            &state,
            &user,
            status,
            PatrolQuery::default(),
            None,
            Some(message),
            typed,
        )
        .await
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let coord = |name: &str| f.opt(name).and_then(|v| v.parse::<f64>().ok());
    let (Some(lon), Some(lat)) = (coord("lon"), coord("lat")) else {
        let m = "未获得位置：请允许浏览器定位后重试，或手动填写经纬度。".to_string();
        return again(unprocessable, m, typed).await;
    };
    let (location, grid_code) = match patrol_point(&state, lon, lat) {
        Ok(x) => x,
        Err(e) => {
            let m = format!("位置有误：{}", e.message);
            return again(unprocessable, m, typed).await;
        }
    };
    let accuracy_m = coord("accuracy_m");
    let note = f.opt("note");
    let key = f.value("key");
    let photo = match form.checked_photo().await {
        Ok(p) => p,
        Err(e) => return again(photo_status(&e), photo_message(&e), typed).await,
    };
    let new = NewPatrol {
        location,
        grid_code,
        accuracy_m,
        note,
        idempotency_key: key,
        photo,
    };
    match repo.check_in(&new, Utc::now()).await {
        Ok((p, _)) => {
            let done = if p.outside_own_grid { "outside" } else { "in" };
            Redirect::to(&format!("/patrol?done={done}")).into_response()
        }
        Err(StoreError::Invalid { message, .. }) => again(unprocessable, message, typed).await,
        Err(e) => {
            tracing::error!(error = ?e, "patrol check-in page");
            internal(Some(user.header()))
        }
    }
}
