//! The outbound messages still to deliver (`GET /outbox`, `?failing=1` for those that
//! failed): what the command centre's 对外发送队列 counts stand for. Each row names
//! its receiver, links its event and tells how often delivery failed, why, and when
//! the next attempt is due — so a lasting outage of 110 or a province platform is
//! seen and can be chased by phone.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use zhili_domain::Permission;
use zhili_storage::PendingOutbox;
use zhili_storage::command::channel_scope;

use super::session::PageUser;
use super::view::{Header, china_time, error_page, internal, render};
use crate::AppState;
use crate::i18n::Lang;

pub fn routes() -> crate::Routes {
    crate::Routes::new().get("/outbox", Permission::Operations, list)
}

/// The page shows the oldest this many; the counts above give the whole number.
const SHOWN: i64 = 200;

struct Row {
    topic_label: &'static str,
    event: Option<(i64, String)>,
    attempts: i64,
    last_error: Option<String>,
    next_attempt_at: String,
    created_at: String,
}

impl From<PendingOutbox> for Row {
    fn from(m: PendingOutbox) -> Self {
        Row {
            topic_label: m.topic_label,
            event: m.event.map(|e| (e.id, e.number)),
            attempts: m.attempts,
            last_error: m.last_error,
            next_attempt_at: china_time(m.next_attempt_at),
            created_at: china_time(m.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    lang: Lang,
    header: Option<Header>,
    failing_only: bool,
    pending: i64,
    failing: i64,
    city_wide: bool,
    rows: Vec<Row>,
}

#[derive(Deserialize)]
struct ListQuery {
    failing: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    user: PageUser,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(scope) = channel_scope(&user.actor) else {
        return error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            "您的账号无权查看对外发送队列。",
        );
    };
    let failing_only = matches!(q, Ok(Query(ListQuery { failing: Some(ref f) })) if f == "1");
    let (health, rows) = match tokio::try_join!(
        state.store.outbox_health(scope),
        state.store.pending_outbox(scope, failing_only, SHOWN),
    ) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = ?e, "outbox page");
            return internal(Some(user.header()));
        }
    };
    render(
        StatusCode::OK,
        &OutboxPage {
            lang: user.lang,
            header: Some(user.header()),
            failing_only,
            pending: health.pending,
            failing: health.failing,
            city_wide: scope.is_none(),
            rows: rows.into_iter().map(Row::from).collect(),
        },
    )
}
