//! One's own account: changing the password and binding the authenticator app; and
//! the admin's resets for a forgotten password or a lost phone. Shared by the JSON
//! API (`api/account.rs`) and the pages (`pages/account.rs`), which only translate.

use chrono::Utc;
use zhili_domain::{Actor, Role, UserId, check_new_password};
use zhili_storage::Acting;

use crate::AppState;
use crate::auth::{hash_password, one_time_password, verify_password};
use crate::error::ApiError;

async fn verify(password: &str, hash: &str) -> Result<bool, ApiError> {
    let (p, h) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || verify_password(&p, &h))
        .await
        .map_err(|_| ApiError::internal())
}

async fn hash(password: &str) -> Result<String, ApiError> {
    let p = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&p))
        .await
        .map_err(|_| ApiError::internal())
}

/// Changes `actor`'s password after checking the current one (a wrong one counts
/// towards the lock, as at login: a stolen session must not guess it freely) and
/// the new one against the policy. Every other session of the account ends.
pub async fn change_password(
    state: &AppState,
    actor: &Actor,
    keep_session: &str,
    current: &str,
    new: &str,
) -> Result<(), ApiError> {
    let now = Utc::now();
    let user = state
        .store
        .user_by_username(&actor.username)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    if current.len() > 1024 || !verify(current, &user.password_hash).await? {
        state
            .store
            .record_login_failure(actor.user_id, &actor.username, &state.config.lockout, now)
            .await?;
        return Err(ApiError::invalid("current_password", "当前密码不正确"));
    }
    check_new_password(new, Some(current), &[&actor.username, &actor.display_name])
        .map_err(|e| ApiError::invalid("new_password", e.to_string()))?;
    let new_hash = hash(new).await?;
    state
        .store
        .change_own_password(
            actor.user_id,
            &Acting::from(actor),
            &new_hash,
            Some(keep_session),
            now,
        )
        .await?;
    Ok(())
}

/// What the enrolment page shows: the secret to type in, or the QR code to scan.
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

/// Starts binding an authenticator app: a new secret, pending until a code from it
/// is confirmed. Refused when one is bound already.
pub async fn start_totp(state: &AppState, actor: &Actor) -> Result<Enrolment, ApiError> {
    let secret = crate::totp::new_secret();
    let otpauth_uri =
        crate::totp::otpauth_uri(&secret, &actor.username).ok_or_else(ApiError::internal)?;
    let qr_svg = crate::totp::qr_svg(&otpauth_uri).ok_or_else(ApiError::internal)?;
    state
        .store
        .start_totp_enrolment(actor.user_id, &secret)
        .await?;
    Ok(Enrolment {
        secret,
        otpauth_uri,
        qr_svg,
    })
}

/// The pending enrolment of `actor`, shown again (a reload of the page).
pub async fn pending_totp(state: &AppState, actor: &Actor) -> Result<Option<Enrolment>, ApiError> {
    let Some(user) = state.store.user_by_username(&actor.username).await? else {
        return Ok(None);
    };
    let Some(secret) = user.totp.pending.filter(|_| user.totp.secret.is_none()) else {
        return Ok(None);
    };
    let otpauth_uri =
        crate::totp::otpauth_uri(&secret, &actor.username).ok_or_else(ApiError::internal)?;
    let qr_svg = crate::totp::qr_svg(&otpauth_uri).ok_or_else(ApiError::internal)?;
    Ok(Some(Enrolment {
        secret,
        otpauth_uri,
        qr_svg,
    }))
}

/// Binds the pending secret once `code` from the app matches it: the proof that the
/// phone has it, before any login depends on it.
pub async fn confirm_totp(state: &AppState, actor: &Actor, code: &str) -> Result<(), ApiError> {
    let now = Utc::now();
    let user = state
        .store
        .user_by_username(&actor.username)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let Some(pending) = user.totp.pending.filter(|_| user.totp.secret.is_none()) else {
        return Err(ApiError::invalid("code", "请先开始绑定动态口令"));
    };
    let Some(step) = crate::totp::check(&pending, code, now) else {
        return Err(ApiError::invalid(
            "code",
            "动态口令不正确：请输入应用当前显示的 6 位数字，并检查手机时间",
        ));
    };
    if !state
        .store
        .bind_totp(actor.user_id, &Acting::from(actor), &pending, step, now)
        .await?
    {
        return Err(ApiError::invalid("code", "绑定已失效，请重新开始"));
    }
    Ok(())
}

/// The separation-of-duties check (AC-07) before `manager` creates (`target` None)
/// or changes an account, or resets its password or second factor: `Some(reason)`
/// when refused. `new_role`: the role the account is to have (unchanged if None).
pub async fn account_refusal(
    state: &AppState,
    manager: &Actor,
    target: Option<i64>,
    new_role: Option<Role>,
) -> Result<Option<&'static str>, zhili_storage::StoreError> {
    let current = match target {
        Some(id) => Some(state.store.user_summary(id).await?.role),
        None => None,
    };
    // A new account without a role yet is judged as the least of them.
    let new = new_role.or(current).unwrap_or(Role::Citizen);
    let own = target == Some(manager.user_id.0);
    Ok(
        zhili_domain::may_manage_account(manager.role, current, new, own)
            .err()
            .map(|r| r.0),
    )
}

async fn require_account_manager(
    state: &AppState,
    manager: &Actor,
    user: UserId,
) -> Result<(), ApiError> {
    match account_refusal(state, manager, Some(user.0), None).await? {
        None => Ok(()),
        Some(reason) => Err(ApiError::forbidden(reason)),
    }
}

/// The security administrator gives `user` a new one-time password (returned, to be shown once); the
/// user must change it at the next login, and their sessions end.
pub async fn reset_password(
    state: &AppState,
    admin: &Actor,
    user: UserId,
) -> Result<String, ApiError> {
    require_account_manager(state, admin, user).await?;
    let password = one_time_password();
    let h = hash(&password).await?;
    state
        .store
        .reset_password(user, &Acting::from(admin), &h, Utc::now())
        .await?;
    Ok(password)
}

/// The security administrator unbinds `user`'s authenticator (a lost phone); their sessions end.
pub async fn reset_totp(state: &AppState, admin: &Actor, user: UserId) -> Result<(), ApiError> {
    require_account_manager(state, admin, user).await?;
    state
        .store
        .reset_totp(user, &Acting::from(admin), Utc::now())
        .await?;
    Ok(())
}
