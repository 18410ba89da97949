//! The chat-group messages of a command room (`GET /chat`): what the groups of its
//! area said, each with 转为事件 (promote) and 忽略 (dismiss) forms
//! (`POST /chat/{id}/promote`, `POST /chat/{id}/dismiss`); promoted ones link to
//! their event.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::{OrgKind, Permission, Priority, Role};
use zhili_storage::chat::{ChatFilter, ChatMessageView, ChatRepo, ChatStatus, Promotion};
use zhili_storage::{CreateOutcome, StoreError};

use super::events::{coded_opts, leaf_category_groups};
use super::forms::{FormData, Msg};
use super::session::PageUser;
use super::view::{Header, Opt, OptGroup, china_time, error_page, internal, render};
use crate::AppState;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/chat", Permission::Chat, list)
        .post("/chat/{id}/promote", Permission::HandleChat, promote)
        .post("/chat/{id}/dismiss", Permission::HandleChat, dismiss)
}

/// How many messages one page shows; the newest first.
const PER_PAGE: u32 = 100;

struct Tab {
    href: &'static str,
    label: &'static str,
    current: bool,
}

struct Image {
    /// Only web addresses become links; an attachment reference is shown as text.
    href: Option<String>,
    label: String,
}

struct MsgRow {
    id: i64,
    group_name: String,
    /// Township / grid of the group; `None` when the group is not registered to one.
    area: Option<String>,
    /// The group has no grid: the promote form asks for one.
    needs_grid: bool,
    sender_name: String,
    sender_phone: Option<String>,
    sent_at: String,
    text: String,
    images: Vec<Image>,
    status_code: &'static str,
    status_label: &'static str,
    event: Option<(i64, String)>,
    handled: Option<String>,
}

impl MsgRow {
    fn new(lang: Lang, m: ChatMessageView) -> Self {
        let area = match (&m.township, &m.grid) {
            (Some(t), Some(g)) => Some(format!("{} / {}", t.name, g.name)),
            (Some(t), None) => Some(t.name.clone()),
            _ => None,
        };
        MsgRow {
            id: m.id,
            needs_grid: m.grid.is_none(),
            area,
            group_name: m.group_name,
            sender_name: m.sender.name,
            sender_phone: m.sender.phone,
            sent_at: china_time(m.sent_at),
            images: m
                .images
                .into_iter()
                .enumerate()
                .map(|(i, s)| Image {
                    href: (s.starts_with("https://") || s.starts_with("http://"))
                        .then(|| s.clone()),
                    label: if s.starts_with("http") {
                        lang.f("图片 {}", &[&(i + 1)])
                    } else {
                        s
                    },
                })
                .collect(),
            text: m.text,
            status_code: m.status.code,
            status_label: m.status.label,
            event: m.event.map(|e| (e.id, e.number)),
            handled: match (m.handled_by, m.handled_at) {
                (Some(who), Some(at)) => Some(format!("{who} · {}", china_time(at))),
                _ => None,
            },
        }
    }
}

#[derive(Template)]
#[template(path = "chat_list.html")]
struct ChatPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    tabs: Vec<Tab>,
    status_label: &'static str,
    rows: Vec<MsgRow>,
    total: i64,
    shown: usize,
    may_handle: bool,
    category_groups: Vec<OptGroup>,
    priority_opts: Vec<Opt>,
    grid_opts: Vec<Opt>,
    /// After a promote: the event it became.
    promoted_event: Option<i64>,
    dismissed: bool,
    error: Option<Msg>,
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    status: Option<String>,
    done: Option<String>,
    event: Option<String>,
}

fn forbidden(user: &PageUser) -> Response {
    error_page(
        Some(user.header()),
        StatusCode::FORBIDDEN,
        "您的账号无权查看圈群消息。",
    )
}

struct Notice {
    promoted_event: Option<i64>,
    dismissed: bool,
    error: Option<Msg>,
}

