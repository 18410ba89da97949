//! The administrator's pages for categories and users: `GET /admin/categories` with
//! each category's time limit and department (`POST /admin/categories/{code}`), and
//! `GET /admin/users` with role, area and state (`POST /admin/users` creates an
//! account with a one-time password shown once, `POST /admin/users/{id}` changes
//! one), and `GET /admin/assessment` with the assessment schemes' weighted KPIs
//! (`POST /admin/assessment` saves one, checked by the domain's rules: weights add
//! up to 100, satisfaction at least 30% for townships). Admin only, CSRF-checked,
//! every change audited by storage.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::kpi::{AssessedKind, Indicator, KpiKind, KpiUnit, Scheme};
use zhili_domain::{OrgKind, Permission, Role};
use zhili_storage::admin::{NewAccount, UserChange, UserSummary, org_kind_for};
use zhili_storage::{Acting, StoreError};

use super::forms::FormData;
use super::public::Shown;
use super::session::PageUser;
use super::view::{Header, Opt, error_page, internal, render};
use crate::AppState;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/admin/categories", Permission::ManageSystem, categories)
        .post(
            "/admin/categories/{code}",
            Permission::ManageSystem,
            edit_category,
        )
        .get("/admin/users", Permission::ManageAccounts, users)
        .post("/admin/users", Permission::ManageAccounts, create_user)
        .post("/admin/users/{id}", Permission::ManageAccounts, edit_user)
        .post(
            "/admin/users/{id}/password",
            Permission::ManageAccounts,
            reset_password,
        )
        .post(
            "/admin/users/{id}/totp",
            Permission::ManageAccounts,
            reset_totp,
        )
        .get("/admin/assessment", Permission::ManageSystem, assessment)
        .post(
            "/admin/assessment",
            Permission::ManageSystem,
            save_assessment,
        )
}

fn forbidden(user: &PageUser) -> Option<Response> {
    (user.actor.role != Role::Admin).then(|| {
        error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            "该页面只对系统管理员开放。",
        )
    })
}

/// Accounts are the security administrator's (separation of duties, AC-07).
fn not_security_admin(user: &PageUser) -> Option<Response> {
    (user.actor.role != Role::SecurityAdmin).then(|| {
        error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            "账号管理只对安全管理员开放。",
        )
    })
}

/// The separation-of-duties check of one account change, as a 403 page.
async fn refused_change(
    state: &AppState,
    user: &PageUser,
    target: Option<i64>,
    role: Option<Role>,
) -> Option<Response> {
    match crate::account::account_refusal(state, &user.actor, target, role).await {
        Ok(None) => None,
        Ok(Some(reason)) => Some(error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            reason,
        )),
        Err(StoreError::NotFound) => Some(error_page(
            Some(user.header()),
            StatusCode::NOT_FOUND,
            "该用户不存在。",
        )),
        Err(e) => {
            tracing::error!(error = ?e, "account change check");
            Some(internal(Some(user.header())))
        }
    }
}

#[derive(Deserialize)]
pub struct DoneParams {
    done: Option<String>,
}

// ---------------------------------------------------------------------------
// Categories

struct CategoryRow {
    code: String,
    name: String,
    top: bool,
    parent: String,
    platform: &'static str,
    focus: bool,
    limit_days: u32,
    /// The city's departments, by code, the category's selected.
    dept_opts: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "admin_categories.html")]
struct CategoriesPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    rows: Vec<CategoryRow>,
    done: Option<Shown>,
    error: Option<Shown>,
}

async fn categories_page(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    done: Option<Shown>,
    error: Option<Shown>,
) -> Response {
    let header = user.header();
    let (cats, units) = match tokio::try_join!(
        state.store.categories(),
        state.store.orgs_of_kind(&[OrgKind::Department])
    ) {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = ?e, "admin categories page");
            return internal(Some(header));
        }
    };
    let name_of = |id: Option<zhili_domain::CategoryId>| {
        id.and_then(|id| cats.iter().find(|c| c.id == id))
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    let rows = cats
        .iter()
        .map(|c| {
            let dept = c.department_id.map(|d| d.0);
            CategoryRow {
                code: c.code.clone(),
                name: c.name.clone(),
                top: c.parent_id.is_none(),
                parent: name_of(c.parent_id),
                platform: c.platform.label_zh(),
                focus: c.focus,
                limit_days: c.limit_days,
                dept_opts: units
                    .iter()
                    .map(|u| Opt {
                        value: u.code.clone(),
                        label: u.name.clone(),
                        selected: Some(u.id.0) == dept,
                    })
                    .collect(),
            }
        })
        .collect();
    render(
        status,
        &CategoriesPage {
            lang: header.lang,
            header: Some(header),
            csrf: user.csrf.clone(),
            rows,
            done,
            error,
        },
    )
}

