//! The event list (`GET /events`) and reporting a new event (`GET /events/new`,
//! `POST /events`).

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use zhili_domain::event::RawLocation;
use zhili_domain::{
    Actor, Channel, NewEvent, OrgKind, Priority, RawNewEvent, RawReporter, ReporterKind, Role,
    Status,
};
use zhili_storage::{Category, CreateOutcome, EventSummary, Org, StoreError};

use super::forms::{FormData, Msg};
use super::session::PageUser;
use super::upload::{PageForm, photo_message, photo_status};
use super::view::{Header, Opt, OptGroup, china_time, error_page, internal, render, url_encode};
use crate::AppState;
use crate::error::ApiError;
use crate::filters::{ListQuery, SORTS, nonempty};

// ---------------------------------------------------------------------------
// List

impl ListQuery {
    /// `/events?…` with the same filters and another page.
    fn href_for_page(&self, page: u32) -> String {
        let mut parts = Vec::new();
        let fields = [
            ("status", &self.status),
            ("township", &self.township),
            ("grid", &self.grid),
            ("category", &self.category),
            ("unit", &self.unit),
            ("channel", &self.channel),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
            ("duplicates", &self.duplicates),
            ("overdue", &self.overdue),
            ("sort", &self.sort),
        ];
        for (name, v) in fields {
            if let Some(v) = nonempty(v) {
                parts.push(format!("{name}={}", url_encode(v)));
            }
        }
        parts.push(format!("page={page}"));
        format!("/events?{}", parts.join("&"))
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
    lead_unit: Option<String>,
    reported_at: String,
    excerpt: String,
    /// Labelled 敏感 (AC-08).
    sensitive: bool,
}

impl From<EventSummary> for Row {
    fn from(s: EventSummary) -> Self {
        let area = match &s.grid {
            Some(g) => format!("{} / {}", s.township.name, g.name),
            None => s.township.name.clone(),
        };
        Row {
            id: s.id,
            status_code: s.status.code,
            status_label: s.status.label,
            category: s.category.map(|c| c.name),
            area,
            lead_unit: s.lead_unit.map(|u| u.name),
            reported_at: china_time(s.reported_at),
            excerpt: s.excerpt,
            sensitive: s.sensitivity.code == zhili_domain::Sensitivity::Sensitive.code(),
            number: s.number,
        }
    }
}

#[derive(Template)]
#[template(path = "events_list.html")]
struct ListPage {
    lang: Lang,
    header: Option<Header>,
    notices: Vec<Msg>,
    status_opts: Vec<Opt>,
    township_opts: Vec<Opt>,
    category_groups: Vec<OptGroup>,
    channel_opts: Vec<Opt>,
    sort_opts: Vec<Opt>,
    q: String,
    from: String,
    to: String,
    rows: Vec<Row>,
    total: i64,
    page: u32,
    pages: u32,
    prev_href: Option<String>,
    next_href: Option<String>,
    filtered: bool,
    /// The bulk-action form, for the command rooms.
    bulk: Option<super::bulk::BulkBar>,
    /// Where the contact export of this list posts (AC-09), for those who may.
    export_action: Option<String>,
}

/// 大类 as groups, each starting with "全部…" (a 大类 code finds its 小类 too).
fn category_filter_groups(lang: Lang, cats: &[Category], current: &str) -> Vec<OptGroup> {
    cats.iter()
        .filter(|c| c.parent_id.is_none())
        .map(|top| {
            let mut options = vec![Opt::new(
                top.code.clone(),
                lang.f("全部{}", &[&top.name]),
                current,
            )];
            options.extend(
                cats.iter()
                    .filter(|c| c.parent_id == Some(top.id))
                    .map(|c| Opt::new(c.code.clone(), c.name.clone(), current)),
            );
            OptGroup {
                label: top.name.clone(),
                options,
            }
        })
        .collect()
}

/// 小类 (categories without children) grouped under their 大类, for reporting.
pub(super) fn leaf_category_groups(lang: Lang, cats: &[Category], current: &str) -> Vec<OptGroup> {
    let has_children = |c: &Category| cats.iter().any(|x| x.parent_id == Some(c.id));
    let mut groups: Vec<OptGroup> = cats
        .iter()
        .filter(|c| c.parent_id.is_none() && has_children(c))
        .map(|top| OptGroup {
            label: top.name.clone(),
            options: cats
                .iter()
                .filter(|c| c.parent_id == Some(top.id) && !has_children(c))
                .map(|c| Opt::new(c.code.clone(), c.name.clone(), current))
                .collect(),
        })
        .filter(|g| !g.options.is_empty())
        .collect();
    let loose: Vec<Opt> = cats
        .iter()
        .filter(|c| c.parent_id.is_none() && !has_children(c))
        .map(|c| Opt::new(c.code.clone(), c.name.clone(), current))
        .collect();
    if !loose.is_empty() {
        groups.push(OptGroup {
            label: lang.t("其他").into(),
            options: loose,
        });
    }
    groups
}

fn org_opts(orgs: &[Org], current: &str) -> Vec<Opt> {
    orgs.iter()
        .map(|o| Opt::new(o.code.clone(), o.name.clone(), current))
        .collect()
}

/// Options of a domain vocabulary, labelled in `lang` (the labels are catalog keys).
pub(super) fn coded_opts<T: Copy>(
    lang: Lang,
    all: &[T],
    code: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    current: &str,
) -> Vec<Opt> {
    all.iter()
        .map(|v| Opt::new(code(*v), lang.t(label(*v)), current))
        .collect()
}

pub async fn list(
    State(state): State<AppState>,
    user: PageUser,
    params: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let header = user.header();
    let lang = header.lang;
    let (params, mut notices) = match params {
        Ok(Query(p)) => (p, Vec::new()),
        Err(_) => (
            ListQuery::default(),
            vec![Msg::new(lang, "筛选条件格式不正确，已显示全部事件")],
        ),
    };
    let (filter, errors) = params.parse();
    // The filter's own messages (with the values in them) stay Chinese.
    let errors = errors
        .into_iter()
        .map(|p| Msg::new(lang, &format!("{}（已忽略）", p.message)));
    notices.extend(errors);
    if filter.overdue_at.is_some() {
        notices.push(Msg::new(
            lang,
            "仅显示超过办理时限仍在办理的事件（超期），来自指挥中心的统计",
        ));
    }
    // The command room must see a lasting outbound failure (110 exchange) at once.
    if let Some(scope) = zhili_storage::command::channel_scope(&user.actor)
        && let Ok(h) = state.store.outbox_health(scope).await
        && h.failing > 0
    {
        notices.push(Msg::built(lang.f(
            "对外通道异常：{} 条待发送，其中 {} 条发送失败，正在自动重试。最近错误：{}",
            &[&h.pending, &h.failing, &h.last_error.unwrap_or_default()],
        )));
    }
    let repo = state.store.events_for(&user.actor);
    let (page, townships, cats) = match tokio::try_join!(
        repo.list(&filter),
        state.store.orgs_of_kind(&[OrgKind::Township]),
        state.store.categories(),
    ) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = ?e, "event list page");
            return internal(Some(header));
        }
    };
    let total_pages =
        u32::try_from((page.total + i64::from(filter.per_page) - 1) / i64::from(filter.per_page))
            .unwrap_or(u32::MAX);
    let cur = |v: &Option<String>| nonempty(v).unwrap_or_default().to_string();
    let status_cur = cur(&params.status);
    let sort_cur = nonempty(&params.sort).unwrap_or("-reported_at").to_string();
    let filtered = [
        &params.status,
        &params.township,
        &params.grid,
        &params.category,
        &params.unit,
        &params.channel,
        &params.from,
        &params.to,
        &params.q,
        &params.overdue,
    ]
    .iter()
    .any(|v| nonempty(v).is_some());
    let view = ListPage {
        lang: header.lang,
        header: Some(header),
        notices,
        status_opts: coded_opts(
            lang,
            Status::ALL,
            Status::code,
            Status::label_zh,
            &status_cur,
        ),
        township_opts: org_opts(&townships, &cur(&params.township)),
        category_groups: category_filter_groups(lang, &cats, &cur(&params.category)),
        channel_opts: coded_opts(
            lang,
            Channel::ALL,
            Channel::code,
            Channel::label_zh,
            &cur(&params.channel),
        ),
        sort_opts: SORTS
            .iter()
            .map(|(code, label, ..)| Opt::new(*code, lang.t(label), &sort_cur))
            .collect(),
        q: params.q.clone().unwrap_or_default(),
        from: params.from.clone().unwrap_or_default(),
        to: params.to.clone().unwrap_or_default(),
        total: page.total,
        page: page.page,
        pages: total_pages,
        prev_href: (page.page > 1).then(|| params.href_for_page(page.page - 1)),
        next_href: (page.page < total_pages).then(|| params.href_for_page(page.page + 1)),
        rows: page.items.into_iter().map(Row::from).collect(),
        filtered,
        bulk: super::bulk::bulk_bar(&state, &user).await,
        export_action: zhili_domain::Permission::ExportPersonalData
            .allows(user.actor.role)
            .then(|| {
                params
                    .href_for_page(1)
                    .replacen("/events?", "/events/export?", 1)
            }),
    };
    render(StatusCode::OK, &view)
}

