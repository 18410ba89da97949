//! `/audit`: the audit log for the audit administrator — search by action (or a
//! family such as `pii.`), actor, object and time, newest first, and check the hash
//! chain. A reveal report is the search `action=pii.reveal`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use zhili_domain::{Permission, Role};
use zhili_storage::Acting;
use zhili_storage::audit::{AuditEntry, BreakKind, ChainReport};

use super::session::PageUser;
use super::view::{Header, china_time, error_page, internal, render, url_encode};
use crate::AppState;
use crate::api::audit::{AuditQuery, require_auditor};
use crate::i18n::Lang;

pub fn routes() -> crate::Routes {
    crate::Routes::new().get("/audit", Permission::ReadAudit, page)
}

struct Row {
    id: i64,
    at: String,
    actor: String,
    /// The role and area the actor acted in, as far as recorded.
    capacity: String,
    action: String,
    object: String,
    detail: String,
    ip: String,
    request_id: String,
    /// Searches for every record of the same address and of the same request.
    ip_link: String,
    request_link: String,
}

impl Row {
    fn new(e: AuditEntry, lang: Lang) -> Row {
        let role = e
            .actor_role
            .as_deref()
            .map(|r| Role::parse(r).map_or(r, |r| lang.t(r.label_zh())));
        let org = e
            .actor_org_name
            .or_else(|| e.actor_org_id.map(|id| format!("#{id}")));
        Row {
            id: e.id,
            at: china_time(e.at),
            actor: e.actor_name,
            capacity: [role.map(String::from), org]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            action: e.action,
            object: match e.object_id {
                Some(id) => format!("{} {id}", e.object_type),
                None => e.object_type,
            },
            detail: e.detail.map(|d| d.to_string()).unwrap_or_default(),
            ip_link: format!("/audit?ip={}", url_encode(e.ip.as_deref().unwrap_or(""))),
            request_link: format!(
                "/audit?request_id={}",
                url_encode(e.request_id.as_deref().unwrap_or(""))
            ),
            ip: e.ip.unwrap_or_default(),
            request_id: e.request_id.unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    lang: Lang,
    header: Option<Header>,
    q: Typed,
    rows: Vec<Row>,
    total: i64,
    page: u32,
    /// Links to the pages before and after, with the same search.
    prev: Option<String>,
    next: Option<String>,
    error: Option<String>,
    /// `Some` when the chain was checked on this request.
    chain: Option<ChainReport>,
    /// What the check found about the signed anchors, in words.
    anchors_note: String,
}

/// The anchors' part of a check, for the page.
fn anchors_note(lang: Lang, c: Option<&ChainReport>) -> String {
    let Some(c) = c else {
        return String::new();
    };
    match c.first_break.as_ref().map(|b| b.kind) {
        Some(BreakKind::AnchorForged) => lang
            .t("签名锚点的签名无效：锚点不是本系统写入的，或被改动过。")
            .to_string(),
        Some(BreakKind::AnchorMismatch) => lang
            .t("锚定的记录已不在链中或已被替换：链被截短或整体重写。")
            .to_string(),
        Some(_) => String::new(),
        None if c.anchors == 0 => lang.t("尚无签名锚点（由后台任务定时写入）。").to_string(),
        None => lang.f(
            "{} 个签名锚点均有效，最近一个写于 {}。",
            &[
                &c.anchors,
                &c.last_anchor_at.map(china_time).unwrap_or_default(),
            ],
        ),
    }
}

/// The search as typed, to show it again.
#[derive(Default)]
struct Typed {
    action: String,
    actor: String,
    object_type: String,
    object: String,
    ip: String,
    request_id: String,
    from: String,
    to: String,
}

#[derive(serde::Deserialize)]
struct PageQuery {
    #[serde(flatten)]
    q: AuditQuery,
    verify: Option<String>,
}

fn link(t: &Typed, page: u32) -> String {
    let enc = |v: &str| url_encode(v);
    format!(
        "/audit?action={}&actor={}&object_type={}&object={}&ip={}&request_id={}&from={}&to={}&page={page}",
        enc(&t.action),
        enc(&t.actor),
        enc(&t.object_type),
        enc(&t.object),
        enc(&t.ip),
        enc(&t.request_id),
        enc(&t.from),
        enc(&t.to)
    )
}

async fn page(
    State(state): State<AppState>,
    user: PageUser,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if require_auditor(&user.actor).is_err() {
        return error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            "审计日志只对审计管理员开放。",
        );
    }
    let (form, verify) = match q {
        Ok(Query(p)) => (p.q, p.verify.is_some()),
        Err(_) => (AuditQuery::default(), false),
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let typed = Typed {
        action: text(&form.action),
        actor: text(&form.actor),
        object_type: text(&form.object_type),
        object: text(&form.object),
        ip: text(&form.ip),
        request_id: text(&form.request_id),
        from: text(&form.from),
        to: text(&form.to),
    };
    let query = form;
    let chain = if verify {
        match state.store.verify_audit_chain(None).await {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(error = ?e, "audit chain check page");
                return internal(Some(user.header()));
            }
        }
    } else {
        None
    };
    let filter = match query.filter() {
        Ok(f) => f,
        Err(e) => {
            let view = AuditPage {
                lang: user.lang,
                header: Some(user.header()),
                q: typed,
                rows: Vec::new(),
                total: 0,
                page: 1,
                prev: None,
                next: None,
                error: Some(e.message.clone()),
                anchors_note: anchors_note(user.lang, chain.as_ref()),
                chain,
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, &view);
        }
    };
    let found = match state
        .store
        .search_audit(&filter, &Acting::from(&user.actor), Utc::now())
        .await
    {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = ?e, "audit page");
            return internal(Some(user.header()));
        }
    };
    let pages =
        u32::try_from((found.total + i64::from(found.per_page) - 1) / i64::from(found.per_page))
            .unwrap_or(u32::MAX);
    let view = AuditPage {
        lang: user.lang,
        header: Some(user.header()),
        prev: (found.page > 1).then(|| link(&typed, found.page - 1)),
        next: (found.page < pages).then(|| link(&typed, found.page + 1)),
        q: typed,
        rows: found
            .items
            .into_iter()
            .map(|e| Row::new(e, user.lang))
            .collect(),
        total: found.total,
        page: found.page,
        error: None,
        anchors_note: anchors_note(user.lang, chain.as_ref()),
        chain,
    };
    render(StatusCode::OK, &view)
}
