//! Server-rendered pages (Chinese), askama templates in `templates/`, one small CSS
//! file in `static/`. Pages work from a cookie session ([`session::PageUser`]); every
//! POST except the login form carries the session's CSRF token. Errors are shown as
//! HTML pages in Chinese, never as the API's JSON.

mod account;
mod admin;
mod audit;
mod bulk;
mod calendar;
mod chat;
mod command;
mod detail;
mod duplicates;
mod events;
mod forms;
mod kpi;
mod login;
mod notices;
mod outbox;
mod patrol;
mod public;
mod queue;
mod recurring;
mod routing;
mod session;
mod supervision;
mod triage;
mod upload;
mod view;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;

pub use events::report_form_raw;
pub use session::PageUser;

const APP_CSS: &str = include_str!("../../static/app.css");
/// The public pages' own rules (statistics tables, the rating form).
const PUBLIC_CSS: &str = include_str!("../../static/public.css");
/// Fills the report form's position from the device; the form works without it.
const LOCATE_JS: &str = include_str!("../../static/locate.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(login::root))
        .route("/login", get(login::page).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/events", get(events::list))
        .route("/events/new", get(events::new_form))
        .route("/events/{id}", get(detail::detail))
        .route("/events/{id}/actions", post(detail::act))
        .route("/events/{id}/reveal", post(detail::reveal))
        .route("/attachments/{id}", get(upload::image))
        .route("/lang/{code}", get(crate::i18n::switch))
        .route("/static/app.css", get(css))
        .route("/static/public.css", get(public_css))
        .route("/static/locate.js", get(locate_js))
        .merge(chat::routes())
        .merge(notices::routes())
        .merge(outbox::routes())
        .merge(audit::routes())
        .merge(calendar::routes())
        .merge(public::routes())
        .merge(recurring::routes())
        .merge(triage::routes())
        .merge(duplicates::routes())
        .merge(routing::routes())
        .merge(supervision::routes())
        .merge(kpi::routes())
        .merge(command::routes())
        .merge(queue::routes())
        .merge(bulk::routes())
        .merge(patrol::routes())
        .merge(admin::routes())
        .merge(account::routes())
}

/// The forms that may carry a photo, with the upload body limit; merged into the
/// app outside the app-wide limit (see `crate::app`).
pub fn upload_routes() -> Router<AppState> {
    Router::new()
        .route("/events", post(events::create))
        .route("/events/{id}/attachments", post(upload::upload))
        .route("/patrol", post(patrol::submit))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::api::attachments::UPLOAD_BODY_LIMIT,
        ))
}

/// A page path that does not exist gets the HTML 404 page.
pub fn not_found_page() -> Response {
    view::error_page(None, StatusCode::NOT_FOUND, "页面不存在。")
}

pub fn too_many_requests_page() -> Response {
    view::error_page(
        None,
        StatusCode::TOO_MANY_REQUESTS,
        "请求过于频繁，请稍后再试。",
    )
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

async fn locate_js() -> Response {
    asset("text/javascript; charset=utf-8", LOCATE_JS)
}

async fn public_css() -> Response {
    asset("text/css; charset=utf-8", PUBLIC_CSS)
}

/// A stylesheet or script built into the binary, cacheable for an hour.
pub(super) fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
