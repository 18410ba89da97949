//! Login and sessions. Passwords are argon2id; a session token is 32 random bytes
//! given to the client once and stored only as its SHA-256, so a database dump holds
//! no usable token. The API takes the token as a Bearer header, pages as a cookie.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use zhili_domain::{Actor, Gate};
use zhili_storage::{Acting, AuditRecord, Session};

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "zhili_session";

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        // Only fails on absurd parameters or an RNG failure; neither is recoverable.
        .expect("argon2 hashing")
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// A password for a new account, shown once: 16 characters from an alphabet without
/// look-alikes (no 0/O, 1/l/I), about 93 bits.
pub fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    rand::random::<[u16; 16]>()
        .iter()
        .map(|n| ALPHABET[usize::from(*n) % ALPHABET.len()] as char)
        .collect()
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A signed-in session as handed to the client.
pub struct LoggedIn {
    pub token: String,
    pub actor: Actor,
    pub csrf_token: String,
    /// Password age and second factor, for the gate the session starts behind.
    pub credentials: zhili_domain::CredentialState,
}

/// What a login form or request carries.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The authenticator app's code, for accounts that have one bound.
    pub otp: Option<&'a str>,
}

/// The one answer to every refused login: unknown user, wrong password, wrong or
/// missing code and locked account look alike, so none of them tells an attacker
/// which part was right.
pub fn bad_credentials() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "用户名、密码或动态口令错误",
    )
}

/// Checks a username, password and (where bound) TOTP code and opens a session.
/// Unknown user, wrong password, wrong code and locked account get the same answer
/// after the same work.
pub async fn login(state: &AppState, c: Credentials<'_>) -> Result<LoggedIn, ApiError> {
    login_at(state, c, Utc::now()).await
}

/// [`login`] at `now`, for tests of the lockout's and the codes' clock.
pub async fn login_at(
    state: &AppState,
    c: Credentials<'_>,
    now: DateTime<Utc>,
) -> Result<LoggedIn, ApiError> {
    let Credentials {
        username,
        password,
        otp,
    } = c;
    let user = state.store.user_by_username(username).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let pw = password.to_string();
    let ok = tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_password(&pw, &h),
        None => {
            // Burn the same time as a real check so timing does not reveal users.
            let _ = verify_password(&pw, dummy_hash());
            false
        }
    })
    .await
    .map_err(|_| ApiError::internal())?;
    // Named as typed; a known account's role and area go with it.
    let refused = |action: &str, account: Option<&Actor>| AuditRecord {
        at: now,
        actor: account
            .map_or_else(|| Acting::system(""), Acting::from)
            .named(username.chars().take(64).collect::<String>()),
        action: action.into(),
        object_type: "session",
        object_id: None,
        detail: None,
    };
    // The second factor, checked only behind a right password (so a wrong password
    // never spends a code) and taken once per time step, on every instance.
    let second_ok = match &user {
        Some(u) if ok && u.active && !u.failures.is_locked(now) => match &u.totp.secret {
            None => true,
            Some(secret) => match otp.and_then(|code| crate::totp::check(secret, code, now)) {
                Some(step) => state.store.use_totp_step(u.actor.user_id, step).await?,
                None => false,
            },
        },
        _ => false,
    };
    match user {
        Some(u) if ok && second_ok && u.active && !u.failures.is_locked(now) => {
            let token = random_hex();
            let csrf_token = random_hex();
            state
                .store
                .create_session(
                    &u.actor,
                    &token_hash(&token),
                    &csrf_token,
                    now,
                    now + state.config.session_absolute,
                )
                .await?;
            return Ok(LoggedIn {
                token,
                actor: u.actor,
                csrf_token,
                credentials: u.credentials,
            });
        }
        // The right password for a locked account: refused all the same, and noted.
        Some(u) if ok && u.failures.is_locked(now) => {
            state
                .store
                .audit(refused("auth.login_locked", Some(&u.actor)))
                .await?;
        }
        // A wrong password, or the right one with a wrong, missing or reused code:
        // both count towards the lock.
        Some(u) if !ok || u.active => {
            state
                .store
                .record_login_failure(u.actor.user_id, username, &state.config.lockout, now)
                .await?;
        }
        // A disabled account, or no such user.
        u => {
            state
                .store
                .audit(refused("auth.login_failed", u.as_ref().map(|u| &u.actor)))
                .await?;
        }
    }
    // For the operators' log and whatever watches it (many refusals from one
    // address, one account tried from many). The username is the caller's input:
    // the JSON log encodes it, the text log prints it escaped (`?`).
    tracing::warn!(username = ?username.chars().take(64).collect::<String>(), "login refused");
    Err(bad_credentials())
}

fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("zhili-timing-equaliser"))
}

pub async fn session_for_token(state: &AppState, token: &str) -> Result<Option<Session>, ApiError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    Ok(state
        .store
        .session(&token_hash(token), Utc::now(), state.config.session_idle)
        .await?)
}

/// What the session's account must do before anything else, if anything: change
/// a one-time or expired password, or bind a second factor (domain/src/credentials.rs).
pub fn gate(state: &AppState, session: &Session) -> Option<Gate> {
    state
        .config
        .password_policy
        .gate(session.actor.role, &session.credentials, Utc::now())
}

/// The paths a gated session may still use: its own account and the way out.
pub fn open_while_gated(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/me"
            | "/api/v1/me/password"
            | "/api/v1/me/totp"
            | "/api/v1/me/totp/confirm"
            | "/api/v1/auth/logout"
    ) || path == "/account"
        || path.starts_with("/account/")
        || path == "/logout"
}

/// A Bearer session as the account endpoints need it: the actor, the token's hash
/// (to keep this session when the password changes) and the gate, which these
/// endpoints serve rather than refuse.
#[derive(Clone)]
pub struct ApiSession {
    pub actor: Actor,
    pub token_hash: String,
    pub gate: Option<Gate>,
}

impl FromRequestParts<AppState> for ApiSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The route gate (routes.rs) has looked the session up already.
        if let Some(s) = parts.extensions.get::<ApiSession>() {
            return Ok(s.clone());
        }
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?
            .trim();
        match session_for_token(state, token).await? {
            Some(s) => Ok(ApiSession {
                gate: gate(state, &s),
                actor: s.actor,
                token_hash: token_hash(token),
            }),
            None => Err(ApiError::unauthorized()),
        }
    }
}

/// The actor behind `Authorization: Bearer <token>`; 401 without a valid one, 403
/// while the account must first change its password or bind a second factor.
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let s = ApiSession::from_request_parts(parts, state).await?;
        match s.gate {
            Some(g) if !open_while_gated(parts.uri.path()) => Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                g.code(),
                g.message_zh(),
            )),
            _ => Ok(ApiActor(s.actor)),
        }
    }
}

/// The session token carried by the page cookie, if any.
pub fn cookie_token(parts: &Parts) -> Option<String> {
    cookie(parts, SESSION_COOKIE)
}

/// The value of the request's cookie `name`, if it sent one.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    cookie_in(&parts.headers, name)
}

/// [`cookie`] from the headers alone (for middleware, which has the whole request).
pub fn cookie_in(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    cookie_among(headers.get_all(axum::http::header::COOKIE), name)
}

/// The value of cookie `name` among `Cookie` header values (HTTP/2 sends one per
/// cookie).
pub fn cookie_among<'a>(
    values: impl IntoIterator<Item = &'a axum::http::HeaderValue>,
    name: &str,
) -> Option<String> {
    values
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn session_cookie(state: &AppState, token: &str) -> String {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        state.config.session_absolute.num_seconds()
    )
}

pub fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_differ_and_avoid_look_alikes() {
        let a = one_time_password();
        assert_eq!(a.chars().count(), 16);
        assert_ne!(a, one_time_password());
        assert!(!a.contains(['0', 'O', '1', 'l', 'I']));
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = hash_password("zhili-demo");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("zhili-demo", &h));
        assert!(!verify_password("zhili-dem0", &h));
        assert!(!verify_password("zhili-demo", "not a hash"));
    }
}
