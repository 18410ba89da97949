//! Supervision orders as pages: the scoped list (`GET /supervision`) with the focus
//! share on top, and the reply and close forms of an order
//! (`POST /supervision/{id}/reply`, `POST /supervision/{id}/close`), which the
//! event page shows under 督办 and which lead back to it.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use zhili_domain::OrgKind;
use zhili_domain::Permission;
use zhili_domain::supervision::{CloseOutcome, OrderStatus, SupervisionLevel};
use zhili_storage::StoreError;
use zhili_storage::supervision::{FocusShareFilter, OrderView};

use super::forms::FormData;
use super::public::Shown;
use super::session::PageUser;
use super::view::{Header, Opt, china_time, error_page, internal, render, url_encode};
use crate::AppState;
use crate::api::supervision::SupervisionQuery;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/supervision", Permission::Staff, list)
        .post("/supervision/{id}/reply", Permission::Supervise, reply)
        .post("/supervision/{id}/close", Permission::Supervise, close)
}

const PER_PAGE: u32 = 50;

/// One order as text, for the list and for the event page.
pub(super) struct OrderRow {
    pub id: i64,
    pub event_id: i64,
    pub event_number: String,
    pub township: String,
    /// None: not classified.
    pub category: Option<String>,
    pub lead_unit: String,
    pub level: &'static str,
    pub leader: String,
    pub due: String,
    pub overdue: bool,
    pub note: String,
    pub issued_at: String,
    /// Who issued it (a name: data).
    pub issued_by: String,
    pub automatic: bool,
    pub status_code: &'static str,
    pub status: &'static str,
    pub closed: Option<Closed>,
    pub replies: Vec<ReplyRow>,
    pub may_reply: bool,
    pub may_close: bool,
}

/// When and by whom an order was closed, and the note (the name and note are data).
pub(super) struct Closed {
    pub at: String,
    pub by_and_note: String,
}

pub(super) struct ReplyRow {
    pub at: String,
    pub by: String,
    pub text: String,
}

impl From<OrderView> for OrderRow {
    fn from(o: OrderView) -> Self {
        let closed = o.closed_at.map(|t| {
            let mut s = o.closed_by.clone().unwrap_or_default();
            if let Some(n) = &o.close_note {
                s.push('：');
                s.push_str(n);
            }
            Closed {
                at: china_time(t),
                by_and_note: s,
            }
        });
        OrderRow {
            id: o.id,
            event_id: o.event.id,
            event_number: o.event.number,
            township: o.township.name,
            category: o.category.map(|c| c.name),
            lead_unit: o.lead_unit.unwrap_or_else(|| "—".to_string()),
            level: o.level.label,
            leader: o.leader_name.unwrap_or_else(|| "—".to_string()),
            due: china_time(o.due_at),
            overdue: o.overdue,
            note: o.note,
            issued_at: china_time(o.issued_at),
            issued_by: o.issued_by,
            automatic: o.automatic,
            status_code: o.status.code,
            status: o.status.label,
            closed,
            replies: o
                .replies
                .into_iter()
                .map(|r| ReplyRow {
                    at: china_time(r.at),
                    by: r.by,
                    text: r.text,
                })
                .collect(),
            may_reply: o.may_reply,
            may_close: o.may_close,
        }
    }
}

/// The close form's choices.
pub(super) fn close_opts() -> Vec<Opt> {
    CloseOutcome::ALL
        .iter()
        .map(|c| Opt::new(c.code(), c.label_zh(), CloseOutcome::Done.code()))
        .collect()
}

struct ShareView {
    focus_events: i64,
    supervised: i64,
    with_leader: i64,
    share: String,
    complete: bool,
}

#[derive(Template)]
#[template(path = "supervision_list.html")]
struct ListPage {
    lang: Lang,
    header: Option<Header>,
    notices: Vec<Shown>,
    status_opts: Vec<Opt>,
    level_opts: Vec<Opt>,
    township_opts: Vec<Opt>,
    overdue: bool,
    filtered: bool,
    share: Option<ShareView>,
    total: i64,
    page: u32,
    pages: u32,
    prev_href: Option<String>,
    next_href: Option<String>,
    rows: Vec<OrderRow>,
}

fn forbidden(user: &PageUser) -> Response {
    error_page(
        Some(user.header()),
        StatusCode::FORBIDDEN,
        "您的账号无权查看督办单。",
    )
}

