//! A unit handler's queue (`GET /queue`, 我的待办): the open events the unit holds,
//! nearest handling deadline first, with the working time left in 红/黄/绿, and the
//! handler's actions on each row (`POST /queue/{id}`): 签收, 退回 with a reason,
//! 申请延期; 办结 goes to the event page, where the photos are added.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::{ActionKind, Permission, Role};
use zhili_storage::StoreError;
use zhili_storage::queue::QueueItem;

use super::detail::build_action;
use super::forms::{FormData, Msg};
use super::session::PageUser;
use super::view::{Header, china_time, error_page, internal, not_found, render};
use crate::AppState;
use crate::error::ApiError;

/// j/k (and arrow keys) move between the queue's rows; the page works without it.
const QUEUE_JS: &str = include_str!("../../static/queue.js");
/// The styles of the work pages (queue, bulk results, patrols, admin).
const WORK_CSS: &str = include_str!("../../static/work.css");

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/queue", Permission::UnitQueue, page)
        .post("/queue/{id}", Permission::UnitQueue, act)
        .get("/static/queue.js", Permission::Public, js)
        .get("/static/work.css", Permission::Public, css)
        .get("/static/bulk.js", Permission::Public, bulk_js)
}

async fn js() -> Response {
    super::asset("text/javascript; charset=utf-8", QUEUE_JS)
}

/// The event list's select-all box and bulk-form fields (see `bulk`).
const BULK_JS: &str = include_str!("../../static/bulk.js");

async fn bulk_js() -> Response {
    super::asset("text/javascript; charset=utf-8", BULK_JS)
}

async fn css() -> Response {
    super::asset("text/css; charset=utf-8", WORK_CSS)
}

/// "剩余 2 个工作日 3 小时" or "已超期 45 分钟", in working time (7.5 hours a day
/// by default).
pub(super) fn working_left(lang: Lang, minutes: i64, per_day_minutes: i64) -> String {
    let (late, m) = if minutes < 0 {
        (true, -minutes)
    } else {
        (false, minutes)
    };
    let per_day = per_day_minutes.max(1);
    let (days, rest) = (m / per_day, m % per_day);
    let span = if days > 0 {
        lang.f("{} 个工作日 {} 小时", &[&days, &(rest / 60)])
    } else if m >= 60 {
        lang.f("{} 小时 {} 分钟", &[&(m / 60), &(m % 60)])
    } else {
        lang.f("{} 分钟", &[&m])
    };
    if late {
        lang.f("已超期 {}", &[&span])
    } else {
        lang.f("剩余 {}", &[&span])
    }
}

struct Row {
    id: i64,
    number: String,
    status_code: &'static str,
    status_label: &'static str,
    /// `None`: not classified yet.
    category: Option<String>,
    area: String,
    unit_role: &'static str,
    excerpt: String,
    due: String,
    left: String,
    /// green, yellow, red or none.
    warning: &'static str,
    warning_label: &'static str,
    pending_extension: bool,
    can_sign: bool,
    can_return: bool,
    can_resolve: bool,
    can_extend: bool,
}

impl Row {
    fn new(lang: Lang, q: QueueItem, per_day: i64) -> Self {
        let can = |k: ActionKind| q.allowed_actions.iter().any(|a| a.code == k.code());
        let s = &q.event;
        let area = match &s.grid {
            Some(g) => format!("{} / {}", s.township.name, g.name),
            None => s.township.name.clone(),
        };
        let (warning, warning_label) = match &q.warning {
            Some(w) => (
                w.code,
                match w.code {
                    "red" => "红色（超期）",
                    "yellow" => "黄色（临期）",
                    _ => "绿色（正常）",
                },
            ),
            None => ("none", "无办理时限"),
        };
        Row {
            id: s.id,
            number: s.number.clone(),
            status_code: s.status.code,
            status_label: s.status.label,
            category: s.category.as_ref().map(|c| c.name.clone()),
            area,
            unit_role: q.unit_role.label,
            excerpt: s.excerpt.clone(),
            due: q.handle_due_at.map(china_time).unwrap_or_default(),
            left: q
                .working_minutes_left
                .map(|m| working_left(lang, m, per_day))
                .unwrap_or_default(),
            warning,
            warning_label,
            pending_extension: q.pending_extension,
            can_sign: can(ActionKind::Sign),
            can_return: can(ActionKind::Return),
            can_resolve: can(ActionKind::Resolve),
            can_extend: can(ActionKind::RequestExtension),
        }
    }
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    rows: Vec<Row>,
    /// All rows of the queue, however many `only` shows.
    total: usize,
    red: usize,
    yellow: usize,
    /// The queue shows only the rows of this warning (`red`, `yellow`): the red and
    /// yellow counts link here.
    only: Option<&'static str>,
    done: Option<String>,
    error: Option<Msg>,
    /// The row whose form failed, to reopen it.
    error_id: Option<i64>,
}