/// 导出联系方式: the reporters' contacts of the list as filtered, as the API's
/// watermarked CSV (AC-09), for a stated reason; audited and rate-limited the same.
pub async fn export_contacts(
    State(state): State<AppState>,
    user: PageUser,
    params: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let refused = |status, message: &str| error_page(Some(user.header()), status, message);
    let Ok(Query(params)) = params else {
        return refused(StatusCode::UNPROCESSABLE_ENTITY, "筛选条件格式不正确");
    };
    let filter = match params.to_filter() {
        Ok(f) => f,
        Err(e) => return refused(StatusCode::UNPROCESSABLE_ENTITY, &e.message),
    };
    let export = state
        .store
        .events_for(&user.actor)
        .export_contacts(&filter, &form.value("reason"), Utc::now())
        .await;
    match export {
        Ok(x) => match crate::api::exports::contacts_csv(&x) {
            Ok(r) => r,
            Err(_) => internal(Some(user.header())),
        },
        Err(StoreError::Invalid { message, .. }) => {
            refused(StatusCode::UNPROCESSABLE_ENTITY, &message)
        }
        Err(StoreError::Forbidden(m)) => refused(StatusCode::FORBIDDEN, &m),
        Err(e) => {
            tracing::error!(error = ?e, "contact export page");
            internal(Some(user.header()))
        }
    }
}

