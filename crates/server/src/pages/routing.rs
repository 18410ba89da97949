//! The routing-matrix page (`GET /admin/routing`): every rule with its dispatches,
//! returns and mis-routing rate; admins add (`POST /admin/routing`), change
//! (`POST /admin/routing/{id}`) and delete (`POST /admin/routing/{id}/delete`) rules,
//! download the matrix as Excel (`GET /admin/routing/rules.xlsx`) and replace it from
//! a file (`POST /admin/routing/import`), every bad row named before anything is stored.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::OrgKind;
use zhili_domain::Permission;
use zhili_storage::StoreError;
use zhili_storage::routing::{RoutingRule, RuleFilter, RuleInput, RuleLevel};

use super::forms::FormData;
use super::public::Shown as Text;
use super::session::PageUser;
use super::view::{Header, Opt, OptGroup, china_time, error_page, internal, render};
use crate::AppState;
use crate::api::routing::{export, import_file, rate_text};

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/admin/routing", Permission::Staff, page)
        .post("/admin/routing", Permission::ManageSystem, create)
        .get("/admin/routing/rules.xlsx", Permission::Staff, download)
        .post("/admin/routing/import", Permission::ManageSystem, import)
        .post("/admin/routing/{id}", Permission::ManageSystem, update)
        .post(
            "/admin/routing/{id}/delete",
            Permission::ManageSystem,
            delete,
        )
}

struct RuleRow {
    id: i64,
    category: String,
    /// None: the whole city.
    area: Option<String>,
    lead: String,
    assisting: String,
    level: &'static str,
    note: String,
    dispatches: i64,
    followed: i64,
    returned: i64,
    rate: String,
    /// Half or more of the dispatches that followed the rule came back.
    bad: bool,
    updated: String,
}

impl From<&RoutingRule> for RuleRow {
    fn from(r: &RoutingRule) -> Self {
        RuleRow {
            id: r.id,
            category: format!("{}（{}）", r.category.name, r.category.code),
            area: r.area.as_ref().map(|a| format!("{}（{}）", a.name, a.code)),
            lead: r.lead_unit.name.clone(),
            assisting: r
                .assisting_units
                .iter()
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>()
                .join("、"),
            level: r.level.label,
            note: r.note.clone().unwrap_or_default(),
            dispatches: r.stats.dispatches,
            followed: r.stats.followed,
            returned: r.stats.returned,
            rate: rate_text(r.stats.misrouting_rate),
            bad: r.stats.misrouting_rate.is_some_and(|x| x >= 0.5),
            updated: format!("{} {}", china_time(r.updated_at), r.updated_by),
        }
    }
}

/// The add or edit form with what it holds.
struct RuleForm {
    /// `None` for a new rule.
    id: Option<i64>,
    categories: Vec<OptGroup>,
    area: String,
    lead_groups: Vec<OptGroup>,
    assist_groups: Vec<OptGroup>,
    levels: Vec<Opt>,
    note: String,
    error: Option<Text>,
}

#[derive(Template)]
#[template(path = "admin_routing.html")]
struct RoutingPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    may_edit: bool,
    rules: Vec<RuleRow>,
    category: String,
    area: String,
    form: Option<RuleForm>,
    done: Option<String>,
    /// The importer's words about the file's rows.
    problems: Vec<Text>,
}

#[derive(Deserialize, Default)]
struct PageQuery {
    category: Option<String>,
    area: Option<String>,
    edit: Option<String>,
    done: Option<String>,
}

/// Typed values to show again after a refusal.
#[derive(Default)]
struct Typed {
    category: String,
    area: String,
    lead: String,
    assisting: Vec<String>,
    level: String,
    note: String,
}

impl Typed {
    fn of(r: &RoutingRule) -> Self {
        Typed {
            category: r.category.code.clone(),
            area: r.area.as_ref().map(|a| a.code.clone()).unwrap_or_default(),
            lead: r.lead_unit.code.clone(),
            assisting: r.assisting_units.iter().map(|u| u.code.clone()).collect(),
            level: r.level.code.to_string(),
            note: r.note.clone().unwrap_or_default(),
        }
    }

    fn from_form(f: &FormData) -> Self {
        Typed {
            category: f.value("category"),
            area: f.value("area"),
            lead: f.value("lead_unit"),
            assisting: f
                .all("assisting_units")
                .iter()
                .map(|s| s.to_string())
                .collect(),
            level: f.value("level"),
            note: f.value("note"),
        }
    }

    fn input(&self) -> RuleInput {
        RuleInput {
            category: self.category.clone(),
            area: Some(self.area.clone()).filter(|a| !a.trim().is_empty()),
            lead_unit: self.lead.clone(),
            assisting_units: self.assisting.clone(),
            level: self.level.clone(),
            note: Some(self.note.clone()),
        }
    }
}