async fn categories(
    State(state): State<AppState>,
    user: PageUser,
    params: Result<Query<DoneParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(r) = forbidden(&user) {
        return r;
    }
    let done = params
        .ok()
        .and_then(|Query(p)| p.done)
        .filter(|c| c.len() <= 20 && c.chars().all(|ch| ch.is_ascii_alphanumeric()))
        .map(|c| {
            let lang = user.lang;
            Shown::made(
                lang,
                lang.f(
                    "已保存类别 {} 的办理时限和责任部门（适用于此后计算的时限）。",
                    &[&c],
                ),
            )
        });
    categories_page(&state, &user, StatusCode::OK, done, None).await
}

async fn edit_category(
    State(state): State<AppState>,
    user: PageUser,
    Path(code): Path<String>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    if let Some(r) = forbidden(&user) {
        return r;
    }
    let bad = StatusCode::UNPROCESSABLE_ENTITY;
    let Some(limit) = form
        .get("limit_days")
        .and_then(|v| v.trim().parse::<u32>().ok())
    else {
        let m = Shown::made(
            user.lang,
            user.lang.f("类别 {}：办理时限须为整数（工作日）", &[&code]),
        );
        return categories_page(&state, &user, bad, None, Some(m)).await;
    };
    let dept = form.opt("department");
    let by = Acting::from(&user.actor);
    match state
        .store
        .update_category(&code, limit, dept.as_deref(), &by, Utc::now())
        .await
    {
        Ok(c) => Redirect::to(&format!("/admin/categories?done={}", c.code)).into_response(),
        Err(StoreError::NotFound) => {
            error_page(Some(user.header()), StatusCode::NOT_FOUND, "该类别不存在。")
        }
        Err(StoreError::Invalid { message, .. }) => {
            let m = Shown::about(user.lang, "类别 {}：{}", &[&code], &message);
            categories_page(&state, &user, bad, None, Some(m)).await
        }
        Err(e) => {
            tracing::error!(error = ?e, "category update page");
            internal(Some(user.header()))
        }
    }
}

// ---------------------------------------------------------------------------
// Users

struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    role_label: &'static str,
    org: String,
    org_code: String,
    active: bool,
    role_opts: Vec<Opt>,
    is_self: bool,
    second_factor: bool,
    must_change_password: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    rows: Vec<UserRow>,
    role_opts: Vec<Opt>,
    done: Option<Shown>,
    error: Option<Shown>,
    /// Shown once after creating an account.
    created: Option<(String, String)>,
    typed_username: String,
    typed_name: String,
    typed_org: String,
}

fn role_opts(lang: Lang, current: &str) -> Vec<Opt> {
    Role::ALL
        .iter()
        // Those two come only from the command line (`may_manage_account`).
        .filter(|r| !matches!(r, Role::SecurityAdmin | Role::Auditor) || r.code() == current)
        .map(|r| {
            let label = match org_kind_for(*r) {
                Some(k) => lang.f("{}（须填{}编码）", &[&lang.t(r.label_zh()), &k]),
                None => lang.t(r.label_zh()).to_string(),
            };
            Opt::new(r.code(), label, current)
        })
        .collect()
}

struct Typed {
    username: String,
    name: String,
    role: String,
    org: String,
}

async fn users_page(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    done: Option<Shown>,
    error: Option<Shown>,
    created: Option<(String, String)>,
    typed: Typed,
) -> Response {
    let header = user.header();
    let list = match state.store.users().await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = ?e, "admin users page");
            return internal(Some(header));
        }
    };
    let row = |u: UserSummary| UserRow {
        is_self: u.id == user.actor.user_id.0,
        role_opts: role_opts(user.lang, u.role.code()),
        id: u.id,
        username: u.username,
        display_name: u.display_name,
        role_label: u.role_label,
        org: u
            .org
            .as_ref()
            .map_or_else(|| "—".into(), |o| format!("{}（{}）", o.name, o.code)),
        org_code: u.org.map(|o| o.code).unwrap_or_default(),
        active: u.active,
        second_factor: u.second_factor,
        must_change_password: u.must_change_password,
    };
    render(
        status,
        &UsersPage {
            lang: header.lang,
            header: Some(header),
            csrf: user.csrf.clone(),
            rows: list.into_iter().map(row).collect(),
            role_opts: role_opts(user.lang, &typed.role),
            done,
            error,
            created,
            typed_username: typed.username,
            typed_name: typed.name,
            typed_org: typed.org,
        },
    )
}