// ---------------------------------------------------------------------------
// New event

/// A message per form field, for the field the error names.
#[derive(Default)]
struct FieldErrors {
    text: Option<Msg>,
    category: Option<Msg>,
    grid: Option<Msg>,
    township: Option<Msg>,
    address: Option<Msg>,
    channel: Option<Msg>,
    priority: Option<Msg>,
    reporter_kind: Option<Msg>,
    reporter_name: Option<Msg>,
    reporter_phone: Option<Msg>,
    location: Option<Msg>,
    photo: Option<Msg>,
    /// Anything not tied to one field.
    general: Option<Msg>,
}

impl FieldErrors {
    fn one(lang: Lang, field: &str, message: &str) -> Self {
        let mut e = FieldErrors::default();
        let slot = match field {
            "text" => &mut e.text,
            "category" => &mut e.category,
            "grid" => &mut e.grid,
            "township" => &mut e.township,
            "address" => &mut e.address,
            "channel" => &mut e.channel,
            "priority" => &mut e.priority,
            "reporter.kind" | "reporter_kind" => &mut e.reporter_kind,
            "reporter.name" | "reporter_name" => &mut e.reporter_name,
            "reporter.phone" | "reporter_phone" => &mut e.reporter_phone,
            "location" | "lon" | "lat" => &mut e.location,
            "photo" => &mut e.photo,
            _ => &mut e.general,
        };
        *slot = Some(Msg::new(lang, message));
        e
    }

    /// The first message, with the id of the field it belongs to, for the summary.
    fn summary(&self) -> Option<(&'static str, &Msg)> {
        [
            ("f-text", &self.text),
            ("f-category", &self.category),
            ("f-grid", &self.grid),
            ("f-township", &self.township),
            ("f-address", &self.address),
            ("f-channel", &self.channel),
            ("f-priority", &self.priority),
            ("f-reporter-kind", &self.reporter_kind),
            ("f-reporter-name", &self.reporter_name),
            ("f-reporter-phone", &self.reporter_phone),
            ("f-lon", &self.location),
            ("f-photo", &self.photo),
        ]
        .into_iter()
        .find_map(|(id, m)| m.as_ref().map(|m| (id, m)))
    }
}

/// What the user typed, kept as typed so the form can be shown again.
#[derive(Default)]
struct NewInput {
    text: String,
    category: String,
    grid: String,
    township: String,
    address: String,
    channel: String,
    priority: String,
    reporter_kind: String,
    reporter_name: String,
    reporter_phone: String,
    lon: String,
    lat: String,
    /// A photo came with the failed submission: browsers cannot keep it in the form.
    photo_sent: bool,
}

