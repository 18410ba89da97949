//! The command room's page of recurring problems (`GET /recurring`): alerts raised
//! when one kind of problem keeps coming back to one place, each ruled out
//! (`POST /recurring/{id}/dismiss`) or turned into a governance topic
//! (`POST /recurring/{id}/topic`); open topics are closed with their root cause
//! (`POST /topics/{id}/close`).

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use zhili_domain::Permission;
use zhili_domain::Role;
use zhili_storage::StoreError;
use zhili_storage::recurring::{RecurringAlert, RecurringRepo, Topic};

use super::forms::FormData;
use super::public::Shown;
use super::session::PageUser;
use super::view::{Header, china_time, error_page, internal, render};
use crate::AppState;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/recurring", Permission::Command, page)
        .post("/recurring/{id}/dismiss", Permission::Dispatch, dismiss)
        .post("/recurring/{id}/topic", Permission::Dispatch, open_topic)
        .post("/topics/{id}/close", Permission::Dispatch, close_topic)
}

struct AlertRow {
    id: i64,
    /// Township and category (data).
    place: String,
    count: usize,
    status: &'static str,
    status_code: &'static str,
    first_at: String,
    last_at: String,
    events: Vec<(i64, String)>,
    note: Option<String>,
}

impl From<RecurringAlert> for AlertRow {
    fn from(a: RecurringAlert) -> Self {
        AlertRow {
            id: a.id,
            place: format!("{} · {}", a.township.name, a.category.name),
            count: a.events.len(),
            status: a.status.label,
            status_code: a.status.code,
            first_at: china_time(a.first_at),
            last_at: china_time(a.last_at),
            events: a.events.into_iter().map(|e| (e.id, e.number)).collect(),
            note: a.note,
        }
    }
}

struct TopicRow {
    id: i64,
    title: String,
    status: &'static str,
    open: bool,
    opened_at: String,
    /// Who opened it (a name: data).
    opened_by: String,
    root_cause: Option<String>,
    measures: Option<String>,
    events: Vec<(i64, String)>,
}

impl From<Topic> for TopicRow {
    fn from(t: Topic) -> Self {
        TopicRow {
            id: t.id,
            open: t.status.code == "open",
            title: t.title,
            status: t.status.label,
            opened_at: china_time(t.opened_at),
            opened_by: t.opened_by,
            root_cause: t.root_cause,
            measures: t.measures,
            events: t.events.into_iter().map(|e| (e.id, e.number)).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "recurring.html")]
struct RecurringPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    may_act: bool,
    alerts: Vec<AlertRow>,
    topics: Vec<TopicRow>,
    error: Option<Shown>,
}

fn may_act(user: &PageUser) -> bool {
    matches!(user.actor.role, Role::CityOperator | Role::TownshipOperator)
}

async fn show(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    if !RecurringRepo::may_read(&user.actor) {
        return error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            "无权查看反复发生的问题。",
        );
    }
    let repo = state.store.recurring_for(&user.actor);
    let (alerts, topics) = match (repo.alerts(None).await, repo.topics(None).await) {
        (Ok(a), Ok(t)) => (a, t),
        _ => return internal(Some(user.header())),
    };
    render(
        status,
        &RecurringPage {
            lang: user.lang,
            header: Some(user.header()),
            csrf: user.csrf.clone(),
            may_act: may_act(user),
            alerts: alerts
                .into_iter()
                .filter(|a| a.status.code != "topic")
                .map(Into::into)
                .collect(),
            topics: topics.into_iter().map(Into::into).collect(),
            error: error.map(|e| Shown::of(user.lang, e)),
        },
    )
}

async fn page(State(state): State<AppState>, user: PageUser) -> Response {
    show(&state, &user, StatusCode::OK, None).await
}

/// After a change: back to the page, or the page again with what went wrong.
async fn after(state: &AppState, user: &PageUser, r: Result<(), StoreError>) -> Response {
    match r {
        Ok(()) => Redirect::to("/recurring").into_response(),
        Err(StoreError::NotFound) => error_page(
            Some(user.header()),
            StatusCode::NOT_FOUND,
            "该预警或专题不存在，或不在您的辖区内。",
        ),
        Err(StoreError::Invalid { field, message }) if field == "role" => {
            error_page(Some(user.header()), StatusCode::FORBIDDEN, message)
        }
        Err(StoreError::Invalid { message, .. }) => {
            show(
                state,
                user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&message),
            )
            .await
        }
        Err(StoreError::Duplicate { .. }) => {
            show(state, user, StatusCode::CONFLICT, Some("该预警已立专题。")).await
        }
        Err(_) => internal(Some(user.header())),
    }
}

async fn dismiss(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let r = state
        .store
        .recurring_for(&user.actor)
        .dismiss(id, &form.value("note"), Utc::now())
        .await
        .map(|_| ());
    after(&state, &user, r).await
}

async fn open_topic(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let r = state
        .store
        .recurring_for(&user.actor)
        .open_topic(id, &form.value("title"), Utc::now())
        .await
        .map(|_| ());
    after(&state, &user, r).await
}

async fn close_topic(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let r = state
        .store
        .recurring_for(&user.actor)
        .close_topic(
            id,
            &form.value("root_cause"),
            form.opt("measures").as_deref(),
            Utc::now(),
        )
        .await
        .map(|_| ());
    after(&state, &user, r).await
}