fn no_typing() -> Typed {
    Typed {
        username: String::new(),
        name: String::new(),
        role: String::new(),
        org: String::new(),
    }
}

async fn users(
    State(state): State<AppState>,
    user: PageUser,
    params: Result<Query<DoneParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(r) = not_security_admin(&user) {
        return r;
    }
    let done = params
        .ok()
        .and_then(|Query(p)| p.done)
        .and_then(|d| d.parse::<i64>().ok())
        .map(|id| {
            let lang = user.lang;
            Shown::made(
                lang,
                lang.f(
                    "已保存用户 {} 的修改；角色或区域的变化在其下次登录时生效。",
                    &[&id],
                ),
            )
        });
    users_page(&state, &user, StatusCode::OK, done, None, None, no_typing()).await
}

async fn create_user(State(state): State<AppState>, user: PageUser, form: FormData) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    if let Some(r) = not_security_admin(&user) {
        return r;
    }
    let typed = Typed {
        username: form.value("username").trim().to_string(),
        name: form.value("display_name").trim().to_string(),
        role: form.value("role"),
        org: form.value("org").trim().to_string(),
    };
    let bad = StatusCode::UNPROCESSABLE_ENTITY;
    let Some(role) = Role::parse(typed.role.trim()) else {
        let m = Some(Shown::of(user.lang, "请选择角色"));
        return users_page(&state, &user, bad, None, m, None, typed).await;
    };
    if let Some(r) = refused_change(&state, &user, None, Some(role)).await {
        return r;
    }
    let password = crate::auth::one_time_password();
    let hash = match tokio::task::spawn_blocking({
        let p = password.clone();
        move || crate::hash_password(&p)
    })
    .await
    {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = ?e, "password hashing");
            return internal(Some(user.header()));
        }
    };
    let by = Acting::from(&user.actor);
    let org = Some(typed.org.as_str()).filter(|o| !o.is_empty());
    match state
        .store
        .create_user(
            &NewAccount {
                username: &typed.username,
                display_name: &typed.name,
                password_hash: &hash,
                role,
                org_code: org,
            },
            &by,
            Utc::now(),
        )
        .await
    {
        Ok(u) => {
            let created = Some((u.username, password));
            let done = Some(Shown::of(
                user.lang,
                "账号已创建。初始密码只显示这一次，请当面或通过安全渠道交给本人。",
            ));
            users_page(
                &state,
                &user,
                StatusCode::OK,
                done,
                None,
                created,
                no_typing(),
            )
            .await
        }
        Err(StoreError::Invalid { message, .. }) => {
            let m = Some(Shown::of(user.lang, &message));
            users_page(&state, &user, bad, None, m, None, typed).await
        }
        Err(StoreError::Duplicate { .. }) => {
            let m = Some(Shown::made(
                user.lang,
                user.lang.f("用户名 {} 已被使用", &[&typed.username]),
            ));
            users_page(&state, &user, StatusCode::CONFLICT, None, m, None, typed).await
        }
        Err(e) => {
            tracing::error!(error = ?e, "create user page");
            internal(Some(user.header()))
        }
    }
}

/// The CSRF and separation-of-duties checks of a form on `/admin/users/{id}…`
/// (the account to get `role`, or keep its own), and the user's id.
async fn user_form(
    state: &AppState,
    user: &PageUser,
    form: &FormData,
    id: &str,
    role: Option<Role>,
) -> Result<i64, Box<Response>> {
    if let Some(r) = user
        .csrf_rejection(form)
        .or_else(|| not_security_admin(user))
    {
        return Err(Box::new(r));
    }
    let id = id.parse::<i64>().map_err(|_| {
        Box::new(error_page(
            Some(user.header()),
            StatusCode::NOT_FOUND,
            "该用户不存在。",
        ))
    })?;
    match refused_change(state, user, Some(id), role).await {
        Some(r) => Err(Box::new(r)),
        None => Ok(id),
    }
}

