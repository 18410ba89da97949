//! The notices page (`GET /notifications`): deadline warnings and escalations for
//! the signed-in user's unit, command room or the city, newest first, each linking
//! to its event and marked read with one button (`POST /notifications/{id}/read`).

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::Permission;
use zhili_storage::StoreError;

use super::forms::FormData;
use super::session::PageUser;
use super::view::{Header, china_time, error_page, internal, render};
use crate::AppState;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/notifications", Permission::SignedIn, list)
        .post("/notifications/{id}/read", Permission::SignedIn, read)
}

struct Row {
    id: i64,
    kind_code: &'static str,
    kind_label: &'static str,
    title: String,
    body: String,
    at: String,
    read: bool,
    event: Option<(i64, String)>,
}

#[derive(Template)]
#[template(path = "notices.html")]
struct NoticesPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    rows: Vec<Row>,
    total: i64,
    unread: i64,
    unread_only: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    unread: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    user: PageUser,
    Query(q): Query<ListQuery>,
) -> Response {
    let unread_only = q.unread.as_deref() == Some("1");
    let page = match state
        .store
        .notifications(&user.actor, unread_only, 1, 100)
        .await
    {
        Ok(p) => p,
        Err(_) => return internal(Some(user.header())),
    };
    let unread = match state.store.unread_notifications(&user.actor).await {
        Ok(n) => n,
        Err(_) => return internal(Some(user.header())),
    };
    let rows = page
        .items
        .into_iter()
        .map(|n| Row {
            id: n.id,
            kind_code: n.kind.code,
            kind_label: n.kind.label,
            title: n.title,
            body: n.body,
            at: china_time(n.created_at),
            read: n.read,
            event: n.event.map(|e| (e.id, e.number)),
        })
        .collect();
    render(
        StatusCode::OK,
        &NoticesPage {
            lang: user.lang,
            header: Some(user.header()),
            csrf: user.csrf.clone(),
            rows,
            total: page.total,
            unread,
            unread_only,
        },
    )
}

async fn read(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    match state
        .store
        .mark_notification_read(&user.actor, id, Utc::now())
        .await
    {
        Ok(()) => Redirect::to("/notifications").into_response(),
        Err(StoreError::NotFound) => error_page(
            Some(user.header()),
            StatusCode::NOT_FOUND,
            "该提醒不存在，或不是发给您的。",
        ),
        Err(_) => internal(Some(user.header())),
    }
}