#[derive(Deserialize)]
pub struct QueueParams {
    done: Option<String>,
    n: Option<String>,
    warning: Option<String>,
}

async fn queue_page(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    done: Option<String>,
    only: Option<&'static str>,
    error: Option<(i64, String)>,
) -> Response {
    let header = user.header();
    if user.actor.role != Role::UnitHandler {
        return error_page(
            Some(header),
            StatusCode::FORBIDDEN,
            "待办队列只对部门或派驻机构承办人开放。",
        );
    }
    let items = match state
        .store
        .events_for(&user.actor)
        .unit_queue(Utc::now())
        .await
    {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = ?e, "unit queue page");
            return internal(Some(header));
        }
    };
    let per_day = state
        .store
        .calendar()
        .working_hours()
        .per_day()
        .num_minutes();
    let lang = user.lang;
    let mut rows: Vec<Row> = items
        .into_iter()
        .map(|q| Row::new(lang, q, per_day))
        .collect();
    let total = rows.len();
    let red = rows.iter().filter(|r| r.warning == "red").count();
    let yellow = rows.iter().filter(|r| r.warning == "yellow").count();
    if let Some(w) = only {
        rows.retain(|r| r.warning == w);
    }
    let view = QueuePage {
        lang: header.lang,
        header: Some(header),
        csrf: user.csrf.clone(),
        total,
        red,
        yellow,
        only,
        rows,
        done,
        error_id: error.as_ref().map(|(id, _)| *id),
        error: error.map(|(_, m)| Msg::new(lang, &m)),
    };
    render(status, &view)
}

async fn page(
    State(state): State<AppState>,
    user: PageUser,
    params: Result<Query<QueueParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = params.ok().map(|Query(p)| p);
    let only = match params.as_ref().and_then(|p| p.warning.as_deref()) {
        Some("red") => Some("red"),
        Some("yellow") => Some("yellow"),
        _ => None,
    };
    // Only a known action's label is shown, with the event number as stored.
    let done = params.and_then(|p| {
        let label = ActionKind::parse(p.done.as_deref()?)?.label_zh();
        let n =
            p.n.filter(|n| n.len() <= 40 && n.chars().all(|c| c.is_ascii_alphanumeric()))?;
        Some(
            user.lang
                .f("已对 {} 完成「{}」", &[&n, &user.lang.t(label)]),
        )
    });
    queue_page(&state, &user, StatusCode::OK, done, only, None).await
}

/// The actions a handler takes from the queue; 办结 needs the event page (photos).
const QUEUE_ACTIONS: [ActionKind; 3] = [
    ActionKind::Sign,
    ActionKind::Return,
    ActionKind::RequestExtension,
];

async fn act(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found(Some(user.header()));
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let action = match build_action(&form) {
        Ok(a) if QUEUE_ACTIONS.contains(&a.kind()) => a,
        Ok(_) => {
            let m = "该操作请在事件页面办理".to_string();
            return queue_page(&state, &user, unprocessable, None, None, Some((id, m))).await;
        }
        Err(b) => {
            return queue_page(
                &state,
                &user,
                unprocessable,
                None,
                None,
                Some((id, b.message)),
            )
            .await;
        }
    };
    match state
        .store
        .events_for(&user.actor)
        .act(id, &action, Utc::now())
        .await
    {
        Ok(d) => Redirect::to(&format!(
            "/queue?done={}&n={}",
            action.kind().code(),
            d.number
        ))
        .into_response(),
        Err(StoreError::NotFound) => not_found(Some(user.header())),
        Err(e) => {
            let api = ApiError::from(e);
            if api.status.is_server_error() {
                return internal(Some(user.header()));
            }
            queue_page(
                &state,
                &user,
                api.status,
                None,
                None,
                Some((id, api.message)),
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::working_left;
    use crate::i18n::Lang;

    #[test]
    fn time_left_reads_in_working_days_and_hours() {
        let zh = Lang::Zh;
        assert_eq!(
            working_left(zh, 450 * 2 + 190, 450),
            "剩余 2 个工作日 3 小时"
        );
        assert_eq!(working_left(zh, 125, 450), "剩余 2 小时 5 分钟");
        assert_eq!(working_left(zh, -45, 450), "已超期 45 分钟");
        assert_eq!(working_left(zh, 0, 450), "剩余 0 分钟");
        let en = Lang::En;
        assert_eq!(
            working_left(en, 450 * 2 + 190, 450),
            "2 working days 3 h left"
        );
        assert_eq!(working_left(en, -45, 450), "overdue by 45 min");
    }
}