async fn edit_user(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let bad = StatusCode::UNPROCESSABLE_ENTITY;
    let role = match form.opt("role") {
        None => None,
        Some(r) => match Role::parse(&r) {
            Some(r) => Some(r),
            None => {
                let m = Some(Shown::of(user.lang, "未知角色"));
                return users_page(&state, &user, bad, None, m, None, no_typing()).await;
            }
        },
    };
    let id = match user_form(&state, &user, &form, &id, role).await {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let change = UserChange {
        role,
        org_code: form.get("org").map(|o| o.trim().to_string()),
        // The form always sends its state: a checkbox left unticked sends nothing.
        active: Some(form.get("active").is_some()),
    };
    let by = Acting::from(&user.actor);
    match state.store.update_user(id, &change, &by, Utc::now()).await {
        Ok(_) => Redirect::to(&format!("/admin/users?done={id}")).into_response(),
        Err(StoreError::NotFound) => {
            error_page(Some(user.header()), StatusCode::NOT_FOUND, "该用户不存在。")
        }
        Err(StoreError::Invalid { message, .. }) => {
            let m = Some(Shown::about(user.lang, "用户 {}：{}", &[&id], &message));
            users_page(&state, &user, bad, None, m, None, no_typing()).await
        }
        Err(e) => {
            tracing::error!(error = ?e, "edit user page");
            internal(Some(user.header()))
        }
    }
}

// ---------------------------------------------------------------------------
// Assessment schemes

/// One KPI's line in a scheme form.
struct IndicatorField {
    code: &'static str,
    label: &'static str,
    definition: &'static str,
    /// Weight in percent; empty when the KPI is not in the scheme.
    weight: String,
    /// Full marks at this value; only for counts, hours and per-10,000 values.
    needs_target: bool,
    target: String,
}

struct SchemeForm {
    /// The stored scheme's id, or `None` for the new-scheme form.
    id: Option<i64>,
    name: String,
    assessed_opts: Vec<Opt>,
    fields: Vec<IndicatorField>,
    updated_at: String,
    total_weight: u32,
}

#[derive(Template)]
#[template(path = "admin_assessment.html")]
struct AssessmentPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    schemes: Vec<SchemeForm>,
    new_scheme: SchemeForm,
    done: Option<Shown>,
    error: Option<Shown>,
    min_satisfaction: u32,
}

fn scheme_form(
    lang: Lang,
    id: Option<i64>,
    scheme: Option<&Scheme>,
    updated_at: String,
) -> SchemeForm {
    let assessed = scheme.map_or("", |s| s.assessed.code());
    SchemeForm {
        id,
        name: scheme.map(|s| s.name.clone()).unwrap_or_default(),
        assessed_opts: AssessedKind::ALL
            .iter()
            .map(|k| Opt::new(k.code(), lang.t(k.label_zh()), assessed))
            .collect(),
        fields: KpiKind::ALL
            .iter()
            .map(|k| {
                let ind = scheme.and_then(|s| s.indicators.iter().find(|i| i.kpi == *k));
                IndicatorField {
                    code: k.code(),
                    label: k.label_zh(),
                    definition: k.definition(),
                    weight: ind.map(|i| i.weight.to_string()).unwrap_or_default(),
                    needs_target: k.unit() != KpiUnit::Ratio,
                    target: ind
                        .and_then(|i| i.target)
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                }
            })
            .collect(),
        total_weight: scheme.map_or(0, |s| s.indicators.iter().map(|i| i.weight).sum()),
        updated_at,
    }
}

async fn assessment_page(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    done: Option<Shown>,
    error: Option<Shown>,
    typed: Option<Scheme>,
) -> Response {
    let header = user.header();
    let stored = match state.store.schemes(&user.actor).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = ?e, "admin assessment page");
            return internal(Some(header));
        }
    };
    render(
        status,
        &AssessmentPage {
            lang: header.lang,
            header: Some(header),
            csrf: user.csrf.clone(),
            schemes: stored
                .iter()
                .map(|s| {
                    scheme_form(
                        user.lang,
                        Some(s.id),
                        Some(&s.scheme),
                        super::view::china_time(s.updated_at),
                    )
                })
                .collect(),
            new_scheme: scheme_form(user.lang, None, typed.as_ref(), String::new()),
            done,
            error,
            min_satisfaction: zhili_domain::kpi::MIN_TOWNSHIP_SATISFACTION_WEIGHT,
        },
    )
}

