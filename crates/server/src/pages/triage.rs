//! The command room's triage queue (`GET /triage`): events the classifier was not
//! sure about, oldest first, each with its top three suggestions as one-press buttons
//! (access keys 1–3) and every category to choose from; `POST /triage/{id}` decides.
//! Admins keep the keyword rules on `/admin/classification`.

use crate::i18n::Lang;
use std::collections::HashMap;
use zhili_domain::Permission;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use zhili_domain::Role;
use zhili_storage::StoreError;
use zhili_storage::classification::{RuleInput, RuleRecord};
use zhili_storage::records::{EventFilter, SortKey};

use super::forms::FormData;
use super::session::PageUser;
use super::view::{Header, china_time, error_page, internal, render};
use crate::AppState;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/triage", Permission::Dispatch, queue)
        .post("/triage/{id}", Permission::HandleEvents, choose)
        .get(
            "/admin/classification",
            Permission::ManageSystem,
            rules_page,
        )
        .post("/admin/classification", Permission::ManageSystem, add_rule)
        .post(
            "/admin/classification/{id}/delete",
            Permission::ManageSystem,
            delete_rule,
        )
}

struct Pick {
    code: String,
    label: String,
}

struct Item {
    id: i64,
    number: String,
    excerpt: String,
    reported: String,
    picks: Vec<Pick>,
}

#[derive(Template)]
#[template(path = "triage.html")]
struct TriagePage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    items: Vec<Item>,
    categories: Vec<Pick>,
    error: Option<super::forms::Msg>,
}

fn is_room(user: &PageUser) -> bool {
    matches!(user.actor.role, Role::TownshipOperator | Role::CityOperator)
}

/// Leaf categories as (code, "name（code）"), in code order.
async fn leaf_categories(state: &AppState) -> Result<Vec<Pick>, StoreError> {
    let all = state.store.categories().await?;
    let parents: std::collections::HashSet<i64> = all
        .iter()
        .filter_map(|c| c.parent_id)
        .map(|p| p.0)
        .collect();
    let mut leaves: Vec<Pick> = all
        .into_iter()
        .filter(|c| !parents.contains(&c.id.0))
        .map(|c| Pick {
            label: format!("{}（{}）", c.name, c.code),
            code: c.code,
        })
        .collect();
    leaves.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(leaves)
}

async fn show(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    if !is_room(user) {
        return error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            "分类待办只对指挥室开放。",
        );
    }
    let filter = EventFilter {
        triage: true,
        sort: SortKey::ReportedAt,
        descending: false,
        page: 1,
        per_page: 200,
        ..Default::default()
    };
    let (page, categories) = match (
        state.store.events_for(&user.actor).list(&filter).await,
        leaf_categories(state).await,
    ) {
        (Ok(p), Ok(c)) => (p, c),
        _ => return internal(Some(user.header())),
    };
    let names: HashMap<&str, &str> = categories
        .iter()
        .map(|c| (c.code.as_str(), c.label.as_str()))
        .collect();
    let items = page
        .items
        .into_iter()
        .map(|e| Item {
            id: e.id,
            picks: e
                .suggestions
                .iter()
                .map(|s| Pick {
                    code: s.category.clone(),
                    label: format!(
                        "{} · {:.0}%",
                        names
                            .get(s.category.as_str())
                            .copied()
                            .unwrap_or(&s.category),
                        s.confidence * 100.0
                    ),
                })
                .collect(),
            number: e.number,
            excerpt: zhili_domain::mask_in_text(&e.excerpt),
            reported: china_time(e.reported_at),
        })
        .collect();
    render(
        status,
        &TriagePage {
            lang: user.lang,
            header: Some(user.header()),
            csrf: user.csrf.clone(),
            items,
            categories,
            error: error.map(|m| super::forms::Msg::new(user.lang, &m)),
        },
    )
}

async fn queue(State(state): State<AppState>, user: PageUser) -> Response {
    show(&state, &user, StatusCode::OK, None).await
}

