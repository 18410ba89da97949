//! The public pages, without login (双公开, O2, and the rating link of O3):
//! `/public` (progress by township and category), `/public/events` (recent events,
//! masked), `/public/lookup` (a reporter's own event by number and check code) and
//! `/f/{token}` (the one-time rating link, phone-sized). Same data as the public
//! API (`api::public`); nothing here names or reaches a reporter.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use zhili_domain::{OrgKind, Permission, Satisfaction, Status};
use zhili_storage::StoreError;
use zhili_storage::feedback::{AnswerOutcome, FeedbackAnswer, LinkState};
use zhili_storage::public::{PublicEvent, PublicFilter, StatsRow};

use super::forms::FormData;
use super::view::{Opt, china_time, render, url_encode};
use crate::AppState;
use crate::api::public::{LookupQuery, PublicQuery};
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/public", Permission::Public, stats_page)
        .get("/public/events", Permission::Public, events_page)
        .get("/public/lookup", Permission::Public, lookup_page)
        .get("/public/notice", Permission::Public, notice_page)
        .get("/f/{token}", Permission::Public, feedback_page)
        .post("/f/{token}", Permission::Public, feedback_submit)
}

/// A text shown in the reader's language when the catalog has it; otherwise (a
/// storage or domain message with values in it, a name) as it is, marked Chinese.
pub(super) struct Shown {
    pub text: String,
    /// The `lang` attribute of the element holding the text.
    pub lang: &'static str,
}

impl Shown {
    pub(super) fn of(lang: Lang, zh: &str) -> Shown {
        let text = lang.t(zh);
        Shown {
            lang: if lang.is_en() && text == zh {
                Lang::Zh.html_lang()
            } else {
                lang.html_lang()
            },
            text: text.to_string(),
        }
    }

    /// A text this page made in the reader's language (a `lang.f` pattern filled in).
    pub(super) fn made(lang: Lang, text: String) -> Shown {
        Shown {
            text,
            lang: lang.html_lang(),
        }
    }

    /// `pattern` filled with `values` and then `message` (storage's or the domain's
    /// words): in the reader's language when the catalog has the message, else all
    /// of it in Chinese, so one element never mixes the two.
    pub(super) fn about(
        lang: Lang,
        pattern: &str,
        values: &[&dyn std::fmt::Display],
        message: &str,
    ) -> Shown {
        let shown = Shown::of(lang, message);
        let in_zh = shown.lang == Lang::Zh.html_lang();
        let text_lang = if in_zh { Lang::Zh } else { lang };
        let mut all: Vec<&dyn std::fmt::Display> = values.to_vec();
        all.push(&shown.text);
        Shown {
            text: text_lang.f(pattern, &all),
            lang: text_lang.html_lang(),
        }
    }
}

#[derive(Template)]
#[template(path = "public_message.html")]
struct MessagePage {
    lang: Lang,
    title: String,
    message: String,
}

/// `title` is a catalog text; `text` is already in the reader's language.
fn message(lang: Lang, status: StatusCode, title: &str, text: String) -> Response {
    no_store(render(
        status,
        &MessagePage {
            lang,
            title: lang.t(title).to_string(),
            message: text,
        },
    ))
}

#[derive(Template)]
#[template(path = "public_notice.html")]
struct NoticePage {
    lang: Lang,
    version: String,
    published_at: String,
    /// The paragraphs in the reader's language; the first is the title.
    title: String,
    paragraphs: Vec<String>,
}

/// `/public/notice[?version=]`: the processing notice (PI-02), linked from every
/// form that asks for a name or a phone number and from every public page.
async fn notice_page(
    State(state): State<AppState>,
    lang: Lang,
    q: Result<Query<crate::api::public::NoticeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (q, _) = query(lang, q);
    match crate::api::public::find_notice(&state, q.version.as_deref()).await {
        Ok(n) => {
            let text = if lang.is_en() { &n.text_en } else { &n.text_zh };
            let mut lines = text.lines().map(str::to_string);
            let title = lines.next().unwrap_or_default();
            render(
                StatusCode::OK,
                &NoticePage {
                    lang,
                    version: n.version,
                    published_at: china_time(n.published_at),
                    title,
                    paragraphs: lines.collect(),
                },
            )
        }
        Err(_) => message(
            lang,
            StatusCode::NOT_FOUND,
            "个人信息处理告知",
            lang.t("没有这个版本的告知。").into(),
        ),
    }
}

pub(super) fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

fn internal(lang: Lang, e: StoreError) -> Response {
    tracing::error!(error = ?e, "public page: storage failure");
    message(
        lang,
        StatusCode::INTERNAL_SERVER_ERROR,
        "服务器错误",
        lang.t("服务器内部错误，请稍后重试。").to_string(),
    )
}

