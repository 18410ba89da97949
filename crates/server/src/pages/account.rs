//! `/account`: one's own password and authenticator app. A session that must first
//! change its password or bind a second factor is sent here by [`PageUser`] and can
//! reach nothing else until that is done.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use zhili_domain::Gate;
use zhili_domain::Permission;

use super::forms::FormData;
use super::session::PageUser;
use super::view::{Header, internal, render};
use crate::AppState;
use crate::account;
use crate::auth::token_hash;
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/account", Permission::SignedIn, page)
        .post("/account/password", Permission::SignedIn, change_password)
        .post("/account/totp", Permission::SignedIn, start_totp)
        .post("/account/totp/confirm", Permission::SignedIn, confirm_totp)
}

struct Enrolling {
    secret_grouped: String,
    otpauth_uri: String,
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    lang: Lang,
    header: Option<Header>,
    csrf: String,
    username: String,
    gate: Option<&'static str>,
    done: Option<&'static str>,
    /// The field a refused form names, and why.
    error: Option<(String, String)>,
    second_factor: bool,
    enrolling: Option<Enrolling>,
}

#[derive(Deserialize)]
struct PageQuery {
    done: Option<String>,
}

async fn show(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    done: Option<&'static str>,
    error: Option<(String, String)>,
) -> Response {
    let loaded = async {
        let record = state.store.user_by_username(&user.actor.username).await?;
        let pending = account::pending_totp(state, &user.actor).await?;
        Ok::<_, ApiError>((record, pending))
    };
    let (record, pending) = match loaded.await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = ?e, "account page");
            return internal(Some(user.header()));
        }
    };
    let lang = user.lang;
    render(
        status,
        &AccountPage {
            lang,
            header: Some(user.header()),
            csrf: user.csrf.clone(),
            username: user.actor.username.clone(),
            gate: user.gate.map(|g: Gate| lang.t(g.message_zh())),
            done,
            error: error.map(|(f, m)| (f, lang.t(&m).to_string())),
            second_factor: record.is_some_and(|r| r.totp.secret.is_some()),
            enrolling: pending.map(|e| Enrolling {
                secret_grouped: crate::totp::grouped(&e.secret),
                otpauth_uri: e.otpauth_uri,
                qr_svg: e.qr_svg,
            }),
        },
    )
}

async fn page(
    State(state): State<AppState>,
    user: PageUser,
    Query(q): Query<PageQuery>,
) -> Response {
    let done = match q.done.as_deref() {
        Some("password") => Some(user.lang.t("密码已修改，其他设备上的登录已退出。")),
        Some("totp") => Some(
            user.lang
                .t("动态口令已绑定。以后登录时请输入应用显示的 6 位数字。"),
        ),
        _ => None,
    };
    show(&state, &user, StatusCode::OK, done, None).await
}

/// After a change: the account page says it is done, and shows the next gate if
/// one remains (an admin's second factor after the first password change).
fn done(what: &str) -> Response {
    Redirect::to(&format!("/account?done={what}")).into_response()
}

async fn refused(state: &AppState, user: &PageUser, e: ApiError) -> Response {
    match e.field.clone() {
        Some(field) if e.status.is_client_error() => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            show(state, user, status, None, Some((field, e.message))).await
        }
        _ => {
            tracing::error!(error = ?e, "account change");
            internal(Some(user.header()))
        }
    }
}

async fn change_password(
    State(state): State<AppState>,
    user: PageUser,
    form: FormData,
) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let new = form.value("new_password");
    if new != form.value("confirm_password") {
        let e = (
            "confirm_password".to_string(),
            "两次输入的新密码不一致".to_string(),
        );
        return show(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(e),
        )
        .await;
    }
    let keep = token_hash(&user.token);
    match account::change_password(
        &state,
        &user.actor,
        &keep,
        &form.value("current_password"),
        &new,
    )
    .await
    {
        Ok(()) => done("password"),
        Err(e) => refused(&state, &user, e).await,
    }
}

async fn start_totp(State(state): State<AppState>, user: PageUser, form: FormData) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    match account::start_totp(&state, &user.actor).await {
        Ok(_) => Redirect::to("/account#totp").into_response(),
        Err(e) => refused(&state, &user, e).await,
    }
}

async fn confirm_totp(State(state): State<AppState>, user: PageUser, form: FormData) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    match account::confirm_totp(&state, &user.actor, &form.value("code")).await {
        Ok(()) => done("totp"),
        Err(e) => refused(&state, &user, e).await,
    }
}
