//! The cookie session of the pages: an extractor that yields the signed-in actor or
//! sends the browser to the login page, and the CSRF check every page POST makes.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use zhili_domain::Actor;

use super::forms::FormData;
use super::view::{Header, error_page, internal};
use crate::AppState;
use crate::auth::{clear_cookie, cookie_token, session_for_token};
use crate::i18n::Lang;

/// A signed-in page user. Without a valid session cookie the request is answered
/// with a 303 to `/login` (and a stale cookie is cleared).
#[derive(Clone)]
pub struct PageUser {
    pub actor: Actor,
    pub csrf: String,
    /// The raw session token, for logout.
    pub(super) token: String,
    /// The language the pages speak to this user.
    pub lang: Lang,
    /// What the account must do before anything else (credentials.rs).
    pub gate: Option<zhili_domain::Gate>,
}

impl PageUser {
    pub fn header(&self) -> Header {
        Header::new(&self.actor, &self.csrf, self.lang)
    }

    /// A 403 page unless the form's `csrf` field matches the session's token.
    pub fn csrf_rejection(&self, form: &FormData) -> Option<Response> {
        match form.get("csrf") {
            Some(sent) if constant_time_eq(sent.as_bytes(), self.csrf.as_bytes()) => None,
            _ => Some(error_page(
                Some(self.header()),
                StatusCode::FORBIDDEN,
                "安全校验失败：页面已过期或请求来源不明。请返回上一页，刷新后重试。",
            )),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn to_login(stale_cookie: bool) -> Response {
    let redirect = Redirect::to("/login");
    if stale_cookie {
        ([(axum::http::header::SET_COOKIE, clear_cookie())], redirect).into_response()
    } else {
        redirect.into_response()
    }
}

/// The session behind the request's cookie, if any; `Err` only on a storage failure.
pub(super) async fn current(parts: &Parts, state: &AppState) -> Result<Option<PageUser>, Response> {
    let Some(token) = cookie_token(parts) else {
        return Ok(None);
    };
    match session_for_token(state, &token).await {
        Ok(Some(s)) => Ok(Some(PageUser {
            gate: crate::auth::gate(state, &s),
            actor: s.actor,
            csrf: s.csrf_token,
            token,
            lang: crate::i18n::lang_of(parts),
        })),
        Ok(None) => Ok(None),
        Err(e) => {
            tracing::error!(error = ?e, "page session lookup failed");
            Err(internal(None))
        }
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        // The route gate (routes.rs) has looked the session up already.
        if let Some(u) = parts.extensions.get::<PageUser>() {
            return Ok(u.clone());
        }
        let had_cookie = cookie_token(parts).is_some();
        let user = current(parts, state)
            .await?
            .ok_or_else(|| to_login(had_cookie))?;
        // A one-time or expired password, or an admin without a second factor: the
        // account page first, and nothing else.
        if user.gate.is_some() && !crate::auth::open_while_gated(parts.uri.path()) {
            return Err(Redirect::to("/account").into_response());
        }
        Ok(user)
    }
}

/// The signed-in user if there is one; pages that anyone may see take this.
pub struct MaybeUser(pub Option<PageUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        Ok(MaybeUser(current(parts, state).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