fn query<T: Default>(
    lang: Lang,
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> (T, Option<Shown>) {
    match q {
        Ok(Query(v)) => (v, None),
        Err(_) => (
            T::default(),
            Some(Shown::made(lang, lang.t("查询参数格式不正确。").into())),
        ),
    }
}

/// The township and category selects of the filter forms.
async fn choices(
    state: &AppState,
    township: &str,
    category: &str,
) -> Result<(Vec<Opt>, Vec<Opt>), StoreError> {
    let townships = state
        .store
        .orgs_of_kind(&[OrgKind::Township])
        .await?
        .into_iter()
        .map(|o| Opt::new(o.code, o.name, township))
        .collect();
    let categories = state
        .store
        .categories()
        .await?
        .into_iter()
        .filter(|c| c.parent_id.is_none())
        .map(|c| Opt::new(c.code, c.name, category))
        .collect();
    Ok((townships, categories))
}

/// A filter that does not parse shows its message and an unfiltered page.
fn filter_or_message(lang: Lang, q: &PublicQuery, error: &mut Option<Shown>) -> PublicFilter {
    match q.to_filter() {
        Ok(f) => f,
        Err(ApiError { message, .. }) => {
            error.get_or_insert_with(|| Shown::of(lang, &message));
            PublicFilter::default()
        }
    }
}

struct StatsLine {
    name: String,
    received: i64,
    accepted: i64,
    in_handling: i64,
    resolved: i64,
    on_time: String,
}

impl From<StatsRow> for StatsLine {
    fn from(r: StatsRow) -> Self {
        StatsLine {
            on_time: r
                .on_time_share
                .map_or_else(|| "—".to_string(), |s| format!("{:.0}%", s * 100.0)),
            name: r.name,
            received: r.received,
            accepted: r.accepted,
            in_handling: r.in_handling,
            resolved: r.resolved,
        }
    }
}

struct StatsTable {
    title: &'static str,
    key: &'static str,
    rows: Vec<StatsLine>,
}

#[derive(Template)]
#[template(path = "public_stats.html")]
struct StatsPage {
    lang: Lang,
    error: Option<Shown>,
    townships: Vec<Opt>,
    categories: Vec<Opt>,
    from: String,
    to: String,
    tables: Vec<StatsTable>,
}

async fn stats_page(
    State(state): State<AppState>,
    lang: Lang,
    q: Result<Query<PublicQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (q, mut error) = query(lang, q);
    let f = filter_or_message(lang, &q, &mut error);
    let stats = match state.store.public_stats(&f).await {
        Ok(s) => s,
        Err(e) => return internal(lang, e),
    };
    let (townships, categories) = match choices(
        &state,
        f.township.as_deref().unwrap_or(""),
        f.category.as_deref().unwrap_or(""),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return internal(lang, e),
    };
    let mut by_township: Vec<StatsLine> = stats.by_township.into_iter().map(Into::into).collect();
    by_township.push(stats.total.into());
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        status,
        &StatsPage {
            lang,
            error,
            townships,
            categories,
            from: q.from.unwrap_or_default(),
            to: q.to.unwrap_or_default(),
            tables: vec![
                StatsTable {
                    title: lang.t("按乡镇（街道）"),
                    key: lang.t("乡镇（街道）"),
                    rows: by_township,
                },
                StatsTable {
                    title: lang.t("按事件类别"),
                    key: lang.t("类别"),
                    rows: stats.by_category.into_iter().map(Into::into).collect(),
                },
            ],
        },
    )
}

struct EventLine {
    number: String,
    status: &'static str,
    township: String,
    village: Option<String>,
    category: Option<String>,
    text: String,
    reported_at: String,
    closed_at: Option<String>,
}

impl From<PublicEvent> for EventLine {
    fn from(e: PublicEvent) -> Self {
        EventLine {
            number: e.number,
            status: e.status.label,
            township: e.township,
            village: e.village,
            category: e.category,
            text: e.text,
            reported_at: china_time(e.reported_at),
            closed_at: e.closed_at.map(china_time),
        }
    }
}

#[derive(Template)]
#[template(path = "public_events.html")]
struct EventsPage {
    lang: Lang,
    error: Option<Shown>,
    townships: Vec<Opt>,
    categories: Vec<Opt>,
    statuses: Vec<Opt>,
    total: i64,
    items: Vec<EventLine>,
    prev: Option<String>,
    next: Option<String>,
}

fn page_link(f: &PublicFilter, page: u32) -> String {
    let mut url = format!("/public/events?page={page}");
    for (k, v) in [
        ("township", f.township.as_deref()),
        ("category", f.category.as_deref()),
        ("status", f.status.map(Status::code)),
    ] {
        if let Some(v) = v {
            url.push_str(&format!("&{k}={}", url_encode(v)));
        }
    }
    url
}