async fn list_page(
    state: &AppState,
    user: &PageUser,
    repo: &ChatRepo<'_>,
    status: ChatStatus,
    code: StatusCode,
    notice: Notice,
) -> Response {
    let header = user.header();
    let filter = ChatFilter {
        status: Some(status),
        page: 1,
        per_page: PER_PAGE,
    };
    let page = match repo.list(&filter).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = ?e, "chat list page");
            return internal(Some(header));
        }
    };
    let may_handle = repo.may_handle();
    let (category_groups, grid_opts) = if may_handle && status != ChatStatus::Promoted {
        let cats = match state.store.categories().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = ?e, "categories for the chat page");
                return internal(Some(header));
            }
        };
        let grids = if page.items.iter().any(|m| m.grid.is_none()) {
            match state.store.orgs_of_kind(&[OrgKind::Grid]).await {
                Ok(g) => g,
                Err(e) => {
                    tracing::error!(error = ?e, "grids for the chat page");
                    return internal(Some(header));
                }
            }
        } else {
            Vec::new()
        };
        (
            leaf_category_groups(user.lang, &cats, ""),
            grids
                .into_iter()
                // A township's room files events in its own grids only.
                .filter(|g| {
                    user.actor.role != Role::TownshipOperator || g.township_id == user.actor.org_id
                })
                .map(|g| Opt::new(g.code.clone(), format!("{}（{}）", g.name, g.code), ""))
                .collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let tab = |s: ChatStatus, href| Tab {
        href,
        label: s.label_zh(),
        current: s == status,
    };
    let lang = header.lang;
    let rows: Vec<MsgRow> = page
        .items
        .into_iter()
        .map(|m| MsgRow::new(lang, m))
        .collect();
    let view = ChatPage {
        lang: header.lang,
        header: Some(header),
        csrf: user.csrf.clone(),
        tabs: vec![
            tab(ChatStatus::New, "/chat?status=new"),
            tab(ChatStatus::Promoted, "/chat?status=promoted"),
            tab(ChatStatus::Dismissed, "/chat?status=dismissed"),
        ],
        status_label: status.label_zh(),
        shown: rows.len(),
        rows,
        total: page.total,
        may_handle,
        category_groups,
        priority_opts: coded_opts(
            lang,
            Priority::ALL,
            Priority::code,
            Priority::label_zh,
            Priority::Normal.code(),
        ),
        grid_opts,
        promoted_event: notice.promoted_event,
        dismissed: notice.dismissed,
        error: notice.error,
    };
    render(code, &view)
}

pub async fn list(
    State(state): State<AppState>,
    user: PageUser,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(repo) = state.store.chat_for(&user.actor) else {
        return forbidden(&user);
    };
    let p = params.ok().map(|Query(p)| p);
    let status = p
        .as_ref()
        .and_then(|p| p.status.as_deref())
        .and_then(ChatStatus::parse)
        .unwrap_or(ChatStatus::New);
    let done = p.as_ref().and_then(|p| p.done.as_deref());
    let notice = Notice {
        promoted_event: done
            .filter(|d| *d == "promote")
            .and_then(|_| p.as_ref()?.event.as_deref()?.parse().ok()),
        dismissed: done == Some("dismiss"),
        error: None,
    };
    list_page(&state, &user, &repo, status, StatusCode::OK, notice).await
}

/// A failed POST: the list again with what went wrong.
async fn failed(state: &AppState, user: &PageUser, repo: &ChatRepo<'_>, e: StoreError) -> Response {
    if matches!(e, StoreError::NotFound) {
        return error_page(
            Some(user.header()),
            StatusCode::NOT_FOUND,
            "该消息不存在，或不在您的管辖范围内。",
        );
    }
    let api = ApiError::from(e);
    if api.status.is_server_error() {
        return internal(Some(user.header()));
    }
    let notice = Notice {
        promoted_event: None,
        dismissed: false,
        error: Some(Msg::new(user.lang, &api.message)),
    };
    list_page(state, user, repo, ChatStatus::New, api.status, notice).await
}

/// The repository and message id for a handling POST, or the page to answer with.
fn handling<'a>(
    state: &'a AppState,
    user: &PageUser,
    form: &FormData,
    id: &str,
) -> Result<(ChatRepo<'a>, i64), Box<Response>> {
    if let Some(r) = user.csrf_rejection(form) {
        return Err(Box::new(r));
    }
    let repo = state
        .store
        .chat_for(&user.actor)
        .filter(|r| r.may_handle())
        .ok_or_else(|| {
            Box::new(error_page(
                Some(user.header()),
                StatusCode::FORBIDDEN,
                "只有指挥中心（室）可以处理圈群消息。",
            ))
        })?;
    let id = id.parse::<i64>().map_err(|_| {
        Box::new(error_page(
            Some(user.header()),
            StatusCode::NOT_FOUND,
            "该消息不存在，或不在您的管辖范围内。",
        ))
    })?;
    Ok((repo, id))
}

pub async fn promote(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let (repo, id) = match handling(&state, &user, &form, &id) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let p = Promotion {
        category: form.opt("category"),
        priority: form.opt("priority"),
        grid: form.opt("grid"),
    };
    match repo.promote(id, &p, Utc::now()).await {
        Ok(done) => {
            let event = match done.outcome {
                CreateOutcome::Created(d) | CreateOutcome::Existing(d) => d.id,
            };
            Redirect::to(&format!("/chat?done=promote&event={event}")).into_response()
        }
        Err(e) => failed(&state, &user, &repo, e).await,
    }
}

pub async fn dismiss(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let (repo, id) = match handling(&state, &user, &form, &id) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    match repo.dismiss(id, Utc::now()).await {
        Ok(_) => Redirect::to("/chat?done=dismiss").into_response(),
        Err(e) => failed(&state, &user, &repo, e).await,
    }
}
