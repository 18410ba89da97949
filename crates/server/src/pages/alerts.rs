//! The security alerts page (`GET /admin/alerts`, IP-09): what the background work
//! found in the audit trail — credential stuffing, personal data taken in bulk, an
//! administrator signing in out of hours, a broken audit chain — open ones first,
//! each acknowledged with a note (`POST /admin/alerts/{id}/ack`). The security
//! administrator's; the auditor reads the same in the log (`alert.*`).

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
        .get("/admin/alerts", Permission::ManageAccounts, list)
        .post(
            "/admin/alerts/{id}/ack",
            Permission::ManageAccounts,
            acknowledge,
        )
}

struct Row {
    id: i64,
    kind: &'static str,
    summary: String,
    subject: String,
    count: i64,
    first_at: String,
    last_at: String,
    raised_at: String,
    /// Who acknowledged it, when, and the note.
    acknowledged: Option<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    rows: Vec<Row>,
    open: usize,
    all: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    all: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    user: PageUser,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let all = matches!(q, Ok(Query(ListQuery { all: Some(ref a) })) if a == "1");
    let (shown, open) = match (
        state.store.security_alerts(!all, 200).await,
        state.store.security_alerts(true, 1000).await,
    ) {
        (Ok(s), Ok(o)) => (s, o.len()),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = ?e, "alerts page");
            return internal(Some(user.header()));
        }
    };
    let rows = shown
        .into_iter()
        .map(|a| Row {
            id: a.id,
            kind: a.kind_label(),
            summary: a.summary,
            subject: a.subject,
            count: a.count,
            first_at: china_time(a.first_at),
            last_at: china_time(a.last_at),
            raised_at: china_time(a.raised_at),
            acknowledged: a.acknowledged_at.map(|at| {
                (
                    a.acknowledged_by.unwrap_or_default(),
                    china_time(at),
                    a.note.unwrap_or_default(),
                )
            }),
        })
        .collect();
    render(
        StatusCode::OK,
        &AlertsPage {
            lang: user.lang,
            header: Some(user.header()),
            csrf: user.csrf.clone(),
            rows,
            open,
            all,
        },
    )
}

async fn acknowledge(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let by = zhili_storage::Acting::from(&user.actor);
    match state
        .store
        .acknowledge_alert(id, &by, &form.value("note"), Utc::now())
        .await
    {
        Ok(()) => Redirect::to("/admin/alerts").into_response(),
        Err(StoreError::NotFound) => error_page(
            Some(user.header()),
            StatusCode::NOT_FOUND,
            "该告警不存在，或已处理。",
        ),
        Err(StoreError::Invalid { .. }) => error_page(
            Some(user.header()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "请填写处理情况（2–500 字）",
        ),
        Err(_) => internal(Some(user.header())),
    }
}