async fn events_page(
    State(state): State<AppState>,
    lang: Lang,
    q: Result<Query<PublicQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (q, mut error) = query(lang, q);
    let f = filter_or_message(lang, &q, &mut error);
    let page = match state.store.public_events(&f).await {
        Ok(p) => p,
        Err(e) => return internal(lang, e),
    };
    let (townships, categories) = match choices(
        &state,
        f.township.as_deref().unwrap_or(""),
        f.category.as_deref().unwrap_or(""),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return internal(lang, e),
    };
    let current = f.status.map(Status::code).unwrap_or("");
    let statuses = Status::ALL
        .iter()
        .filter(|s| !matches!(s, Status::Rejected | Status::Transferred))
        .map(|s| Opt::new(s.code(), lang.t(s.label_zh()), current))
        .collect();
    let shown = i64::from(page.page) * i64::from(page.per_page);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        status,
        &EventsPage {
            lang,
            error,
            townships,
            categories,
            statuses,
            total: page.total,
            prev: (page.page > 1).then(|| page_link(&f, page.page - 1)),
            next: (shown < page.total).then(|| page_link(&f, page.page + 1)),
            items: page.items.into_iter().map(Into::into).collect(),
        },
    )
}

struct Step {
    at: String,
    action: &'static str,
    status: &'static str,
    by: Shown,
}

struct Found {
    number: String,
    status: &'static str,
    satisfaction: Option<&'static str>,
    township: String,
    category: Option<String>,
    lead_unit: Option<String>,
    text: String,
    result: Option<String>,
    handle_due_at: Option<String>,
    rating_link: &'static str,
    rating_link_expires_at: Option<String>,
    steps: Vec<Step>,
}

#[derive(Template)]
#[template(path = "public_lookup.html")]
struct LookupPage {
    lang: Lang,
    number: String,
    error: Option<Shown>,
    found: Option<Found>,
}

async fn lookup_page(
    State(state): State<AppState>,
    lang: Lang,
    q: Result<Query<LookupQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (q, error) = query(lang, q);
    let number = q.number.unwrap_or_default().trim().to_string();
    let code = q.code.unwrap_or_default().trim().to_string();
    let page = |status, error: Option<Shown>, found| {
        no_store(render(
            status,
            &LookupPage {
                lang,
                number: number.clone(),
                error,
                found,
            },
        ))
    };
    if error.is_some() || number.is_empty() || code.is_empty() {
        let error = error.or_else(|| {
            (!number.is_empty() || !code.is_empty())
                .then(|| Shown::of(lang, "请输入事件编号和查询码。"))
        });
        return page(StatusCode::OK, error, None);
    }
    match state.store.public_lookup(&number, &code, Utc::now()).await {
        Ok(r) => page(
            StatusCode::OK,
            None,
            Some(Found {
                number: r.event.number,
                status: r.event.status.label,
                satisfaction: r.satisfaction.map(|s| s.label),
                township: r.event.township,
                category: r.event.category,
                lead_unit: r.lead_unit,
                text: r.event.text,
                result: r.result,
                handle_due_at: r.handle_due_at.map(china_time),
                rating_link: r.rating_link.label,
                rating_link_expires_at: r.rating_link_expires_at.map(china_time),
                steps: r
                    .timeline
                    .into_iter()
                    .map(|s| Step {
                        at: china_time(s.at),
                        action: s.action.label,
                        status: s.status.label,
                        by: Shown::of(lang, &s.by),
                    })
                    .collect(),
            }),
        ),
        Err(StoreError::NotFound) => page(
            StatusCode::NOT_FOUND,
            Some(Shown::of(lang, "未找到：事件编号或查询码不正确。")),
            None,
        ),
        Err(e) => internal(lang, e),
    }
}

#[derive(Template)]
#[template(path = "feedback.html")]
struct FeedbackPage {
    lang: Lang,
    number: String,
    township: String,
    category: Option<String>,
    result: Option<String>,
    expires_at: String,
    levels: Vec<Opt>,
    comment: String,
    reopen: bool,
    reopen_reason: String,
    error: Option<Shown>,
}

fn gone_page(lang: Lang, expired: bool) -> Response {
    if expired {
        message(
            lang,
            StatusCode::GONE,
            "评价链接已过期",
            lang.t("该评价链接已过期。如需评价或反映问题，请拨打12345热线。")
                .to_string(),
        )
    } else {
        message(
            lang,
            StatusCode::GONE,
            "评价链接已使用",
            lang.t("该评价链接已使用或已失效，每个链接只能评价一次。感谢您的反馈！")
                .to_string(),
        )
    }
}

fn unknown_page(lang: Lang) -> Response {
    message(
        lang,
        StatusCode::NOT_FOUND,
        "评价链接不存在",
        lang.t("评价链接不存在，请核对短信中的链接是否完整。")
            .to_string(),
    )
}