impl NewInput {
    fn defaults(actor: &Actor, township_code: Option<String>, grid_code: Option<String>) -> Self {
        let (channel, kind, name) = match actor.role {
            Role::Citizen => (
                Channel::WebForm,
                ReporterKind::Citizen,
                actor.display_name.clone(),
            ),
            Role::GridWorker => (
                Channel::Patrol,
                ReporterKind::GridWorker,
                actor.display_name.clone(),
            ),
            _ => (Channel::Hotline12345, ReporterKind::Citizen, String::new()),
        };
        NewInput {
            channel: channel.code().into(),
            priority: Priority::Normal.code().into(),
            reporter_kind: kind.code().into(),
            reporter_name: name,
            township: township_code.unwrap_or_default(),
            grid: grid_code.unwrap_or_default(),
            ..Default::default()
        }
    }

    fn from_form(f: &FormData) -> Self {
        NewInput {
            text: f.value("text"),
            category: f.value("category"),
            grid: f.value("grid"),
            township: f.value("township"),
            address: f.value("address"),
            channel: f.value("channel"),
            priority: f.value("priority"),
            reporter_kind: f.value("reporter_kind"),
            reporter_name: f.value("reporter_name"),
            reporter_phone: f.value("reporter_phone"),
            lon: f.value("lon"),
            lat: f.value("lat"),
            photo_sent: false,
        }
    }

    /// The wire form, or the field and message of what cannot become one.
    fn to_raw(&self) -> Result<RawNewEvent, (&'static str, String)> {
        let some = |v: &str| Some(v.trim().to_string()).filter(|s| !s.is_empty());
        let location = match (self.lon.trim(), self.lat.trim()) {
            ("", "") => None,
            ("", _) | (_, "") => {
                return Err(("location", "经度和纬度需同时填写，或都不填".into()));
            }
            (lon, lat) => match (lon.parse::<f64>(), lat.parse::<f64>()) {
                (Ok(lon), Ok(lat)) => Some(RawLocation {
                    lon,
                    lat,
                    crs: None,
                }),
                _ => {
                    return Err(("location", "经纬度须为数字，如 121.15 和 30.04".into()));
                }
            },
        };
        let reporter = some(&self.reporter_kind).map(|kind| RawReporter {
            kind,
            name: some(&self.reporter_name),
            phone: some(&self.reporter_phone),
        });
        if reporter.is_none()
            && (some(&self.reporter_name).is_some() || some(&self.reporter_phone).is_some())
        {
            return Err((
                "reporter.kind",
                "填写了上报人姓名或电话时，请选择上报人类型".into(),
            ));
        }
        Ok(RawNewEvent {
            channel: self.channel.trim().to_string(),
            external_id: None,
            reporter,
            text: self.text.clone(),
            address: some(&self.address),
            location,
            category: some(&self.category),
            grid: some(&self.grid),
            township: some(&self.township),
            priority: some(&self.priority),
        })
    }
}

/// The report form's fields (the pairs of an urlencoded or multipart body) as the one
/// intake's wire form, or the field and message of what cannot become one: what
/// [`create`] does before it stores, as a function of the pairs alone, so that the
/// form's parsing can be tested and fuzzed without a session.
pub fn report_form_raw(
    pairs: Vec<(String, String)>,
) -> Result<RawNewEvent, (&'static str, String)> {
    NewInput::from_form(&FormData(pairs)).to_raw()
}

#[derive(Template)]
#[template(path = "event_new.html")]
struct NewPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    input: NewInput,
    errors: FieldErrors,
    error_summary: Option<(&'static str, Msg)>,
    category_groups: Vec<OptGroup>,
    township_opts: Vec<Opt>,
    grid_choices: Vec<Opt>,
    channel_opts: Vec<Opt>,
    priority_opts: Vec<Opt>,
    reporter_kind_opts: Vec<Opt>,
    vendor: super::command::Vendor,
}

/// Grids offered as suggestions: the actor's own area, or all when there are few.
fn grid_choices(actor: &Actor, grids: &[Org]) -> Vec<Opt> {
    const MAX_ALL: usize = 300;
    let mine: Vec<&Org> = match (actor.role, actor.org_id) {
        (Role::TownshipOperator, Some(t)) => {
            grids.iter().filter(|g| g.township_id == Some(t)).collect()
        }
        (Role::GridWorker, Some(g)) => grids.iter().filter(|x| x.id == g).collect(),
        _ if grids.len() <= MAX_ALL => grids.iter().collect(),
        _ => Vec::new(),
    };
    mine.into_iter()
        .map(|g| Opt::new(g.code.clone(), g.name.clone(), ""))
        .collect()
}

