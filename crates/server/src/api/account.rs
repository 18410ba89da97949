//! `/api/v1/me…`: one's own account, usable while the session is gated (a password
//! to change, a second factor to bind); and the admin's resets of another account.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use zhili_domain::Permission;
use zhili_domain::UserId;

use super::{JsonBody, UserView};
use crate::AppState;
use crate::account;
use crate::auth::{ApiActor, ApiSession};
use crate::error::ApiError;

pub fn routes() -> crate::Routes {
    crate::Routes::new()
        .get("/api/v1/me", Permission::SignedIn, me)
        .post("/api/v1/me/password", Permission::SignedIn, change_password)
        .post("/api/v1/me/totp", Permission::SignedIn, start_totp)
        .post(
            "/api/v1/me/totp/confirm",
            Permission::SignedIn,
            confirm_totp,
        )
        .post(
            "/api/v1/admin/users/{id}/password",
            Permission::ManageAccounts,
            reset_password,
        )
        .delete(
            "/api/v1/admin/users/{id}/totp",
            Permission::ManageAccounts,
            reset_totp,
        )
}

/// Who is signed in, and what the account must do first (`gate`, or null).
async fn me(s: ApiSession) -> Result<Response, ApiError> {
    let mut v = serde_json::to_value(UserView::from(&s.actor)).map_err(|_| ApiError::internal())?;
    v["gate"] = s.gate.map(|g| g.code()).into();
    Ok(axum::Json(v).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: SecretString,
    new_password: SecretString,
}

async fn change_password(
    State(state): State<AppState>,
    s: ApiSession,
    JsonBody(req): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    account::change_password(
        &state,
        &s.actor,
        &s.token_hash,
        req.current_password.expose_secret(),
        req.new_password.expose_secret(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts binding an authenticator app: the secret and its `otpauth://` address
/// (what the QR code on the account page holds).
async fn start_totp(State(state): State<AppState>, s: ApiSession) -> Result<Response, ApiError> {
    let e = account::start_totp(&state, &s.actor).await?;
    Ok(axum::Json(serde_json::json!({
        "secret": e.secret,
        "otpauth_uri": e.otpauth_uri,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TotpConfirm {
    code: SecretString,
}

async fn confirm_totp(
    State(state): State<AppState>,
    s: ApiSession,
    JsonBody(req): JsonBody<TotpConfirm>,
) -> Result<StatusCode, ApiError> {
    account::confirm_totp(&state, &s.actor, req.code.expose_secret()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new one-time password for the user, shown once in the answer.
async fn reset_password(
    State(state): State<AppState>,
    ApiActor(admin): ApiActor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let password = account::reset_password(&state, &admin, UserId(id)).await?;
    Ok(axum::Json(serde_json::json!({ "one_time_password": password })).into_response())
}

async fn reset_totp(
    State(state): State<AppState>,
    ApiActor(admin): ApiActor,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    account::reset_totp(&state, &admin, UserId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