/// The link's page, empty or with what was typed and why it was refused.
async fn link_page(
    state: &AppState,
    lang: Lang,
    token: &str,
    form: Option<&FormData>,
    status: StatusCode,
    error: Option<Shown>,
) -> Response {
    let link = match state.store.feedback_link(token, Utc::now()).await {
        Ok(LinkState::Open(l)) => l,
        Ok(LinkState::Used) => return gone_page(lang, false),
        Ok(LinkState::Expired) => return gone_page(lang, true),
        Err(StoreError::NotFound) => return unknown_page(lang),
        Err(e) => return internal(lang, e),
    };
    let typed = |name: &str| form.map(|f| f.value(name)).unwrap_or_default();
    let chosen = typed("satisfaction");
    no_store(render(
        status,
        &FeedbackPage {
            lang,
            number: link.event_number,
            township: link.township,
            category: link.category,
            result: link.result,
            expires_at: china_time(link.expires_at),
            levels: Satisfaction::ALL
                .iter()
                .map(|s| Opt::new(s.code(), lang.t(s.label_zh()), &chosen))
                .collect(),
            comment: typed("comment"),
            reopen: form.is_some_and(|f| f.get("reopen").is_some()),
            reopen_reason: typed("reopen_reason"),
            error,
        },
    ))
}

async fn feedback_page(
    State(state): State<AppState>,
    lang: Lang,
    Path(token): Path<String>,
) -> Response {
    link_page(&state, lang, &token, None, StatusCode::OK, None).await
}

async fn feedback_submit(
    State(state): State<AppState>,
    lang: Lang,
    Path(token): Path<String>,
    form: FormData,
) -> Response {
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let Some(satisfaction) = form.get("satisfaction").and_then(Satisfaction::parse) else {
        let error = Some(Shown::of(lang, "请选择满意程度（satisfaction）。"));
        return link_page(&state, lang, &token, Some(&form), invalid, error).await;
    };
    let reopen_reason = if form.get("reopen").is_some() {
        match form.opt("reopen_reason") {
            Some(r) => Some(r),
            None => {
                let error = Some(Shown::of(
                    lang,
                    "要求重新办理时，请填写理由（reopen_reason）。",
                ));
                return link_page(&state, lang, &token, Some(&form), invalid, error).await;
            }
        }
    } else {
        None
    };
    let answer = FeedbackAnswer {
        satisfaction,
        comment: form.opt("comment"),
        reopen_reason,
    };
    match state
        .store
        .answer_feedback(&token, &answer, Utc::now())
        .await
    {
        Ok(AnswerOutcome::Answered(a)) => {
            let level = lang.t(a.satisfaction.label);
            let text = if a.reopened {
                lang.f(
                    "您对事件 {} 的评价（{}）已收到，事件已转回重新办理，办理结果将再次反馈给您。",
                    &[&a.event_number, &level],
                )
            } else {
                lang.f(
                    "您对事件 {} 的评价（{}）已收到。感谢您的反馈！",
                    &[&a.event_number, &level],
                )
            };
            message(lang, StatusCode::OK, "评价已提交", text)
        }
        Ok(AnswerOutcome::Used) => gone_page(lang, false),
        Ok(AnswerOutcome::Expired) => gone_page(lang, true),
        Err(StoreError::NotFound) => unknown_page(lang),
        // The storage's own words, with the field they are about: shown as they are.
        Err(StoreError::Invalid { field, message }) => {
            let error = Some(Shown::of(lang, &format!("{message}（{field}）")));
            link_page(&state, lang, &token, Some(&form), invalid, error).await
        }
        Err(StoreError::Lifecycle(zhili_domain::LifecycleError::Invalid { field, message })) => {
            let error = Some(Shown::of(lang, &format!("{message}（{field}）")));
            link_page(&state, lang, &token, Some(&form), invalid, error).await
        }
        Err(e) => internal(lang, e),
    }
}

/// The check code as the event page shows it after a report: to those who talk to
/// the reporter (operators, the handling unit, the reporter), not to supervisors.
pub(super) async fn check_code_for(
    state: &AppState,
    actor: &zhili_domain::Actor,
    d: &zhili_storage::EventDetail,
) -> Option<String> {
    use zhili_domain::Role;
    // Masked and not revealable: this viewer has no business with the reporter.
    let talks_to_reporter = !d.reporter.masked || d.reporter.revealable;
    if !talks_to_reporter || matches!(actor.role, Role::Oversight | Role::CityLeader) {
        return None;
    }
    match state.store.check_code(&d.number).await {
        Ok(c) => Some(c),
        Err(e) => {
            // The page works without it; the code can be read again later.
            tracing::error!(error = ?e, "check code for the event page");
            None
        }
    }
}
