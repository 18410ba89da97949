//! The administrator's calendar page (`GET /admin/calendar`): the years in force and a
//! form to load a new year's holidays and make-up working days
//! (`POST /admin/calendar`), checked with every problem named before anything is
//! stored.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use zhili_domain::Permission;

use super::forms::FormData;
use super::public::Shown;
use super::session::PageUser;
use super::view::{Header, error_page, render};
use crate::AppState;
use crate::api::calendar::{YearView, load_years, may_load, year_views};

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/admin/calendar", Permission::ManageSystem, page)
        .post("/admin/calendar", Permission::ManageSystem, submit)
}

#[derive(Template)]
#[template(path = "admin_calendar.html")]
struct CalendarPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    years: Vec<YearView>,
    done: Option<String>,
    /// The calendar's own words about the file: in English when the catalog has them.
    problems: Vec<Shown>,
    text: String,
}

async fn show(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    done: Option<String>,
    problems: Vec<String>,
    text: String,
) -> Response {
    let years = year_views(state).await.unwrap_or_default();
    render(
        status,
        &CalendarPage {
            lang: user.lang,
            header: Some(user.header()),
            csrf: user.csrf.clone(),
            years,
            done,
            problems: problems.iter().map(|p| Shown::of(user.lang, p)).collect(),
            text,
        },
    )
}

async fn page(State(state): State<AppState>, user: PageUser) -> Response {
    if !may_load(&user.actor) {
        return error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            "只有系统管理员可以管理工作日历。",
        );
    }
    show(
        &state,
        &user,
        StatusCode::OK,
        None,
        Vec::new(),
        String::new(),
    )
    .await
}

async fn submit(State(state): State<AppState>, user: PageUser, form: FormData) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let text = form.value("file");
    match load_years(&state, &user.actor, &text).await {
        Ok((years, recounted)) => {
            let years: Vec<String> = years.iter().map(i32::to_string).collect();
            let lang = user.lang;
            let done = lang.f(
                "已导入 {} 年的节假日，{} 个估算时限已按新日历重新计算。",
                &[&years.join(lang.t("、")), &recounted],
            );
            show(
                &state,
                &user,
                StatusCode::OK,
                Some(done),
                Vec::new(),
                String::new(),
            )
            .await
        }
        Err(e) if e.status == StatusCode::FORBIDDEN => {
            error_page(Some(user.header()), StatusCode::FORBIDDEN, e.message)
        }
        Err(e) => {
            let problems = e
                .detail
                .as_ref()
                .and_then(|d| d["problems"].as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_else(|| vec![e.message.clone()]);
            show(&state, &user, e.status, None, problems, text).await
        }
    }
}
