//! `/`, `/login` and `/logout`.

use crate::i18n::Lang;
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::forms::FormData;
use super::session::{MaybeUser, PageUser};
use super::view::{Header, internal, render};
use crate::AppState;
use crate::auth::{Credentials, clear_cookie, login, session_cookie, token_hash};

/// The demo accounts the login page lists in demo mode, with what each is for.
const DEMO_ACCOUNTS: &[(&str, &str)] = &[
    ("admin", "系统管理：类别、分派规则、日历、考核方案"),
    ("security", "安全管理：账号、密码重置、动态口令"),
    ("auditor", "安全审计：审计日志与哈希链校验"),
    ("city", "市综合指挥中心：全市事件的受理、分派、督办"),
    (
        "fengshan",
        "凤山街道综合指挥室：受理、分派、核查、反馈、归档",
    ),
    ("lizhou", "梨洲街道综合指挥室：只看得到梨洲的事件"),
    ("zhujian", "住建局承办人：签收、办结分派来的事件"),
    ("grid1", "网格员：上报本网格发现的问题"),
    ("oversight", "监督机构：只读，跟踪办理全过程"),
    ("citizen1", "群众：上报问题，查看本人事件并评价"),
];

pub const DEMO_PASSWORD: &str = "zhili-demo";

struct DemoAccount {
    username: &'static str,
    display_name: String,
    role_label: &'static str,
    purpose: &'static str,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Lang,
    header: Option<Header>,
    error: Option<String>,
    username: String,
    demo_accounts: Vec<DemoAccount>,
    demo_password: &'static str,
}

/// Where a signed-in user starts: their work. The security and audit
/// administrators have no events; their work is the accounts and the audit log.
pub fn home_for(role: zhili_domain::Role) -> &'static str {
    match role {
        zhili_domain::Role::SecurityAdmin => "/admin/users",
        zhili_domain::Role::Auditor => "/audit",
        _ => "/events",
    }
}

pub async fn root(MaybeUser(user): MaybeUser) -> Redirect {
    match user {
        Some(u) => Redirect::to(home_for(u.actor.role)),
        None => Redirect::to("/login"),
    }
}

async fn login_page(
    state: &AppState,
    lang: Lang,
    status: StatusCode,
    error: Option<String>,
    username: String,
) -> Response {
    let mut demo_accounts = Vec::new();
    // Never outside demo mode: the table names real accounts.
    if state.config.demo_mode {
        for (username, purpose) in DEMO_ACCOUNTS {
            match state.store.user_by_username(username).await {
                Ok(Some(u)) if u.active => demo_accounts.push(DemoAccount {
                    username,
                    display_name: u.actor.display_name,
                    role_label: lang.t(u.actor.role.label_zh()),
                    purpose: lang.t(purpose),
                }),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = ?e, "loading demo accounts");
                    return internal(None);
                }
            }
        }
    }
    render(
        status,
        &LoginPage {
            lang,
            header: None,
            error,
            username,
            demo_accounts,
            demo_password: DEMO_PASSWORD,
        },
    )
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    MaybeUser(user): MaybeUser,
) -> Response {
    if let Some(u) = user {
        return Redirect::to(home_for(u.actor.role)).into_response();
    }
    login_page(&state, lang, StatusCode::OK, None, String::new()).await
}

pub async fn submit(
    State(state): State<AppState>,
    lang: Lang,
    MaybeUser(previous): MaybeUser,
    form: FormData,
) -> Response {
    let username = form.value("username").trim().to_string();
    let password = zeroize::Zeroizing::new(form.value("password"));
    if username.is_empty() || password.is_empty() {
        return login_page(
            &state,
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(lang.t("请输入用户名和密码").into()),
            username,
        )
        .await;
    }
    let bad = || lang.t("用户名、密码或动态口令错误").to_string();
    if username.chars().count() > 64 || password.len() > 1024 {
        return login_page(
            &state,
            lang,
            StatusCode::UNAUTHORIZED,
            Some(bad()),
            username,
        )
        .await;
    }
    let otp = form.opt("otp");
    let credentials = Credentials {
        username: &username,
        password: &password,
        otp: otp.as_deref(),
    };
    match login(&state, credentials).await {
        Ok(s) => {
            // A fresh login replaces whatever session the browser had.
            if let Some(old) = previous
                && let Err(e) = state.store.delete_session(&token_hash(&old.token)).await
            {
                tracing::warn!(error = ?e, "could not end the previous session");
            }
            let gated = state
                .config
                .password_policy
                .gate(s.actor.role, &s.credentials, chrono::Utc::now())
                .is_some();
            let to = if gated {
                "/account"
            } else {
                home_for(s.actor.role)
            };
            (
                [(header::SET_COOKIE, session_cookie(&state, &s.token))],
                Redirect::to(to),
            )
                .into_response()
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            login_page(
                &state,
                lang,
                StatusCode::UNAUTHORIZED,
                Some(bad()),
                username,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = ?e, "page login failed");
            internal(None)
        }
    }
}

pub async fn logout(State(state): State<AppState>, user: PageUser, form: FormData) -> Response {
    if let Some(r) = user.csrf_rejection(&form) {
        return r;
    }
    let by = zhili_storage::Acting::from(&user.actor);
    if let Err(e) = state
        .store
        .end_session(&token_hash(&user.token), &by, chrono::Utc::now())
        .await
    {
        tracing::error!(error = ?e, "logout failed");
        return internal(Some(user.header()));
    }
    (
        [(header::SET_COOKIE, clear_cookie())],
        Redirect::to("/login"),
    )
        .into_response()
}
