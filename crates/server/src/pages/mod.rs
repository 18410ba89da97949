//! Server-rendered pages (Chinese), askama templates in `templates/`, one small CSS
//! file in `static/`. Pages work from a cookie session ([`session::PageUser`]); every
//! POST except the login form carries the session's CSRF token. Errors are shown as
//! HTML pages in Chinese, never as the API's JSON.

mod chat;
mod detail;
mod events;
mod forms;
mod login;
mod session;
mod view;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;

pub use session::PageUser;

const APP_CSS: &str = include_str!("../../static/app.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(login::root))
        .route("/login", get(login::page).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/events", get(events::list).post(events::create))
        .route("/events/new", get(events::new_form))
        .route("/events/{id}", get(detail::detail))
        .route("/events/{id}/actions", post(detail::act))
        .route("/static/app.css", get(css))
        .merge(chat::routes())
}

/// A page path that does not exist gets the HTML 404 page.
pub fn not_found_page() -> Response {
    view::error_page(None, StatusCode::NOT_FOUND, "页面不存在。")
}

async fn css() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
        .into_response()
}