async fn assessment(
    State(state): State<AppState>,
    user: PageUser,
    params: Result<Query<DoneParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(r) = forbidden(&user) {
        return r;
    }
    let done = params
        .ok()
        .and_then(|Query(p)| p.done)
        .and_then(|d| d.parse::<i64>().ok())
        .map(|id| {
            let lang = user.lang;
            Shown::made(
                lang,
                lang.f("已保存考核方案 {}，下次计算分数时生效。", &[&id]),
            )
        });
    assessment_page(&state, &user, StatusCode::OK, done, None, None).await
}

/// The scheme a form describes: every KPI with a weight above 0, in KPI order.
fn scheme_from(lang: Lang, form: &FormData) -> Result<Scheme, String> {
    let assessed = form
        .get("assessed")
        .and_then(AssessedKind::parse)
        .ok_or_else(|| lang.t("请选择考核对象").to_string())?;
    let mut indicators = Vec::new();
    for k in KpiKind::ALL {
        let weight = match form.opt(&format!("w-{}", k.code())) {
            None => continue,
            Some(w) => w
                .parse::<u32>()
                .map_err(|_| lang.f("「{}」的权重须为 0–100 的整数", &[&lang.t(k.label_zh())]))?,
        };
        if weight == 0 {
            continue;
        }
        let target = match form.opt(&format!("t-{}", k.code())) {
            None => None,
            Some(t) => Some(
                t.parse::<f64>()
                    .ok()
                    .filter(|t| t.is_finite())
                    .ok_or_else(|| lang.f("「{}」的满分值须为数字", &[&lang.t(k.label_zh())]))?,
            ),
        };
        indicators.push(Indicator {
            kpi: *k,
            weight,
            target,
        });
    }
    Ok(Scheme {
        name: form.value("name").trim().to_string(),
        assessed,
        indicators,
    })
}

async fn save_assessment(
    State(state): State<AppState>,
    user: PageUser,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    if let Some(r) = forbidden(&user) {
        return r;
    }
    let bad = StatusCode::UNPROCESSABLE_ENTITY;
    let scheme = match scheme_from(user.lang, &form) {
        Ok(s) => s,
        Err(m) => {
            let m = Some(Shown::made(user.lang, m));
            return assessment_page(&state, &user, bad, None, m, None).await;
        }
    };
    match state
        .store
        .save_scheme(&user.actor, &scheme, Utc::now())
        .await
    {
        Ok(s) => Redirect::to(&format!("/admin/assessment?done={}", s.id)).into_response(),
        Err(StoreError::Invalid { message, .. }) => {
            // The scheme's name is what the admin typed: data, in the Chinese part.
            let m = Some(Shown::about(
                user.lang,
                "方案「{}」：{}",
                &[&scheme.name],
                &message,
            ));
            assessment_page(&state, &user, bad, None, m, Some(scheme)).await
        }
        Err(e) => {
            tracing::error!(error = ?e, "save assessment scheme page");
            internal(Some(user.header()))
        }
    }
}

/// A forgotten password: a new one-time password, shown once like a new account's.
async fn reset_password(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let id = match user_form(&state, &user, &form, &id, None).await {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let target = match state.store.user_summary(id).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => {
            return error_page(Some(user.header()), StatusCode::NOT_FOUND, "该用户不存在。");
        }
        Err(e) => {
            tracing::error!(error = ?e, "reset password page");
            return internal(Some(user.header()));
        }
    };
    match crate::account::reset_password(&state, &user.actor, zhili_domain::UserId(id)).await {
        Ok(password) => {
            let done = Some(Shown::of(
                user.lang,
                "密码已重置，该账号的登录均已退出。新的初始密码只显示这一次，本人登录后须立即修改。",
            ));
            let created = Some((target.username, password));
            users_page(
                &state,
                &user,
                StatusCode::OK,
                done,
                None,
                created,
                no_typing(),
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = ?e, "reset password page");
            internal(Some(user.header()))
        }
    }
}

/// A lost phone: the authenticator is unbound and the account's sessions end; an
/// admin account binds a new one at its next login.
async fn reset_totp(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let id = match user_form(&state, &user, &form, &id, None).await {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match crate::account::reset_totp(&state, &user.actor, zhili_domain::UserId(id)).await {
        Ok(()) => Redirect::to(&format!("/admin/users?done={id}")).into_response(),
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            error_page(Some(user.header()), StatusCode::NOT_FOUND, "该用户不存在。")
        }
        Err(e) => {
            tracing::error!(error = ?e, "reset second factor page");
            internal(Some(user.header()))
        }
    }
}
