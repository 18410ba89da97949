//! Server-rendered pages (Chinese), askama templates in `templates/`, one small CSS
//! file in `static/`. Pages work from a cookie session ([`session::PageUser`]); every
//! POST except the login form carries the session's CSRF token. Errors are shown as
//! HTML pages in Chinese, never as the API's JSON.

mod account;
mod admin;
mod alerts;
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
mod my_data;
mod notices;
mod outbox;
mod patrol;
mod public;
mod queue;
mod recurring;
mod rights;
mod routing;
mod session;
mod supervision;
mod triage;
mod upload;
mod view;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use zhili_domain::Permission;

pub use events::report_form_raw;
pub use session::PageUser;
pub(crate) use view::china_time;

const APP_CSS: &str = include_str!("../../static/app.css");
/// The public pages' own rules (statistics tables, the rating form).
const PUBLIC_CSS: &str = include_str!("../../static/public.css");
/// Fills the report form's position from the device; the form works without it.
const LOCATE_JS: &str = include_str!("../../static/locate.js");

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/", Permission::Public, login::root)
        .get("/login", Permission::Public, login::page)
        .post("/login", Permission::Public, login::submit)
        .post("/logout", Permission::SignedIn, login::logout)
        .get("/events", Permission::ReadEvents, events::list)
        .get("/events/new", Permission::ReportEvents, events::new_form)
        .post(
            "/events/export",
            Permission::ExportPersonalData,
            events::export_contacts,
        )
        .get("/events/{id}", Permission::ReadEvents, detail::detail)
        .post(
            "/events/{id}/actions",
            Permission::HandleEvents,
            detail::act,
        )
        .post(
            "/events/{id}/reveal",
            Permission::HandleEvents,
            detail::reveal,
        )
        .post(
            "/events/{id}/sensitivity",
            Permission::HandleEvents,
            detail::label,
        )
        .get("/attachments/{id}", Permission::ReadEvents, upload::image)
        .get("/lang/{code}", Permission::Public, crate::i18n::switch)
        .get("/static/app.css", Permission::Public, css)
        .get("/static/public.css", Permission::Public, public_css)
        .get("/static/locate.js", Permission::Public, locate_js)
        .merge(chat::routes())
        .merge(notices::routes())
        .merge(alerts::routes())
        .merge(outbox::routes())
        .merge(audit::routes())
        .merge(calendar::routes())
        .merge(public::routes())
        .merge(my_data::routes())
        .merge(rights::routes())
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
pub fn upload_routes() -> crate::Routes {
    crate::Routes::new()
        .post("/events", Permission::ReportEvents, events::create)
        .post(
            "/events/{id}/attachments",
            Permission::HandleEvents,
            upload::upload,
        )
        .post("/patrol", Permission::PatrolCheckIn, patrol::submit)
        .map_router(|r| {
            r.layer(axum::extract::DefaultBodyLimit::max(
                crate::api::attachments::UPLOAD_BODY_LIMIT,
            ))
        })
}

/// A page path that does not exist gets the HTML 404 page.
pub fn not_found_page() -> Response {
    view::error_page(None, StatusCode::NOT_FOUND, "页面不存在。")
}

/// The route gate's refusal (routes.rs): the role may not use this page at all.
pub(crate) fn forbidden_page(user: &PageUser) -> Response {
    view::error_page(
        Some(user.header()),
        StatusCode::FORBIDDEN,
        "您的账号无权使用此页面。",
    )
}

/// A 403 page before any session is looked at (the management-network check).
pub(crate) fn refused_page(message: &str) -> Response {
    view::error_page(None, StatusCode::FORBIDDEN, message)
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
