//! Every authorization denial is audited (AU-01): a 403 to a signed-in user leaves
//! an `access.denied` record with the route, the method, the client's address and
//! the request id, whichever handler refused. Done once here, after the handlers,
//! so a new route cannot forget it. Unauthenticated knocks (401) are not recorded:
//! they name nobody, and the rate limits and login records cover them.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use zhili_storage::{Acting, AuditRecord};

use crate::AppState;
use crate::auth::{SESSION_COOKIE, cookie_in, session_for_token};

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .or_else(|| cookie_in(req.headers(), SESSION_COOKIE));
    let method = req.method().to_string();
    let path: String = req.uri().path().chars().take(300).collect();
    let address = crate::rate_limit::client_address(&req, state.config.client_ip_header.as_deref());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let response = next.run(req).await;
    if response.status() != StatusCode::FORBIDDEN {
        return response;
    }
    let Some(token) = token else {
        return response;
    };
    match session_for_token(&state, &token).await {
        Ok(Some(session)) => {
            let by = Acting::from(&session.actor);
            let record = AuditRecord {
                at: Utc::now(),
                actor_id: by.user_id,
                actor_name: by.name,
                action: "access.denied".into(),
                object_type: "route",
                object_id: Some(path.clone()),
                detail: Some(serde_json::json!({
                    "method": method,
                    "path": path,
                    "role": session.actor.role.code(),
                    "ip": address,
                    "request_id": request_id,
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
