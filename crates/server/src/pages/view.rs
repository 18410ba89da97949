//! What every page shares: the header, select options, China-time formatting,
//! rendering a template into a response, and the error page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, FixedOffset, Utc};
use zhili_domain::Actor;

use crate::i18n::Lang;

/// The signed-in user as the page header shows them.
pub struct Header {
    pub lang: Lang,
    pub display_name: String,
    pub role_label: &'static str,
    pub csrf: String,
    pub can_report: bool,
    /// Has a chat-group message list (圈群消息) in the navigation.
    pub sees_chat: bool,
    /// Receives deadline warnings and escalations (提醒).
    pub sees_notices: bool,
    /// Administers the system (the calendar page in the navigation).
    pub is_admin: bool,
    /// The security administrator: accounts (separation of duties).
    pub manages_accounts: bool,
    /// The audit administrator: the audit log.
    pub reads_audit: bool,
    /// Has events to see at all (not the security or audit administrator).
    pub sees_events: bool,
    /// Reads supervision orders (督办) in the navigation.
    pub sees_supervision: bool,
    /// Reads the KPIs (考核指标).
    pub sees_kpi: bool,
    /// Reads recurring-problem alerts and governance topics (反复问题).
    pub sees_recurring: bool,
    /// Decides categories in the triage queue (分类待办).
    pub sees_triage: bool,
    /// Watches the command centre (指挥中心).
    pub sees_command: bool,
    /// A unit handler's queue (我的待办).
    pub sees_queue: bool,
    /// Patrol check-ins (巡查打卡): grid workers check in, command rooms read.
    pub sees_patrol: bool,
}

impl Header {
    pub fn new(actor: &Actor, csrf: &str, lang: Lang) -> Self {
        Header {
            lang,
            display_name: actor.display_name.clone(),
            role_label: actor.role.label_zh(),
            csrf: csrf.to_string(),
            can_report: actor.can_report_events(),
            sees_chat: zhili_storage::chat::can_view_chat(actor),
            sees_notices: zhili_storage::warnings::receives_notices(actor),
            is_admin: actor.role == zhili_domain::Role::Admin,
            manages_accounts: actor.role == zhili_domain::Role::SecurityAdmin,
            reads_audit: actor.role == zhili_domain::Role::Auditor,
            sees_events: !actor.scope().sees_nothing()
                && !matches!(
                    actor.role,
                    zhili_domain::Role::SecurityAdmin | zhili_domain::Role::Auditor
                ),
            sees_supervision: zhili_domain::supervision::may_read(actor),
            sees_kpi: zhili_storage::kpi::can_view_kpis(actor),
            sees_recurring: zhili_storage::recurring::RecurringRepo::may_read(actor),
            sees_command: zhili_storage::command::may_view(actor),
            sees_triage: matches!(
                actor.role,
                zhili_domain::Role::TownshipOperator | zhili_domain::Role::CityOperator
            ),
            sees_queue: actor.role == zhili_domain::Role::UnitHandler,
            sees_patrol: matches!(
                actor.role,
                zhili_domain::Role::GridWorker
                    | zhili_domain::Role::TownshipOperator
                    | zhili_domain::Role::CityOperator
            ),
        }
    }
}

/// One `<option>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Opt {
    pub fn new(value: impl Into<String>, label: impl Into<String>, current: &str) -> Self {
        let value = value.into();
        Opt {
            selected: value == current,
            label: label.into(),
            value,
        }
    }
}

/// One `<optgroup>` with its options.
pub struct OptGroup {
    pub label: String,
    pub options: Vec<Opt>,
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC offset"))
}

/// `2026-11-28 14:05`, China time (UTC+8), as people in the command room read it.
pub fn china_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&china())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Renders `t` with `status`; a template failure becomes a plain 500.
pub fn render<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><meta charset=\"utf-8\"><title>错误</title><p>服务器内部错误，请稍后重试。</p>"),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub lang: Lang,
    pub header: Option<Header>,
    pub title: String,
    pub message: String,
}

/// An error page: 404, 403, 500 and the like, with a way back.
pub fn error_page(
    header: Option<Header>,
    status: StatusCode,
    message: impl Into<String>,
) -> Response {
    let title = match status {
        StatusCode::NOT_FOUND => "未找到",
        StatusCode::FORBIDDEN => "无权操作",
        StatusCode::BAD_REQUEST => "请求有误",
        StatusCode::UNPROCESSABLE_ENTITY => "输入有误",
        StatusCode::CONFLICT => "操作冲突",
        StatusCode::PAYLOAD_TOO_LARGE => "内容过大",
        StatusCode::TOO_MANY_REQUESTS => "请求过于频繁",
        _ if status.is_server_error() => "服务器错误",
        _ => "出错了",
    };
    // The message is translated when it is one of the catalog's texts; a message
    // with values in it (most storage refusals) stays Chinese.
    let lang = header.as_ref().map(|h| h.lang).unwrap_or_default();
    let message = message.into();
    render(
        status,
        &ErrorPage {
            lang,
            header,
            title: lang.t(title).to_string(),
            message: lang.t(&message).to_string(),
        },
    )
}

pub fn not_found(header: Option<Header>) -> Response {
    error_page(
        header,
        StatusCode::NOT_FOUND,
        "该事件不存在，或不在您的管辖范围内。",
    )
}

pub fn internal(header: Option<Header>) -> Response {
    error_page(
        header,
        StatusCode::INTERNAL_SERVER_ERROR,
        "服务器内部错误，请稍后重试。",
    )
}

/// Percent-encodes a query-string value (everything but the unreserved characters).
pub fn url_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_china_time() {
        let t = DateTime::parse_from_rfc3339("2026-11-28T06:05:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(china_time(t), "2026-11-28 14:05");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(url_encode("噪音 a&b=c"), "%E5%99%AA%E9%9F%B3%20a%26b%3Dc");
    }
}