async fn new_page(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    input: Option<NewInput>,
    errors: FieldErrors,
) -> Response {
    let header = user.header();
    let loaded = tokio::try_join!(
        state.store.categories(),
        state.store.orgs_of_kind(&[OrgKind::Township]),
        state.store.orgs_of_kind(&[OrgKind::Grid]),
    );
    let (cats, townships, grids) = match loaded {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = ?e, "new event page");
            return internal(Some(header));
        }
    };
    let actor = &user.actor;
    let input = input.unwrap_or_else(|| {
        let own_township = match (actor.role, actor.org_id) {
            (Role::TownshipOperator, Some(t)) => {
                townships.iter().find(|o| o.id == t).map(|o| o.code.clone())
            }
            _ => None,
        };
        let own_grid = match (actor.role, actor.org_id) {
            (Role::GridWorker, Some(g)) => grids.iter().find(|o| o.id == g).map(|o| o.code.clone()),
            _ => None,
        };
        NewInput::defaults(actor, own_township, own_grid)
    });
    let error_summary = errors
        .summary()
        .map(|(id, m)| (id, m.clone()))
        .or_else(|| errors.general.clone().map(|m| ("f-text", m)));
    let lang = header.lang;
    let view = NewPage {
        lang: header.lang,
        header: Some(header),
        csrf: user.csrf.clone(),
        category_groups: leaf_category_groups(lang, &cats, input.category.trim()),
        township_opts: org_opts(&townships, input.township.trim()),
        grid_choices: grid_choices(actor, &grids),
        channel_opts: coded_opts(
            lang,
            Channel::ALL,
            Channel::code,
            Channel::label_zh,
            input.channel.trim(),
        ),
        priority_opts: coded_opts(
            lang,
            Priority::ALL,
            Priority::code,
            Priority::label_zh,
            input.priority.trim(),
        ),
        reporter_kind_opts: coded_opts(
            lang,
            ReporterKind::ALL,
            ReporterKind::code,
            ReporterKind::label_zh,
            input.reporter_kind.trim(),
        ),
        input,
        errors,
        error_summary,
        vendor: super::command::VENDOR,
    };
    render(status, &view)
}

fn read_only(user: &PageUser) -> Response {
    error_page(
        Some(user.header()),
        StatusCode::FORBIDDEN,
        "监督账号只读，不能上报事件。",
    )
}

pub async fn new_form(State(state): State<AppState>, user: PageUser) -> Response {
    if !user.actor.can_report_events() {
        return read_only(&user);
    }
    new_page(&state, &user, StatusCode::OK, None, FieldErrors::default()).await
}

pub async fn create(State(state): State<AppState>, user: PageUser, mut page: PageForm) -> Response {
    let form = &page.fields;
    if let Some(r) = user.csrf_rejection(form) {
        return r;
    }
    if !user.actor.can_report_events() {
        return read_only(&user);
    }
    let mut input = NewInput::from_form(form);
    input.photo_sent = page.photo.is_some() || page.photo_too_large;
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let raw = match input.to_raw() {
        Ok(r) => r,
        Err((field, message)) => {
            let errors = FieldErrors::one(user.lang, field, &message);
            return new_page(&state, &user, invalid, Some(input), errors).await;
        }
    };
    let new = match NewEvent::parse(raw) {
        Ok(mut n) => {
            crate::intake::complete(&state, &mut n);
            n
        }
        Err(e) => {
            let errors = FieldErrors::one(user.lang, &e.field, &e.message);
            return new_page(&state, &user, invalid, Some(input), errors).await;
        }
    };
    // Checked before anything is stored: a refused photo leaves no event behind.
    let photos = match page.checked_photo().await {
        Ok(p) => Vec::from_iter(p),
        Err(e) => {
            let errors = FieldErrors::one(user.lang, "photo", &photo_message(&e));
            return new_page(&state, &user, photo_status(&e), Some(input), errors).await;
        }
    };
    match state
        .store
        .events_for(&user.actor)
        .create_with_photos(&new, &photos, Utc::now())
        .await
    {
        Ok(CreateOutcome::Created(d) | CreateOutcome::Existing(d)) => {
            Redirect::to(&format!("/events/{}", d.id)).into_response()
        }
        Err(StoreError::Invalid { field, message }) => {
            let errors = FieldErrors::one(user.lang, &field, &message);
            new_page(&state, &user, invalid, Some(input), errors).await
        }
        Err(e) => {
            let api = ApiError::from(e);
            if api.status.is_server_error() {
                return internal(Some(user.header()));
            }
            let errors = FieldErrors::one(user.lang, "", &api.message);
            new_page(&state, &user, api.status, Some(input), errors).await
        }
    }
}