async fn build_form(
    state: &AppState,
    lang: Lang,
    id: Option<i64>,
    t: &Typed,
    error: Option<Text>,
) -> Result<RuleForm, StoreError> {
    let cats = state.store.categories().await?;
    let categories = cats
        .iter()
        .filter(|c| c.parent_id.is_none())
        .map(|p| OptGroup {
            label: p.name.clone(),
            options: cats
                .iter()
                .filter(|c| c.parent_id == Some(p.id))
                .map(|c| {
                    Opt::new(
                        c.code.clone(),
                        format!("{} {}", c.code, c.name),
                        &t.category,
                    )
                })
                .collect(),
        })
        .filter(|g| !g.options.is_empty())
        .collect();
    let units = state
        .store
        .orgs_of_kind(&[
            OrgKind::Department,
            OrgKind::StationedUnit,
            OrgKind::TownshipOffice,
        ])
        .await?;
    let groups = |selected: &[String]| -> Vec<OptGroup> {
        [
            (OrgKind::Department, "市级部门"),
            (OrgKind::StationedUnit, "派驻机构"),
            (OrgKind::TownshipOffice, "乡镇科室"),
        ]
        .into_iter()
        .map(|(kind, label)| OptGroup {
            label: lang.t(label).to_string(),
            options: units
                .iter()
                .filter(|u| u.kind == kind)
                .map(|u| Opt {
                    value: u.code.clone(),
                    label: u.name.clone(),
                    selected: selected.contains(&u.code),
                })
                .collect(),
        })
        .filter(|g| !g.options.is_empty())
        .collect()
    };
    let level = if t.level.is_empty() {
        RuleLevel::Township.code().to_string()
    } else {
        t.level.clone()
    };
    Ok(RuleForm {
        id,
        categories,
        area: t.area.clone(),
        lead_groups: groups(std::slice::from_ref(&t.lead)),
        assist_groups: groups(&t.assisting),
        levels: RuleLevel::ALL
            .iter()
            .map(|l| Opt::new(l.code(), lang.t(l.label_zh()), &level))
            .collect(),
        note: t.note.clone(),
        error,
    })
}

struct Shown {
    status: StatusCode,
    form: Option<(Option<i64>, Typed, Option<Text>)>,
    done: Option<String>,
    problems: Vec<String>,
}

async fn show(state: &AppState, user: &PageUser, q: &PageQuery, s: Shown) -> Response {
    let repo = state.store.routing_for(&user.actor);
    if !repo.may_read() {
        return error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            "您的账号无权查看分派规则。",
        );
    }
    let filter = RuleFilter {
        category: q.category.clone(),
        area: q.area.clone(),
    };
    let rules = match repo.list(&filter).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = ?e, "routing page");
            return internal(Some(user.header()));
        }
    };
    let may_edit = repo.may_edit();
    let form = if !may_edit {
        None
    } else {
        let (id, typed, error) = match s.form {
            Some(f) => f,
            None => {
                let editing = q
                    .edit
                    .as_deref()
                    .and_then(|e| e.parse::<i64>().ok())
                    .and_then(|id| rules.iter().find(|r| r.id == id));
                match editing {
                    Some(r) => (Some(r.id), Typed::of(r), None),
                    None => (None, Typed::default(), None),
                }
            }
        };
        match build_form(state, user.lang, id, &typed, error).await {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::error!(error = ?e, "routing form");
                return internal(Some(user.header()));
            }
        }
    };
    render(
        s.status,
        &RoutingPage {
            lang: user.lang,
            header: Some(user.header()),
            csrf: user.csrf.clone(),
            may_edit,
            rules: rules.iter().map(RuleRow::from).collect(),
            category: q.category.clone().unwrap_or_default(),
            area: q.area.clone().unwrap_or_default(),
            form,
            done: s.done,
            problems: s.problems.iter().map(|p| Text::of(user.lang, p)).collect(),
        },
    )
}

async fn page(
    State(state): State<AppState>,
    user: PageUser,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let done = match q.done.as_deref() {
        Some("created") => Some(user.lang.t("已添加规则。").to_string()),
        Some("updated") => Some(user.lang.t("已保存规则。").to_string()),
        Some("deleted") => Some(user.lang.t("已删除规则。").to_string()),
        _ => None,
    };
    let shown = Shown {
        status: StatusCode::OK,
        form: None,
        done,
        problems: Vec::new(),
    };
    show(&state, &user, &q, shown).await
}

const FIELD_LABELS: [(&str, &str); 6] = [
    ("category", "事件类别"),
    ("area", "区域"),
    ("lead_unit", "主办单位"),
    ("assisting_units", "协办单位"),
    ("level", "层级"),
    ("note", "备注"),
];

fn field_label(field: &str) -> &str {
    FIELD_LABELS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(field, |(_, l)| l)
}

