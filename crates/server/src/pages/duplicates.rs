//! The event page's "疑似重复件" box: the master this event was linked to, or the
//! duplicates linked to it, each a link, with the forms an operator uses to unlink
//! a wrong link (`POST /events/{id}/duplicate-of/unlink`) or to link by hand
//! (`POST /events/{id}/duplicate-of`, field `master`). Storage decides who may.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use zhili_domain::{Actor, Permission, Role};
use zhili_storage::{EventDetail, StoreError};

use super::forms::FormData;
use super::session::PageUser;
use super::view::{error_page, internal, not_found};
use crate::AppState;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .post("/events/{id}/duplicate-of", Permission::Dispatch, link)
        .post(
            "/events/{id}/duplicate-of/unlink",
            Permission::Dispatch,
            unlink,
        )
}

pub(super) struct LinkView {
    pub id: i64,
    pub number: String,
}

/// What the box shows.
pub(super) struct DuplicateBox {
    pub master: Option<LinkView>,
    pub duplicates: Vec<LinkView>,
    /// An operator, who may unlink and link (storage checks the scope again).
    pub may_change: bool,
}

impl DuplicateBox {
    pub(super) fn new(actor: &Actor, d: &EventDetail) -> Self {
        DuplicateBox {
            master: d.duplicate_of.as_ref().map(|m| LinkView {
                id: m.id,
                number: m.number.clone(),
            }),
            duplicates: d
                .duplicates
                .iter()
                .map(|m| LinkView {
                    id: m.id,
                    number: m.number.clone(),
                })
                .collect(),
            may_change: matches!(actor.role, Role::CityOperator | Role::TownshipOperator),
        }
    }

    /// Shown when there is a link, or when the viewer could make one.
    pub(super) fn shown(&self) -> bool {
        self.may_change || self.master.is_some() || !self.duplicates.is_empty()
    }
}

async fn link(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found(Some(user.header()));
    };
    let r = state
        .store
        .duplicates_for(&user.actor)
        .link(id, &form.value("master"), Utc::now())
        .await;
    after(&user, id, "duplicate_link", r.map(|_| ()))
}

async fn unlink(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found(Some(user.header()));
    };
    let r = state
        .store
        .duplicates_for(&user.actor)
        .unlink(id, Utc::now())
        .await;
    after(&user, id, "duplicate_unlink", r.map(|_| ()))
}

fn after(user: &PageUser, id: i64, done: &str, r: Result<(), StoreError>) -> Response {
    match r {
        Ok(()) => Redirect::to(&format!("/events/{id}?done={done}")).into_response(),
        Err(StoreError::NotFound) => not_found(Some(user.header())),
        Err(StoreError::Invalid { field, message }) if field == "role" => {
            error_page(Some(user.header()), StatusCode::FORBIDDEN, message)
        }
        Err(StoreError::Invalid { message, .. }) => error_page(
            Some(user.header()),
            StatusCode::UNPROCESSABLE_ENTITY,
            message,
        ),
        Err(e) => {
            tracing::error!(error = ?e, "duplicate link from the event page");
            internal(Some(user.header()))
        }
    }
}