pub async fn list(
    State(state): State<AppState>,
    user: PageUser,
    query: Result<Query<SupervisionQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let header = user.header();
    let Some(repo) = state.store.supervision_for(&user.actor) else {
        return forbidden(&user);
    };
    let mut q = query.map(|Query(q)| q).unwrap_or_default();
    // A bad value is shown and dropped, so the rest of the form still works.
    let mut notices = Vec::new();
    let filter = loop {
        match q.to_filter() {
            Ok(f) => break f,
            Err(e) => {
                notices.push(Shown::of(user.lang, &e.message));
                match e.field.as_deref() {
                    Some("status") => q.status = None,
                    Some("level") => q.level = None,
                    Some("overdue") => q.overdue = None,
                    Some("page") => q.page = None,
                    _ => q = SupervisionQuery::default(),
                }
            }
        }
    };
    let filter = zhili_storage::supervision::SupervisionFilter {
        per_page: PER_PAGE,
        ..filter
    };
    let now = Utc::now();
    let page = match repo.list(&filter, now).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = ?e, "supervision list page");
            return internal(Some(header));
        }
    };
    let share = match repo
        .focus_share(&FocusShareFilter {
            township: filter.township.clone(),
            ..Default::default()
        })
        .await
    {
        Ok(s) => s.share.map(|p| ShareView {
            focus_events: s.focus_events,
            supervised: s.supervised,
            with_leader: s.with_leader,
            share: format!("{p:.1}%"),
            complete: s.supervised == s.focus_events,
        }),
        Err(e) => {
            tracing::error!(error = ?e, "focus share on the supervision page");
            return internal(Some(header));
        }
    };
    let townships = match state.store.orgs_of_kind(&[OrgKind::Township]).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = ?e, "townships for the supervision page");
            return internal(Some(header));
        }
    };
    let cur = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_string();
    let (status, level, township) = (cur(&q.status), cur(&q.level), cur(&q.township));
    let pages = u32::try_from((page.total + i64::from(PER_PAGE) - 1) / i64::from(PER_PAGE))
        .unwrap_or(1)
        .max(1);
    let href = |p: u32| {
        let mut s = format!("/supervision?page={p}");
        for (k, v) in [
            ("status", &status),
            ("level", &level),
            ("township", &township),
        ] {
            if !v.is_empty() {
                s.push_str(&format!("&{k}={}", url_encode(v)));
            }
        }
        if filter.overdue {
            s.push_str("&overdue=true");
        }
        s
    };
    let view = ListPage {
        notices,
        status_opts: OrderStatus::ALL
            .iter()
            .map(|s| Opt::new(s.code(), user.lang.t(s.label_zh()), &status))
            .collect(),
        level_opts: SupervisionLevel::ALL
            .iter()
            .map(|l| Opt::new(l.code(), user.lang.t(l.label_zh()), &level))
            .collect(),
        township_opts: townships
            .into_iter()
            .filter(|t| {
                user.actor.role != zhili_domain::Role::TownshipOperator
                    || Some(t.id) == user.actor.org_id
            })
            .map(|t| Opt::new(t.code.clone(), t.name, &township))
            .collect(),
        overdue: filter.overdue,
        filtered: !status.is_empty() || !level.is_empty() || !township.is_empty() || filter.overdue,
        share,
        total: page.total,
        page: page.page,
        pages,
        prev_href: (page.page > 1).then(|| href(page.page - 1)),
        next_href: (page.page < pages).then(|| href(page.page + 1)),
        rows: page.items.into_iter().map(OrderRow::from).collect(),
        lang: header.lang,
        header: Some(header),
    };
    render(StatusCode::OK, &view)
}

/// After a reply or a closing: back to where the form was (the event page or the
/// list), or an error page naming what went wrong.
fn after(
    user: &PageUser,
    form: &FormData,
    result: Result<OrderView, StoreError>,
    done: &str,
) -> Response {
    match result {
        Ok(o) => {
            let back = if form.value("back") == "list" {
                "/supervision".to_string()
            } else {
                format!("/events/{}?done={done}#supervision", o.event.id)
            };
            Redirect::to(&back).into_response()
        }
        Err(StoreError::NotFound) => error_page(
            Some(user.header()),
            StatusCode::NOT_FOUND,
            "该督办单不存在，或不在您的管辖范围内。",
        ),
        Err(e) => {
            let api = ApiError::from(e);
            if api.status.is_server_error() {
                return internal(Some(user.header()));
            }
            error_page(Some(user.header()), api.status, api.message)
        }
    }
}

pub async fn reply(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let Some(repo) = state.store.supervision_for(&user.actor) else {
        return forbidden(&user);
    };
    let Ok(id) = id.parse::<i64>() else {
        return after(&user, &form, Err(StoreError::NotFound), "");
    };
    let r = repo.reply(id, &form.value("text"), Utc::now()).await;
    after(&user, &form, r, "supervision_reply")
}

pub async fn close(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let Some(repo) = state.store.supervision_for(&user.actor) else {
        return forbidden(&user);
    };
    let Ok(id) = id.parse::<i64>() else {
        return after(&user, &form, Err(StoreError::NotFound), "");
    };
    let Some(outcome) = CloseOutcome::parse(form.value("outcome").trim()) else {
        return error_page(
            Some(user.header()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "请选择办结方式（已办结或已撤销）。",
        );
    };
    let note = form.opt("note");
    let r = repo.close(id, outcome, note.as_deref(), Utc::now()).await;
    after(&user, &form, r, "supervision_close")
}