/// A refused change: the form again with what was typed and why.
async fn refused(
    state: &AppState,
    user: &PageUser,
    id: Option<i64>,
    typed: Typed,
    e: StoreError,
) -> Response {
    let (status, message) = match e {
        StoreError::Invalid { field, message } if field == "role" => {
            return error_page(Some(user.header()), StatusCode::FORBIDDEN, message);
        }
        StoreError::Invalid { field, message } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Text::about(
                user.lang,
                "{}：{}",
                &[&user.lang.t(field_label(&field))],
                &message,
            ),
        ),
        StoreError::Duplicate { .. } => (
            StatusCode::CONFLICT,
            Text::of(user.lang, "该类别在该区域已有规则，请编辑那一条。"),
        ),
        StoreError::NotFound => {
            return error_page(Some(user.header()), StatusCode::NOT_FOUND, "该规则不存在。");
        }
        other => {
            tracing::error!(error = ?other, "routing change");
            return internal(Some(user.header()));
        }
    };
    let shown = Shown {
        status,
        form: Some((id, typed, Some(message))),
        done: None,
        problems: Vec::new(),
    };
    show(state, user, &PageQuery::default(), shown).await
}

fn editor_only(user: &PageUser, state: &AppState) -> Option<Response> {
    (!state.store.routing_for(&user.actor).may_edit()).then(|| {
        error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            "只有系统管理员可以修改分派规则。",
        )
    })
}

async fn create(State(state): State<AppState>, user: PageUser, form: FormData) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    if let Some(r) = editor_only(&user, &state) {
        return r;
    }
    let typed = Typed::from_form(&form);
    let repo = state.store.routing_for(&user.actor);
    match repo.create(&typed.input(), Utc::now()).await {
        Ok(_) => Redirect::to("/admin/routing?done=created").into_response(),
        Err(e) => refused(&state, &user, None, typed, e).await,
    }
}

async fn update(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    if let Some(r) = editor_only(&user, &state) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(Some(user.header()), StatusCode::NOT_FOUND, "该规则不存在。");
    };
    let typed = Typed::from_form(&form);
    let repo = state.store.routing_for(&user.actor);
    match repo.update(id, &typed.input(), Utc::now()).await {
        Ok(_) => Redirect::to("/admin/routing?done=updated").into_response(),
        Err(e) => refused(&state, &user, Some(id), typed, e).await,
    }
}

async fn delete(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    if let Some(r) = editor_only(&user, &state) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(Some(user.header()), StatusCode::NOT_FOUND, "该规则不存在。");
    };
    match state
        .store
        .routing_for(&user.actor)
        .delete(id, Utc::now())
        .await
    {
        Ok(()) => Redirect::to("/admin/routing?done=deleted").into_response(),
        Err(e) => refused(&state, &user, None, Typed::default(), e).await,
    }
}

async fn download(State(state): State<AppState>, user: PageUser) -> Response {
    match export(&state, &user.actor).await {
        Ok(r) => r,
        Err(e) => error_page(Some(user.header()), e.status, e.message),
    }
}

/// `POST /admin/routing/import`: a multipart form with `csrf` and `file`.
async fn import(State(state): State<AppState>, user: PageUser, req: Request) -> Response {
    let bad_form = || {
        error_page(
            Some(user.header()),
            StatusCode::BAD_REQUEST,
            "表单提交的格式不正确，请返回上一页后重试。",
        )
    };
    let Ok(mut mp) = Multipart::from_request(req, &state).await else {
        return bad_form();
    };
    let mut pairs = Vec::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return bad_form(),
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let filename = field.file_name().unwrap_or("upload").to_string();
            match field.bytes().await {
                Ok(b) => file = Some((filename, b.to_vec())),
                Err(_) => return bad_form(),
            }
        } else if pairs.len() < 10 {
            match field.text().await {
                Ok(v) => pairs.push((name, v)),
                Err(_) => return bad_form(),
            }
        }
    }
    if let Some(r) = user.csrf_rejection(&FormData(pairs)) {
        return r;
    }
    if let Some(r) = editor_only(&user, &state) {
        return r;
    }
    let q = PageQuery::default();
    let (status, done, problems) = match file {
        Some((_, bytes)) if !bytes.is_empty() => {
            let source = "page";
            match import_file(&state, &user.actor, &bytes, source).await {
                Ok(out) => (
                    StatusCode::OK,
                    Some(user.lang.f(
                        "已导入：新增 {} 条，修改 {} 条，未变 {} 条，删除 {} 条。",
                        &[&out.created, &out.updated, &out.unchanged, &out.deleted],
                    )),
                    Vec::new(),
                ),
                Err(e) if e.status == StatusCode::FORBIDDEN => {
                    return error_page(Some(user.header()), e.status, e.message);
                }
                Err(e) => {
                    let mut problems: Vec<String> = e
                        .detail
                        .as_ref()
                        .and_then(|d| d["bad_rows"].as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(|p| p["text"].as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    if problems.is_empty() {
                        problems.push(e.message.clone());
                    }
                    (e.status, None, problems)
                }
            }
        }
        _ => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            vec!["请选择要导入的 Excel 文件。".to_string()],
        ),
    };
    let shown = Shown {
        status,
        form: None,
        done,
        problems,
    };
    show(&state, &user, &q, shown).await
}
