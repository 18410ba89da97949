//! Every authorization denial is audited (AU-01): a 403 to a signed-in user leaves
//! an `access.denied` record with the route and the method (the client's address,
//! the request id, the role and the area are columns of every record), whichever
//! handler refused. Done once here, after the handlers, so a new route cannot forget
//! it. Unauthenticated knocks (401) are not recorded: they name nobody, and the rate
//! limits and login records cover them.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use zhili_storage::{Acting, AuditRecord};

use crate::AppState;
use crate::auth::{SESSION_COOKIE, cookie_among, session_for_token};

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Nearly every answer is not a 403: keep cheap handles (reference-counted
    // clones) and make strings only for a denial.
    let method = req.method().clone();
    let uri = req.uri().clone();
    let authorization = req.headers().get(header::AUTHORIZATION).cloned();
    // Empty (no allocation) on API calls, which carry no cookie.
    let cookies: Vec<HeaderValue> = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .cloned()
        .collect();
    let response = next.run(req).await;
    if response.status() != StatusCode::FORBIDDEN {
        return response;
    }
    let Some(token) = session_token(authorization.as_ref(), &cookies) else {
        return response;
    };
    match session_for_token(&state, &token).await {
        Ok(Some(session)) => {
            let path: String = uri.path().chars().take(300).collect();
            let record = AuditRecord {
                at: Utc::now(),
                actor: Acting::from(&session.actor),
                action: "access.denied".into(),
                object_type: "route",
                object_id: Some(path.clone()),
                detail: Some(serde_json::json!({
                    "method": method.as_str(),
                    "path": path,
                })),
            };
            if let Err(e) = state.store.audit(record).await {
                tracing::error!(error = ?e, "could not audit a denial");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = ?e, "session lookup for a denial"),
    }
    response
}

/// The session token a request carried: the API's Bearer header, else the pages'
/// cookie.
fn session_token(authorization: Option<&HeaderValue>, cookies: &[HeaderValue]) -> Option<String> {
    authorization
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .or_else(|| cookie_among(cookies, SESSION_COOKIE))
}
