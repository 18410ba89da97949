//! Classification over HTTP: the township's triage queue (events the classifier was
//! not sure about, with its top three suggestions), the operator's choice, the
//! choices exported as training data, and the admins' keyword rules and label map.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use zhili_domain::{Actor, Permission, Role};
use zhili_storage::StoreError;
use zhili_storage::classification::RuleInput;
use zhili_storage::records::{EventFilter, SortKey};

use super::JsonBody;
use crate::AppState;
use crate::auth::ApiActor;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/v1/triage", Permission::Dispatch, queue)
        .get("/api/v1/triage/export.csv", Permission::Operations, export)
        .post(
            "/api/v1/events/{id}/category",
            Permission::HandleEvents,
            choose,
        )
        .get(
            "/api/v1/classification/rules",
            Permission::Operations,
            rules,
        )
        .post(
            "/api/v1/classification/rules",
            Permission::ManageSystem,
            create_rule,
        )
        .put(
            "/api/v1/classification/rules/{id}",
            Permission::ManageSystem,
            update_rule,
        )
        .delete(
            "/api/v1/classification/rules/{id}",
            Permission::ManageSystem,
            delete_rule,
        )
        .get(
            "/api/v1/classification/labels",
            Permission::Operations,
            labels,
        )
        .put(
            "/api/v1/classification/labels",
            Permission::ManageSystem,
            put_label,
        )
        .get(
            "/api/v1/classification/status",
            Permission::Operations,
            status,
        )
}

/// A refusal of the role is a 403, not a field error.
fn refused(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid { field, message } if field == "role" => ApiError::forbidden(message),
        other => other.into(),
    }
}

fn staff_reader(actor: &Actor) -> Result<(), ApiError> {
    if matches!(
        actor.role,
        Role::Admin | Role::CityOperator | Role::CityLeader | Role::TownshipOperator
    ) {
        Ok(())
    } else {
        Err(ApiError::forbidden("无权查看分类设置"))
    }
}

/// The events waiting for a category in the viewer's area, oldest first.
async fn queue(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    if !matches!(actor.role, Role::TownshipOperator | Role::CityOperator) {
        return Err(ApiError::forbidden("分类待办只对指挥室开放"));
    }
    let page = state
        .store
        .events_for(&actor)
        .list(&EventFilter {
            triage: true,
            sort: SortKey::ReportedAt,
            descending: false,
            page: 1,
            per_page: 200,
            ..Default::default()
        })
        .await?;
    Ok(axum::Json(page).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChooseBody {
    category: String,
}

async fn choose(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ChooseBody>,
) -> Result<Response, ApiError> {
    let detail = state
        .store
        .events_for(&actor)
        .classify(id, body.category.trim(), Utc::now())
        .await
        .map_err(refused)?;
    Ok(axum::Json(detail).into_response())
}

/// The operators' choices as CSV (`text,label,category_code,number`), ready for
/// `zhili train --text-column text --label-column label`. Phone and ID numbers in
/// the texts are masked: a model learns nothing from them and must not keep them.
async fn export(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    let rows = state.store.triage_examples(&actor).await.map_err(refused)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| {
        tracing::error!(error = %e, "triage export");
        ApiError::internal()
    };
    w.write_record(["text", "label", "category_code", "number"])
        .map_err(io)?;
    for r in &rows {
        w.write_record([
            zhili_domain::mask_in_text(&r.text).as_str(),
            r.category_name.as_str(),
            r.category_code.as_str(),
            r.number.as_str(),
        ])
        .map_err(io)?;
    }
    let bytes = w.into_inner().map_err(|e| {
        tracing::error!(error = %e, "triage export");
        ApiError::internal()
    })?;
    // A byte-order mark, so that Excel opens the Chinese text as UTF-8.
    let mut body = "\u{FEFF}".as_bytes().to_vec();
    body.extend(bytes);
    Ok((
        [
            ("content-type", "text/csv; charset=utf-8"),
            (
                "content-disposition",
                "attachment; filename=\"triage-choices.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

async fn rules(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    staff_reader(&actor)?;
    let items = state.store.classification_rules().await?;
    Ok(axum::Json(serde_json::json!({ "items": items })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleBody {
    terms: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    police: bool,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

impl From<RuleBody> for RuleInput {
    fn from(b: RuleBody) -> Self {
        RuleInput {
            terms: b.terms,
            category: b.category,
            police: b.police,
            mode: b.mode,
            note: b.note,
        }
    }
}

async fn put_rule(
    state: &AppState,
    actor: &Actor,
    id: Option<i64>,
    body: RuleBody,
) -> Result<Response, ApiError> {
    let rule = state
        .store
        .put_classification_rule(actor, id, &body.into(), Utc::now())
        .await
        .map_err(refused)?;
    // This instance applies the change at once; the others within seconds.
    state.classifier.reload(&state.store).await?;
    let code = if id.is_some() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::CREATED
    };
    Ok((code, axum::Json(rule)).into_response())
}

async fn create_rule(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(body): JsonBody<RuleBody>,
) -> Result<Response, ApiError> {
    put_rule(&state, &actor, None, body).await
}

async fn update_rule(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<RuleBody>,
) -> Result<Response, ApiError> {
    put_rule(&state, &actor, Some(id), body).await
}

async fn delete_rule(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    state
        .store
        .delete_classification_rule(&actor, id, Utc::now())
        .await
        .map_err(refused)?;
    state.classifier.reload(&state.store).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

async fn labels(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    staff_reader(&actor)?;
    let items = state.store.classifier_labels().await?;
    Ok(axum::Json(serde_json::json!({ "items": items })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelBody {
    label: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    police: bool,
}

async fn put_label(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    JsonBody(body): JsonBody<LabelBody>,
) -> Result<Response, ApiError> {
    state
        .store
        .put_classifier_label(
            &actor,
            &body.label,
            body.category.as_deref(),
            body.police,
            Utc::now(),
        )
        .await
        .map_err(refused)?;
    state.classifier.reload(&state.store).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

/// Model or rules alone, and how many rules: the same as `/healthz` says.
async fn status(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    staff_reader(&actor)?;
    Ok(axum::Json(state.classifier.status()).into_response())
}
