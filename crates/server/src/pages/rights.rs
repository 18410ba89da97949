//! `/rights`: reporters' requests to correct or delete their data (PI-08), for
//! the command room running the events — open ones first by deadline, overdue in
//! red. Approving writes the correction or erases the reporter's data from the
//! event; refusing needs a reason, which the reporter is told by SMS.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use zhili_domain::Permission;
use zhili_storage::StoreError;
use zhili_storage::rights::RightsRequest;

use super::forms::FormData;
use super::session::PageUser;
use super::view::{Header, china_time, error_page, internal, render};
use crate::AppState;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/rights", Permission::HandleEvents, list)
        .post("/rights/{id}", Permission::HandleEvents, decide)
}

struct Row {
    id: i64,
    event_id: i64,
    event_number: String,
    township: String,
    kind: &'static str,
    status: &'static str,
    open: bool,
    overdue: bool,
    new_name: Option<String>,
    new_phone: Option<String>,
    note: Option<String>,
    requested_at: String,
    due_at: String,
    decided: Option<String>,
}

impl From<RightsRequest> for Row {
    fn from(r: RightsRequest) -> Self {
        Row {
            open: r.status.code == "open",
            decided: r.decided_at.map(|at| match &r.decision_note {
                Some(n) => format!("{}（{n}）", china_time(at)),
                None => china_time(at),
            }),
            id: r.id,
            event_id: r.event_id,
            event_number: r.event_number,
            township: r.township,
            kind: r.kind.label,
            status: r.status.label,
            overdue: r.overdue,
            new_name: r.new_name,
            new_phone: r.new_phone,
            note: r.note,
            requested_at: china_time(r.requested_at),
            due_at: china_time(r.due_at),
        }
    }
}

#[derive(Template)]
#[template(path = "rights.html")]
struct RightsPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    rows: Vec<Row>,
}

async fn list(State(state): State<AppState>, user: PageUser) -> Response {
    match state
        .store
        .rights_requests(&user.actor, false, Utc::now())
        .await
    {
        Ok(found) => render(
            StatusCode::OK,
            &RightsPage {
                lang: user.lang,
                header: Some(user.header()),
                csrf: user.csrf.clone(),
                rows: found.into_iter().map(Row::from).collect(),
            },
        ),
        Err(StoreError::Forbidden(m)) => error_page(Some(user.header()), StatusCode::FORBIDDEN, &m),
        Err(e) => {
            tracing::error!(error = ?e, "rights requests page");
            internal(Some(user.header()))
        }
    }
}

async fn decide(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let approve = form.get("decision") == Some("approve");
    match state
        .store
        .decide_rights_request(&user.actor, id, approve, &form.value("note"), Utc::now())
        .await
    {
        Ok(_) => Redirect::to("/rights").into_response(),
        Err(StoreError::NotFound) => error_page(
            Some(user.header()),
            StatusCode::NOT_FOUND,
            "该申请不存在，或不在您的辖区内。",
        ),
        Err(StoreError::Invalid { message, .. }) => error_page(
            Some(user.header()),
            StatusCode::UNPROCESSABLE_ENTITY,
            &message,
        ),
        Err(StoreError::Forbidden(m)) => error_page(Some(user.header()), StatusCode::FORBIDDEN, &m),
        Err(e) => {
            tracing::error!(error = ?e, "decision on a rights request");
            internal(Some(user.header()))
        }
    }
}