async fn choose(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let r = state
        .store
        .events_for(&user.actor)
        .classify(id, form.value("category").trim(), Utc::now())
        .await;
    match r {
        Ok(_) => Redirect::to("/triage").into_response(),
        Err(StoreError::NotFound) => error_page(
            Some(user.header()),
            StatusCode::NOT_FOUND,
            "该事件不存在，或不在您的辖区内。",
        ),
        Err(StoreError::Invalid { field, message }) if field == "role" => {
            error_page(Some(user.header()), StatusCode::FORBIDDEN, message)
        }
        Err(StoreError::Invalid { message, .. }) => {
            show(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
            )
            .await
        }
        Err(StoreError::Conflict) => {
            show(
                &state,
                &user,
                StatusCode::CONFLICT,
                Some("该事件刚被他人修改，请重试。".into()),
            )
            .await
        }
        Err(_) => internal(Some(user.header())),
    }
}

struct RuleRow {
    id: i64,
    terms: String,
    target: String,
    mode: &'static str,
    note: String,
    updated: String,
}

impl From<RuleRecord> for RuleRow {
    fn from(r: RuleRecord) -> Self {
        RuleRow {
            id: r.id,
            terms: r.terms,
            target: match r.category {
                Some(c) => format!("{}（{}）", c.name, c.code),
                None => "疑似警情（移交110）".into(),
            },
            mode: r.mode_label,
            note: r.note.unwrap_or_default(),
            updated: format!("{} {}", china_time(r.updated_at), r.updated_by),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_classification.html")]
struct RulesPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    mode: &'static str,
    rules: Vec<RuleRow>,
    categories: Vec<Pick>,
    error: Option<String>,
}

async fn show_rules(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    if user.actor.role != Role::Admin {
        return error_page(
            Some(user.header()),
            StatusCode::FORBIDDEN,
            "只有系统管理员可以维护分类规则。",
        );
    }
    let (rules, categories) = match (
        state.store.classification_rules().await,
        leaf_categories(state).await,
    ) {
        (Ok(r), Ok(c)) => (r, c),
        _ => return internal(Some(user.header())),
    };
    let s = state.classifier.status();
    render(
        status,
        &RulesPage {
            lang: user.lang,
            header: Some(user.header()),
            csrf: user.csrf.clone(),
            mode: if s.mode == "model" {
                "分类模型 + 关键词规则"
            } else {
                "仅关键词规则（未加载分类模型）"
            },
            rules: rules.into_iter().map(Into::into).collect(),
            categories,
            error,
        },
    )
}

async fn rules_page(State(state): State<AppState>, user: PageUser) -> Response {
    show_rules(&state, &user, StatusCode::OK, None).await
}

async fn after_rule_change(
    state: &AppState,
    user: &PageUser,
    r: Result<(), StoreError>,
) -> Response {
    match r {
        Ok(()) => {
            if let Err(e) = state.classifier.reload(&state.store).await {
                tracing::warn!(error = %e, "classification rules: reload after a change failed");
            }
            Redirect::to("/admin/classification").into_response()
        }
        Err(StoreError::Invalid { field, message }) if field == "role" => {
            error_page(Some(user.header()), StatusCode::FORBIDDEN, message)
        }
        Err(StoreError::Invalid { message, .. }) => {
            show_rules(state, user, StatusCode::UNPROCESSABLE_ENTITY, Some(message)).await
        }
        Err(StoreError::NotFound) => {
            error_page(Some(user.header()), StatusCode::NOT_FOUND, "该规则不存在。")
        }
        Err(_) => internal(Some(user.header())),
    }
}

async fn add_rule(State(state): State<AppState>, user: PageUser, form: FormData) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let category = form.value("category");
    let police = category == "police";
    let input = RuleInput {
        terms: form.value("terms"),
        category: (!police).then_some(category),
        police,
        mode: Some(form.value("mode")),
        note: Some(form.value("note")),
    };
    let r = state
        .store
        .put_classification_rule(&user.actor, None, &input, Utc::now())
        .await
        .map(|_| ());
    after_rule_change(&state, &user, r).await
}

async fn delete_rule(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let r = state
        .store
        .delete_classification_rule(&user.actor, id, Utc::now())
        .await;
    after_rule_change(&state, &user, r).await
}
