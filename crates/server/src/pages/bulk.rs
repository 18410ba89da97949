//! Bulk actions for the command rooms on the event list: tick events, choose one
//! action (受理, 分派 to one unit, 督办), and `POST /events/bulk` takes it on each
//! event in turn. The result page lists every event with its new status or the
//! reason it failed; an event in the wrong state or outside the room's area fails
//! alone.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use zhili_domain::{ActionKind, Actor, OrgKind, Permission, Role};
use zhili_storage::queue::BulkOutcome;

use super::detail::{build_action, default_due_date, unit_groups};
use super::forms::FormData;
use super::session::PageUser;
use super::view::{Header, OptGroup, error_page, internal, render};
use crate::AppState;
use crate::api::work::{check_ids, may_bulk, outcome_error};

/// What the bulk form offers.
const BULK_ACTIONS: [ActionKind; 3] = [
    ActionKind::Accept,
    ActionKind::Dispatch,
    ActionKind::Supervise,
];

pub fn routes() -> crate::Routes {
    crate::Routes::new().post("/events/bulk", Permission::Dispatch, submit)
}

/// The bulk form above the event list, for those who may use it.
pub struct BulkBar {
    pub csrf: String,
    pub unit_groups: Vec<OptGroup>,
    pub due_date: String,
}

/// The units a command room dispatches to: the city's departments, and the
/// township's own offices and stationed units (all of them for the city).
async fn dispatch_units(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<zhili_storage::Org>, zhili_storage::StoreError> {
    let kinds = [
        OrgKind::Department,
        OrgKind::StationedUnit,
        OrgKind::TownshipOffice,
    ];
    let all = state.store.orgs_of_kind(&kinds).await?;
    Ok(match actor.role {
        Role::TownshipOperator => all
            .into_iter()
            .filter(|u| u.kind == OrgKind::Department || u.township_id == actor.org_id)
            .collect(),
        _ => all,
    })
}

pub(super) async fn bulk_bar(state: &AppState, user: &PageUser) -> Option<BulkBar> {
    if !may_bulk(&user.actor) {
        return None;
    }
    let units = match dispatch_units(state, &user.actor).await {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = ?e, "units for the bulk form");
            Vec::new()
        }
    };
    Some(BulkBar {
        csrf: user.csrf.clone(),
        unit_groups: unit_groups(&units, &[]),
        due_date: default_due_date(None),
    })
}

struct ResultRow {
    id: i64,
    /// The number when the event is in the user's scope.
    number: Option<String>,
    ok: bool,
    /// The status it is in now, when it succeeded.
    status: &'static str,
    /// Why it failed (the lifecycle's message, Chinese unless it is a catalog text).
    message: Option<super::forms::Msg>,
}

#[derive(Template)]
#[template(path = "bulk_result.html")]
struct ResultPage {
    lang: Lang,
    header: Option<Header>,
    action: &'static str,
    rows: Vec<ResultRow>,
    succeeded: usize,
    failed: usize,
}

async fn submit(State(state): State<AppState>, user: PageUser, form: FormData) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let header = user.header();
    if !may_bulk(&user.actor) {
        return error_page(
            Some(header),
            StatusCode::FORBIDDEN,
            "只有综合指挥室可以批量处理事件。",
        );
    }
    let unprocessable =
        |m: String| error_page(Some(user.header()), StatusCode::UNPROCESSABLE_ENTITY, m);
    let mut ids = Vec::new();
    for v in form.all("ids") {
        match v.parse::<i64>() {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(_) => return unprocessable("所选事件有误，请返回后重新选择。".into()),
        }
    }
    if let Err(e) = check_ids(&ids) {
        return unprocessable(format!("{}。请返回事件列表勾选事件后重试。", e.message));
    }
    let action = match build_action(&form) {
        Ok(a) if BULK_ACTIONS.contains(&a.kind()) => a,
        Ok(_) => return unprocessable("批量处理只支持受理、分派和督办。".into()),
        Err(b) => return unprocessable(format!("{}。请返回上一页修改后重试。", b.message)),
    };
    let repo = state.store.events_for(&user.actor);
    let outcomes = match repo.act_many(&ids, &action, Utc::now()).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = ?e, "bulk action page");
            return internal(Some(header));
        }
    };
    let mut rows = Vec::with_capacity(outcomes.len());
    for BulkOutcome { id, result } in outcomes {
        rows.push(match result {
            Ok(d) => ResultRow {
                id,
                number: Some(d.number),
                ok: true,
                status: d.status.label,
                message: None,
            },
            Err(e) => {
                let (status, _, message, _) = outcome_error(e);
                // The number of an event in scope helps find it; others stay unnamed.
                let number = if status == StatusCode::NOT_FOUND {
                    None
                } else {
                    repo.get(id).await.ok().map(|d| d.number)
                };
                ResultRow {
                    id,
                    number,
                    ok: false,
                    status: "",
                    message: Some(super::forms::Msg::new(user.lang, &message)),
                }
            }
        });
    }
    let succeeded = rows.iter().filter(|r| r.ok).count();
    let view = ResultPage {
        lang: header.lang,
        header: Some(header),
        action: action.kind().label_zh(),
        failed: rows.len() - succeeded,
        succeeded,
        rows,
    };
    render(StatusCode::OK, &view)
}
